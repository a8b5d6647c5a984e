"""Executor side of the direct ingest path: decode, check and write bronze in one task.

:class:`BronzeTask` is the function ``mapInArrow`` runs over the landed files
of a micro-batch (``path, modificationTime, length, content``). For each file
it decodes the records (:func:`featurelake.avro.decode_file`), evaluates the
suite on the Arrow table (:mod:`featurelake.quality.arrow_checks`), and hands
the rows that pass every ``quarantine`` check to the ``delta`` writer's own
executor code (:class:`featurelake.delta.writer.DeltaWriter`), which writes
them as bronze Parquet files, not yet committed. Only small things go back to
the driver, as rows of one output:

- ``_kind`` 0: the records that failed a ``quarantine`` check, with their check flags;
- ``_kind`` 1: one row per file: size, hash, records, why it could not be read (with its
  bytes), and ``_counts``, the file's per-check counts and the event dates it sent to bronze;
- ``_kind`` 2: one row per task: ``_bronze_files``, the Parquet files it wrote.

The driver commits those files in the batch's Delta transaction, or deletes
them when the batch must write nothing. Compared with decoding into Spark rows
and writing bronze through ``format("delta")``, every record crosses the
Python/JVM boundary zero times instead of twice. A bad file is an answer,
never an exception.

Pickled to the executors: it holds the reader schema, the suite, the write
plan (plain data) and two scalars.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from featurelake.avro import arrow_schema
from featurelake.ingest.decode import (
    RECORD_ROW,
    _spark_type,
    decode_landed,
    event_dates,
    file_row_values,
    row_meta,
)
from featurelake.quality.suites import Suite

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.delta._files import DataFile
    from featurelake.delta.writer import DeltaWriter
    from featurelake.quality.arrow_checks import ArrowSuite

__all__ = ["TASK_ROW", "BronzeTask", "checked_schema", "data_files"]

TASK_ROW = 2


def checked_schema(reader: Mapping[str, Any]) -> pa.Schema:
    """The columns the suite sees on the direct path: the reader's fields, then ``event_date``."""
    import pyarrow as pa

    return arrow_schema(reader).append(pa.field("event_date", pa.date32()))


def data_files(rows: list[str | None]) -> list[DataFile]:
    """The Parquet files listed in the ``_bronze_files`` column of task rows."""
    from featurelake.delta._files import DataFile

    return [DataFile(**f) for row in rows if row for f in json.loads(row)]


class BronzeTask:
    """``mapInArrow`` function of the direct ingest path (runs on executors)."""

    def __init__(
        self,
        reader: Mapping[str, Any],
        event_time: str,
        suite: Suite,
        writer: DeltaWriter,
        *,
        batch_id: int,
        ingested_at: dt.datetime,
    ) -> None:
        self.reader = dict(reader)
        self.event_time = event_time
        self.suite = suite
        self.writer = writer
        self.batch_id = batch_id
        self.ingested_at = ingested_at

    def out_schema(self) -> pa.Schema:
        """The Arrow schema of every batch the task yields."""
        import pyarrow as pa

        meta = row_meta()
        meta += [(f"_x{i}", pa.bool_()) for i in range(len(self.suite.checks))]
        meta += [("_counts", pa.string()), ("_bronze_files", pa.string())]
        return pa.schema(list(checked_schema(self.reader)) + [pa.field(n, t) for n, t in meta])

    def ddl(self) -> str:
        """The Spark schema of the output, for ``mapInArrow``."""
        return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in self.out_schema())

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Decode, check and write every file of every input batch; then say what was written."""
        from featurelake.quality.arrow_checks import compile_suite

        compiled = compile_suite(self.suite, checked_schema(self.reader))
        out = self.out_schema()
        side: list[pa.RecordBatch] = []
        bronze = self._bronze(batches, compiled, out, side)
        if self.writer.plan.skip:
            # The batch's transaction is already in bronze (a replay after a crash): write
            # nothing, but still report every file and every quarantined record.
            for _ in bronze:
                pass
            written: list[DataFile] = []
        else:
            written = self.writer.write(bronze).files
        yield from side
        listing = json.dumps([dataclasses.asdict(f) for f in written])
        yield self._row(out, {"_kind": TASK_ROW, "_bronze_files": listing})

    def _bronze(
        self,
        batches: Iterator[pa.RecordBatch],
        compiled: ArrowSuite,
        out: pa.Schema,
        side: list[pa.RecordBatch],
    ) -> Iterator[pa.RecordBatch]:
        """Bronze rows per file; quarantined records and file rows go to ``side``."""
        data_schema = arrow_schema(self.reader)
        for path, mtime, length, content, records, error in decode_landed(batches, self.reader, data_schema):
            counts: dict[str, Any] | None = None
            if records is not None:
                good, counts = self._check(records, path, compiled, out, side)
                if good is not None:
                    yield good
            side.append(
                self._row(
                    out,
                    {
                        **file_row_values(path, mtime, length, content, records, error),
                        "_counts": json.dumps(counts) if counts is not None else None,
                    },
                )
            )

    def _check(
        self,
        records: pa.Table,
        path: str,
        compiled: ArrowSuite,
        out: pa.Schema,
        side: list[pa.RecordBatch],
    ) -> tuple[pa.RecordBatch | None, dict[str, Any]]:
        """Split one file's records: bronze rows returned, quarantined ones appended to ``side``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = records.num_rows
        checks = self.suite.checks
        counts: dict[str, Any] = {
            "n": n,
            "bad": 0,
            "warned": 0,
            "unexpected": [0] * len(checks),
            "denominators": [0] * len(checks),
            "dates": [],
        }
        if n == 0:
            return None, counts
        columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in records.columns]
        columns.append(event_dates(records.column(self.event_time)))
        table = pa.RecordBatch.from_arrays(columns, schema=compiled.schema)
        flags = compiled.flags(table)
        bad = _any([f for f, c in zip(flags, checks, strict=True) if c.severity == "quarantine"], n)
        warned = _any([f for f, c in zip(flags, checks, strict=True) if c.severity == "warn"], n)
        counts["unexpected"] = [f.true_count for f in flags]
        counts["denominators"] = compiled.denominators(table)
        counts["warned"] = warned.true_count
        nbad = counts["bad"] = bad.true_count
        good = table
        if nbad:
            good = table.filter(pc.invert(bad))
            side.append(self._quarantined(table.filter(bad), flags, bad, path, out))
        if not good.num_rows:
            return None, counts
        days = pc.unique(good.column("event_date")).cast(pa.int32())
        counts["dates"] = sorted(d for d in days.to_pylist() if d is not None)
        m = good.num_rows
        lineage = [
            pa.repeat(pa.scalar(path, pa.string()), m),
            pa.repeat(pa.scalar(self.ingested_at, pa.timestamp("us", tz="UTC")), m),
            pa.repeat(pa.scalar(self.batch_id, pa.int64()), m),
        ]
        return (
            pa.RecordBatch.from_arrays(
                [*good.columns, *lineage],
                names=[*good.schema.names, "_source_file", "_ingested_at", "_batch_id"],
            ),
            counts,
        )

    def _quarantined(
        self, rows: pa.RecordBatch, flags: list[pa.Array], bad: pa.Array, path: str, out: pa.Schema
    ) -> pa.RecordBatch:
        import pyarrow as pa
        import pyarrow.compute as pc

        k = rows.num_rows
        given = {name: rows.column(name) for name in rows.schema.names}
        given["_kind"] = pa.repeat(pa.scalar(RECORD_ROW, pa.int8()), k)
        given["_source_file"] = pa.repeat(pa.scalar(path, pa.string()), k)
        given["_record_index"] = pc.indices_nonzero(bad).cast(pa.int32())
        for i, f in enumerate(flags):
            given[f"_x{i}"] = f.filter(bad)
        arrays = [given[f.name] if f.name in given else pa.nulls(k, f.type) for f in out]
        return pa.RecordBatch.from_arrays(arrays, schema=out)

    @staticmethod
    def _row(out: pa.Schema, values: dict[str, Any]) -> pa.RecordBatch:
        import pyarrow as pa

        return pa.RecordBatch.from_arrays([pa.array([values.get(f.name)], f.type) for f in out], schema=out)


def _any(flags: list[pa.Array], n: int) -> pa.Array:
    """Element-wise OR of boolean arrays without nulls (all false when there are none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not flags:
        return pa.repeat(pa.scalar(False), n)
    out = flags[0]
    for f in flags[1:]:
        out = pc.or_(out, f)
    return out
