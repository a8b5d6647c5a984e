"""The report's charts: matplotlib figures rendered by Agg to PNG bytes.

``matplotlib.figure.Figure`` with an Agg canvas, never ``pyplot``: no GUI
backend, no global figure state, safe in a scheduler's worker thread. Each
function returns PNG bytes, or None when there is nothing to draw.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from featurelake.monitor.metrics import CalibrationBin, finite
from featurelake.monitor.result import LABELS, Check

if TYPE_CHECKING:
    import pyarrow as pa
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from featurelake.monitor.performance import DayPerformance

__all__ = ["calibration_png", "drift_png", "history_png", "performance_png", "quality_png"]

DPI = 144
"""Pixels per inch of the PNGs; the report shows them at 96 per inch, sharp on dense screens."""
COLUMNS = 4
REFERENCE, CURRENT, THRESHOLD, BAD = "#4c72b0", "#dd8452", "#c44e52", "#c44e52"
_STYLE: dict[Any, Any] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


def _figure(
    panels: int, *, columns: int = COLUMNS, size: tuple[float, float] = (3.1, 2.1)
) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(columns, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


P = ParamSpec("P")
R = TypeVar("R")


def _styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a drawing function under the report's matplotlib style (rc_context: no global change)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return wrapper


def _days(days: Sequence[dt.date]) -> np.ndarray:
    """Days as NumPy dates, which matplotlib plots on a date axis."""
    return np.asarray(days, dtype="datetime64[D]")


def _date_axis(ax: Axes, days: np.ndarray) -> None:
    """Concise date ticks over the days; a lone day gets a week around it instead of a zero-width
    axis. The limits are set, not autoscaled: a series with nothing computed (all NaN) would
    leave the axis at matplotlib's default range, where no date interval fits."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if np.unique(days).size == 1:
        ax.set_xlim(days[0] - np.timedelta64(3, "D"), days[0] + np.timedelta64(3, "D"))
    else:
        ax.set_xlim(days.min(), days.max())

    locator = AutoDateLocator(maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


@_styled
def history_png(history: pa.Table, kind: str) -> bytes | None:
    """Every metric of ``kind`` over the monitored days, its threshold dashed, breaches in red.

    A day monitored more than once shows its latest run.
    """
    rows = [r for r in history.to_pylist() if r["kind"] == kind]
    if not rows:
        return None
    latest: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    for r in rows:  # oldest first: later runs of a day replace earlier ones
        latest[(r["subject"], r["metric"], r["monitor_date"])] = r
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (subject, metric, _), r in sorted(latest.items(), key=lambda kv: kv[0]):
        series.setdefault((subject, metric), []).append(r)
    fig, axes = _figure(len(series))
    for ax, ((subject, metric), points) in zip(axes, series.items(), strict=True):
        days = _days([p["monitor_date"] for p in points])
        values = [np.nan if p["value"] is None else p["value"] for p in points]
        limits = [np.nan if p["threshold"] is None else p["threshold"] for p in points]
        ax.plot(days, values, marker="o", markersize=3.5, linewidth=1.2, color=REFERENCE)
        bad = [
            (d, v) for d, v, p in zip(days, values, points, strict=True) if p["breached"] and not np.isnan(v)
        ]
        if bad:
            ax.plot(*zip(*bad, strict=True), linestyle="none", marker="o", markersize=5, color=BAD)
        if not all(np.isnan(limits)):
            ax.plot(days, limits, linestyle="--", linewidth=1, color=THRESHOLD, drawstyle="steps-post")
        if all(np.isnan(values)):
            ax.text(
                0.5,
                0.72,
                "not computed",
                transform=ax.transAxes,
                ha="center",
                color="#666666",
                bbox={"facecolor": "white", "edgecolor": "none"},
            )
        ax.set_title(
            f"{subject}\n{LABELS.get(metric, metric)}",
            loc="left",
            color=BAD if points[-1]["breached"] else "black",
        )
        _date_axis(ax, days)
    return _png(fig)


DISCRETE = 12
"""Features with at most this many distinct values are drawn as bars per value, not as a histogram."""


def _shares(ax: Axes, ref: np.ndarray, cur: np.ndarray) -> None:
    """Side-by-side bars: each window's share of every value (engines, seats)."""
    values = np.unique(np.concatenate([ref, cur]))
    x = np.arange(values.size)
    for data, color, name, offset in ((ref, REFERENCE, "reference", -0.2), (cur, CURRENT, "current", 0.2)):
        if data.size:
            shares = [float(np.mean(data == v)) for v in values]
            ax.bar(x + offset, shares, width=0.4, color=color, alpha=0.75, label=name)
    ax.set_xticks(x, labels=[f"{v:g}" for v in values])
    ax.grid(False, axis="x")


def _densities(ax: Axes, ref: np.ndarray, cur: np.ndarray) -> None:
    """Overlaid densities on 30 shared bins over the central 99 % (the tails clipped into the edges)."""
    low, high = np.quantile(np.concatenate([ref, cur]), [0.005, 0.995])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, 31).tolist()
    for data, color, name in ((ref, REFERENCE, "reference"), (cur, CURRENT, "current")):
        if data.size:
            clipped = np.clip(data, low, high)
            ax.hist(
                clipped, bins=bins, density=True, histtype="stepfilled", alpha=0.35, color=color, label=name
            )
            ax.hist(clipped, bins=bins, density=True, histtype="step", linewidth=1.1, color=color)


@_styled
def drift_png(
    reference: dict[str, np.ndarray], current: dict[str, np.ndarray], checks: Sequence[Check]
) -> bytes | None:
    """Per feature, the reference and current distributions overlaid (densities on shared bins)."""
    by_feature: dict[str, dict[str, Check]] = {}
    for c in checks:
        by_feature.setdefault(c.subject, {})[c.metric] = c
    features = [
        f
        for f in by_feature
        if finite(reference.get(f, np.empty(0))).size or finite(current.get(f, np.empty(0))).size
    ]
    if not features:
        return None
    fig, axes = _figure(len(features))
    for ax, feature in zip(axes, features, strict=True):
        ref = finite(reference.get(feature, np.empty(0)))
        cur = finite(current.get(feature, np.empty(0)))
        if np.unique(np.concatenate([ref, cur])).size <= DISCRETE:
            _shares(ax, ref, cur)
        else:
            _densities(ax, ref, cur)
        psi = by_feature[feature].get("psi")
        breached = any(c.breached for c in by_feature[feature].values())
        note = f"PSI {psi.value:.3f}" if psi is not None and psi.value is not None else "not computed"
        ax.set_title(
            f"{feature}\n{note}{'  DRIFT' if breached else ''}",
            loc="left",
            color=BAD if breached else "black",
        )
        ax.set_yticks([])
        ax.grid(False, axis="y")
    axes[0].legend(loc="upper right")
    return _png(fig)


@_styled
def calibration_png(bins: Sequence[CalibrationBin]) -> bytes | None:
    """Observed delay rate against predicted probability per bin, the diagonal being perfect."""
    used = [b for b in bins if b.rows]
    if not used:
        return None
    fig, (ax,) = _figure(1, size=(3.6, 3.3))
    ax.plot([0, 1], [0, 1], linestyle="--", linewidth=1, color="#999999", label="perfectly calibrated")
    sizes = np.asarray([b.rows for b in used], dtype=float)
    ax.plot([b.predicted for b in used], [b.observed for b in used], color=CURRENT, linewidth=1.2)
    ax.scatter(
        [b.predicted for b in used],
        [b.observed for b in used],
        s=12 + 60 * sizes / sizes.max(),
        color=CURRENT,
        zorder=3,
        label="bins (size: rows)",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of delay")
    ax.set_ylabel("observed delay rate")
    ax.set_title("calibration over the window", loc="left")
    ax.legend(loc="upper left")
    return _png(fig)


@_styled
def performance_png(daily: Sequence[DayPerformance], limits: dict[str, float | None]) -> bytes | None:
    """ROC AUC, log loss and calibration error per day, each with its threshold."""
    if not daily:
        return None
    fig, axes = _figure(3, columns=3)
    days = _days([d.day for d in daily])
    for ax, metric in zip(axes, ("auc", "log_loss", "ece"), strict=True):
        values = [np.nan if getattr(d, metric) is None else getattr(d, metric) for d in daily]
        ax.plot(days, values, marker="o", markersize=3.5, linewidth=1.2, color=REFERENCE)
        limit = limits.get(metric)
        if limit is not None:
            ax.axhline(limit, linestyle="--", linewidth=1, color=THRESHOLD)
        ax.set_title(f"{LABELS[metric]} per day", loc="left")
        _date_axis(ax, days)
    return _png(fig)


@_styled
def quality_png(daily: dict[str, list[tuple[dt.date, float]]]) -> bytes | None:
    """Each quality rate per day over the current and the previous window."""
    series = {k: v for k, v in daily.items() if v}
    if not series:
        return None
    fig, axes = _figure(len(series), columns=3)
    for ax, (name, points) in zip(axes, series.items(), strict=True):
        subject, _, metric = name.partition(" ")
        days = _days([d for d, _ in points])
        ax.plot(
            days,
            [v for _, v in points],
            marker="o",
            markersize=3.5,
            linewidth=1.2,
            color=REFERENCE,
        )
        ax.set_title(f"{subject}\n{LABELS.get(metric, metric)} per day", loc="left")
        _date_axis(ax, days)
    return _png(fig)
