"""``featurelake serve`` in its own process, for tests, benchmarks and the chaos harness.

:func:`started_server` hands out a bearer token for the lake (the server refuses requests
without one), starts the server on a free port with the given environment, waits for
``/health`` and stops the server on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from featurelake.config import get_settings

__all__ = ["ServerProcess", "free_port", "serve_command", "server_token", "started_server", "wait_healthy"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, *more: str) -> list[str]:
    """The command line of ``featurelake serve`` on ``port`` with this interpreter."""
    cli = "from featurelake.cli import run; run()"
    return [sys.executable, "-c", cli, "serve", "--port", str(port), *more]


def server_token(env: Mapping[str, str], role: str = "engineer") -> str:
    """A new bearer token of ``role`` for the lake ``env`` names."""
    from featurelake.governance.tokens import create_token

    name = f"{role}-{os.getpid()}-{time.monotonic_ns()}"
    return create_token(role, name, get_settings({**os.environ, **env}))


@dataclass
class ServerProcess:
    """A running server: where it listens and the token to send."""

    port: int
    proc: subprocess.Popen[bytes]
    token: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        """The ``authorization`` header of every request but ``/health`` (none without a token)."""
        return {"authorization": f"Bearer {self.token}"} if self.token else {}


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, *, timeout: float = 180) -> None:
    """Wait until ``GET /health`` answers 200.

    Raises:
        RuntimeError: the process ended or did not answer in ``timeout`` s (with its log's end).
    """
    deadline = time.monotonic() + timeout  # the JVM-heavy suite can leave the machine slow
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"featurelake serve did not answer on port {port}:\n{log.read_text()[-3000:]}")


@contextmanager
def started_server(
    env: Mapping[str, str],
    log: Path,
    *,
    role: str = "engineer",
    args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[ServerProcess]:
    """Serve the lake ``env`` names (on top of this environment) until the block ends.

    Args:
        env: ``FEATURELAKE_*`` settings of the server.
        log: the server's standard error.
        role: the role of the token made for the caller.
        args: more ``featurelake serve`` options (``--workers 2``).
        port: where to listen; a free port when omitted.
    """
    token = server_token(env, role)
    port = port or free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(serve_command(port, *args), env={**os.environ, **env}, stderr=out)
    try:
        wait_healthy(port, proc, log)
        yield ServerProcess(port, proc, token)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
