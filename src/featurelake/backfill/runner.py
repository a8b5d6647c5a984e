"""Running a backfill: plan, build chunks as Spark jobs N at a time, log every partition.

Silver runs first, then gold is planned against the silver that now exists
(fingerprints of the new files, the new entity universe) and runs. Within a
stage, ``parallel`` threads each submit one chunk's Spark jobs to the same
Spark application; the ``delta`` writer checks conflicts per partition, so
concurrent overwrites of different days of one table commit side by side.

A chunk that fails is logged ``failed`` and the others go on; gold
partitions that read a failed silver day are ``blocked``. Every finished
chunk is in ``ops.backfill_log`` before the next one is reported, so a
killed backfill, run again, rebuilds only what had not finished.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from featurelake.backfill import _io
from featurelake.backfill.jobs import JOBS, JobContext
from featurelake.backfill.log import LogEntry, append_entries
from featurelake.backfill.plan import Chunk, Plan, Request, plan_gold, plan_silver, rebuilt_days
from featurelake.backfill.universe import Universe, load_universe
from featurelake.catalog import Catalog
from featurelake.errors import one_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DEFAULT_CHUNK_DAYS", "BackfillResult", "ChunkResult", "Reporter", "run_backfill"]

DEFAULT_CHUNK_DAYS = 92
"""Days per Spark write. Per-job overhead (planning, Python workers, the Delta commit) dominates
small chunks on a laptop; a quarter keeps resume granularity useful and gives --parallel work."""


@dataclass(frozen=True)
class ChunkResult:
    """How one chunk went."""

    chunk: Chunk
    ok: bool
    rows: dict[dt.date, int]
    seconds: float
    error: str | None = None


class Reporter:
    """What the runner tells its caller as it goes; this base class ignores everything."""

    def stage(self, name: str, plan: Plan) -> None:
        """A stage (``silver``, ``gold``) was planned; its ``todo`` tasks are about to run."""

    def chunk_started(self, chunk: Chunk) -> None:
        """A chunk's Spark jobs are being submitted (called from a worker thread)."""

    def chunk_finished(self, result: ChunkResult) -> None:
        """A chunk finished and is logged (called from the thread that runs the backfill)."""


@dataclass
class BackfillResult:
    """The plan, what ran, and how it went."""

    run_id: str
    request: Request
    plan: Plan
    results: list[ChunkResult] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def failures(self) -> list[str]:
        """One line per failed chunk or blocked partition range, naming it."""
        lines = [f"{r.chunk.label}: {r.error}" for r in self.results if not r.ok]
        blocked: dict[str, list[dt.date]] = defaultdict(list)
        for t in self.plan.of_status("blocked"):
            blocked[f"{t.table} ({t.reason})"].append(t.day)
        for what, days in blocked.items():
            lines.append(f"{what}: {len(days)} partitions {min(days)}..{max(days)} blocked")
        return lines

    @property
    def ok(self) -> bool:
        """True when no partition failed or was blocked."""
        return not self.failures

    def built(self) -> dict[str, int]:
        """Partitions built per table."""
        out: dict[str, int] = defaultdict(int)
        for r in self.results:
            if r.ok:
                out[r.chunk.table] += len(r.chunk.tasks)
        return dict(out)

    def rows(self) -> dict[str, int]:
        """Rows now in the partitions this run built, per table."""
        out: dict[str, int] = defaultdict(int)
        for r in self.results:
            if r.ok:
                out[r.chunk.table] += sum(r.rows.values())
        return dict(out)


def _one_line(e: BaseException) -> str:
    """The error's class and cause, without Spark's plan or a JVM stack (:func:`errors.one_line`)."""
    return f"{type(e).__name__}: {one_line(str(e))}"


def _run_chunk(ctx: JobContext, chunk: Chunk, reporter: Reporter) -> ChunkResult:
    """Build one chunk and log its partitions (runs in a worker thread, on the driver)."""
    ctx.spark.sparkContext.setJobDescription(f"backfill {chunk.label}")
    reporter.chunk_started(chunk)
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    rows: dict[dt.date, int] = {}
    error: str | None = None
    try:
        JOBS[chunk.table].build(ctx, chunk.start, chunk.end)
        rows = _io.partition_rows(ctx.catalog, chunk.table, chunk.start, chunk.end)
    except Exception as e:  # a failed chunk is reported and logged; the others go on
        error = _one_line(e)
    finished = dt.datetime.now(dt.UTC)
    entries = [
        LogEntry(
            table=chunk.table,
            day=t.day,
            status="failed" if error else "done",
            rows=None if error else rows.get(t.day, 0),
            fingerprint=t.fingerprint,
            universe=t.universe,
            chunk_start=chunk.start,
            chunk_end=chunk.end,
            started_at=started,
            finished_at=finished,
            error=error,
        )
        for t in chunk.tasks
    ]
    append_entries(ctx.catalog, ctx.run_id, entries)
    return ChunkResult(chunk, error is None, rows, time.monotonic() - t0, error)


def _execute(ctx: JobContext, chunks: list[Chunk], parallel: int, reporter: Reporter) -> list[ChunkResult]:
    if not chunks:
        return []
    results: list[ChunkResult] = []
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="backfill")
    try:
        pending: set[Future[ChunkResult]] = {pool.submit(_run_chunk, ctx, c, reporter) for c in chunks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                result = fut.result()
                results.append(result)
                reporter.chunk_finished(result)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        ctx.spark.sparkContext.cancelAllJobs()
        raise
    pool.shutdown(wait=True)
    return results


def run_backfill(
    request: Request,
    *,
    catalog: Catalog | None = None,
    spark: SparkSession | None = None,
    parallel: int = 1,
    chunk_days: int = DEFAULT_CHUNK_DAYS,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    spark_factory: Callable[[], SparkSession] | None = None,
) -> BackfillResult:
    """Plan and (unless ``dry_run``) run a backfill.

    Args:
        request: what to rebuild.
        catalog: the lake; the default catalog when omitted.
        spark: the session to run on; featurelake's session, built on first need, when omitted.
            A dry run never starts Spark.
        parallel: chunks running at once, as threads on one Spark application.
        chunk_days: at most this many consecutive partitions per Spark write.
        dry_run: plan only; nothing is written, not even the log.
        reporter: progress hooks.
        spark_factory: builds the session when ``spark`` is omitted (for tests).

    Returns:
        The plan (silver and gold tasks) and each chunk's outcome. Failures do not
        raise: check :attr:`BackfillResult.ok`.

    Raises:
        ValueError: ``parallel`` or ``chunk_days`` below 1.
    """
    if parallel < 1:
        raise ValueError(f"--parallel must be >= 1, got {parallel}")
    if chunk_days < 1:
        raise ValueError(f"--chunk-days must be >= 1, got {chunk_days}")
    catalog = catalog or Catalog()
    reporter = reporter or Reporter()
    run_id = uuid.uuid4().hex[:12]
    t0 = time.monotonic()
    silver = plan_silver(catalog, request)
    if dry_run:
        gold = plan_gold(catalog, request, load_universe(catalog), rebuilt=rebuilt_days(silver), pending=True)
        return BackfillResult(run_id, request, silver + gold, dry_run=True, seconds=time.monotonic() - t0)

    if spark is None:
        if spark_factory is not None:
            spark = spark_factory()
        else:
            from featurelake.spark import get_spark

            spark = get_spark("featurelake-backfill", settings=catalog.settings)
    reporter.stage("silver", silver)
    ctx = JobContext(spark, catalog, Universe((), ()), run_id)
    results = _execute(ctx, silver.chunks(chunk_days), parallel, reporter)

    done: dict[str, set[dt.date]] = defaultdict(set)
    failed: dict[str, set[dt.date]] = defaultdict(set)
    for r in results:
        for t in r.chunk.tasks:
            (done if r.ok else failed)[t.table].add(t.day)
    universe = load_universe(catalog)
    gold = plan_gold(catalog, request, universe, rebuilt=done, failed=failed)
    reporter.stage("gold", gold)
    ctx = JobContext(spark, catalog, universe, run_id)
    results += _execute(ctx, gold.chunks(chunk_days), parallel, reporter)
    return BackfillResult(run_id, request, silver + gold, results, time.monotonic() - t0)
