"""Silver with a late corrected event: the newest ``_ingested_at`` wins, whatever order copies arrive in.

The silver job keeps one row per event key; a corrected event (same key,
later ``_ingested_at``) that lands in a later batch replaces the old version
at the next silver run, and an older copy landing late never replaces a newer
one. ``benchmarks/silver_merge.py`` measured the two ways of applying such a
change (rewrite the day from bronze, or MERGE on the event key); the job keeps
the one that won (see ``featurelake.backfill.jobs``), and these tests hold
for it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from featurelake.backfill import Request, run_backfill
from featurelake.catalog import Catalog

pytestmark = pytest.mark.integration

EVENT = "AA-1-JFK-20130309T2330Z"
DAY = dt.date(2013, 3, 9)
CORRECTED_AT = hm.INGESTED + dt.timedelta(days=3)


def silver_copies(lake: Catalog, event_id: str) -> list[dict[str, Any]]:
    data = DeltaTable(lake.path("silver.flights")).to_pyarrow_table()
    return [r for r in data.to_pylist() if r["event_id"] == event_id]


def refresh(lake: Catalog, spark: Any) -> None:
    """What the late-data refresh runs after an ingest batch touched ``DAY``."""
    result = run_backfill(Request.for_changes({"bronze.flights": {DAY}}), catalog=lake, spark=spark)
    assert result.ok, result.failures


def gold_carrier_day(lake: Catalog, day: dt.date) -> dict[str, Any]:
    data = DeltaTable(lake.path("gold.carrier_delay_7d")).to_pyarrow_table().to_pylist()
    return next(r for r in data if r["carrier"] == "AA" and r["event_date"] == day)


def test_silver_with_a_late_corrected_event(spark: Any, tmp_path_factory: Any, tmp_path: Path) -> None:
    lake = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    [original] = silver_copies(lake, EVENT)
    assert original["dep_delay"] == 10.0

    corrected = hm.flight("AA", 1, "JFK-LAX", "2013-03-09T23:30", 12, 20, ingested=CORRECTED_AT)
    hm.write(spark, lake, "bronze.flights", [{**corrected, "_batch_id": 2}])
    refresh(lake, spark)
    [row] = silver_copies(lake, EVENT)
    assert (row["dep_delay"], row["_ingested_at"], row["_batch_id"]) == (12.0, CORRECTED_AT, 2)
    # The correction reached gold too: AA's 7-day mean on 03-10 was AA1's 10 minutes alone.
    assert gold_carrier_day(lake, dt.date(2013, 3, 10))["dep_delay_avg_7d"] == 12.0

    # An older version arriving after the correction (a replayed copy, say) loses to it.
    stale_at = hm.INGESTED + dt.timedelta(days=1)
    stale = hm.flight("AA", 1, "JFK-LAX", "2013-03-09T23:30", 555, 555, ingested=stale_at)
    hm.write(spark, lake, "bronze.flights", [{**stale, "_batch_id": 3}])
    refresh(lake, spark)
    [row] = silver_copies(lake, EVENT)
    assert (row["dep_delay"], row["_ingested_at"]) == (12.0, CORRECTED_AT)
    assert len(DeltaTable(lake.path("silver.flights")).to_pyarrow_table()) == 11  # nothing else came or went

    # And running the refresh again changes nothing.
    version = DeltaTable(lake.path("silver.flights")).version()
    refresh(lake, spark)
    assert DeltaTable(lake.path("silver.flights")).version() == version
