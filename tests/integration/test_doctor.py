"""``featurelake doctor`` on real lakes: clean when nothing is wrong, and each kind of damage reported.

Two lakes: the hand-made one (bronze, silver and gold built by the backfill) and one a real
ingest of synthetic flights built (ops.ingest_log, ops.ingest_files, a streaming checkpoint).
Each test damages a private copy in one way, as a crash, a bad disk or a bad hand would, and
checks that doctor names the table and the cause, and exits 1 on an error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from benchmarks._common import clean_environ
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.doctor import DoctorReport, run_doctor
from featurelake.ingest.stream import checkpoint_dir, run_ingest
from featurelake.ingest.synthetic import produce_synthetic

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingested(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    settings = Settings(lake=tmp_path_factory.mktemp("doctor-ingest") / "lake")
    produce_synthetic("flights", 2_000, bad_rate=0.01, seed=5, records_per_file=400, settings=settings)
    run_ingest("flights", settings=settings, spark=spark, max_files_per_batch=2)
    return Catalog(settings=settings)


def _copy(source: Catalog, target: Path) -> Catalog:
    shutil.copytree(source.settings.lake, target)
    return Catalog(settings=Settings(lake=target))


def _errors(report: DoctorReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report.errors:
        out.setdefault(f.check, []).append(f"{f.table}: {f.message}")
    return out


def _last_commit(catalog: Catalog, table: str) -> Path:
    return sorted((Path(catalog.path(table)) / "_delta_log").glob("*.json"))[-1]


def _a_live_file(catalog: Catalog, table: str) -> Path:
    path = DeltaTable(catalog.path(table)).get_add_actions(flatten=True).column("path").to_pylist()[0]
    return Path(catalog.path(table)) / str(path)


def test_a_healthy_lake_is_clean(
    spark: Any, tmp_path_factory: pytest.TempPathFactory, ingested: Catalog
) -> None:
    for lake in (hm.built_lake(spark, tmp_path_factory), ingested):
        report = run_doctor(lake)
        assert report.ok, report.errors
        assert report.tables >= 3
    assert not run_doctor(ingested).findings  # an ingest alone leaves nothing to warn about either


def test_the_cli_exits_1_naming_the_table(ingested: Catalog, tmp_path: Path) -> None:
    lake = _copy(ingested, tmp_path / "lake")
    _a_live_file(lake, "bronze.flights").unlink()
    environ = clean_environ()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "featurelake"), "doctor"],
        env={**environ, "FEATURELAKE_LAKE": str(lake.settings.lake)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ERROR   missing-file  bronze.flights@v" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("1 error(s), 0 warning(s)")


def _cut_last_add(catalog: Catalog) -> None:
    """The last bronze commit cut at a line boundary: one add action fewer, still valid JSON lines."""
    commit = _last_commit(catalog, "bronze.flights")
    lines = commit.read_text().splitlines(keepends=True)
    adds = [i for i, line in enumerate(lines) if line.startswith('{"add"')]
    assert adds, "the last bronze commit adds files"
    del lines[adds[-1]]
    commit.write_text("".join(lines))


def _half_a_line(catalog: Catalog) -> None:
    commit = _last_commit(catalog, "ops.ingest_files")
    text = commit.read_text()
    commit.write_text(text[: len(text) // 2])


def _delete_bronze_rows(catalog: Catalog) -> None:
    DeltaTable(catalog.path("bronze.flights")).delete("_batch_id = 0")


def _checkpoint_ahead(catalog: Catalog) -> None:
    commits = checkpoint_dir("flights", catalog.settings) / "commits"
    last = max(int(p.name) for p in commits.iterdir() if p.name.isdigit())
    shutil.copy(commits / str(last), commits / str(last + 3))


def _orphan(catalog: Catalog) -> None:
    live = _a_live_file(catalog, "bronze.flights")
    shutil.copy(live, live.with_name("part-99999-orphan.c000.snappy.parquet"))


INGEST_DAMAGE: dict[str, tuple[Callable[[Catalog], None], str, str]] = {
    # name: (damage, check that must report it, table it must name)
    "a data file deleted": (
        lambda c: _a_live_file(c, "quarantine.records").unlink(),
        "missing-file",
        "quarantine.records",
    ),
    "a commit cut at a line boundary": (_cut_last_add, "checksum", "bronze.flights"),
    "a half-written log line": (_half_a_line, "unreadable", "ops.ingest_files"),
    "bronze rows lost": (_delete_bronze_rows, "records", "bronze.flights"),
    "a checkpoint ahead of the log": (_checkpoint_ahead, "checkpoint", "ops.ingest_log"),
}


@pytest.mark.parametrize("damage", sorted(INGEST_DAMAGE))
def test_ingest_lake_damage_is_reported(damage: str, ingested: Catalog, tmp_path: Path) -> None:
    lake = _copy(ingested, tmp_path / "lake")
    harm, check, table = INGEST_DAMAGE[damage]
    harm(lake)
    found = _errors(run_doctor(lake))
    assert check in found, found
    assert any(line.startswith(table) for line in found[check]), found[check]


def test_a_cut_commit_is_also_caught_by_the_record_counts(ingested: Catalog, tmp_path: Path) -> None:
    lake = _copy(ingested, tmp_path / "lake")
    _cut_last_add(lake)
    found = _errors(run_doctor(lake))
    assert any(line.startswith("bronze.flights") for line in found["records"]), found


def test_an_orphan_is_a_warning_with_its_age(ingested: Catalog, tmp_path: Path) -> None:
    lake = _copy(ingested, tmp_path / "lake")
    _orphan(lake)
    report = run_doctor(lake)
    assert report.ok
    (orphan,) = [f for f in report.warnings if f.check == "orphan"]
    assert orphan.table == "bronze.flights"
    assert "1 data files" in orphan.message
    assert "h old" in orphan.message


def _silver_row_without_bronze(catalog: Catalog) -> None:
    from deltalake import write_deltalake

    silver = DeltaTable(catalog.path("silver.flights"))
    row = silver.to_pyarrow_table().slice(0, 1)
    row = row.set_column(row.column_names.index("event_id"), "event_id", [["not-in-bronze"]])
    write_deltalake(catalog.path("silver.flights"), row, mode="append")


def _gold_day_lost(catalog: Catalog) -> None:
    DeltaTable(catalog.path("gold.carrier_delay_7d")).delete("event_date = '2013-06-01'")


BUILT_DAMAGE: dict[str, tuple[Callable[[Catalog], None], str, str]] = {
    "a silver row with no bronze event": (_silver_row_without_bronze, "bronze-silver", "silver.flights"),
    "a gold day lost": (_gold_day_lost, "gold-grid", "gold.carrier_delay_7d"),
    "a gold file deleted": (
        lambda c: _a_live_file(c, "gold.route_delay_30d").unlink(),
        "missing-file",
        "gold.route_delay_30d",
    ),
}


@pytest.mark.parametrize("damage", sorted(BUILT_DAMAGE))
def test_built_lake_damage_is_reported(
    damage: str, spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    lake = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    harm, check, table = BUILT_DAMAGE[damage]
    harm(lake)
    found = _errors(run_doctor(lake))
    assert check in found, found
    assert any(line.startswith(table) for line in found[check]), found[check]


def test_a_batch_killed_between_its_bronze_and_log_commits_is_a_warning(
    ingested: Catalog, tmp_path: Path
) -> None:
    """The state a SIGKILL leaves after a batch's bronze commit: not an error, the next run completes it."""
    lake = _copy(ingested, tmp_path / "lake")
    commits = checkpoint_dir("flights", lake.settings) / "commits"
    last = max(int(p.name) for p in commits.iterdir() if p.name.isdigit())
    (commits / str(last)).unlink()
    DeltaTable(lake.path("ops.ingest_log")).delete(f"query_name = 'ingest_flights' and batch_id = {last}")
    report = run_doctor(lake)
    assert report.ok, report.errors
    (pending,) = [f for f in report.warnings if f.check == "records"]
    assert f"batch {last} of ingest_flights was interrupted" in pending.message
    # the same rows with the checkpoint saying the batch was committed: its log row is lost
    (commits / str(last)).write_text("v1\n{}\n")
    found = _errors(run_doctor(lake))
    assert any(f"committed batch {last}" in line for line in found["checkpoint"]), found
    assert "records" in found, found


def test_gold_days_a_backfill_has_not_built_yet_are_a_warning(
    spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A backfill killed half-way (found by the chaos run): the days it has not logged are not lost."""
    lake = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    _gold_day_lost(lake)
    DeltaTable(lake.path("ops.backfill_log")).delete(
        "table_name = 'gold.carrier_delay_7d' and partition_date = '2013-06-01'"
    )
    report = run_doctor(lake)
    assert report.ok, report.errors
    (unbuilt,) = [f for f in report.warnings if f.check == "gold-grid"]
    assert unbuilt.table == "gold.carrier_delay_7d"
    assert "1 of " in unbuilt.message
    assert "2013-06-01 .. 2013-06-01" in unbuilt.message
