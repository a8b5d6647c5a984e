"""Driver-side appends of small row sets (quarantine rows, ``ops.*``) through native Delta.

Rows built on the driver become a Spark DataFrame with the table's declared
schema and go through :meth:`featurelake.catalog.Catalog.write` with the
batch's transaction ``(app id, version)``: Delta skips a write whose
transaction the table already holds, so a batch replayed after a crash adds
nothing twice. Runs on the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["append_rows", "rows_frame", "txn_done", "txn_version"]


def txn_version(spark: SparkSession, path: str, app_id: str) -> int | None:
    """The latest transaction version of ``app_id`` the Delta table at ``path`` holds (None: none).

    Delta keeps these ``SetTransaction`` entries in its log for idempotent writes, but neither
    its SQL nor its Python API exposes them; this asks the table's ``DeltaLog`` in the JVM.
    """
    jvm: Any = spark._jvm
    none = jvm.scala.Option.empty()
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    found = log.update(False, none, none).transactions().get(app_id)
    return int(found.get()) if found.isDefined() else None


def txn_done(spark: SparkSession, path: str, txn: tuple[str, int]) -> bool:
    """Whether the table at ``path`` already holds the commit of ``txn`` (app id, version)."""
    done = txn_version(spark, path, txn[0])
    return done is not None and done >= txn[1]


def rows_frame(
    spark: SparkSession, catalog: Catalog, name: str, rows: Sequence[Mapping[str, Any]]
) -> DataFrame:
    """``rows`` as a DataFrame with table ``name``'s columns (:meth:`Catalog.frame`)."""
    return catalog.frame(spark, name, rows)


def append_rows(
    spark: SparkSession,
    catalog: Catalog,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    txn: tuple[str, int] | None = None,
) -> bool:
    """Append ``rows`` to table ``name`` in one commit; with ``txn``, a repeat is a no-op.

    A replayed batch's transaction is looked up first, so a repeat costs no Spark job.

    Returns:
        Whether a commit was made.
    """
    path = catalog.ensure(name, spark)
    if txn is not None and txn_done(spark, path, txn):
        return False
    return catalog.append_rows(spark, name, rows, txn=txn)
