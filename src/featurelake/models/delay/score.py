"""Batch scoring: one day's departures -> ``gold.delay_predictions``, idempotently per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError
from featurelake.models.delay.features import Preprocessor
from featurelake.models.registry import ModelVersion, load_version

__all__ = ["PREDICTIONS_TABLE", "load_model", "predict", "score_date"]

PREDICTIONS_TABLE = "gold.delay_predictions"


@dataclass(frozen=True)
class LoadedModel:
    """A trained delay model ready to predict."""

    version: ModelVersion
    preprocessor: Preprocessor
    net: Any


def load_model(version: str | None = None, catalog: Catalog | None = None) -> LoadedModel:
    """Load a version of the delay model (the latest by default) on the CPU."""
    import torch

    from featurelake.models.delay.net import DelayNet
    from featurelake.models.delay.train import MODEL_NAME

    catalog = catalog or Catalog()
    mv = load_version(MODEL_NAME, version, catalog.settings)
    state = torch.load(mv.path / "model.pt", map_location="cpu", weights_only=True)
    net = DelayNet(state["numeric_width"], state["vocab_sizes"])
    net.load_state_dict(state["state_dict"])
    net.eval()
    pre = Preprocessor.from_json((mv.path / "preprocessor.json").read_text())
    return LoadedModel(mv, pre, net)


def predict(model: LoadedModel, rows: pa.Table) -> np.ndarray:
    """P(arr_delay > 15) for rows carrying the model's features (training-set columns)."""
    import torch

    from featurelake.models.delay.features import add_context

    if "dep_hour_utc" not in rows.column_names:
        rows = add_context(rows)
    numeric, cats = model.preprocessor.transform(rows)
    with torch.no_grad():
        logits = model.net(torch.from_numpy(numeric), torch.from_numpy(cats))
    return torch.sigmoid(logits).numpy().astype(np.float64)


def score_date(day: dt.date, *, version: str | None = None, catalog: Catalog | None = None) -> int:
    """Score every departure scheduled on ``day`` (UTC) and replace that day's predictions.

    Returns the number of predictions written.

    Raises:
        FeaturelakeError: no trained model, or no flights that day.
    """
    from featurelake.models.delay.data import model_rows
    from featurelake.spark import get_spark

    catalog = catalog or Catalog()
    model = load_model(version, catalog)
    rows = model_rows(day, day + dt.timedelta(days=1), labelled_only=False, catalog=catalog).table
    if rows.num_rows == 0:
        raise FeaturelakeError(f"no flights in gold.flight_labels on {day}; build gold for that day first")
    probabilities = predict(model, rows)
    now = dt.datetime.now(dt.UTC)
    out = pa.table(
        {
            "event_id": rows.column("event_id"),
            "carrier": rows.column("carrier"),
            "origin": rows.column("origin"),
            "dest": rows.column("dest"),
            "event_timestamp": rows.column("event_timestamp").cast(pa.timestamp("us", tz="UTC")),
            "delay_probability": pa.array(probabilities, pa.float64()),
            "model_name": pa.array([model.version.name] * rows.num_rows, pa.string()),
            "model_version": pa.array([model.version.version] * rows.num_rows, pa.string()),
            "scored_at": pa.array([now] * rows.num_rows, pa.timestamp("us", tz="UTC")),
            "event_date": pa.array([day] * rows.num_rows, pa.date32()),
        }
    )
    spark = get_spark("featurelake-score")
    catalog.write(
        spark.createDataFrame(out).coalesce(1),
        PREDICTIONS_TABLE,
        mode="overwrite",
        replace_where=f"event_date = '{day.isoformat()}'",
        user_metadata=f"delay {model.version.version} scored {day}",
    )
    return out.num_rows
