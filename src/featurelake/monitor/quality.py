"""Quality: the ingest's quarantine rate and the expectations' success rate, per day and week on week.

Both come from the ops tables ingest writes. A batch counts for one day: its
newest event date (``max_event_date``), so a replayed year is judged on event
time like a live lake. A batch that wrote nothing to bronze (every record
quarantined, e.g. a corrupt file) takes the day of its query's previous
batch, and only without one its own start date. Quarantine replays
(``replay_*``) are left out: their counts restate rows already counted.
Expectation results take their batch's day; the silver suite's carry their
day in ``batch_id`` (``YYYYMMDD``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from featurelake.monitor._lake import Lake
from featurelake.monitor.config import QualityConfig
from featurelake.monitor.result import Check, Window

__all__ = ["QualityResult", "quality_checks"]

_BATCH_DAYS = """
SELECT query_name, batch_id, dataset, bronze_rows, quarantined_rows,
       coalesce(
           max_event_date,
           last_value(max_event_date IGNORE NULLS) OVER (
               PARTITION BY query_name ORDER BY batch_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ),
           CAST(started_at AS DATE)
       ) AS day
FROM ops.ingest_log
WHERE query_name NOT LIKE 'replay\\_%' ESCAPE '\\'
"""


@dataclass
class QualityResult:
    """The quality checks and the daily rates behind them (for the report's chart)."""

    checks: list[Check] = field(default_factory=list)
    daily: dict[str, list[tuple[dt.date, float]]] = field(default_factory=dict)
    """``"<subject> <metric>"`` -> (day, rate) over both windows, days without data left out."""


def _subject(suite: str) -> str:
    """The table a suite guards: ``flights_bronze`` -> ``bronze.flights``."""
    dataset, _, layer = suite.rpartition("_")
    return f"{layer}.{dataset}" if dataset and layer else suite


def _rate(rows: list[dict[str, object]], window: Window, part: str, whole: str) -> float | None:
    inside = [r for r in rows if window.start <= r["day"] < window.end]  # type: ignore[operator]
    total = sum(int(r[whole]) for r in inside)  # type: ignore[call-overload]
    return sum(int(r[part]) for r in inside) / total if total else None  # type: ignore[call-overload]


def _judge_groups(
    out: QualityResult,
    rows: list[dict[str, Any]],
    group: str,
    subject_of: Callable[[str], str],
    metric: str,
    ratio: tuple[str, str],
    windows: tuple[Window, Window],
    limits: tuple[float, float],
    *,
    above: bool,
) -> None:
    """For each value of ``group`` in ``rows``: judge the rate ``ratio`` (part, whole) with
    :func:`_pair`, and keep its daily series for the report."""
    part, whole = ratio
    for key in sorted({str(r[group]) for r in rows}):
        mine = [r for r in rows if r[group] == key]
        subject = subject_of(key)
        out.checks += _pair(subject, metric, mine, part, whole, windows, limits, above=above)
        out.daily[f"{subject} {metric}"] = [
            (r["day"], int(r[part]) / int(r[whole])) for r in mine if int(r[whole])
        ]


def _pair(
    subject: str,
    metric: str,
    rows: list[dict[str, object]],
    part: str,
    whole: str,
    windows: tuple[Window, Window],
    limits: tuple[float, float],
    *,
    above: bool,
) -> list[Check]:
    """The window's rate and its change from the window before, judged against ``limits``."""
    current, previous = windows
    now, before = _rate(rows, current, part, whole), _rate(rows, previous, part, whole)
    level = Check(
        "quality",
        subject,
        metric,
        now,
        limits[0],
        above=above,
        detail=f"{current}" if now is not None else f"no data in {current}",
    )
    change = None if now is None or before is None else now - before
    trend = Check(
        "quality",
        subject,
        f"{metric}_change",
        change,
        limits[1] if above else -limits[1],
        above=above,
        detail=f"{current} against {previous}"
        + (f" ({before:.4f} before)" if before is not None else f": no data in {previous}"),
    )
    return [level, trend]


def quality_checks(lake: Lake, day: dt.date, *, config: QualityConfig | None = None) -> QualityResult:
    """Quarantine rate per dataset and expectation success rate per suite over the window up to ``day``.

    Each with its change from the window before: a rising quarantine rate or a falling success
    rate past the configured step is a breach even while the level is still within its limit.
    """
    config = config or QualityConfig()
    current = Window.ending(day, config.window_days)
    previous = current.before()
    out = QualityResult()
    span = [previous.start, current.end]
    batches = lake.exists("ops.ingest_log")
    if batches:
        rows = lake.query(
            f"SELECT dataset, day, sum(quarantined_rows) AS quarantined, "
            f"sum(bronze_rows + quarantined_rows) AS records FROM ({_BATCH_DAYS}) "
            "WHERE day >= ? AND day < ? GROUP BY ALL ORDER BY ALL",
            span,
        ).to_pylist()
        _judge_groups(
            out,
            rows,
            "dataset",
            lambda dataset: f"bronze.{dataset}",
            "quarantine_rate",
            ("quarantined", "records"),
            (current, previous),
            (config.max_quarantine_rate, config.max_quarantine_rate_rise),
            above=True,
        )
    if lake.exists("ops.validation_results"):
        join = (
            f"LEFT JOIN (SELECT query_name, batch_id, max(day) AS day FROM ({_BATCH_DAYS}) GROUP BY ALL) b "
            "ON b.query_name = v.run AND b.batch_id = v.batch_id"
            if batches
            else "LEFT JOIN (SELECT NULL::DATE AS day) b ON false"
        )
        rows = lake.query(
            f"""
            SELECT suite, day, count(*) AS results, count(*) FILTER (WHERE success) AS held FROM (
                SELECT v.suite, v.success, coalesce(
                    b.day,
                    CASE WHEN v.run LIKE 'backfill:%'
                         THEN CAST(try_strptime(CAST(v.batch_id AS VARCHAR), '%Y%m%d') AS DATE) END,
                    CAST(v.validated_at AS DATE)
                ) AS day
                FROM ops.validation_results v {join}
            ) WHERE day >= ? AND day < ? GROUP BY ALL ORDER BY ALL
            """,
            span,
        ).to_pylist()
        _judge_groups(
            out,
            rows,
            "suite",
            _subject,
            "expectation_success_rate",
            ("held", "results"),
            (current, previous),
            (config.min_expectation_success_rate, config.max_expectation_success_drop),
            above=False,
        )
    return out
