"""Model outputs written back to the lake."""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.bronze import FLIGHT_EVENT_DOCS

__all__ = ["DELAY_PREDICTIONS", "PREDICTION_LOG"]

DELAY_PREDICTIONS = TableSpec.of(
    "gold.delay_predictions",
    "event_id string not null, carrier string, origin string, dest string, "
    "event_timestamp timestamp not null, delay_probability double not null, "
    "model_name string not null, model_version string not null, scored_at timestamp not null, "
    "event_date date not null",
    partition_by=["event_date"],
    keys=["event_id"],
    description="P(arr_delay > 15) per scheduled departure from the delay model, one set per day "
    "(re-scoring a day replaces it), with the model version that produced it.",
    owner="ml-models",
    tags={"domain": "flights", "contains": "predictions", "model": "delay", "refresh": "per scored day"},
    column_docs={
        **{c: FLIGHT_EVENT_DOCS[c] for c in ("event_id", "carrier", "origin", "dest")},
        "event_timestamp": "The scheduled departure, UTC (gold.flight_labels.event_timestamp): the model "
        "saw the feature values known at that instant (point-in-time join).",
        "delay_probability": "The model's probability, 0 to 1, that the flight arrives more than 15 "
        "minutes late (arr_delay > 15); cancelled flights are scored too.",
        "model_name": "The registered MLflow model that scored the row: delay.",
        "model_version": "The registered model version that scored the row (MLflow's number: 1, 2, ...).",
        "scored_at": "When the scoring run ran (UTC).",
        "event_date": "The UTC day scored: every departure of gold.flight_labels scheduled that day; "
        "the partition column, replaced whole by each scoring of the day.",
    },
    upstream=[
        "model:delay",
        "gold.flight_labels",
        "gold.carrier_delay_7d",
        "gold.route_delay_30d",
        "gold.origin_weather",
        "gold.plane",
    ],
)

PREDICTION_LOG = TableSpec.of(
    "ops.prediction_log",
    "request_id string not null, logged_at timestamp not null, source string not null, "
    "event_id string, carrier string, origin string, dest string, tailnum string, "
    "event_timestamp timestamp not null, features string, model_name string not null, "
    "model_version string not null, alias string, mode string not null, served boolean not null, "
    "delay_probability double not null, latency_ms double, event_date date not null",
    partition_by=["event_date"],
    keys=["request_id", "model_version"],
    description="Every prediction made: each answer of POST /predict (and the challenger's shadow "
    "scores) and each batch-scored row, with the keys, the feature values the model saw, the model "
    "version and the latency. Written in batches off the request path; the monitor reads it for drift "
    "and, once labels arrive, performance.",
    owner="ml-models",
    tags={"domain": "flights", "contains": "prediction log", "model": "delay", "refresh": "continuous"},
    column_docs={
        "request_id": "The request's id (the caller's request_id, or a generated UUID); batch rows: "
        "batch:<day>:<event_id>.",
        "logged_at": "When the prediction was made (UTC).",
        "source": "serve (POST /predict) or batch (featurelake score delay).",
        "event_id": "The flight's event_id when the caller gave it (always for batch rows).",
        **{c: FLIGHT_EVENT_DOCS[c] for c in ("carrier", "origin", "dest", "tailnum")},
        "event_timestamp": "The scheduled departure the prediction is for (UTC).",
        "features": "The feature values the model saw, as a JSON object {feature: value or null}.",
        "model_name": "The registered MLflow model: delay.",
        "model_version": "The registered model version that made the prediction.",
        "alias": "The alias that version held when it predicted: champion or challenger.",
        "mode": "champion (answered as the champion), canary (the challenger answered this flight) or "
        "shadow (the challenger scored it; the answer was the champion's); batch rows: champion, or "
        "batch when scored with a version other than the champion (score delay --model-version).",
        "served": "Whether this prediction was the answer returned; false for shadow scores.",
        "delay_probability": "The predicted probability, 0 to 1, that the flight arrives more than 15 "
        "minutes late.",
        "latency_ms": "Milliseconds from the request's arrival to its answer (serve); null for batch rows.",
        "event_date": "UTC date of event_timestamp (the scheduled departure); the partition column, so "
        "labels of gold.flight_labels join by day.",
    },
    upstream=[
        "model:delay",
        "gold.carrier_delay_7d",
        "gold.route_delay_30d",
        "gold.origin_weather",
        "gold.plane",
    ],
)
