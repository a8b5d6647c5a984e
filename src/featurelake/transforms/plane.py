"""``gold.plane``: static attributes of each aircraft, known from the start of 2013."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["AS_OF", "plane"]

AS_OF = dt.date(2013, 1, 1)
"""The day every plane row is stamped with (00:00 UTC), and the year ages count from."""


def plane(planes: DataFrame) -> DataFrame:
    """One row per ``silver.planes`` row: ``plane_age_years`` = 2013 - ``year`` (null when unknown)."""
    from pyspark.sql import functions as F

    from featurelake.transforms.trailing import utc_midnight

    day = F.lit(AS_OF)
    return planes.select(
        "tailnum",
        utc_midnight(day).alias("event_timestamp"),
        (F.lit(AS_OF.year) - F.col("year")).cast("int").alias("plane_age_years"),
        F.col("seats").cast("int").alias("seats"),
        F.col("engines").cast("int").alias("engines"),
        day.alias("event_date"),
    )
