"""``gold.origin_weather``: each hourly observation as a feature row of its origin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["FEATURES", "origin_weather"]

FEATURES = ("temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib")


def origin_weather(weather: DataFrame) -> DataFrame:
    """One row per ``silver.weather`` observation, ``event_timestamp`` = ``obs_ts``, values as observed."""
    from pyspark.sql import functions as F

    return weather.select("origin", F.col("event_ts").alias("event_timestamp"), *FEATURES, "event_date")
