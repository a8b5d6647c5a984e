"""Avro event contracts: reader schemas, schema resolution, and decoding container files into Arrow.

The reader schemas live in ``schemas/<dataset>.avsc``. A landed file carries
its writer schema in its header; :func:`resolve` decides, by Avro's
resolution rules for flat records, whether the file can be read through the
reader schema, and :func:`decode_file` turns the file into one Arrow table
with the reader's columns. One rule is deliberately relaxed: a writer field
that is nullable where the reader's is required is accepted, so that one
``null`` quarantines that record (the suites' not-null expectations catch
it) instead of the whole file.

Decoding runs on executors: everything here is plain data and functions.
fastavro yields one ``dict`` per record; the columns are built from those
dicts in one pass per field, which is the cheapest path fastavro offers.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from featurelake.errors import SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FILE_ERRORS",
    "AvroFileError",
    "FileErrorReason",
    "Resolution",
    "arrow_schema",
    "decode_file",
    "load_schema",
    "resolve",
    "schema_dir",
]

FileErrorReason = Literal["empty_file", "not_avro", "truncated_file", "corrupt_file", "incompatible_schema"]
FILE_ERRORS: tuple[FileErrorReason, ...] = (
    "empty_file",
    "not_avro",
    "truncated_file",
    "corrupt_file",
    "incompatible_schema",
)
MAGIC = b"Obj\x01"

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
# Avro's promotions: writer type -> reader types it may be read as.
_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "double": {"double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
    "boolean": {"boolean"},
}


class AvroFileError(Exception):
    """A landed file that cannot be read; ``reason`` is the quarantine reason code."""

    def __init__(self, reason: FileErrorReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def schema_dir() -> Path:
    """The repository's ``schemas/`` folder (next to ``src/``)."""
    return Path(__file__).resolve().parents[2] / "schemas"


def load_schema(dataset: str, directory: str | Path | None = None) -> dict[str, Any]:
    """The reader schema of ``dataset`` as parsed JSON (``schemas/<dataset>.avsc``).

    Raises:
        SchemaError: the file is missing or is not a valid Avro record schema.
    """
    import fastavro

    folder = Path(directory) if directory is not None else schema_dir()
    path = folder / f"{dataset}.avsc"
    try:
        schema = json.loads(path.read_text())
        fastavro.parse_schema(schema)
    except FileNotFoundError as e:
        known = sorted(p.stem for p in folder.glob("*.avsc"))
        raise SchemaError(f"no Avro schema for dataset {dataset!r} at {path}; known: {known}") from e
    except (ValueError, fastavro.schema.SchemaParseException) as e:
        raise SchemaError(f"{path} is not a valid Avro schema: {e}") from e
    if schema.get("type") != "record":
        raise SchemaError(f"{path}: an event schema must be a record, got {schema.get('type')!r}")
    return dict(schema)


def _base(t: Any) -> tuple[str, str | None, bool]:
    """(primitive type, logical type, nullable) of a flat field type; raises on anything nested."""
    nullable = False
    if isinstance(t, list):
        branches = [b for b in t if b != "null"]
        nullable = len(branches) < len(t)
        if len(branches) != 1:
            raise SchemaError(f"union {t} is not supported: only [null, T]")
        t = branches[0]
    logical = None
    if isinstance(t, dict):
        logical = t.get("logicalType")
        t = t.get("type")
    if not isinstance(t, str) or t not in _PRIMITIVES:
        raise SchemaError(f"field type {t!r} is not a flat primitive")
    return t, logical, nullable


def _arrow_type(prim: str, logical: str | None) -> pa.DataType:
    import pyarrow as pa

    if logical in ("timestamp-millis", "timestamp-micros") and prim == "long":
        return pa.timestamp("us", tz="UTC")
    if logical == "date" and prim == "int":
        return pa.date32()
    return {
        "boolean": pa.bool_(),
        "int": pa.int32(),
        "long": pa.int64(),
        "float": pa.float32(),
        "double": pa.float64(),
        "string": pa.string(),
        "bytes": pa.binary(),
    }[prim]


def arrow_schema(schema: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema of a flat Avro record (timestamps as UTC microseconds, all nullable)."""
    import pyarrow as pa

    fields = []
    for f in schema["fields"]:
        prim, logical, _ = _base(f["type"])
        fields.append(pa.field(f["name"], _arrow_type(prim, logical)))
    return pa.schema(fields)


@dataclass(frozen=True)
class Resolution:
    """How each reader field is filled from a writer schema."""

    sources: tuple[tuple[str, str | None, str, str | None], ...]
    """Per reader field: (reader name, writer name or None for the default, writer type, writer logical)."""
    defaults: tuple[tuple[str, Any], ...]
    identical: bool
    """Writer and reader have the same fields and types: decode with no per-field work."""


def resolve(writer: Mapping[str, Any], reader: Mapping[str, Any]) -> Resolution:
    """Decide how a file written with ``writer`` reads through ``reader`` (Avro's rules, flat records).

    A reader field is filled from the writer field of the same name (or one of
    its aliases) if the writer's type is the same or promotes to it; a reader
    field the writer lacks takes its default; writer fields the reader lacks
    are skipped. Record names must match (unqualified) or the writer's must be one of
    the reader's aliases, as Avro requires.

    Raises:
        SchemaError: the schemas are incompatible; the message says which field and why.
    """
    if writer.get("type") != "record":
        raise SchemaError(f"writer schema is a {writer.get('type')!r}, not a record")
    wname = str(writer.get("name", "")).rsplit(".", 1)[-1]
    rname = str(reader.get("name", "")).rsplit(".", 1)[-1]
    aliases = {str(a).rsplit(".", 1)[-1] for a in reader.get("aliases", [])}
    if wname != rname and wname not in aliases:
        raise SchemaError(f"writer record {wname!r} does not match reader record {rname!r} or its aliases")
    wfields = {f["name"]: f for f in writer["fields"]}
    sources = []
    defaults = []
    for rf in reader["fields"]:
        rprim, rlogical, _ = _base(rf["type"])
        names = [rf["name"], *rf.get("aliases", [])]
        wf = next((wfields[n] for n in names if n in wfields), None)
        if wf is None:
            if "default" not in rf:
                raise SchemaError(
                    f"field {rf['name']!r} is missing from the writer schema and has no default"
                )
            sources.append((rf["name"], None, rprim, rlogical))
            defaults.append((rf["name"], rf["default"]))
            continue
        try:
            wprim, wlogical, _ = _base(wf["type"])
        except SchemaError as e:
            raise SchemaError(f"field {rf['name']!r}: {e}") from e
        if rprim not in _PROMOTIONS.get(wprim, {wprim}):
            raise SchemaError(f"field {rf['name']!r}: writer type {wprim} cannot be read as {rprim}")
        if rlogical != wlogical and (rlogical, wlogical) not in _LOGICAL_OK:
            raise SchemaError(f"field {rf['name']!r}: writer logical type {wlogical} is not {rlogical}")
        sources.append((rf["name"], wf["name"], wprim, wlogical or rlogical))
    identical = [json.dumps(f["type"], sort_keys=True) for f in writer["fields"]] == [
        json.dumps(f["type"], sort_keys=True) for f in reader["fields"]
    ] and [f["name"] for f in writer["fields"]] == [f["name"] for f in reader["fields"]]
    return Resolution(tuple(sources), tuple(defaults), identical)


# (reader logical, writer logical) pairs that read fine: a plain long under a timestamp reader is
# taken as that timestamp (Avro ignores logical types in resolution), and millis/micros convert.
_LOGICAL_OK = {
    ("timestamp-millis", None),
    ("timestamp-micros", None),
    ("timestamp-millis", "timestamp-micros"),
    ("timestamp-micros", "timestamp-millis"),
}


@contextlib.contextmanager
def _raw_timestamps() -> Iterator[None]:
    """Let fastavro hand timestamps over as the raw longs (Arrow converts them ~10x cheaper).

    fastavro has no switch for this; its Cython reader looks the converter up in a
    module-level dict per value, so removing the entries for the duration of one
    decode is enough. Python workers decode one file at a time, so nothing else sees it.
    """
    try:
        from fastavro import _read

        table: dict[str, Any] = getattr(_read, "LOGICAL_READERS")  # noqa: B009 - absent in stubs
    except (ImportError, AttributeError):  # pure-Python fastavro: keep datetimes
        yield
        return
    keys = ("long-timestamp-millis", "long-timestamp-micros")
    saved = {k: table.pop(k) for k in keys if k in table}
    try:
        yield
    finally:
        table.update(saved)


def _column(values: list[Any], prim: str, logical: str | None, target: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if logical in ("timestamp-millis", "timestamp-micros"):
        unit = "ms" if logical == "timestamp-millis" else "us"
        arr = pa.array(values, type=pa.timestamp(unit, tz="UTC"))
    else:
        arr = pa.array(values, type=_arrow_type(prim, None if logical == "date" else logical))
        if logical == "date":
            arr = arr.cast(pa.date32())
    return arr if arr.type == target else arr.cast(target)


def decode_file(content: bytes, reader: Mapping[str, Any], target: pa.Schema | None = None) -> pa.Table:
    """Decode one Avro container file into a table with the reader's columns.

    Args:
        content: the file's bytes.
        reader: the reader schema (parsed JSON).
        target: the Arrow schema to produce; :func:`arrow_schema` of ``reader`` when omitted.

    Raises:
        AvroFileError: with reason ``empty_file``, ``not_avro``, ``incompatible_schema``,
            ``truncated_file`` or ``corrupt_file``.
    """
    import fastavro
    import pyarrow as pa

    target = target if target is not None else arrow_schema(reader)
    if not content:
        raise AvroFileError("empty_file", "the file has no bytes")
    if content[:4] != MAGIC:
        raise AvroFileError("not_avro", f"no Avro magic bytes (starts with {content[:8]!r})")
    buf = io.BytesIO(content)
    try:
        avro_reader = fastavro.reader(buf)
        writer: Any = avro_reader.writer_schema
    except Exception as e:  # header unreadable: fastavro raises several types here
        raise AvroFileError("truncated_file" if _is_eof(e) else "corrupt_file", f"header: {e}") from e
    sync = getattr(avro_reader, "_header", {}).get("sync")
    if isinstance(sync, bytes) and not content.endswith(sync):
        # Every complete container file ends with the sync marker. Checked up front because a
        # deflate block cut short can decode to fewer records without any error from fastavro.
        raise AvroFileError("truncated_file", f"{len(content)} bytes do not end with the file's sync marker")
    try:
        res = resolve(writer, reader)
    except SchemaError as e:
        raise AvroFileError("incompatible_schema", str(e)) from e
    try:
        with _raw_timestamps():
            records: list[Any] = list(avro_reader)
    except Exception as e:  # fastavro raises EOFError, ValueError, zlib.error, UnicodeDecodeError...
        kind: FileErrorReason = "truncated_file" if _is_eof(e) else "corrupt_file"
        raise AvroFileError(
            kind, f"after {buf.tell()} of {len(content)} bytes: {type(e).__name__}: {e}"
        ) from e
    if buf.tell() < len(content):
        raise AvroFileError("corrupt_file", f"{len(content) - buf.tell()} bytes after the last block")
    defaults = dict(res.defaults)
    n = len(records)
    arrays = []
    for (rname, wname, prim, logical), field in zip(res.sources, target, strict=True):
        if wname is None:
            values = [defaults[rname]] * n
        else:
            values = [r[wname] for r in records]
        try:
            arrays.append(_column(values, prim, logical, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise AvroFileError("incompatible_schema", f"field {rname!r}: {e}") from e
    return pa.Table.from_arrays(arrays, schema=target)


def _is_eof(e: BaseException) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return isinstance(e, EOFError | StopIteration) or "eof" in text or "end of" in text or "truncat" in text
