"""The trailing-window engine and the two daily feature tables built on it, on tiny DataFrames."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from featurelake.transforms import carrier_delay_7d, route_delay_30d, trailing_daily_sums

pytestmark = pytest.mark.integration  # needs Spark

D = dt.date
FLIGHTS = (
    "carrier string, origin string, dest string, event_date date, dep_delay double, arr_delay double, "
    "is_cancelled boolean"
)


def flights(spark: Any, rows: list[tuple[Any, ...]]) -> Any:
    return spark.createDataFrame(rows, FLIGHTS)


def test_sums_cover_exactly_the_n_days_before_each_day(spark: Any) -> None:
    from pyspark.sql import functions as F

    events = spark.createDataFrame(
        [("a", D(2013, 1, d), float(d)) for d in range(1, 11)] + [("a", D(2013, 1, 4), 100.0)],
        "k string, event_date date, v double",
    )
    universe = spark.createDataFrame([("a",), ("b",), ("a",)], "k string")
    out = trailing_daily_sums(
        events,
        keys=["k"],
        universe=universe,
        start=D(2013, 1, 5),
        end=D(2013, 1, 7),
        days=3,
        measures={"n": F.count(F.lit(1)), "s": F.sum("v")},
    )
    got = {(r.k, r.event_date): (r.n, r.s) for r in out.collect()}
    assert got == {
        ("a", D(2013, 1, 5)): (4, 2 + 3 + 4 + 100.0),  # days 2, 3, 4 (two events on the 4th)
        ("a", D(2013, 1, 6)): (4, 3 + 4 + 5 + 100.0),
        ("a", D(2013, 1, 7)): (4, 4 + 5 + 6 + 100.0),
        ("b", D(2013, 1, 5)): (0, 0),
        ("b", D(2013, 1, 6)): (0, 0),
        ("b", D(2013, 1, 7)): (0, 0),
    }


def test_window_arguments_are_checked(spark: Any) -> None:
    from pyspark.sql import functions as F

    events = spark.createDataFrame([], "k string, event_date date")
    with pytest.raises(ValueError, match="empty day range"):
        trailing_daily_sums(
            events, keys=["k"], universe=events, start=D(2013, 1, 2), end=D(2013, 1, 1), days=3, measures={}
        )
    with pytest.raises(ValueError, match=">= 1 day"):
        trailing_daily_sums(
            events,
            keys=["k"],
            universe=events,
            start=D(2013, 1, 1),
            end=D(2013, 1, 1),
            days=0,
            measures={"n": F.count(F.lit(1))},
        )


def test_carrier_delay_nulls_and_rates(spark: Any) -> None:
    df = flights(
        spark,
        [
            ("AA", "JFK", "LAX", D(2013, 1, 1), None, None, True),
            ("AA", "JFK", "LAX", D(2013, 1, 1), None, None, True),
            ("AA", "JFK", "LAX", D(2013, 1, 2), 7.0, 1.0, False),
            ("AA", "JFK", "LAX", D(2013, 1, 9), 1.0, 1.0, False),  # day D itself: not in D's window
        ],
    )
    carriers = spark.createDataFrame([("AA",), ("UA",)], "carrier string")
    out = carrier_delay_7d(df, carriers, start=D(2013, 1, 2), end=D(2013, 1, 9)).collect()
    got = {(r.carrier, r.event_date): (r.flights_7d, r.dep_delay_avg_7d, r.cancel_rate_7d) for r in out}
    assert got[("AA", D(2013, 1, 2))] == (2, None, 1.0)  # only cancelled flights: no delay, rate 1
    assert got[("AA", D(2013, 1, 3))] == (3, 7.0, 2 / 3)
    assert got[("AA", D(2013, 1, 8))] == (3, 7.0, 2 / 3)  # [01-01, 01-08)
    assert got[("AA", D(2013, 1, 9))] == (1, 7.0, 0.0)  # 01-01 has left; 01-09 not yet in
    assert got[("UA", D(2013, 1, 5))] == (0, None, None)
    assert len(got) == 2 * 8
    # collect() gives naive local datetimes: compare instants.
    stamps = {r.event_date: r.event_timestamp.timestamp() for r in out}
    assert stamps[D(2013, 1, 3)] == dt.datetime(2013, 1, 3, tzinfo=dt.UTC).timestamp()


def test_route_delay_30_days(spark: Any) -> None:
    df = flights(
        spark,
        [
            ("AA", "JFK", "LAX", D(2013, 1, 1), 1.0, 10.0, False),
            ("B6", "JFK", "LAX", D(2013, 1, 15), 1.0, None, False),
            ("B6", "JFK", "LAX", D(2013, 1, 31), 1.0, 20.0, False),
        ],
    )
    routes = spark.createDataFrame([("JFK", "LAX"), ("LGA", "ORD")], "origin string, dest string")
    out = route_delay_30d(df, routes, start=D(2013, 1, 31), end=D(2013, 2, 1)).collect()
    got = {(r.origin, r.dest, r.event_date): (r.flights_30d, r.arr_delay_avg_30d) for r in out}
    assert got == {
        ("JFK", "LAX", D(2013, 1, 31)): (2, 10.0),  # [01-01, 01-31): the null arr_delay is not averaged
        ("JFK", "LAX", D(2013, 2, 1)): (2, 20.0),  # [01-02, 02-01)
        ("LGA", "ORD", D(2013, 1, 31)): (0, None),
        ("LGA", "ORD", D(2013, 2, 1)): (0, None),
    }
