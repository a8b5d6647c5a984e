"""Backfill behaviour on the hand-made lake: idempotence, late data, resume, dry run, the CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from featurelake.backfill import JOBS, Request, run_backfill
from featurelake.backfill.jobs import JobContext
from featurelake.catalog import Catalog
from featurelake.cli import main

pytestmark = pytest.mark.integration

# the hand-made lake holds flights and weather: the bookings jobs find no input (test_erasure.py)
BUILT = [name for name in JOBS if "bookings" not in JOBS[name].source] + ["silver.flight_entities"]
DAY = dt.timedelta(days=1)


@pytest.fixture
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Catalog:
    """A private copy of the hand-made lake, silver and gold built."""
    return hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")


def versions(catalog: Catalog, tables: list[str] | None = None) -> dict[str, int]:
    names = tables or [*BUILT, "ops.backfill_log"]
    return {n: DeltaTable(catalog.path(n)).version() for n in names if catalog.exists(n)}


def content(catalog: Catalog, table: str) -> list[tuple[Any, ...]]:
    data = DeltaTable(catalog.path(table)).to_pyarrow_table()
    return sorted(tuple(r.values()) for r in data.to_pylist())


def built(result: Any) -> dict[str, set[dt.date]]:
    out: dict[str, set[dt.date]] = {}
    for r in result.results:
        if r.ok:
            out.setdefault(r.chunk.table, set()).update(t.day for t in r.chunk.tasks)
    return out


def days(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + i * DAY for i in range((last - first).days + 1)}


def test_running_the_same_backfill_again_builds_and_changes_nothing(lake: Catalog, spark: Any) -> None:
    before = versions(lake)
    result = run_backfill(Request.for_range(dt.date(2013, 1, 1), hm.LAST_GOLD_DAY), catalog=lake, spark=spark)
    assert result.ok
    assert result.results == []
    assert not result.plan.of_status("todo")
    assert versions(lake) == before


def test_forced_backfill_rebuilds_everything_with_identical_content(lake: Catalog, spark: Any) -> None:
    before = {t: content(lake, t) for t in BUILT}
    result = run_backfill(
        Request.for_range(dt.date(2013, 1, 1), hm.LAST_GOLD_DAY, force=True),
        catalog=lake,
        spark=spark,
        parallel=3,
        chunk_days=100,  # three chunks of each table's 300 days, run three at a time
    )
    assert result.ok, result.failures
    assert built(result)["gold.route_delay_30d"] == days(hm.FIRST_DAY, hm.LAST_GOLD_DAY)
    assert {t: content(lake, t) for t in BUILT} == before


def test_late_event_refreshes_exactly_the_dependent_partitions(lake: Catalog, spark: Any) -> None:
    x = dt.date(2013, 3, 11)
    # A late AA flight at exactly 03-11 00:00Z: it may only change rows stamped after that instant.
    hm.write(spark, lake, "bronze.flights", [hm.flight("AA", 50, "JFK-LAX", "2013-03-11T00:00", 500, 500)])
    carrier_before = {(r[0], r[5]): r for r in content(lake, "gold.carrier_delay_7d")}
    result = run_backfill(Request.for_changes({"bronze.flights": [x]}), catalog=lake, spark=spark)
    assert result.ok, result.failures
    assert built(result) == {
        "silver.flights": {x},
        "gold.flight_labels": {x},
        "gold.carrier_delay_7d": days(x + DAY, x + 7 * DAY),
        "gold.route_delay_30d": days(x + DAY, x + 30 * DAY),
    }
    after = {(r[0], r[5]): r for r in content(lake, "gold.carrier_delay_7d")}
    changed = {k for k in after if after[k] != carrier_before[k]}
    assert changed == {("AA", d) for d in days(x + DAY, x + 7 * DAY)}
    assert after[("AA", x + DAY)][2:4] == (6, (35 + 500) / 5)  # flights_7d, dep_delay_avg_7d
    labels = {r[0] for r in content(lake, "gold.flight_labels")}
    assert "AA-50-JFK-20130311T0000Z" in labels


def test_range_backfill_after_late_data_rebuilds_only_what_changed(lake: Catalog, spark: Any) -> None:
    x = dt.date(2013, 11, 3)
    hm.write(spark, lake, "bronze.flights", [hm.flight("AA", 51, "EWR-MIA", "2013-11-03T20:00", 1, 1)])
    result = run_backfill(Request.for_range(x, x), catalog=lake, spark=spark)
    assert result.ok, result.failures
    # Gold day X itself reads silver days before X, which did not change: it is skipped.
    assert built(result) == {
        "silver.flights": {x},
        "gold.flight_labels": {x},
        "gold.carrier_delay_7d": days(x + DAY, x + 7 * DAY),
        "gold.route_delay_30d": days(x + DAY, x + 30 * DAY),
    }


def test_a_new_carrier_rebuilds_every_day_of_the_daily_tables(lake: Catalog, spark: Any) -> None:
    x = dt.date(2013, 6, 1)
    hm.write(spark, lake, "bronze.flights", [hm.flight("QQ", 1, "JFK-SFO", "2013-06-01T12:00", 3, 4)])
    result = run_backfill(Request.for_changes({"bronze.flights": [x]}), catalog=lake, spark=spark)
    assert result.ok, result.failures
    every_day = days(hm.FIRST_DAY, hm.LAST_GOLD_DAY)
    assert built(result)["gold.carrier_delay_7d"] == every_day
    assert built(result)["gold.route_delay_30d"] == every_day
    reasons = {t.reason for t in result.plan.tasks if t.table == "gold.carrier_delay_7d"}
    assert "entity universe changed" in reasons
    carriers = DeltaTable(lake.path("gold.carrier_delay_7d")).to_pyarrow_table().to_pylist()
    qq = {r["event_date"]: r["flights_7d"] for r in carriers if r["carrier"] == "QQ"}
    assert set(qq) == every_day
    assert qq[hm.FIRST_DAY] == 0
    assert qq[x + DAY] == 1
    routes = DeltaTable(lake.path("gold.route_delay_30d")).to_pyarrow_table()
    assert routes.num_rows == 5 * len(every_day)


def _failing(table: str, bad_day: dt.date) -> Any:
    job = JOBS[table]

    def build(ctx: JobContext, start: dt.date, end: dt.date) -> None:
        if start <= bad_day <= end:
            raise RuntimeError(f"injected failure for {bad_day}")
        job.build(ctx, start, end)

    return dataclasses.replace(job, build=build)


def test_interrupted_backfill_resumes_where_it_stopped(
    lake: Catalog, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new carrier and route: every day of both daily tables has to be rebuilt.
    hm.write(spark, lake, "bronze.flights", [hm.flight("QQ", 1, "JFK-SFO", "2013-06-01T12:00", 3, 4)])
    request = Request.for_changes({"bronze.flights": [dt.date(2013, 6, 1)]})
    monkeypatch.setitem(JOBS, "gold.route_delay_30d", _failing("gold.route_delay_30d", dt.date(2013, 6, 15)))
    first = run_backfill(request, catalog=lake, spark=spark, chunk_days=60, parallel=2)
    assert not first.ok
    [failure] = first.failures
    assert failure.startswith("gold.route_delay_30d 2013-05-08..2013-07-06: RuntimeError: injected failure")
    lost = days(dt.date(2013, 5, 8), dt.date(2013, 7, 6))
    log = DeltaTable(lake.path("ops.backfill_log")).to_pyarrow_table().to_pylist()
    assert {
        r["partition_date"] for r in log if r["run_id"] == first.run_id and r["status"] == "failed"
    } == lost
    assert built(first)["gold.route_delay_30d"] == days(hm.FIRST_DAY, hm.LAST_GOLD_DAY) - lost

    monkeypatch.undo()
    again = run_backfill(request, catalog=lake, spark=spark, chunk_days=60)
    assert again.ok, again.failures
    assert built(again) == {"gold.route_delay_30d": lost}


def test_failed_silver_partition_blocks_the_gold_partitions_that_read_it(
    lake: Catalog, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = dt.date(2013, 11, 3)
    monkeypatch.setitem(JOBS, "silver.flights", _failing("silver.flights", x))
    hm.write(spark, lake, "bronze.flights", [hm.flight("AA", 52, "EWR-MIA", "2013-11-03T21:00", 2, 2)])
    result = run_backfill(Request.for_changes({"bronze.flights": [x]}), catalog=lake, spark=spark)
    assert not result.ok
    blocked = {(t.table, t.day) for t in result.plan.of_status("blocked")}
    assert ("gold.flight_labels", x) in blocked
    assert ("gold.route_delay_30d", x + 30 * DAY) in blocked
    assert "gold.carrier_delay_7d" not in built(result)
    monkeypatch.undo()
    again = run_backfill(Request.for_changes({"bronze.flights": [x]}), catalog=lake, spark=spark)
    assert again.ok
    assert built(again)["gold.carrier_delay_7d"] == days(x + DAY, x + 7 * DAY)


def test_dry_run_writes_nothing(lake: Catalog, spark: Any, tmp_path: Path) -> None:
    hm.write(spark, lake, "bronze.flights", [hm.flight("AA", 53, "JFK-LAX", "2013-03-12T10:00", 1, 1)])
    before = versions(lake)
    result = run_backfill(
        Request.for_range(dt.date(2013, 3, 1), dt.date(2013, 3, 31)), catalog=lake, dry_run=True
    )
    assert result.dry_run
    todo = {(t.table, t.day) for t in result.plan.of_status("todo")}
    assert ("silver.flights", dt.date(2013, 3, 12)) in todo
    assert ("gold.route_delay_30d", dt.date(2013, 4, 11)) in todo  # beyond the range: reads silver 03-12
    assert ("silver.flights", dt.date(2013, 3, 11)) not in todo  # unchanged since it was built
    assert versions(lake) == before


def test_dry_run_on_a_fresh_lake_creates_no_table(spark: Any, tmp_path: Path) -> None:
    from featurelake.config import Settings

    catalog = Catalog(settings=Settings(lake=tmp_path / "fresh"))
    hm.write(spark, catalog, "bronze.flights", hm.flights())
    result = run_backfill(Request.for_range(hm.FIRST_DAY, hm.LAST_GOLD_DAY), catalog=catalog, dry_run=True)
    assert len(result.plan.of_status("todo", "empty")) > 0
    assert [n for n in catalog.names() if catalog.exists(n)] == ["bronze.flights"]


def test_cli_dry_run_prints_the_plan(lake: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURELAKE_LAKE", str(lake.settings.lake))
    before = versions(lake)
    out = CliRunner().invoke(
        main, ["backfill", "--from", "2013-03-10", "--to", "2013-03-12", "--dry-run", "--force"]
    )
    assert out.exit_code == 0, out.output
    assert "gold.route_delay_30d" in out.output
    assert "2013-03-10 .. 2013-03-11" in out.output
    assert "nothing was written" in out.output
    assert versions(lake) == before


def test_cli_failed_partition_exits_1_naming_it(lake: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURELAKE_LAKE", str(lake.settings.lake))
    monkeypatch.setitem(JOBS, "gold.flight_labels", _failing("gold.flight_labels", dt.date(2013, 3, 10)))
    out = CliRunner().invoke(
        main, ["backfill", "--from", "2013-03-10", "--to", "2013-03-11", "--layers", "gold", "--force"]
    )
    assert out.exit_code == 1, out.output
    assert "failed: gold.flight_labels 2013-03-10: RuntimeError: injected failure" in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2013-13-01", "--to", "2013-12-31"], "'2013-13-01' is not a UTC day"),
        (["--from", "2013-03-02", "--to", "2013-03-02"], "2013-03-02 must be after --from 2013-03-02"),
        (["--from", "2013-03-01", "--to", "2013-03-02", "--layers", "bronze"], "--layers 'bronze'"),
        (["--from", "2013-03-01", "--to", "2013-03-02", "--parallel", "0"], "--parallel must be >= 1"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURELAKE_LAKE", str(tmp_path / "lake"))
    out = CliRunner().invoke(main, ["backfill", *args])
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]


KILLED_RUN = """
import datetime as dt, sys
from featurelake.backfill import Request, run_backfill
from featurelake.catalog import Catalog
from featurelake.config import Settings
settings = Settings(lake=sys.argv[1], spark_master="local[1]", shuffle_partitions=2)
request = Request.for_changes({"bronze.flights": [dt.date(2013, 6, 1)]})
run_backfill(request, catalog=Catalog(settings=settings), chunk_days=15)
"""


@pytest.mark.slow
def test_a_killed_backfill_resumes_with_what_it_had_not_finished(lake: Catalog, spark: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    hm.write(spark, lake, "bronze.flights", [hm.flight("QQ", 1, "JFK-SFO", "2013-06-01T12:00", 3, 4)])
    started = dt.datetime.now(dt.UTC)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(lake.settings.lake)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daily = {"gold.carrier_delay_7d", "gold.route_delay_30d"}

    def logged() -> set[tuple[str, dt.date]]:
        log = DeltaTable(lake.path("ops.backfill_log")).to_pyarrow_table().to_pylist()
        return {
            (r["table_name"], r["partition_date"])
            for r in log
            if r["status"] == "done" and r["finished_at"] > started and r["table_name"] in daily
        }

    try:
        deadline = time.monotonic() + 300
        while len(logged()) < 30 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = logged()
    every = {(t, d) for t in daily for d in days(hm.FIRST_DAY, hm.LAST_GOLD_DAY)}
    assert 0 < len(finished) < len(every), "the kill should land in the middle of the gold stage"

    again = run_backfill(
        Request.for_changes({"bronze.flights": [dt.date(2013, 6, 1)]}), catalog=lake, spark=spark
    )
    assert again.ok, again.failures
    rebuilt = {(t, d) for t, ds in built(again).items() if t in daily for d in ds}
    assert rebuilt == every - finished
    qq = [r for r in content(lake, "gold.carrier_delay_7d") if r[0] == "QQ"]
    assert len(qq) == len(days(hm.FIRST_DAY, hm.LAST_GOLD_DAY))


def test_lineage_shows_bronze_to_silver_to_gold_from_the_openlineage_events(lake: Catalog) -> None:
    """Every write sent an OpenLineage event (the file transport, under <lake>/lineage/)."""
    import json

    from click.testing import CliRunner

    from featurelake.cli import main

    events = [
        json.loads(line)
        for line in (lake.settings.lake / "lineage" / "featurelake.jsonl").read_text().splitlines()
    ]
    gold = [e for e in events if e["job"]["name"] == "write gold.carrier_delay_7d"]
    assert gold
    assert {e["eventType"] for e in gold} == {"COMPLETE"}
    (output,) = gold[-1]["outputs"]
    assert output["namespace"] == "file"
    assert output["facets"]["symlinks"]["identifiers"][0]["name"] == "gold.carrier_delay_7d"
    assert output["facets"]["version"]["datasetVersion"].isdigit()
    assert {f["name"] for f in output["facets"]["schema"]["fields"]} >= {"carrier", "flights_7d"}

    result = CliRunner().invoke(
        main, ["lineage", "gold.carrier_delay_7d"], env={"FEATURELAKE_LAKE": str(lake.settings.lake)}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("gold.carrier_delay_7d  v")
    upstream = lines[lines.index("upstream:") + 1 : lines.index("downstream:")]
    # gold <- silver.flights <- bronze.flights <- the flights event stream
    at = next(i for i, line in enumerate(upstream) if line.startswith("  silver.flights"))
    assert upstream[at + 1].startswith("    bronze.flights")
    assert upstream[at + 2].startswith("      events:flights")
    downstream = CliRunner().invoke(
        main, ["lineage", "bronze.flights"], env={"FEATURELAKE_LAKE": str(lake.settings.lake)}
    )
    assert "  silver.flights" in downstream.output.split("downstream:")[1]
