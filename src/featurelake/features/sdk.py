"""The retrieval SDK: training sets, online lookups and materialization over the lake's Feast repository.

Examples::

    from featurelake import features

    features.apply()                                    # register the repository (once per lake)
    features.materialize("2013-01-01", "2014-01-02")    # gold -> online store, the fast engine
    df = features.training_set("gold.flight_labels", "delay_model_v1",
                               start="2013-03-01", end="2013-04-01")
    row = features.online_features([{"carrier": "UA", "origin": "EWR", "dest": "IAH",
                                     "tailnum": "N14228"}], "delay_model_v1")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features._refs import resolve
from featurelake.features.pit import (
    ENTITY_TS,
    SLICE_ROWS,
    pit_join_duckdb,
    pit_join_spark,
    pit_join_to_parquet,
)
from featurelake.features.store import using_store

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureStore
    from pyspark.sql import DataFrame, SparkSession

    from featurelake.features.progress import MaterializeReporter

__all__ = ["materialize", "materialize_incremental", "online_features", "training_set", "write_training_set"]

Output = Literal["pandas", "arrow", "spark"]
Engine = Literal["duckdb", "feast"]
When = dt.date | dt.datetime | str


def _utc(value: When) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@contextmanager
def _label_batches(
    catalog: Catalog, table: str, start: When | None, end: When | None, where: str | None, rows: int
) -> Iterator[pa.RecordBatchReader]:
    """The label table's rows in ``[start, end)`` matching ``where``, in batches of ``rows`` rows.

    In time order, then by every other column: rows with the same time come in the same order
    on every call, so the same arguments give the same training set, row for row.
    """
    from featurelake.features.latest import duckdb_connection

    if not catalog.exists(table):
        raise ValueError(f"label table {table} does not exist in {catalog.settings.lake}")
    conds = []
    params: dict[str, Any] = {}
    if start is not None:
        conds.append(f"{ENTITY_TS} >= $start")
        params["start"] = _utc(start)
    if end is not None:
        conds.append(f"{ENTITY_TS} < $end")
        params["end"] = _utc(end)
    if where:
        conds.append(f"({where})")
    path = catalog.path(table).replace("'", "''")
    sql = f"SELECT * FROM delta_scan('{path}')" + (f" WHERE {' AND '.join(conds)}" if conds else "")
    con = duckdb_connection()
    try:
        names = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description]
        order = ", ".join(
            '"' + n.replace('"', '""') + '"' for n in [ENTITY_TS, *(n for n in names if n != ENTITY_TS)]
        )
        yield con.execute(f"{sql} ORDER BY {order}", params).to_arrow_reader(rows)
    finally:
        con.close()


def _label_rows(
    catalog: Catalog, table: str, start: When | None, end: When | None, where: str | None
) -> pa.Table:
    with _label_batches(catalog, table, start, end, where, 1_000_000) as batches:
        return batches.read_all()


def _is_spark(obj: object) -> bool:
    return hasattr(obj, "sparkSession") and hasattr(obj, "toArrow")


def _as_arrow(entities: Any) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    if isinstance(entities, pa.Table):
        return entities
    if isinstance(entities, pd.DataFrame):
        return pa.Table.from_pandas(entities, preserve_index=False)
    if isinstance(entities, list) and all(isinstance(r, Mapping) for r in entities):
        return pa.Table.from_pylist(entities)
    raise TypeError(
        f"entities must be a label table name, a pandas DataFrame or an Arrow table, not {type(entities)}"
    )


def _entity_rows(
    catalog: Catalog,
    entities: str | pd.DataFrame | pa.Table | DataFrame | list[dict[str, Any]],
    start: When | None,
    end: When | None,
    where: str | None,
) -> pa.Table:
    if isinstance(entities, str):
        return _label_rows(catalog, entities, start, end, where)
    if _is_spark(entities):
        return cast("DataFrame", entities).toArrow()
    return _as_arrow(entities)


def training_set(
    entities: str | pd.DataFrame | pa.Table | DataFrame | list[dict[str, Any]],
    features: str | Sequence[str] = "delay_model_v1",
    *,
    start: When | None = None,
    end: When | None = None,
    where: str | None = None,
    output: Output = "pandas",
    engine: Engine = "duckdb",
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    store: FeatureStore | None = None,
) -> pd.DataFrame | pa.Table | DataFrame:
    """A point-in-time correct training set: each entity row with the feature values known at its time.

    Args:
        entities: join keys and ``event_timestamp`` per row (pandas, Arrow or a Spark DataFrame),
            or the name of a label table such as ``"gold.flight_labels"`` whose rows are the entities.
        features: a feature service name (``"delay_model_v1"``) or ``["view:feature", ...]``.
        start: with a label table, the first ``event_timestamp`` to include (UTC).
        end: with a label table, the end of the range, excluded.
        where: with a label table, an extra SQL filter, e.g. ``"is_delayed IS NOT NULL"``.
        output: ``pandas``, ``arrow``, or ``spark`` (computed on Spark, nothing collected).
        engine: ``duckdb`` (featurelake's ASOF join) or ``feast`` (``get_historical_features``);
            both give the same values.
        settings: the lake and profile; the environment's when omitted.
        spark: the session for ``output="spark"``; featurelake's when omitted.
        store: an existing ``FeatureStore`` to reuse.

    Returns:
        The entity columns followed by one column per feature, in the entity rows' order
        (``engine="feast"`` returns Feast's order).

    Example::

        df = training_set("gold.flight_labels", "delay_model_v1",
                          start="2013-03-01", end="2013-04-01", where="is_delayed IS NOT NULL")
    """
    settings = settings or get_settings()
    catalog = Catalog(settings=settings)
    with using_store(settings, store) as store:
        requests, feast_features = resolve(store, features)

        if output == "spark":
            from featurelake.spark import get_spark

            spark = spark or get_spark("featurelake-training-set", settings=settings)
            if isinstance(entities, str):
                from pyspark.sql import functions as F

                ent = catalog.read(spark, entities)
                if start is not None:
                    ent = ent.where(F.col(ENTITY_TS) >= F.lit(_utc(start)))
                if end is not None:
                    ent = ent.where(F.col(ENTITY_TS) < F.lit(_utc(end)))
                if where:
                    ent = ent.where(where)
            elif _is_spark(entities):
                ent = cast("DataFrame", entities)
            else:
                ent = spark.createDataFrame(_as_arrow(entities).to_pandas())
            tables = {}
            for req in requests:
                source = req.view.batch_source
                assert source is not None
                path = source.path  # type: ignore[attr-defined]
                tables[req.view.name] = spark.read.format("delta").load(path)
            return pit_join_spark(ent, requests, tables)

        rows = _entity_rows(catalog, entities, start, end, where)
        if engine == "feast":
            job = store.get_historical_features(entity_df=rows.to_pandas(), features=feast_features)
            return job.to_arrow() if output == "arrow" else job.to_df()
        if engine != "duckdb":
            raise ValueError(f"engine={engine!r}; use one of: duckdb, feast")
        table = pit_join_duckdb(rows, requests)
        if output == "arrow":
            return table
        if output == "pandas":
            return table.to_pandas()
        raise ValueError(f"output={output!r}; use one of: pandas, arrow, spark")


def write_training_set(
    path: str | Path,
    entities: str | pd.DataFrame | pa.Table | DataFrame | list[dict[str, Any]],
    features: str | Sequence[str] = "delay_model_v1",
    *,
    start: When | None = None,
    end: When | None = None,
    where: str | None = None,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
    slice_rows: int = SLICE_ROWS,
) -> int:
    """:func:`training_set` written to a Parquet file as it is computed; returns the rows.

    The entity rows are joined ``slice_rows`` at a time (a label table's rows stream from it in
    time order) and each slice's rows go to ``path`` as they come, so writing a set takes the
    memory of one slice's join, whatever the set's size (``features training-set --output`` uses
    it). The other arguments are :func:`training_set`'s.
    """
    settings = settings or get_settings()
    catalog = Catalog(settings=settings)
    with using_store(settings, store) as store:
        requests, _ = resolve(store, features)
        if isinstance(entities, str):  # the label rows stream from the table, a slice at a time
            with _label_batches(catalog, entities, start, end, where, slice_rows) as batches:
                return pit_join_to_parquet(batches, requests, path, slice_rows=slice_rows)
        rows = _entity_rows(catalog, entities, start, end, where)
        return pit_join_to_parquet(rows, requests, path, slice_rows=slice_rows)


def online_features(
    entity_rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
    features: str | Sequence[str] = "delay_model_v1",
    *,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
) -> dict[str, list[Any]]:
    """Online feature values, read by Feast from the profile's online store.

    Args:
        entity_rows: one mapping of join keys per row (``[{"carrier": "UA", ...}]``) or
            columns (``{"carrier": ["UA", "AA"], ...}``).
        features: a feature service name or ``view:feature`` refs.

    Returns:
        Columns: the join keys, then each feature (None where missing).
    """
    with using_store(settings, store) as store:
        _, feast_features = resolve(store, features)
        if isinstance(entity_rows, Mapping):
            cols = {k: list(v) for k, v in entity_rows.items()}
            n = len(next(iter(cols.values()))) if cols else 0
            rows = [{k: cols[k][i] for k in cols} for i in range(n)]
        else:
            rows = [dict(r) for r in entity_rows]
        response = store.get_online_features(features=feast_features, entity_rows=rows)
        return response.to_dict()


def _engine_stats(store: FeatureStore) -> dict[str, dict[str, float]]:
    engine = getattr(store._get_provider(), "batch_engine", None)
    return dict(getattr(engine, "last_stats", {}))


@contextmanager
def _reporting(
    store: FeatureStore, views: list[str] | None, reporter: MaterializeReporter | None
) -> Iterator[None]:
    """Tell ``reporter`` which views Feast is about to materialize, then, through the engine, each one."""
    from feast import OnDemandFeatureView

    from featurelake.features.engine import FeaturelakeEngine

    engine = getattr(store._get_provider(), "batch_engine", None)
    if reporter is None or not isinstance(engine, FeaturelakeEngine):
        yield
        return
    # Feast's own choice of views, in its order (private, as the engine is: Feast has no public
    # way to ask); on-demand views are written without the batch engine, so they are not counted.
    chosen = store._get_feature_views_to_materialize(views)
    reporter.started([v.name for v in chosen if not isinstance(v, OnDemandFeatureView)])
    with engine.reporting(reporter):
        yield


def materialize(
    start: When,
    end: When,
    *,
    views: Sequence[str] | None = None,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
    reporter: MaterializeReporter | None = None,
) -> dict[str, dict[str, float]]:
    """Load each view's latest values with ``start <= event_timestamp <= end`` into the online store.

    Runs ``FeatureStore.materialize`` with featurelake's engine (the profile's config), so the
    registry records the interval as Feast's own materialization would.

    Args:
        start: the first event time to load (UTC; naive means UTC).
        end: the last event time to load, included.
        views: only these feature views; every online view when None.
        settings: the lake and profile; the environment's when omitted.
        store: an open ``FeatureStore``; one for ``settings`` when omitted.
        reporter: told about each view as it starts and finishes (with featurelake's engine).

    Returns:
        Per view: rows read, entities written and the seconds spent querying, encoding, writing.
    """
    with using_store(settings, store) as store:
        names = list(views) if views else None
        with _reporting(store, names, reporter):
            store.materialize(_utc(start), _utc(end), feature_views=names)
        return _engine_stats(store)


def materialize_incremental(
    end: When,
    *,
    views: Sequence[str] | None = None,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
    reporter: MaterializeReporter | None = None,
) -> dict[str, dict[str, float]]:
    """Materialize each view from where its last materialization ended (or ``end - ttl``) to ``end``.

    Args and Returns as :func:`materialize`.
    """
    with using_store(settings, store) as store:
        names = list(views) if views else None
        with _reporting(store, names, reporter):
            store.materialize_incremental(_utc(end), feature_views=names)
        return _engine_stats(store)
