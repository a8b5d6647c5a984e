"""A month of real flights and weather, landing to bronze: every record, none quarantined."""

from __future__ import annotations

from typing import Any

import pytest
from deltalake import DeltaTable

from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.ingest.producers import produce_replay
from featurelake.ingest.stream import run_ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_january_2013_lands_whole(spark: Any, settings: Settings) -> None:
    import datetime as dt

    import featurelake.sql

    flights = produce_replay("flights", "2013-01-01", "2013-02-01", settings=settings, records_per_file=5000)
    weather = produce_replay("weather", "2013-01-01", "2013-02-01", settings=settings)
    assert (flights.events, weather.events) == (26_865, 2_211)
    for dataset in ("flights", "weather"):
        run = run_ingest(dataset, settings=settings, spark=spark)
        assert run.totals["quarantined_rows"] == 0

    con = featurelake.sql.connect(Catalog(settings=settings))
    counts = con.sql(
        "select (select count(*) from bronze.flights), "
        "(select count(distinct event_id) from bronze.flights), "
        "(select count(*) from bronze.weather), (select count(*) from quarantine.records), "
        "(select count(*) from bronze.flights where dep_time is null and dep_delay is null), "
        "(select min(event_date) from bronze.flights), (select max(event_date) from bronze.flights), "
        "(select count(*) from bronze.flights where cast(sched_dep_ts as date) <> event_date)"
    ).fetchone()
    assert counts[:4] == (26_865, 26_865, 2_211, 0)
    assert counts[4] > 0  # cancelled flights are valid and kept
    assert (counts[5], counts[6]) == (dt.date(2013, 1, 1), dt.date(2013, 1, 31))
    assert counts[7] == 0  # event_date is the UTC date of the event time

    bronze = DeltaTable(Catalog(settings=settings).path("bronze.flights"))
    assert bronze.metadata().partition_columns == ["event_date"]
    log = DeltaTable(Catalog(settings=settings).path("ops.ingest_log")).to_pyarrow_table().to_pylist()
    fl = next(r for r in log if r["dataset"] == "flights")
    assert fl["event_dates"].split(",")[0] == "2013-01-01"
    assert len(fl["event_dates"].split(",")) == 31
