"""``silver.weather`` from ``bronze.weather``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelake.transforms.dedup import latest_per_key, lineage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["silver_weather"]

_MEASURES = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)


def silver_weather(bronze: DataFrame) -> DataFrame:
    """Bronze weather deduplicated on ``event_id``, with ``event_ts`` (= ``obs_ts``, UTC)."""
    from pyspark.sql import functions as F

    latest = latest_per_key(bronze, "event_id")
    return latest.select(
        "event_id",
        F.col("obs_ts").alias("event_ts"),
        "origin",
        "obs_ts",
        "year",
        "month",
        "day",
        "hour",
        *_MEASURES,
        "event_date",
        *lineage(latest),
    )
