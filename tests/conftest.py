"""Shared fixtures: one SparkSession per test process, a fresh lake per test.

``make test`` runs the suite in two pytest-xdist workers. Each test file runs
whole on one worker, so a module's fixtures are built once; files that share a
service's state (the Kafka broker, which one test restarts; the PostgreSQL
database and Redis of the prod-profile tests) go to the same worker, so they
never run at the same time.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError

# The Spark JVMs of the commands the suite runs (they inherit the environment) compile with the
# JIT's quick tier only: they live seconds to minutes, and that takes about 45 % less CPU on a
# 2-core machine, where the suite is CPU-bound. The session's own JVM (the ``spark`` fixture) lives
# for the whole run and keeps the full JIT. Set the variable to "" to run the commands as users do.
# The quick tier alone shrinks the JIT's code cache to 48 MB (the client VM's), which a long backfill
# or a session a test builds from the environment fills: the JVM then spends a fifth of a core
# flushing and recompiling (seen as its "Sweeper thread"). The full JIT's 240 MB keeps that away.
# Both kinds run the throughput collector (-XX:+UseParallelGC) instead of G1: a 4-day backfill
# command took a median 110 CPU-s against 124 with G1, and a Spark SQL query 35 against 39 (four
# runs each). Spark's plans compiled without whole-stage code generation gained nothing.
SUITE_JAVA_OPTIONS = "-XX:+UseParallelGC"
os.environ.setdefault(
    "FEATURELAKE_SPARK_JAVA_OPTIONS",
    f"-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m {SUITE_JAVA_OPTIONS}",
)


# py4j logs "Closing down clientserver connection" at INFO from a finalizer when a worker exits,
# after pytest has closed the stream a handler some library attached during a test writes to:
# each worker ended `make test` with a "--- Logging error ---" traceback. py4j's INFO lines never
# tell a test anything.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """featurelake's SparkSession on local[2], built once per test run."""
    from featurelake.spark import get_spark, stop_spark

    settings = Settings(
        lake=tmp_path_factory.mktemp("spark-home"),
        spark_master="local[2]",
        shuffle_partitions=4,
        spark_java_options=SUITE_JAVA_OPTIONS,
    )
    session = get_spark("featurelake-tests", settings=settings)
    yield session
    stop_spark()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose lake and landing zone are inside this test's tmp_path (also exported)."""
    monkeypatch.setenv("FEATURELAKE_LAKE", str(tmp_path / "lake"))
    monkeypatch.delenv("FEATURELAKE_LANDING", raising=False)
    monkeypatch.delenv("FEATURELAKE_PROFILE", raising=False)
    return get_settings()


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    """The project's catalog over this test's lake."""
    return Catalog(settings=settings)


SHARED_STATE = {
    path: "prod-stores"
    for path in (
        # Redis database 12 or 13 and the Feast registry in PostgreSQL's featurelake_test, which
        # each flushes or tears down
        "tests/integration/test_serving.py",
        "tests/integration/test_features_skew_profiles.py",
        "tests/e2e/test_cluster.py",
    )
}
"""Test files that share a service's state, and the group that keeps them on one worker."""


LONGEST_FIRST = (
    "prod-stores",  # the cluster test: about 20 minutes on CI
    "tests/chaos/test_chaos.py",
    "tests/e2e/test_airflow.py",
    "tests/integration/test_readme.py",
    "tests/integration/test_backfill.py",
    "tests/e2e/test_backfill_year.py",
    "tests/integration/test_kafka_faults.py",
    "tests/integration/test_ingest_crash.py",
    "tests/integration/test_spark_sql.py",
    "tests/integration/test_delta_concurrency.py",
    "tests/integration/test_feast_cli.py",
)
"""Scopes that take minutes, longest first: handed out before the rest, so that no worker starts
one of them while the other has nothing left to do. (xdist's own order puts scopes with more
tests first, which left the three-test Airflow file and the cluster test for the end.)"""


def _scope(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return SHARED_STATE.get(path, path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest scopes first (``LONGEST_FIRST``); otherwise the collection's order."""
    rank = {scope: i for i, scope in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_scope(item.nodeid), len(rank)))


_SECONDS_PER_SCOPE: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each phase's time to its scope (on xdist's controller too, from every worker)."""
    scope = _scope(report.nodeid)
    _SECONDS_PER_SCOPE[scope] = _SECONDS_PER_SCOPE.get(scope, 0.0) + report.duration


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: pytest.Config) -> None:
    """The slowest scopes, to keep LONGEST_FIRST and the suite's budget honest."""
    if len(_SECONDS_PER_SCOPE) < 2:
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    total = sum(_SECONDS_PER_SCOPE.values())
    terminalreporter.write_sep("=", f"seconds per file or group, {total:,.0f} s in all")  # type: ignore[attr-defined]
    for scope, seconds in sorted(_SECONDS_PER_SCOPE.items(), key=lambda kv: -kv[1])[:15]:
        write(f"{seconds:8.0f} s  {scope}")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist: whole files per worker, files sharing a service's state on the same one,
    in the order of the collection (longest first, see ``LONGEST_FIRST``).

    (``--dist loadgroup`` cannot do this under pytest 9: it renames node ids, which pytest 9
    no longer lets a plugin do.)
    """
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class _Groups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return _Groups(config, log)


def service_available(host: str, port: int) -> bool:
    """Whether something listens on host:port."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def require_service(name: str, port: int) -> None:
    """Skip when a service is down on a developer machine; fail under CI, which must have it."""
    if service_available("127.0.0.1", port):
        return
    message = f"{name} is not listening on 127.0.0.1:{port} (run infra/services.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka() -> Settings:
    """The local broker, started when it is down (the JARs come from `make setup`)."""
    from featurelake.services import start

    settings = get_settings()
    try:
        start(["kafka"], settings)
    except ConfigError as e:  # the broker's JARs were never fetched
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    return settings


@pytest.fixture
def topic(kafka: Settings) -> Iterator[str]:
    """A fresh 4-partition topic, deleted after the test."""
    from confluent_kafka.admin import AdminClient

    from featurelake.ingest.topics import ensure_topics

    name = f"featurelake-test-{uuid.uuid4().hex[:8]}"
    assert ensure_topics(kafka, {name: 4}) == {name: "created"}
    yield name
    admin = AdminClient({"bootstrap.servers": kafka.kafka_bootstrap})
    for future in admin.delete_topics([name], operation_timeout=30).values():
        future.result(timeout=30)
