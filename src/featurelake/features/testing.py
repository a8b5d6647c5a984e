"""Gold tables from hand-made rows, for tests and benchmarks that must not wait for the pipeline.

Rows are written with delta-rs into the catalog's table (created with its
schema and ``event_date`` partitioning), ``event_date`` derived from
``event_timestamp`` as the gold contract defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurelake.catalog import Catalog

__all__ = ["synthetic_feature_table", "tiny_gold", "write_gold"]

D = datetime(2013, 3, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    """``n`` days after 2013-03-01 00:00 UTC."""
    return D + timedelta(days=n)


def write_gold(
    catalog: Catalog,
    name: str,
    rows: Sequence[dict[str, Any]] | pa.Table,
    *,
    mode: Literal["append", "overwrite"] = "append",
) -> int:
    """Append (or overwrite) ``rows`` to the gold table ``name``; returns the row count."""
    from deltalake import write_deltalake

    spec = catalog.spec(name)
    schema = spec.schema.to_arrow()
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))
    if "event_date" in schema.names and "event_date" not in table.column_names:
        ts = table.column("event_timestamp").cast(pa.timestamp("us", tz="UTC"))
        table = table.append_column("event_date", pc.cast(ts, pa.date32()))
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    table = pa.Table.from_arrays(columns, schema=schema)
    path = catalog.ensure(name)
    write_deltalake(path, table, mode=mode)
    return table.num_rows


def synthetic_feature_table(
    *, rows: int, entities: int, features: int = 10, seed: int = 0, start: str = "2013-01-01", days: int = 365
) -> pa.Table:
    """A table shaped like a gold feature table: ``entity_id`` (string), ``event_timestamp``, ``f0..fN``.

    Every entity gets ``rows // entities`` rows at random times over ``days`` days; features are
    doubles with about 2% nulls. The reference materialization workload is 2M rows, 200k
    entities, 10 features.
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(rows) % entities
    t0 = np.datetime64(start, "us").astype(np.int64)
    span = days * 86_400 * 1_000_000
    ts = t0 + rng.integers(0, span, size=rows) // 1_000_000 * 1_000_000
    cols: dict[str, pa.Array] = {
        "entity_id": pa.array(np.char.add("E", ids.astype(str))),
        "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
    }
    for i in range(features):
        vals = rng.normal(size=rows)
        cols[f"f{i}"] = pa.array(vals, mask=rng.random(rows) < 0.02)
    table = pa.table(cols)
    return table.append_column("event_date", pc.cast(table.column("event_timestamp"), pa.date32()))


def tiny_gold(catalog: Catalog) -> None:
    """A few hand-made rows in each feature table, from 2013-03-01 (the PIT tests' fixture)."""
    write_gold(
        catalog,
        "gold.carrier_delay_7d",
        [
            {
                "carrier": "UA",
                "event_timestamp": day(0),
                "flights_7d": 10,
                "dep_delay_avg_7d": 1.5,
                "cancel_rate_7d": 0.1,
            },
            {
                "carrier": "UA",
                "event_timestamp": day(1),
                "flights_7d": 11,
                "dep_delay_avg_7d": None,
                "cancel_rate_7d": 0.0,
            },
            {
                "carrier": "UA",
                "event_timestamp": day(4),
                "flights_7d": 14,
                "dep_delay_avg_7d": 4.5,
                "cancel_rate_7d": None,
            },
            {
                "carrier": "AA",
                "event_timestamp": day(0),
                "flights_7d": 0,
                "dep_delay_avg_7d": None,
                "cancel_rate_7d": None,
            },
        ],
    )
    write_gold(
        catalog,
        "gold.route_delay_30d",
        [
            {
                "origin": "EWR",
                "dest": "IAH",
                "event_timestamp": day(0),
                "flights_30d": 30,
                "arr_delay_avg_30d": 7.25,
            },
            {
                "origin": "EWR",
                "dest": "IAH",
                "event_timestamp": day(1),
                "flights_30d": 31,
                "arr_delay_avg_30d": 8.0,
            },
            {
                "origin": "JFK",
                "dest": "IAH",
                "event_timestamp": day(1),
                "flights_30d": 5,
                "arr_delay_avg_30d": -2.0,
            },
        ],
    )
    weather = []
    for h in (0, 1, 2, 10):
        weather.append(
            {
                "origin": "EWR",
                "event_timestamp": day(1) + timedelta(hours=h),
                "temp": 30.0 + h,
                "humid": 50.0,
                "wind_speed": None,
                "wind_gust": None,
                "precip": 0.0,
                "pressure": 1012.5,
                "visib": 10.0,
            }
        )
    write_gold(catalog, "gold.origin_weather", weather)
    write_gold(
        catalog,
        "gold.plane",
        [
            {
                "tailnum": "N1",
                "event_timestamp": datetime(2013, 1, 1, tzinfo=UTC),
                "plane_age_years": 9,
                "seats": 55,
                "engines": 2,
            },
            {
                "tailnum": "N2",
                "event_timestamp": datetime(2013, 1, 1, tzinfo=UTC),
                "plane_age_years": None,
                "seats": 100,
                "engines": 2,
            },
        ],
    )
