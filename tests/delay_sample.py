"""A purpose-built training set for the delay model, and a quick way to register versions of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from featurelake.catalog import Catalog
from featurelake.models.delay.features import NUMERIC
from featurelake.models.delay.train import TrainConfig, TrainResult, train_delay_model

START = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)

INTEGER_FEATURES = {
    "flights_7d": pa.int64(),
    "flights_30d": pa.int64(),
    "plane_age_years": pa.int32(),
    "seats": pa.int32(),
    "engines": pa.int32(),
}
"""Features whose gold columns are integers (the rest are doubles)."""

VERSIONS = {"gold.flight_labels": 4, "gold.carrier_delay_7d": 2}
"""The lineage :func:`train` records: the Delta versions the sample stands for."""


def sample(n: int = 6000, seed: int = 1) -> pa.Table:
    """Flights over 120 days whose delay depends on dep_delay_avg_7d, origin and the hour."""
    rng = np.random.default_rng(seed)
    ts = [START + dt.timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 120 * 24 * 60, n))]
    origin = rng.choice(["EWR", "JFK", "LGA"], n)
    dep_avg = rng.normal(10, 8, n)
    hour = np.array([t.hour for t in ts])
    logit = 0.15 * (dep_avg - 10) + (origin == "EWR") * 1.0 + (hour > 16) * 0.8 - 0.8
    delayed = rng.random(n) < 1 / (1 + np.exp(-logit))
    cols = {name: pa.array(rng.normal(0, 1, n)) for name in NUMERIC}
    # counts and plane attributes arrive from the feature store as integers, some null
    for name, kind in INTEGER_FEATURES.items():
        cols[name] = pa.array(rng.integers(0, 50, n), kind, mask=rng.random(n) < 0.03)
    cols["dep_delay_avg_7d"] = pa.array(np.where(rng.random(n) < 0.05, np.nan, dep_avg), from_pandas=True)
    return pa.table(
        {
            "event_id": pa.array([f"F{i:06d}" for i in range(n)]),
            "carrier": pa.array(rng.choice(["UA", "AA", "B6", "DL"], n)),
            "origin": pa.array(origin),
            "dest": pa.array(rng.choice(["LAX", "ORD", "ATL", "SFO", "BOS"], n)),
            "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "is_delayed": pa.array(delayed),
            **cols,
        }
    )


def train(catalog: Catalog, rows: pa.Table, **kwargs: Any) -> TrainResult:
    """Train and register one version of ``delay`` on ``rows`` (Jan-Mar train, April validates)."""
    return train_delay_model(
        dt.date(2013, 1, 1),
        dt.date(2013, 5, 1),
        valid_from=dt.date(2013, 4, 1),
        config=TrainConfig(epochs=6, batch_size=512, learning_rate=5e-3),
        catalog=catalog,
        rows=rows,
        table_versions=VERSIONS,
        **kwargs,
    )
