"""Table schemas in one small vocabulary shared by Delta, Arrow, Spark and DuckDB.

Tables are declared with a Spark-style DDL string
(``"event_id string not null, dep_delay double"``); this module turns it into
the Arrow schema the writer casts to, the Delta schema delta-rs commits, and
the Spark schema readers see. Only flat tables of primitive types are
supported: every layer of the lake is flat by design.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from featurelake.errors import SchemaError

__all__ = ["Column", "TableSchema"]

# Delta primitive type name -> Arrow type.
_DELTA_TO_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "long": pa.int64(),
    "integer": pa.int32(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "binary": pa.binary(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
}

# Spark/DDL spelling -> Delta spelling.
_DDL_TO_DELTA: dict[str, str] = {
    "string": "string",
    "varchar": "string",
    "bigint": "long",
    "long": "long",
    "int": "integer",
    "integer": "integer",
    "smallint": "short",
    "short": "short",
    "tinyint": "byte",
    "byte": "byte",
    "double": "double",
    "float": "float",
    "real": "float",
    "boolean": "boolean",
    "bool": "boolean",
    "binary": "binary",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ltz": "timestamp",
    "timestamp_ntz": "timestamp_ntz",
}

_DELTA_TO_SPARK: dict[str, str] = {
    "string": "STRING",
    "long": "BIGINT",
    "integer": "INT",
    "short": "SMALLINT",
    "byte": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "binary": "BINARY",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP_NTZ",
}

# Writes may widen a DataFrame column into the table's type, never narrow it.
_WIDENINGS: dict[str, set[str]] = {
    "byte": {"short", "integer", "long", "double"},
    "short": {"integer", "long", "double"},
    "integer": {"long", "double"},
    "long": set(),
    "float": {"double"},
}

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_COLUMN = re.compile(r"^`?(?P<name>[A-Za-z_][A-Za-z0-9_]*)`?\s+(?P<type>.+?)(?P<nn>\s+not\s+null)?$", re.I)


def _normalise_type(spelled: str) -> str:
    """Map a DDL or Spark ``simpleString`` type name to the Delta type name."""
    text = spelled.strip().lower()
    m = _DECIMAL.match(text)
    if m:
        return f"decimal({int(m.group(1))},{int(m.group(2))})"
    if text in _DDL_TO_DELTA:
        return _DDL_TO_DELTA[text]
    raise SchemaError(
        f"unsupported column type {spelled!r}; use one of: "
        + ", ".join(sorted(set(_DDL_TO_DELTA) | {"decimal(p,s)"}))
    )


@dataclass(frozen=True)
class Column:
    """One column of a flat table: name, Delta type name, nullability."""

    name: str
    type: str
    nullable: bool = True

    def arrow_type(self) -> pa.DataType:
        """The Arrow type data of this column is cast to before it is written."""
        m = _DECIMAL.match(self.type)
        if m:
            return pa.decimal128(int(m.group(1)), int(m.group(2)))
        return _DELTA_TO_ARROW[self.type]

    def spark_type(self) -> str:
        """The Spark SQL type name of this column."""
        m = _DECIMAL.match(self.type)
        return f"DECIMAL({m.group(1)},{m.group(2)})" if m else _DELTA_TO_SPARK[self.type]

    def accepts(self, other_type: str) -> bool:
        """True when values of Delta type ``other_type`` can be written into this column."""
        return other_type == self.type or self.type in _WIDENINGS.get(other_type, set())


@dataclass(frozen=True)
class TableSchema:
    """An ordered set of columns; the one schema type the rest of featurelake passes around."""

    columns: tuple[Column, ...]

    @classmethod
    def parse(cls, ddl: str) -> TableSchema:
        """Parse ``"name type [not null], ..."`` (Spark DDL spelling) into a schema.

        Raises:
            SchemaError: a column cannot be parsed, a type is unknown, or a name repeats.
        """
        parts: list[str] = []
        depth, start = 0, 0
        for i, ch in enumerate(ddl):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(ddl[start:i])
                start = i + 1
        parts.append(ddl[start:])
        columns = []
        for part in (p.strip() for p in parts):
            if not part:
                continue
            m = _COLUMN.match(part)
            if not m:
                raise SchemaError(f"cannot parse column definition {part!r}; expected 'name type [not null]'")
            columns.append(Column(m.group("name"), _normalise_type(m.group("type")), m.group("nn") is None))
        return cls._checked(columns)

    @classmethod
    def from_delta_json(cls, schema_json: str) -> TableSchema:
        """Build from a Delta schema string (``DeltaTable.schema().to_json()``)."""
        doc = json.loads(schema_json)
        columns = []
        for field in doc["fields"]:
            if not isinstance(field["type"], str):
                raise SchemaError(f"column {field['name']!r} is nested; featurelake tables are flat")
            columns.append(Column(field["name"], _normalise_type(field["type"]), bool(field["nullable"])))
        return cls._checked(columns)

    @classmethod
    def from_spark(cls, struct: Any) -> TableSchema:
        """Build from a Spark ``StructType`` (driver side)."""
        return cls._checked(
            [Column(f.name, _normalise_type(f.dataType.simpleString()), f.nullable) for f in struct.fields]
        )

    @classmethod
    def _checked(cls, columns: list[Column]) -> TableSchema:
        seen: set[str] = set()
        for c in columns:
            if c.name.lower() in seen:
                raise SchemaError(f"column {c.name!r} appears twice")
            seen.add(c.name.lower())
        if not columns:
            raise SchemaError("a table needs at least one column")
        return cls(tuple(columns))

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``.

        Raises:
            SchemaError: there is no such column.
        """
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"no column {name!r}; columns are: {', '.join(self.names)}")

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema (timestamps are microseconds, UTC)."""
        return pa.schema([pa.field(c.name, c.arrow_type(), c.nullable) for c in self.columns])

    def to_spark_ddl(self) -> str:
        """A Spark DDL string with quoted names, accepted by ``spark.read.schema``."""
        return ", ".join(
            f"`{c.name}` {c.spark_type()}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )

    def merged_with(self, other: TableSchema) -> TableSchema:
        """This schema plus ``other``'s extra columns, added as nullable (``mergeSchema``)."""
        extra = [Column(c.name, c.type, True) for c in other.columns if c.name not in self.names]
        return TableSchema(self.columns + tuple(extra))

    def check_writable(self, incoming: TableSchema, *, merge: bool, table: str) -> None:
        """Raise unless rows of ``incoming`` can be appended to a table with this schema.

        Raises:
            SchemaError: an extra column without ``merge``, or a type that would narrow.
        """
        for c in incoming.columns:
            if c.name not in self.names:
                if merge:
                    continue
                raise SchemaError(
                    f"column {c.name!r} is not in table {table}; set option mergeSchema=true to add it"
                )
            target = self.column(c.name)
            if not target.accepts(c.type):
                raise SchemaError(
                    f"column {c.name!r} is {c.type} in the data but {target.type} in table {table}"
                )
