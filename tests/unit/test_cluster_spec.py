"""The standalone cluster's spec, state file and the master's JSON, without starting anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from featurelake.cluster import (
    ClusterSpec,
    ClusterState,
    MasterState,
    _process,
    cluster_down,
    cluster_status,
    load_state,
)
from featurelake.config import Settings
from featurelake.spark import _conf, _loopback_master

MASTER_JSON = {
    "url": "spark://127.0.0.1:7077",
    "workers": [
        {
            "id": "worker-20261128-127.0.0.1-40001",
            "host": "127.0.0.1",
            "port": 40001,
            "webuiaddress": "http://127.0.0.1:40100",
            "cores": 1,
            "coresused": 1,
            "coresfree": 0,
            "memory": 2048,
            "memoryused": 1024,
            "memoryfree": 1024,
            "state": "ALIVE",
            "lastheartbeat": 1,
        },
        {
            "id": "worker-20261128-127.0.0.1-40002",
            "host": "127.0.0.1",
            "port": 40002,
            "webuiaddress": "http://127.0.0.1:40101",
            "cores": 1,
            "coresused": 0,
            "memory": 2048,
            "memoryused": 0,
            "state": "DEAD",
        },
    ],
    "aliveworkers": 1,
    "cores": 1,
    "coresused": 1,
    "activeapps": [
        {
            "id": "app-20261128-0000",
            "starttime": 1,
            "name": "featurelake-backfill",
            "cores": 2,
            "user": "me",
            "memoryperexecutor": 1024,
            "submitdate": "x",
            "state": "RUNNING",
            "duration": 12500,
        }
    ],
    "completedapps": [],
    "status": "ALIVE",
}


def test_spec_defaults_and_addresses(tmp_path: Path) -> None:
    spec = ClusterSpec(run_dir=tmp_path)
    assert (spec.workers, spec.cores, spec.memory) == (2, 1, "2g")
    assert spec.master_url == "spark://127.0.0.1:7077"
    assert spec.ui_url == "http://127.0.0.1:8081"  # not 8080: Airflow's UI
    assert spec.work_dir(1) == tmp_path / "work" / "worker-1"
    assert ClusterSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be >= 1"),
        ({"cores": 0}, "cores must be >= 1"),
        ({"memory": "2 GB"}, "memory '2 GB' must look like 512m or 2g"),
        ({"port": 70000}, "port must be a TCP port"),
        ({"port": 8081, "ui_port": 8081}, "port and ui_port must differ"),
    ],
)
def test_spec_rejects_bad_values(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClusterSpec(run_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_master_state_from_the_masters_json() -> None:
    m = MasterState.from_json(MASTER_JSON)
    assert m.status == "ALIVE"
    assert [w.address for w in m.alive_workers] == ["127.0.0.1:40001"]
    assert (m.cores, m.cores_used, m.memory_mb, m.memory_used_mb) == (1, 1, 2048, 1024)
    [app] = m.active_apps
    assert (app.name, app.cores, app.memory_per_executor_mb, app.duration_s) == (
        "featurelake-backfill",
        2,
        1024,
        12.5,
    )


def test_state_file_round_trip_and_nothing_running(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None
    assert cluster_status(tmp_path) == (None, None)
    assert cluster_down(tmp_path) == []
    # PIDs that are not Spark daemons (this test process) are never taken for them, nor stopped
    state = ClusterState(ClusterSpec(run_dir=tmp_path), os.getpid(), (os.getpid(),))
    state.save()
    loaded = load_state(tmp_path)
    assert loaded == state
    assert loaded is not None
    assert not loaded.master_running()
    assert loaded.workers_running() == [False]
    assert cluster_status(tmp_path) == (state, None)
    assert cluster_down(tmp_path) == []
    assert load_state(tmp_path) is None


WORKER = _process.WORKER_CLASS.encode()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # a stand-in daemon whose command line names the class, with a child in its group
    script = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, _process.WORKER_CLASS], start_new_session=True)
    try:
        deadline = time.monotonic() + 10  # until the child has exec'd, its cmdline is pytest's
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        while Path("/proc/self").exists() and WORKER not in cmdline.read_bytes():
            assert time.monotonic() < deadline, "the stand-in daemon did not start"
            time.sleep(0.05)
        assert _process.is_running(proc.pid, _process.WORKER_CLASS)
        assert not _process.is_running(proc.pid, _process.MASTER_CLASS)
        assert _process.stop(proc.pid, _process.WORKER_CLASS, timeout=5)
        proc.wait(timeout=5)
        # no process of the group is left: the killed grandchild, reparented, exists until its
        # new parent reaps it, which on a loaded machine is not instant
        deadline = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _group_alive(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("master", "loopback"),
    [
        ("local[*]", True),
        ("local[2]", True),
        ("spark://127.0.0.1:7077", True),
        ("spark://localhost:7077", True),
        ("spark://127.0.0.1:7077,127.0.0.1:7078", True),
        ("spark://10.0.0.5:7077", False),
        ("spark://127.0.0.1:7077,10.0.0.5:7077", False),
        ("yarn", False),
        ("k8s://https://10.0.0.1:6443", False),
    ],
)
def test_driver_stays_on_loopback_only_for_a_cluster_on_this_machine(master: str, loopback: bool) -> None:
    assert _loopback_master(master) is loopback
    conf = _conf(Settings(spark_master=master), "t")
    assert (conf.get("spark.driver.host") == "127.0.0.1") is loopback
