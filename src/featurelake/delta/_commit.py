"""Driver side of the ``delta`` writer: one atomic Delta commit per write.

delta-rs commits the files the executors wrote. Its own conflict checker
treats any concurrent removal as a conflict for the whole table, which would
make parallel backfills of different days fail; so the writer checks
conflicts itself at partition granularity against the commits made since the
write was planned, and retries delta-rs's commit when the clash was only
apparent (blind appends, other partitions).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from featurelake.delta import _predicate
from featurelake.delta._files import DataFile, partition_value_string
from featurelake.delta._log import read_commit
from featurelake.delta.schema import Column, TableSchema
from featurelake.errors import CommitConflictError, SchemaError, WriteError

__all__ = ["WriteRequest", "commit_files"]

MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class WriteRequest:
    """Everything the driver decided about one write before tasks ran; picklable."""

    path: str
    mode: Literal["append", "overwrite"]
    schema: TableSchema
    """The table schema the files were written in (after ``mergeSchema``)."""
    partition_by: tuple[str, ...]
    read_version: int | None
    """Table version the write was planned against; None when the table did not exist."""
    replace_where: str | None = None
    txn_app_id: str | None = None
    txn_version: int | None = None
    user_metadata: str | None = None
    merge_schema: bool = False

    @property
    def table(self) -> str:
        """The table path, for messages."""
        return self.path


def _commit_properties(req: WriteRequest) -> object:
    from deltalake import CommitProperties, Transaction

    custom: dict[str, object] = {
        "operationParameters": {
            "mode": "Overwrite" if req.mode == "overwrite" else "Append",
            "partitionBy": list(req.partition_by),
            **({"predicate": req.replace_where} if req.replace_where else {}),
        },
        "isBlindAppend": req.mode == "append",
    }
    if req.user_metadata is not None:
        custom["userMetadata"] = req.user_metadata
    txns = []
    if req.txn_app_id is not None and req.txn_version is not None:
        txns.append(Transaction(req.txn_app_id, req.txn_version))
    return CommitProperties(custom_metadata=custom, app_transactions=txns or None, max_commit_retries=0)


def _add_actions(files: list[DataFile]) -> list[object]:
    from deltalake.transaction import AddAction

    return [AddAction(f.path, f.size, f.partition_values, f.modification_time, True, f.stats) for f in files]


def _replaced(req: WriteRequest, partitions: list[dict[str, str | None]]) -> list[bool]:
    """Which of these partitions this write replaces (all of them for a full overwrite)."""
    if req.mode != "overwrite":
        return [False] * len(partitions)
    if req.replace_where is None:
        return [True] * len(partitions)
    return _predicate.evaluate(
        req.replace_where, partitions, req.schema, list(req.partition_by), table=req.table
    )


def _check_new_files(req: WriteRequest, files: list[DataFile]) -> None:
    if req.mode == "overwrite" and req.replace_where is not None and files:
        inside = _replaced(req, [f.partition_values for f in files])
        outside = sorted({str(f.partition_values) for f, ok in zip(files, inside, strict=True) if not ok})
        if outside:
            raise WriteError(
                f"data written to {req.table} does not match replaceWhere {req.replace_where!r}: "
                f"partitions {', '.join(outside[:5])}"
            )


def _create(req: WriteRequest, files: list[DataFile]) -> bool:
    """Create the table with these files in its first commit; False if someone else created it."""
    from deltalake import Schema
    from deltalake.exceptions import DeltaError
    from deltalake.transaction import create_table_with_add_actions

    try:
        create_table_with_add_actions(
            req.path,
            Schema.from_arrow(req.schema.to_arrow()),
            _add_actions(files),  # type: ignore[arg-type]
            mode="error",
            partition_by=list(req.partition_by) or None,
            commit_properties=_commit_properties(req),  # type: ignore[arg-type]
        )
        return True
    except DeltaError as e:
        if os.path.isdir(os.path.join(req.path, "_delta_log")) and "exist" in str(e).lower():
            return False
        raise


def commit_files(req: WriteRequest, files: list[DataFile]) -> int | None:
    """Commit ``files`` as one Delta transaction; return its version, or None for a no-op.

    Runs on the driver.

    Raises:
        CommitConflictError: a commit since ``read_version`` changed partitions this overwrite
            replaces.
        SchemaError: the table's schema changed so that these files no longer fit.
        WriteError: the commit could not be made.
    """
    from deltalake import DeltaTable
    from deltalake._internal import RemoveAction
    from deltalake.exceptions import CommitFailedError

    _check_new_files(req, files)
    read_version = req.read_version
    if read_version is None:
        if _create(req, files):
            return 0
        read_version = -1  # someone created it first: every commit of theirs is concurrent
    checked = read_version
    own: set[int] = set()
    for _attempt in range(MAX_ATTEMPTS):
        dt = DeltaTable(req.path)
        latest = dt.version()
        if req.txn_app_id is not None and req.txn_version is not None:
            done = dt.transaction_version(req.txn_app_id)
            if done is not None and done >= req.txn_version:
                return None
        for v in range(checked + 1, latest + 1):
            if v not in own:
                _check_concurrent(req, v)
        checked = latest
        table_schema = TableSchema.from_delta_json(dt.schema().to_json())
        missing = [c for c in req.schema.columns if c.name not in table_schema.names]
        if missing:
            if not req.merge_schema:
                raise SchemaError(f"table {req.table} changed its schema while this write ran")
            _add_columns(dt, missing)
            own.add(DeltaTable(req.path).version())
            continue
        actions: list[object] = _add_actions(files)
        if req.mode == "overwrite":
            actions += _removes(dt, req, RemoveAction)
        if not actions and req.txn_app_id is None:
            return None
        try:
            dt.create_write_transaction(
                actions,  # type: ignore[arg-type]
                "append",
                schema=table_schema.to_arrow(),
                partition_by=list(req.partition_by) or None,
                commit_properties=_commit_properties(req),  # type: ignore[arg-type]
            )
        except CommitFailedError:
            time.sleep(0.05 * (_attempt + 1))
            continue
        return int(DeltaTable(req.path).version())
    raise WriteError(f"could not commit to {req.table} after {MAX_ATTEMPTS} attempts")


def _add_columns(dt: object, columns: list[Column]) -> None:
    from deltalake import Field
    from deltalake.schema import PrimitiveType

    fields = [Field(c.name, PrimitiveType(c.type), nullable=True) for c in columns]
    dt.alter.add_columns(fields)  # type: ignore[attr-defined]


def _removes(dt: object, req: WriteRequest, remove_cls: type) -> list[object]:
    adds = pa.table(dt.get_add_actions(flatten=True))  # type: ignore[attr-defined]
    if adds.num_rows == 0:
        return []
    parts: list[dict[str, str | None]] = []
    for i in range(adds.num_rows):
        parts.append(
            {
                name: partition_value_string(adds.column(f"partition.{name}")[i].as_py())
                for name in req.partition_by
            }
        )
    hit = _replaced(req, parts)
    now = int(time.time() * 1000)
    paths = adds.column("path").to_pylist()
    sizes = adds.column("size_bytes").to_pylist()
    return [
        remove_cls(paths[i], True, now, sizes[i], parts[i] if req.partition_by else None)
        for i in range(adds.num_rows)
        if hit[i]
    ]


def _check_concurrent(req: WriteRequest, version: int) -> None:
    """Raise if commit ``version`` (made by someone else) conflicts with this write."""
    commit = read_commit(req.path, version)
    if (
        req.txn_app_id is not None
        and req.txn_version is not None
        and commit.txns.get(req.txn_app_id, -1) >= req.txn_version
    ):
        return  # handled by the caller as a no-op
    if req.mode != "overwrite":
        return  # blind appends never conflict
    changes = commit.data_changes
    if not changes:
        return
    parts = [{k: a.get("partitionValues", {}).get(k) for k in req.partition_by} for a in changes]
    hit = _replaced(req, parts)
    touched = sorted({_fmt(p) for p, h in zip(parts, hit, strict=True) if h})
    if touched:
        raise CommitConflictError(
            f"concurrent {commit.operation} (version {version}) changed "
            f"{', '.join(touched[:5]) or 'the table'} of {req.table}, which this overwrite replaces; "
            "the other write won and this one was discarded: re-run it"
        )


def _fmt(partition: dict[str, str | None]) -> str:
    return "/".join(f"{k}={v}" for k, v in partition.items()) or "all rows"
