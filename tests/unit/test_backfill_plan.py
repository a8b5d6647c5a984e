"""Backfill planning without Spark: dependencies, chunks, requests, the entity universe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from featurelake.backfill import JOBS, PartitionTask, Plan, Request
from featurelake.backfill.universe import Universe

D = dt.date


def test_each_gold_day_reads_its_window_and_each_silver_day_feeds_its_dependents() -> None:
    x = D(2013, 3, 10)
    carrier, route, labels = (
        JOBS["gold.carrier_delay_7d"],
        JOBS["gold.route_delay_30d"],
        JOBS["gold.flight_labels"],
    )
    assert carrier.source_days(x) == (D(2013, 3, 3), D(2013, 3, 9))
    assert route.source_days(x) == (D(2013, 2, 8), D(2013, 3, 9))
    assert labels.source_days(x) == (x, x)
    assert carrier.dependents(x) == (D(2013, 3, 11), D(2013, 3, 17))
    assert route.dependents(x) == (D(2013, 3, 11), D(2013, 4, 9))
    assert JOBS["silver.flights"].dependents(x) == (x, x)
    # dependents and source days are inverse relations
    for job in JOBS.values():
        first, last = job.dependents(x)
        assert job.source_days(first)[1] == x
        assert job.source_days(last)[0] == x


def test_silver_runs_before_gold() -> None:
    layers = [j.layer for j in JOBS.values()]
    assert layers == sorted(layers, key=["silver", "gold"].index)


def _tasks(table: str, days: list[int], status: str = "todo") -> list[PartitionTask]:
    return [PartitionTask(table, D(2013, 1, d), status, "requested") for d in days]  # type: ignore[arg-type]


def test_chunks_are_contiguous_bounded_and_interleaved_across_tables() -> None:
    plan = Plan(
        _tasks("silver.flights", [1, 2, 3, 4, 5, 7])
        + _tasks("silver.weather", [1, 2])
        + _tasks("silver.weather", [3], status="done")
    )
    chunks = plan.chunks(2)
    assert [c.label for c in chunks] == [
        "silver.flights 2013-01-01..2013-01-02",
        "silver.weather 2013-01-01..2013-01-02",
        "silver.flights 2013-01-03..2013-01-04",
        "silver.flights 2013-01-05",
        "silver.flights 2013-01-07",
    ]
    assert sum(len(c.tasks) for c in chunks) == 8
    with pytest.raises(ValueError, match="chunk_days"):
        plan.chunks(0)


def test_requests_are_validated() -> None:
    with pytest.raises(ValueError, match="is before"):
        Request.for_range(D(2013, 1, 2), D(2013, 1, 1))
    with pytest.raises(ValueError, match="layers"):
        Request.for_range(D(2013, 1, 1), D(2013, 1, 2), layers=["bronze"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="changed days are tracked for"):
        Request.for_changes({"silver.flights": [D(2013, 1, 1)]})
    with pytest.raises(ValueError, match="--from and --to"):
        Request()


def test_requested_days_follow_layers_and_static_tables() -> None:
    r = Request.for_range(D(2013, 1, 1), D(2013, 1, 3), layers=["gold"])
    assert r.requested(JOBS["silver.flights"]) == []
    assert r.requested(JOBS["gold.flight_labels"]) == [D(2013, 1, 1), D(2013, 1, 2), D(2013, 1, 3)]
    assert r.requested(JOBS["gold.plane"]) == [D(2013, 1, 1)]
    assert not r.cascade
    assert Request.for_range(D(2013, 6, 1), D(2013, 6, 2)).requested(JOBS["gold.plane"]) == []
    changes = Request.for_changes({"bronze.weather": [D(2013, 5, 1)]})
    assert changes.cascade
    assert changes.requested(JOBS["silver.weather"]) == [D(2013, 5, 1)]
    assert changes.requested(JOBS["silver.flights"]) == []
    assert changes.requested(JOBS["gold.origin_weather"]) == []


def test_universe_fingerprint_changes_with_any_entity() -> None:
    u = Universe(("AA", "B6"), (("JFK", "LAX"),))
    assert u.fingerprint("carrier") == Universe(("AA", "B6"), ()).fingerprint("carrier")
    assert u.fingerprint("carrier") != Universe(("AA", "B6", "ZZ"), ()).fingerprint("carrier")
    assert u.fingerprint("route") != Universe((), (("JFK", "LAX"), ("LGA", "ORD"))).fingerprint("route")
    assert u.keys("route") == [("JFK", "LAX")]


def test_changed_days_come_from_the_ingest_log(catalog: Any) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from featurelake.backfill.changes import changed_days

    assert changed_days(catalog) == {}
    t0 = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
    rows = [
        ("flights", t0, "2013-03-01,2013-03-02"),
        ("weather", t0 + dt.timedelta(hours=1), "2013-03-02"),
        ("flights", t0 + dt.timedelta(hours=2), "2013-12-31"),
        ("flights", t0 + dt.timedelta(hours=3), None),
    ]
    spec = catalog.spec("ops.ingest_log")
    full = [
        {c: None for c in spec.schema.names} | {"dataset": d, "finished_at": f, "event_dates": e}
        for d, f, e in rows
    ]
    defaults = {"query_name": "q", "batch_id": 0, "started_at": t0, "duration_s": 0.0}
    counts = (
        "files",
        "files_quarantined",
        "duplicate_files",
        "records_in",
        "bronze_rows",
        "quarantined_rows",
    )
    full = [r | defaults | {c: 0 for c in (*counts, "warned_rows")} for r in full]
    data = pa.Table.from_pylist(full, schema=spec.schema.to_arrow())
    write_deltalake(catalog.ensure("ops.ingest_log"), data, mode="append")
    assert changed_days(catalog) == {
        "bronze.flights": {D(2013, 3, 1), D(2013, 3, 2), D(2013, 12, 31)},
        "bronze.weather": {D(2013, 3, 2)},
    }
    assert changed_days(catalog, since=t0) == {
        "bronze.flights": {D(2013, 12, 31)},
        "bronze.weather": {D(2013, 3, 2)},
    }
