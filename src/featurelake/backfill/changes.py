"""Which bronze days changed: the input of a late-data refresh, read from ``ops.ingest_log``.

Every ingest batch logs the event dates it wrote to bronze. A refresh takes
the batches finished since it last ran and rebuilds those silver days and
the gold days that read them::

    run_backfill(Request.for_changes(changed_days(catalog, since=last_run)))

(Planning by fingerprints makes this safe to over-approximate: a day that
did not really change is skipped.)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from featurelake.catalog import Catalog

__all__ = ["changed_days"]

INGEST_LOG = "ops.ingest_log"


def changed_days(catalog: Catalog, *, since: dt.datetime | None = None) -> dict[str, set[dt.date]]:
    """Bronze table -> event days written by ingest batches that finished after ``since`` (all when None)."""
    if not catalog.exists(INGEST_LOG):
        return {}
    from deltalake import DeltaTable

    data = DeltaTable(catalog.path(INGEST_LOG)).to_pyarrow_table(
        columns=["dataset", "finished_at", "event_dates"]
    )
    out: dict[str, set[dt.date]] = defaultdict(set)
    for row in data.to_pylist():
        if since is not None and row["finished_at"] <= since:
            continue
        for text in (row["event_dates"] or "").split(","):
            if text.strip():
                out[f"bronze.{row['dataset']}"].add(dt.date.fromisoformat(text.strip()))
    return dict(out)
