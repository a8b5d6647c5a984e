"""Model outputs written back to the lake."""

from __future__ import annotations

from featurelake.catalog import TableSpec

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
)
