"""featurelake's Feast batch materialization engine: DuckDB for the latest rows, bulk online writes.

Plugged in through ``feature_store.yaml``::

    batch_engine:
      type: featurelake.features.engine.FeaturelakeEngine

so ``feast materialize``, ``FeatureStore.materialize`` and the SDK all use it.
Per feature view it runs one DuckDB query over the Delta source (latest row
per entity in the window, as Feast's engine computes it), encodes the rows
column-wise in Feast's key/value format and writes them with the SQLite or
Redis bulk writer. A view it cannot handle (another source or online store)
goes to Feast's ``local`` engine unchanged.

Progress goes to a :class:`~featurelake.features.progress.MaterializeReporter` (see
:meth:`FeaturelakeEngine.reporting`), not to the ``tqdm`` bar Feast hands every task
(``task.tqdm_builder``): the engine never builds that bar, and Feast's local engine, the
fallback, never does either, so nothing draws over the caller's own progress display.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from feast import BatchFeatureView, Entity, FeatureView, OnDemandFeatureView, StreamFeatureView
from feast.data_format import DeltaFormat
from feast.infra.common.materialization_job import MaterializationJobStatus, MaterializationTask
from feast.infra.compute_engines.base import ComputeEngine
from feast.infra.compute_engines.local.job import LocalMaterializationJob
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import FeastConfigBaseModel

from featurelake.features.latest import UnsupportedSourceError, duckdb_connection, latest_rows
from featurelake.features.progress import MaterializeReporter
from featurelake.features.writers import EncodedRows, UnsupportedStoreError, writer_for

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FeaturelakeEngine", "FeaturelakeEngineConfig", "MaterializeStats"]

log = logging.getLogger(__name__)

MaterializeStats = dict[str, float]


class FeaturelakeEngineConfig(FeastConfigBaseModel):
    """``batch_engine`` settings in ``feature_store.yaml``."""

    type: Literal["featurelake.features.engine.FeaturelakeEngine"] = (
        "featurelake.features.engine.FeaturelakeEngine"
    )
    """Engine type selector."""

    duckdb_threads: int | None = None
    """DuckDB threads for the latest-row query; DuckDB's default (all cores) when unset."""


class FeaturelakeEngine(ComputeEngine):
    """Materializes Delta/Parquet feature views into SQLite or Redis in bulk."""

    def __init__(self, *, duckdb_threads: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("type", None)
        super().__init__(**kwargs)
        self.duckdb_threads = duckdb_threads
        self._fallback: ComputeEngine | None = None
        self._duckdb: Any = None
        self.last_stats: dict[str, MaterializeStats] = {}
        """Per view: rows, seconds to query, to encode and to write, of the latest run."""
        self.reporter = MaterializeReporter()
        """Told about each view as it starts and finishes; see :meth:`reporting`."""

    @contextmanager
    def reporting(self, reporter: MaterializeReporter | None) -> Iterator[None]:
        """Report each view this engine materializes to ``reporter`` while the block runs.

        The engine belongs to one ``FeatureStore``: two materializations through the same
        store at once would report to the last reporter set.
        """
        before = self.reporter
        self.reporter = reporter or MaterializeReporter()
        try:
            yield
        finally:
            self.reporter = before

    def update(
        self,
        project: str,
        views_to_delete: Sequence[BatchFeatureView | StreamFeatureView | FeatureView],
        views_to_keep: Sequence[BatchFeatureView | StreamFeatureView | FeatureView | OnDemandFeatureView],
        entities_to_delete: Sequence[Entity],
        entities_to_keep: Sequence[Entity],
    ) -> None:
        """Nothing to provision: DuckDB runs in process, the online tables are Feast's."""

    def teardown_infra(
        self,
        project: str,
        fvs: Sequence[BatchFeatureView | StreamFeatureView | FeatureView],
        entities: Sequence[Entity],
    ) -> None:
        """Nothing to tear down."""

    def _local(self) -> ComputeEngine:
        if self._fallback is None:
            from feast.infra.compute_engines.local.compute import LocalComputeEngine

            self._fallback = LocalComputeEngine(
                repo_config=self.repo_config, offline_store=self.offline_store, online_store=self.online_store
            )
        return self._fallback

    def materialize_view(self, task: MaterializationTask) -> MaterializeStats:
        """Materialize one task; returns its timings (raises the unsupported errors for fallback)."""
        return self.write_latest(task.feature_view, task.start_time, task.end_time)

    def write_latest(
        self,
        view: FeatureView,
        start: datetime,
        end: datetime,
        *,
        only: pa.Table | None = None,
    ) -> MaterializeStats:
        """Write each entity's newest row with ``start <= ts <= end`` into the online store.

        Runs in this process: one DuckDB query, then the bulk writer.

        Args:
            view: the feature view.
            start: first event time (included).
            end: last event time (included).
            only: only these entities (a table of the source's join-key columns); all when None.

        Returns:
            Rows read, entities written, and the seconds spent querying, encoding, writing.

        Raises:
            UnsupportedSourceError: the view's source is not a Delta or Parquet file source.
            UnsupportedStoreError: the online store has no bulk writer.
        """
        writer = writer_for(self.repo_config, self.online_store)
        source = view.batch_source
        path = getattr(source, "path", "")
        if isinstance(getattr(source, "file_format", None), DeltaFormat) and "://" not in path:
            if not os.path.isdir(os.path.join(path, "_delta_log")):
                log.warning("%s: no Delta table at %s yet; nothing to materialize", view.name, path)
                return {"rows": 0, "written": 0, "query_s": 0.0, "encode_s": 0.0, "write_s": 0.0}
        t0 = time.perf_counter()
        if self._duckdb is None:  # loading the delta extension costs ~0.4 s: once per engine
            self._duckdb = duckdb_connection(self.duckdb_threads)
            self._duckdb.execute("SET preserve_insertion_order = false")  # row order is irrelevant here
        con = self._duckdb.cursor()
        try:
            rows = latest_rows(con, view, start, end, only=only)
        finally:
            con.close()
        t1 = time.perf_counter()
        encoded = EncodedRows.encode(view, rows)
        t2 = time.perf_counter()
        written = writer.write(view, encoded) if view.online else 0
        t3 = time.perf_counter()
        return {
            "rows": rows.num_rows,
            "written": written,
            "query_s": t1 - t0,
            "encode_s": t2 - t1,
            "write_s": t3 - t2,
        }

    def _materialize_one(
        self, registry: BaseRegistry, task: MaterializationTask, **kwargs: Any
    ) -> LocalMaterializationJob:
        name = task.feature_view.name
        job_id = f"{name}-{task.start_time}-{task.end_time}"
        self.reporter.view_started(name)
        try:
            stats = self.materialize_view(task)
        except (UnsupportedSourceError, UnsupportedStoreError) as e:
            log.info("%s: %s; using Feast's local engine", name, e)
            job = self._local()._materialize_one(registry, task, **kwargs)
            if job.status() == MaterializationJobStatus.SUCCEEDED:
                self.reporter.view_finished(name, None)
            return job  # type: ignore[return-value]
        except Exception as e:  # Feast's contract: the job carries the error, the caller raises it
            return LocalMaterializationJob(job_id=job_id, status=MaterializationJobStatus.ERROR, error=e)
        self.last_stats[name] = stats
        self.reporter.view_finished(name, stats)
        return LocalMaterializationJob(job_id=job_id, status=MaterializationJobStatus.SUCCEEDED)
