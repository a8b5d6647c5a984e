"""No leakage: a gold row stamped T changes only through events strictly before T."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from featurelake.backfill import Request, run_backfill

pytestmark = pytest.mark.integration

# Late flights at the most dangerous instants: exactly midnight UTC, i.e. exactly a row's timestamp.
LATE = [
    hm.flight("AA", 60, "JFK-LAX", "2013-03-10T00:00", 1000, 1000),
    hm.flight("AA", 61, "EWR-MIA", "2013-11-04T00:00", 1000, 1000),
    hm.flight("B6", 60, "JFK-LAX", "2014-01-01T00:00", 1000, 1000),
]

TABLES = {"gold.carrier_delay_7d": ["carrier"], "gold.route_delay_30d": ["origin", "dest"]}


def snapshot(path: str, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    data = DeltaTable(path).to_pyarrow_table().to_pylist()
    return {(*[r[k] for k in keys], r["event_timestamp"]): r for r in data}


def test_rows_change_only_through_events_before_their_timestamp(
    spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    lake = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    before = {t: snapshot(lake.path(t), keys) for t, keys in TABLES.items()}
    hm.write(spark, lake, "bronze.flights", LATE)
    changed_days = {r["event_date"] for r in LATE}
    result = run_backfill(Request.for_changes({"bronze.flights": changed_days}), catalog=lake, spark=spark)
    assert result.ok, result.failures
    for table, keys in TABLES.items():
        after = snapshot(lake.path(table), keys)
        assert after.keys() == before[table].keys()
        changed = {k for k in after if after[k] != before[table][k]}
        assert changed, table
        for key in after:
            entity, stamp = key[:-1], key[-1]
            earlier = [f for f in LATE if tuple(f[k] for k in keys) == entity and f["sched_dep_ts"] < stamp]
            window = dt.timedelta(days=7 if table == "gold.carrier_delay_7d" else 30)
            in_window = [f for f in earlier if f["sched_dep_ts"] >= stamp - window]
            # Changed exactly when a late event lies in [T - window, T): never from one at or after T.
            assert (key in changed) == bool(in_window), (table, key)
