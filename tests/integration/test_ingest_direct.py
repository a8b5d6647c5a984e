"""The direct ingest path (decode, check and write bronze in one task) lands what the Spark path lands.

The same landing folder, with every kind of bad record and bad file, is
ingested into two lakes: once the default way (the direct path) and once with
``direct=False`` (records decoded into Spark rows, checked with Spark
expressions, bronze written through ``format("delta")``). Every table must
hold the same rows, apart from the times at which things happened.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from deltalake import DeltaTable

from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.errors import ValidationFailedError
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.stream import IngestRun, run_ingest
from featurelake.ingest.synthetic import produce_synthetic, synthetic_records
from featurelake.quality.suites import expectations_dir

pytestmark = pytest.mark.integration

# Columns that say when something ran (or how long it took), not what was written.
_TIMES = {
    "bronze.flights": {"_ingested_at"},
    "quarantine.records": {"quarantined_at", "quarantine_date"},
    "ops.validation_results": {"validated_at"},
    "ops.ingest_files": {"ingested_at"},
    "ops.ingest_log": {"started_at", "finished_at", "duration_s"},
}


def _rows(settings: Settings, name: str) -> list[dict[str, Any]]:
    t = DeltaTable(Catalog(settings=settings).path(name)).to_pyarrow_table()
    t = t.drop_columns(sorted(_TIMES[name] & set(t.column_names)))
    return sorted(t.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=repr))


def _ingest(settings: Settings, spark: Any, landing: Path, *, direct: bool) -> tuple[Settings, IngestRun]:
    lake = settings.model_copy(update={"lake": settings.lake.parent / f"lake-{direct}", "landing": landing})
    run = run_ingest("flights", settings=lake, spark=spark, max_files_per_batch=4, direct=direct)
    return lake, run


def test_direct_and_spark_paths_write_the_same_rows(spark: Any, settings: Settings) -> None:
    produced = produce_synthetic(
        "flights", 3_000, bad_rate=0.01, seed=11, records_per_file=500, settings=settings
    )
    landing = settings.landing_dir
    direct, direct_run = _ingest(settings, spark, landing, direct=True)
    plain, plain_run = _ingest(settings, spark, landing, direct=False)
    assert {b.path for b in direct_run.batches} == {"direct"}
    assert {b.path for b in plain_run.batches} == {"spark"}
    assert direct_run.totals == plain_run.totals
    assert direct_run.totals["bronze_rows"] == produced.good
    assert [b.event_dates for b in direct_run.batches] == [b.event_dates for b in plain_run.batches]
    for name in _TIMES:
        assert _rows(direct, name) == _rows(plain, name), name
    # Exactly once: running again on the same checkpoint changes nothing.
    again = run_ingest("flights", settings=direct, spark=spark, max_files_per_batch=4)
    assert again.batches == []
    assert _rows(direct, "bronze.flights") == _rows(plain, "bronze.flights")


def test_a_record_only_spark_writes_as_json_is_quarantined_through_spark(
    spark: Any, settings: Settings
) -> None:
    """A timestamp past year 9999 (no Python datetime holds it): that batch's quarantine goes via Spark."""
    records = synthetic_records("flights", 30, np.random.default_rng(3))
    # 12000-01-01T00:00:00Z in epoch milliseconds: to year 10000, then five 400-year cycles
    days = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days + 1 + 5 * 146_097
    year_12000 = days * 86_400_000
    records[7] = {**records[7], "sched_dep_ts": year_12000, "time_hour": year_12000}
    land_bytes(landing_folder("flights", settings), "far.avro", avro_bytes(load_schema("flights"), records))
    direct, direct_run = _ingest(settings, spark, settings.landing_dir, direct=True)
    plain, _ = _ingest(settings, spark, settings.landing_dir, direct=False)
    assert direct_run.batches[0].path == "direct"
    assert direct_run.totals["bronze_rows"] == 29
    quarantined = _rows(direct, "quarantine.records")
    assert [r["record_index"] for r in quarantined] == [7]
    assert '"sched_dep_ts":"+12000-01-01T00:00:00.000000Z"' in quarantined[0]["record_json"]
    for name in _TIMES:
        assert _rows(direct, name) == _rows(plain, name), name


def test_a_replayed_batch_on_the_direct_path_writes_nothing_twice(spark: Any, settings: Settings) -> None:
    """A crash after bronze's commit: the batch runs again, bronze keeps one copy, the rest lands."""
    from featurelake.ingest.batch import BatchProcessor
    from featurelake.ingest.contracts import contract
    from featurelake.ingest.stream import BINARY_FILE_SCHEMA
    from featurelake.quality.suites import load_suite

    produce_synthetic("flights", 400, bad_rate=0.05, seed=5, records_per_file=100, settings=settings)
    c = contract("flights")
    catalog = Catalog(settings=settings)
    proc = BatchProcessor(c, load_schema("flights"), load_suite(c.suite), catalog, query_name="replay")
    raw = (
        spark.read.format("binaryFile").schema(BINARY_FILE_SCHEMA).load(str(settings.landing_dir / "flights"))
    )
    first = proc.process(raw, 0)
    bronze = DeltaTable(catalog.path("bronze.flights"))
    version = bronze.version()
    second = proc.process(raw, 0)
    assert first.path == second.path == "direct"
    assert not second.written
    assert DeltaTable(catalog.path("bronze.flights")).version() == version
    assert DeltaTable(catalog.path("bronze.flights")).to_pyarrow_table().num_rows == first.bronze_rows
    assert _parquet_files(catalog.path("bronze.flights")) == _committed(catalog.path("bronze.flights"))


def _committed(root: str) -> set[str]:
    """The data files bronze's current snapshot refers to, relative to the table."""
    import pyarrow as pa

    return set(pa.table(DeltaTable(root).get_add_actions(flatten=True))["path"].to_pylist())


def _parquet_files(root: str) -> set[str]:
    """Every Parquet file under the table folder, committed or not."""
    out = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        out |= {os.path.relpath(os.path.join(folder, n), root) for n in names if n.endswith(".parquet")}
    return out


def test_a_failed_batch_on_the_direct_path_leaves_no_files(
    spark: Any, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "suites"
    folder.mkdir()
    suite = json.loads((expectations_dir() / "flights_bronze.json").read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == "origin_in_nyc":
            e["meta"]["severity"] = "fail"
    (folder / "flights_bronze.json").write_text(json.dumps(suite))
    produce_synthetic("flights", 300, bad_rate=0.05, seed=2, settings=settings, kinds=["origin_not_nyc"])
    runs: list[Any] = []
    with pytest.raises(ValidationFailedError, match="origin_in_nyc"):
        run_ingest("flights", settings=settings, spark=spark, expectations=folder, on_batch=runs.append)
    path = Catalog(settings=settings).path("bronze.flights")
    assert DeltaTable(path).to_pyarrow_table().num_rows == 0
    # The tasks had written the good rows' files; the aborted batch deleted them.
    assert _parquet_files(path) == set()
    fixed = run_ingest("flights", settings=settings, spark=spark)
    assert fixed.batches[0].path == "direct"
    assert DeltaTable(path).to_pyarrow_table().num_rows == fixed.totals["bronze_rows"] > 0
    assert _parquet_files(path) == _committed(path)
