"""Reading tables by partition day, and what a table holds per day, for jobs and the planner.

Partition listings come from the Delta log (delta-rs on the driver), so the
planner never starts a Spark job to find out what exists.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

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

    Native Delta prunes to those partitions from the log, so a job reads exactly the
    days it declares. Runs on the driver.
    """
    from pyspark.sql import functions as F

    spec = catalog.spec(table)
    names = columns or spec.schema.names
    if not catalog.exists(table):
        ddl = ", ".join(f"`{c.name}` {c.spark_type()}" for c in spec.schema.columns)
        return spark.createDataFrame([], ddl).select(*[f"`{n}`" for n in names])
    df = catalog.read(spark, table)
    return df.where(F.col("event_date").between(F.lit(start), F.lit(end))).select(*[f"`{n}`" for n in names])


def read_whole(spark: SparkSession, catalog: Catalog, table: str) -> DataFrame:
    """Every row of an unpartitioned table (an empty DataFrame when it does not exist yet)."""
    if not catalog.exists(table):
        ddl = ", ".join(f"`{c.name}` {c.spark_type()}" for c in catalog.spec(table).schema.columns)
        return spark.createDataFrame([], ddl)
    return catalog.read(spark, table)
