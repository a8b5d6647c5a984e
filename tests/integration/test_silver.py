"""Silver on the hand-made lake: deduplication, derived columns, the silver suite and its quarantine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from featurelake.backfill import Request, run_backfill
from featurelake.catalog import Catalog

pytestmark = pytest.mark.integration


def rows(catalog: Catalog, table: str) -> list[dict[str, Any]]:
    return DeltaTable(catalog.path(table)).to_pyarrow_table().to_pylist()


@pytest.fixture(scope="module")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return hm.built_lake(spark, tmp_path_factory)


def test_flights_are_deduplicated_latest_ingest_wins(lake: Catalog) -> None:
    silver = {r["event_id"]: r for r in rows(lake, "silver.flights")}
    assert len(silver) == 11
    aa2 = silver["AA-2-JFK-20130310T0000Z"]
    assert aa2["dep_delay"] == 30.0
    assert aa2["_ingested_at"] == hm.INGESTED
    assert aa2["event_ts"] == aa2["sched_dep_ts"] == hm.ts("2013-03-10T00:00")
    assert {e for e, r in silver.items() if r["is_cancelled"]} == {"AA-3-LGA-20130310T0659Z"}
    assert silver["AA-5-JFK-20130311T0359Z"]["event_date"] == dt.date(2013, 3, 11)


def test_weather_is_deduplicated(lake: Catalog) -> None:
    silver = {r["event_id"]: r for r in rows(lake, "silver.weather")}
    assert len(silver) == 4
    assert silver["JFK-20130310T06Z"]["temp"] == 31.1
    assert silver["JFK-20130310T06Z"]["event_ts"] == hm.ts("2013-03-10T06:00")


def test_flight_entities_hold_each_days_routes(lake: Catalog) -> None:
    entities = {
        (r["event_date"], r["carrier"], r["origin"], r["dest"]): r["flights"]
        for r in rows(lake, "silver.flight_entities")
    }
    assert entities[(dt.date(2013, 3, 10), "AA", "JFK", "LAX")] == 1  # AA2 (the bad AA999 is quarantined)
    assert entities[(dt.date(2013, 3, 10), "AA", "LGA", "ORD")] == 2
    assert entities[(dt.date(2013, 11, 3), "ZZ", "LGA", "ATL")] == 1
    assert sum(entities.values()) == 11


def test_rows_failing_the_silver_suite_are_quarantined_with_reasons(lake: Catalog) -> None:
    quarantined = [r for r in rows(lake, "quarantine.records") if r["layer"] == "silver"]
    assert len(quarantined) == 1
    [bad] = quarantined
    assert (bad["dataset"], bad["event_id"], bad["reasons"]) == (
        "flights",
        "AA-998-JFK-20130310T0900Z",
        "event_id_matches_fields",
    )
    assert json.loads(bad["record_json"])["flight"] == 999
    assert bad["replayed_at"] is None


def test_silver_suite_results_are_recorded(lake: Catalog) -> None:
    results = [r for r in rows(lake, "ops.validation_results") if r["suite"] == "flights_silver"]
    by_check = {(r["batch_id"], r["expectation"]): r for r in results}
    march = by_check[(20130309, "event_id_matches_fields")]
    assert (march["unexpected_count"], march["success"], march["severity"]) == (1, False, "quarantine")
    warn = by_check[(20130309, "tailnum_mostly_known")]
    assert (warn["unexpected_count"], warn["success"], warn["severity"]) == (1, False, "warn")
    assert {r["outcome"] for r in results} == {"written"}


def test_rebuilding_silver_does_not_quarantine_twice(
    spark: Any, tmp_path_factory: Any, tmp_path: Path
) -> None:
    lake = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    result = run_backfill(
        Request.for_range(dt.date(2013, 3, 9), dt.date(2013, 3, 11), layers=["silver"], force=True),
        catalog=lake,
        spark=spark,
    )
    assert result.ok, result.failures
    assert [r["event_id"] for r in rows(lake, "quarantine.records") if r["layer"] == "silver"] == [
        "AA-998-JFK-20130310T0900Z"
    ]


def test_spark_evaluation_of_the_silver_suite_agrees_with_gx(
    lake: Catalog, spark: Any, tmp_path: Path
) -> None:
    from featurelake.backfill import _io
    from featurelake.quality.checks import evaluate
    from featurelake.quality.docs import gx_validate
    from featurelake.quality.suites import load_suite
    from featurelake.transforms import silver_flights

    bronze = _io.read_days(spark, lake, "bronze.flights", hm.FIRST_DAY, hm.LAST_GOLD_DAY)
    rows = silver_flights(bronze).persist()
    suite = load_suite("flights_silver")
    ours = {r.check.name: (r.success, r.unexpected_count) for r in evaluate(rows, suite)}
    theirs, _ = gx_validate(rows, suite, root=tmp_path / "gx", asset="flights_silver")
    assert theirs == ours
    assert ours["event_id_matches_fields"] == (False, 1)
    assert ours["event_date_is_utc_date_of_event_ts"] == (True, 0)
