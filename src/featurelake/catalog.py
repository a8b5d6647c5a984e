"""The table catalog: every table declared once, created on first use.

A :class:`TableSpec` names a table (``<layer>.<name>``), its schema, its
partition and key columns and what it holds. :class:`Catalog` maps specs to
Delta tables under the lake root (``<lake>/<layer>/<name>``), creates them
with their partitioning before the first write, and reads and writes them
through Spark's ``delta`` source.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from featurelake.config import Settings, get_settings
from featurelake.delta.schema import TableSchema
from featurelake.errors import TableNotFoundError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["LAYERS", "Catalog", "Layer", "TableSpec"]

Layer = Literal["bronze", "silver", "gold", "quarantine", "ops"]
LAYERS: tuple[Layer, ...] = ("bronze", "silver", "gold", "quarantine", "ops")


@dataclass(frozen=True)
class TableSpec:
    """The declaration of one table."""

    name: str
    """Qualified name ``<layer>.<table>``, e.g. ``silver.planes``."""
    schema: TableSchema
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    """Columns that identify a row (after deduplication, where the layer deduplicates)."""
    description: str = ""

    def __post_init__(self) -> None:
        layer, _, short = self.name.partition(".")
        if layer not in LAYERS or not short.isidentifier():
            raise ValueError(
                f"table name {self.name!r} must be '<layer>.<name>' with layer in {', '.join(LAYERS)}"
            )
        for col in self.partition_by + self.keys:
            self.schema.column(col)

    @classmethod
    def of(
        cls,
        name: str,
        columns: str,
        *,
        partition_by: Iterable[str] = (),
        keys: Iterable[str] = (),
        description: str = "",
    ) -> TableSpec:
        """Declare a table from a DDL column list."""
        return cls(name, TableSchema.parse(columns), tuple(partition_by), tuple(keys), description)

    @property
    def layer(self) -> Layer:
        """``bronze``, ``silver``, ``gold``, ``quarantine`` or ``ops``."""
        return self.name.split(".", 1)[0]  # type: ignore[return-value]

    @property
    def short_name(self) -> str:
        """The name within its layer."""
        return self.name.split(".", 1)[1]


class Catalog:
    """The declared tables of one lake."""

    def __init__(self, specs: Iterable[TableSpec] | None = None, *, settings: Settings | None = None) -> None:
        if specs is None:
            from featurelake.tables import ALL_TABLES

            specs = ALL_TABLES
        self.settings = settings or get_settings()
        self._specs: dict[str, TableSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"table {spec.name} is declared twice")
            self._specs[spec.name] = spec

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        """Every declared table name, sorted."""
        return sorted(self._specs)

    def spec(self, name: str) -> TableSpec:
        """The declaration of ``name``.

        Raises:
            TableNotFoundError: no table of that name is declared.
        """
        try:
            return self._specs[name]
        except KeyError:
            raise TableNotFoundError(
                f"unknown table {name!r}; known tables: {', '.join(self.names())}"
            ) from None

    def path(self, name: str) -> str:
        """Where the Delta table of ``name`` lives."""
        spec = self.spec(name)
        return os.path.join(str(self.settings.lake), spec.layer, spec.short_name)

    def exists(self, name: str) -> bool:
        """Whether the Delta table of ``name`` has been created."""
        return os.path.isdir(os.path.join(self.path(name), "_delta_log"))

    def ensure(self, name: str) -> str:
        """Create the table with its schema and partitioning unless it exists; return its path."""
        from deltalake import DeltaTable
        from deltalake.exceptions import DeltaError

        spec = self.spec(name)
        path = self.path(name)
        if self.exists(name):
            return path
        os.makedirs(path, exist_ok=True)
        try:
            DeltaTable.create(
                path,
                spec.schema.to_arrow(),
                partition_by=list(spec.partition_by) or None,
                mode="ignore",
                name=spec.name,
                description=spec.description,
            )
        except DeltaError:
            if not self.exists(name):  # lost a creation race: fine; anything else is real
                raise
        return path

    def read(
        self,
        spark: SparkSession,
        name: str,
        *,
        version: int | None = None,
        timestamp: str | dt.datetime | None = None,
    ) -> DataFrame:
        """The table as a Spark DataFrame (Spark's Parquet reader over the snapshot's files)."""
        from featurelake.delta.reader import read_table

        if not self.exists(name):
            self.ensure(name)
        return read_table(spark, self.path(name), version=version, timestamp=timestamp)

    def write(
        self,
        df: DataFrame,
        name: str,
        *,
        mode: Literal["append", "overwrite"] = "append",
        replace_where: str | None = None,
        txn: tuple[str, int] | None = None,
        merge_schema: bool = False,
        user_metadata: str | None = None,
    ) -> None:
        """Write ``df`` to the table through ``format("delta")``, creating the table first."""
        from featurelake.spark import activate

        path = self.ensure(name)
        activate(df.sparkSession)
        writer = df.write.format("delta").mode(mode)
        if replace_where is not None:
            writer = writer.option("replaceWhere", replace_where)
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
        if merge_schema:
            writer = writer.option("mergeSchema", "true")
        if user_metadata is not None:
            writer = writer.option("userMetadata", user_metadata)
        writer.save(path)
