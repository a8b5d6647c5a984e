"""What a local standalone cluster looks like: addresses, workers, cores, memory, run folder."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_UI_PORT", "ClusterSpec", "default_run_dir"]

DEFAULT_PORT = 7077
DEFAULT_UI_PORT = 8081
"""The master UI port: not Spark's 8080, which ``featurelake airflow`` serves the Airflow UI on."""

_MEMORY = re.compile(r"^[1-9][0-9]*[mMgG]$")


def default_run_dir() -> Path:
    """``<checkout>/.run/cluster``: logs, PIDs and work folders (``.run/`` is ignored by git)."""
    from featurelake.orchestration.environment import repo_root

    return repo_root() / ".run" / "cluster"


@dataclass(frozen=True)
class ClusterSpec:
    """A Spark standalone master and its workers on this machine.

    Every daemon binds ``host``; workers offer ``cores`` cores and ``memory`` each
    to executors (an executor takes ``spark.executor.memory``, 1g by default, so
    ``memory`` must be at least that).
    """

    workers: int = 2
    cores: int = 1
    memory: str = "2g"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ui_port: int = DEFAULT_UI_PORT
    run_dir: Path = field(default_factory=default_run_dir)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.cores < 1:
            raise ValueError(f"cores must be >= 1, got {self.cores}")
        if not _MEMORY.match(self.memory):
            raise ValueError(f"memory {self.memory!r} must look like 512m or 2g")
        for name in ("port", "ui_port"):
            value = getattr(self, name)
            if not 0 < value < 65536:
                raise ValueError(f"{name} must be a TCP port (1-65535), got {value}")
        if self.port == self.ui_port:
            raise ValueError(f"port and ui_port must differ, both are {self.port}")
        object.__setattr__(self, "run_dir", Path(self.run_dir).expanduser().absolute())

    @property
    def master_url(self) -> str:
        """What ``FEATURELAKE_SPARK_MASTER`` (or ``spark-submit --master``) takes."""
        return f"spark://{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        """The master's web UI; ``<ui_url>/json/`` is its state as JSON."""
        return f"http://{self.host}:{self.ui_port}"

    @property
    def log_dir(self) -> Path:
        """Daemon logs: ``master.log``, ``worker-<n>.log``."""
        return self.run_dir / "logs"

    def work_dir(self, worker: int) -> Path:
        """Worker ``worker``'s ``SPARK_WORKER_DIR``: one folder per application with executor logs."""
        return self.run_dir / "work" / f"worker-{worker}"

    def local_dir(self, worker: int) -> Path:
        """Worker ``worker``'s ``SPARK_LOCAL_DIRS``: shuffle and spill files of its executors."""
        return self.run_dir / "local" / f"worker-{worker}"

    def to_json(self) -> dict[str, Any]:
        """Plain values for the state file."""
        return {**asdict(self), "run_dir": str(self.run_dir)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterSpec:
        """The inverse of :meth:`to_json`."""
        return cls(**{**data, "run_dir": Path(data["run_dir"])})
