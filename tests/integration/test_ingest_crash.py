"""Crash safety: SIGKILL ``featurelake ingest --continuous`` at several points, restart, exactly once.

The ingest runs in its own process group (driver and JVM), killed as a power
cut would at chosen points between the commits of a batch (``FEATURELAKE_CRASH_AT``).
Kills at random moments are the chaos suite's (``tests/chaos``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.ingest.stream import run_ingest
from featurelake.ingest.synthetic import SyntheticResult, produce_synthetic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


def _rows(settings: Settings, name: str) -> list[dict[str, Any]]:
    catalog = Catalog(settings=settings)
    if not catalog.exists(name):
        return []
    return DeltaTable(catalog.path(name)).to_pyarrow_table().to_pylist()


def _start(settings: Settings, log: Path, crash_at: str | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FEATURELAKE_LAKE": str(settings.lake),
        "FEATURELAKE_SPARK_MASTER": "local[2]",
        "FEATURELAKE_SHUFFLE_PARTITIONS": "4",
        "FEATURELAKE_SPARK_DRIVER_MEMORY": "1g",
    }
    env.pop("FEATURELAKE_CRASH_AT", None)
    if crash_at:
        env["FEATURELAKE_CRASH_AT"] = crash_at
    cmd = [FEATURELAKE, "ingest", "flights", "--continuous", "--interval", "1", "--no-online-features"]
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wave(settings: Settings, seed: int, files: int = 2) -> SyntheticResult:
    return produce_synthetic(
        "flights",
        120 * files,
        bad_rate=0.05,
        seed=seed,
        records_per_file=120,
        settings=settings,
        kinds=["origin_not_nyc"],
    )


def test_sigkill_during_continuous_ingest_then_restart_gives_exactly_once(
    spark: Any, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "ingest.log"
    waves = [_wave(settings, seed=1)]

    # 1. Dies right after batch 0's bronze commit: bronze has it, the log does not.
    proc = _start(settings, log, crash_at="after_bronze@0")
    assert proc.wait(timeout=300) == -signal.SIGKILL, log.read_text()[-3000:]
    assert len(_rows(settings, "bronze.flights")) == waves[0].good
    assert _rows(settings, "ops.ingest_log") == []
    # what the command wrote, Spark's Delta files and checkpoints too, is the owner's alone
    written = [*(settings.lake / "bronze").rglob("*"), *(settings.lake / "_checkpoints").rglob("*")]
    assert written
    assert [p for p in written if p.stat().st_mode & 0o077] == []
    assert settings.lake.stat().st_mode & 0o777 == 0o700

    # 2. Restart with more files waiting: batch 0 is replayed (bronze untouched, the rest written),
    #    then the process dies after batch 1's quarantine commit.
    waves.append(_wave(settings, seed=2))
    proc = _start(settings, log, crash_at="after_quarantine@1")
    assert proc.wait(timeout=300) == -signal.SIGKILL, log.read_text()[-3000:]
    assert [r["batch_id"] for r in _rows(settings, "ops.ingest_log")] == [0]

    # 3. More files land; the next run replays batch 1 and drains everything. (Kills at arbitrary
    #    moments, while files land, are the chaos suite's: tests/chaos, benchmarks/chaos.py.)
    waves.append(_wave(settings, seed=3, files=1))
    run_ingest("flights", settings=settings, spark=spark)

    bronze = _rows(settings, "bronze.flights")
    quarantine = _rows(settings, "quarantine.records")
    assert len(bronze) == sum(w.good for w in waves)
    assert len(quarantine) == sum(w.quarantined for w in waves)
    keys = Counter((r["_source_file"], r["event_id"], r["sched_dep_ts"]) for r in bronze)
    assert max(keys.values()) == 1, "a record landed twice"
    qkeys = Counter((r["source_file"], r["record_index"]) for r in quarantine)
    assert max(qkeys.values()) == 1, "a record was quarantined twice"
    logged = _rows(settings, "ops.ingest_log")
    batch_ids = [r["batch_id"] for r in logged]
    assert len(batch_ids) == len(set(batch_ids))
    by_batch = Counter(r["_batch_id"] for r in bronze)
    for r in logged:
        assert r["records_in"] == r["bronze_rows"] + r["quarantined_rows"]
        assert r["bronze_rows"] == by_batch[r["batch_id"]]
    assert sum(r["files"] for r in logged) == sum(len(w.files) for w in waves)
