"""The local Kafka broker and the Kafka producers, against the real broker (no mocks).

Each test that publishes makes a topic of its own and deletes it afterwards, so the project's
``flights`` and ``weather`` topics keep only what a person published.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
import uuid
from collections import Counter
from typing import Any

import fastavro
import pytest
from click.testing import CliRunner
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from featurelake.avro import load_schema, schema_fingerprint
from featurelake.cli import main
from featurelake.config import PROJECT_ROOT, Settings
from featurelake.errors import ServiceError
from featurelake.ingest.kafka_producer import (
    encode,
    produce_replay_to_kafka,
    produce_synthetic_to_kafka,
)
from featurelake.ingest.producers import event_records, events, parse_utc
from featurelake.ingest.topics import TOPICS, check_broker, ensure_topics
from featurelake.services import status

pytestmark = pytest.mark.integration


def _consume_all(settings: Settings, topic: str, expected: int, timeout_s: float = 60.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"featurelake-test-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
        }
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                out.append(msg)
        # Nothing beyond: the topic holds exactly what was counted.
        ends = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
        assert ends == len(out)
        return out
    finally:
        consumer.close()


def test_services_start_the_broker_and_it_answers(kafka: Settings) -> None:
    (state,) = status(["kafka"], kafka)
    assert state.up, state
    assert state.address == kafka.kafka_bootstrap
    assert check_broker(kafka, timeout_s=5).brokers
    cli = CliRunner().invoke(main, ["services", "status", "kafka"])
    assert cli.exit_code == 0, cli.output
    assert cli.output.startswith(f"kafka     up    {kafka.kafka_bootstrap}")
    # infra/services.sh (make test, CI) finds it up and leaves it be.
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "infra" / "services.sh"), "--check", "kafka"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_topics_have_their_partitions_and_none_is_created_on_use(kafka: Settings) -> None:
    assert set(ensure_topics(kafka).values()) <= {"exists", "created"}
    meta = check_broker(kafka)
    for name, partitions in TOPICS.items():
        assert len(meta.topics[name].partitions) == partitions
    if (state := status(["kafka"], kafka)[0]).detail.endswith("not started by featurelake"):
        pytest.skip(f"the broker at {kafka.kafka_bootstrap} is not featurelake's: {state.detail}")
    admin = AdminClient({"bootstrap.servers": kafka.kafka_bootstrap})
    broker_id = str(next(iter(meta.brokers)))
    resource = ConfigResource(ResourceType.BROKER, broker_id)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["auto.create.topics.enable"].value == "false"
    with pytest.raises(ServiceError, match="does not exist"):
        produce_synthetic_to_kafka("flights", 1, settings=kafka, topic=f"nope-{uuid.uuid4().hex[:6]}")


def _ms(value: Any) -> Any:
    return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else value


def test_good_and_bad_messages_land_exactly_with_keys_and_headers(kafka: Settings, topic: str) -> None:
    lo, hi = parse_utc("2013-01-01"), parse_utc("2013-01-04")
    expected = {r["event_id"]: r for r in event_records(events("weather", lo, hi))}
    r = produce_replay_to_kafka("weather", lo, hi, settings=kafka, topic=topic, bad_rate=0.3, seed=3)
    bad = sum(r.bad.values())
    assert r.messages == len(expected) == r.good + bad
    assert r.good > 0
    assert set(r.bad) == {"junk_bytes", "truncated_avro", "wrong_schema"}

    messages = _consume_all(kafka, topic, r.messages)
    assert len(messages) == r.messages
    keys = [m.key().decode() for m in messages]
    assert sorted(keys) == sorted(expected)  # one message per event, keyed by event_id
    assert len({m.partition() for m in messages}) > 1

    weather = load_schema("weather")
    parsed = fastavro.parse_schema(weather)
    ours = [("schema", b"weather"), ("schema_version", schema_fingerprint(weather).encode())]
    theirs = [("schema", b"flights"), ("schema_version", schema_fingerprint(load_schema("flights")).encode())]
    seen: Counter[str] = Counter()
    for m in messages:
        record = expected[m.key().decode()]
        value = m.value()
        if m.headers() == theirs:
            fastavro.schemaless_reader(io.BytesIO(value), fastavro.parse_schema(load_schema("flights")))
            seen["wrong_schema"] += 1
            continue
        assert m.headers() == ours
        try:
            decoded = fastavro.schemaless_reader(io.BytesIO(value), parsed)
        except Exception:  # a bad message: say which
            full = encode(parsed, record)
            if value[:1] == b"{":
                assert json.loads(value) == record
                seen["junk_bytes"] += 1
            else:
                assert full.startswith(value)
                assert len(value) < len(full)
                seen["truncated_avro"] += 1
            continue
        assert {k: _ms(v) for k, v in decoded.items()} == record  # type: ignore[union-attr]
        seen["good"] += 1
    assert seen == Counter({"good": r.good, **r.bad})


def test_synthetic_events_at_a_fixed_rate(kafka: Settings, topic: str) -> None:
    r = produce_synthetic_to_kafka("flights", 300, settings=kafka, topic=topic, rate=600)
    assert (r.good, r.messages) == (300, 300)
    assert r.duration_s >= 0.45
    assert len(_consume_all(kafka, topic, 300)) == 300
