"""The services featurelake uses on this machine: Redis, PostgreSQL and the Kafka broker.

One implementation starts each. ``infra/services.sh`` installs Redis and
PostgreSQL from Debian's packages when missing and starts them; the Kafka
broker is started by :mod:`featurelake.services.kafka` from the JARs
``infra/kafka.lock`` pins. ``make test``, CI and ``make demo`` run the script,
which asks ``featurelake services start kafka`` for the broker;
``featurelake services start`` runs the script for Redis and PostgreSQL.

:func:`status` probes the addresses the settings name (``redis_url``,
``postgres_dsn``, ``kafka_bootstrap``), so it also tells whether the servers
of the ``prod`` profile answer. Runs on the driver machine only.
"""

from __future__ import annotations

import socket
import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from featurelake.config import PROJECT_ROOT, Settings, get_settings
from featurelake.errors import ServiceError
from featurelake.services.kafka import kafka_home, kafka_pid, local_listener, start_kafka, stop_kafka

__all__ = ["SCRIPT", "SERVICES", "Service", "ServiceState", "start", "status", "stop"]

Service = Literal["redis", "postgres", "kafka"]
SERVICES: tuple[Service, ...] = get_args(Service)
SCRIPT = PROJECT_ROOT / "infra" / "services.sh"
"""Installs, starts and stops Redis and PostgreSQL (and asks featurelake for Kafka)."""


@dataclass(frozen=True)
class ServiceState:
    """What :func:`status` found for one service."""

    name: Service
    address: str
    """``host:port`` probed (the bootstrap servers for Kafka)."""
    up: bool
    detail: str = ""
    """How it answered, or why not; for the local broker its PID, topics and data folder."""


def _names(names: Iterable[str] | None) -> list[Service]:
    chosen = list(SERVICES if names is None else names)
    unknown = [n for n in chosen if n not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r}; use one of: {', '.join(SERVICES)}")
    return [n for n in SERVICES if n in chosen]


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _ask(host: str, port: int, request: bytes) -> bytes:
    """Send ``request`` and return the first bytes of the reply (b"" when nothing listens)."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as s:
            s.sendall(request)
            return s.recv(16)
    except OSError:
        return b""


def _redis(settings: Settings) -> ServiceState:
    host, port = _host_port(settings.redis_url, 6379)
    reply = _ask(host, port, b"PING\r\n")
    # +PONG, or an error such as -NOAUTH: either way a Redis server answered.
    up = reply[:1] in (b"+", b"-")
    detail = reply.decode(errors="replace").strip() if up else "down"
    return ServiceState("redis", f"{host}:{port}", up, detail)


def _postgres(settings: Settings) -> ServiceState:
    host, port = _host_port(settings.postgres_dsn, 5432)
    # An SSLRequest: every PostgreSQL server answers it with one byte, S or N, before any login.
    reply = _ask(host, port, struct.pack("!ii", 8, 80877103))
    up = reply[:1] in (b"S", b"N")
    return ServiceState("postgres", f"{host}:{port}", up, "accepting connections" if up else "down")


def _kafka(settings: Settings) -> ServiceState:
    from featurelake.ingest.topics import check_broker

    port = local_listener(settings.kafka_bootstrap)
    pid = kafka_pid(port) if port is not None else None
    home = kafka_home(port) if port is not None else None
    where = f"pid {pid}, data {home}" if pid is not None else ""
    if port is not None and pid is None and not _connects(port):
        return ServiceState("kafka", settings.kafka_bootstrap, False, f"down (data {home})")
    try:
        meta = check_broker(settings, timeout_s=3.0)
    except ServiceError:
        return ServiceState("kafka", settings.kafka_bootstrap, False, where or "not answering")
    topics = " ".join(
        f"{name}[{len(t.partitions)}]" for name, t in sorted(meta.topics.items()) if not name.startswith("_")
    )
    owner = where or ("not started by featurelake" if port is not None else "external")
    return ServiceState("kafka", settings.kafka_bootstrap, True, f"topics {topics or '-'}; {owner}")


def _connects(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


_PROBES = {"redis": _redis, "postgres": _postgres, "kafka": _kafka}


def status(names: Iterable[str] | None = None, settings: Settings | None = None) -> list[ServiceState]:
    """Whether each service answers at the address the settings give it.

    Raises:
        ValueError: an unknown service name.
    """
    settings = settings or get_settings()
    return [_PROBES[n](settings) for n in _names(names)]


def _run_script(flags: Sequence[str], names: Sequence[str]) -> None:
    done = subprocess.run(["bash", str(SCRIPT), *flags, *names], check=False)
    if done.returncode != 0:
        command = " ".join(["infra/services.sh", *flags, *names])
        raise ServiceError(f"{command} failed (exit {done.returncode}): its output above says why")


def start(names: Iterable[str] | None = None, settings: Settings | None = None) -> list[ServiceState]:
    """Start each named service that is down (all three when None), and wait until it answers.

    Redis and PostgreSQL: ``infra/services.sh`` (installs them with apt-get as root when missing).
    Kafka: :func:`featurelake.services.kafka.start_kafka`, which also creates the topics.

    Raises:
        ServiceError: a service did not come up.
        ConfigError: the broker's JARs are missing (``make setup``).
    """
    settings = settings or get_settings()
    chosen = _names(names)
    system = [n for n in chosen if n != "kafka"]
    if system:
        _run_script([], system)
    if "kafka" in chosen:
        start_kafka(settings)
    return status(chosen, settings)


def stop(names: Iterable[str] | None = None, settings: Settings | None = None) -> list[ServiceState]:
    """Stop each named service (all three when None); a service already down is left as it is.

    Raises:
        ServiceError: a service did not stop.
    """
    settings = settings or get_settings()
    chosen = _names(names)
    if "kafka" in chosen:
        stop_kafka(settings)
    system = [n for n in chosen if n != "kafka"]
    if system:
        _run_script(["--stop"], system)
    return status(chosen, settings)
