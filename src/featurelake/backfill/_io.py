"""Reading tables by partition day, and what a table holds per day, for jobs and the planner.

Partition listings come from the Delta log (delta-rs on the driver), so the
planner never starts a Spark job to find out what exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections import defaultdict
from typing import TYPE_CHECKING
from urllib.parse import unquote

from featurelake.delta import load_snapshot

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from featurelake.catalog import Catalog

__all__ = ["partition_files", "partition_rows", "read_days", "read_whole", "table_files"]

_LIST_BATCH = 32


def _day(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def partition_files(catalog: Catalog, table: str, *, column: str = "event_date") -> dict[dt.date, list[str]]:
    """Live data files per partition day of ``table`` (sorted); {} when the table does not exist."""
    if not catalog.exists(table):
        return {}
    snap = load_snapshot(catalog.path(table))
    files: dict[dt.date, list[str]] = defaultdict(list)
    for f in snap.files:
        day = _day(f.partition_values.get(column))
        if day is not None:
            files[day].append(f.path)
    return {day: sorted(paths) for day, paths in files.items()}


def table_files(catalog: Catalog, table: str) -> list[str]:
    """Every live data file of ``table`` (sorted); [] when the table does not exist."""
    if not catalog.exists(table):
        return []
    return sorted(f.path for f in load_snapshot(catalog.path(table)).files)


def partition_rows(
    catalog: Catalog, table: str, start: dt.date, end: dt.date, *, column: str = "event_date"
) -> dict[dt.date, int]:
    """Rows per partition day in [start, end] (from file statistics; days without files are absent)."""
    if not catalog.exists(table):
        return {}
    snap = load_snapshot(catalog.path(table))
    rows: dict[dt.date, int] = defaultdict(int)
    for f in snap.files:
        day = _day(f.partition_values.get(column))
        if day is not None and start <= day <= end:
            rows[day] += int(f.num_records or 0)
    return dict(rows)


def read_days(
    spark: SparkSession,
    catalog: Catalog,
    table: str,
    start: dt.date,
    end: dt.date,
    *,
    columns: list[str] | None = None,
) -> DataFrame:
    """The rows of ``table`` whose ``event_date`` is in [start, end], and nothing else.

    Spark is handed only the files of those partitions (from the Delta log), so a
    job reads exactly the days it declares. Runs on the driver.
    """
    spec = catalog.spec(table)
    schema = spec.schema
    names = columns or schema.names
    ddl = ", ".join(f"`{c.name}` {c.spark_type()}" for c in schema.columns)
    if not catalog.exists(table):
        return spark.createDataFrame([], ddl).select(*names)
    snap = load_snapshot(catalog.path(table))
    paths = [
        os.path.join(snap.path, unquote(f.path))
        for f in snap.files
        if (day := _day(f.partition_values.get("event_date"))) is not None and start <= day <= end
    ]
    if not paths:
        return spark.createDataFrame([], ddl).select(*names)
    # Spark lists more than 32 paths (spark.sql.sources.parallelPartitionDiscovery.threshold) with a
    # distributed job that costs ~1.5 s per read here; groups below the threshold are listed in place.
    reader = spark.read.schema(ddl).option("basePath", snap.path)
    parts = [
        reader.parquet(*paths[i : i + _LIST_BATCH]).select(*[f"`{n}`" for n in names])
        for i in range(0, len(paths), _LIST_BATCH)
    ]
    return functools.reduce(lambda a, b: a.unionByName(b), parts)


def read_whole(spark: SparkSession, catalog: Catalog, table: str) -> DataFrame:
    """Every row of an unpartitioned table (an empty DataFrame when it does not exist yet)."""
    from featurelake.delta import read_table

    if not catalog.exists(table):
        ddl = ", ".join(f"`{c.name}` {c.spark_type()}" for c in catalog.spec(table).schema.columns)
        return spark.createDataFrame([], ddl)
    return read_table(spark, catalog.path(table))
