"""Trailing windows of whole UTC days over an entity grid: the engine of the daily feature tables.

For every entity in a universe and every day D of a range, additive daily
measures are summed over the days [D - N, D - 1], i.e. over events with
``event_ts`` in [D - N days, D) because day boundaries are UTC midnights.
Only events strictly before D 00:00 contribute, so a row stamped D 00:00
never sees its own day: no leakage by construction.

How: one aggregate row per (entity, day) with data, left-joined onto the
dense grid universe x [start - N, end], then a window sum over the N
preceding grid days. Sums of whole-minute delays are exact in doubles, so the
averages derived from them are the exact means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["trailing_daily_sums", "utc_midnight"]


def utc_midnight(date_col: Column) -> Column:
    """D 00:00 UTC for a date column, whatever the session time zone."""
    from pyspark.sql import functions as F

    return F.make_timestamp(
        F.year(date_col),
        F.month(date_col),
        F.dayofmonth(date_col),
        F.lit(0),
        F.lit(0),
        F.lit(0),
        F.lit("UTC"),
    )


def trailing_daily_sums(
    events: DataFrame,
    *,
    keys: Sequence[str],
    universe: DataFrame,
    start: dt.date,
    end: dt.date,
    days: int,
    measures: Mapping[str, Column],
) -> DataFrame:
    """Window sums of daily ``measures`` for every entity of ``universe`` and every day of [start, end].

    Args:
        events: rows with ``event_date`` and the ``keys``; only days in [start - days, end - 1] are used.
        keys: the entity key columns, present in ``events`` and ``universe``.
        universe: every entity that gets a row for every day (duplicates are ignored).
        start: first output day.
        end: last output day (inclusive).
        days: window length N: day D sums days D - N .. D - 1.
        measures: name -> aggregate expression per (entity, day); must be additive (counts, sums).

    Returns:
        ``keys``, ``event_date`` (= D) and one column per measure, 0 where the window
        holds no events (a sum of an all-null column is 0 too: pair it with a count).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if end < start:
        raise ValueError(f"empty day range {start} .. {end}")
    if days < 1:
        raise ValueError(f"window length must be >= 1 day, got {days}")
    first = start - dt.timedelta(days=days)
    span = (end - first).days + 1
    origin = F.lit(first)
    daily = (
        events.where((F.col("event_date") >= F.lit(first)) & (F.col("event_date") < F.lit(end)))
        .groupBy(*keys, "event_date")
        .agg(*[expr.alias(name) for name, expr in measures.items()])
        .select(*keys, F.datediff("event_date", origin).alias("_day"), *measures)
    )
    spark = events.sparkSession
    grid = universe.select(*keys).distinct().crossJoin(spark.range(span).withColumnRenamed("id", "_day"))
    dense = grid.join(daily, on=[*keys, "_day"], how="left")
    window = Window.partitionBy(*keys).orderBy("_day").rangeBetween(-days, -1)
    summed = dense.select(
        *keys,
        "_day",
        *[F.coalesce(F.sum(name).over(window), F.lit(0)).alias(name) for name in measures],
    )
    return summed.where(F.col("_day") >= days).select(
        *keys, F.date_add(origin, F.col("_day").cast("int")).alias("event_date"), *measures
    )
