"""Kafka -> bronze through Spark's Kafka source, against the real broker: decode, checks, exactly once.

Each test publishes to a topic of its own (the ``topic`` fixture) and ingests it into a fresh lake.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import Producer
from deltalake import DeltaTable

from featurelake.avro import load_schema, schema_fingerprint
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.ingest.kafka import kafka_checkpoint_dir, run_kafka_ingest
from featurelake.ingest.kafka_producer import encode, message_headers, produce_replay_to_kafka
from featurelake.ingest.producers import event_records, events, parse_utc
from featurelake.ingest.status import committed_offsets

pytestmark = pytest.mark.integration

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


def _table(catalog: Catalog, name: str) -> list[dict]:
    return DeltaTable(catalog.path(name)).to_pyarrow_table().to_pylist()


def _send(settings: Settings, topic: str, messages: list[tuple[bytes, list | None]]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for i, (value, headers) in enumerate(messages):
        producer.produce(topic, value=value, key=f"hand-{i}".encode(), headers=headers)
    assert producer.flush(30) == 0


def test_replayed_day_lands_exactly_once_with_bad_messages_quarantined(
    spark, kafka: Settings, topic: str, settings: Settings, catalog: Catalog
) -> None:
    sent = produce_replay_to_kafka(
        "flights", "2013-01-01", "2013-01-02", settings=kafka, topic=topic, bad_rate=0.05, seed=7
    )
    assert sent.good > 600
    assert sum(sent.bad.values()) > 20

    run = run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)
    assert run.totals["records_in"] == sent.messages
    assert run.totals["bronze_rows"] == sent.good

    bronze = _table(catalog, "bronze.flights")
    assert len(bronze) == sent.good
    # every row says where it came from, and no message was written twice
    where = {(r["_kafka_topic"], r["_kafka_partition"], r["_kafka_offset"]) for r in bronze}
    assert len(where) == len(bronze)
    assert all(t == topic for t, _, _ in where)
    assert {r["_source_file"] for r in bronze} <= {f"kafka://{topic}/{p}" for p in range(4)}
    # the records are the reference day's, field for field
    expected = {
        r["event_id"]: r
        for r in event_records(events("flights", parse_utc("2013-01-01"), parse_utc("2013-01-02")))
    }
    for row in bronze[:50]:
        want = expected[row["event_id"]]
        assert row["dep_delay"] == want["dep_delay"]
        assert int(row["sched_dep_ts"].timestamp() * 1000) == want["sched_dep_ts"]

    quarantined = _table(catalog, "quarantine.records")
    assert len(quarantined) == sum(sent.bad.values())
    reasons = {q["reasons"] for q in quarantined}
    assert reasons == {"undecodable", "wrong_schema"}  # junk and truncated do not decode
    wrong = [q for q in quarantined if q["reasons"] == "wrong_schema"]
    assert len(wrong) == sent.bad["wrong_schema"]
    assert all(
        q["payload"] and q["kafka_offset"] is not None and q["kafka_topic"] == topic for q in quarantined
    )
    assert "got 'weather'" in wrong[0]["detail"]

    # offsets per batch in ops.ingest_log: together they cover every message once
    log = _table(catalog, "ops.ingest_log")
    assert {r["source"] for r in log} == {"kafka"}
    covered = 0
    for r in log:
        for parts in json.loads(r["offsets"]).values():
            covered += sum(last - first + 1 for first, last in parts.values())
    assert covered == sent.messages

    # a second run finds nothing new; new messages are read from where the checkpoint stopped
    again = run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)
    assert again.totals["records_in"] == 0
    more = produce_replay_to_kafka("flights", "2013-01-02", "2013-01-03", settings=kafka, topic=topic)
    run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic, max_offsets_per_trigger=300)
    assert len(_table(catalog, "bronze.flights")) == sent.good + more.good
    resume = committed_offsets(kafka_checkpoint_dir("flights", settings))[topic]
    assert sum(resume.values()) == sent.messages + more.messages


def test_each_refusal_has_its_reason(
    spark, kafka: Settings, topic: str, settings: Settings, catalog: Catalog
) -> None:
    schema = load_schema("flights")
    parsed = fastavro.parse_schema(schema)
    good = event_records(events("flights", parse_utc("2013-01-01"), parse_utc("2013-01-02")))[:3]
    headers = message_headers("flights", schema)
    evolved = {
        **schema,
        "fields": [*schema["fields"], {"name": "gate", "type": ["null", "string"], "default": None}],
    }
    far = dict(good[2], origin="XXX")
    messages = [
        (encode(parsed, good[0]), headers),  # fine
        (encode(parsed, good[1]) + b"\x02\x00", headers),  # a record, then bytes that are not
        (encode(parsed, good[1]), None),  # no headers at all
        (
            encode(parsed, good[1]),
            [("schema", b"flights"), ("schema_version", schema_fingerprint(evolved).encode())],
        ),
        (encode(parsed, far), headers),  # decodes; fails the origin check
    ]
    _send(kafka, topic, messages)
    run = run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)
    assert run.totals == {
        "files": 0,
        "files_quarantined": 0,
        "duplicate_files": 0,
        "records_in": 5,
        "bronze_rows": 1,
        "quarantined_rows": 4,
    }
    by_reason = {q["reasons"]: q for q in _table(catalog, "quarantine.records")}
    assert set(by_reason) == {
        "trailing_bytes",
        "missing_schema_header",
        "unknown_schema_version",
        "origin_in_nyc",
    }
    assert by_reason["trailing_bytes"]["payload"] == messages[1][0]
    checked = by_reason["origin_in_nyc"]
    assert checked["event_id"] == far["event_id"]
    assert json.loads(checked["record_json"])["origin"] == "XXX"
    assert "origin_in_nyc" in json.loads(checked["failed_expectations"])
    assert by_reason["trailing_bytes"]["record_json"] is None
    # the suite counted the two messages that decoded, not the three refused ones (whose
    # fields, all null, would otherwise fail every not-null check)
    results = {r["expectation"]: r for r in _table(catalog, "ops.validation_results")}
    assert {r["element_count"] for r in results.values()} == {2}
    assert results["event_id_not_null"]["unexpected_count"] == 0
    assert results["origin_in_nyc"]["unexpected_count"] == 1


def test_evolved_writer_schema_flows(
    spark, kafka: Settings, topic: str, settings: Settings, catalog: Catalog, tmp_path: Path
) -> None:
    """A producer on an older schema version (kept in schemas/<dataset>/) is read through today's."""
    schemas = tmp_path / "schemas"
    (schemas / "flights").mkdir(parents=True)
    current = load_schema("flights")
    (schemas / "flights.avsc").write_text(json.dumps(current))
    (schemas / "weather.avsc").write_text(json.dumps(load_schema("weather")))
    older = {**current, "fields": [f for f in current["fields"] if f["name"] != "air_time"]}
    (schemas / "flights" / "v0.avsc").write_text(json.dumps(older))
    record = event_records(events("flights", parse_utc("2013-01-01"), parse_utc("2013-01-02")))[0]
    value = encode(fastavro.parse_schema(older), {k: v for k, v in record.items() if k != "air_time"})
    _send(kafka, topic, [(value, message_headers("flights", older))])
    run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic, schemas=schemas)
    (row,) = _table(catalog, "bronze.flights")
    assert row["event_id"] == record["event_id"]
    assert row["air_time"] is None
    assert row["dep_delay"] == record["dep_delay"]


def test_cli_ingest_from_kafka_and_status(kafka: Settings, settings: Settings) -> None:
    produce_replay_to_kafka("weather", "2013-01-01", "2013-01-02", settings=kafka, topic="weather")
    res = subprocess.run(
        [FEATURELAKE, "ingest", "weather", "--source", "kafka", "--once", "--no-data-docs"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "weather from kafka:" in res.stdout
    assert "offsets weather/" in res.stdout
    status = subprocess.run([FEATURELAKE, "ingest", "status"], capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr[-2000:]
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("weather") and " kafka " in ln)
    assert "lag 0 message(s)" in line
    assert "last batch 0" in line
