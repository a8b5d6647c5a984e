"""Bronze: every decodable event as it arrived, typed, plus where and when it came from.

Columns mirror the Avro contracts in ``schemas/`` (timestamps as UTC
microseconds), then ``event_date`` (the UTC date of the event time, the
partition column) and the lineage columns ``_source_file``, ``_ingested_at``
and ``_batch_id``, then for events read from Kafka ``_kafka_topic``,
``_kafka_partition`` and ``_kafka_offset`` (null for landed files, whose
``_source_file`` is the file; a Kafka row's is ``kafka://<topic>/<partition>``).
Bronze keeps duplicates; silver removes them.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["BRONZE_FLIGHTS", "BRONZE_WEATHER", "LINEAGE_COLUMNS"]

LINEAGE_COLUMNS = (
    "_source_file string not null, _ingested_at timestamp not null, _batch_id bigint not null, "
    "_kafka_topic string, _kafka_partition int, _kafka_offset bigint"
)

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
)
