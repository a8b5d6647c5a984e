"""Quarantine you can work with: the summary, and replay after a fix, exactly once."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from featurelake.avro import load_schema, schema_dir
from featurelake.catalog import Catalog
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.doctor import run_doctor
from featurelake.ingest import quarantine as q
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.stream import run_ingest
from featurelake.ingest.synthetic import produce_synthetic, synthetic_records
from featurelake.quality.suites import expectations_dir

pytestmark = pytest.mark.integration


def rows(settings: Settings, name: str) -> list[dict[str, Any]]:
    return DeltaTable(Catalog(settings=settings).path(name)).to_pyarrow_table().to_pylist()


def _fixed_suite(tmp_path: Path) -> Path:
    folder = tmp_path / "expectations"
    shutil.copytree(expectations_dir(), folder)
    path = folder / "flights_bronze.json"
    suite = json.loads(path.read_text())
    for e in suite["expectations"]:
        if e["meta"]["name"] == "origin_in_nyc":
            e["kwargs"]["value_set"].append("XYZ")  # the fix: a fourth origin is legitimate after all
    path.write_text(json.dumps(suite))
    return folder


def _fixed_schemas(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(schema_dir(), folder)
    path = folder / "flights.avsc"
    schema = json.loads(path.read_text())
    schema["aliases"] = ["featurelake.events.FlightV0"]  # the fix: the old record name is an alias
    path.write_text(json.dumps(schema))
    return folder


def test_summary_replay_and_replay_again(spark: Any, settings: Settings, tmp_path: Path) -> None:
    produced = produce_synthetic(
        "flights",
        600,
        bad_rate=0.03,
        seed=9,
        settings=settings,
        kinds=["origin_not_nyc", "nonpositive_distance"],
    )
    run_ingest("flights", settings=settings, spark=spark)
    bad_origin = produced.bad_records["origin_in_nyc"]
    assert bad_origin > 0

    out = CliRunner().invoke(main, ["quarantine", "--dataset", "flights"])
    assert out.exit_code == 0, out.output
    assert "origin_in_nyc" in out.output
    assert str(bad_origin) in out.output
    assert "XYZ" in out.output

    # Without a fix, replaying changes nothing: no replay id is used and no log row written
    # (one was, under the id the next real replay then used: that replay's row was dropped).
    stuck = q.replay_quarantine("flights", "distance_positive", settings=settings, spark=spark)
    assert stuck.replayed == 0
    assert stuck.still_quarantined == produced.bad_records["distance_positive"]
    assert not [r for r in rows(settings, "ops.ingest_log") if r["query_name"] == "replay_flights"]

    fixed = _fixed_suite(tmp_path)
    result = q.replay_quarantine(
        "flights", "origin_in_nyc", settings=settings, spark=spark, expectations=fixed
    )
    assert (result.candidates, result.replayed, result.bronze_rows) == (bad_origin, bad_origin, bad_origin)
    assert result.still_quarantined == 0
    bronze = rows(settings, "bronze.flights")
    assert len(bronze) == produced.good + bad_origin
    assert sum(r["origin"] == "XYZ" for r in bronze) == bad_origin
    marked = [r for r in rows(settings, "quarantine.records") if r["replayed_at"] is not None]
    assert len(marked) == bad_origin
    assert {r["replay_id"] for r in marked} == {1}
    untouched = [r for r in rows(settings, "quarantine.records") if r["reasons"] == "distance_positive"]
    assert len(untouched) == produced.bad_records["distance_positive"]
    assert all(r["replayed_at"] is None for r in untouched)

    again = q.replay_quarantine(
        "flights", "origin_in_nyc", settings=settings, spark=spark, expectations=fixed
    )
    assert (again.candidates, again.bronze_rows) == (0, 0)
    assert len(rows(settings, "bronze.flights")) == produced.good + bad_origin
    log = [r for r in rows(settings, "ops.ingest_log") if r["query_name"] == "replay_flights"]
    assert [(r["batch_id"], r["records_in"], r["bronze_rows"]) for r in log] == [(1, bad_origin, bad_origin)]
    assert run_doctor(Catalog(settings=settings)).ok


def test_whole_file_replay_after_a_schema_fix_and_crash_recovery(
    spark: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = copy.deepcopy(load_schema("flights"))
    writer["name"] = "FlightV0"
    records = synthetic_records("flights", 30, np.random.default_rng(1))
    records[0]["origin"] = "XYZ"  # still bad after the fix: becomes a record-level quarantine row
    land_bytes(landing_folder("flights", settings), "old-producer.avro", avro_bytes(writer, records))
    run_ingest("flights", settings=settings, spark=spark)
    assert [r["reasons"] for r in rows(settings, "quarantine.records")] == ["incompatible_schema"]

    schemas = _fixed_schemas(tmp_path)
    real = q._write_bronze
    monkeypatch.setattr(q, "_write_bronze", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("power cut")))
    with pytest.raises(RuntimeError, match="power cut"):
        q.replay_quarantine("flights", "incompatible_schema", settings=settings, spark=spark, schemas=schemas)
    assert rows(settings, "bronze.flights") == []  # died between the two commits
    monkeypatch.setattr(q, "_write_bronze", real)

    result = q.replay_quarantine(
        "flights", "incompatible_schema", settings=settings, spark=spark, schemas=schemas
    )
    assert result.recovered
    assert result.candidates == 0
    bronze = rows(settings, "bronze.flights")
    assert len(bronze) == 29
    assert len({r["event_id"] for r in bronze}) == 29
    assert all(r["_source_file"].endswith("old-producer.avro") and r["_batch_id"] == 0 for r in bronze)
    quarantine = rows(settings, "quarantine.records")
    assert sorted((r["reasons"], r["replay_id"], r["replayed_at"] is None) for r in quarantine) == [
        ("incompatible_schema", 1, False),  # replayed by replay 1
        ("origin_in_nyc", 1, True),  # a bad record of the replayed file: quarantined by replay 1
    ]
    log = [r for r in rows(settings, "ops.ingest_log") if r["query_name"] == "replay_flights"]
    assert [(r["batch_id"], r["bronze_rows"]) for r in log] == [(1, 29)]  # the crashed replay's row
    assert run_doctor(Catalog(settings=settings)).ok
    again = q.replay_quarantine(
        "flights", "incompatible_schema", settings=settings, spark=spark, schemas=schemas
    )
    assert again.candidates == 0
    assert not again.recovered
    assert len(rows(settings, "bronze.flights")) == 29
