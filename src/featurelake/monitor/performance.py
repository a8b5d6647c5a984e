"""Performance: the logged predictions of the last days up to D against their labels, once known.

The predictions are the answers ``ops.prediction_log`` holds (served ones and
batch scores; a challenger's shadow scores were never answers). Each is joined
with its flight in ``gold.flight_labels``: on ``event_id`` when the request
gave it, else on carrier, origin, dest, tailnum and the scheduled departure.
ROC AUC, log loss and the expected calibration error are computed per day and
over the window; the window's values are judged against the champion's
validation metrics from training (a single day of a few hundred flights is
too noisy to alarm on, so the days are shown, not judged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from featurelake.models.delay.metrics import log_loss, roc_auc
from featurelake.monitor._lake import Lake
from featurelake.monitor.config import PerformanceConfig
from featurelake.monitor.metrics import CalibrationBin, calibration, expected_calibration_error
from featurelake.monitor.result import Check, Window, number

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.models.tracking import ModelVersion

__all__ = ["DayPerformance", "PerformanceResult", "labelled_predictions", "performance_checks"]

SUBJECT = "model:delay"

_JOINED = """
WITH p AS (
    SELECT event_id, carrier, origin, dest, tailnum, event_timestamp, delay_probability, model_version,
           event_date
    FROM ops.prediction_log
    WHERE (served OR source = 'batch') AND event_date >= $start AND event_date < $end
), l AS (
    SELECT event_id, carrier, origin, dest, tailnum, event_timestamp, is_delayed
    FROM gold.flight_labels
    WHERE is_delayed IS NOT NULL AND event_date >= $start AND event_date < $end
)
SELECT p.event_date AS day, p.delay_probability, l.is_delayed, p.model_version
FROM p JOIN l ON p.event_id = l.event_id
UNION ALL
SELECT p.event_date AS day, p.delay_probability, l.is_delayed, p.model_version
FROM p JOIN l ON p.event_id IS NULL AND p.carrier = l.carrier AND p.origin = l.origin AND p.dest = l.dest
    AND p.tailnum IS NOT DISTINCT FROM l.tailnum AND p.event_timestamp = l.event_timestamp
"""


@dataclass(frozen=True)
class DayPerformance:
    """One day's labelled predictions and how good they were (None where not computable)."""

    day: dt.date
    rows: int
    auc: float | None
    log_loss: float | None
    ece: float | None


@dataclass
class PerformanceResult:
    """The performance checks, per-day values and the window's calibration curve (for the report)."""

    checks: list[Check] = field(default_factory=list)
    daily: list[DayPerformance] = field(default_factory=list)
    calibration: list[CalibrationBin] = field(default_factory=list)
    validation: dict[str, float] = field(default_factory=dict)
    """The champion's validation metrics (``auc``, ``log_loss``) judged against; empty without one."""


def labelled_predictions(lake: Lake, window: Window) -> pa.Table | None:
    """``day, delay_probability, is_delayed, model_version`` of the window's answered predictions
    whose label is known; None when the prediction log or the labels do not exist."""
    if not (lake.exists("ops.prediction_log") and lake.exists("gold.flight_labels")):
        return None
    sql = _JOINED.replace("$start", "?").replace("$end", "?")
    return lake.query(sql, [window.start, window.end, window.start, window.end])


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    try:
        return roc_auc(y, p)
    except ValueError:  # one class only
        return None


def _day(day: dt.date, y: np.ndarray, p: np.ndarray, bins: int) -> DayPerformance:
    return DayPerformance(
        day, int(y.size), _auc(y, p), log_loss(y, p), expected_calibration_error(y, p, bins=bins)
    )


def performance_checks(
    lake: Lake, day: dt.date, model: ModelVersion | None, *, config: PerformanceConfig | None = None
) -> PerformanceResult:
    """ROC AUC, log loss and calibration error of the window's labelled predictions, judged against
    the champion's validation metrics (AUC and log loss) and ``max_ece``."""
    config = config or PerformanceConfig()
    window = Window.ending(day, config.window_days)
    out = PerformanceResult()
    validation = (model.metrics.get("validation", {}).get("model", {}) if model is not None else {}) or {}
    out.validation = {k: float(validation[k]) for k in ("auc", "log_loss") if k in validation}
    table = labelled_predictions(lake, window)
    rows = 0 if table is None else table.num_rows
    missing = "ops.prediction_log or gold.flight_labels does not exist" if table is None else ""
    out.checks.append(
        Check(
            "performance", SUBJECT, "rows", float(rows), detail=missing or f"labelled predictions in {window}"
        )
    )
    baseline = (
        f"delay version {model.version}'s validation"
        if model is not None and out.validation
        else "no champion"
    )
    auc_limit = out.validation["auc"] - config.max_auc_drop if "auc" in out.validation else None
    loss_limit = (
        out.validation["log_loss"] + config.max_log_loss_rise if "log_loss" in out.validation else None
    )
    if table is None or rows < config.min_rows:
        why = missing or f"{rows} labelled predictions in {window}; {config.min_rows} needed"
        out.checks += [
            Check("performance", SUBJECT, "auc", None, auc_limit, above=False, detail=why),
            Check("performance", SUBJECT, "log_loss", None, loss_limit, detail=why),
            Check("performance", SUBJECT, "ece", None, config.max_ece, detail=why),
        ]
        return out
    days = table.column("day").to_pylist()
    y = np.asarray(table.column("is_delayed").to_pylist(), dtype=np.float64)
    p = np.asarray(table.column("delay_probability").to_pylist(), dtype=np.float64)
    for d in sorted(set(days)):
        mask = np.asarray([x == d for x in days])
        out.daily.append(_day(d, y[mask], p[mask], config.calibration_bins))
    out.calibration = calibration(y, p, bins=config.calibration_bins)
    versions = ", ".join(
        sorted({str(v) for v in table.column("model_version").to_pylist()}, key=_version_key)
    )
    per_day = ", ".join(f"{d.day:%m-%d} {number(d.auc)}" for d in out.daily)
    common = f"{rows:,} labelled predictions in {window} (model versions {versions}); AUC per day: {per_day}"
    auc = _auc(y, p)
    out.checks += [
        Check(
            "performance",
            SUBJECT,
            "auc",
            auc,
            auc_limit,
            above=False,
            detail=f"{baseline} AUC {number(out.validation.get('auc'))} - {config.max_auc_drop}; {common}"
            if auc is not None
            else f"one class only among the labels; {common}",
        ),
        Check(
            "performance",
            SUBJECT,
            "log_loss",
            log_loss(y, p),
            loss_limit,
            detail=f"{baseline} log loss {number(out.validation.get('log_loss'))} + "
            f"{config.max_log_loss_rise}; {common}",
        ),
        Check(
            "performance",
            SUBJECT,
            "ece",
            expected_calibration_error(y, p, bins=config.calibration_bins),
            config.max_ece,
            detail=f"{config.calibration_bins} equal-width bins; {common}",
        ),
    ]
    return out


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
