"""The command line of the spark-submit entry points ``spark_jobs/silver.py`` and ``spark_jobs/gold.py``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from featurelake.backfill.plan import Layer, Request
from featurelake.backfill.runner import DEFAULT_CHUNK_DAYS, run_backfill

__all__ = ["layer_job"]


def layer_job(layer: Layer, argv: list[str] | None = None) -> int:
    """Rebuild one layer for the days ``[--from, --to)`` like ``featurelake backfill``; returns the exit code.

    0 when every partition was built or skipped, 1 when one failed (named on
    stderr), 2 on bad arguments. Gold days that read rebuilt silver days are not
    added: the orchestrator runs the gold job for the days it needs.
    """
    from featurelake.errors import FeaturelakeError
    from featurelake.transforms.calendar import parse_day

    parser = argparse.ArgumentParser(prog=f"{layer}.py", description=f"Rebuild {layer} partitions.")
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (UTC), included")
    parser.add_argument(
        "--to", dest="end", required=True, help="the day after the last, YYYY-MM-DD (UTC): excluded"
    )
    parser.add_argument("--parallel", type=int, default=1, help="chunks at once on this Spark application")
    parser.add_argument("--chunk-days", type=int, default=DEFAULT_CHUNK_DAYS)
    parser.add_argument("--force", action="store_true", help="rebuild partitions built from the same inputs")
    args = parser.parse_args(argv)
    try:
        first, end = parse_day(args.start), parse_day(args.end)
        if end <= first:
            raise ValueError(f"--to {end} must be after --from {first} (ranges are [from, to))")
        request = Request.for_range(first, end - dt.timedelta(days=1), layers=[layer], force=args.force)
        result = run_backfill(request, parallel=args.parallel, chunk_days=args.chunk_days)
    except (FeaturelakeError, ValueError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    built, rows = sum(result.built().values()), sum(result.rows().values())
    skipped = len(result.plan.of_status("done", "empty"))
    print(
        f"{layer} [{args.start}, {args.end}): {built} partitions built ({rows:,} rows), {skipped} skipped, "
        f"{result.seconds:.1f} s"
    )
    for line in result.failures:
        print(f"failed: {line}", file=sys.stderr)
    return 0 if result.ok else 1
