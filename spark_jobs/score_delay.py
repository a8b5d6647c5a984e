"""spark-submit entry point: score one day's departures with the delay model.

    spark-submit spark_jobs/score_delay.py --date 2013-12-01 [--version 3|challenger]

Thin by design: argument parsing, then :func:`featurelake.models.delay.score_date`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and score; exit status 2 on a featurelake error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat, help="UTC day to score")
    parser.add_argument("--version", help="model version or alias (default: the champion)")
    args = parser.parse_args(argv)

    from featurelake.errors import FeaturelakeError
    from featurelake.models.delay import score_date

    try:
        n = score_date(args.date, version=args.version)
    except (FeaturelakeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"gold.delay_predictions: {n} predictions for {args.date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
