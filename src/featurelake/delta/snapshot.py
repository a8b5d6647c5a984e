"""A Delta table's snapshot from its log, on the driver: files, partitions, row counts.

The backfill planner and the maintenance commands ask what a table holds
(which partitions, which files, how many rows) without a Spark job: delta-rs
reads only the log. Data itself is read and written by Spark's native Delta.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from featurelake.delta.schema import TableSchema
from featurelake.errors import TableNotFoundError

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = ["Snapshot", "SnapshotFile", "load_snapshot", "open_table"]


@dataclass(frozen=True)
class SnapshotFile:
    """One live data file: where it is, its partition values and min/max statistics."""

    path: str
    partition_values: dict[str, Any]
    mins: dict[str, Any]
    maxs: dict[str, Any]
    null_counts: dict[str, Any]
    num_records: int | None


@dataclass(frozen=True)
class Snapshot:
    """A table at one version: schema, partitioning and live files (picklable)."""

    path: str
    version: int
    schema: TableSchema
    partition_by: tuple[str, ...]
    files: tuple[SnapshotFile, ...]


def open_table(
    path: str, *, version: int | None = None, timestamp: str | dt.datetime | None = None
) -> DeltaTable:
    """Open a Delta table, optionally at a version or a point in time.

    Raises:
        TableNotFoundError: there is no Delta table at ``path``.
        ValueError: both a version and a timestamp, or one the table does not have.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError
    from deltalake.exceptions import TableNotFoundError as DeltaNotFound

    if version is not None and timestamp is not None:
        raise ValueError("give versionAsOf or timestampAsOf, not both")
    try:
        table = DeltaTable(path)
    except DeltaNotFound as e:
        raise TableNotFoundError(f"no Delta table at {path}") from e
    try:
        if version is not None:
            table.load_as_version(int(version))
        elif timestamp is not None:
            when = dt.datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else timestamp
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            table.load_as_version(when)
    except (DeltaError, ValueError) as e:
        raise ValueError(
            f"cannot time-travel {path} to {version if version is not None else timestamp}: {e}"
        ) from e
    return table


def load_snapshot(
    path: str, *, version: int | None = None, timestamp: str | dt.datetime | None = None
) -> Snapshot:
    """The files and schema of the table at ``path`` (latest, or at a version or time)."""
    import pyarrow as pa

    table = open_table(path, version=version, timestamp=timestamp)
    schema = TableSchema.from_delta_json(table.schema().to_json())
    partition_by = tuple(table.metadata().partition_columns)
    adds = pa.table(table.get_add_actions(flatten=True))
    rows = adds.to_pylist()
    files = []
    for row in rows:
        files.append(
            SnapshotFile(
                path=row["path"],
                partition_values={p: row.get(f"partition.{p}") for p in partition_by},
                mins={k[4:]: v for k, v in row.items() if k.startswith("min.")},
                maxs={k[4:]: v for k, v in row.items() if k.startswith("max.")},
                null_counts={k[11:]: v for k, v in row.items() if k.startswith("null_count.")},
                num_records=row.get("num_records"),
            )
        )
    return Snapshot(os.path.abspath(path), int(table.version()), schema, partition_by, tuple(files))
