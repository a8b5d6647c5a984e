"""Keeping Delta tables healthy: history, describe, optimize, z-order, vacuum.

Plain delta-rs on the driver; no Spark needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from featurelake.delta.reader import open_table

__all__ = [
    "MIN_VACUUM_HOURS",
    "TableStats",
    "describe",
    "history",
    "optimize",
    "vacuum",
]

MIN_VACUUM_HOURS = 168
"""Delta's default retention: a shorter one can delete files a running reader still needs."""


@dataclass(frozen=True)
class TableStats:
    """What ``featurelake tables`` shows for one table."""

    version: int
    rows: int
    files: int
    size_bytes: int
    partitions: int
    last_write: dt.datetime | None


def describe(path: str) -> TableStats:
    """Version, rows, files, bytes, partitions and last commit time of a table."""
    import pyarrow as pa

    table = open_table(path)
    adds = pa.table(table.get_add_actions(flatten=True))
    partition_cols = [c for c in adds.column_names if c.startswith("partition.")]
    partitions = (
        len({tuple(r[c] for c in partition_cols) for r in adds.select(partition_cols).to_pylist()})
        if partition_cols
        else (1 if adds.num_rows else 0)
    )
    rows = sum(n or 0 for n in adds.column("num_records").to_pylist()) if adds.num_rows else 0
    size = sum(adds.column("size_bytes").to_pylist()) if adds.num_rows else 0
    last = table.history(1)
    ts = dt.datetime.fromtimestamp(last[0]["timestamp"] / 1000, tz=dt.UTC) if last else None
    return TableStats(int(table.version()), rows, adds.num_rows, size, partitions, ts)


def history(path: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Commit history, newest first (version, timestamp, operation, parameters, userMetadata)."""
    return list(open_table(path).history(limit))


def optimize(
    path: str,
    *,
    zorder: list[str] | None = None,
    target_size: int | None = None,
    partition_filters: list[tuple[str, str, Any]] | None = None,
) -> dict[str, Any]:
    """Compact small files, or rewrite them z-ordered by ``zorder`` columns.

    Rows are unchanged; the commit is marked ``dataChange=false`` so streaming
    readers and concurrent overwrites of other partitions are unaffected.

    Raises:
        ValueError: a z-order column that is not in the table or is a partition column.
    """
    table = open_table(path)
    if zorder:
        names = [f.name for f in table.schema().fields]
        parts = table.metadata().partition_columns
        for col in zorder:
            if col not in names:
                raise ValueError(f"z-order column {col!r} is not in {path}; columns are: {', '.join(names)}")
            if col in parts:
                raise ValueError(
                    f"z-order column {col!r} is a partition column of {path}; pick a data column"
                )
        return dict(
            table.optimize.z_order(zorder, partition_filters=partition_filters, target_size=target_size)
        )
    return dict(table.optimize.compact(partition_filters=partition_filters, target_size=target_size))


def vacuum(
    path: str,
    *,
    retention_hours: int = MIN_VACUUM_HOURS,
    dry_run: bool = False,
    force: bool = False,
) -> list[str]:
    """Delete files no snapshot within ``retention_hours`` needs; returns their paths.

    Raises:
        ValueError: ``retention_hours`` below :data:`MIN_VACUUM_HOURS` without ``force``.
    """
    if retention_hours < 0:
        raise ValueError(f"retention_hours must be >= 0, got {retention_hours}")
    if retention_hours < MIN_VACUUM_HOURS and not force:
        raise ValueError(
            f"vacuum retention of {retention_hours} h is below the {MIN_VACUUM_HOURS} h guard: it can delete "
            "files that running readers and time travel still need; pass force=True (--force) to do it anyway"
        )
    table = open_table(path)
    return list(
        table.vacuum(retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False)
    )
