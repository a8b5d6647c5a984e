"""Delta Lake on Spark without Delta's JARs: a Spark data source plus delta-rs.

Executors write Parquet files; the driver commits them in one Delta
transaction with delta-rs. See ``DESIGN.md``, "The ``delta`` Spark data source".

Exports load lazily, so importing a table schema (``featurelake.delta.schema``)
does not import PySpark; Airflow parses DAGs that declare tables without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "Column": "schema",
    "TableSchema": "schema",
    "Snapshot": "reader",
    "load_snapshot": "reader",
    "read_table": "reader",
    "TableStats": "maintenance",
    "describe": "maintenance",
    "history": "maintenance",
    "optimize": "maintenance",
    "vacuum": "maintenance",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"featurelake.delta.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'featurelake.delta' has no attribute {name!r}")
