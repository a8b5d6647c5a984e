"""Streaming gold: features the ingest stream keeps fresh, one row per carrier and micro-batch.

``gold.carrier_delay_1h`` is written by the per-batch hook of
``featurelake ingest flights --continuous`` (``featurelake.features.streaming``):
at event time T (the batch's watermark), the mean ``dep_delay`` of the
carrier's flights with ``event_ts`` in [T - 60 min, T). The same rows are
pushed to the online store through the Feast push source
``carrier_delay_1h_push``. ``gold.origin_departures_1h`` is the same per
departure airport (``origin_departures_1h_push``).
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["GOLD_CARRIER_DELAY_1H", "GOLD_ORIGIN_DEPARTURES_1H", "STREAMING_TABLES"]

GOLD_CARRIER_DELAY_1H = TableSpec.of(
    "gold.carrier_delay_1h",
    "carrier string not null, event_timestamp timestamp not null, flights_1h bigint not null, "
    "dep_delay_avg_1h double, event_date date not null",
    partition_by=["event_date"],
    keys=["carrier", "event_timestamp"],
    description="Per carrier at the stream's event-time watermark T: flights and mean dep_delay "
    "over event_ts in [T-60min, T), written by each ingest micro-batch.",
    constraints={
        "carrier_delay_1h_contract": "flights_1h >= 0 AND (flights_1h > 0 OR dep_delay_avg_1h IS NULL)",
    },
)

GOLD_ORIGIN_DEPARTURES_1H = TableSpec.of(
    "gold.origin_departures_1h",
    "origin string not null, event_timestamp timestamp not null, departures_1h bigint not null, "
    "origin_dep_delay_avg_1h double, event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "event_timestamp"],
    description="Per departure airport at the stream's event-time watermark T: departures and mean "
    "dep_delay over event_ts in [T-60min, T), written by each ingest micro-batch.",
    constraints={
        "origin_departures_1h_contract": "departures_1h >= 0 "
        "AND (departures_1h > 0 OR origin_dep_delay_avg_1h IS NULL)",
    },
)

STREAMING_TABLES: tuple[TableSpec, ...] = (GOLD_CARRIER_DELAY_1H, GOLD_ORIGIN_DEPARTURES_1H)
