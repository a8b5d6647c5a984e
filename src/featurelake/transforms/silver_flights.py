"""``silver.flights`` from ``bronze.flights``, and the per-day entities the daily gold tables need."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelake.transforms.dedup import latest_per_key, lineage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["flight_entities", "silver_flights"]

_EVENT_COLUMNS = (
    "event_id",
    "sched_dep_ts",
    "year",
    "month",
    "day",
    "dep_time",
    "sched_dep_time",
    "dep_delay",
    "arr_time",
    "sched_arr_time",
    "arr_delay",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "air_time",
    "distance",
    "hour",
    "minute",
    "time_hour",
)


def silver_flights(bronze: DataFrame) -> DataFrame:
    """Bronze flights deduplicated on ``event_id``, with ``event_ts`` and ``is_cancelled``.

    ``event_ts`` is ``sched_dep_ts`` (UTC); ``event_date`` is kept from bronze, which
    derived it from the same field. A flight is cancelled when it never departed
    (``dep_time`` is null).
    """
    from pyspark.sql import functions as F

    latest = latest_per_key(bronze, "event_id")
    return latest.select(
        "event_id",
        F.col("sched_dep_ts").alias("event_ts"),
        *_EVENT_COLUMNS[1:],
        F.col("dep_time").isNull().alias("is_cancelled"),
        "event_date",
        *lineage(latest),
    )


def flight_entities(silver: DataFrame) -> DataFrame:
    """Distinct (carrier, origin, dest) per ``event_date`` with their flight count."""
    from pyspark.sql import functions as F

    return silver.groupBy("event_date", "carrier", "origin", "dest").agg(F.count(F.lit(1)).alias("flights"))
