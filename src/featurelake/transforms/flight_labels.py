"""``gold.flight_labels``: the training labels, one row per flight at its scheduled departure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["DELAYED_AFTER_MINUTES", "flight_labels"]

DELAYED_AFTER_MINUTES = 15


def flight_labels(flights: DataFrame) -> DataFrame:
    """``is_delayed`` = ``arr_delay`` > 15 minutes (null when ``arr_delay`` is null)."""
    from pyspark.sql import functions as F

    return flights.select(
        "event_id",
        "carrier",
        "origin",
        "dest",
        "tailnum",
        F.col("event_ts").alias("event_timestamp"),
        "arr_delay",
        (F.col("arr_delay") > DELAYED_AFTER_MINUTES).alias("is_delayed"),
        "event_date",
    )
