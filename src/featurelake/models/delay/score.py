"""Batch scoring: one day's departures -> ``gold.delay_predictions``, idempotently per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError
from featurelake.models.delay.features import Preprocessor
from featurelake.models.tracking import ModelVersion

if TYPE_CHECKING:
    from featurelake.models.delay.pyfunc import DelayPyfunc

__all__ = ["PREDICTIONS_TABLE", "load_model", "predict", "score_date"]

PREDICTIONS_TABLE = "gold.delay_predictions"


@dataclass(frozen=True)
class LoadedModel:
    """A registered version of the delay model, loaded and ready to predict."""

    version: ModelVersion
    model: DelayPyfunc

    @property
    def preprocessor(self) -> Preprocessor:
        """The training statistics and vocabularies the network expects its inputs through."""
        assert self.model.preprocessor is not None
        return self.model.preprocessor


def load_model(ref: str | None = None, catalog: Catalog | None = None) -> LoadedModel:
    """Load a version of the delay model from the MLflow registry, on the CPU.

    Args:
        ref: a version number (``3`` or ``v3``) or an alias; the ``champion`` when None.
        catalog: the lake whose registry to read.

    Raises:
        FeaturelakeError: no such model, version or alias.
    """
    import mlflow.pyfunc

    from featurelake.models import tracking
    from featurelake.models.delay.features import MODEL_NAME
    from featurelake.models.delay.pyfunc import DelayPyfunc

    catalog = catalog or Catalog()
    mv = tracking.resolve(MODEL_NAME, ref, catalog.settings)
    with tracking.tracking(catalog.settings):
        loaded = mlflow.pyfunc.load_model(mv.uri)
    model = loaded.unwrap_python_model()
    if not isinstance(model, DelayPyfunc):
        raise FeaturelakeError(f"{mv.uri} is a {type(model).__name__}, not the delay model")
    return LoadedModel(mv, model)


def predict(model: LoadedModel, rows: pa.Table) -> np.ndarray:
    """P(arr_delay > 15) for rows carrying the model's features (training-set columns)."""
    return model.model.predict_arrow(rows)


def _log_batch(
    catalog: Catalog, model: LoadedModel, rows: pa.Table, p: np.ndarray, day: dt.date, now: dt.datetime
) -> None:
    """Every batch-scored row to ``ops.prediction_log`` too (source ``batch``), with its features."""
    import json
    import math

    from featurelake.models import prediction_log
    from featurelake.models.delay.features import NUMERIC

    features = [
        json.dumps(
            {f: None if v is None or (isinstance(v, float) and math.isnan(v)) else v for f, v in r.items()},
            separators=(",", ":"),
        )
        for r in rows.select(NUMERIC).to_pylist()
    ]
    n = rows.num_rows
    aliases = model.version.aliases
    catalog.append_native(
        prediction_log.TABLE,
        pa.table(
            {
                "request_id": pa.array([f"batch:{day}:{e}" for e in rows.column("event_id").to_pylist()]),
                "logged_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                "source": pa.array(["batch"] * n),
                "event_id": rows.column("event_id"),
                **{c: rows.column(c) for c in ("carrier", "origin", "dest", "tailnum")},
                "event_timestamp": rows.column("event_timestamp").cast(pa.timestamp("us", tz="UTC")),
                "features": pa.array(features),
                "model_name": pa.array([model.version.name] * n),
                "model_version": pa.array([model.version.version] * n),
                "alias": pa.array([aliases[0] if aliases else None] * n, pa.string()),
                "mode": pa.array(["champion" if "champion" in aliases else "batch"] * n),
                "served": pa.array([True] * n),
                "delay_probability": pa.array(p, pa.float64()),
                "latency_ms": pa.nulls(n, pa.float64()),
                "event_date": pa.array([day] * n, pa.date32()),
            }
        ),
    )


def score_date(day: dt.date, *, version: str | None = None, catalog: Catalog | None = None) -> int:
    """Score every departure scheduled on ``day`` (UTC) with a model version (the champion by
    default) and replace that day's predictions.

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
    _log_batch(catalog, model, rows, probabilities, day, now)
    spark = get_spark("featurelake-score")
    catalog.write(
        spark.createDataFrame(out).coalesce(1),
        PREDICTIONS_TABLE,
        mode="overwrite",
        replace_where=f"event_date = '{day.isoformat()}'",
        user_metadata=f"delay {model.version.version} scored {day}",
    )
    return out.num_rows
