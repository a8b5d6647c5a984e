"""Keeping Delta tables healthy: history, describe, optimize, z-order, vacuum, stray files.

``optimize`` and ``vacuum`` are Delta Lake's own ``OPTIMIZE … ZORDER BY`` and
``VACUUM`` run through Spark SQL on the driver. ``describe`` and ``history``
only read the log (delta-rs), so ``featurelake tables`` starts no JVM.
``sweep_strays`` removes what a write's lost task attempts left behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from featurelake.delta.snapshot import open_table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "MIN_VACUUM_HOURS",
    "TableStats",
    "check_retention",
    "describe",
    "history",
    "log_version",
    "optimize",
    "sweep_strays",
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


def human_size(n: int | None) -> str:
    """Bytes as people read them (``816.6 KiB``); ``-`` for None."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


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


def _quoted(path: str) -> str:
    return "delta.`" + os.path.abspath(path).replace("`", "``") + "`"


def optimize(
    spark: SparkSession,
    path: str,
    *,
    zorder: list[str] | None = None,
    where: str | None = None,
) -> dict[str, Any]:
    """Compact small files (Delta's ``OPTIMIZE``), or rewrite them z-ordered by ``zorder`` columns.

    Rows are unchanged; the commit is marked ``dataChange=false`` so streaming
    readers and concurrent overwrites of other partitions are unaffected.
    Runs on the driver; the rewrite runs as a Spark job.

    Args:
        spark: featurelake's session (native Delta).
        path: the table's folder.
        zorder: data columns to cluster by.
        where: a predicate over partition columns limiting the partitions rewritten.

    Returns:
        Delta's metrics (``numFilesAdded``, ``numFilesRemoved``, …).

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
    statement = f"OPTIMIZE {_quoted(path)}"
    if where:
        statement += f" WHERE {where}"
    if zorder:
        statement += " ZORDER BY (" + ", ".join(f"`{c}`" for c in zorder) + ")"
    metrics = spark.sql(statement).collect()[0]["metrics"].asDict()
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}


def vacuum(
    spark: SparkSession,
    path: str,
    *,
    retention_hours: int = MIN_VACUUM_HOURS,
    dry_run: bool = False,
    force: bool = False,
    lite: bool = False,
) -> list[str]:
    """Delete files no snapshot within ``retention_hours`` needs (Delta's ``VACUUM``).

    With ``lite``, ``VACUUM LITE``: only the files the log removed, found from the log alone;
    files no commit names (a writer's files before its commit) are left alone. Where the log
    no longer holds every removal since the last vacuum, Delta refuses LITE and a full
    ``VACUUM`` runs instead.

    Returns:
        The deleted (or, with ``dry_run``, deletable) files' paths.

    Raises:
        ValueError: ``retention_hours`` below :data:`MIN_VACUUM_HOURS` without ``force``,
            checked before anything else runs.
    """
    check_retention(retention_hours, force=force)
    statement = f"VACUUM {_quoted(path)}{' LITE' if lite else ''} RETAIN {int(retention_hours)} HOURS"
    if dry_run:
        return [r[0] for r in spark.sql(statement + " DRY RUN").collect()]
    before = {f.path for f in _files_on_disk(path)}
    # featurelake's own guard (above) replaces Delta's, which refuses anything under 168 h; and
    # Delta 4.4 ignores RETAIN n HOURS (other than 0) unless told to honour the window it is given.
    settings = {
        "spark.databricks.delta.retentionDurationCheck.enabled": "false",
        "spark.databricks.delta.vacuum.retentionWindowIgnore.enabled": "false",
    }
    previous: dict[str, str | None] = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        try:
            spark.sql(statement).collect()
        except Exception as e:
            if not lite or "DELTA_CANNOT_VACUUM_LITE" not in str(e):
                raise
            spark.sql(statement.replace(" LITE", "")).collect()
    finally:
        for key, old in previous.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)
    after = {f.path for f in _files_on_disk(path)}
    removed = sorted(before - after)
    _remove_checksum_sidecars(removed)
    return removed


def _remove_checksum_sidecars(files: Iterable[str]) -> None:
    """Delete Hadoop's ``.<name>.crc`` beside each of ``files`` (deleted data files).

    Sessions write through Hadoop's raw local file system, which neither writes these nor
    deletes them; a lake written before (by the checksummed one) still has them beside its
    older files. A vacuumed file's checksums go with it: an erasure leaves nothing derived
    from the removed rows.
    """
    for file in files:
        head, tail = os.path.split(file)
        try:
            os.remove(os.path.join(head, f".{tail}.crc"))
        except FileNotFoundError:
            continue


def check_retention(retention_hours: int, *, force: bool = False) -> None:
    """Refuse a vacuum retention that can break running readers, unless forced.

    Raises:
        ValueError: negative, or below :data:`MIN_VACUUM_HOURS` without ``force``.
    """
    if retention_hours < 0:
        raise ValueError(f"retention_hours must be >= 0, got {retention_hours}")
    if retention_hours < MIN_VACUUM_HOURS and not force:
        raise ValueError(
            f"vacuum retention of {retention_hours} h is below the {MIN_VACUUM_HOURS} h guard: it can delete "
            "files that running readers and time travel still need; pass force=True (--force) to do it anyway"
        )


def _files_on_disk(path: str) -> list[os.DirEntry[str]]:
    found: list[os.DirEntry[str]] = []
    stack = [path]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith(("_delta_log", ".", "_")):
                    continue
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.name.endswith(".parquet"):
                    found.append(entry)
    return found


def log_version(path: str) -> int:
    """The table's latest committed version from its log folder (-1: no table yet)."""
    try:
        names = os.listdir(os.path.join(path, "_delta_log"))
    except FileNotFoundError:
        return -1
    versions = [int(n[:20]) for n in names if len(n) == 25 and n.endswith(".json") and n[:20].isdigit()]
    return max(versions, default=-1)


def _committed_since(path: str, version: int) -> set[str]:
    """Relative paths of the files any commit after ``version`` adds or removes."""
    log_dir = os.path.join(path, "_delta_log")
    named: set[str] = set()
    for v in range(version + 1, log_version(path) + 1):
        with open(os.path.join(log_dir, f"{v:020d}.json"), encoding="utf-8") as f:
            for line in f:
                action = json.loads(line)
                for kind in ("add", "remove"):
                    if kind in action:
                        named.add(os.path.normpath(unquote(action[kind]["path"])))
    return named


def sweep_strays(
    path: str,
    *,
    after_version: int,
    since: float,
    until: float,
    partitions: Iterable[str] | None = None,
) -> list[str]:
    """Delete the data files a write left behind that no commit names: its lost task attempts.

    Spark writes each task's files straight into the table; when an executor dies after
    writing but before its task is committed, the task runs again elsewhere and the first
    attempt's files stay on disk, in no commit. ``VACUUM`` would remove them only after the
    retention window. This removes them now: files under ``partitions`` (folders relative to
    the table, e.g. ``event_date=2013-01-01``; the whole table when omitted) modified between
    ``since`` and ``until`` (the write's start and end, epoch seconds) that no commit after
    ``after_version`` (the version before the write) adds or removes, with their ``.crc``.

    The caller must own those partitions for that window: a concurrent writer's files not yet
    committed look the same. The backfill owns the days it rewrites.

    Returns:
        The deleted files' paths.
    """
    folders = [os.path.join(path, p) for p in partitions] if partitions is not None else [path]
    candidates: list[str] = []
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for entry in _files_on_disk(folder):
            mtime = entry.stat().st_mtime
            if since <= mtime <= until:
                candidates.append(entry.path)
    if not candidates:
        return []
    named = _committed_since(path, after_version)  # read after listing: a file committed by now is named
    deleted: list[str] = []
    for file in candidates:
        if os.path.normpath(os.path.relpath(file, path)) in named:
            continue
        try:
            os.remove(file)
        except FileNotFoundError:
            pass
        deleted.append(file)
    _remove_checksum_sidecars(deleted)
    return deleted
