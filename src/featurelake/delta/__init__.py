"""Delta tables around Spark's native Delta Lake: declared schemas, log snapshots, maintenance.

Spark reads and writes every table with ``format("delta")`` and Delta SQL
(Delta Lake's JARs, :mod:`featurelake.jars`). This package holds what sits
beside that: table schemas as declarations, a table's snapshot read from its
log without a Spark job, and maintenance (``OPTIMIZE``/``ZORDER``/``VACUUM``).

Exports load lazily, so importing a table schema (``featurelake.delta.schema``)
does not import PySpark; Airflow parses DAGs that declare tables without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from featurelake.delta.maintenance import TableStats, describe, history, optimize, vacuum
    from featurelake.delta.schema import Column, TableSchema
    from featurelake.delta.snapshot import Snapshot, load_snapshot

__all__ = [
    "Column",
    "Snapshot",
    "TableSchema",
    "TableStats",
    "describe",
    "history",
    "load_snapshot",
    "optimize",
    "vacuum",
]

_WHERE = {
    "Column": "schema",
    "TableSchema": "schema",
    "Snapshot": "snapshot",
    "load_snapshot": "snapshot",
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
