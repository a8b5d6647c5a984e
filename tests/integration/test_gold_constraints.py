"""The gold contract as Delta constraints: declared on every table, met by the jobs, enforced on write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from featurelake.catalog import Catalog
from featurelake.tables.gold import GOLD_TABLES
from featurelake.tables.streaming import STREAMING_TABLES
from featurelake.transforms.calendar import days_predicate

pytestmark = pytest.mark.integration

DAY = dt.date(2013, 3, 11)


def test_every_gold_table_declares_checks_and_required_keys() -> None:
    for spec in (*GOLD_TABLES, *STREAMING_TABLES):
        assert spec.constraints, spec.name
        for key in spec.keys:
            assert not spec.schema.column(key).nullable, f"{spec.name}.{key} must be NOT NULL"


def test_the_built_gold_tables_carry_their_constraints(spark: Any, tmp_path_factory: Any) -> None:
    lake = hm.built_lake(spark, tmp_path_factory)  # the jobs' output met every constraint
    for spec in GOLD_TABLES:
        if dict(spec.tags)["domain"] == "bookings":
            continue  # the handmade lake has flights only: test_erasure.py builds this one
        config = DeltaTable(lake.path(spec.name)).metadata().configuration
        declared = {f"delta.constraints.{n}".lower() for n, _ in spec.constraints}
        assert declared <= {k.lower() for k in config}, spec.name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cancel_rate_7d": 1.5}, "carrier_delay_7d_contract"),
        ({"carrier": None}, "carrier"),
    ],
)
def test_a_write_breaking_the_contract_is_rejected_and_changes_nothing(
    spark: Any, tmp_path_factory: Any, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    from pyspark.sql import functions as F

    lake: Catalog = hm.copy_lake(spark, tmp_path_factory, tmp_path / "lake")
    table = "gold.carrier_delay_7d"
    before = DeltaTable(lake.path(table))
    version, content = before.version(), sorted(map(str, before.to_pyarrow_table().to_pylist()))
    day = lake.read(spark, table).where(F.col("event_date") == F.lit(DAY))
    # One job's overwrite of day D with one row broken: Delta must reject the whole write.
    bad = [{**r.asDict(), **change} if r["carrier"] == "AA" else r.asDict() for r in day.collect()]
    frame = spark.createDataFrame(bad, lake.spec(table).schema.to_spark_ddl().replace(" NOT NULL", ""))
    with pytest.raises(Exception, match=message) as raised:
        lake.write(frame, table, mode="overwrite", replace_where=days_predicate(DAY, DAY))
    assert "DELTA_VIOLATE" in str(raised.value) or "NOT NULL" in str(raised.value).upper()
    after = DeltaTable(lake.path(table))
    assert after.version() == version
    assert sorted(map(str, after.to_pyarrow_table().to_pylist())) == content
