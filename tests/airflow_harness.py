"""Running Airflow for tests: its environment, a DAG dump, a standalone server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from featurelake.config import Settings
from featurelake.orchestration.environment import airflow_env

DUMP = """
import json
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=__import__("os").environ["AIRFLOW__CORE__DAGS_FOLDER"])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag in bag.dags.values():
    tt = dag.timetable
    out["dags"][dag.dag_id] = {
        "timetable": type(tt).__name__,
        "schedule": str(dag.schedule) if not isinstance(dag.schedule, list) else "assets",
        "assets": sorted(a.name for a in dag.schedule) if isinstance(dag.schedule, list) else [],
        "catchup": dag.catchup,
        "tags": sorted(dag.tags),
        "tasks": {
            t.task_id: {
                "type": type(t).__name__,
                "downstream": sorted(t.downstream_task_ids),
                "inlets": sorted(getattr(a, "name", str(a)) for a in t.inlets),
                "outlets": sorted(getattr(a, "name", str(a)) for a in t.outlets),
                "application": getattr(t, "application", None),
                "args": list(getattr(t, "application_args", None) or []),
                "conn_id": getattr(t, "conn_id", getattr(t, "_conn_id", None)),
            }
            for t in dag.tasks
        },
    }
print("JSON" + json.dumps(out))
"""


def env_for(settings: Settings, home: Path, port: int = 8080) -> dict[str, str]:
    """Airflow's environment for a test lake, with its own home and port."""
    s = settings.model_copy(update={"airflow_home": home, "airflow_port": port})
    return airflow_env(s)


POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
"""The PostgreSQL ``infra/services.sh`` starts (``make test`` runs it)."""


def fresh_postgres_db(name: str) -> str:
    """Drop and create database ``name`` on the test server; its ``postgresql://`` URL."""
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_SERVER}/{name}"


def dump_dags(env: dict[str, str]) -> dict[str, Any]:
    """Parse the project's DAG folder in a fresh interpreter and describe every DAG."""
    res = subprocess.run([sys.executable, "-c", DUMP], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("JSON"))
    return json.loads(line[4:])


class Standalone:
    """``airflow standalone`` in the background, on a private home and port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = int(env["AIRFLOW__API__PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240) -> None:
        airflow = str(Path(sys.executable).parent / "airflow")
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                [airflow, "standalone"],
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as r:
                    health = json.load(r)
                if health.get("scheduler", {}).get("status") == "healthy":
                    return
            except OSError:
                pass
            time.sleep(2)
        raise RuntimeError(f"airflow did not come up in {timeout} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        import signal

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command against this instance's metadata database."""
        airflow = str(Path(sys.executable).parent / "airflow")
        return subprocess.run([airflow, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def token(self, user: str, password: str) -> str:
        req = urllib.request.Request(
            f"{self.url}/auth/token",
            data=json.dumps({"username": user, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        return str(_patiently(req)["access_token"])

    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        req = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if method != "GET":
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)
        return _patiently(req)


def _patiently(req: urllib.request.Request, attempts: int = 4) -> Any:
    """An idempotent request, tried again when a loaded machine makes the API server slow to answer."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)
        except (TimeoutError, urllib.error.URLError) as e:
            if (isinstance(e, urllib.error.HTTPError) and e.code < 500) or attempt == attempts:
                raise
            time.sleep(5 * attempt)
    raise AssertionError("unreachable")
