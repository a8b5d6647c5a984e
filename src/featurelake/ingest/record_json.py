"""Spark's ``to_json`` text of a record, written from Arrow without a Spark job.

Quarantine keeps each bad record as JSON (``record_json``): the Spark path
writes it with ``to_json(struct(...), {"timestampFormat": JSON_TIMESTAMP_FORMAT})``
under a UTC session. The direct path has the records as Arrow on the driver
and writes the same text here, so both paths fill quarantine with identical
rows, and replay (``from_json``) reads either back the same way.

Spark's JSON generator (Jackson) writes, and so does :func:`record_json`:

- fields in the struct's order, no spaces, null fields left out;
- strings with ``"`` and ``\\`` escaped, ``\\b \\t \\n \\f \\r`` short, the other
  control characters as ``\\u00XX`` with upper-case hex, everything else as is;
- integers as digits; booleans ``true``/``false``;
- doubles as Java 17's ``Double.toString`` (:mod:`featurelake.ingest.java_double`):
  plain between 10^-3 and 10^7, ``1.0E7``-style scientific notation outside,
  NaN and infinities quoted;
- timestamps as ``yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX`` in UTC (``Z``); dates ``yyyy-MM-dd``.

:func:`exact` tells whether a column type is one this module writes exactly as
Spark does; the caller falls back to Spark's own ``to_json`` otherwise.
``tests/integration/test_record_json.py`` compares the two writers over
random values of every type.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from featurelake.ingest.java_double import java_double_string

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["exact", "java_double", "json_string", "record_json"]

_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_EPOCH = dt.datetime(1970, 1, 1)


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return _SHORT.get(c) or f"\\u{ord(c):04X}"


def json_string(s: str) -> str:
    """A JSON string literal as Jackson writes it."""
    return '"' + _ESCAPE.sub(_escape, s) + '"'


def java_double(x: float) -> str:
    """A double as Jackson writes it: Java 17's ``Double.toString``, NaN and infinities quoted."""
    text = java_double_string(x)
    return f'"{text}"' if text[-1] in "Ny" else text


def _timestamp(micros: int) -> str:
    t = _EPOCH + dt.timedelta(microseconds=micros)  # strftime's %Y would not pad years below 1000
    return (
        f'"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}'
        f'.{t.microsecond:06d}Z"'
    )


def _date(days: int) -> str:
    return f'"{(dt.date(1970, 1, 1) + dt.timedelta(days=days)).isoformat()}"'


def _writer(t: pa.DataType) -> Callable[[Any], str] | None:
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return json_string
    if pa.types.is_boolean(t):
        return lambda v: "true" if v else "false"
    if pa.types.is_integer(t):
        return str
    if pa.types.is_float64(t):
        return java_double
    if pa.types.is_timestamp(t) and t.tz is not None and t.tz.upper() in ("UTC", "+00:00"):
        return _timestamp
    if pa.types.is_date32(t):
        return _date
    return None


def exact(t: pa.DataType) -> bool:
    """Whether :func:`record_json` writes values of Arrow type ``t`` exactly as Spark's ``to_json``."""
    return _writer(t) is not None


def _raw(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """Python values ready for the writers: timestamps as epoch microseconds, dates as epoch days."""
    import pyarrow as pa

    t = column.type
    if pa.types.is_timestamp(t):
        return column.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64()).to_pylist()
    if pa.types.is_date32(t):
        return column.cast(pa.int32()).to_pylist()
    return column.to_pylist()


def record_json(table: pa.Table | pa.RecordBatch, columns: Sequence[str]) -> list[str]:
    """Per row of ``table``, ``to_json(struct(columns))`` as Spark writes it.

    Raises:
        TypeError: a column's type is not one :func:`exact` accepts.
    """
    names: list[str] = []
    writers: list[Callable[[Any], str]] = []
    values: list[list[Any]] = []
    for name in columns:
        column = table.column(name)
        w = _writer(column.type)
        if w is None:
            raise TypeError(f"column {name!r} of type {column.type} has no Spark-exact JSON writer")
        names.append(json_string(name) + ":")
        writers.append(w)
        values.append(_raw(column))
    out = []
    for row in zip(*values, strict=True):
        parts = [k + w(v) for k, w, v in zip(names, writers, row, strict=True) if v is not None]
        out.append("{" + ",".join(parts) + "}")
    return out
