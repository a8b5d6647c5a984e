"""``gold.route_delay_30d``: per route (origin, dest) and day, the last 30 days of arrivals."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from featurelake.transforms.trailing import trailing_daily_sums, utc_midnight

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["WINDOW_DAYS", "route_delay_30d"]

WINDOW_DAYS = 30


def route_delay_30d(flights: DataFrame, routes: DataFrame, *, start: dt.date, end: dt.date) -> DataFrame:
    """One row per (origin, dest) in ``routes`` and day D in [start, end], stamped D 00:00 UTC.

    Over the route's flights with ``event_ts`` in [D - 30 days, D): ``flights_30d``
    (0 when none) and ``arr_delay_avg_30d`` (mean of non-null ``arr_delay``, null when none).

    Args:
        flights: ``silver.flights`` rows covering days [start - 30, end - 1].
        routes: the entity universe, ``origin`` and ``dest`` columns.
    """
    from pyspark.sql import functions as F

    sums = trailing_daily_sums(
        flights,
        keys=["origin", "dest"],
        universe=routes,
        start=start,
        end=end,
        days=WINDOW_DAYS,
        measures={
            "n": F.count(F.lit(1)),
            "delay_sum": F.sum("arr_delay"),
            "delay_n": F.count("arr_delay"),
        },
    )
    return sums.select(
        "origin",
        "dest",
        utc_midnight(F.col("event_date")).alias("event_timestamp"),
        F.col("n").cast("bigint").alias("flights_30d"),
        F.when(F.col("delay_n") > 0, F.col("delay_sum") / F.col("delay_n")).alias("arr_delay_avg_30d"),
        "event_date",
    )
