"""The latest row per entity of a feature view's Delta (or Parquet) source, with DuckDB.

This is what Feast's materialization computes (``pull_all_from_table_or_query``
then a dedup on the join keys, newest ``event_timestamp`` first, then newest
created timestamp), done in one multi-threaded DuckDB query over
``delta_scan``. Like Feast, the window is ``start <= ts <= end``: both ends
included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from feast.data_format import DeltaFormat, ParquetFormat
from feast.infra.offline_stores.file_source import FileSource

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from feast import FeatureView

__all__ = [
    "UnsupportedSourceError",
    "date_partition_filter",
    "duckdb_connection",
    "latest_rows",
    "scan_expression",
    "source_join_keys",
]


class UnsupportedSourceError(Exception):
    """The feature view's source is not a Delta or Parquet ``FileSource``; Feast's engine takes it."""


def duckdb_connection(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the packaged ``delta`` extension loaded and the UTC time zone."""
    import duckdb

    from featurelake.sql import delta_extension_path

    con = duckdb.connect()
    con.execute(f"LOAD '{delta_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB turns an ASOF join whose left side it believes small into a nested loop; with an Arrow
    # table on the left it cannot tell, and 100k entity rows took ~50 s instead of ~0.3 s.
    con.execute("SET asof_loop_join_threshold = 0")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scan_expression(view: FeatureView) -> str:
    """``delta_scan('<path>')`` or ``read_parquet('<path>')`` for the view's batch source.

    Raises:
        UnsupportedSourceError: any other kind of source.
    """
    source = view.batch_source
    if not isinstance(source, FileSource):
        raise UnsupportedSourceError(f"{view.name}: source {type(source).__name__} is not a FileSource")
    path = source.path.replace("'", "''")
    if isinstance(source.file_format, DeltaFormat):
        return f"delta_scan('{path}')"
    if isinstance(source.file_format, ParquetFormat) or source.path.endswith(".parquet"):
        return f"read_parquet('{path}')"
    raise UnsupportedSourceError(f"{view.name}: file format {source.file_format} is not Delta or Parquet")


DATE_PARTITION = "event_date"
"""The partition column of featurelake's tables: the UTC date of the row's event time."""


def date_partition_filter(view: FeatureView, first: datetime | None, last: datetime) -> str:
    """``event_date`` bounds covering event times ``first`` (None: the beginning) to ``last``
    where the view's source is a Delta table partitioned by ``event_date``; ``TRUE`` otherwise.

    DuckDB's ``delta_scan`` skips files on partition values but not on timestamp statistics, so a
    time window alone opens every file of the table. The bounds take one day more on each side,
    so a source whose dates are not UTC loses no row; the timestamp filter stays the exact one.
    """
    from deltalake import DeltaTable

    source = view.batch_source
    if not isinstance(source, FileSource) or not isinstance(source.file_format, DeltaFormat):
        return "TRUE"
    if DATE_PARTITION not in DeltaTable(source.path).metadata().partition_columns:
        return "TRUE"
    hi = (_utc(last) + timedelta(days=1)).date().isoformat()
    bounds = f"{_quote(DATE_PARTITION)} <= DATE '{hi}'"
    if first is not None:
        bounds += f" AND {_quote(DATE_PARTITION)} >= DATE '{(_utc(first) - timedelta(days=1)).date()}'"
    return bounds


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def source_join_keys(view: FeatureView) -> list[str]:
    """The view's join keys as the source names them (``field_mapping`` undone)."""
    source = view.batch_source
    reverse = {v: k for k, v in ((source.field_mapping if source else None) or {}).items()}
    return [reverse.get(c.name, c.name) for c in view.entity_columns]


def latest_rows(
    con: duckdb.DuckDBPyConnection,
    view: FeatureView,
    start: datetime,
    end: datetime,
    *,
    only: pa.Table | None = None,
) -> pa.Table:
    """Join keys, features and the timestamp(s) of each entity's newest row with ``start <= ts <= end``.

    Columns carry the feature view's names (the source's ``field_mapping`` applied).

    Args:
        con: a connection from :func:`duckdb_connection`.
        view: the feature view.
        start: first event time (included).
        end: last event time (included).
        only: restrict to these entities: a table of the source's join-key columns
            (:func:`source_join_keys`); every entity when None.
    """
    source = view.batch_source
    assert source is not None  # scan_expression raised otherwise
    scan = scan_expression(view)
    reverse = {v: k for k, v in (source.field_mapping or {}).items()}
    join_keys = [c.name for c in view.entity_columns]
    features = [f.name for f in view.features]
    ts = source.timestamp_field
    created = source.created_timestamp_column or None
    wanted = [*join_keys, *features, ts] + ([created] if created else [])
    select = ", ".join(f"{_quote(reverse.get(c, c))} AS {_quote(c)}" for c in wanted)
    ts_col = _quote(reverse.get(ts, ts))
    keys = ", ".join(_quote(k) for k in join_keys)
    # Newest timestamp per key (a hash aggregate), then only those rows. Comparing the UTC
    # timestamps directly (no cast) keeps DuckDB's filter pushdown into the Parquet row groups;
    # the files themselves are skipped by the event_date bounds.
    dates = date_partition_filter(view, start, end)
    window = f"SELECT {select} FROM {scan} AS __src WHERE {ts_col} BETWEEN $start AND $end AND {dates}"
    if only is not None:
        con.register("__only", only)
        match = " AND ".join(
            f"__src.{_quote(reverse.get(k, k))} IS NOT DISTINCT FROM o.{_quote(reverse.get(k, k))}"
            for k in join_keys
        )
        window += f" AND EXISTS (SELECT 1 FROM __only o WHERE {match})"
    newest = f"SELECT {keys}, max({_quote(ts)}) AS __max FROM ({window}) GROUP BY ALL"
    on = " AND ".join(f"w.{_quote(k)} IS NOT DISTINCT FROM n.{_quote(k)}" for k in join_keys)
    sql = f"SELECT w.* FROM ({window}) w JOIN ({newest}) n ON {on} AND w.{_quote(ts)} = n.__max"
    if created:  # ties on the event timestamp: the newest created timestamp wins, as in Feast's dedup
        partition = ", ".join("w." + _quote(k) for k in join_keys)
        sql += f" QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY w.{_quote(created)} DESC) = 1"
    try:
        return con.execute(sql, {"start": _utc(start), "end": _utc(end)}).to_arrow_table()
    finally:
        if only is not None:
            con.unregister("__only")
