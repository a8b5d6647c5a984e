"""Gold: the feature tables Feast serves, exactly as the flights feature contract defines them.

Every table has ``event_timestamp`` (the time the row's values become
known, UTC) and ``event_date`` (its UTC date, the partition column). Column
names are the contract's feature names; entity keys are ``carrier``,
``origin``, (``origin``, ``dest``) and ``tailnum``.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = [
    "GOLD_CARRIER_DELAY_7D",
    "GOLD_FLIGHT_LABELS",
    "GOLD_ORIGIN_WEATHER",
    "GOLD_PLANE",
    "GOLD_ROUTE_DELAY_30D",
    "GOLD_TABLES",
]

GOLD_CARRIER_DELAY_7D = TableSpec.of(
    "gold.carrier_delay_7d",
    "carrier string not null, event_timestamp timestamp not null, flights_7d bigint not null, "
    "dep_delay_avg_7d double, cancel_rate_7d double, event_date date not null",
    partition_by=["event_date"],
    keys=["carrier", "event_date"],
    description="Per carrier and UTC day D (at D 00:00): flights, mean dep_delay and cancel rate "
    "over event_ts in [D-7d, D).",
)

GOLD_ROUTE_DELAY_30D = TableSpec.of(
    "gold.route_delay_30d",
    "origin string not null, dest string not null, event_timestamp timestamp not null, "
    "flights_30d bigint not null, arr_delay_avg_30d double, event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "dest", "event_date"],
    description="Per route (origin, dest) and UTC day D (at D 00:00): flights and mean arr_delay "
    "over event_ts in [D-30d, D).",
)

GOLD_ORIGIN_WEATHER = TableSpec.of(
    "gold.origin_weather",
    "origin string not null, event_timestamp timestamp not null, temp double, humid double, "
    "wind_speed double, wind_gust double, precip double, pressure double, visib double, "
    "event_date date not null",
    partition_by=["event_date"],
    keys=["origin", "event_timestamp"],
    description="Per origin, one row per hourly observation at obs_ts, values as observed (nulls kept).",
)

GOLD_PLANE = TableSpec.of(
    "gold.plane",
    "tailnum string not null, event_timestamp timestamp not null, plane_age_years int, seats int, "
    "engines int, event_date date not null",
    partition_by=["event_date"],
    keys=["tailnum"],
    description="Per plane in silver.planes, known from 2013-01-01: age in 2013, seats, engines.",
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
)

GOLD_TABLES: tuple[TableSpec, ...] = (
    GOLD_CARRIER_DELAY_7D,
    GOLD_ROUTE_DELAY_30D,
    GOLD_ORIGIN_WEATHER,
    GOLD_PLANE,
    GOLD_FLIGHT_LABELS,
)
