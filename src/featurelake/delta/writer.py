"""The write half of the ``delta`` Spark data source.

``df.write.format("delta").mode(...).option(...).save(path)`` plans the write
on the driver (:func:`plan_write`), runs :meth:`DeltaWriter.write` in every
task on the executors, then :meth:`DeltaWriter.commit` once on the driver.
The writer object is pickled to the executors: it holds only plain data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pyspark.sql.datasource import DataSourceArrowWriter, WriterCommitMessage

from featurelake.delta._commit import WriteRequest, commit_files
from featurelake.delta._files import DataFile, PartitionedFileWriter
from featurelake.delta.schema import TableSchema
from featurelake.errors import SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DeltaWriter", "WriteOptions", "plan_write"]

DEFAULT_TARGET_BYTES = 128 << 20
_TRUE = {"true", "1", "yes"}


@dataclass(frozen=True)
class WriteOptions:
    """The writer options, spelled as Delta spells them (Spark passes them lower-cased)."""

    path: str
    txn_app_id: str | None = None
    txn_version: int | None = None
    replace_where: str | None = None
    merge_schema: bool = False
    user_metadata: str | None = None
    partition_by: tuple[str, ...] = ()
    """Partition columns when the write creates the table (tables from the catalog have their own)."""
    target_bytes: int = DEFAULT_TARGET_BYTES

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> WriteOptions:
        """Validate raw data source options.

        Raises:
            ValueError: a missing path, a half txn pair, or a malformed number.
        """
        opts = {k.lower(): v for k, v in options.items()}
        path = opts.get("path")
        if not path:
            raise ValueError("the delta data source needs a path: df.write.format('delta').save(path)")
        app, version = opts.get("txnappid"), opts.get("txnversion")
        if (app is None) != (version is None):
            raise ValueError("options txnAppId and txnVersion must be given together")
        try:
            txn_version = int(version) if version is not None else None
            target = int(opts.get("targetfilesize", DEFAULT_TARGET_BYTES))
        except ValueError as e:
            raise ValueError(f"txnVersion and targetFileSize must be integers: {e}") from e
        if txn_version is not None and txn_version < 0:
            raise ValueError(f"txnVersion must be >= 0, got {txn_version}")
        parts = tuple(p.strip() for p in opts.get("partitionby", "").split(",") if p.strip())
        return cls(
            path=os.path.abspath(path),
            txn_app_id=app,
            txn_version=txn_version,
            replace_where=opts.get("replacewhere"),
            merge_schema=opts.get("mergeschema", "false").lower() in _TRUE,
            user_metadata=opts.get("usermetadata"),
            partition_by=parts,
            target_bytes=target,
        )


@dataclass(frozen=True)
class WritePlan:
    """What the driver decided before any task ran."""

    request: WriteRequest
    job_id: str
    target_bytes: int
    skip: bool = False
    """The txn pair was already committed: tasks write nothing and commit is a no-op."""
    extra: dict[str, Any] = field(default_factory=dict)


def plan_write(options: WriteOptions, incoming: TableSchema, *, overwrite: bool) -> WritePlan:
    """Decide on the driver how a write of ``incoming`` rows to ``options.path`` goes.

    Raises:
        SchemaError: the data does not fit the table.
        ValueError: options that contradict the table or each other.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    mode: Literal["append", "overwrite"] = "overwrite" if overwrite else "append"
    if options.replace_where is not None and not overwrite:
        raise ValueError("option replaceWhere needs mode('overwrite')")
    job_id = uuid.uuid4().hex[:16]
    try:
        dt = DeltaTable(options.path)
    except TableNotFoundError:
        dt = None
    if dt is None:
        request = WriteRequest(
            path=options.path,
            mode=mode,
            schema=incoming,
            partition_by=options.partition_by,
            read_version=None,
            replace_where=options.replace_where,
            txn_app_id=options.txn_app_id,
            txn_version=options.txn_version,
            user_metadata=options.user_metadata,
            merge_schema=options.merge_schema,
        )
        for p in options.partition_by:
            incoming.column(p)
        return WritePlan(request, job_id, options.target_bytes)

    table_schema = TableSchema.from_delta_json(dt.schema().to_json())
    partition_by = tuple(dt.metadata().partition_columns)
    if options.partition_by and options.partition_by != partition_by:
        raise ValueError(
            f"table {options.path} is partitioned by {list(partition_by)}, not {list(options.partition_by)}"
        )
    table_schema.check_writable(incoming, merge=options.merge_schema, table=options.path)
    schema = table_schema.merged_with(incoming) if options.merge_schema else table_schema
    for c in schema.columns:
        if not c.nullable and c.name not in incoming.names:
            raise SchemaError(
                f"column {c.name!r} of table {options.path} is NOT NULL but missing from the data"
            )
    skip = False
    if options.txn_app_id is not None and options.txn_version is not None:
        done = dt.transaction_version(options.txn_app_id)
        skip = done is not None and done >= options.txn_version
    request = WriteRequest(
        path=options.path,
        mode=mode,
        schema=schema,
        partition_by=partition_by,
        read_version=int(dt.version()),
        replace_where=options.replace_where,
        txn_app_id=options.txn_app_id,
        txn_version=options.txn_version,
        user_metadata=options.user_metadata,
        merge_schema=options.merge_schema,
    )
    if options.replace_where is not None:
        from featurelake.delta import _predicate

        _predicate.evaluate(options.replace_where, [], schema, list(partition_by), table=options.path)
    return WritePlan(request, job_id, options.target_bytes, skip=skip)


class DeltaCommitMessage(WriterCommitMessage):
    """The files one task wrote; travels from an executor to the driver."""

    def __init__(self, files: list[DataFile]) -> None:
        self.files = files


def conform(batch: pa.RecordBatch, schema: pa.Schema, *, table: str) -> pa.RecordBatch:
    """Cast a Spark Arrow batch to the table's Arrow schema (executor side).

    Missing nullable columns become nulls; NOT NULL columns are checked.

    Raises:
        SchemaError: a NOT NULL column holds nulls, or a value does not cast.
    """
    import pyarrow as pa

    arrays = []
    names = set(batch.schema.names)
    for f in schema:
        if f.name in names:
            col = batch.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise SchemaError(
                        f"column {f.name!r} of {table}: cannot cast {col.type} to {f.type}: {e}"
                    ) from e
        else:
            col = pa.nulls(batch.num_rows, f.type)
        if not f.nullable and col.null_count:
            raise SchemaError(f"column {f.name!r} of {table} is NOT NULL but {col.null_count} rows hold null")
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class DeltaWriter(DataSourceArrowWriter):
    """Writes a DataFrame into a Delta table: files per task, one commit on the driver."""

    def __init__(self, plan: WritePlan) -> None:
        self.plan = plan

    def write(self, iterator: Iterator[pa.RecordBatch]) -> DeltaCommitMessage:
        """Write this task's rows (runs on an executor)."""
        from pyspark import TaskContext

        if self.plan.skip:
            return DeltaCommitMessage([])
        req = self.plan.request
        ctx = TaskContext.get()
        task = f"{ctx.partitionId():05d}-a{ctx.attemptNumber()}" if ctx is not None else "00000-a0"
        schema = req.schema.to_arrow()
        out = PartitionedFileWriter(
            req.path,
            schema,
            list(req.partition_by),
            file_prefix=f"part-{task}-{self.plan.job_id}",
            target_bytes=self.plan.target_bytes,
        )
        try:
            for batch in iterator:
                out.write(conform(batch, schema, table=req.path))
            return DeltaCommitMessage(out.close())
        except BaseException:
            out.discard()
            raise

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        """Commit every task's files in one Delta transaction (runs on the driver)."""
        if self.plan.skip:
            return
        files = [f for m in messages if isinstance(m, DeltaCommitMessage) for f in m.files]
        try:
            commit_files(self.plan.request, files)
        except BaseException:
            self._delete(files)
            raise
        finally:
            self._sweep(keep={f.path for f in files})

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        """Delete every file of this job: the table is left as it was (runs on the driver)."""
        files = [f for m in messages if isinstance(m, DeltaCommitMessage) for f in m.files]
        self._delete(files)
        self._sweep(keep=set())

    def _delete(self, files: list[DataFile]) -> None:
        for f in files:
            full = os.path.join(self.plan.request.path, f.path)
            try:
                os.remove(full)
            except FileNotFoundError:
                pass
            _remove_empty_dirs(os.path.dirname(full), self.plan.request.path)

    def _sweep(self, keep: set[str]) -> None:
        """Delete files of this job that no commit refers to (killed or speculative tasks)."""
        root = self.plan.request.path
        if not os.path.isdir(root):
            return
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d != "_delta_log"]
            for name in names:
                if self.plan.job_id not in name:
                    continue
                full = os.path.join(folder, name)
                if os.path.relpath(full, root).replace(os.sep, "/") not in keep:
                    os.remove(full)
                    _remove_empty_dirs(folder, root)


def _remove_empty_dirs(folder: str, root: str) -> None:
    root = os.path.abspath(root)
    folder = os.path.abspath(folder)
    while folder.startswith(root + os.sep):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
