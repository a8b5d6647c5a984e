from __future__ import annotations

import datetime as dt

import pytest

from featurelake.delta import _predicate
from featurelake.delta.schema import TableSchema
from featurelake.transforms.calendar import contiguous_runs, day_range, days_predicate, parse_day

D = dt.date


def test_day_range_is_inclusive_across_the_year_boundary() -> None:
    assert list(day_range(D(2013, 12, 30), D(2014, 1, 2))) == [
        D(2013, 12, 30),
        D(2013, 12, 31),
        D(2014, 1, 1),
        D(2014, 1, 2),
    ]
    assert list(day_range(D(2013, 1, 2), D(2013, 1, 1))) == []


def test_contiguous_runs_split_on_gaps_and_length() -> None:
    days = [D(2013, 1, i) for i in (1, 2, 3, 4, 5, 9, 10)] + [D(2013, 1, 3)]
    assert contiguous_runs(days) == [(D(2013, 1, 1), D(2013, 1, 5)), (D(2013, 1, 9), D(2013, 1, 10))]
    assert contiguous_runs(days, max_len=2) == [
        (D(2013, 1, 1), D(2013, 1, 2)),
        (D(2013, 1, 3), D(2013, 1, 4)),
        (D(2013, 1, 5), D(2013, 1, 5)),
        (D(2013, 1, 9), D(2013, 1, 10)),
    ]


def test_days_predicate_selects_exactly_the_days() -> None:
    schema = TableSchema.parse("event_date date not null")
    parts = [{"event_date": str(d)} for d in day_range(D(2013, 2, 27), D(2013, 3, 2))]
    pred = days_predicate(D(2013, 2, 28), D(2013, 3, 1))
    assert _predicate.evaluate(pred, parts, schema, ["event_date"], table="t") == [False, True, True, False]
    one = days_predicate(D(2013, 3, 1), D(2013, 3, 1))
    assert _predicate.evaluate(one, parts, schema, ["event_date"], table="t") == [False, False, True, False]


def test_parse_day_names_the_bad_value() -> None:
    assert parse_day("2013-03-10") == D(2013, 3, 10)
    with pytest.raises(ValueError, match="'2013-02-30' is not a date"):
        parse_day("2013-02-30")
