"""Streaming features: each ingest micro-batch updates ``carrier_delay_1h`` online and offline.

Hooked into ``featurelake ingest flights --continuous`` through the ingest
query's existing per-batch callback (``run_ingest(on_batch=...)``): after a
batch is committed to ``bronze.flights``, :class:`CarrierDelay1h` runs on the
driver:

1. event-time clock: ``T`` = the newest ``sched_dep_ts`` seen so far (this
   batch's newest, never moving backwards; recovered from the gold table on
   restart). The watermark is ``T - lateness``.
2. features at ``T``, per carrier with flights in the last two hours: flights
   and mean ``dep_delay`` over ``event_ts`` in ``[T - 60 min, T)``, from
   bronze deduplicated on ``event_id`` (DuckDB over the Delta table), so a
   late event still inside the window counts. Events older than the
   watermark's window (``event_ts < T - lateness - 60 min``) can no longer
   change an emitted value and are ignored.
3. offline: the rows are appended to ``gold.carrier_delay_1h`` in a Delta
   transaction tagged ``(carrier_delay_1h, batch_id)``, so a replayed batch
   writes nothing twice;
4. online: the same rows go through the Feast push source
   ``carrier_delay_1h_push`` (``PushMode.ONLINE``): Feast's own write path.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.definitions import PUSH_SOURCE
from featurelake.features.latest import duckdb_connection

if TYPE_CHECKING:
    import pyarrow as pa
    from feast import FeatureStore

__all__ = ["CarrierDelay1h"]

log = logging.getLogger(__name__)

APP_ID = "carrier_delay_1h"
TABLE = "gold.carrier_delay_1h"


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
    _store: FeatureStore | None = None

    def _feature_store(self) -> FeatureStore:
        if self._store is None:
            from featurelake.features.store import feature_store

            self._store = feature_store(self.settings)
        return self._store

    def close(self) -> None:
        """Release the feature store's connections."""
        if self._store is not None:
            from featurelake.features.store import close_store

            close_store(self._store)
            self._store = None

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
            rows = con.execute(
                f"""
                WITH f AS (
                    SELECT carrier, sched_dep_ts AS event_ts, dep_delay FROM delta_scan('{bronze}')
                    WHERE sched_dep_ts >= $since AND sched_dep_ts < $t AND carrier IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC) = 1
                )
                SELECT carrier, $t AS event_timestamp,
                       count(*) FILTER (WHERE event_ts >= $start) AS flights_1h,
                       avg(dep_delay) FILTER (WHERE event_ts >= $start) AS dep_delay_avg_1h
                FROM f GROUP BY carrier ORDER BY carrier
                """,
                {"t": t, "start": t - self.window, "since": t - 2 * self.window},
            ).to_arrow_table()
        finally:
            con.close()
        if rows.num_rows == 0:
            return rows
        self._write_offline(catalog, rows, batch_id, APP_ID if source == "landing" else f"{APP_ID}:{source}")
        self._push(rows)
        return rows

    def _write_offline(self, catalog: Catalog, rows: pa.Table, batch_id: int, app_id: str) -> None:
        from featurelake.features.testing import conform
        from featurelake.spark import get_spark

        # Delta's idempotent transaction: a bronze batch replayed after a crash writes nothing twice.
        catalog.append_rows(get_spark(), TABLE, conform(catalog, TABLE, rows), txn=(app_id, batch_id))

    def _push(self, rows: pa.Table) -> None:
        from feast.data_source import PushMode

        df = rows.to_pandas()
        self.pushed = df.to_dict("records")
        self._feature_store().push(PUSH_SOURCE, df, to=PushMode.ONLINE)
