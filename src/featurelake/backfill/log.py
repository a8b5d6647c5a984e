"""``ops.backfill_log``: one row per partition a backfill built or failed to build.

Written with delta-rs from the driver, not through Spark: the rows are a
handful of bookkeeping values produced while Spark jobs run, and a Spark
write per finished chunk would add about a second to each. Appends never
conflict, so threads log concurrently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from featurelake.catalog import Catalog

__all__ = ["LOG_TABLE", "DoneRecord", "LogEntry", "append_entries", "latest_done"]

LOG_TABLE = "ops.backfill_log"

Status = Literal["done", "failed"]


@dataclass(frozen=True)
class LogEntry:
    """The outcome for one table partition in one run."""

    table: str
    day: dt.date
    status: Status
    rows: int | None
    fingerprint: str | None
    universe: str | None
    chunk_start: dt.date
    chunk_end: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime
    error: str | None = None


@dataclass(frozen=True)
class DoneRecord:
    """What the latest successful build of a partition was built from."""

    run_id: str
    fingerprint: str | None
    universe: str | None
    finished_at: dt.datetime


def append_entries(catalog: Catalog, run_id: str, entries: list[LogEntry]) -> None:
    """Append ``entries`` to the log in one commit."""
    if not entries:
        return
    from featurelake.spark import get_spark

    rows = [
        {
            "run_id": run_id,
            "table_name": e.table,
            "partition_date": e.day,
            "status": e.status,
            "rows": e.rows,
            "input_fingerprint": e.fingerprint,
            "universe": e.universe,
            "chunk_start": e.chunk_start,
            "chunk_end": e.chunk_end,
            "started_at": e.started_at,
            "finished_at": e.finished_at,
            "error": e.error,
            "log_date": e.finished_at.date(),
        }
        for e in entries
    ]
    catalog.append_rows(get_spark(), LOG_TABLE, rows)


def latest_done(catalog: Catalog, tables: list[str] | None = None) -> dict[tuple[str, dt.date], DoneRecord]:
    """The latest ``done`` record per (table, partition day)."""
    if not catalog.exists(LOG_TABLE):
        return {}
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    columns = ["run_id", "table_name", "partition_date", "status", "input_fingerprint", "universe"]
    data = DeltaTable(catalog.path(LOG_TABLE)).to_pyarrow_table(columns=[*columns, "finished_at"])
    data = data.filter(pc.equal(data.column("status"), "done"))
    if tables is not None:
        data = data.filter(pc.is_in(data.column("table_name"), value_set=pa.array(tables)))
    latest: dict[tuple[str, dt.date], DoneRecord] = {}
    for row in data.to_pylist():
        key = (row["table_name"], row["partition_date"])
        seen = latest.get(key)
        if seen is None or row["finished_at"] >= seen.finished_at:
            latest[key] = DoneRecord(
                row["run_id"], row["input_fingerprint"], row["universe"], row["finished_at"]
            )
    return latest
