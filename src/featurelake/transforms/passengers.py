"""``gold.passenger_activity``: each passenger's bookings over the 90 days before a UTC midnight."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["WINDOW_DAYS", "passenger_activity"]

WINDOW_DAYS = 90


def passenger_activity(bookings: DataFrame, *, start: dt.date, end: dt.date) -> DataFrame:
    """Rows for days ``start`` .. ``end`` (inclusive) from ``silver.bookings`` of days start-91 .. end-1.

    A passenger gets a row on day D only when the window [D-90d, D) differs from the day
    before's: a booking made on D-1 entered it or one made on D-91 left it. Every other day's
    values equal the previous row's, so a point-in-time lookup of the latest row at or before
    a time is exact without a row per passenger per day. A window that emptied gives a row
    with ``bookings_90d`` = 0.

    The means are integer arithmetic, so any engine recomputes them to the last bit: the
    mean fare is the mean in cents rounded half up, in dollars; the mean lead time the mean
    in whole minutes rounded half up, in days (``CAST(m AS DOUBLE) / 1440``).
    """
    from pyspark.sql import functions as F

    b = bookings.select("passenger_key", "event_id", "event_date", "fare_cents", "lead_minutes")
    days = (
        b.select(
            "passenger_key",
            F.explode(F.array(F.date_add("event_date", 1), F.date_add("event_date", WINDOW_DAYS + 1))).alias(
                "day"
            ),
        )
        .where(F.col("day").between(F.lit(start), F.lit(end)))
        .distinct()
    )
    inside = (
        (F.col("b.passenger_key") == F.col("d.passenger_key"))
        & (F.col("b.event_date") >= F.date_sub(F.col("d.day"), WINDOW_DAYS))
        & (F.col("b.event_date") < F.col("d.day"))
    )
    joined = days.alias("d").join(b.alias("b"), inside, "left")
    sums = joined.groupBy(
        F.col("d.passenger_key").alias("passenger_key"), F.col("d.day").alias("event_date")
    ).agg(
        F.count("b.event_id").alias("bookings_90d"),
        F.sum("b.fare_cents").alias("cents"),
        F.sum("b.lead_minutes").alias("minutes"),
    )
    return sums.select(
        "passenger_key",
        F.to_timestamp(F.col("event_date")).alias("event_timestamp"),
        "bookings_90d",
        _mean(F.col("cents"), 100).alias("fare_avg_90d"),
        _mean(F.col("minutes"), 1440).alias("lead_days_avg_90d"),
        "event_date",
    )


def _mean(total: Column, unit: int) -> Column:
    """``total`` / bookings rounded half up to an integer, divided by ``unit``; null for no bookings."""
    from pyspark.sql import functions as F

    n = F.col("bookings_90d")
    # floor of the double quotient is the integer one: 2n is small, so a quotient just below an
    # integer is at least 1/(2n) below it, far beyond a double's rounding
    rounded = F.floor((2 * total + n) / (2 * n)).cast("bigint")
    return F.when(n > 0, rounded.cast("double") / F.lit(float(unit)))
