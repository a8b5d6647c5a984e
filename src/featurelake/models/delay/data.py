"""Rows for the delay model: labels from ``gold.flight_labels`` joined point-in-time with features."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from featurelake.catalog import Catalog
from featurelake.models.delay.features import FEATURE_SERVICE, LABEL, add_context

__all__ = ["LABEL_TABLE", "ModelRows", "model_rows"]

LABEL_TABLE = "gold.flight_labels"
FEATURE_TABLES = (
    "gold.flight_labels",
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
)


@dataclass(frozen=True)
class ModelRows:
    """A training or scoring set and the table versions it was read from (its lineage)."""

    table: pa.Table
    table_versions: dict[str, int]


def model_rows(
    start: dt.date,
    end: dt.date,
    *,
    labelled_only: bool,
    catalog: Catalog | None = None,
) -> ModelRows:
    """Label rows with ``event_timestamp`` in [start, end) and their ``delay_model_v1`` features.

    Features come from the feature store's point-in-time join (``training_set``), so a row
    only sees feature values known before its scheduled departure.
    """
    from featurelake.delta import describe
    from featurelake.features import training_set

    catalog = catalog or Catalog()
    versions = {t: describe(catalog.path(t)).version for t in FEATURE_TABLES if catalog.exists(t)}
    table = training_set(
        LABEL_TABLE,
        FEATURE_SERVICE,
        start=start,
        end=end,
        where=f"{LABEL} IS NOT NULL" if labelled_only else None,
        output="arrow",
        settings=catalog.settings,
    )
    if not isinstance(table, pa.Table):  # output="arrow" always is; this narrows the type
        raise TypeError(f"training_set returned {type(table).__name__}, expected an Arrow table")
    table = table.sort_by([("event_timestamp", "ascending"), ("event_id", "ascending")])
    return ModelRows(add_context(table), versions)
