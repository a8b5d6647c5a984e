"""``gold.carrier_delay_7d``: per carrier and day, the last 7 days of departures."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from featurelake.transforms.trailing import trailing_daily_sums, utc_midnight

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["WINDOW_DAYS", "carrier_delay_7d"]

WINDOW_DAYS = 7


def carrier_delay_7d(flights: DataFrame, carriers: DataFrame, *, start: dt.date, end: dt.date) -> DataFrame:
    """One row per carrier in ``carriers`` and day D in [start, end], stamped D 00:00 UTC.

    Over the carrier's flights with ``event_ts`` in [D - 7 days, D): ``flights_7d``
    (cancelled included, 0 when none), ``dep_delay_avg_7d`` (mean of non-null
    ``dep_delay``, null when none) and ``cancel_rate_7d`` (null when no flights).

    Args:
        flights: ``silver.flights`` rows covering days [start - 7, end - 1].
        carriers: the entity universe, a ``carrier`` column.
    """
    from pyspark.sql import functions as F

    sums = trailing_daily_sums(
        flights,
        keys=["carrier"],
        universe=carriers,
        start=start,
        end=end,
        days=WINDOW_DAYS,
        measures={
            "n": F.count(F.lit(1)),
            "cancelled": F.count(F.when(F.col("is_cancelled"), F.lit(1))),
            "delay_sum": F.sum("dep_delay"),
            "delay_n": F.count("dep_delay"),
        },
    )
    return sums.select(
        "carrier",
        utc_midnight(F.col("event_date")).alias("event_timestamp"),
        F.col("n").cast("bigint").alias("flights_7d"),
        F.when(F.col("delay_n") > 0, F.col("delay_sum") / F.col("delay_n")).alias("dep_delay_avg_7d"),
        F.when(F.col("n") > 0, F.col("cancelled") / F.col("n")).alias("cancel_rate_7d"),
        "event_date",
    )
