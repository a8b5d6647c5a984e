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
from featurelake.features.progress import MaterializeReporter

__all__ = [
    "RecordingReporter",
    "conform",
    "synthetic_entities",
    "synthetic_feature_table",
    "synthetic_gold",
    "tiny_gold",
    "write_gold",
]

D = datetime(2013, 3, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    """``n`` days after 2013-03-01 00:00 UTC."""
    return D + timedelta(days=n)


def conform(catalog: Catalog, name: str, rows: Sequence[dict[str, Any]] | pa.Table) -> pa.Table:
    """``rows`` cast to the table's schema, ``event_date`` derived from ``event_timestamp``."""
    schema = catalog.spec(name).schema.to_arrow()
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))
    if "event_date" in schema.names and "event_date" not in table.column_names:
        ts = table.column("event_timestamp").cast(pa.timestamp("us", tz="UTC"))
        table = table.append_column("event_date", pc.cast(ts, pa.date32()))
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def write_gold(
    catalog: Catalog,
    name: str,
    rows: Sequence[dict[str, Any]] | pa.Table,
    *,
    mode: Literal["append", "overwrite"] = "append",
) -> int:
    """Append (or overwrite) ``rows`` to the gold table ``name``; returns the row count."""
    from featurelake.spark import get_spark

    table = conform(catalog, name, rows)
    catalog.append_rows(get_spark(), name, table, mode=mode)
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


CARRIERS = [f"C{i:02d}" for i in range(16)]
ORIGINS = ["EWR", "JFK", "LGA"]
DESTS = [f"D{i:03d}" for i in range(75)]


def synthetic_gold(catalog: Catalog, *, seed: int = 0, planes: int = 3322) -> dict[str, int]:
    """Gold feature tables with the contract's shapes and random values (benchmarks, load tests).

    16 carriers and 224 routes x 367 days, hourly weather at 3 origins for a year, ``planes``
    planes; about 3% nulls. Values keep to the tables' CHECK constraints (counts positive, rates
    in [0, 1], humidity in [0, 100], non-negative wind, rain and visibility). Returns rows per table.
    """
    rng = np.random.default_rng(seed)
    days = np.datetime64("2013-01-01", "us") + np.arange(367) * np.timedelta64(1, "D")
    ts = pa.array(days, pa.timestamp("us", tz="UTC"))
    n = len(CARRIERS) * 367

    def vals(size: int, scale: float = 10.0, low: float | None = None, high: float | None = None) -> pa.Array:
        values = rng.normal(size=size) * scale
        if low is not None or high is not None:
            values = np.clip(np.abs(values) if low == 0 else values, low, high)
        return pa.array(values, mask=rng.random(size) < 0.03)

    out = {}
    out["gold.carrier_delay_7d"] = write_gold(
        catalog,
        "gold.carrier_delay_7d",
        pa.table(
            {
                "carrier": pa.array(np.repeat(CARRIERS, 367)),
                "event_timestamp": pa.concat_arrays([ts] * len(CARRIERS)),
                "flights_7d": pa.array(rng.integers(1, 2000, n)),
                "dep_delay_avg_7d": vals(n),
                "cancel_rate_7d": vals(n, 0.05, 0, 1),
            }
        ),
    )
    routes = [(o, d) for o in ORIGINS for d in DESTS][:224]
    n = len(routes) * 367
    out["gold.route_delay_30d"] = write_gold(
        catalog,
        "gold.route_delay_30d",
        pa.table(
            {
                "origin": pa.array(np.repeat([o for o, _ in routes], 367)),
                "dest": pa.array(np.repeat([d for _, d in routes], 367)),
                "event_timestamp": pa.concat_arrays([ts] * len(routes)),
                "flights_30d": pa.array(rng.integers(1, 900, n)),
                "arr_delay_avg_30d": vals(n),
            }
        ),
    )
    hours = np.datetime64("2013-01-01", "us") + np.arange(8705) * np.timedelta64(1, "h")
    n = len(hours) * len(ORIGINS)
    weather = {
        "origin": pa.array(np.repeat(ORIGINS, len(hours))),
        "event_timestamp": pa.array(np.tile(hours, len(ORIGINS)), pa.timestamp("us", tz="UTC")),
    }
    weather["temp"] = vals(n)
    weather["humid"] = vals(n, 30.0, 0, 100)
    for name in ("wind_speed", "wind_gust", "precip", "visib"):
        weather[name] = vals(n, 10.0, 0)
    weather["pressure"] = pa.array(1013 + rng.normal(size=n) * 10, mask=rng.random(n) < 0.03)
    out["gold.origin_weather"] = write_gold(catalog, "gold.origin_weather", pa.table(weather))
    out["gold.plane"] = write_gold(
        catalog,
        "gold.plane",
        pa.table(
            {
                "tailnum": pa.array([f"N{i:05d}" for i in range(planes)]),
                "event_timestamp": pa.array(
                    [datetime(2013, 1, 1, tzinfo=UTC)] * planes, pa.timestamp("us", tz="UTC")
                ),
                "plane_age_years": pa.array(
                    rng.integers(0, 40, planes), pa.int32(), mask=rng.random(planes) < 0.03
                ),
                "seats": pa.array(rng.integers(2, 400, planes), pa.int32()),
                "engines": pa.array(rng.integers(1, 4, planes), pa.int32()),
            }
        ),
    )
    return out


def synthetic_entities(rows: int, *, seed: int = 1, planes: int = 3322) -> pa.Table:
    """Entity rows for :func:`synthetic_gold`: carrier, origin, dest, tailnum, event_timestamp in 2013."""
    rng = np.random.default_rng(seed)
    routes = [(o, d) for o in ORIGINS for d in DESTS][:224]
    r = rng.integers(0, len(routes), rows)
    t0 = np.datetime64("2013-01-01", "us").astype(np.int64)
    stamps = t0 + rng.integers(0, 365 * 86_400, rows) * 1_000_000
    return pa.table(
        {
            "carrier": pa.array(np.array(CARRIERS)[rng.integers(0, len(CARRIERS), rows)]),
            "origin": pa.array([routes[i][0] for i in r]),
            "dest": pa.array([routes[i][1] for i in r]),
            "tailnum": pa.array(
                np.char.add("N", np.char.zfill(rng.integers(0, planes, rows).astype(str), 5))
            ),
            "event_timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        }
    )


class RecordingReporter(MaterializeReporter):
    """A materialization reporter that keeps every report, in the order it came (``events``)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def started(self, views: Sequence[str]) -> None:
        self.events.append(("started", list(views)))

    def view_started(self, view: str) -> None:
        self.events.append(("view_started", view))

    def view_finished(self, view: str, stats: Any) -> None:
        self.events.append(("view_finished", view, stats))
