"""Gold: the feature tables Feast serves, exactly as the flights feature contract defines them.

Every table has ``event_timestamp`` (the time the row's values become
known, UTC) and ``event_date`` (its UTC date, the partition column). Column
names are the contract's feature names; entity keys are ``carrier``,
``origin``, (``origin``, ``dest``) and ``tailnum``.

The contract is enforced by Delta at write time: key columns are ``NOT
NULL`` and one ``CHECK`` constraint per table keeps counts non-negative,
rates in [0, 1] and physical measures in range, so a job that breaks it
fails its write and leaves the table as it was. Delta rejects a row whose
``CHECK`` evaluates to NULL (unlike SQL's CHECK), so every rule on a
nullable column is written ``coalesce(rule, true)``: a rate or mean over no
rows, and an unobserved measure, are null by contract.
One constraint per table, not one per rule: each ``ADD CONSTRAINT`` is a
commit plus a scan when the table is created (Delta's error names the
failing expression and the row's values either way).
"""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.bronze import FLIGHT_EVENT_DOCS, WEATHER_EVENT_DOCS

__all__ = [
    "GOLD_CARRIER_DELAY_7D",
    "GOLD_FLIGHT_LABELS",
    "GOLD_ORIGIN_WEATHER",
    "GOLD_PASSENGER_ACTIVITY",
    "GOLD_PLANE",
    "GOLD_ROUTE_DELAY_30D",
    "GOLD_TABLES",
]

_OWNER = "ml-features"

_SLA_HOURS = 48.0
"""Freshness SLA of every gold table (``featurelake monitor``): the daily job runs once a day, so
a table older than two days has missed a run."""

_DAILY_STAMP = (
    "D 00:00 UTC, D being the row's day (event_date): the values count only flights scheduled "
    "before that instant, none of day D itself."
)
"""``event_timestamp`` of the daily trailing-window tables."""

GOLD_CARRIER_DELAY_7D = TableSpec.of(
    "gold.carrier_delay_7d",
    "carrier string not null, event_timestamp timestamp not null, flights_7d bigint not null, "
    "dep_delay_avg_7d double, cancel_rate_7d double, event_date date not null",
    partition_by=["event_date"],
    keys=["carrier", "event_date"],
    description="Per carrier and UTC day D (at D 00:00): flights, mean dep_delay and cancel rate "
    "over event_ts in [D-7d, D).",
    constraints={
        "carrier_delay_7d_contract": "flights_7d >= 0 AND coalesce(cancel_rate_7d BETWEEN 0 AND 1, true) "
        "AND (flights_7d > 0 OR (cancel_rate_7d IS NULL AND dep_delay_avg_7d IS NULL))",
    },
    owner=_OWNER,
    tags={"domain": "flights", "entity": "carrier", "window": "7 days", "refresh": "daily"},
    column_docs={
        "carrier": "Two-letter carrier code (the carrier entity): every carrier in "
        "silver.flight_entities gets a row every day, whether it flew in the window or not.",
        "event_timestamp": _DAILY_STAMP,
        "flights_7d": "The carrier's scheduled departures (cancelled ones included) with sched_dep_ts in "
        "[D - 7 days, D); 0 when none.",
        "dep_delay_avg_7d": "Mean departure delay in minutes (negative: early) of those flights that "
        "departed (cancelled ones have no delay); null when none departed.",
        "cancel_rate_7d": "Share of those flights that were cancelled (no dep_time), 0 to 1; null when "
        "flights_7d = 0.",
    },
    upstream=["silver.flights", "silver.flight_entities"],
    column_sources={
        "carrier": ["silver.flights.carrier", "silver.flight_entities.carrier"],
        "event_timestamp": ["silver.flights.event_date"],
        "flights_7d": ["silver.flights.event_id"],
        "dep_delay_avg_7d": ["silver.flights.dep_delay"],
        "cancel_rate_7d": ["silver.flights.is_cancelled"],
        "event_date": ["silver.flights.event_date"],
    },
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_ROUTE_DELAY_30D = TableSpec.of(
    "gold.route_delay_30d",
    "origin string not null, dest string not null, event_timestamp timestamp not null, "
    "flights_30d bigint not null, arr_delay_avg_30d double, event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "dest", "event_date"],
    description="Per route (origin, dest) and UTC day D (at D 00:00): flights and mean arr_delay "
    "over event_ts in [D-30d, D).",
    constraints={
        "route_delay_30d_contract": "flights_30d >= 0 AND (flights_30d > 0 OR arr_delay_avg_30d IS NULL)",
    },
    owner=_OWNER,
    tags={"domain": "flights", "entity": "route", "window": "30 days", "refresh": "daily"},
    column_docs={
        "origin": "Departure airport of the route, FAA code (EWR, JFK or LGA); every route in "
        "silver.flight_entities gets a row every day, whether it was flown in the window or not.",
        "dest": "Destination airport of the route, FAA code (silver.airports.faa).",
        "event_timestamp": _DAILY_STAMP,
        "flights_30d": "Scheduled departures on the route (cancelled ones included) with sched_dep_ts in "
        "[D - 30 days, D); 0 when none.",
        "arr_delay_avg_30d": "Mean arrival delay in minutes (negative: early) of those flights with an "
        "arrival delay (cancelled and diverted ones have none); null when none.",
    },
    upstream=["silver.flights", "silver.flight_entities"],
    column_sources={
        "origin": ["silver.flights.origin", "silver.flight_entities.origin"],
        "dest": ["silver.flights.dest", "silver.flight_entities.dest"],
        "event_timestamp": ["silver.flights.event_date"],
        "flights_30d": ["silver.flights.event_id"],
        "arr_delay_avg_30d": ["silver.flights.arr_delay"],
        "event_date": ["silver.flights.event_date"],
    },
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_ORIGIN_WEATHER = TableSpec.of(
    "gold.origin_weather",
    "origin string not null, event_timestamp timestamp not null, temp double, humid double, "
    "wind_speed double, wind_gust double, precip double, pressure double, visib double, "
    "event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "event_timestamp"],
    description="Per origin, one row per hourly observation at obs_ts, values as observed (nulls kept).",
    constraints={
        "origin_weather_contract": "coalesce(humid BETWEEN 0 AND 100, true) "
        "AND coalesce(wind_speed >= 0, true) "
        "AND coalesce(wind_gust >= 0, true) AND coalesce(precip >= 0, true) "
        "AND coalesce(pressure > 0, true) AND coalesce(visib >= 0, true)",
    },
    owner=_OWNER,
    tags={"domain": "weather", "entity": "origin", "refresh": "daily"},
    column_docs={
        "origin": "Departure airport (EWR, JFK or LGA) whose weather station made the observation; the "
        "origin entity.",
        "event_timestamp": "The observation hour, UTC (silver.weather.obs_ts).",
        **{
            c: WEATHER_EVENT_DOCS[c]
            for c in ("temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib")
        },
    },
    upstream=["silver.weather"],
    column_sources={"event_timestamp": ["silver.weather.obs_ts"]},
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_PLANE = TableSpec.of(
    "gold.plane",
    "tailnum string not null, event_timestamp timestamp not null, plane_age_years int, seats int, "
    "engines int, event_date date not null",
    partition_by=["event_date"],
    keys=["tailnum"],
    description="Per plane in silver.planes, known from 2013-01-01: age in 2013, seats, engines.",
    constraints={
        "plane_contract": "coalesce(plane_age_years >= 0, true) AND coalesce(seats >= 0, true) "
        "AND coalesce(engines >= 0, true)"
    },
    owner=_OWNER,
    tags={"domain": "flights", "entity": "plane", "refresh": "daily"},
    column_docs={
        "tailnum": "Plane tail number (the plane entity), one row per plane in silver.planes.",
        "event_timestamp": "2013-01-01 00:00 UTC for every row: the attributes hold for the whole year.",
        "plane_age_years": "2013 minus the year the plane was manufactured; null when that year is unknown.",
        "seats": "Number of seats (silver.planes.seats).",
        "engines": "Number of engines (silver.planes.engines).",
    },
    upstream=["silver.planes"],
    column_sources={"plane_age_years": ["silver.planes.year"]},
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_FLIGHT_LABELS = TableSpec.of(
    "gold.flight_labels",
    "event_id string not null, carrier string not null, origin string not null, dest string not null, "
    "tailnum string, event_timestamp timestamp not null, arr_delay double, is_delayed boolean, "
    "event_date date not null",
    partition_by=["event_date"],
    keys=["event_id"],
    description="One row per flight at its scheduled departure: arr_delay and is_delayed "
    "(arr_delay > 15), the training labels.",
    constraints={"flight_labels_contract": "is_delayed <=> (arr_delay > 15)"},
    owner=_OWNER,
    tags={"domain": "flights", "contains": "labels", "label": "is_delayed", "refresh": "daily"},
    column_docs={
        **{c: FLIGHT_EVENT_DOCS[c] for c in ("event_id", "carrier", "origin", "dest", "tailnum")},
        "event_timestamp": "The scheduled departure, UTC (silver.flights.event_ts): features are joined "
        "point-in-time, as known at that instant.",
        "arr_delay": FLIGHT_EVENT_DOCS["arr_delay"],
        "is_delayed": "The label: arr_delay > 15 minutes; null when arr_delay is null (cancelled or "
        "diverted).",
    },
    upstream=["silver.flights"],
    column_sources={
        "event_timestamp": ["silver.flights.sched_dep_ts"],
        "is_delayed": ["silver.flights.arr_delay"],
    },
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_PASSENGER_ACTIVITY = TableSpec.of(
    "gold.passenger_activity",
    "passenger_key string not null, event_timestamp timestamp not null, bookings_90d bigint not null, "
    "fare_avg_90d double, lead_days_avg_90d double, event_date date not null",
    partition_by=["event_date"],
    keys=["passenger_key", "event_date"],
    description="Per passenger (pseudonym) and UTC day D (at D 00:00) on which the passenger's 90-day "
    "window changes (a booking on D-1 enters it, one on D-91 leaves it): bookings, mean fare and mean "
    "lead time over booked_at in [D-90d, D). Between two rows the earlier one holds.",
    constraints={
        "passenger_activity_contract": "bookings_90d >= 0 AND coalesce(fare_avg_90d > 0, true) "
        "AND (bookings_90d > 0 OR (fare_avg_90d IS NULL AND lead_days_avg_90d IS NULL))",
    },
    owner=_OWNER,
    tags={
        "domain": "bookings",
        "entity": "passenger",
        "window": "90 days",
        "refresh": "daily",
        "pii": "pseudonymised",
    },
    column_docs={
        "passenger_key": "The passenger entity: the keyed pseudonym of silver.bookings.passenger_key.",
        "event_timestamp": "D 00:00 UTC, D being the row's day (event_date): the values count only "
        "bookings made before that instant.",
        "bookings_90d": "The passenger's bookings with booked_at in [D - 90 days, D); 0 once the last "
        "one has left the window.",
        "fare_avg_90d": "Mean fare of those bookings, US dollars: the mean of silver's fare_cents rounded "
        "half up to a cent, divided by 100; null when none.",
        "lead_days_avg_90d": "Mean time from booking to departure of those bookings, days: the mean of "
        "silver's lead_minutes rounded half up to a minute, divided by 1440; null when none.",
    },
    upstream=["silver.bookings"],
    column_sources={
        "event_timestamp": ["silver.bookings.event_date"],
        "bookings_90d": ["silver.bookings.event_id", "silver.bookings.event_date"],
        "fare_avg_90d": ["silver.bookings.fare_cents", "silver.bookings.event_date"],
        "lead_days_avg_90d": ["silver.bookings.lead_minutes", "silver.bookings.event_date"],
    },
    freshness_sla_hours=_SLA_HOURS,
)

GOLD_TABLES: tuple[TableSpec, ...] = (
    GOLD_CARRIER_DELAY_7D,
    GOLD_ROUTE_DELAY_30D,
    GOLD_ORIGIN_WEATHER,
    GOLD_PLANE,
    GOLD_FLIGHT_LABELS,
    GOLD_PASSENGER_ACTIVITY,
)
