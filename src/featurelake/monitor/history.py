"""The ``ops.monitor_<kind>`` tables: a run's checks appended, every run's read back for the report.

Written through Spark from the driver, like the other ops tables (one small
commit per table and run); read back with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.monitor.result import KINDS, Check

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["history", "table_of", "write_checks"]


def table_of(kind: str) -> str:
    """The table a kind of check is stored in: ``ops.monitor_<kind>``."""
    return f"ops.monitor_{kind}"


def _value(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


def rows_of(
    checks: Sequence[Check], *, run_id: str, run_at: dt.datetime, day: dt.date
) -> dict[str, list[dict[str, Any]]]:
    """The rows of each ``ops.monitor_<kind>`` table for a run's checks."""
    out: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        out.setdefault(table_of(c.kind), []).append(
            {
                "run_id": run_id,
                "run_at": run_at,
                "monitor_date": day,
                "subject": c.subject,
                "metric": c.metric,
                "value": _value(c.value),
                "threshold": None if c.threshold is None else float(c.threshold),
                "breached": c.breached,
                "detail": c.detail,
            }
        )
    return out


def write_checks(
    catalog: Catalog, checks: Sequence[Check], *, run_id: str, run_at: dt.datetime, day: dt.date
) -> None:
    """Append the run's checks to their tables, one commit per table (on the driver)."""
    from featurelake.spark import get_spark

    spark = get_spark()
    for table, rows in rows_of(checks, run_id=run_id, run_at=run_at, day=day).items():
        catalog.append_rows(spark, table, rows)


def history(catalog: Catalog) -> pa.Table:
    """Every stored check: ``kind, run_id, run_at, monitor_date, subject, metric, value, threshold,
    breached``, oldest first."""
    import pyarrow as pa

    from featurelake.sql import query

    parts = [
        f"SELECT '{kind}' AS kind, run_id, run_at, monitor_date, subject, metric, value, threshold, breached "
        f"FROM {table_of(kind)}"
        for kind in KINDS
        if catalog.exists(table_of(kind))
    ]
    if not parts:
        return pa.table(
            {
                "kind": pa.array([], pa.string()),
                "run_id": pa.array([], pa.string()),
                "run_at": pa.array([], pa.timestamp("us", tz="UTC")),
                "monitor_date": pa.array([], pa.date32()),
                "subject": pa.array([], pa.string()),
                "metric": pa.array([], pa.string()),
                "value": pa.array([], pa.float64()),
                "threshold": pa.array([], pa.float64()),
                "breached": pa.array([], pa.bool_()),
            }
        )
    return query(" UNION ALL ".join(parts) + " ORDER BY run_at, kind, subject, metric", catalog)
