"""Avro event contracts: reader schemas, schema resolution, and checking container files.

The reader schemas live in ``schemas/<dataset>.avsc``. A landed file carries
its writer schema in its header; :func:`resolve` decides, by Avro's
resolution rules for flat records, whether the file can be read through the
reader schema, and :func:`inspect_container` checks a file's framing (header,
block counts, sync markers) without decoding a record. Spark's Avro reader
decodes the records (:mod:`featurelake.ingest.decode`), given
:func:`decoding_schema`. One rule is deliberately relaxed: a writer field
that is nullable where the reader's is required is accepted, so that one
``null`` quarantines that record (the suites' not-null expectations catch
it) instead of the whole file.

Everything here is plain data and functions; :func:`inspect_container` runs on executors.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from featurelake.errors import SchemaError

__all__ = [
    "FILE_ERRORS",
    "AvroFileError",
    "Container",
    "FileErrorReason",
    "Resolution",
    "classification",
    "decoding_schema",
    "inspect_container",
    "load_schema",
    "resolve",
    "schema_dir",
    "schema_fingerprint",
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
SYNC_SIZE = 16

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


def classification(dataset: str) -> dict[str, str]:
    """Field -> ``direct`` or ``quasi`` for the fields of ``dataset``'s contract that hold personal data.

    The contract says it with each field's ``pii`` attribute (``direct``, ``quasi`` or ``none``).

    Raises:
        SchemaError: a ``pii`` attribute with another value.
    """
    out: dict[str, str] = {}
    for f in load_schema(dataset)["fields"]:
        kind = f.get("pii", "none")
        if kind not in ("direct", "quasi", "none"):
            raise SchemaError(
                f"{dataset}.avsc: field {f['name']!r} has pii {kind!r}; use direct, quasi or none"
            )
        if kind != "none":
            out[f["name"]] = kind
    return out


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


def schema_fingerprint(schema: Mapping[str, Any]) -> str:
    """The ``schema_version`` header: CRC-64-AVRO of the schema's Parsing Canonical Form, 16 hex digits.

    Docs, defaults and aliases are not part of the canonical form: only what changes the bytes does.
    """
    from fastavro.schema import fingerprint, to_parsing_canonical_form

    return str(fingerprint(to_parsing_canonical_form(dict(schema)), "CRC-64-AVRO"))


def decoding_schema(reader: Mapping[str, Any]) -> dict[str, Any]:
    """``reader`` with every field nullable: the schema a decoder resolves landed files to.

    Avro's own resolution refuses a ``null`` where the reader wants a value, failing the
    whole file; :func:`resolve` accepts it so that the record alone is quarantined by a
    not-null expectation. A field with a non-null default keeps its type first, as Avro
    requires of a union's default.
    """
    out = json.loads(json.dumps(dict(reader)))
    for f in out["fields"]:
        t = f["type"]
        if isinstance(t, list):
            continue
        if f.get("default") is None:
            f["type"] = ["null", t]
            f["default"] = None
        else:
            f["type"] = [t, "null"]
    return dict(out)


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


@dataclass(frozen=True)
class Container:
    """What an Avro container file's framing says, read without decoding a record."""

    writer: dict[str, Any]
    """The writer schema from the header."""
    codec: str
    records: int
    """Records in the file: the sum of its blocks' counts."""
    blocks: int


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """One zig-zag varint ``long`` of the Avro binary encoding at ``pos``: (value, next position)."""
    shift = 0
    acc = 0
    while True:
        if pos >= len(data):
            raise EOFError(f"end of data inside a varint at byte {pos}")
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError(f"varint longer than 10 bytes at byte {pos}")


def inspect_container(content: bytes, reader: Mapping[str, Any]) -> Container:
    """Check one Avro container file's framing and writer schema, without decoding its records.

    The header is parsed (fastavro), the writer schema resolved against ``reader``
    (:func:`resolve`), and every block's header walked: its record count, its byte size
    and the sync marker after it. A file that passes can be handed to a decoder (Spark's
    Avro reader) and must yield exactly :attr:`Container.records` records; one that yields
    fewer is corrupt inside a block, which only decoding finds.

    Raises:
        AvroFileError: with reason ``empty_file``, ``not_avro``, ``truncated_file``,
            ``corrupt_file`` or ``incompatible_schema``.
    """
    import fastavro

    if not content:
        raise AvroFileError("empty_file", "the file has no bytes")
    if content[:4] != MAGIC:
        raise AvroFileError("not_avro", f"no Avro magic bytes (starts with {content[:8]!r})")
    buf = io.BytesIO(content)
    try:
        avro_reader = fastavro.reader(buf)
        writer: Any = avro_reader.writer_schema
        sync: Any = getattr(avro_reader, "_header", {}).get("sync")
        codec = str(avro_reader.metadata.get("avro.codec", "null"))
    except Exception as e:  # header unreadable: fastavro raises several types here
        raise AvroFileError("truncated_file" if _is_eof(e) else "corrupt_file", f"header: {e}") from e
    if not isinstance(sync, bytes) or len(sync) != SYNC_SIZE:
        raise AvroFileError("corrupt_file", "the header has no 16-byte sync marker")
    if not content.endswith(sync):
        # Every complete container file ends with the sync marker.
        raise AvroFileError("truncated_file", f"{len(content)} bytes do not end with the file's sync marker")
    try:
        resolve(writer, reader)
    except SchemaError as e:
        raise AvroFileError("incompatible_schema", str(e)) from e
    pos, records, blocks = buf.tell(), 0, 0
    try:
        while pos < len(content):
            count, pos = _varint(content, pos)
            size, pos = _varint(content, pos)
            if count < 0 or size < 0:
                raise AvroFileError(
                    "corrupt_file", f"block {blocks} at byte {pos}: count {count}, size {size}"
                )
            pos += size
            if pos + SYNC_SIZE > len(content):
                raise EOFError(f"block {blocks} ends past the end of the file")
            if content[pos : pos + SYNC_SIZE] != sync:
                raise AvroFileError("corrupt_file", f"block {blocks}: no sync marker at byte {pos}")
            pos += SYNC_SIZE
            records += count
            blocks += 1
    except (EOFError, ValueError) as e:
        raise AvroFileError("truncated_file" if _is_eof(e) else "corrupt_file", str(e)) from e
    return Container(dict(writer), codec, records, blocks)


def _is_eof(e: BaseException) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return isinstance(e, EOFError | StopIteration) or "eof" in text or "end of" in text or "truncat" in text
