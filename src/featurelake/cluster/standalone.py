"""``featurelake cluster up | down | status``: a Spark standalone cluster on this machine.

:func:`cluster_up` starts a master and ``workers`` workers from the installed
pyspark, records their PIDs in ``<run_dir>/cluster.json`` and returns once
every worker has registered with the master. Workers run executors as
separate JVMs with their own Python workers (this interpreter), exactly as on
a multi-machine cluster; only the lake, the landing zone and the Python
environment are shared, through the file system.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featurelake.cluster import _process
from featurelake.cluster.spec import ClusterSpec, default_run_dir
from featurelake.cluster.status import MasterState, fetch_master_state
from featurelake.errors import ClusterError

__all__ = ["ClusterState", "cluster_down", "cluster_status", "cluster_up", "load_state"]

STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class ClusterState:
    """A cluster featurelake started: its spec and the PIDs of its daemons."""

    spec: ClusterSpec
    master_pid: int
    worker_pids: tuple[int, ...]
    started_at: float = field(default_factory=time.time)

    @property
    def path(self) -> Path:
        """The state file."""
        return self.spec.run_dir / STATE_FILE

    def save(self) -> None:
        """Write the state file (atomically: readers never see half of it)."""
        self.spec.run_dir.mkdir(parents=True, exist_ok=True)
        doc = {
            "spec": self.spec.to_json(),
            "master_pid": self.master_pid,
            "worker_pids": list(self.worker_pids),
            "started_at": self.started_at,
            "master_url": self.spec.master_url,
            "ui_url": self.spec.ui_url,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.path)

    def master_running(self) -> bool:
        """Whether the master process is alive."""
        return _process.is_running(self.master_pid, _process.MASTER_CLASS)

    def workers_running(self) -> list[bool]:
        """Per worker (in start order): whether its process is alive."""
        return [_process.is_running(p, _process.WORKER_CLASS) for p in self.worker_pids]

    def worker_log(self, index: int) -> Path:
        """Worker ``index``'s daemon log."""
        return self.spec.log_dir / f"worker-{index}.log"

    @property
    def master_log(self) -> Path:
        """The master's daemon log."""
        return self.spec.log_dir / "master.log"


def load_state(run_dir: Path | None = None) -> ClusterState | None:
    """The state of the cluster started from ``run_dir``; None when none was started (or it was stopped)."""
    path = Path(run_dir or default_run_dir()) / STATE_FILE
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise ClusterError(f"{path} is not a cluster state file: {e}") from e
    return ClusterState(
        spec=ClusterSpec.from_json(doc["spec"]),
        master_pid=int(doc["master_pid"]),
        worker_pids=tuple(int(p) for p in doc["worker_pids"]),
        started_at=float(doc.get("started_at", 0.0)),
    )


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _first_error(log: Path) -> str:
    """The line of a daemon log that says why it stopped, else its last line."""
    lines = _process.log_tail(log, 60).splitlines()
    for line in lines:
        if any(k in line for k in ("Exception", "ERROR", "Error:", "Failed")):
            return line.strip()
    return lines[-1].strip() if lines else "(empty log)"


def _wait(
    state: ClusterState, until: int, timeout: float, *, workers: list[int] | None = None
) -> MasterState:
    """Poll the master until ``until`` workers are alive; fail early when a daemon exits."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        if not state.master_running():
            raise ClusterError(
                f"the Spark master exited while starting: {_first_error(state.master_log)} "
                f"(log: {state.master_log})"
            )
        for i, pid in enumerate(state.worker_pids):
            if (workers is None or i in workers) and not _process.is_running(pid, _process.WORKER_CLASS):
                raise ClusterError(
                    f"Spark worker {i} exited while starting: {_first_error(state.worker_log(i))} "
                    f"(log: {state.worker_log(i)})"
                )
        try:
            master = fetch_master_state(state.spec.ui_url, timeout=2.0)
            if master.status == "ALIVE" and len(master.alive_workers) >= until:
                return master
        except ClusterError as e:
            last = e
        if time.monotonic() > deadline:
            raise ClusterError(
                f"the cluster at {state.spec.master_url} did not have {until} alive worker(s) after "
                f"{timeout:.0f} s ({last or 'workers missing'}); logs in {state.spec.log_dir}"
            )
        time.sleep(0.5)


def cluster_up(
    spec: ClusterSpec | None = None, *, timeout: float = 180.0
) -> tuple[ClusterState, MasterState]:
    """Start a master and ``spec.workers`` workers; return once all are registered.

    Idempotent: when the cluster recorded in ``spec.run_dir`` is already up with the
    same addresses, nothing is started.

    Args:
        spec: the cluster's shape and addresses; :class:`ClusterSpec` defaults when omitted.
        timeout: seconds to wait for the master and every worker to come up.

    Returns:
        The state (PIDs) and the master's view of the running cluster.

    Raises:
        ClusterError: a port is taken by something else, a daemon exits, or the
            workers do not register in time (everything started is stopped again).
    """
    spec = spec or ClusterSpec()
    current = load_state(spec.run_dir)
    if current is not None and current.master_running():
        same = (current.spec.host, current.spec.port, current.spec.ui_port) == (
            spec.host,
            spec.port,
            spec.ui_port,
        )
        if not same:
            raise ClusterError(
                f"a cluster from {spec.run_dir} is already up at {current.spec.master_url}; "
                "run `featurelake cluster down` first"
            )
        return current, _wait(current, sum(current.workers_running()), timeout)
    if current is not None:
        # The master died (machine reboot, OOM killer): stop workers it left behind before starting over.
        _stop_all(current)
    for name, port in (("master", spec.port), ("master UI", spec.ui_port)):
        if _port_in_use(spec.host, port):
            raise ClusterError(
                f"{spec.host}:{port} (the {name} port) is already in use by another process; "
                "stop it or choose another port"
            )

    spec.log_dir.mkdir(parents=True, exist_ok=True)
    # Daemons and the executors they start bind this address, never whatever the hostname resolves to.
    base = {"SPARK_LOCAL_IP": spec.host}
    master_pid = _process.launch(
        _process.MASTER_CLASS,
        ["--host", spec.host, "--port", str(spec.port), "--webui-port", str(spec.ui_port)],
        env=_process.daemon_env(base),
        log=spec.log_dir / "master.log",
    )
    state = ClusterState(spec, master_pid, ())
    state.save()
    try:
        _wait(state, 0, timeout)
        pids = []
        for i in range(spec.workers):
            work, local = spec.work_dir(i), spec.local_dir(i)
            work.mkdir(parents=True, exist_ok=True)
            local.mkdir(parents=True, exist_ok=True)
            env = {
                **base,
                "SPARK_WORKER_DIR": str(work),
                "SPARK_LOCAL_DIRS": str(local),
                # Finished applications' folders (executor logs, shipped files) go after a day.
                "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=true "
                "-Dspark.worker.cleanup.appDataTtl=86400",
            }
            args = ["--host", spec.host, "--webui-port", "0", "--cores", str(spec.cores)]
            args += ["--memory", spec.memory, "--work-dir", str(work), spec.master_url]
            pids.append(
                _process.launch(
                    _process.WORKER_CLASS, args, env=_process.daemon_env(env), log=state.worker_log(i)
                )
            )
        state = ClusterState(spec, master_pid, tuple(pids), state.started_at)
        state.save()
        master = _wait(state, spec.workers, timeout)
    except BaseException:
        with contextlib.suppress(ClusterError):
            _stop_all(state)
        raise
    return state, master


def _stop_all(state: ClusterState, timeout: float = 30.0) -> list[str]:
    stopped = []
    for i, pid in enumerate(state.worker_pids):
        if _process.stop(pid, _process.WORKER_CLASS, timeout=timeout):
            stopped.append(f"worker {i} (pid {pid})")
    if _process.stop(state.master_pid, _process.MASTER_CLASS, timeout=timeout):
        stopped.append(f"master (pid {state.master_pid})")
    state.path.unlink(missing_ok=True)
    return stopped


def cluster_down(run_dir: Path | None = None, *, timeout: float = 30.0) -> list[str]:
    """Stop the workers (and their executors), then the master; returns what was stopped.

    Logs stay in ``<run_dir>/logs``. Nothing to do is not an error.
    """
    state = load_state(run_dir)
    if state is None:
        return []
    return _stop_all(state, timeout)


def cluster_status(run_dir: Path | None = None) -> tuple[ClusterState | None, MasterState | None]:
    """The recorded state (None: no cluster started from ``run_dir``) and the master's view (None: down)."""
    state = load_state(run_dir)
    if state is None or not state.master_running():
        return state, None
    try:
        return state, fetch_master_state(state.spec.ui_url)
    except ClusterError:
        return state, None
