"""Kafka messages without a broker: encoding, headers, bad kinds, and failing fast when none answers."""

from __future__ import annotations

import copy
import io
import json
import time

import fastavro
import numpy as np
import pytest
from click.testing import CliRunner

from featurelake.avro import load_schema, schema_fingerprint
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.errors import ServiceError
from featurelake.ingest.kafka_producer import (
    BAD_MESSAGE_KINDS,
    bad_message,
    encode,
    message_headers,
    produce_replay_to_kafka,
    produce_synthetic_to_kafka,
)
from featurelake.ingest.synthetic import synthetic_records

NOBODY = "127.0.0.1:1"  # nothing listens on port 1


def _record(dataset: str) -> dict[str, object]:
    return synthetic_records(dataset, 1, np.random.default_rng(0))[0]


def test_fingerprint_is_the_canonical_form_crc64() -> None:
    flights, weather = load_schema("flights"), load_schema("weather")
    fp = schema_fingerprint(flights)
    assert len(fp) == 16
    assert int(fp, 16) >= 0
    assert fp != schema_fingerprint(weather)
    documented = copy.deepcopy(flights)
    documented["doc"] = "another description"
    assert schema_fingerprint(documented) == fp  # docs do not change the bytes
    evolved = copy.deepcopy(flights)
    evolved["fields"].append({"name": "gate", "type": ["null", "string"], "default": None})
    assert schema_fingerprint(evolved) != fp
    assert message_headers("flights", flights) == [("schema", b"flights"), ("schema_version", fp.encode())]


@pytest.mark.parametrize("dataset", ["flights", "weather"])
def test_value_is_the_record_alone_in_avro_binary(dataset: str) -> None:
    parsed = fastavro.parse_schema(load_schema(dataset))
    record = _record(dataset)
    value = encode(parsed, record)
    assert not value.startswith(b"Obj\x01")  # no container header
    decoded = fastavro.schemaless_reader(io.BytesIO(value), parsed)
    assert decoded is not None
    ms = {k: int(v.timestamp() * 1000) if hasattr(v, "timestamp") else v for k, v in decoded.items()}
    assert ms == record


@pytest.mark.parametrize("dataset", ["flights", "weather"])
def test_bad_kinds_cannot_pass_for_good_messages(dataset: str) -> None:
    schema = load_schema(dataset)
    parsed = fastavro.parse_schema(schema)
    record = _record(dataset)
    rng = np.random.default_rng(1)
    for kind in BAD_MESSAGE_KINDS:
        value, headers = bad_message(kind, dataset, record, rng=rng)
        if kind == "wrong_schema":
            other = "weather" if dataset == "flights" else "flights"
            assert headers == message_headers(other, load_schema(other))
            fastavro.schemaless_reader(io.BytesIO(value), fastavro.parse_schema(load_schema(other)))
            continue
        assert headers == message_headers(dataset, schema)
        with pytest.raises(Exception):  # noqa: B017, PT011 - fastavro raises EOFError, IndexError, ...
            fastavro.schemaless_reader(io.BytesIO(value), parsed)
        if kind == "junk_bytes":
            assert json.loads(value) == record
        else:
            assert encode(parsed, record).startswith(value)
    with pytest.raises(ValueError, match="unknown bad message kind 'gibberish'"):
        bad_message("gibberish", dataset, record, rng=rng)


def test_arguments_are_checked_before_the_broker_is_asked() -> None:
    s = Settings(kafka_bootstrap=NOBODY)
    with pytest.raises(ValueError, match="rate must be > 0"):
        produce_synthetic_to_kafka("flights", 1, settings=s, rate=0)
    with pytest.raises(ValueError, match=r"bad rate must be within \[0, 1\]"):
        produce_synthetic_to_kafka("flights", 1, settings=s, bad_rate=1.5)
    with pytest.raises(ValueError, match="unknown bad message kinds"):
        produce_synthetic_to_kafka("flights", 1, settings=s, kinds=["nope"])
    with pytest.raises(ValueError, match="unknown dataset"):
        produce_synthetic_to_kafka("planes", 1, settings=s)
    with pytest.raises(ValueError, match="must be after"):
        produce_replay_to_kafka("flights", "2013-02-01", "2013-01-01", settings=s)


def test_no_broker_is_one_clear_error_within_the_timeout() -> None:
    began = time.monotonic()
    with pytest.raises(ServiceError, match=f"no Kafka broker answered at {NOBODY} within 1 s"):
        produce_synthetic_to_kafka("flights", 10, settings=Settings(kafka_bootstrap=NOBODY), timeout_s=1)
    assert time.monotonic() - began < 5


def test_cli_produce_to_kafka_without_a_broker_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURELAKE_KAFKA_BOOTSTRAP", NOBODY)
    r = CliRunner().invoke(main, ["produce", "weather", "--sink", "kafka", "--to", "2013-01-02"])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: no Kafka broker answered at {NOBODY} within 5 s")
    assert r.output.count("\n") == 1


def test_cli_produce_flags_that_need_kafka_say_so() -> None:
    r = CliRunner().invoke(main, ["produce", "flights", "--sink", "kafka", "--sink", "nowhere"])
    assert r.exit_code == 2
    assert "'nowhere' is not one of 'landing', 'kafka'" in r.output
    r = CliRunner().invoke(
        main, ["produce", "flights", "--from", "2013-01-01", "--to", "2013-01-02", "--bad-rate", "0.1"]
    )
    assert r.exit_code == 2
    assert "--bad-rate needs --sink kafka" in r.output
    r = CliRunner().invoke(
        main, ["produce", "synthetic", "--dataset", "flights", "--events", "5", "--rate", "9"]
    )
    assert r.exit_code == 2
    assert "--rate needs --sink kafka" in r.output
