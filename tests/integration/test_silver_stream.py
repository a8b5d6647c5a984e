"""Streaming silver: bronze flights as a Delta stream, merged into silver.flights, latest ingest wins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import handmade_flights as hm
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from featurelake import transforms
from featurelake.catalog import Catalog
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.ingest.silver_stream import run_silver_stream

pytestmark = pytest.mark.integration

LATER = hm.INGESTED + dt.timedelta(hours=3)


def _silver(catalog: Catalog) -> dict[str, dict[str, Any]]:
    rows = DeltaTable(catalog.path("silver.flights")).to_pyarrow_table().to_pylist()
    assert len(rows) == len({r["event_id"] for r in rows}), "an event is twice in silver"
    return {r["event_id"]: r for r in rows}


def _same_as_batch(spark: Any, catalog: Catalog) -> None:
    """silver.flights holds what the batch transform makes of the whole of bronze (failing rows out)."""
    columns = catalog.spec("silver.flights").schema.names
    streamed = catalog.read(spark, "silver.flights").select(*columns)
    bronze = catalog.read(spark, "bronze.flights")
    batch = transforms.silver_flights(bronze).where("event_id not like 'XX%'").select(*columns)
    assert streamed.exceptAll(batch).count() == 0
    assert batch.exceptAll(streamed).count() == 0


def test_stream_merges_new_events_and_corrections_once(
    spark: Any, settings: Settings, catalog: Catalog
) -> None:
    a = hm.flight("AA", 1, "JFK-LAX", "2013-03-09T23:30", 10, 20)
    b = hm.flight("B6", 7, "JFK-LAX", "2013-03-10T12:00", 100, 90)
    a_again = {**a, "_ingested_at": a["_ingested_at"] + dt.timedelta(minutes=5)}  # the same event resent
    bad = hm.flight("UA", 3, "EWR-SFO", "2013-03-10T08:00", 1, 1, event_id="XX-not-its-fields")
    hm.write(spark, catalog, "bronze.flights", [a, b, a_again, bad])

    first = run_silver_stream(settings=settings, spark=spark)
    silver = _silver(catalog)
    assert set(silver) == {a["event_id"], b["event_id"]}
    assert sum(r.merged for r in first) == 2
    assert sum(r.quarantined for r in first) == 1
    quarantined = DeltaTable(catalog.path("quarantine.records")).to_pyarrow_table().to_pylist()
    assert [(q["event_id"], q["layer"], q["reasons"]) for q in quarantined] == [
        ("XX-not-its-fields", "silver", "event_id_matches_fields")
    ]

    # a correction of a (newer ingest) wins; an older copy of b with other values loses
    corrected = {**a, "dep_delay": 55.0, "_ingested_at": LATER}
    stale = {**b, "dep_delay": 1.0, "_ingested_at": hm.INGESTED - dt.timedelta(days=1)}
    hm.write(spark, catalog, "bronze.flights", [corrected, stale])
    second = run_silver_stream(settings=settings, spark=spark)
    assert len(second) == 1
    silver = _silver(catalog)
    assert silver[a["event_id"]]["dep_delay"] == 55.0
    assert silver[b["event_id"]]["dep_delay"] == 100.0
    # the stream gives what the batch job gives from the whole of bronze
    _same_as_batch(spark, catalog)

    # nothing new: no batch, no commit
    version = DeltaTable(catalog.path("silver.flights")).version()
    assert run_silver_stream(settings=settings, spark=spark) == []
    assert DeltaTable(catalog.path("silver.flights")).version() == version


def test_cli_stream_silver(spark: Any, settings: Settings, catalog: Catalog) -> None:
    hm.write(spark, catalog, "bronze.flights", [hm.flight("AA", 9, "LGA-ORD", "2013-03-10T07:00", 5, 6)])
    result = CliRunner().invoke(main, ["stream-silver", "--once"])
    assert result.exit_code == 0, result.output
    assert "silver.flights: 1 merged in 1 batch(es)" in result.output
    assert set(_silver(catalog)) == {"AA-9-LGA-20130310T0700Z"}
    result = CliRunner().invoke(main, ["stream-silver", "--interval", "0"])
    assert result.exit_code == 2
    assert "interval must be > 0" in result.output
