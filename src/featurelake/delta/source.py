"""The ``delta`` Spark data source: ``format("delta")`` where Delta's JARs are absent.

Registered by :func:`featurelake.spark.get_spark` only when the JVM has no
``delta`` source of its own, so the same job code runs on a Delta-enabled
cluster with native Delta.
"""

from __future__ import annotations

from pyspark.sql.datasource import DataSource, DataSourceReader, DataSourceWriter
from pyspark.sql.types import StructType

from featurelake.delta.reader import DeltaReader, snapshot_from_options
from featurelake.delta.schema import TableSchema
from featurelake.delta.writer import DeltaWriter, WriteOptions, plan_write

__all__ = ["DeltaDataSource"]


class DeltaDataSource(DataSource):
    """Spark Python data source named ``delta`` (runs on the driver; pickled to workers)."""

    @classmethod
    def name(cls) -> str:
        """The short name: ``format("delta")``."""
        return "delta"

    def schema(self) -> str:
        """The table's schema as a Spark DDL string (for reads)."""
        return snapshot_from_options(self.options).schema.to_spark_ddl().replace(" NOT NULL", "")

    def reader(self, schema: StructType) -> DataSourceReader:
        """A reader over the snapshot the options select."""
        return DeltaReader(snapshot_from_options(self.options))

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        """A writer for ``mode("append")`` or ``mode("overwrite")``."""
        options = WriteOptions.parse(self.options)
        return DeltaWriter(plan_write(options, TableSchema.from_spark(schema), overwrite=overwrite))
