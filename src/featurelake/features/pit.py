"""Point-in-time joins with Feast's semantics, in DuckDB (in memory) and Spark (bigger than memory).

For each entity row at time T and each feature view, the value is taken from
the view's newest row with the same join keys and ``event_timestamp <= T``,
and only if ``event_timestamp >= T - ttl`` (views without a TTL never
expire): exactly ``feast.infra.offline_stores.ibis.point_in_time_join``.
Newest-row-first means the TTL check on that one row decides, so an ASOF
join followed by the TTL test is the same relation. Rows keep the caller's
order; feature columns follow the entity columns in request order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from featurelake.features._refs import ViewRequest
from featurelake.features.latest import duckdb_connection, scan_expression

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["ENTITY_TS", "pit_join_duckdb", "pit_join_spark"]

ENTITY_TS = "event_timestamp"
"""The entity rows' timestamp column."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pit_join_duckdb(
    entities: pa.Table,
    requests: Sequence[ViewRequest],
    *,
    apply_ttl: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """The entity rows with their point-in-time feature values, as Arrow.

    Args:
        entities: join key columns and ``event_timestamp`` (UTC; naive values are taken as UTC).
        requests: the views and features to join.
        apply_ttl: False to ignore TTLs (the skew check compares with the online store, which
            keeps values past their TTL).
        con: a DuckDB connection with the delta extension loaded; a new one when omitted.
    """
    import pyarrow as pa

    if ENTITY_TS not in entities.column_names:
        raise ValueError(f"entity rows need an {ENTITY_TS!r} column; got {', '.join(entities.column_names)}")
    ts_type = entities.schema.field(ENTITY_TS).type
    if not pa.types.is_timestamp(ts_type):
        raise ValueError(f"{ENTITY_TS} must be a timestamp column, not {ts_type}")
    if ts_type.tz is None:
        entities = entities.set_column(
            entities.schema.get_field_index(ENTITY_TS),
            ENTITY_TS,
            entities.column(ENTITY_TS).cast(pa.timestamp(ts_type.unit)).cast(pa.timestamp("us", tz="UTC")),
        )
    own = con is None
    con = con or duckdb_connection()
    try:
        con.register("__entities", entities)
        selects = [f"e.{_q(c)}" for c in entities.column_names]
        joins = []
        for i, req in enumerate(requests):
            alias = f"f{i}"
            source = req.view.batch_source
            assert source is not None
            reverse = {v: k for k, v in (source.field_mapping or {}).items()}
            keys = req.join_keys
            ts = reverse.get(source.timestamp_field, source.timestamp_field)
            cols = [f"{_q(reverse.get(k, k))} AS {_q(k)}" for k in keys]
            cols += [f"{_q(reverse.get(f, f))} AS {_q(f)}" for f in req.features]
            cols.append(f"CAST({_q(ts)} AS TIMESTAMPTZ) AS __ts")
            bounds = "(SELECT max(event_timestamp) FROM __entities)"
            sub = f"SELECT {', '.join(cols)} FROM {scan_expression(req.view)} WHERE {_q(ts)} <= {bounds}"
            on = " AND ".join(f"e.{_q(k)} = {alias}.{_q(k)}" for k in keys)
            joins.append(f"ASOF LEFT JOIN ({sub}) {alias} ON {on} AND e.{ENTITY_TS} >= {alias}.__ts")
            fresh = "TRUE"
            if apply_ttl and req.ttl:
                micros = int(req.ttl.total_seconds() * 1_000_000)
                fresh = f"{alias}.__ts >= e.{ENTITY_TS} - INTERVAL ({micros}) MICROSECOND"
            for f in req.features:
                selects.append(f"CASE WHEN {fresh} THEN {alias}.{_q(f)} END AS {_q(f)}")
        sql = (
            "SELECT * EXCLUDE (__row) FROM ("
            f"SELECT e.__row, {', '.join(selects)} FROM "
            "(SELECT *, row_number() OVER () AS __row FROM __entities) e "
            f"{' '.join(joins)}) ORDER BY __row"
        )
        out = con.execute(sql).to_arrow_table()
        con.unregister("__entities")
        return out
    finally:
        if own:
            con.close()


def pit_join_spark(
    entities: DataFrame, requests: Sequence[ViewRequest], features_by_view: dict[str, DataFrame]
) -> DataFrame:
    """The same join on Spark, for entity sets that do not fit in memory.

    Per view, entity rows and feature rows are unioned, ordered by time within
    each join key (feature rows first on ties, since ``<=`` is inclusive), and
    each entity row takes the last feature row before it: a sort-based join
    that scales with the data instead of a range join. Runs on the cluster;
    nothing is collected.

    Args:
        entities: join keys and ``event_timestamp``.
        requests: the views and features.
        features_by_view: each view's source table as a Spark DataFrame.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rowid = "__row"
    base = entities.withColumn(rowid, F.monotonically_increasing_id())
    result = base
    for req in requests:
        source = req.view.batch_source
        assert source is not None
        keys = req.join_keys
        feats = features_by_view[req.view.name]
        reverse = {v: k for k, v in (source.field_mapping or {}).items()}
        packed = F.struct(
            *[F.col(reverse.get(f, f)).alias(f) for f in req.features],
            F.col(reverse.get(source.timestamp_field, source.timestamp_field)).alias("__ts"),
        )
        side = feats.select(
            *[F.col(reverse.get(k, k)).alias(k) for k in keys],
            F.col(reverse.get(source.timestamp_field, source.timestamp_field)).alias("__t"),
            F.lit(0).alias("__is_entity"),
            F.lit(None).cast("bigint").alias(rowid),
            packed.alias("__f"),
        )
        ent = base.select(
            *keys,
            F.col(ENTITY_TS).alias("__t"),
            F.lit(1).alias("__is_entity"),
            rowid,
            F.lit(None).cast(side.schema["__f"].dataType).alias("__f"),
        )
        w = (
            Window.partitionBy(*keys)
            .orderBy("__t", "__is_entity")
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
        )
        joined = (
            side.unionByName(ent)
            .withColumn("__last", F.last("__f", ignorenulls=True).over(w))
            .where(F.col("__is_entity") == 1)
        )
        fresh = F.lit(True)
        if req.ttl:
            fresh = F.col("__last.__ts") >= F.col("__t") - F.expr(
                f"INTERVAL {int(req.ttl.total_seconds())} SECONDS"
            )
        picked = joined.select(rowid, *[F.when(fresh, F.col(f"__last.{f}")).alias(f) for f in req.features])
        result = result.join(picked, on=rowid, how="left")
    return result.orderBy(rowid).drop(rowid)
