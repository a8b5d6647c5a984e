"""The column encoders produce exactly the bytes Feast's own serializers produce, row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.type_map import python_values_to_proto_values
from feast.utils import make_tzaware
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp

from featurelake.features import _encode

RNG = np.random.default_rng(7)


def feast_values(arr: pa.Array, value_type: ValueType) -> list[bytes]:
    """What Feast's materialization does: to_numpy, python_values_to_proto_values, serialize."""
    protos = python_values_to_proto_values(arr.to_numpy(zero_copy_only=False), value_type)
    return [p.SerializeToString() for p in protos]


CASES = [
    (pa.array([1.5, None, float("nan"), 0.0, -0.0, 1e300, -2.25]), ValueType.DOUBLE),
    (pa.array(RNG.normal(size=500)), ValueType.DOUBLE),
    (pa.array([0, 1, -1, 127, 128, 2**40, -(2**40), 2**62, None], pa.int64()), ValueType.INT64),
    (pa.array([0, 1, -1, 300, 2**31 - 1, -(2**31)], pa.int64()), ValueType.INT64),
    (pa.array([0, 5, -7, 2**31 - 1, -(2**31), None], pa.int32()), ValueType.INT32),
    (pa.array(RNG.integers(-(2**31), 2**31, size=500), pa.int32()), ValueType.INT32),
    (pa.array([1.0, None, 3.0], pa.float64()), ValueType.INT32),
    (pa.array([True, False, None]), ValueType.BOOL),
    (pa.array(["UA", "", None, "é" * 100, "x" * 200]), ValueType.STRING),
]


@pytest.mark.parametrize(("arr", "value_type"), CASES)
def test_value_protos_match_feast(arr: pa.Array, value_type: ValueType) -> None:
    assert _encode.value_protos(arr, value_type).to_pylist() == feast_values(arr, value_type)


@pytest.mark.parametrize(("arr", "value_type"), CASES)
def test_value_texts_match_feast_sqlite(arr: pa.Array, value_type: ValueType) -> None:
    from feast.infra.online_stores.helpers import extract_text_and_num

    protos = python_values_to_proto_values(arr.to_numpy(zero_copy_only=False), value_type)
    expected = [extract_text_and_num(p, False)[0] for p in protos]
    assert _encode.value_texts(arr, value_type) == expected


def test_entity_keys_match_feast_single_and_composite() -> None:
    origin = pa.array(["JFK", "LGA", "EWR", "JFK"])
    dest = pa.array(["LAX", "ORD", "SFO", "ATLANTA-LONG-NAME"])
    got = _encode.entity_keys([("origin", origin, ValueType.STRING), ("dest", dest, ValueType.STRING)])
    for i in range(len(origin)):
        key = EntityKey(
            join_keys=["origin", "dest"],
            entity_values=[Value(string_val=origin[i].as_py()), Value(string_val=dest[i].as_py())],
        )
        assert got[i].as_py() == serialize_entity_key(key, entity_key_serialization_version=3)
    ids = pa.array([1, -5, 2**40], pa.int64())
    got = _encode.entity_keys([("driver_id", ids, ValueType.INT64)])
    for i in range(3):
        key = EntityKey(join_keys=["driver_id"], entity_values=[Value(int64_val=ids[i].as_py())])
        assert got[i].as_py() == serialize_entity_key(key, entity_key_serialization_version=3)


def test_entity_keys_reject_nulls() -> None:
    with pytest.raises(ValueError, match="null"):
        _encode.entity_keys([("carrier", pa.array(["UA", None]), ValueType.STRING)])


def test_timestamps_match_feast_redis_and_sqlite() -> None:
    base = datetime(2013, 3, 1, tzinfo=UTC)
    stamps = [base, base + timedelta(microseconds=1), base + timedelta(hours=5, microseconds=999_999)]
    stamps += [datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)]
    arr = pa.array(stamps, pa.timestamp("us", tz="UTC"))
    protos = _encode.timestamp_protos(arr).to_pylist()
    for got, ts in zip(protos, stamps, strict=True):
        expected = Timestamp()
        expected.FromDatetime(make_tzaware(ts))
        assert got == expected.SerializeToString()
    naive = [s.astimezone(UTC).replace(tzinfo=None) for s in stamps]
    assert _encode.sqlite_epoch_seconds(arr) == [int(n.timestamp()) for n in naive]


def test_resp_bulk() -> None:
    assert _encode.resp_bulk(pa.array([b"ab", b""])).to_pylist() == [b"$2\r\nab\r\n", b"$0\r\n\r\n"]
