"""Deduplication, labels and plane ages on tiny DataFrames."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from featurelake.transforms import flight_labels, plane
from featurelake.transforms.dedup import latest_per_key

pytestmark = pytest.mark.integration  # needs Spark

T = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
ROWS = "event_id string, v int, _ingested_at timestamp, _batch_id bigint, _source_file string"


def test_latest_ingest_wins_and_ties_are_broken_the_same_way_in_any_order(spark: Any) -> None:
    later = T + dt.timedelta(hours=1)
    rows = [
        ("a", 1, T, 0, "f1"),
        ("a", 2, later, 0, "f1"),
        ("b", 3, T, 0, "f1"),
        ("b", 4, T, 0, "f1"),  # the same file landed twice in one batch, different values
        ("b", 5, T, 0, "f0"),
    ]
    winners = set()
    for ordering in (rows, rows[::-1], rows[2:] + rows[:2]):
        df = spark.createDataFrame(ordering, ROWS).repartition(3)
        winners.add(tuple(sorted((r.event_id, r.v) for r in latest_per_key(df, "event_id").collect())))
    assert len(winners) == 1
    [(a, b)] = winners
    assert a == ("a", 2)
    assert b[0] == "b"
    assert b[1] in (3, 4)  # f1 beats f0; between identical lineage the row hash decides, always alike


def test_is_delayed_is_strictly_more_than_15_minutes(spark: Any) -> None:
    df = spark.createDataFrame(
        [
            (f"e{i}", "AA", "JFK", "LAX", None, T, delay, dt.date(2013, 1, 1))
            for i, delay in enumerate([15.0, 15.5, -3.0, None])
        ],
        "event_id string, carrier string, origin string, dest string, tailnum string, event_ts timestamp, "
        "arr_delay double, event_date date",
    )
    got = {r.arr_delay: r.is_delayed for r in flight_labels(df).collect()}
    assert got == {15.0: False, 15.5: True, -3.0: False, None: None}


def test_plane_age_counts_from_2013(spark: Any) -> None:
    df = spark.createDataFrame(
        [("N1", 2013, 1, 2), ("N2", None, 100, 2), ("N3", 1956, 10, 4)],
        "tailnum string, year int, seats int, engines int",
    )
    got = {r.tailnum: (r.plane_age_years, r.seats, r.engines, r.event_date) for r in plane(df).collect()}
    assert got == {
        "N1": (0, 1, 2, dt.date(2013, 1, 1)),
        "N2": (None, 100, 2, dt.date(2013, 1, 1)),
        "N3": (57, 10, 4, dt.date(2013, 1, 1)),
    }
