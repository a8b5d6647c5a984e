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

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from featurelake.features._refs import ViewRequest
from featurelake.features.latest import date_partition_filter, duckdb_connection, scan_expression

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["ENTITY_TS", "SLICE_ROWS", "pit_join_duckdb", "pit_join_spark", "pit_join_to_parquet"]

ENTITY_TS = "event_timestamp"
"""The entity rows' timestamp column."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalized(entities: pa.Table) -> pa.Table:
    """``entities`` checked, with a naive ``event_timestamp`` taken as UTC."""
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
    return entities


def _literal(ts: dt.datetime) -> str:
    return f"TIMESTAMPTZ '{ts.astimezone(dt.UTC).isoformat()}'"


def _pit_sql(entities: pa.Table, requests: Sequence[ViewRequest], apply_ttl: bool) -> str:
    """The ASOF join of the registered ``__entities`` with each view, in the entity rows' order.

    Each view is read only between the earliest entity time less its TTL (an older row can only
    give a stale value, which is null) and the latest entity time, with the matching bounds on
    its ``event_date`` partitions (:func:`date_partition_filter`): ``delta_scan`` skips the files
    outside the entity rows' span, so the join's memory follows the entity rows rather than the
    size of the feature tables.
    """
    import pyarrow.compute as pc

    span = pc.min_max(entities.column(ENTITY_TS)).as_py()
    first, last = span["min"], span["max"]
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
        ttl = req.ttl if apply_ttl else None
        if last is None:  # no entity rows: nothing to read
            bounds = "FALSE"
        else:
            bounds = f"{_q(ts)} <= {_literal(last)}"
            since = first - ttl if ttl else None
            if since is not None:
                bounds += f" AND {_q(ts)} >= {_literal(since)}"
            bounds += f" AND {date_partition_filter(req.view, since, last)}"
        sub = f"SELECT {', '.join(cols)} FROM {scan_expression(req.view)} WHERE {bounds}"
        on = " AND ".join(f"e.{_q(k)} = {alias}.{_q(k)}" for k in keys)
        joins.append(f"ASOF LEFT JOIN ({sub}) {alias} ON {on} AND e.{ENTITY_TS} >= {alias}.__ts")
        fresh = "TRUE"
        if ttl:
            micros = int(ttl.total_seconds() * 1_000_000)
            fresh = f"{alias}.__ts >= e.{ENTITY_TS} - INTERVAL ({micros}) MICROSECOND"
        for f in req.features:
            selects.append(f"CASE WHEN {fresh} THEN {alias}.{_q(f)} END AS {_q(f)}")
    return (
        "SELECT * EXCLUDE (__row) FROM ("
        f"SELECT e.__row, {', '.join(selects)} FROM "
        "(SELECT *, row_number() OVER () AS __row FROM __entities) e "
        f"{' '.join(joins)}) ORDER BY __row"
    )


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
    entities = _normalized(entities)
    own = con is None
    con = con or duckdb_connection()
    try:
        con.register("__entities", entities)
        out = con.execute(_pit_sql(entities, requests, apply_ttl)).to_arrow_table()
        con.unregister("__entities")
        return out
    finally:
        if own:
            con.close()


SLICE_ROWS = 200_000
"""Entity rows joined at once by :func:`pit_join_to_parquet`."""


def pit_join_to_parquet(
    entities: pa.Table | Iterable[pa.RecordBatch],
    requests: Sequence[ViewRequest],
    path: str | Path,
    *,
    slice_rows: int = SLICE_ROWS,
) -> int:
    """The same join, written to a Parquet file ``slice_rows`` entity rows at a time; returns the rows.

    Each slice of consecutive entity rows is joined alone and its rows stream to the file, so the
    memory follows the slice, not the whole set: with rows in time order (label tables are read
    that way) a slice also reads only its own stretch of each view. Joining rows one slice at a
    time gives the rows of the whole join, in the same order. ``entities`` may be a stream of
    record batches, which are re-cut into slices. The file is written beside ``path`` and renamed
    onto it when complete.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    con = duckdb_connection()
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for part in _slices(entities, slice_rows):
            part = _normalized(part)
            con.register("__entities", part)
            reader = con.execute(_pit_sql(part, requests, True)).to_arrow_reader(65_536)
            if writer is None:
                writer = pq.ParquetWriter(partial, reader.schema)
            for batch in reader:
                writer.write_batch(batch)
            con.unregister("__entities")
            rows += part.num_rows
        if writer is None:  # not even an empty slice: no columns to write
            raise ValueError("no entity rows and no columns: pass at least the entity table's schema")
        writer.close()
        writer = None
        partial.replace(target)
        return rows
    finally:
        con.close()
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)


def _slices(entities: pa.Table | Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """``entities`` as consecutive tables of ``rows`` rows (the last shorter); one empty table for none."""
    import pyarrow as pa

    if isinstance(entities, pa.Table):  # one way to cut: as the stream of its record batches
        entities = pa.RecordBatchReader.from_batches(entities.schema, entities.to_batches())
    pending: list[pa.RecordBatch] = []
    held, yielded = 0, False
    schema = getattr(entities, "schema", None)
    for batch in entities:
        schema = batch.schema
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, rows)
            yielded = True
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held or (not yielded and schema is not None):
        yield pa.Table.from_batches(pending, schema)


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
