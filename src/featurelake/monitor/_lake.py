"""Reading the lake for the monitor: DuckDB over the catalog's tables, a missing table read as empty."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.config import Settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["Lake", "last_commit", "newest_partition_date", "unregistered"]


class Lake:
    """One DuckDB connection over the catalog (``featurelake.sql.connect``) for one monitor run.

    The views are made when the connection opens: a table created later (the run's own
    ``ops.monitor_*`` rows) needs a new :class:`Lake`. A lake folder that does not exist yet
    is made: the monitor of a deployment nothing has run in reports every table missing (and
    writes its checks there), where ``featurelake sql`` refuses with "no lake at ...".
    """

    def __init__(self, catalog: Catalog) -> None:
        from featurelake.sql import connect

        self.catalog = catalog
        catalog.settings.lake.mkdir(parents=True, exist_ok=True)
        self._con: duckdb.DuckDBPyConnection = connect(catalog)

    def exists(self, table: str) -> bool:
        """Whether ``table`` has been created (and so has a view)."""
        return self.catalog.exists(table)

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """The result of ``sql`` as Arrow (``?`` placeholders take ``params``)."""
        return self._con.execute(sql, params or []).to_arrow_table()

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def last_commit(path: str) -> tuple[dt.datetime, int, str]:
    """The time (UTC), version and operation of the Delta table's latest commit, from its log."""
    from deltalake import DeltaTable

    (entry,) = DeltaTable(path).history(1)
    when = dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, dt.UTC)
    return when, int(entry["version"]), str(entry.get("operation", "?"))


def newest_partition_date(path: str, column: str = "event_date") -> dt.date | None:
    """The latest value of date partition ``column`` among the table's files (its log alone: no data read)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(path).get_add_actions(flatten=True))
    name = f"partition.{column}"
    if name not in actions.column_names or actions.num_rows == 0:
        return None
    newest = pc.max(actions.column(name)).as_py()
    if isinstance(newest, str):  # partition values the log keeps as text
        return dt.date.fromisoformat(newest)
    return newest


def unregistered(settings: Settings) -> str | None:
    """Why the feature store cannot answer in this lake (its file registry was never written), or None.

    Checked before Feast is imported: a lake that never ran ``featurelake features apply`` has
    nothing to read through it, and opening the store would only create an empty registry.
    """
    from featurelake.features.store import feast_dir

    if settings.registry == "file" and not (feast_dir(settings) / "registry.db").exists():
        return "the feature repository is not registered in this lake (featurelake features apply)"
    return None
