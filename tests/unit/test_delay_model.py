"""The delay model's training, split, metrics and artifacts on a purpose-built sample."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from featurelake.catalog import Catalog
from featurelake.models import list_models
from featurelake.models.delay.features import NUMERIC, Preprocessor, add_context
from featurelake.models.delay.metrics import log_loss, roc_auc
from featurelake.models.delay.train import Epoch, TrainConfig, split_by_time, train_delay_model

START = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)


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


def test_metrics_match_their_definitions() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert log_loss(np.array([1, 0]), np.array([0.8, 0.2])) == pytest.approx(-np.log(0.8))
    with pytest.raises(ValueError, match="both"):
        roc_auc(np.array([1, 1]), np.array([0.2, 0.3]))


def test_time_split_has_no_overlap() -> None:
    table = sample(2000)
    train, valid = split_by_time(table, dt.date(2013, 4, 1))
    assert train.num_rows + valid.num_rows == table.num_rows
    assert pc.max(train.column("event_timestamp")).as_py() < dt.datetime(2013, 4, 1, tzinfo=dt.UTC)
    assert pc.min(valid.column("event_timestamp")).as_py() >= dt.datetime(2013, 4, 1, tzinfo=dt.UTC)


def test_preprocessor_fills_nulls_and_maps_unseen_categories() -> None:
    table = add_context(sample(500))
    pre = Preprocessor().fit(table)
    numeric, cats = pre.transform(table)
    assert cats.shape == (500, 3)
    assert numeric.shape == (500, pre.numeric_width)
    assert not np.isnan(numeric).any()
    i = pre.columns.index("dep_delay_avg_7d")
    nulls = pc.is_null(table.column("dep_delay_avg_7d"), nan_is_null=True).to_numpy(zero_copy_only=False)
    assert (numeric[:, 2 * i + 1] == nulls).all()
    other = table.set_column(table.column_names.index("dest"), "dest", pa.array(["XXX"] * 500))
    assert (pre.transform(other)[1][:, 2] == 0).all()
    assert Preprocessor.from_json(pre.to_json()) == pre


def test_training_beats_baselines_and_writes_versioned_artifacts_with_lineage(catalog: Catalog) -> None:
    rows = add_context(sample())
    config = TrainConfig(epochs=6, batch_size=512, learning_rate=5e-3)
    versions = {"gold.flight_labels": 4, "gold.carrier_delay_7d": 2}
    epochs: list[Epoch] = []
    first = train_delay_model(
        dt.date(2013, 1, 1),
        dt.date(2013, 5, 1),
        valid_from=dt.date(2013, 4, 1),
        config=config,
        catalog=catalog,
        rows=rows,
        table_versions=versions,
        on_epoch=epochs.append,
    )
    # each epoch was reported as it ended, with the holdout loss early stopping decided on
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert [round(e.holdout_log_loss, 6) for e in epochs] == first.metrics["training"]["model"][
        "holdout_log_loss_by_epoch"
    ]
    assert all(0.5 < e.holdout_auc <= 1 and e.train_loss > 0 for e in epochs)
    v = first.metrics["validation"]
    assert v["model"]["auc"] > v["base_rate"]["auc"] + 0.1
    assert v["model"]["log_loss"] < v["base_rate"]["log_loss"]
    lineage = json.loads((catalog.settings.lake / "models" / "delay" / "v1" / "lineage.json").read_text())
    assert lineage["feature_service"] == "delay_model_v1"
    assert lineage["tables"] == versions
    assert lineage["train_range"] == ["2013-01-01", "2013-04-01"]
    assert lineage["validation_range"] == ["2013-04-01", "2013-05-01"]
    assert set(NUMERIC) <= set(lineage["features"])
    # deterministic for a fixed seed: a second run gives the same metrics, as version v2
    second = train_delay_model(
        dt.date(2013, 1, 1),
        dt.date(2013, 5, 1),
        valid_from=dt.date(2013, 4, 1),
        config=config,
        catalog=catalog,
        rows=rows,
        table_versions=versions,
    )
    assert second.version == "v2"
    assert second.metrics["validation"] == first.metrics["validation"]
    assert [m.version for m in list_models(catalog.settings)] == ["v1", "v2"]
