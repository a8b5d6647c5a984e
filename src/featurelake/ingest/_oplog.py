"""Driver-side appends of small row sets (quarantine rows, ``ops.*``) through native Delta.

Rows built on the driver become a Spark DataFrame with the table's declared
schema and go through :meth:`featurelake.catalog.Catalog.write` with the
batch's transaction ``(app id, version)``: Delta skips a write whose
transaction the table already holds, so a batch replayed after a crash adds
nothing twice. Runs on the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["append_rows", "look_up_ahead", "rows_frame", "side_by_side", "txn_done", "txn_version"]

_pool: ThreadPoolExecutor | None = None


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


def look_up_ahead(spark: SparkSession, catalog: Catalog, name: str, txn: tuple[str, int]) -> None:
    """Look ``txn`` up in table ``name`` now, ahead of the write that will carry it.

    The look-up is Delta's replay of the table's state (a few short Spark jobs, half a second
    for a small table on two cores). Delta keeps the state with the table's snapshot, so the
    write that follows reuses it unless another commit has landed in between: run beside other
    work (:func:`side_by_side`), the replay costs the write nothing. It changes nothing, and
    does nothing for a table not created yet.
    """
    if catalog.exists(name):
        txn_done(spark, catalog.ensure(name, spark), txn)


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


def side_by_side(spark: SparkSession, *calls: Callable[[], Any]) -> list[Any]:
    """Run independent Spark work at once (each call in a thread of its own); the calls' results.

    Meant for commits, each to its own table in its own transaction, and for look-ups ahead of a
    later commit (:func:`look_up_ahead`). A small Delta commit with a transaction is mostly
    waiting on short Spark jobs: Delta replays the table's log to look the transaction up, then
    writes a file or two. Side by side on two cores, three such commits take about two thirds of
    the time of one after another. Every call runs to its end before this returns; then the first
    failure, if any, is raised. Commits that landed are skipped by their transaction when the
    batch is replayed, so the order among them does not matter. Each call runs with the calling
    thread's Spark job properties (group, pool): cancelling the caller's jobs cancels these too.
    """
    global _pool
    from pyspark import inheritable_thread_target

    if len(calls) < 2:
        return [c() for c in calls]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="featurelake-side")
    futures = [_pool.submit(inheritable_thread_target(spark)(c)) for c in calls]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
