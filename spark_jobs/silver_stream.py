"""spark-submit entry point: merge what bronze.flights gained into silver.flights (a Delta stream).

    spark-submit spark_jobs/silver_stream.py --once
    spark-submit --master spark://host:7077 spark_jobs/silver_stream.py --continuous --interval 5

Thin by design: argument parsing, then :func:`featurelake.ingest.silver_stream.run_silver_stream`.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the stream; exit status 2 on a featurelake error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", dest="mode", action="store_const", const="once", default="once")
    mode.add_argument("--continuous", dest="mode", action="store_const", const="continuous")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between batches (--continuous)")
    parser.add_argument("--timeout", type=float, help="stop --continuous after this many seconds")
    args = parser.parse_args(argv)

    from featurelake.errors import FeaturelakeError
    from featurelake.ingest.silver_stream import run_silver_stream

    try:
        batches = run_silver_stream(mode=args.mode, interval_s=args.interval, timeout_s=args.timeout)
    except (FeaturelakeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"silver.flights: {sum(b.merged for b in batches)} merged in {len(batches)} batch(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
