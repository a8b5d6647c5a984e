"""Backfills: plan the partitions to (re)build, run them as Spark jobs, log and resume.

``featurelake backfill`` and ``spark_jobs/`` are thin layers over
:func:`run_backfill`; :func:`backfill_all` rebuilds everything the bronze
data covers (what ``make demo`` runs).
"""

from __future__ import annotations

from featurelake.backfill.changes import changed_days
from featurelake.backfill.full import backfill_all, data_range, table_rows
from featurelake.backfill.jobs import JOBS, TableJob
from featurelake.backfill.plan import LAYERS, Chunk, Layer, PartitionTask, Plan, Request
from featurelake.backfill.runner import (
    DEFAULT_CHUNK_DAYS,
    BackfillResult,
    ChunkResult,
    Reporter,
    run_backfill,
)

__all__ = [
    "DEFAULT_CHUNK_DAYS",
    "JOBS",
    "LAYERS",
    "BackfillResult",
    "Chunk",
    "ChunkResult",
    "Layer",
    "PartitionTask",
    "Plan",
    "Reporter",
    "Request",
    "TableJob",
    "backfill_all",
    "changed_days",
    "data_range",
    "run_backfill",
    "table_rows",
]
