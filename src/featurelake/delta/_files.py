"""Executor side of the ``delta`` writer: Arrow batches in, Parquet data files out.

Runs inside Spark's Python workers, so everything here must be picklable and
import only what it needs. One :class:`PartitionedFileWriter` lives per task:
it splits each batch by the table's partition columns, buffers rows per
partition into large row groups, rolls files at the target size, and
describes every finished file (path, size, partition values, statistics) so
the driver can commit them in one Delta transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["DataFile", "PartitionedFileWriter", "hive_dir", "partition_value_string"]

# Spark's ExternalCatalogUtils.escapePathName set, so folders match Spark's own writer.
_ESCAPE = set("\"#%'*/:=?\\\x7f{[]^") | {chr(i) for i in range(0x20)}
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
STATS_STRING_PREFIX = 32
ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 64 << 20
BUFFER_LIMIT_BYTES = 256 << 20


def _escape(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPE else c for c in value)


def partition_value_string(value: Any) -> str | None:
    """Serialise a partition value the way the Delta protocol stores it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def hive_dir(partition_values: dict[str, str | None]) -> str:
    """The Hive-style folder (``a=1/b=x``) for one partition."""
    return "/".join(
        f"{_escape(k)}={NULL_PARTITION if v is None else _escape(v)}" for k, v in partition_values.items()
    )


@dataclass
class DataFile:
    """One finished Parquet file, described as a Delta ``add`` action needs it."""

    path: str
    size: int
    partition_values: dict[str, str | None]
    modification_time: int
    stats: str


def _json_stat(value: Any) -> Any:
    """A Parquet statistic as the JSON value Delta's ``stats`` expects, or None to omit it."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return None


def file_stats(path: str, data_columns: list[str]) -> str:
    """Delta ``stats`` JSON (numRecords, minValues, maxValues, nullCount) from a Parquet footer."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for name in data_columns:
        i = index.get(name)
        if i is None:
            continue
        lo: Any = None
        hi: Any = None
        count = 0
        exact = True
        for rg in range(meta.num_row_groups):
            st = meta.row_group(rg).column(i).statistics
            if st is None or not st.has_null_count:
                exact = False
                break
            count += st.null_count
            if st.has_min_max:
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
        if not exact:
            continue
        nulls[name] = count
        lo, hi = _json_stat(lo), _json_stat(hi)
        if isinstance(lo, str) and len(lo) > STATS_STRING_PREFIX:
            lo = lo[:STATS_STRING_PREFIX]  # a prefix is still a lower bound
        if isinstance(hi, str) and len(hi) > STATS_STRING_PREFIX:
            hi = None  # a truncated max would not be an upper bound
        if lo is not None:
            mins[name] = lo
        if hi is not None:
            maxs[name] = hi
    return json.dumps(
        {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls},
        separators=(",", ":"),
    )


@dataclass
class _OpenFile:
    rel_path: str
    partition_values: dict[str, str | None]
    writer: Any
    sink: Any
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    buffered_rows: int = 0
    buffered_bytes: int = 0


class PartitionedFileWriter:
    """Writes one task's rows as zstd Parquet files under Hive-style partition folders.

    Runs on an executor. Partition columns are not stored in the files (they live in
    the Delta log), as Delta's own writers do.
    """

    def __init__(
        self,
        root: str,
        schema: pa.Schema,
        partition_by: list[str],
        *,
        file_prefix: str,
        target_bytes: int,
        compression_level: int = 3,
    ) -> None:
        self.root = root
        self.schema = schema
        self.partition_by = partition_by
        self.data_schema = pa.schema([f for f in schema if f.name not in partition_by])
        self.file_prefix = file_prefix
        self.target_bytes = target_bytes
        self.compression_level = compression_level
        self._open: dict[tuple[str | None, ...], _OpenFile] = {}
        self._done: list[DataFile] = []
        self._written_paths: list[str] = []
        self._buffered_bytes = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Add one batch (already in the table's Arrow schema) to the task's files."""
        if batch.num_rows == 0:
            return
        if not self.partition_by:
            self._append((), {}, batch)
            return
        for key, values, part in self._split(batch):
            self._append(key, values, part.select(self.data_schema.names))
        if self._buffered_bytes > BUFFER_LIMIT_BYTES:
            for f in sorted(self._open.values(), key=lambda f: -f.buffered_bytes)[
                : max(1, len(self._open) // 2)
            ]:
                self._flush(f)

    def _split(
        self, batch: pa.RecordBatch
    ) -> list[tuple[tuple[str | None, ...], dict[str, str | None], pa.RecordBatch]]:
        import numpy as np
        import pyarrow.compute as pc

        codes = np.zeros(batch.num_rows, dtype=np.int64)
        dictionaries = []
        for name in self.partition_by:
            enc = pc.dictionary_encode(batch.column(name), null_encoding="encode")
            dictionaries.append(enc.dictionary)
            codes = codes * (len(enc.dictionary) + 1) + enc.indices.to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        ends = np.r_[starts[1:], len(sorted_codes)]
        taken = batch.take(pa.array(order))
        out = []
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            part = taken.slice(s, e - s)
            values = {
                name: partition_value_string(part.column(name)[0].as_py()) for name in self.partition_by
            }
            out.append((tuple(values.values()), values, part))
        return out

    def _append(
        self, key: tuple[str | None, ...], values: dict[str, str | None], batch: pa.RecordBatch
    ) -> None:
        f = self._open.get(key)
        if f is None:
            f = self._open[key] = self._new_file(values)
        f.buffered.append(batch)
        f.buffered_rows += batch.num_rows
        f.buffered_bytes += batch.nbytes
        self._buffered_bytes += batch.nbytes
        if f.buffered_rows >= ROW_GROUP_ROWS or f.buffered_bytes >= min(ROW_GROUP_BYTES, self.target_bytes):
            self._flush(f)
            if f.sink.tell() >= self.target_bytes:
                self._finish(key)

    def _new_file(self, values: dict[str, str | None]) -> _OpenFile:
        import pyarrow.parquet as pq

        folder = hive_dir(values) if values else ""
        name = f"{self.file_prefix}-{uuid.uuid4().hex[:12]}.zstd.parquet"
        rel = f"{folder}/{name}" if folder else name
        full = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        self._written_paths.append(full)
        sink = pa.OSFile(full, "wb")
        writer = pq.ParquetWriter(
            sink,
            self.data_schema,
            compression="zstd",
            compression_level=self.compression_level,
            write_statistics=True,
            use_dictionary=True,
        )
        return _OpenFile(rel, values, writer, sink)

    def _flush(self, f: _OpenFile) -> None:
        if not f.buffered:
            return
        table = pa.Table.from_batches(f.buffered, schema=self.data_schema)
        f.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._buffered_bytes -= f.buffered_bytes
        f.buffered, f.buffered_rows, f.buffered_bytes = [], 0, 0

    def _finish(self, key: tuple[str | None, ...]) -> None:
        f = self._open.pop(key)
        self._flush(f)
        f.writer.close()
        f.sink.close()
        full = os.path.join(self.root, f.rel_path)
        self._done.append(
            DataFile(
                path=f.rel_path,
                size=os.path.getsize(full),
                partition_values=f.partition_values,
                modification_time=int(time.time() * 1000),
                stats=file_stats(full, self.data_schema.names),
            )
        )

    def close(self) -> list[DataFile]:
        """Finish every open file and describe all files this task wrote."""
        for key in list(self._open):
            self._finish(key)
        return self._done

    def discard(self) -> None:
        """Delete every file this task wrote (the task failed); safe to call twice."""
        for f in self._open.values():
            try:
                f.writer.close()
                f.sink.close()
            except Exception:  # the file is deleted below either way
                pass
        self._open.clear()
        for path in self._written_paths:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
        self._written_paths.clear()
        self._done.clear()
