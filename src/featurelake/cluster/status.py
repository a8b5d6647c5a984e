"""What the master says about its cluster: workers, cores, memory and applications.

Read from the master web UI's JSON (``<ui>/json/``), which every Spark
standalone master serves; the REST submission server (port 6066) stays off.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from featurelake.errors import ClusterError

__all__ = ["AppInfo", "MasterState", "WorkerInfo", "fetch_master_state"]


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as the master sees it."""

    id: str
    host: str
    port: int
    state: str
    """``ALIVE``, ``DEAD``, ``DECOMMISSIONED`` or ``UNKNOWN``."""
    cores: int
    cores_used: int
    memory_mb: int
    memory_used_mb: int
    web_ui: str

    @property
    def address(self) -> str:
        """``host:port`` of the worker's RPC endpoint."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AppInfo:
    """One application (a driver's SparkContext) the master scheduled."""

    id: str
    name: str
    cores: int
    memory_per_executor_mb: int
    state: str
    duration_s: float


@dataclass(frozen=True)
class MasterState:
    """The master's view: its URL, status, workers and applications."""

    url: str
    status: str
    workers: tuple[WorkerInfo, ...]
    active_apps: tuple[AppInfo, ...]
    completed_apps: tuple[AppInfo, ...]

    @property
    def alive_workers(self) -> tuple[WorkerInfo, ...]:
        """Workers in state ``ALIVE``."""
        return tuple(w for w in self.workers if w.state == "ALIVE")

    @property
    def cores(self) -> int:
        """Cores the alive workers offer."""
        return sum(w.cores for w in self.alive_workers)

    @property
    def cores_used(self) -> int:
        """Cores running executors now."""
        return sum(w.cores_used for w in self.alive_workers)

    @property
    def memory_mb(self) -> int:
        """Memory the alive workers offer to executors, MiB."""
        return sum(w.memory_mb for w in self.alive_workers)

    @property
    def memory_used_mb(self) -> int:
        """Memory held by executors now, MiB."""
        return sum(w.memory_used_mb for w in self.alive_workers)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MasterState:
        """Parse the master's ``/json/`` document."""

        def worker(w: dict[str, Any]) -> WorkerInfo:
            return WorkerInfo(
                id=str(w.get("id", "")),
                host=str(w.get("host", "")),
                port=int(w.get("port", 0)),
                state=str(w.get("state", "UNKNOWN")),
                cores=int(w.get("cores", 0)),
                cores_used=int(w.get("coresused", 0)),
                memory_mb=int(w.get("memory", 0)),
                memory_used_mb=int(w.get("memoryused", 0)),
                web_ui=str(w.get("webuiaddress", "")),
            )

        def app(a: dict[str, Any]) -> AppInfo:
            return AppInfo(
                id=str(a.get("id", "")),
                name=str(a.get("name", "")),
                cores=int(a.get("cores", 0)),
                memory_per_executor_mb=int(a.get("memoryperexecutor", a.get("memoryperslave", 0))),
                state=str(a.get("state", "")),
                duration_s=int(a.get("duration", 0)) / 1000,
            )

        return cls(
            url=str(data.get("url", "")),
            status=str(data.get("status", "UNKNOWN")),
            workers=tuple(worker(w) for w in data.get("workers", [])),
            active_apps=tuple(app(a) for a in data.get("activeapps", [])),
            completed_apps=tuple(app(a) for a in data.get("completedapps", [])),
        )


def fetch_master_state(ui_url: str, *, timeout: float = 5.0) -> MasterState:
    """Ask the master UI at ``ui_url`` for its state.

    Raises:
        ClusterError: nothing answers there, or the answer is not the master's JSON.
    """
    url = ui_url.rstrip("/") + "/json/"
    # The master is on this machine or the cluster's network: never go through a proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ClusterError(f"the Spark master UI at {url} does not answer: {e}") from e
    if not isinstance(data, dict) or "workers" not in data:
        raise ClusterError(f"{url} did not return a Spark master's state")
    return MasterState.from_json(data)
