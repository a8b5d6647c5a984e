"""Streaming ingest on real Spark, real files and real Delta: bad input, accounting, duplicates.

One landing folder holds good synthetic flights mixed with every kind of bad
input the issue lists; it is ingested once (several micro-batches) and the
tests below check what landed where.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.errors import ValidationFailedError
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.stream import IngestRun, run_ingest
from featurelake.ingest.synthetic import SyntheticResult, produce_synthetic, synthetic_records
from featurelake.quality.suites import expectations_dir

pytestmark = pytest.mark.integration


def table(settings: Settings, name: str) -> Any:
    """A whole table as Arrow, read with delta-rs (independent of the Spark writer)."""
    return DeltaTable(Catalog(settings=settings).path(name)).to_pyarrow_table()


@pytest.fixture(scope="module")
def landed(
    spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, SyntheticResult, IngestRun]]:
    settings = Settings(lake=tmp_path_factory.mktemp("ingest") / "lake")
    result = produce_synthetic(
        "flights", 3_000, bad_rate=0.01, seed=11, records_per_file=500, settings=settings
    )
    run = run_ingest("flights", settings=settings, spark=spark, max_files_per_batch=4)
    return settings, result, run


def test_good_records_land_and_bad_ones_are_quarantined_with_their_reason(landed: Any) -> None:
    settings, expected, run = landed
    bronze = table(settings, "bronze.flights")
    quarantine = table(settings, "quarantine.records")
    assert bronze.num_rows == expected.good
    reasons = Counter(quarantine["reasons"].to_pylist())
    for reason, n in expected.bad_records.items():
        assert reasons[reason] == n, reason
    for reason in ("truncated_file", "not_avro", "empty_file", "incompatible_schema"):
        assert reasons[reason] == expected.bad_files[reason] == 1, reason
    assert quarantine.num_rows == expected.quarantined
    assert len(run.batches) > 1


def test_whole_file_quarantine_keeps_the_bytes(landed: Any) -> None:
    settings, expected, _ = landed
    rows = [r for r in table(settings, "quarantine.records").to_pylist() if r["record_json"] is None]
    by_name = {Path(r["source_file"]).name: r for r in rows}
    for path in expected.files:
        if any(k in path.name for k in ("truncated_file", "not_avro", "empty_file", "incompatible_schema")):
            row = by_name[path.name]
            assert row["payload"] == path.read_bytes()
            assert row["detail"]
            assert row["reasons"] in path.name


def test_a_10_mb_string_is_quarantined_and_kept(landed: Any) -> None:
    settings, _, _ = landed
    q = table(settings, "quarantine.records")
    row = q.filter(pc.equal(q["reasons"], "tailnum_length")).to_pylist()[0]
    record = json.loads(row["record_json"])
    assert len(record["tailnum"]) == 10 * 1024 * 1024
    assert json.loads(row["failed_expectations"]) == ["tailnum_length"]
    assert record["event_id"] == row["event_id"]


def test_cancelled_flights_are_valid(landed: Any) -> None:
    settings, _, _ = landed
    bronze = table(settings, "bronze.flights")
    cancelled = bronze.filter(pc.is_null(bronze["dep_time"]))
    assert cancelled.num_rows > 0
    assert cancelled["dep_delay"].null_count == cancelled.num_rows


def test_every_batch_accounts_for_every_record(landed: Any) -> None:
    settings, expected, run = landed
    log = table(settings, "ops.ingest_log").to_pylist()
    assert sorted(r["batch_id"] for r in log) == [b.batch_id for b in run.batches]
    bronze = Counter(table(settings, "bronze.flights")["_batch_id"].to_pylist())
    quarantined = Counter(table(settings, "quarantine.records")["batch_id"].to_pylist())
    for row in log:
        b = row["batch_id"]
        assert row["records_in"] == row["bronze_rows"] + row["quarantined_rows"]
        assert (row["bronze_rows"], row["quarantined_rows"]) == (bronze[b], quarantined[b])
    assert sum(r["files"] for r in log) == len(expected.files)
    assert sum(r["records_in"] for r in log) == expected.records + sum(expected.bad_files.values())


def test_log_records_event_dates_and_files(landed: Any) -> None:
    settings, _, _ = landed
    log = table(settings, "ops.ingest_log").to_pylist()
    bronze = table(settings, "bronze.flights")
    for row in log:
        if not row["bronze_rows"]:
            continue
        mine = bronze.filter(pc.equal(bronze["_batch_id"], row["batch_id"]))["event_date"].to_pylist()
        assert row["event_dates"] == ",".join(d.isoformat() for d in sorted(set(mine)))
        assert (row["min_event_date"], row["max_event_date"]) == (min(mine), max(mine))
    files = table(settings, "ops.ingest_files").to_pylist()
    statuses = Counter(f["status"] for f in files)
    assert statuses["truncated_file"] == statuses["empty_file"] == 1
    assert all(len(f["sha256"]) == 64 for f in files)


def test_same_content_under_a_new_name_lands_twice_and_is_logged(landed: Any) -> None:
    settings, expected, _ = landed
    a, b = sorted(p for p in expected.files if "duplicate_file" in p.name)
    bronze = Counter(Path(p).name for p in table(settings, "bronze.flights")["_source_file"].to_pylist())
    assert bronze[a.name] == bronze[b.name] == 50  # both copies, deduplication is silver's job
    files = {Path(f["path"]).name: f for f in table(settings, "ops.ingest_files").to_pylist()}
    assert Path(files[b.name]["duplicate_of"] or files[a.name]["duplicate_of"]).name in (a.name, b.name)
    assert sum(r["duplicate_files"] for r in table(settings, "ops.ingest_log").to_pylist()) == 1


def test_validation_results_are_recorded_per_batch(landed: Any) -> None:
    settings, expected, run = landed
    results = table(settings, "ops.validation_results").to_pylist()
    assert {r["batch_id"] for r in results} == {b.batch_id for b in run.batches}
    origin = [r for r in results if r["expectation"] == "origin_in_nyc"]
    assert sum(r["unexpected_count"] for r in origin) == expected.bad_records["origin_in_nyc"]
    assert {r["severity"] for r in results} == {"warn", "quarantine", "fail"}
    assert all(r["outcome"] == "written" for r in results)


def test_running_again_changes_nothing_and_relanded_names_are_skipped(landed: Any, spark: Any) -> None:
    settings, expected, _ = landed
    before = {
        n: DeltaTable(Catalog(settings=settings).path(n)).version()
        for n in ("bronze.flights", "quarantine.records")
    }
    again = run_ingest("flights", settings=settings, spark=spark)
    assert again.batches == []
    # The same name landed again (same bytes, new modification time): Spark's file source remembers the path.
    good = next(p for p in expected.files if "duplicate_file" in p.name)
    time.sleep(0.01)
    land_bytes(good.parent, good.name, good.read_bytes())
    assert run_ingest("flights", settings=settings, spark=spark).batches == []
    after = {n: DeltaTable(Catalog(settings=settings).path(n)).version() for n in before}
    assert after == before


def _evolved(schema: dict[str, Any]) -> dict[str, Any]:
    w = copy.deepcopy(schema)
    w["fields"].append({"name": "delay_reason", "type": ["null", "string"], "default": None})
    w["fields"] = [f for f in w["fields"] if f["name"] != "air_time"]  # reader default: null
    w["fields"].reverse()
    return w


def test_schema_evolution_compatible_is_read_incompatible_is_quarantined_whole(
    spark: Any, settings: Settings
) -> None:
    import numpy as np

    schema = load_schema("flights")
    folder = landing_folder("flights", settings)
    records = synthetic_records("flights", 40, np.random.default_rng(5))
    land_bytes(
        folder, "evolved.avro", avro_bytes(_evolved(schema), [{**r, "delay_reason": "wx"} for r in records])
    )
    bad = copy.deepcopy(schema)
    next(f for f in bad["fields"] if f["name"] == "flight")["type"] = "string"
    land_bytes(folder, "incompatible.avro", avro_bytes(bad, [{**r, "flight": "UA1"} for r in records]))
    run_ingest("flights", settings=settings, spark=spark)
    bronze = table(settings, "bronze.flights")
    assert bronze.num_rows == 40
    assert bronze["air_time"].null_count == 40
    assert sorted(bronze["event_id"].to_pylist()) == sorted(r["event_id"] for r in records)
    q = table(settings, "quarantine.records").to_pylist()
    assert [(Path(r["source_file"]).name, r["reasons"]) for r in q] == [
        ("incompatible.avro", "incompatible_schema")
    ]
    assert "flight" in q[0]["detail"]
    again = list(fastavro.reader(io.BytesIO(q[0]["payload"])))
    assert len(again) == 40


def _suite_with(tmp_path: Path, name: str, **changes: Any) -> Path:
    folder = tmp_path / "expectations"
    shutil.copytree(expectations_dir(), folder)
    path = folder / "flights_bronze.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == name:
            e["meta"].update(changes)
    path.write_text(json.dumps(suite))
    return folder


def test_a_failing_fail_expectation_writes_nothing_and_the_files_are_retried(
    spark: Any, settings: Settings, tmp_path: Path
) -> None:
    strict = _suite_with(tmp_path, "origin_in_nyc", severity="fail")
    produce_synthetic("flights", 200, bad_rate=0.05, seed=2, settings=settings, kinds=["origin_not_nyc"])
    with pytest.raises(ValidationFailedError, match=r"origin_in_nyc \(\d+ of 200 records unexpected\)"):
        run_ingest("flights", settings=settings, spark=spark, expectations=strict)
    catalog = Catalog(settings=settings)
    assert DeltaTable(catalog.path("bronze.flights")).to_pyarrow_table().num_rows == 0
    assert DeltaTable(catalog.path("quarantine.records")).to_pyarrow_table().num_rows == 0
    assert not catalog.exists("ops.ingest_log")
    failed = table(settings, "ops.validation_results").to_pylist()
    assert {r["outcome"] for r in failed} == {"batch_failed"}
    assert [r["success"] for r in failed if r["expectation"] == "origin_in_nyc"] == [False]
    # The suite is fixed: the same files are retried, and land.
    fixed = run_ingest("flights", settings=settings, spark=spark)
    assert fixed.batches[0].batch_id == 0
    assert fixed.totals["records_in"] == 200
    assert table(settings, "bronze.flights").num_rows + table(settings, "quarantine.records").num_rows == 200


def test_cli_reports_a_failed_batch_in_one_line(spark: Any, settings: Settings, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from featurelake.cli import main

    strict = _suite_with(tmp_path, "origin_in_nyc", severity="fail")
    produce_synthetic("flights", 50, bad_rate=0.1, seed=3, settings=settings, kinds=["origin_not_nyc"])
    result = CliRunner().invoke(main, ["ingest", "flights", "--once", "--expectations", str(strict)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "origin_in_nyc" in lines[0]
    assert "nothing was written" in lines[0]
    assert os.path.exists(settings.lake / "_checkpoints" / "ingest" / "flights")


def _corrupt_inside_a_block(data: bytes) -> bytes:
    """``data`` with bytes flipped inside its second block's compressed records; framing intact."""
    buf = io.BytesIO(data)
    fastavro.reader(buf)
    pos, starts = buf.tell(), []
    while pos < len(data):
        _, pos = _varint(data, pos)
        size, pos = _varint(data, pos)
        starts.append((pos, size))
        pos += size + 16
    start, size = starts[1]
    out = bytearray(data)
    for i in range(start + size // 3, start + size // 3 + 40):
        out[i] ^= 0x5A
    return bytes(out)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = acc = 0
    while True:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7


def test_a_file_corrupt_inside_a_block_is_quarantined_whole(spark: Any, settings: Settings) -> None:
    import numpy as np

    from featurelake.avro import inspect_container

    schema = load_schema("flights")
    folder = landing_folder("flights", settings)
    records = synthetic_records("flights", 3_000, np.random.default_rng(8))
    data = _corrupt_inside_a_block(avro_bytes(schema, records, codec="deflate"))
    assert inspect_container(data, schema).records == 3_000  # the framing does not show it
    land_bytes(folder, "corrupt-inside.avro", data)
    land_bytes(folder, "fine.avro", avro_bytes(schema, records[:100]))
    run = run_ingest("flights", settings=settings, spark=spark)
    assert run.totals["records_in"] == 101
    bronze = table(settings, "bronze.flights")
    assert {Path(p).name for p in bronze["_source_file"].to_pylist()} == {"fine.avro"}
    assert bronze.num_rows == 100
    q = table(settings, "quarantine.records").to_pylist()
    assert [(Path(r["source_file"]).name, r["reasons"]) for r in q] == [
        ("corrupt-inside.avro", "corrupt_file")
    ]
    assert q[0]["payload"] == data
    assert "decoded" in q[0]["detail"]
