"""Starting and stopping Spark's standalone daemons with the installed pyspark's ``spark-class``.

Each daemon runs in its own session (process group): its executors and their
JVMs share that group, so stopping a worker stops what it launched, and the
daemons outlive the terminal that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from featurelake.errors import ClusterError

__all__ = ["MASTER_CLASS", "WORKER_CLASS", "is_running", "launch", "log_tail", "spark_home", "stop"]

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"

# The daemons this process started, by PID. They are meant to outlive their Popen handle; holding
# it lets ``stop`` reap them and keeps Python from warning that a child is still running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def spark_home() -> Path:
    """The installed pyspark package: it is a complete ``SPARK_HOME`` (``bin/``, ``jars/``)."""
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").is_file():
        raise ClusterError(f"{home} has no bin/spark-class: reinstall pyspark (make setup)")
    return home


def daemon_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a master or worker: this interpreter for Python, UTC, ``extra`` on top."""
    env = dict(os.environ)
    # A driver's SPARK_* must not leak into daemons (e.g. PYSPARK_GATEWAY_PORT under spark-submit).
    for key in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "SPARK_CONF_DIR", "SPARK_ENV_LOADED"):
        env.pop(key, None)
    env.update(
        {
            "SPARK_HOME": str(spark_home()),
            # Executors inherit the worker's environment: Python workers run the project's
            # interpreter even for an application that does not set spark.pyspark.python.
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "TZ": "UTC",
            # The daemons schedule and supervise; they need no more than this.
            "SPARK_DAEMON_MEMORY": "512m",
        }
    )
    env.update(extra)
    return env


def launch(main_class: str, args: list[str], *, env: dict[str, str], log: Path) -> int:
    """Start ``spark-class main_class args`` in the background; returns its PID (the JVM's, after exec)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [str(spark_home() / "bin" / "spark-class"), main_class, *args]
    with open(log, "ab") as out:
        out.write(
            f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {' '.join(command)}\n".encode()
        )
        out.flush()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def is_running(pid: int, main_class: str) -> bool:
    """Whether ``pid`` is alive and is the ``main_class`` daemon (not a recycled PID)."""
    child = _CHILDREN.get(pid)
    if child is not None:  # started here: until it has exec'd, its cmdline is still this process's
        return child.poll() is None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return _alive_without_proc(pid)
    if main_class.encode() not in cmdline:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _alive_without_proc(pid: int) -> bool:
    """Fallback where there is no /proc (macOS): signal 0 says whether the PID exists."""
    if Path("/proc/self").exists():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    # A daemon this process started (cluster up and down in one Python process) stays a zombie
    # until waited for.
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(pid: int, main_class: str, *, timeout: float = 30.0) -> bool:
    """Stop a daemon and everything in its process group: SIGTERM, then SIGKILL after ``timeout``.

    Returns:
        False when it was not running.
    """
    if not is_running(pid, main_class):
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not is_running(pid, main_class):
                return True
            time.sleep(0.2)
    if is_running(pid, main_class):
        raise ClusterError(f"{main_class.rsplit('.', 1)[1]} (pid {pid}) did not stop, even after SIGKILL")
    return True


def log_tail(log: Path, lines: int = 15) -> str:
    """The last lines of a daemon log, for error messages."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text[-lines:])
