"""Avro contracts: schema loading, resolution by Avro's rules, and decoding files into Arrow."""

from __future__ import annotations

import copy
import datetime as dt
import io
from typing import Any

import fastavro
import pyarrow as pa
import pytest

from featurelake.avro import AvroFileError, arrow_schema, decode_file, load_schema, resolve
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
    schema = arrow_schema(FLIGHTS)
    assert schema.field("sched_dep_ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("dep_delay").type == pa.float64()


def test_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(SchemaError, match="flights"):
        load_schema("trains")


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_decode_matches_fastavro(codec: str) -> None:
    records = _records()
    table = decode_file(avro_bytes(FLIGHTS, records, codec=codec), FLIGHTS)
    expected = list(fastavro.reader(io.BytesIO(avro_bytes(FLIGHTS, records, codec=codec))))
    assert table.num_rows == len(records)
    got = table.to_pylist()
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
    first = got[0]["sched_dep_ts"]
    assert first.tzinfo is not None
    assert first.utcoffset() == dt.timedelta(0)


def test_compatible_evolution_reads_like_fastavro_resolution() -> None:
    writer = copy.deepcopy(FLIGHTS)
    writer["fields"].reverse()  # field order does not matter
    writer["fields"].append({"name": "delay_reason", "type": ["null", "string"], "default": None})
    _field(writer, "flight")["type"] = "int"
    reader = copy.deepcopy(FLIGHTS)
    _field(reader, "flight")["type"] = "long"  # int promotes to long
    reader["fields"].append({"name": "gate", "type": "string", "default": "unknown"})
    records = [{**r, "delay_reason": "weather"} for r in _records(5)]
    data = avro_bytes(writer, records)
    table = decode_file(data, reader)
    theirs = list(fastavro.reader(io.BytesIO(data), reader_schema=fastavro.parse_schema(reader)))
    assert table.to_pylist() == theirs
    assert table.schema.field("flight").type == pa.int64()
    assert set(table["gate"].to_pylist()) == {"unknown"}
    assert "delay_reason" not in table.column_names


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


def test_nullable_writer_for_a_required_field_keeps_the_nulls_for_the_checks() -> None:
    writer = copy.deepcopy(FLIGHTS)
    _field(writer, "carrier")["type"] = ["null", "string"]
    records = _records(3)
    records[1]["carrier"] = None
    table = decode_file(avro_bytes(writer, records), FLIGHTS)
    assert table["carrier"].to_pylist()[1] is None
    assert table["carrier"].null_count == 1


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
            decode_file(data, FLIGHTS)
        assert info.value.reason == reason, (len(data), info.value)


def test_empty_container_decodes_to_no_rows() -> None:
    assert decode_file(avro_bytes(FLIGHTS, []), FLIGHTS).num_rows == 0
