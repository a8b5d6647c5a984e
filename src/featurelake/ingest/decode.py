"""Landed Avro files into Spark rows: inspect every file, then decode the sound ones with spark-avro.

A batch's files go through two steps:

1. :func:`inspect_files`: a ``mapInArrow`` over the ``binaryFile`` rows
   (``path, modificationTime, length, content``) whose function,
   :class:`FileInspector`, runs on executors and returns one row per file:
   size, modification time, SHA-256, and from the container's framing alone
   (:func:`featurelake.avro.inspect_container`: header, writer schema against
   the reader's, block counts and sync markers) how many records it holds, or
   the reason it cannot be read and its bytes. No record is decoded here.
2. :func:`read_records`: Spark's own Avro reader decodes the files that
   passed, resolving each file's writer schema to the reader schema (the
   ``avroSchema`` option, :func:`featurelake.avro.decoding_schema`); in the
   pass that counts records, with ``ignoreCorruptFiles`` so that a file corrupt
   inside a block ends early instead of failing the batch. Every row carries ``_source_file``, its split
   (``_split``, the byte offset Spark started reading at) and ``_id``
   (``monotonically_increasing_id``, consecutive within a split), from which
   the batch derives each record's index in its file; a file that yields
   fewer records than its blocks declare is quarantined whole by the batch.

The inspector is pickled to the executors; it holds only the reader schema.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from featurelake.avro import AvroFileError, decoding_schema, inspect_container

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "FILE_COLUMNS",
    "INSPECTED_DDL",
    "FileInspector",
    "decoded_ddl",
    "inspect_files",
    "read_records",
    "record_columns",
    "record_ddl",
]

FILE_COLUMNS = [
    "_source_file",
    "_file_size",
    "_file_mtime",
    "_file_sha256",
    "_file_records",
    "_file_error",
    "_file_detail",
]
"""The facts about one landed file that ``ops.ingest_files`` records."""

INSPECTED_DDL = (
    "_source_file string, _file_size bigint, _file_mtime timestamp, _file_sha256 string, "
    "_file_records bigint, _file_error string, _file_detail string, _payload binary"
)
"""One inspected file: :data:`FILE_COLUMNS`, then its bytes where it cannot be read (else null)."""

_PRIMITIVE_DDL = {
    "boolean": "boolean",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "double": "double",
    "string": "string",
    "bytes": "binary",
}


def record_columns(reader: Mapping[str, Any]) -> list[str]:
    """The reader schema's field names, in order."""
    return [f["name"] for f in reader["fields"]]


def _field_ddl(t: Any) -> str:
    if isinstance(t, list):
        (t,) = [b for b in t if b != "null"]
    logical = t.get("logicalType") if isinstance(t, dict) else None
    prim = t.get("type") if isinstance(t, dict) else t
    if logical in ("timestamp-millis", "timestamp-micros"):
        return "timestamp"
    if logical == "date":
        return "date"
    return _PRIMITIVE_DDL[str(prim)]


def record_ddl(reader: Mapping[str, Any]) -> str:
    """The Spark DDL of the reader's fields as spark-avro decodes them (timestamps as ``timestamp``)."""
    return ", ".join(f"`{f['name']}` {_field_ddl(f['type'])}" for f in reader["fields"])


def decoded_ddl(reader: Mapping[str, Any]) -> str:
    """The Spark DDL of :func:`read_records`' rows: the reader's fields, then ``event_date`` and lineage."""
    return f"{record_ddl(reader)}, event_date date, _source_file string, _split bigint, _id bigint"


class FileInspector:
    """``mapInArrow`` function over ``binaryFile`` rows: one inspected row per file (executors)."""

    def __init__(self, reader: Mapping[str, Any]) -> None:
        self.reader = dict(reader)

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Inspect every file of every input batch."""
        import pyarrow as pa

        for batch in batches:
            cols = batch.to_pydict()
            rows = [
                inspect_one(path, mtime, length, content or b"", self.reader)
                for path, mtime, length, content in zip(
                    cols["path"], cols["modificationTime"], cols["length"], cols["content"], strict=True
                )
            ]
            yield pa.RecordBatch.from_pylist(rows, schema=_inspected_schema())


def _inspected_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("_source_file", pa.string()),
            ("_file_size", pa.int64()),
            ("_file_mtime", pa.timestamp("us", tz="UTC")),
            ("_file_sha256", pa.string()),
            ("_file_records", pa.int64()),
            ("_file_error", pa.string()),
            ("_file_detail", pa.string()),
            ("_payload", pa.binary()),
        ]
    )


def inspect_one(
    path: str, mtime: Any, length: int | None, content: bytes, reader: Mapping[str, Any]
) -> dict[str, Any]:
    """The inspected row of one landed file (see :data:`INSPECTED_DDL`)."""
    records: int | None = None
    error: AvroFileError | None = None
    try:
        records = inspect_container(content, reader).records
    except AvroFileError as e:
        error = e
    return {
        "_source_file": path,
        "_file_size": int(length if length is not None else len(content)),
        "_file_mtime": mtime,
        "_file_sha256": hashlib.sha256(content).hexdigest(),
        "_file_records": records,
        "_file_error": error.reason if error is not None else None,
        "_file_detail": error.detail[:2000] if error is not None else None,
        "_payload": content if error is not None else None,
    }


def inspect_files(raw: DataFrame, reader: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Spark job: the :data:`INSPECTED_DDL` row of every file among ``raw``'s ``binaryFile`` rows."""
    return raw.mapInArrow(FileInspector(reader), INSPECTED_DDL).toArrow().to_pylist()


def _literal_path(path: str) -> str:
    """``path`` with Hadoop's glob characters escaped, so a file name is never read as a pattern."""
    out = path
    for ch in "\\[]{}*?":
        out = out.replace(ch, "\\" + ch)
    return out


def read_records(
    spark: SparkSession,
    paths: Sequence[str],
    reader: Mapping[str, Any],
    event_time: str,
    *,
    skip_corrupt: bool = True,
) -> DataFrame:
    """The records of ``paths`` decoded by spark-avro through ``reader``, plus ``event_date`` and lineage.

    Columns: :func:`decoded_ddl`. ``event_date`` is the UTC date of ``event_time`` (the
    session runs in UTC). Lazy: each action decodes the files again.

    Args:
        spark: the session.
        paths: the files.
        reader: the reader schema.
        event_time: the field ``event_date`` comes from.
        skip_corrupt: a file that fails to decode ends early (``ignoreCorruptFiles``), for the
            pass that counts what each file yields; False fails the job instead, for a pass over
            files already known to decode whole, where a failure must not go unnoticed.

    Raises:
        ValueError: no paths.
    """
    from pyspark.sql import functions as F

    if not paths:
        raise ValueError("read_records needs at least one file")
    df = (
        spark.read.format("avro")
        .option("avroSchema", json.dumps(decoding_schema(reader)))
        .option("ignoreCorruptFiles", str(skip_corrupt).lower())
        .load([_literal_path(p) for p in paths])
    )
    return df.select(
        *[F.col(f"`{c}`") for c in record_columns(reader)],
        F.to_date(F.col(f"`{event_time}`")).alias("event_date"),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_block_start").alias("_split"),
        F.monotonically_increasing_id().alias("_id"),
    )
