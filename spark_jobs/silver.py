"""spark-submit entry point: rebuild the silver partitions of the days [--from, --to).

    spark-submit spark_jobs/silver.py --from 2013-03-01 --to 2013-04-01 [--parallel 4] [--force]

Thin by design: argument parsing and the run are :func:`featurelake.backfill.entry.layer_job`.
Partitions already built from the same inputs are skipped; the exit status is 1 when one failed.
"""

from __future__ import annotations

import sys

from featurelake.backfill.entry import layer_job

if __name__ == "__main__":
    sys.exit(layer_job("silver"))
