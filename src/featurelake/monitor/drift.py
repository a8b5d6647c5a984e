"""Drift: each numeric feature of ``delay_model_v1``, its reference window against the last days up to D.

The reference is what the model learnt from: the champion's training window
(``lineage["train_range"]``), or without a champion the
``fallback_reference_days`` before the current window (the detail says so).
Each window's values are what the model saw where that is recorded, the
``features`` of ``ops.prediction_log`` (served answers and batch scores, not
shadow scores, so no flight counts twice), and otherwise the gold feature
tables joined point-in-time to the window's flights, exactly as training reads
them (``training_set``, like :func:`featurelake.models.delay.data.model_rows`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from featurelake.models.delay.features import FEATURE_SERVICE, NUMERIC
from featurelake.monitor._lake import Lake, unregistered
from featurelake.monitor.config import DriftConfig
from featurelake.monitor.metrics import finite, psi, wasserstein
from featurelake.monitor.result import Check, Window

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.models.tracking import ModelVersion

__all__ = ["DriftResult", "Sample", "drift_checks", "reference_window", "window_values"]

LOG_TABLE = "ops.prediction_log"
LABEL_TABLE = "gold.flight_labels"


@dataclass(frozen=True)
class Sample:
    """One window's feature values and where they came from."""

    window: Window
    values: dict[str, np.ndarray]
    """Feature -> its values (NaN where null), one per flight."""
    source: str
    """``ops.prediction_log``, ``gold (training_set)``, or why there are no values."""

    @property
    def rows(self) -> int:
        """Flights in the sample."""
        return len(next(iter(self.values.values()))) if self.values else 0


@dataclass
class DriftResult:
    """The drift checks, and the samples behind them (for the report's histograms)."""

    checks: list[Check] = field(default_factory=list)
    reference: Sample | None = None
    current: Sample | None = None
    note: str = ""
    """How the reference window was chosen."""


def reference_window(model: ModelVersion | None, current: Window, config: DriftConfig) -> tuple[Window, str]:
    """The champion's training window ``[from, to)``, or the days before ``current`` without one;
    and how it was chosen, in words."""
    train = (model.lineage.get("train_range") or []) if model is not None else []
    if model is not None and len(train) == 2:
        window = Window(dt.date.fromisoformat(train[0]), dt.date.fromisoformat(train[1]))
        return window, f"reference: the training window of delay version {model.version}"
    window = current.before(config.fallback_reference_days)
    why = "no champion" if model is None else f"delay version {model.version} records no training window"
    return window, f"{why}: reference is the {config.fallback_reference_days} days before the current window"


def _as_floats(table: pa.Table, names: list[str]) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return {n: pc.cast(table.column(n), pa.float64()).to_numpy(zero_copy_only=False) for n in names}


def _from_log(lake: Lake, window: Window, features: list[str]) -> dict[str, np.ndarray] | None:
    if not lake.exists(LOG_TABLE):
        return None
    columns = ", ".join(
        f"TRY_CAST(json_extract_string(features, '$.{f}') AS DOUBLE) AS \"{f}\"" for f in features
    )
    table = lake.query(
        f"SELECT {columns} FROM {LOG_TABLE} WHERE (served OR source = 'batch') "
        "AND event_date >= ? AND event_date < ?",
        [window.start, window.end],
    )
    return _as_floats(table, features) if table.num_rows else None


def _from_gold(lake: Lake, window: Window, features: list[str]) -> Sample:
    import pyarrow as pa

    from featurelake.features import training_set

    if not lake.exists(LABEL_TABLE):
        return Sample(window, {}, f"no values: {LABEL_TABLE} does not exist")
    why = unregistered(lake.catalog.settings)
    if why is not None:
        return Sample(window, {}, f"no values: {why}")
    start = dt.datetime.combine(window.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(window.end, dt.time(), dt.UTC)
    try:
        table = training_set(
            LABEL_TABLE, FEATURE_SERVICE, start=start, end=end, output="arrow", settings=lake.catalog.settings
        )
    except ValueError as e:  # the feature service is not registered in this lake
        return Sample(window, {}, f"no values: {e}")
    if not isinstance(table, pa.Table):  # output="arrow" always is; this narrows the type
        raise TypeError(f"training_set returned {type(table).__name__}, expected an Arrow table")
    return Sample(window, _as_floats(table, features), "gold (training_set)")


def window_values(lake: Lake, window: Window, features: list[str] | None = None) -> Sample:
    """The features' values over ``window``: from the prediction log if it has rows there, else gold."""
    features = features or NUMERIC
    logged = _from_log(lake, window, features)
    if logged is not None:
        return Sample(window, logged, LOG_TABLE)
    return _from_gold(lake, window, features)


def _describe(sample: Sample, values: np.ndarray) -> str:
    return f"{sample.window}: {values.size:,} values from {sample.source}"


def drift_checks(
    lake: Lake, day: dt.date, model: ModelVersion | None, *, config: DriftConfig | None = None
) -> DriftResult:
    """PSI and normalised Wasserstein distance of every numeric model feature, reference against current.

    A feature with fewer than ``min_rows`` non-null values in either window is recorded as
    not computed, not judged.
    """
    config = config or DriftConfig()
    current_window = Window.ending(day, config.window_days)
    ref_window, note = reference_window(model, current_window, config)
    reference = window_values(lake, ref_window)
    current = window_values(lake, current_window)
    out = DriftResult(reference=reference, current=current, note=note)
    for feature in NUMERIC:
        ref = finite(reference.values.get(feature, np.empty(0)))
        cur = finite(current.values.get(feature, np.empty(0)))
        where = f"{note}, {_describe(reference, ref)}; current {_describe(current, cur)}"
        if ref.size < config.min_rows or cur.size < config.min_rows:
            why = f"too few values ({config.min_rows} needed); {where}"
            out.checks += [
                Check("drift", feature, "psi", None, config.max_psi, detail=why),
                Check("drift", feature, "wasserstein", None, config.max_wasserstein, detail=why),
            ]
            continue
        shift = f"mean {np.mean(ref):.4g} -> {np.mean(cur):.4g}"
        detail = f"{shift}; {where}"
        out.checks += [
            Check("drift", feature, "psi", psi(ref, cur, bins=config.bins), config.max_psi, detail=detail),
            Check(
                "drift", feature, "wasserstein", wasserstein(ref, cur), config.max_wasserstein, detail=detail
            ),
        ]
    return out
