"""Model outputs written back to the lake."""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.bronze import FLIGHT_EVENT_DOCS

__all__ = ["DELAY_PREDICTIONS"]

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
