"""From a training-set Arrow table to model-ready tensors, column-wise, no per-row Python.

Numeric features are standardised with training statistics; a null becomes
the training mean plus a 1 in that feature's missing-indicator column (a
missing 7-day delay average says something: the carrier did not fly).
Categoricals map through a training vocabulary; index 0 is "unseen".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CATEGORICAL",
    "CONTEXT",
    "FEATURE_SERVICE",
    "LABEL",
    "MODEL_NAME",
    "NUMERIC",
    "Preprocessor",
    "add_context",
]

MODEL_NAME = "delay"
"""The registered MLflow model the delay model's versions belong to."""
FEATURE_SERVICE = "delay_model_v1"
LABEL = "is_delayed"
NUMERIC = [
    "flights_7d",
    "dep_delay_avg_7d",
    "cancel_rate_7d",
    "flights_30d",
    "arr_delay_avg_30d",
    "temp",
    "humid",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
    "plane_age_years",
    "seats",
    "engines",
]
"""The numeric features of ``delay_model_v1``."""
CONTEXT = ["dep_hour_utc", "dep_weekday"]
"""Known at prediction time from the scheduled departure itself (not from the feature store)."""
CATEGORICAL = ["carrier", "origin", "dest"]


def add_context(table: pa.Table) -> pa.Table:
    """Add the scheduled departure's UTC hour and weekday (from ``event_timestamp``)."""
    ts = table.column("event_timestamp")
    table = table.append_column("dep_hour_utc", pc.cast(pc.hour(ts), pa.float64()))
    return table.append_column("dep_weekday", pc.cast(pc.day_of_week(ts), pa.float64()))


@dataclass
class Preprocessor:
    """Training statistics and vocabularies; fitted once, saved with the model."""

    columns: list[str] = field(default_factory=lambda: NUMERIC + CONTEXT)
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    vocab: dict[str, list[str]] = field(default_factory=dict)

    @property
    def numeric_width(self) -> int:
        """Columns of the numeric matrix: each value and its missing indicator."""
        return 2 * len(self.columns)

    @property
    def vocab_sizes(self) -> list[int]:
        """Embedding table sizes, one per categorical (+1 for unseen)."""
        return [len(self.vocab[c]) + 1 for c in CATEGORICAL]

    def _matrix(self, table: pa.Table) -> np.ndarray:
        cols = [pc.cast(table.column(c), pa.float64()).to_numpy(zero_copy_only=False) for c in self.columns]
        return np.column_stack(cols) if cols else np.empty((table.num_rows, 0))

    def fit(self, table: pa.Table) -> Preprocessor:
        """Learn means, standard deviations and vocabularies from training rows."""
        values = self._matrix(table)
        with np.errstate(invalid="ignore"):
            means = np.nanmean(values, axis=0)
            stds = np.nanstd(values, axis=0)
        self.means = np.nan_to_num(means, nan=0.0).tolist()
        self.stds = np.where(np.isnan(stds) | (stds == 0), 1.0, stds).tolist()
        self.vocab = {
            c: sorted(v for v in pc.unique(table.column(c)).to_pylist() if v is not None) for c in CATEGORICAL
        }
        return self

    def transform(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """``(numeric float32 [n, 2k], categorical int64 [n, 3])`` for these rows."""
        values = self._matrix(table)
        missing = np.isnan(values)
        means = np.asarray(self.means)
        filled = np.where(missing, means, values)
        numeric = np.empty((table.num_rows, self.numeric_width), dtype=np.float32)
        numeric[:, 0::2] = (filled - means) / np.asarray(self.stds)
        numeric[:, 1::2] = missing
        cats = np.empty((table.num_rows, len(CATEGORICAL)), dtype=np.int64)
        for i, c in enumerate(CATEGORICAL):
            idx = pc.index_in(table.column(c), value_set=pa.array(self.vocab[c], pa.string()))
            cats[:, i] = pc.fill_null(pc.add(idx, 1), 0).to_numpy(zero_copy_only=False)
        return numeric, cats

    @functools.cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray, list[dict[str, int]]]:
        """Means, standard deviations and category -> index maps, for :meth:`transform_one`."""
        index = [{v: i + 1 for i, v in enumerate(self.vocab[c])} for c in CATEGORICAL]
        return np.asarray(self.means), np.asarray(self.stds), index

    def transform_one(self, row: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`transform` for one row given as a mapping (the serving path: no Arrow round trip).

        ``row`` holds the numeric features and context columns (None or NaN when missing) and
        the categoricals; the result equals :meth:`transform` of the same row as a table.
        """
        means, stds, index = self._lookup
        values = np.array([row.get(c) for c in self.columns], dtype=np.float64)  # None -> nan
        missing = np.isnan(values)
        numeric = np.empty((1, self.numeric_width), dtype=np.float32)
        numeric[0, 0::2] = (np.where(missing, means, values) - means) / stds
        numeric[0, 1::2] = missing
        cats = np.array(
            [[index[i].get(str(row.get(c)), 0) for i, c in enumerate(CATEGORICAL)]], dtype=np.int64
        )
        return numeric, cats

    def to_json(self) -> str:
        """Serialise for the model's artifact folder."""
        return json.dumps(
            {"columns": self.columns, "means": self.means, "stds": self.stds, "vocab": self.vocab}, indent=1
        )

    @classmethod
    def from_json(cls, text: str) -> Preprocessor:
        """Load what :meth:`to_json` wrote."""
        doc: dict[str, Any] = json.loads(text)
        return cls(doc["columns"], doc["means"], doc["stds"], doc["vocab"])
