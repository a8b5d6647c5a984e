"""spark-submit entry point: ingest one dataset's landing folder or Kafka topic into bronze.

    spark-submit spark_jobs/ingest.py flights --once
    spark-submit spark_jobs/ingest.py flights --source kafka --once
    spark-submit --master spark://host:7077 spark_jobs/ingest.py weather --continuous --interval 10

Thin by design: argument parsing, then :func:`featurelake.ingest.stream.run_ingest` (landing)
or :func:`featurelake.ingest.kafka.run_kafka_ingest` (kafka).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the ingest; exit status 2 on a featurelake error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["flights", "weather", "bookings"])
    parser.add_argument("--source", choices=["landing", "kafka"], default="landing")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", dest="mode", action="store_const", const="once", default="once")
    mode.add_argument("--continuous", dest="mode", action="store_const", const="continuous")
    parser.add_argument("--interval", type=float, help="seconds between batches (--continuous)")
    parser.add_argument("--max-files-per-batch", type=int, help="landing: files per batch")
    parser.add_argument("--max-offsets-per-trigger", type=int, help="kafka: messages per batch")
    parser.add_argument("--timeout", type=float, help="stop --continuous after this many seconds")
    args = parser.parse_args(argv)

    from featurelake.errors import FeaturelakeError
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.stream import run_ingest

    try:
        if args.source == "kafka":
            run = run_kafka_ingest(
                args.dataset,
                mode=args.mode,
                interval_s=args.interval or 1.0,
                max_offsets_per_trigger=args.max_offsets_per_trigger,
                timeout_s=args.timeout,
            )
        else:
            run = run_ingest(
                args.dataset,
                mode=args.mode,
                interval_s=args.interval or 5.0,
                max_files_per_batch=args.max_files_per_batch,
                timeout_s=args.timeout,
            )
    except (FeaturelakeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.dataset} from {args.source}: {len(run.batches)} batches, {run.totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
