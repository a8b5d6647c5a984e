"""Avro contracts: schema loading, resolution by Avro's rules, and checking container files."""

from __future__ import annotations

import copy
import json
from typing import Any

import fastavro
import pytest

from featurelake.avro import AvroFileError, decoding_schema, inspect_container, load_schema, resolve
from featurelake.errors import SchemaError
from featurelake.ingest.landing import avro_bytes
from featurelake.ingest.synthetic import synthetic_records

FLIGHTS = load_schema("flights")


def _records(n: int = 20) -> list[dict[str, Any]]:
    import numpy as np

    return synthetic_records("flights", n, np.random.default_rng(7))


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_contracts_load_and_follow_the_issue() -> None:
    weather = load_schema("weather")
    assert FLIGHTS["namespace"] == weather["namespace"] == "featurelake.events"
    assert [f["name"] for f in FLIGHTS["fields"]][:2] == ["event_id", "sched_dep_ts"]
    assert _field(FLIGHTS, "sched_dep_ts")["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert _field(FLIGHTS, "dep_time")["type"] == ["null", "int"]
    assert _field(FLIGHTS, "tailnum")["type"] == ["null", "string"]
    assert _field(weather, "obs_ts")["type"]["logicalType"] == "timestamp-millis"


def test_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(SchemaError, match="flights"):
        load_schema("trains")


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_inspection_counts_the_records_without_decoding(codec: str) -> None:
    data = avro_bytes(FLIGHTS, _records(2_000), codec=codec)
    found = inspect_container(data, FLIGHTS)
    assert found.records == 2_000
    assert found.codec == codec
    assert found.blocks >= 1
    assert found.writer["name"].endswith("Flight")


def test_compatible_evolution_passes_inspection() -> None:
    writer = copy.deepcopy(FLIGHTS)
    writer["fields"].reverse()  # field order does not matter
    writer["fields"].append({"name": "delay_reason", "type": ["null", "string"], "default": None})
    _field(writer, "flight")["type"] = "int"
    reader = copy.deepcopy(FLIGHTS)
    _field(reader, "flight")["type"] = "long"  # int promotes to long
    reader["fields"].append({"name": "gate", "type": "string", "default": "unknown"})
    data = avro_bytes(writer, [{**r, "delay_reason": "weather"} for r in _records(5)])
    assert inspect_container(data, reader).records == 5


def test_decoding_schema_makes_every_field_nullable_and_keeps_defaults_valid() -> None:
    reader = copy.deepcopy(FLIGHTS)
    reader["fields"].append({"name": "gate", "type": "string", "default": "unknown"})
    out = decoding_schema(reader)
    assert _field(out, "carrier")["type"] == ["null", "string"]
    assert _field(out, "carrier")["default"] is None
    assert _field(out, "gate")["type"] == ["string", "null"]
    assert _field(out, "tailnum")["type"] == ["null", "string"]
    assert _field(out, "sched_dep_ts")["type"][1]["logicalType"] == "timestamp-millis"
    fastavro.parse_schema(json.loads(json.dumps(out)))  # a valid schema, defaults included
    assert _field(reader, "carrier")["type"] == "string"  # the reader itself is untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: _field(w, "distance").update(type="string"), "distance"),
        (lambda w: w["fields"].remove(_field(w, "carrier")), "carrier"),
        (lambda w: w.update(name="Train"), "Train"),
        (lambda w: _field(w, "sched_dep_ts").update(type="double"), "sched_dep_ts"),
    ],
)
def test_incompatible_writers_are_refused(change: Any, message: str) -> None:
    writer = copy.deepcopy(FLIGHTS)
    change(writer)
    with pytest.raises(SchemaError, match=message):
        resolve(writer, FLIGHTS)


def test_reader_alias_accepts_a_renamed_writer_record() -> None:
    writer = copy.deepcopy(FLIGHTS)
    writer["name"] = "FlightV0"
    with pytest.raises(SchemaError):
        resolve(writer, FLIGHTS)
    reader = {**copy.deepcopy(FLIGHTS), "aliases": ["featurelake.events.FlightV0"]}
    assert resolve(writer, reader).sources


def test_nullable_writer_for_a_required_field_is_accepted() -> None:
    writer = copy.deepcopy(FLIGHTS)
    _field(writer, "carrier")["type"] = ["null", "string"]
    records = _records(3)
    records[1]["carrier"] = None
    assert inspect_container(avro_bytes(writer, records), FLIGHTS).records == 3


def test_bad_files_get_their_reason() -> None:
    good = avro_bytes(FLIGHTS, _records(200), codec="deflate")
    plain = avro_bytes(FLIGHTS, _records(200), codec="null")
    incompatible = copy.deepcopy(FLIGHTS)
    _field(incompatible, "sched_dep_ts")["type"] = "string"
    cases = {
        b"": "empty_file",
        b"event_id,origin\nUA-1,EWR\n": "not_avro",
        good[:-10]: "truncated_file",
        good[: len(good) // 2]: "truncated_file",
        plain[: len(plain) // 2]: "truncated_file",
        good + b"junk": "truncated_file",
        avro_bytes(incompatible, [{**r, "sched_dep_ts": "x"} for r in _records(2)]): "incompatible_schema",
    }
    for data, reason in cases.items():
        with pytest.raises(AvroFileError) as info:
            inspect_container(data, FLIGHTS)
        assert info.value.reason == reason, (len(data), info.value)


def test_a_broken_block_header_is_corrupt() -> None:
    good = avro_bytes(FLIGHTS, _records(50), codec="null")
    header = len(good) - 16 - _block_bytes(good)
    broken = bytearray(good)
    broken[header] = 0x03  # block count -2: zig-zag of 3
    with pytest.raises(AvroFileError) as info:
        inspect_container(bytes(broken), FLIGHTS)
    assert info.value.reason == "corrupt_file"


def _block_bytes(data: bytes) -> int:
    """Bytes of the single block of a small null-codec file: count, size and records."""
    import io

    buf = io.BytesIO(data)
    fastavro.reader(buf)
    return len(data) - buf.tell() - 16


def test_empty_container_holds_no_records() -> None:
    assert inspect_container(avro_bytes(FLIGHTS, []), FLIGHTS).records == 0
