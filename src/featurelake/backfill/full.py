"""Backfill everything bronze covers: the call ``make demo`` makes after ingestion."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from featurelake.backfill import _io
from featurelake.backfill.plan import Request
from featurelake.backfill.runner import DEFAULT_CHUNK_DAYS, Reporter, run_backfill
from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["OUTPUT_TABLES", "backfill_all", "data_range", "table_rows"]

OUTPUT_TABLES = (
    "silver.flights",
    "silver.weather",
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
    "gold.flight_labels",
)


def data_range(catalog: Catalog) -> tuple[dt.date, dt.date] | None:
    """First event day in bronze .. the day after the last (the last day a daily feature row has)."""
    days = set(_io.partition_files(catalog, "bronze.flights")) | set(
        _io.partition_files(catalog, "bronze.weather")
    )
    if not days:
        return None
    return min(days), max(days) + dt.timedelta(days=1)


def backfill_all(
    *,
    catalog: Catalog | None = None,
    spark: SparkSession | None = None,
    parallel: int = 4,
    chunk_days: int = DEFAULT_CHUNK_DAYS,
    force: bool = False,
    reporter: Reporter | None = None,
) -> dict[str, int]:
    """Backfill silver and gold over the whole bronze data range; returns rows per table.

    Partitions already built from the same inputs are skipped (``force`` rebuilds them).

    Raises:
        FeaturelakeError: bronze is empty, or a partition failed (the message names them).
    """
    catalog = catalog or Catalog()
    span = data_range(catalog)
    if span is None:
        raise FeaturelakeError("bronze.flights and bronze.weather are empty: ingest first")
    result = run_backfill(
        Request.for_range(*span, force=force),
        catalog=catalog,
        spark=spark,
        parallel=parallel,
        chunk_days=chunk_days,
        reporter=reporter,
    )
    if not result.ok:
        raise FeaturelakeError("backfill failed: " + "; ".join(result.failures))
    return table_rows(catalog, OUTPUT_TABLES)


def table_rows(catalog: Catalog, tables: tuple[str, ...] = OUTPUT_TABLES) -> dict[str, int]:
    """Rows per table, from the Delta log's file statistics (0 for a table not created yet)."""
    from featurelake.delta import describe

    return {t: describe(catalog.path(t)).rows if catalog.exists(t) else 0 for t in tables}
