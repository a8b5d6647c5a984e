"""Kafka ingest under faults, against a real broker: a broker restart, a 10 MB message.

The restart is of a broker of the test's own (127.0.0.1:19092, its folder
``.services/kafka-19092``), so the other Kafka tests, on the shared broker, run beside it.

SIGKILLs of the Kafka ingest while a producer sends are the chaos suite's (tests/chaos,
and ``python -m benchmarks.chaos`` for the long run).

The accounting after each: every message of the topic is in bronze or in
quarantine exactly once (by partition and offset), bronze holds each good
event once, and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from deltalake import DeltaTable

from benchmarks.chaos import kill_group
from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.ingest.kafka import run_kafka_ingest
from featurelake.ingest.kafka_producer import (
    KafkaProduceResult,
    encode,
    message_headers,
    produce_synthetic_to_kafka,
)
from featurelake.ingest.producers import event_records, events, parse_utc
from featurelake.services import start, stop
from featurelake.services.kafka import kafka_home

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")

OWN_PORT = 19092
"""The port of the broker the restart test starts, stops and starts again (controller: the next)."""


@pytest.fixture
def own_broker(settings: Settings, kafka: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """This test's lake on a broker of its own, with a fresh 4-partition topic ``faults``; the
    broker is stopped and its folder deleted afterwards. (``kafka``: the JARs are there.)"""
    from featurelake.ingest.topics import ensure_topics

    monkeypatch.setenv("FEATURELAKE_KAFKA_BOOTSTRAP", f"127.0.0.1:{OWN_PORT}")
    own = get_settings()
    assert own.lake == settings.lake
    shutil.rmtree(kafka_home(OWN_PORT), ignore_errors=True)
    try:
        (up,) = start(["kafka"], own)
        assert up.up, up
        assert ensure_topics(own, {"faults": 4}) == {"faults": "created"}
        yield own
    finally:
        stop(["kafka"], own)
        shutil.rmtree(kafka_home(OWN_PORT), ignore_errors=True)


def _rows(catalog: Catalog, name: str, columns: list[str]) -> list[dict[str, Any]]:
    if not catalog.exists(name):
        return []
    return DeltaTable(catalog.path(name)).to_pyarrow_table(columns=columns).to_pylist()


def _high_watermarks(settings: Settings, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "featurelake-test-hw"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        consumer.close()


def _assert_accounted(settings: Settings, catalog: Catalog, topic: str, sent: KafkaProduceResult) -> None:
    """Every message in bronze or quarantine exactly once; bronze = the good ones, each once."""
    bronze = _rows(catalog, "bronze.flights", ["event_id", "_kafka_partition", "_kafka_offset"])
    quarantined = _rows(catalog, "quarantine.records", ["kafka_partition", "kafka_offset", "reasons"])
    assert len(bronze) == sent.good, "bronze must hold every good message, once"
    assert len({r["event_id"] for r in bronze}) == sent.good, "a good event was written twice"
    assert len(quarantined) == sum(sent.bad.values())
    seen = [(r["_kafka_partition"], r["_kafka_offset"]) for r in bronze]
    seen += [(r["kafka_partition"], r["kafka_offset"]) for r in quarantined]
    assert len(set(seen)) == len(seen), "a message landed twice"
    everything = {(p, o) for p, high in _high_watermarks(settings, topic).items() for o in range(high)}
    assert set(seen) == everything, f"{len(everything - set(seen))} message(s) lost"


def _start_ingest(settings: Settings, topic: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FEATURELAKE_LAKE": str(settings.lake),
        "FEATURELAKE_SPARK_MASTER": "local[2]",
        "FEATURELAKE_SHUFFLE_PARTITIONS": "4",
        "FEATURELAKE_SPARK_DRIVER_MEMORY": "1g",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [FEATURELAKE, "ingest", "flights", "--source", "kafka", "--topic", topic, "--continuous"]
    cmd += ["--interval", "1", "--max-offsets-per-trigger", "2000", "--no-online-features"]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


class _Producing(threading.Thread):
    """Synthetic flights at a fixed rate, with bad messages, in the background."""

    def __init__(self, settings: Settings, topic: str, events: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.args = (settings, topic, events, rate)
        self.result: KafkaProduceResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        settings, topic, n, rate = self.args
        try:
            self.result = produce_synthetic_to_kafka(
                "flights", n, settings=settings, topic=topic, rate=rate, bad_rate=0.03, seed=11, timeout_s=30
            )
        except BaseException as e:  # reported by the test
            self.error = e


def _drain(spark, settings: Settings, topic: str) -> None:
    run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)


def test_broker_restart_during_ingest_loses_nothing(
    spark, own_broker: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    kafka, settings, topic = own_broker, own_broker, "faults"
    producing = _Producing(kafka, topic, events=6_000, rate=200)
    producing.start()
    log = tmp_path / "ingest.log"
    proc = _start_ingest(settings, topic, log)
    try:
        deadline = time.monotonic() + 180
        while "batch " not in log.read_text() and time.monotonic() < deadline:
            time.sleep(1)
        assert "batch " in log.read_text(), log.read_text()[-3000:]
        (down,) = stop(["kafka"], kafka)
        assert not down.up
        time.sleep(5)
        start(["kafka"], kafka)
        producing.join(timeout=300)
        assert producing.error is None, producing.error
        assert producing.result is not None
        time.sleep(5)
    finally:
        kill_group(proc)  # it may have stopped on its own when the broker went away: that is fine
    _drain(spark, settings, topic)
    _assert_accounted(kafka, catalog, topic, producing.result)


def test_a_ten_megabyte_message_is_quarantined_and_holds_nothing_up(
    spark, kafka: Settings, topic: str, settings: Settings, catalog: Catalog
) -> None:
    # The broker's default refuses values over 1 MiB at the producer ("Message size too
    # large"); this topic takes up to 16 MiB, so the message reaches the ingest.
    admin = AdminClient({"bootstrap.servers": kafka.kafka_bootstrap})
    entry = ConfigEntry(
        "max.message.bytes", str(16 * 1024 * 1024), incremental_operation=AlterConfigOpType.SET
    )
    allow = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([allow]).values():
        future.result(timeout=30)
    schema = load_schema("flights")
    parsed = fastavro.parse_schema(schema)
    good = event_records(events("flights", parse_utc("2013-01-01"), parse_utc("2013-01-02")))[:20]
    huge = encode(parsed, good[0]) + os.urandom(10 * 1024 * 1024)
    producer = Producer({"bootstrap.servers": kafka.kafka_bootstrap, "message.max.bytes": 16 * 1024 * 1024})
    headers = message_headers("flights", schema)
    for i, record in enumerate(good):
        producer.produce(
            topic, value=encode(parsed, record), key=record["event_id"], headers=headers, partition=0
        )
        if i == 5:
            producer.produce(topic, value=huge, key=b"huge", headers=headers, partition=0)
    assert producer.flush(60) == 0
    run = run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)
    assert run.totals["bronze_rows"] == len(good)
    (q,) = _rows(catalog, "quarantine.records", ["reasons", "payload", "kafka_offset"])
    assert q["reasons"] == "trailing_bytes"
    assert q["kafka_offset"] == 6
    assert len(q["payload"]) == len(huge)
