"""Streaming gold: features the ingest stream keeps fresh, one row per carrier and micro-batch.

``gold.carrier_delay_1h`` is written by the per-batch hook of
``featurelake ingest flights --continuous`` (``featurelake.features.streaming``):
at event time T (the stream's clock: the newest ``sched_dep_ts`` ingested so
far), the count and mean ``dep_delay`` of the carrier's flights with
``event_ts`` in [T - 60 min, T), read from ``bronze.flights`` deduplicated on
``event_id``. The same rows are
pushed to the online store through the Feast push source
``carrier_delay_1h_push``. ``gold.origin_departures_1h`` is the same per
departure airport (``origin_departures_1h_push``).
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["GOLD_CARRIER_DELAY_1H", "GOLD_ORIGIN_DEPARTURES_1H", "STREAMING_TABLES"]

_OWNER = "ml-features"
_CLOCK = (
    "T, the stream's event-time clock when the ingest batch was committed: the newest sched_dep_ts "
    "ingested into bronze.flights so far (UTC), never moving backwards."
)

GOLD_CARRIER_DELAY_1H = TableSpec.of(
    "gold.carrier_delay_1h",
    "carrier string not null, event_timestamp timestamp not null, flights_1h bigint not null, "
    "dep_delay_avg_1h double, event_date date not null",
    partition_by=["event_date"],
    keys=["carrier", "event_timestamp"],
    description="Per carrier at the stream's event-time clock T (newest sched_dep_ts ingested): flights "
    "and mean dep_delay over event_ts in [T-60min, T), written by each ingest micro-batch.",
    constraints={
        "carrier_delay_1h_contract": "flights_1h >= 0 AND (flights_1h > 0 OR dep_delay_avg_1h IS NULL)",
    },
    owner=_OWNER,
    tags={"domain": "flights", "entity": "carrier", "window": "60 minutes", "refresh": "per ingest batch"},
    column_docs={
        "carrier": "Two-letter carrier code (the carrier entity); a row for each carrier with a "
        "scheduled departure in [T - 2 h, T).",
        "event_timestamp": _CLOCK,
        "flights_1h": "The carrier's scheduled departures (distinct event_id, cancelled ones included) "
        "with sched_dep_ts in [T - 60 min, T); 0 when its only ones were earlier.",
        "dep_delay_avg_1h": "Mean departure delay in minutes (negative: early) of those that departed; "
        "null when none did.",
    },
    upstream=["bronze.flights"],
)

GOLD_ORIGIN_DEPARTURES_1H = TableSpec.of(
    "gold.origin_departures_1h",
    "origin string not null, event_timestamp timestamp not null, departures_1h bigint not null, "
    "origin_dep_delay_avg_1h double, event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "event_timestamp"],
    description="Per departure airport at the stream's event-time clock T (newest sched_dep_ts "
    "ingested): departures and mean dep_delay over event_ts in [T-60min, T), written by each ingest "
    "micro-batch.",
    constraints={
        "origin_departures_1h_contract": "departures_1h >= 0 "
        "AND (departures_1h > 0 OR origin_dep_delay_avg_1h IS NULL)",
    },
    owner=_OWNER,
    tags={"domain": "flights", "entity": "origin", "window": "60 minutes", "refresh": "per ingest batch"},
    column_docs={
        "origin": "Departure airport, FAA code (the origin entity); a row for each airport with a "
        "scheduled departure in [T - 2 h, T).",
        "event_timestamp": _CLOCK,
        "departures_1h": "Scheduled departures from the airport (distinct event_id, cancelled ones "
        "included) with sched_dep_ts in [T - 60 min, T); 0 when its only ones were earlier.",
        "origin_dep_delay_avg_1h": "Mean departure delay in minutes (negative: early) of those that "
        "departed; null when none did.",
    },
    upstream=["bronze.flights"],
)

STREAMING_TABLES: tuple[TableSpec, ...] = (GOLD_CARRIER_DELAY_1H, GOLD_ORIGIN_DEPARTURES_1H)
