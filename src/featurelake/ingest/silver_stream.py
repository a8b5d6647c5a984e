"""Streaming silver: bronze flights read as a Delta stream and merged into ``silver.flights``.

The daily batch and backfills rewrite whole silver days and stay the source of
truth for history; this job keeps today's silver current within seconds of a
bronze commit, whichever source (files or Kafka) wrote it.

Each micro-batch:

1. comes from ``bronze.flights`` as a Delta stream (``skipChangeCommits``: an
   erasure's deletes in bronze do not stop it), after
   ``dropDuplicatesWithinWatermark`` on the event key and the event's content
   over a watermark on ``_ingested_at``: the same event landing twice (a
   producer's retry, a day sent as files and to Kafka) is merged once. A
   correction (same ``event_id``, other content) passes and wins below;
2. becomes silver rows with the batch job's own transform
   (:func:`featurelake.transforms.silver_flights`: the latest copy per
   ``event_id`` within the batch) and silver checks (``flights_silver``): rows
   failing a ``quarantine`` check go to ``quarantine.records``, a failing
   ``fail`` check stops the query with nothing merged;
3. is merged into silver on ``(event_id, event_date)``, pruned to the batch's
   days: a new event is inserted, a newer ingest of a known one replaces it
   (latest ingest wins, as in the batch), an older or equal one changes
   nothing. Replaying a batch after a crash therefore changes nothing either.

``silver.flight_entities`` (the gold tables' entity universe) stays with the
daily batch.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from featurelake import transforms
from featurelake.backfill.silver_checks import SilverChecks
from featurelake.catalog import Catalog, retry_conflicts
from featurelake.config import Settings, get_settings
from featurelake.errors import ValidationFailedError
from featurelake.ingest.stream import await_query, check_mode, with_trigger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["WATERMARK", "SilverBatch", "SilverMerger", "run_silver_stream", "silver_checkpoint_dir"]

WATERMARK = "1 hour"
"""How long after a copy's ``_ingested_at`` another copy of the same event is still dropped."""

BRONZE, SILVER = "bronze.flights", "silver.flights"


@dataclass
class SilverBatch:
    """What one micro-batch did."""

    batch_id: int
    rows_in: int = 0
    merged: int = 0
    quarantined: int = 0
    event_dates: list[dt.date] = field(default_factory=list)
    duration_s: float = 0.0


def silver_checkpoint_dir(settings: Settings | None = None) -> Path:
    """Where the stream keeps its bronze offsets and dedup state."""
    return Path((settings or get_settings()).lake) / "_checkpoints" / "silver_stream" / "flights"


@dataclass
class SilverMerger:
    """Merges micro-batches of bronze flights into ``silver.flights`` (driver side)."""

    catalog: Catalog
    checks: SilverChecks
    on_batch: Callable[[SilverBatch], None] | None = None
    reports: list[SilverBatch] = field(default_factory=list)
    failure: ValidationFailedError | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """``foreachBatch`` entry point."""
        self.process(batch, batch_id)

    def process(self, batch: DataFrame, batch_id: int) -> SilverBatch | None:
        """Merge one micro-batch; None for an empty one (a batch that only moves the watermark).

        Raises:
            ValidationFailedError: a ``fail`` check of the silver suite failed; nothing was merged.
        """
        from pyspark import StorageLevel

        if batch.isEmpty():
            return None
        clock = time.perf_counter()
        report = SilverBatch(batch_id)
        columns = self.catalog.spec(SILVER).schema.names
        flagged = self.checks.flag(transforms.silver_flights(batch)).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            results, bad = self.checks.results(flagged)
            failed = [r for r in results if r.severity == "fail" and not r.success]
            if failed:
                detail = ", ".join(f"{r.check.name} ({r.unexpected_count} rows)" for r in failed)
                self.failure = ValidationFailedError(
                    f"silver stream batch {batch_id}: suite {self.checks.suite.name} failed: {detail}; "
                    "nothing was merged"
                )
                raise self.failure
            report.rows_in = results[0].element_count if results else flagged.count()
            report.quarantined = bad
            good = self.checks.passing(flagged, columns)
            dates = sorted(r[0] for r in good.select("event_date").distinct().collect())
            report.event_dates = dates
            if dates:
                self._merge(good, dates)
                report.merged = report.rows_in - bad
            if bad:
                self.checks.quarantine(self.catalog, flagged, columns)
        finally:
            flagged.unpersist()
        report.duration_s = time.perf_counter() - clock
        self.reports.append(report)
        if self.on_batch is not None:
            self.on_batch(report)
        return report

    def _merge(self, good: DataFrame, dates: list[dt.date]) -> None:
        from delta.tables import DeltaTable

        spark = good.sparkSession
        days = ", ".join(f"DATE '{d.isoformat()}'" for d in dates)
        condition = f"t.event_date IN ({days}) AND t.event_id = s.event_id AND t.event_date = s.event_date"
        target = DeltaTable.forPath(spark, self.catalog.path(SILVER))
        merge = (
            target.alias("t")
            .merge(good.alias("s"), condition)
            .whenMatchedUpdateAll(condition="s._ingested_at > t._ingested_at")
            .whenNotMatchedInsertAll()
        )
        # a batch rewrite of the same days may win: merge again
        retry_conflicts(merge.execute, SILVER, "merge")


def _deduplicated(bronze: DataFrame, watermark: str) -> DataFrame:
    """Bronze with every copy of an event (same ``event_id`` and content) after the first dropped."""
    from pyspark.sql import functions as F

    content = F.xxhash64(*[F.col(f"`{c}`") for c in bronze.columns if not c.startswith("_")])
    return (
        bronze.withColumn("_content", content)
        .withWatermark("_ingested_at", watermark)
        .dropDuplicatesWithinWatermark(["event_id", "_content"])
        .drop("_content")
    )


def run_silver_stream(
    *,
    mode: Literal["once", "continuous"] = "once",
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    interval_s: float = 1.0,
    watermark: str = WATERMARK,
    timeout_s: float | None = None,
    on_batch: Callable[[SilverBatch], None] | None = None,
) -> list[SilverBatch]:
    """Merge what bronze flights gained since the last run into silver flights.

    Args:
        mode: ``once`` (what bronze holds now, then stop) or ``continuous``.
        settings: the lake; from the environment when omitted.
        spark: the session; featurelake's when omitted.
        interval_s: the processing-time trigger of ``continuous``.
        watermark: how long copies of an event are recognised as copies (a Spark interval).
        timeout_s: stop ``continuous`` after this many seconds (None: until SIGTERM/Ctrl-C).
        on_batch: called with each batch's report as it finishes.

    Returns:
        Each micro-batch's report.

    Raises:
        ValidationFailedError: a ``fail`` check of the silver suite stopped a batch.
        IngestError: the query failed for another reason.
        ValueError: bad arguments.
    """
    from featurelake.spark import get_spark

    check_mode(mode, interval_s)
    settings = settings or get_settings()
    spark = spark or get_spark("featurelake-silver-stream", settings=settings)
    catalog = Catalog(settings=settings)
    for name in (BRONZE, SILVER, "quarantine.records"):
        catalog.ensure(name, spark)
    checks = SilverChecks.load("flights", run_id="stream", start=dt.date.today())
    merger = SilverMerger(catalog, checks, on_batch)
    bronze = spark.readStream.format("delta").option("skipChangeCommits", "true").load(catalog.path(BRONZE))
    writer = (
        _deduplicated(bronze, watermark)
        .writeStream.queryName("silver_stream_flights")
        .option("checkpointLocation", str(silver_checkpoint_dir(settings)))
        .foreachBatch(merger)
    )
    writer = with_trigger(writer, mode, interval_s)
    continuous = mode == "continuous"
    await_query(writer.start(), "silver flights", merger, continuous=continuous, timeout_s=timeout_s)
    return list(merger.reports)
