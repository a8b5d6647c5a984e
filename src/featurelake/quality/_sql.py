"""A small subset of Spark SQL boolean conditions, compiled to Arrow compute functions.

``unexpected_rows_expectation`` carries its rule as SQL (``(dep_delay IS NULL) <>
(dep_time IS NULL)``). Spark evaluates that text itself on the general path; the
executor-side fast path needs the same answer from an Arrow table, with Spark's
semantics: three-valued logic, NaN equal to itself and greater than any other
number, timestamps in the session time zone (UTC: the caller checks), strings
compared byte by byte. Only what can be matched exactly is accepted: column
references, literals, comparisons, ``IS [NOT] NULL``, ``[NOT] IN``, ``[NOT]
BETWEEN``, ``AND``/``OR``/``NOT`` and the functions ``date_trunc``, ``isnull``,
``isnotnull``, ``coalesce``. Anything else raises :class:`Unsupported`, and the
caller evaluates the suite with Spark instead. No arithmetic: Spark's ANSI
overflow errors have no Arrow counterpart.

Compiles on the driver (to decide) and on executors (to evaluate); plain functions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Compiled", "Unsupported", "compare", "compile_condition", "parse_timestamp"]


class Unsupported(Exception):
    """The condition uses SQL outside the subset that evaluates identically on Arrow."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)(?![A-Za-z_])"
    r"|'(?P<str>[^'\\]*)'(?!\s*')"
    r"|`(?P<qid>[^`]+)`"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=>|<>|!=|<=|>=|==|=|<|>|\(|\)|,))"
)
_KEYWORDS = {"and", "or", "not", "is", "null", "in", "between", "true", "false"}
# Spark's date_trunc units -> Arrow floor_temporal units (calendar units whose floor is unambiguous).
_TRUNC = {
    "year": "year",
    "yyyy": "year",
    "yy": "year",
    "month": "month",
    "mon": "month",
    "mm": "month",
    "day": "day",
    "dd": "day",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
}

Node = tuple[Any, ...]
Value = Any  # a pyarrow Array or Scalar


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "id" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> bool:
        t = self.peek()
        if t is not None and t[0] == kind and (value is None or t[1] == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> str:
        t = self.peek()
        if t is None or t[0] != kind or (value is not None and t[1] != value):
            raise Unsupported(f"expected {value or kind}, got {t}")
        self.i += 1
        return t[1]

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.take("kw", "or"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.take("kw", "and"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.take("kw", "not"):
            return ("not", self.not_())
        return self.predicate()

    def predicate(self) -> Node:
        # Spark's grammar: a value expression (comparisons, left-associative), then at most one
        # predicate (IS [NOT] NULL, [NOT] IN, [NOT] BETWEEN).
        node = self.value()
        t = self.peek()
        if t == ("kw", "is"):
            self.i += 1
            negated = self.take("kw", "not")
            self.expect("kw", "null")
            return ("isnull", node, negated)
        negated = t == ("kw", "not") and self.peek(1) in (("kw", "in"), ("kw", "between"))
        if negated:
            self.i += 1
        if self.take("kw", "in"):
            self.expect("op", "(")
            items = [self.value()]
            while self.take("op", ","):
                items.append(self.value())
            self.expect("op", ")")
            return ("in", node, items, negated)
        if self.take("kw", "between"):
            lo = self.value()
            self.expect("kw", "and")
            return ("between", node, lo, self.value(), negated)
        return node

    def value(self) -> Node:
        node = self.primary()
        while True:
            t = self.peek()
            if t is None or t[0] != "op" or t[1] not in ("=", "==", "<>", "!=", "<", "<=", ">", ">="):
                return node
            self.i += 1
            node = ("cmp", {"==": "=", "!=": "<>"}.get(t[1], t[1]), node, self.primary())

    def primary(self) -> Node:
        t = self.peek()
        if t is None:
            raise Unsupported("the condition ends early")
        kind, value = t
        self.i += 1
        if kind == "op" and value == "(":
            node = self.or_()
            self.expect("op", ")")
            return node
        if kind == "num":
            if re.fullmatch(r"\d+", value):
                n = int(value)
                if n >= 2**63:
                    raise Unsupported(f"integer literal {value} is a decimal in Spark")
                return ("lit", n, "int")
            if "e" in value.lower():
                return ("lit", float(value), "float")
            # Spark reads 1.5 as a DECIMAL; compared with numbers it widens to double like Arrow does.
            return ("lit", float(value), "float")
        if kind == "str":
            return ("lit", value, "string")
        if kind == "kw" and value in ("true", "false"):
            return ("lit", value == "true", "bool")
        if kind == "kw" and value == "null":
            return ("lit", None, "null")
        if kind in ("id", "qid"):
            if kind == "id" and self.take("op", "("):
                args = []
                if not self.take("op", ")"):
                    args.append(self.or_())
                    while self.take("op", ","):
                        args.append(self.or_())
                    self.expect("op", ")")
                return ("func", value.lower(), args)
            return ("col", value)
        raise Unsupported(f"unexpected {value!r}")


@dataclass(frozen=True)
class Compiled:
    """A condition compiled against one Arrow schema: ``evaluate(table)`` gives a boolean per row."""

    text: str
    fn: Callable[[pa.Table | pa.RecordBatch], Value]

    def evaluate(self, table: pa.Table | pa.RecordBatch) -> pa.Array:
        """True where the condition holds; null where SQL says unknown."""
        out = self.fn(table)
        if isinstance(out, pa.Scalar):
            return pa.array([out.as_py()] * table.num_rows, pa.bool_())
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_timestamp(t) and t.tz in ("UTC", "+00:00"):
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    raise Unsupported(f"columns of type {t} are not supported")


_TS = pa.timestamp("us", tz="UTC")


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO timestamp string as Spark reads it in a UTC session (naive means UTC)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise Unsupported(f"{text!r} is not an ISO timestamp") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # the session time zone is UTC
    return value


def _coerce(a: tuple[str, Any], b: tuple[str, Any]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """Bring two compiled operands to comparable kinds as Spark's type coercion would, or refuse."""
    ka, kb = a[0], b[0]
    if ka == kb or {ka, kb} == {"int", "float"}:
        return a, b
    if "null" in (ka, kb):
        return a, b
    for x, y, swap in ((a, b, False), (b, a, True)):
        if x[0] in ("timestamp", "date") and y[0] == "string" and isinstance(y[1], _Literal):
            text = str(y[1].value.as_py())
            if x[0] == "timestamp":
                lit: tuple[str, Any] = ("timestamp", _Literal(pa.scalar(parse_timestamp(text), _TS)))
            else:
                try:
                    lit = ("date", _Literal(pa.scalar(dt.date.fromisoformat(text), pa.date32())))
                except ValueError as e:
                    raise Unsupported(f"{text!r} is not an ISO date") from e
            return (lit, x) if swap else (x, lit)
    raise Unsupported(f"comparing {ka} with {kb}")


@dataclass(frozen=True)
class _Literal:
    value: Any

    def __call__(self, table: Any) -> Any:
        return self.value


def compare(op: str, a: Value, b: Value, floating: bool) -> Value:
    """``a <op> b`` as Spark computes it (``op`` one of = <> < <= > >=); ``floating``: NaN rules apply."""
    base = {
        "=": pc.equal,
        "<>": pc.not_equal,
        "<": pc.less,
        "<=": pc.less_equal,
        ">": pc.greater,
        ">=": pc.greater_equal,
    }[op](a, b)
    if not floating:
        return base
    # Spark orders NaN above every number and equal to itself.
    an = pc.is_nan(a) if _is_float(a) else pa.scalar(False)
    bn = pc.is_nan(b) if _is_float(b) else pa.scalar(False)
    either = pc.or_(an, bn)
    nan_case = {
        "=": pc.and_(an, bn),
        "<>": pc.invert(pc.and_(an, bn)),
        "<": pc.and_(pc.invert(an), bn),
        "<=": bn,
        ">": pc.and_(an, pc.invert(bn)),
        ">=": an,
    }[op]
    return pc.if_else(either, nan_case, base)


def _is_float(v: Value) -> bool:
    return pa.types.is_floating(v.type)


def _compile(node: Node, schema: pa.Schema, names: dict[str, str]) -> tuple[str, Callable[[Any], Value]]:
    tag = node[0]
    if tag == "lit":
        _, value, kind = node
        types = {"int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
        scalar = pa.scalar(value, types.get(kind, pa.null()))
        return kind, _Literal(scalar)
    if tag == "col":
        key = node[1].lower()
        if key not in names:
            raise Unsupported(f"unknown column {node[1]!r}")
        name = names[key]
        kind = _kind(schema.field(name).type)
        return kind, lambda t, name=name: t.column(name)
    if tag in ("and", "or"):
        ka, fa = _compile(node[1], schema, names)
        kb, fb = _compile(node[2], schema, names)
        if {ka, kb} - {"bool", "null"}:
            raise Unsupported(f"{tag.upper()} of {ka} and {kb}")
        f = pc.and_kleene if tag == "and" else pc.or_kleene
        return "bool", lambda t: f(_as_bool(fa(t)), _as_bool(fb(t)))
    if tag == "not":
        k, fx = _compile(node[1], schema, names)
        if k not in ("bool", "null"):
            raise Unsupported(f"NOT of {k}")
        return "bool", lambda t: pc.invert(_as_bool(fx(t)))
    if tag == "isnull":
        _, fx = _compile(node[1], schema, names)
        negated = node[2]
        return "bool", lambda t: (pc.is_valid if negated else pc.is_null)(fx(t))
    if tag == "cmp":
        op = node[1]
        a, b = _coerce(_compile(node[2], schema, names), _compile(node[3], schema, names))
        if "null" in (a[0], b[0]):
            return "bool", _Literal(pa.scalar(None, pa.bool_()))
        floating = "float" in (a[0], b[0])
        fa, fb = a[1], b[1]
        return "bool", lambda t: compare(op, fa(t), fb(t), floating)
    if tag == "between":
        _, x, lo, hi, negated = node
        both = ("and", ("cmp", ">=", x, lo), ("cmp", "<=", x, hi))
        return _compile(("not", both) if negated else both, schema, names)
    if tag == "in":
        _, x, items, negated = node
        kx, fx = _compile(x, schema, names)
        values = []
        for item in items:
            if item[0] != "lit" or item[1] is None:
                raise Unsupported("IN takes non-null literals only")
            ok = item[2] == kx or (kx == "float" and item[2] == "int")
            if not ok or kx not in ("int", "float", "string"):
                raise Unsupported(f"IN list of {item[2]} for a {kx} value")
            values.append(item[1])

        def is_in(t: Any) -> Value:
            v = fx(t)
            if pa.types.is_floating(v.type):
                # Spark's IN finds -0.0 in (0); Arrow's hash lookup tells the zeros apart.
                v = pc.add(v, pa.scalar(0.0, v.type))
            found = pc.is_in(
                v, value_set=pa.array([x + 0.0 if isinstance(x, float) else x for x in values], v.type)
            )
            res = pc.invert(found) if negated else found
            return pc.if_else(pc.is_null(v), pa.scalar(None, pa.bool_()), res)

        return "bool", is_in
    if tag == "func":
        return _function(node[1], node[2], schema, names)
    raise Unsupported(f"unsupported expression {tag}")  # pragma: no cover - the parser makes no others


def _as_bool(v: Value) -> Value:
    if isinstance(v, pa.Scalar) and v.type == pa.null():
        return pa.scalar(None, pa.bool_())
    return v


def _function(
    name: str, args: list[Node], schema: pa.Schema, names: dict[str, str]
) -> tuple[str, Callable[[Any], Value]]:
    if name in ("isnull", "isnotnull") and len(args) == 1:
        return _compile(("isnull", args[0], name == "isnotnull"), schema, names)
    if name == "date_trunc" and len(args) == 2:
        if args[0][0] != "lit" or args[0][2] != "string":
            raise Unsupported("date_trunc needs a literal unit")
        unit = _TRUNC.get(str(args[0][1]).lower())
        if unit is None:
            raise Unsupported(f"date_trunc unit {args[0][1]!r}")
        kind, fx = _compile(args[1], schema, names)
        if kind != "timestamp":
            raise Unsupported(f"date_trunc of a {kind}")
        return "timestamp", lambda t: pc.floor_temporal(fx(t), multiple=1, unit=unit)
    if name == "coalesce" and args:
        compiled = [_compile(a, schema, names) for a in args]
        kinds = {k for k, _ in compiled} - {"null"}
        if len(kinds) != 1:
            raise Unsupported(f"coalesce over {sorted(kinds)}")
        fns = [f for _, f in compiled]
        return kinds.pop(), lambda t: pc.coalesce(*[f(t) for f in fns])
    raise Unsupported(f"function {name}() with {len(args)} arguments")


def compile_condition(text: str, schema: pa.Schema) -> Compiled:
    """Compile a Spark SQL boolean condition over the columns of ``schema``.

    Raises:
        Unsupported: the condition is outside the subset, or refers to unknown columns.
    """
    names: dict[str, str] = {}
    for n in schema.names:
        if n.lower() in names:
            raise Unsupported(f"columns {names[n.lower()]!r} and {n!r} differ only in case")
        names[n.lower()] = n
    kind, fn = _compile(_Parser(text).parse(), schema, names)
    if kind not in ("bool", "null"):
        raise Unsupported(f"the condition is a {kind}, not a boolean")
    return Compiled(text, fn)
