"""benchmarks.scale's bookkeeping: spills read from Spark's event logs, records landed, ratios, goals."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.scale import _goals, _landed_records, _ratios, _spill


def _task_end(memory: int, disk: int) -> str:
    return json.dumps(
        {
            "Event": "SparkListenerTaskEnd",
            "Task Metrics": {"Memory Bytes Spilled": memory, "Disk Bytes Spilled": disk},
        }
    )


def test_spill_sums_task_ends_of_new_logs_once(tmp_path: Path) -> None:
    (tmp_path / "local-1").write_text(
        "\n".join([json.dumps({"Event": "SparkListenerApplicationStart"}), _task_end(10, 3), _task_end(5, 0)])
    )
    (tmp_path / "local-2.inprogress").write_text(_task_end(1000, 1000))  # still running: not read yet
    seen: set[str] = set()
    assert _spill(tmp_path, seen) == (15, 3)
    assert _spill(tmp_path, seen) == (0, 0)  # each log counts for the stage that wrote it
    (tmp_path / "local-3").write_text(_task_end(0, 7))
    assert _spill(tmp_path, seen) == (0, 7)


def test_landed_records_reads_each_datasets_line(tmp_path: Path) -> None:
    log = tmp_path / "land.log"
    log.write_text(
        "$ featurelake produce synthetic --scale 1\n"
        "flights: 337,176 records in 389 files; expect bronze 333,774, quarantine 3,418\n"
        "weather: 26,680 records in 389 files; expect bronze 26,417, quarantine 279\n"
        "scale 1: 363,856 events in 9.4 s, 38,857 events/s\n"
    )
    assert _landed_records(log) == 337_176 + 26_680


def _stage(us: float, driver: float, ok: bool = True, spilled: int = 0) -> dict[str, object]:
    return {
        "us_per_event": us,
        "driver_peak_mib": driver,
        "executors_peak_mib": 0.0,
        "spilled_memory_bytes": spilled,
        "spilled_disk_bytes": 0,
        "ok": ok,
    }


def test_ratios_and_goals_against_the_first_scale() -> None:
    by_scale = {
        1: {"ingest": _stage(100.0, 1000.0), "backfill": _stage(50.0, 2000.0), "_lake": {}},
        10: {"ingest": _stage(110.0, 1400.0), "backfill": _stage(70.0, 2200.0), "_lake": {}},
    }
    ratios = _ratios(by_scale)
    assert ratios == {
        "10_over_1": {
            "ingest": {"us_per_event": 1.1, "driver_peak": 1.4},
            "backfill": {"us_per_event": 1.4, "driver_peak": 1.1},
        }
    }
    goals = _goals(by_scale, ratios)
    assert goals["ingest_us_per_event_ratio<=1.2"] is True
    assert goals["backfill_us_per_event_ratio<=1.2"] is False
    assert goals["driver_peak_ratio<=1.5"] is True
    assert goals["no_stage_failed"] is True
    assert goals["nothing_spilled"] is True


def test_a_failed_or_spilling_stage_fails_its_goal() -> None:
    by_scale = {
        1: {"ingest": _stage(100.0, 1000.0)},
        10: {"ingest": _stage(100.0, 1000.0, spilled=1), "backfill": _stage(1.0, 1.0, ok=False)},
    }
    goals = _goals(by_scale, _ratios(by_scale))
    assert goals["no_stage_failed"] is False
    assert goals["nothing_spilled"] is False


def test_a_forked_worker_counts_the_pages_it_shares_with_its_parent_once() -> None:
    """pyspark's workers fork from its daemon: by RSS each would count the pages they share again."""
    import subprocess
    import sys
    import time

    from benchmarks.scale import Sampler

    holds = "import os, time; data = b'x' * (200 << 20); os.fork(); time.sleep(8)"
    proc = subprocess.Popen([sys.executable, "-c", holds])
    try:
        time.sleep(3)  # both hold the 200 MB by now
        sampler = Sampler(proc.pid, executors=False, interval=0.1)
        sampler.start()
        time.sleep(1)
        peaks = sampler.stop()
    finally:
        proc.kill()
        proc.wait()
    mib = 1 << 20
    assert peaks.samples > 0
    assert peaks.driver_python > 200 * mib  # the parent, by RSS
    assert peaks.python_workers < 0.6 * peaks.driver_python  # the child, by its share: about half
    assert peaks.driver == peaks.driver_python + peaks.python_workers
