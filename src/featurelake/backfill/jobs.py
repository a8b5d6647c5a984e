"""The table jobs: for a range of partition days, read exactly the input days, transform, overwrite.

Each :class:`TableJob` declares its input table and which input days feed
output day D (``window``); the planner derives dependencies and input
fingerprints from that declaration, and the builder reads exactly those days.
Every write is an overwrite with ``replaceWhere`` on the job's own days, so
running a job again replaces its partitions with the same rows.

Builders run on the driver (they plan Spark jobs); they may run concurrently
in threads of one Spark application, each on a disjoint range of days.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from featurelake import transforms
from featurelake.backfill._io import read_days, read_whole
from featurelake.backfill.silver_checks import SilverChecks
from featurelake.backfill.universe import EntityKind, Universe
from featurelake.delta.maintenance import log_version, sweep_strays
from featurelake.errors import ValidationFailedError
from featurelake.transforms import carrier_delay, passengers, route_delay
from featurelake.transforms.calendar import days_predicate
from featurelake.transforms.plane import AS_OF

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from featurelake.catalog import Catalog

__all__ = ["JOBS", "JobContext", "TableJob", "job"]

_DAY = dt.timedelta(days=1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What every builder gets besides its day range."""

    spark: SparkSession
    catalog: Catalog
    universe: Universe
    run_id: str

    def write(self, df: DataFrame, table: str, start: dt.date, end: dt.date) -> None:
        """Overwrite the partitions [start, end] of ``table`` with ``df``."""
        meta = json.dumps({"job": "backfill", "run_id": self.run_id, "days": f"{start}..{end}"})
        # One task per day writes that day's rows: one file per partition instead of one per task.
        # The number is explicit so that adaptive execution does not coalesce a small result into
        # one task: 300 days of a daily table are 300 files, and one task wrote them one by one
        # (7.8 s of a 13 s gold write) while the other cores idled.
        width = int(self.spark.conf.get("spark.sql.shuffle.partitions") or "1")
        by_day = df.repartition(width, "event_date")
        path = self.catalog.ensure(table, self.spark)
        before, since = log_version(path), time.time()
        try:
            self.catalog.write(
                by_day, table, mode="overwrite", replace_where=days_predicate(start, end), user_metadata=meta
            )
        finally:
            # A lost executor's first attempts at a task leave files no commit names; the job owns
            # these days, so it removes them now rather than leave them for VACUUM.
            days = (start + i * _DAY for i in range((end - start).days + 1))
            strays = sweep_strays(
                path,
                after_version=before,
                since=since,
                until=time.time(),
                partitions=[f"event_date={d.isoformat()}" for d in days],
            )
            if strays:
                log.info("%s %s..%s: removed %d lost attempt file(s)", table, start, end, len(strays))


Builder = Callable[[JobContext, dt.date, dt.date], None]


@dataclass(frozen=True)
class TableJob:
    """How one table is built for any range of its partition days."""

    table: str
    layer: Literal["silver", "gold"]
    source: str
    """The input table (partitioned by ``event_date``, unless ``static_day`` is set)."""
    build: Builder
    window: tuple[int, int] = (0, 0)
    """Source days D + lo .. D + hi (inclusive) feed output day D."""
    universe: EntityKind | None = None
    """Set for the daily tables with one row per entity per day."""
    static_day: dt.date | None = None
    """The single partition of a table that does not follow its source's days (``gold.plane``)."""
    version: str = "1"
    """Part of every input fingerprint: bump it when the logic changes so backfills rebuild."""
    suite: str | None = None
    """The expectation suite the job applies; editing it changes the input fingerprints too."""
    keyed: bool = False
    """The job makes pseudonyms: the pseudonym secret's id is part of its fingerprints, so a
    rotated secret rebuilds its partitions (and, through their new files, those reading them)."""

    def source_days(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The source days (first, last) that output day ``day`` reads."""
        lo, hi = self.window
        return day + lo * _DAY, day + hi * _DAY

    def dependents(self, source_day: dt.date) -> tuple[dt.date, dt.date]:
        """The output days (first, last) that read ``source_day``."""
        lo, hi = self.window
        return source_day - hi * _DAY, source_day - lo * _DAY


def _silver_flights(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    """Rebuild silver days [start, end] from every bronze copy of their events, newest ingest winning.

    A corrected event (same ``event_id``, later ``_ingested_at``) lands in the bronze day of
    its event time (the id encodes the scheduled departure, so a correction cannot move it to
    another day); the late-data refresh replans that day and this rewrite keeps the newest
    copy (``transforms.dedup.latest_per_key``), an older copy landing late loses.

    Why a day rewrite and not ``MERGE INTO silver ON event_id AND event_date WHEN MATCHED AND
    s._ingested_at > t._ingested_at UPDATE WHEN NOT MATCHED INSERT``: measured with
    ``benchmarks/silver_merge.py`` (January 2013 in silver, 27,791 rows; one sample each on the
    shared 2-core machine, so +-30%): one new day, rewrite 123 s (first run, warm-up included)
    against MERGE 73 s; a 1% batch of corrections over all 31 days, rewrite 90 s against MERGE
    87 s. MERGE is not decisively faster where it must read the same bronze days (the rows of
    a touched day live in one file, which MERGE rewrites too). Only MERGE fed with the new
    bronze batch alone was faster (new day 77 s; corrections 55 s), and that needs a record of
    which bronze rows each silver run consumed, which the fingerprint planner does not keep.
    The rewrite also drops rows that left bronze or failed a changed suite and applies a new
    job ``version`` to rows whose ``_ingested_at`` did not change, which the MERGE would skip;
    so the rewrite stays the single path.
    """
    from pyspark import StorageLevel

    bronze = read_days(ctx.spark, ctx.catalog, "bronze.flights", start, end)
    checks = SilverChecks.load("flights", run_id=ctx.run_id, start=start)
    columns = ctx.catalog.spec("silver.flights").schema.names
    flagged = checks.flag(transforms.silver_flights(bronze)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        results, bad = checks.results(flagged)
        try:
            checks.raise_on_fail(results)
        except ValidationFailedError:
            checks.record(ctx.catalog, results, outcome="batch_failed")
            raise
        good = checks.passing(flagged, columns)
        ctx.write(good, "silver.flights", start, end)
        ctx.write(transforms.flight_entities(good), "silver.flight_entities", start, end)
        if bad:
            checks.quarantine(ctx.catalog, flagged, columns)
        checks.record(ctx.catalog, results, outcome="written")
    finally:
        flagged.unpersist()


def _silver_weather(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    bronze = read_days(ctx.spark, ctx.catalog, "bronze.weather", start, end)
    ctx.write(transforms.silver_weather(bronze), "silver.weather", start, end)


def _silver_bookings(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    from featurelake.governance.pseudonyms import pseudonym_key
    from featurelake.governance.subject_keys import decrypt_direct

    bronze = read_days(ctx.spark, ctx.catalog, "bronze.bookings", start, end)
    bronze = decrypt_direct(ctx.spark, bronze, "bookings", ctx.catalog.settings)
    key = pseudonym_key(ctx.catalog.settings)
    ctx.write(transforms.silver_bookings(bronze, key), "silver.bookings", start, end)


def _passenger_activity(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    name = "gold.passenger_activity"
    cols = ["passenger_key", "event_id", "event_date", "fare_cents", "lead_minutes"]
    bookings = _window_input(ctx, name, start, end, cols)
    ctx.write(transforms.passenger_activity(bookings, start=start, end=end), name, start, end)


def _window_input(ctx: JobContext, name: str, start: dt.date, end: dt.date, columns: list[str]) -> DataFrame:
    first, _ = JOBS[name].source_days(start)
    _, last = JOBS[name].source_days(end)
    return read_days(ctx.spark, ctx.catalog, JOBS[name].source, first, last, columns=columns)


def _carrier_delay(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    name = "gold.carrier_delay_7d"
    cols = ["carrier", "event_date", "dep_delay", "is_cancelled"]
    flights = _window_input(ctx, name, start, end, cols)
    carriers = ctx.universe.frame(ctx.spark, "carrier")
    ctx.write(transforms.carrier_delay_7d(flights, carriers, start=start, end=end), name, start, end)


def _route_delay(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    name = "gold.route_delay_30d"
    flights = _window_input(ctx, name, start, end, ["origin", "dest", "event_date", "arr_delay"])
    routes = ctx.universe.frame(ctx.spark, "route")
    ctx.write(transforms.route_delay_30d(flights, routes, start=start, end=end), name, start, end)


def _origin_weather(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    weather = read_days(ctx.spark, ctx.catalog, "silver.weather", start, end)
    ctx.write(transforms.origin_weather(weather), "gold.origin_weather", start, end)


def _flight_labels(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    flights = read_days(ctx.spark, ctx.catalog, "silver.flights", start, end)
    ctx.write(transforms.flight_labels(flights), "gold.flight_labels", start, end)


def _plane(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    planes = read_whole(ctx.spark, ctx.catalog, "silver.planes")
    ctx.write(transforms.plane(planes), "gold.plane", start, end)


JOBS: dict[str, TableJob] = {
    j.table: j
    for j in (
        TableJob("silver.flights", "silver", "bronze.flights", _silver_flights, suite="flights_silver"),
        TableJob("silver.weather", "silver", "bronze.weather", _silver_weather),
        TableJob("silver.bookings", "silver", "bronze.bookings", _silver_bookings, keyed=True),
        TableJob(
            "gold.carrier_delay_7d",
            "gold",
            "silver.flights",
            _carrier_delay,
            window=(-carrier_delay.WINDOW_DAYS, -1),
            universe="carrier",
        ),
        TableJob(
            "gold.route_delay_30d",
            "gold",
            "silver.flights",
            _route_delay,
            window=(-route_delay.WINDOW_DAYS, -1),
            universe="route",
        ),
        TableJob("gold.origin_weather", "gold", "silver.weather", _origin_weather),
        TableJob("gold.flight_labels", "gold", "silver.flights", _flight_labels),
        TableJob("gold.plane", "gold", "silver.planes", _plane, static_day=AS_OF),
        TableJob(
            "gold.passenger_activity",
            "gold",
            "silver.bookings",
            _passenger_activity,
            window=(-passengers.WINDOW_DAYS - 1, -1),
        ),
    )
}
"""Every table a backfill builds, silver first; the order is the order of the plan."""


def job(table: str) -> TableJob:
    """The job that builds ``table``.

    Raises:
        ValueError: no backfill job builds that table.
    """
    try:
        return JOBS[table]
    except KeyError:
        raise ValueError(f"no backfill job builds {table!r}; jobs: {', '.join(JOBS)}") from None
