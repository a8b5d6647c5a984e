"""Executor side of ingest: one landed file in, typed records plus one file row out.

:class:`Decoder` is the function Spark's ``mapInArrow`` runs over the
``binaryFile`` rows (``path, modificationTime, length, content``). For each
file it yields the file's records as Arrow columns (``_kind`` = 0) and one
file row (``_kind`` = 1) with the size, content hash, record count and, for a
file that cannot be read, the reason code and the file's bytes. A bad file is
an answer, never an exception: one corrupt file cannot fail the batch.

The decoder is pickled to the executors; it holds only the reader schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from featurelake.avro import AvroFileError, arrow_schema, decode_file

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FILE_ROW",
    "META_DDL",
    "RECORD_ROW",
    "Decoder",
    "decoded_ddl",
    "event_dates",
    "record_columns",
]

RECORD_ROW = 0
FILE_ROW = 1

META_DDL = (
    "event_date date, _kind tinyint, _source_file string, _record_index int, _file_size bigint, "
    "_file_mtime timestamp, _file_sha256 string, _file_records bigint, _file_error string, "
    "_file_detail string, _payload binary"
)


def _spark_type(t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return "timestamp"
    return {
        pa.int8(): "tinyint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.string(): "string",
        pa.binary(): "binary",
        pa.bool_(): "boolean",
        pa.date32(): "date",
    }[t]


def record_columns(reader: Mapping[str, Any]) -> list[str]:
    """The reader schema's field names, in order."""
    return [f["name"] for f in reader["fields"]]


def event_dates(event_time: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The UTC date of each event time (UTC microseconds): the floor division by one day."""
    import pyarrow as pa
    import pyarrow.compute as pc

    us = event_time.cast(pa.int64())
    days = pc.divide(us, 86_400_000_000)
    floor = pc.subtract(days, pc.if_else(pc.less(us, 0), 1, 0))
    out = floor.cast(pa.int32()).cast(pa.date32())
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def decoded_ddl(reader: Mapping[str, Any]) -> str:
    """The Spark schema of the decoder's output: the reader's fields, then the meta columns."""
    fields = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in arrow_schema(reader))
    return f"{fields}, {META_DDL}"


class Decoder:
    """``mapInArrow`` function decoding landed Avro files (runs on executors)."""

    def __init__(self, reader: Mapping[str, Any], event_time: str) -> None:
        self.reader = dict(reader)
        self.event_time = event_time

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Decode every file of every input batch."""
        import pyarrow as pa

        data_schema = arrow_schema(self.reader)
        out_schema = self._out_schema(data_schema)
        for path, mtime, length, content, records, error in decode_landed(batches, self.reader, data_schema):
            if records is not None and records.num_rows:
                yield self._records(records, path, out_schema)
            yield self._file_row(path, mtime, length, content, records, error, out_schema, pa)

    @staticmethod
    def _out_schema(data_schema: pa.Schema) -> pa.Schema:
        import pyarrow as pa

        meta = [("event_date", pa.date32()), *row_meta()]
        return pa.schema(list(data_schema) + [pa.field(n, t) for n, t in meta])

    def _records(self, records: pa.Table, path: str, out: pa.Schema) -> pa.RecordBatch:
        import pyarrow as pa

        n = records.num_rows
        arrays = [records.column(i).combine_chunks() for i in range(records.num_columns)]
        arrays += [
            event_dates(records.column(self.event_time)),
            pa.array([RECORD_ROW] * n, pa.int8()),
            pa.array([path] * n, pa.string()),
            pa.array(range(n), pa.int32()),
        ]
        arrays += [pa.nulls(n, out.field(i).type) for i in range(len(arrays), len(out))]
        return pa.RecordBatch.from_arrays(arrays, schema=out)

    def _file_row(
        self,
        path: str,
        mtime: Any,
        length: int,
        content: bytes,
        records: pa.Table | None,
        error: AvroFileError | None,
        out: pa.Schema,
        pa: Any,
    ) -> pa.RecordBatch:
        values = file_row_values(path, mtime, length, content, records, error)
        arrays = [pa.array([values.get(f.name)], f.type) for f in out]
        return pa.RecordBatch.from_arrays(arrays, schema=out)


def row_meta() -> list[tuple[str, pa.DataType]]:
    """The columns every decoded row carries besides its record: kind, source file, file facts, payload."""
    import pyarrow as pa

    return [
        ("_kind", pa.int8()),
        ("_source_file", pa.string()),
        ("_record_index", pa.int32()),
        ("_file_size", pa.int64()),
        ("_file_mtime", pa.timestamp("us", tz="UTC")),
        ("_file_sha256", pa.string()),
        ("_file_records", pa.int64()),
        ("_file_error", pa.string()),
        ("_file_detail", pa.string()),
        ("_payload", pa.binary()),
    ]


def file_row_values(
    path: str,
    mtime: Any,
    length: int | None,
    content: bytes,
    records: pa.Table | None,
    error: AvroFileError | None,
) -> dict[str, Any]:
    """The file row of one landed file: size, mtime, hash, records read, and why it could not be read."""
    return {
        "_kind": FILE_ROW,
        "_source_file": path,
        "_file_size": int(length if length is not None else len(content)),
        "_file_mtime": mtime,
        "_file_sha256": hashlib.sha256(content).hexdigest(),
        "_file_records": records.num_rows if records is not None else None,
        "_file_error": error.reason if error is not None else None,
        "_file_detail": error.detail[:2000] if error is not None else None,
        "_payload": content if error is not None else None,
    }


def decode_landed(
    batches: Iterator[pa.RecordBatch], reader: Mapping[str, Any], data_schema: pa.Schema
) -> Iterator[tuple[str, Any, int, bytes, pa.Table | None, AvroFileError | None]]:
    """Per landed file of ``binaryFile`` batches: path, mtime, length, bytes, and its records or why not."""
    for batch in batches:
        cols = batch.to_pydict()
        for path, mtime, length, content in zip(
            cols["path"], cols["modificationTime"], cols["length"], cols["content"], strict=True
        ):
            content = content or b""
            records: pa.Table | None = None
            error: AvroFileError | None = None
            try:
                records = decode_file(content, reader, data_schema)
            except AvroFileError as e:
                error = e
            yield path, mtime, length, content, records, error
