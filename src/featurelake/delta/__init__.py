"""Delta Lake on Spark without Delta's JARs: a Spark data source plus delta-rs.

Executors write Parquet files; the driver commits them in one Delta
transaction with delta-rs. See ``DESIGN.md``, "The ``delta`` Spark data source".
"""

from __future__ import annotations

from featurelake.delta.maintenance import TableStats, describe, history, optimize, vacuum
from featurelake.delta.reader import Snapshot, load_snapshot, read_table
from featurelake.delta.schema import Column, TableSchema

__all__ = [
    "Column",
    "Snapshot",
    "TableSchema",
    "TableStats",
    "describe",
    "history",
    "load_snapshot",
    "optimize",
    "read_table",
    "vacuum",
]
