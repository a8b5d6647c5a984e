"""Streaming features: each ingest micro-batch updates ``carrier_delay_1h`` and ``origin_departures_1h``.

Hooked into ``featurelake ingest flights --continuous`` through the ingest
query's existing per-batch callback (``run_ingest(on_batch=...)``): after a
batch is committed to ``bronze.flights``, :class:`CarrierDelay1h` runs on the
driver:

1. event-time clock: ``T`` = the newest ``sched_dep_ts`` seen so far (this
   batch's newest, never moving backwards; recovered from the gold table on
   restart). The watermark is ``T - lateness``.
2. features at ``T``, per carrier (``carrier_delay_1h``) and per departure
   airport (``origin_departures_1h``) with departures in the last two hours:
   departures and mean ``dep_delay`` over ``event_ts`` in ``[T - 60 min, T)``, from
   bronze deduplicated on ``event_id`` (DuckDB over the Delta table), so a
   late event still inside the window counts. Events older than the
   watermark's window (``event_ts < T - lateness - 60 min``) can no longer
   change an emitted value and are ignored.
3. online: the rows go through the Feast push source ``<view>_push``
   (``PushMode.ONLINE``), Feast's own write path, before any Delta commit
   (``online=False`` skips this where :mod:`featurelake.features.online_stream`
   serves the online store: the Kafka ingest);
4. offline: the same rows are appended to ``gold.<view>`` in a Delta transaction
   tagged ``(<view>[:kafka], batch_id)``, so a replayed batch writes nothing
   twice (the landing and Kafka queries each number their batches from 0).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.definitions import PUSH_SOURCE
from featurelake.features.latest import duckdb_connection

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureStore

__all__ = ["CarrierDelay1h", "OnlinePusher"]

log = logging.getLogger(__name__)

APP_ID = "carrier_delay_1h"
TABLE = "gold.carrier_delay_1h"


@dataclass(frozen=True)
class StreamView:
    """One feature the hook keeps fresh: departures in the hour before T per ``key``, and their mean delay."""

    name: str
    key: str
    table: str
    push_source: str
    count: str
    mean: str


CARRIER_VIEW = StreamView("carrier_delay_1h", "carrier", TABLE, PUSH_SOURCE, "flights_1h", "dep_delay_avg_1h")
ORIGIN_VIEW = StreamView(
    "origin_departures_1h",
    "origin",
    "gold.origin_departures_1h",
    "origin_departures_1h_push",
    "departures_1h",
    "origin_dep_delay_avg_1h",
)
VIEWS = (CARRIER_VIEW, ORIGIN_VIEW)
"""Every streaming feature, in the order the hook writes them."""


@dataclass
class OnlinePusher:
    """Writes a streaming view's rows online through its Feast push source (``PushMode.ONLINE``)."""

    settings: Settings
    _store: FeatureStore | None = None

    def push(self, view: StreamView, rows: pd.DataFrame) -> None:
        from feast.data_source import PushMode

        if self._store is None:  # opened on first use, kept for the stream's life
            from featurelake.features.store import feature_store

            self._store = feature_store(self.settings)
        self._store.push(view.push_source, rows, to=PushMode.ONLINE)

    def close(self) -> None:
        """Release the feature store's connections."""
        if self._store is not None:
            from featurelake.features.store import close_store

            close_store(self._store)
            self._store = None


@dataclass
class CarrierDelay1h:
    """The per-batch hook: ``run_ingest("flights", on_batch=CarrierDelay1h())``."""

    settings: Settings = field(default_factory=get_settings)
    lateness: dt.timedelta = dt.timedelta(minutes=10)
    """How far behind the newest event time an event may arrive and still count."""
    window: dt.timedelta = dt.timedelta(minutes=60)
    clock: dt.datetime | None = None
    """The stream's event time ``T`` (newest event seen)."""
    pushed: list[dict[str, Any]] = field(default_factory=list)
    """What the last batch pushed (for tests and logs)."""
    pushed_at: float | None = None
    """When (``time.time()``) the last batch's values became readable online."""
    online: bool = True
    """Push online too; off when :mod:`featurelake.features.online_stream` serves the online store."""
    _pusher: OnlinePusher = field(init=False)

    def __post_init__(self) -> None:
        self._pusher = OnlinePusher(self.settings)

    def close(self) -> None:
        """Release the feature store's connections."""
        self._pusher.close()

    def __call__(self, report: Any) -> None:
        """Update the feature for one committed ingest batch (a ``BatchReport``)."""
        try:
            self.update(int(report.batch_id), source="landing" if report.offsets is None else "kafka")
        except Exception:  # a feature update must not stop ingestion; the next batch catches up
            log.exception("carrier_delay_1h: batch %s not pushed", getattr(report, "batch_id", "?"))

    def update(self, batch_id: int, source: str = "landing") -> pa.Table | None:
        """Compute, write and push ``carrier_delay_1h`` after bronze batch ``batch_id`` of ``source``.

        ``source`` (``landing`` or ``kafka``) says which ingest query's batch it was: each
        numbers its batches from 0, so the batch's rows are told apart by ``_kafka_topic``
        and the offline write's transaction by its app id.
        """
        catalog = Catalog(settings=self.settings)
        if not catalog.exists("bronze.flights"):
            return None
        gold_path = catalog.ensure(TABLE)
        catalog.ensure(ORIGIN_VIEW.table)
        bronze = catalog.path("bronze.flights").replace("'", "''")
        mine = "_kafka_topic IS NOT NULL" if source == "kafka" else "_kafka_topic IS NULL"
        con = duckdb_connection()
        try:
            newest = con.execute(
                f"SELECT max(sched_dep_ts) FROM delta_scan('{bronze}') WHERE _batch_id = $b AND {mine}",
                {"b": batch_id},
            ).fetchone()
            if self.clock is None:
                prior = con.execute(f"SELECT max(event_timestamp) FROM delta_scan('{gold_path}')").fetchone()
                self.clock = prior[0] if prior and prior[0] else None
            candidates = [t for t in (newest[0] if newest else None, self.clock) if t is not None]
            if not candidates:
                return None
            self.clock = max(candidates)
            t = self.clock
            computed = {view.name: self._compute(con, bronze, view, t) for view in VIEWS}
        finally:
            con.close()
        suffix = "" if source == "landing" else f":{source}"
        ready = [(view, computed[view.name]) for view in VIEWS if computed[view.name].num_rows]
        # online first: a Delta commit takes seconds, and freshness is what the online store serves
        for view, rows in ready if self.online else []:
            try:
                self._push(view, rows)
            except Exception:  # the offline history is still written; the next batch pushes again
                log.exception("%s: batch %s not pushed online", view.name, batch_id)
        for view, rows in ready:
            self._write_offline(catalog, view.table, rows, batch_id, view.name + suffix)
        return computed[CARRIER_VIEW.name]

    def _compute(self, con: Any, bronze: str, view: StreamView, t: dt.datetime) -> pa.Table:
        """``view`` at ``t``: per key with departures in the last two hours, those of the last hour."""
        return con.execute(
            f"""
            WITH f AS (
                SELECT {view.key} AS k, sched_dep_ts AS event_ts, dep_delay FROM delta_scan('{bronze}')
                WHERE sched_dep_ts >= $since AND sched_dep_ts < $t AND {view.key} IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC) = 1
            )
            SELECT k AS {view.key}, $t AS event_timestamp,
                   count(*) FILTER (WHERE event_ts >= $start) AS {view.count},
                   avg(dep_delay) FILTER (WHERE event_ts >= $start) AS {view.mean}
            FROM f GROUP BY k ORDER BY k
            """,
            {"t": t, "start": t - self.window, "since": t - 2 * self.window},
        ).to_arrow_table()

    def _write_offline(
        self, catalog: Catalog, table: str, rows: pa.Table, batch_id: int, app_id: str
    ) -> None:
        from featurelake.features.testing import conform
        from featurelake.spark import get_spark

        # Delta's idempotent transaction: a bronze batch replayed after a crash writes nothing twice.
        catalog.append_rows(get_spark(), table, conform(catalog, table, rows), txn=(app_id, batch_id))

    def _push(self, view: StreamView, rows: pa.Table) -> None:
        df = rows.to_pandas()
        if view is CARRIER_VIEW:
            self.pushed = df.to_dict("records")
        self._pusher.push(view, df)
        if view is CARRIER_VIEW:
            self.pushed_at = time.time()
