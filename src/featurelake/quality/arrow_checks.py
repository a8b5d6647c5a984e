"""Evaluate a suite row by row on Arrow tables, with the same answers as the Spark expressions.

:mod:`featurelake.quality.checks` turns every expectation into a Spark
condition. The ingest fast path decodes, checks and writes bronze in the same
executor task, without sending the records through the JVM, so it needs the
same row split from an Arrow table: :func:`compile_suite` builds, per check, a
function that is true for exactly the rows the Spark condition flags (nulls
ignored by column expectations, NaN ordered as Spark orders it, timestamps read
in UTC). What cannot be matched exactly (regular expressions: Java's and RE2's
dialects differ; SQL outside :mod:`featurelake.quality._sql`'s subset; value
types Spark would coerce in ways Arrow does not) raises :class:`Unsupported`,
and the caller evaluates the suite with Spark instead. The suite stays the one
source of truth: ``tests/integration/test_quality_arrow.py`` checks both
evaluations agree, and ``test_quality_gx.py`` that Spark's agrees with GX.

Compiles on the driver (to decide) and on executors (to evaluate); pyarrow only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from featurelake.quality._sql import Unsupported, compare, compile_condition, parse_timestamp
from featurelake.quality.suites import Check, Suite

__all__ = ["ArrowSuite", "Unsupported", "compile_suite"]

if TYPE_CHECKING:
    from typing import TypeAlias

    Table: TypeAlias = pa.Table | pa.RecordBatch
Flag = Callable[[Any], pa.Array]


@dataclass(frozen=True)
class ArrowSuite:
    """A suite compiled against one Arrow schema."""

    suite: Suite
    schema: pa.Schema
    """The columns the checks were compiled against."""
    flags_fns: tuple[Flag, ...]
    counted: tuple[str | None, ...]
    """Per check: the column whose non-null values GX divides by for ``mostly``; None for every row."""

    def flags(self, table: Table) -> list[pa.Array]:
        """Per check, a boolean array without nulls: true where the row fails the check."""
        out = []
        for fn in self.flags_fns:
            arr = fn(table)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            out.append(pc.fill_null(arr, False) if arr.null_count else arr)
        return out

    def denominators(self, table: Table) -> list[int]:
        """Per check, the rows counted for ``mostly`` (non-null values of the column, or all rows)."""
        n = table.num_rows
        return [n if c is None else n - table.column(c).null_count for c in self.counted]


def _kind(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_timestamp(t) and t.tz in ("UTC", "+00:00"):
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    return str(t)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bound(value: Any, kind: str) -> pa.Scalar:
    """A between-bound as the scalar Spark compares the column with, or Unsupported."""
    import datetime as dt

    if kind in ("int", "float") and _number(value):
        return pa.scalar(value, pa.int64() if isinstance(value, int) else pa.float64())
    if kind == "timestamp" and isinstance(value, str):
        return pa.scalar(parse_timestamp(value), pa.timestamp("us", tz="UTC"))
    if kind == "date" and isinstance(value, str):
        try:
            return pa.scalar(dt.date.fromisoformat(value), pa.date32())
        except ValueError as e:
            raise Unsupported(f"{value!r} is not an ISO date") from e
    if kind == "string" and isinstance(value, str):
        return pa.scalar(value, pa.string())
    raise Unsupported(f"a {type(value).__name__} bound for a {kind} value")


def _outside(kw: dict[str, Any], kind: str) -> Callable[[Any], Any]:
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is None and hi is None:
        raise Unsupported("a between expectation needs min_value or max_value")
    floating = kind == "float"
    tests: list[tuple[str, pa.Scalar]] = []
    if lo is not None:
        tests.append(("<=" if kw.get("strict_min") else "<", _bound(lo, kind)))
    if hi is not None:
        tests.append((">=" if kw.get("strict_max") else ">", _bound(hi, kind)))
    if floating or any(pa.types.is_floating(s.type) for _, s in tests):
        floating = True

    def outside(value: Any) -> Any:
        out = None
        for op, bound in tests:
            hit = compare(op, value, bound, floating)
            out = hit if out is None else pc.or_kleene(out, hit)
        return out

    return outside


def _column(check: Check, schema: pa.Schema) -> str:
    name = check.column or ""
    if name in schema.names:
        return name
    matches = [n for n in schema.names if n.lower() == name.lower()]
    if len(matches) != 1:
        raise Unsupported(f"expectation {check.name}: no single column {name!r}")
    return matches[0]


def _in_set(values: list[Any], kind: str, name: str, negated: bool) -> Flag:
    if kind == "string" and all(isinstance(v, str) for v in values):
        value_set = pa.array(values, pa.string())
        as_type: pa.DataType | None = None
    elif kind in ("int", "float") and values and all(_number(v) for v in values):
        if kind == "int" and all(isinstance(v, int) for v in values):
            value_set, as_type = pa.array(values, pa.int64()), pa.int64()
        else:
            value_set = pa.array([float(v) + 0.0 for v in values], pa.float64())
            as_type = pa.float64()
    else:
        raise Unsupported(f"value set {values!r} for a {kind} column")

    def flag(t: Table) -> pa.Array:
        col = t.column(name)
        if as_type is not None and col.type != as_type:
            col = col.cast(as_type)
        found = pc.is_in(_positive_zero(col), value_set=value_set)
        return pc.and_(pc.is_valid(col), found if negated else pc.invert(found))

    return flag


def _positive_zero(values: Any) -> Any:
    """Floats with -0.0 made 0.0: Spark's IN finds -0.0 in (0), Arrow's hash lookup does not."""
    return pc.add(values, pa.scalar(0.0, values.type)) if pa.types.is_floating(values.type) else values


def _check(check: Check, schema: pa.Schema) -> tuple[Flag, str | None]:
    t, kw = check.type, check.kwargs
    if t == "unexpected_rows_expectation":
        compiled = compile_condition(check.condition, schema)
        return compiled.evaluate, None
    name = _column(check, schema)
    kind = _kind(schema.field(name).type)
    if t == "expect_column_values_to_not_be_null":
        return (lambda tb: pc.is_null(tb.column(name))), None
    if t == "expect_column_values_to_be_null":
        return (lambda tb: pc.is_valid(tb.column(name))), None
    if t in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        return _in_set(list(kw["value_set"]), kind, name, t.endswith("not_be_in_set")), name
    if t == "expect_column_values_to_be_between":
        if kind not in ("int", "float", "timestamp", "date", "string"):
            raise Unsupported(f"expectation {check.name}: between on a {kind} column")
        outside = _outside(kw, kind)
        return (lambda tb: outside(tb.column(name))), name
    if t == "expect_column_value_lengths_to_be_between":
        if kind not in ("string", "binary"):
            raise Unsupported(f"expectation {check.name}: lengths of a {kind} column")
        length = pc.utf8_length if kind == "string" else pc.binary_length
        outside = _outside(kw, "int")
        return (lambda tb: outside(length(tb.column(name)))), name
    raise Unsupported(f"expectation {check.name}: {t} is evaluated by Spark only")


def compile_suite(suite: Suite, schema: pa.Schema) -> ArrowSuite:
    """Compile every check of ``suite`` against the columns of ``schema``.

    Raises:
        Unsupported: a check cannot be evaluated on Arrow with Spark's exact semantics.
    """
    fns = []
    counted = []
    for check in suite.checks:
        try:
            fn, col = _check(check, schema)
        except Unsupported as e:
            raise Unsupported(f"expectation {check.name}: {e}") from e
        fns.append(fn)
        counted.append(col)
    return ArrowSuite(suite, schema, tuple(fns), tuple(counted))
