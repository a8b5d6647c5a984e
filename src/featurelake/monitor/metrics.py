"""The monitor's statistics, as plain functions of NumPy arrays (no lake, no Spark).

- :func:`psi`: population stability index over quantile bins of the reference;
- :func:`wasserstein`: the Wasserstein distance in standard deviations of the reference;
- :func:`calibration` and :func:`expected_calibration_error`: predicted against observed
  rates per equal-width probability bin.

Nulls and NaNs are left out of every statistic: a feature's missing share is a
different question from the shape of its values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PSI_FLOOR",
    "CalibrationBin",
    "calibration",
    "expected_calibration_error",
    "finite",
    "psi",
    "quantile_edges",
    "wasserstein",
]

PSI_FLOOR = 1e-4
"""Smallest share a bin counts with in the PSI: an empty bin would make the log infinite."""


def finite(values: np.ndarray) -> np.ndarray:
    """``values`` as floats, NaNs and infinities left out."""
    x = np.asarray(values, dtype=np.float64)
    return x[np.isfinite(x)]


def quantile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """The inner edges of ``bins`` quantile bins of ``reference``, duplicates merged.

    A feature with few distinct values (engines: 1 to 4) has tied quantiles; merging them
    leaves fewer bins, each holding reference values, instead of empty ones.
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    ref = finite(reference)
    if ref.size == 0:
        raise ValueError("the reference has no values")
    # "lower": every edge is a value of the reference, so a tie never leaves a bin empty between two values
    return np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # bin i holds edges[i-1] < x <= edges[i]; the outer bins are open-ended
    index = np.searchsorted(edges, values, side="left")
    counts = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    return counts / counts.sum()


def psi(reference: np.ndarray, current: np.ndarray, *, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``sum((c - r) * ln(c / r))`` over ``bins`` quantile bins of the reference (open-ended
    outer bins, so values outside the reference's range count), each share at least
    :data:`PSI_FLOOR`. 0 for identical distributions; 0.1 to 0.25 is usually read as a
    moderate shift, above 0.25 as a significant one.

    Raises:
        ValueError: either side has no finite values, or ``bins`` < 2.
    """
    ref, cur = finite(reference), finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("PSI needs values on both sides")
    edges = quantile_edges(ref, bins)
    r = np.maximum(_shares(ref, edges), PSI_FLOOR)
    c = np.maximum(_shares(cur, edges), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """The Wasserstein (earth mover's) distance, divided by the reference's standard deviation.

    In standard deviations, so one threshold fits features of every scale: shifting a
    feature by one standard deviation gives 1. A constant reference gives the distance itself.

    Raises:
        ValueError: either side has no finite values.
    """
    from scipy.stats import wasserstein_distance

    ref, cur = finite(reference), finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("the Wasserstein distance needs values on both sides")
    distance = float(wasserstein_distance(ref, cur))
    std = float(np.std(ref))
    return distance / std if std > 0 else distance


@dataclass(frozen=True)
class CalibrationBin:
    """One equal-width bin of predicted probabilities."""

    low: float
    high: float
    rows: int
    predicted: float
    """Mean predicted probability of the bin's rows (NaN when empty)."""
    observed: float
    """Share of the bin's rows whose label is true (NaN when empty)."""


def _checked(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels for {p.size} probabilities")
    if y.size == 0:
        raise ValueError("calibration needs at least one prediction")
    return y, np.clip(p, 0.0, 1.0)


def calibration(labels: np.ndarray, probabilities: np.ndarray, *, bins: int = 10) -> list[CalibrationBin]:
    """Predicted against observed rates in ``bins`` equal-width bins of [0, 1] (1.0 in the last).

    Raises:
        ValueError: no predictions, or labels and probabilities of different lengths.
    """
    y, p = _checked(labels, probabilities)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out.append(
            CalibrationBin(
                low=b / bins,
                high=(b + 1) / bins,
                rows=n,
                predicted=float(p[mask].mean()) if n else float("nan"),
                observed=float(y[mask].mean()) if n else float("nan"),
            )
        )
    return out


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, *, bins: int = 10) -> float:
    """Row-weighted mean of ``|predicted - observed|`` over the :func:`calibration` bins.

    0 for a perfectly calibrated model; a model that always predicts the base rate has 0
    too (calibration is not discrimination: ROC AUC measures that).
    """
    total = np.asarray(labels).size
    return float(
        sum(
            b.rows / total * abs(b.predicted - b.observed)
            for b in calibration(labels, probabilities, bins=bins)
            if b.rows
        )
    )
