from __future__ import annotations

import datetime as dt

import duckdb
import pytest

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


def _selects(predicate: str, days: list[dt.date]) -> list[bool]:
    # The predicate is plain ANSI SQL (Delta's replaceWhere); DuckDB evaluates it the same way.
    con = duckdb.connect()
    con.execute("create table t (event_date date)")
    con.executemany("insert into t values (?)", [(d,) for d in days])
    return [r[0] for r in con.execute(f"select ({predicate}) from t order by event_date").fetchall()]


def test_days_predicate_selects_exactly_the_days() -> None:
    days = list(day_range(D(2013, 2, 27), D(2013, 3, 2)))
    pred = days_predicate(D(2013, 2, 28), D(2013, 3, 1))
    assert _selects(pred, days) == [False, True, True, False]
    one = days_predicate(D(2013, 3, 1), D(2013, 3, 1))
    assert _selects(one, days) == [False, False, True, False]


def test_parse_day_names_the_bad_value() -> None:
    assert parse_day("2013-03-10") == D(2013, 3, 10)
    with pytest.raises(ValueError, match="'2013-02-30' is not a date"):
        parse_day("2013-02-30")
