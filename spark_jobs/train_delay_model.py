"""Entry point: train the delay model from the feature store (runs with or without spark-submit).

    python spark_jobs/train_delay_model.py --from 2013-01-01 --to 2014-01-01 --valid-from 2013-10-01

Thin by design: argument parsing, then :func:`featurelake.models.delay.train_delay_model`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and train; exit status 2 on a featurelake error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--valid-from", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    from featurelake.errors import FeaturelakeError
    from featurelake.models.delay import train_delay_model
    from featurelake.models.delay.train import TrainConfig

    try:
        result = train_delay_model(
            args.start, args.end, valid_from=args.valid_from, config=TrainConfig(seed=args.seed)
        )
    except (FeaturelakeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "version": result.version,
                "alias": result.alias,
                "run_id": result.run_id,
                "validation": result.metrics["validation"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
