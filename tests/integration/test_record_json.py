"""``record_json`` writes the text Spark's ``to_json`` writes, value for value.

The direct ingest path writes quarantine's ``record_json`` from Arrow; the
Spark path with ``to_json``. Both must fill quarantine with the same text, so
random values of every type a record can hold (doubles of every magnitude,
the integer doubles Java 17 prints from their exact value, control characters,
non-ASCII text, timestamps and dates from year 1 to 9999, nulls) go through both writers.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
from typing import Any

import pyarrow as pa
import pytest

from featurelake.ingest.batch import JSON_TIMESTAMP_FORMAT
from featurelake.ingest.record_json import exact, java_double, record_json

pytestmark = pytest.mark.integration

_COLUMNS = ["s", "d", "i", "l", "ts", "b", "dt"]


def _double(rng: random.Random) -> float | None:
    k = rng.random()
    if k < 0.25:  # any bit pattern: subnormals, NaN, infinities, every exponent
        return float(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
    if k < 0.45:  # what delays and weather look like
        return round(rng.uniform(-3000, 3000), rng.randint(0, 4))
    if k < 0.6:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-12, 12)
    if k < 0.75:  # integers from 2**50 to 2**64: Java 17 prints those above 2**53 exactly
        return float(rng.choice([-1, 1]) * rng.randint(2**50, 2**64))
    if k < 0.85:  # around the plain/scientific boundaries 1e-3 and 1e7
        return rng.choice([1e-3, 1e7, 9999999.999999998, 0.0009999999999999998, 0.0, -0.0]) * rng.choice(
            [1, -1, 1.0000000000000002]
        )
    if k < 0.9:
        return None
    return float(rng.randint(-(10**9), 10**9)) / 10 ** rng.randint(0, 9)


_DAY_1 = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days
_DAY_9999 = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days


def _micros(rng: random.Random) -> int:
    """Epoch microseconds: mostly around 1970-2100, a fifth anywhere in years 1-9999."""
    if rng.random() < 0.2:
        return rng.randint(_DAY_1 * 86_400_000_000, (_DAY_9999 + 1) * 86_400_000_000 - 1)
    return rng.randint(-(2 * 10**15), 4 * 10**15)


def _table(n: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    alphabet = "".join(chr(i) for i in range(0x80)) + "éü中😀\u2028\u00a0"
    strings = [
        None if rng.random() < 0.05 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for _ in range(n)
    ]
    return pa.table(
        {
            "s": pa.array(strings, pa.string()),
            "d": pa.array([_double(rng) for _ in range(n)], pa.float64()),
            "i": pa.array([rng.randint(-(2**31), 2**31 - 1) for _ in range(n)], pa.int32()),
            "l": pa.array([rng.randint(-(2**63), 2**63 - 1) for _ in range(n)], pa.int64()),
            "ts": pa.array(
                [None if rng.random() < 0.05 else _micros(rng) for _ in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "b": pa.array([rng.random() < 0.5 for _ in range(n)], pa.bool_()),
            "dt": pa.array([rng.randint(_DAY_1, _DAY_9999) for _ in range(n)], pa.int32()).cast(pa.date32()),
            "k": pa.array(range(n), pa.int64()),
        }
    )


def test_record_json_is_spark_to_json(spark: Any) -> None:
    from pyspark.sql import functions as F

    table = _table(60_000, seed=3)
    ours = record_json(table, _COLUMNS)
    theirs = (
        spark.createDataFrame(table)
        .select("k", F.to_json(F.struct(*_COLUMNS), {"timestampFormat": JSON_TIMESTAMP_FORMAT}).alias("j"))
        .toArrow()
        .sort_by("k")["j"]
        .to_pylist()
    )
    differ = [
        (table["d"][i].as_py(), a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b
    ]
    assert differ == [], f"{len(differ)} rows differ, e.g. {differ[:3]}"


def test_java_double_examples() -> None:
    assert java_double(12.0) == "12.0"
    assert java_double(0.001) == "0.001"
    assert java_double(0.0001) == "1.0E-4"
    assert java_double(1e7) == "1.0E7"
    assert java_double(-0.0) == "-0.0"
    assert java_double(math.nan) == '"NaN"'
    assert java_double(-math.inf) == '"-Infinity"'
    # Java 17 prints integer doubles above 2**53 from their exact value, not the shortest digits.
    assert java_double(161304845894623136.0) == "1.61304845894623136E17"
    assert repr(161304845894623136.0) == "1.6130484589462314e+17"


def test_types_without_an_exact_writer_are_refused() -> None:
    assert exact(pa.float64())
    assert exact(pa.timestamp("us", tz="UTC"))
    assert not exact(pa.timestamp("us"))  # Spark would read it in the session's time zone
    assert not exact(pa.float32())
    assert not exact(pa.list_(pa.int32()))
    with pytest.raises(TypeError, match="'x' of type float"):
        record_json(pa.table({"x": pa.array([1.5], pa.float32())}), ["x"])
