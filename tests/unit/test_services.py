"""The services' pure parts: the broker's configuration, its JAR set, probes of closed ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError
from featurelake.jars import KAFKA_LOCK_FILE, LOCK_FILE, classpath, jar_folder, kafka_classpath, pinned
from featurelake.services import status
from featurelake.services.kafka import broker_properties, local_listener


def _props(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_broker_is_one_kraft_node_that_creates_no_topic_on_use(tmp_path: Path) -> None:
    p = _props(broker_properties(19092, tmp_path / "data"))
    assert p["process.roles"] == "broker,controller"
    assert p["node.id"] == "1"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert p["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert p["controller.listener.names"] == "CONTROLLER"
    assert p["auto.create.topics.enable"] == "false"
    assert p["log.dirs"] == str(tmp_path / "data")
    assert p["offsets.topic.replication.factor"] == "1"


@pytest.mark.parametrize(
    ("bootstrap", "port"),
    [
        ("127.0.0.1:9092", 9092),
        ("localhost:19092", 19092),
        (" 127.0.0.1:9092 ", 9092),
        ("kafka.example.com:9092", None),
        ("127.0.0.1:9092,127.0.0.1:9094", None),
        ("127.0.0.1", None),
    ],
)
def test_featurelake_runs_the_broker_only_on_one_loopback_address(bootstrap: str, port: int | None) -> None:
    assert local_listener(bootstrap) == port


def test_kafka_bootstrap_setting() -> None:
    assert get_settings({}).kafka_bootstrap == "127.0.0.1:9092"
    env = {"FEATURELAKE_PROFILE": "prod", "FEATURELAKE_KAFKA_BOOTSTRAP": "k1:9092,k2:9092"}
    assert get_settings(env).kafka_bootstrap == "k1:9092,k2:9092"


def test_broker_jars_stay_off_sparks_classpath(tmp_path: Path) -> None:
    settings = Settings(jars=tmp_path)
    broker = {(a.group, a.artifact): a.version for a in pinned(KAFKA_LOCK_FILE)}
    assert broker[("org.apache.kafka", "kafka_2.13")] == "4.4.0"
    assert ("org.apache.logging.log4j", "log4j-slf4j-impl") in broker  # logs to a file
    assert jar_folder(settings, "kafka") == tmp_path / "kafka"
    assert all(p.parent == tmp_path for p in classpath(settings, check=False))
    assert len(classpath(settings, check=False)) == len(pinned(LOCK_FILE))
    with pytest.raises(ConfigError, match=r"Kafka broker JAR\(s\) missing .* run `make setup`"):
        kafka_classpath(settings)


def test_status_of_closed_ports_is_down() -> None:
    settings = Settings(
        redis_url="redis://127.0.0.1:1/0",
        postgres_dsn="postgresql://postgres@127.0.0.1:1/x",
        kafka_bootstrap="127.0.0.1:1",
    )
    states = status(None, settings)
    assert [(s.name, s.address, s.up) for s in states] == [
        ("redis", "127.0.0.1:1", False),
        ("postgres", "127.0.0.1:1", False),
        ("kafka", "127.0.0.1:1", False),
    ]
    with pytest.raises(ValueError, match="unknown service 'mysql'"):
        status(["mysql"], settings)
