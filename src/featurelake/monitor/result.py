"""What a monitor run finds: one :class:`Check` per metric, :class:`Breach` for those past their limit."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["KINDS", "LABELS", "Breach", "Check", "Kind", "MonitorResult", "Window", "number"]

Kind = Literal["freshness", "quality", "drift", "performance", "skew"]
KINDS: tuple[Kind, ...] = ("freshness", "quality", "drift", "performance", "skew")
"""The kinds of check, each stored in ``ops.monitor_<kind>``."""

LABELS = {
    "age_hours": "age (h)",
    "event_lag_days": "event lag (days)",
    "psi": "PSI",
    "wasserstein": "Wasserstein/std",
    "auc": "ROC AUC",
    "log_loss": "log loss",
    "ece": "calibration error",
    "rows": "labelled rows",
    "mismatch_rate": "mismatch rate",
    "quarantine_rate": "quarantine rate",
    "quarantine_rate_change": "quarantine rate change",
    "expectation_success_rate": "expectation success rate",
    "expectation_success_rate_change": "expectation success change",
}
"""How messages and the report name each metric."""


def number(value: float | None) -> str:
    """A metric value for people: three significant digits, whole numbers from 100 on."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Window:
    """A range of UTC days ``[start, end)``."""

    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, day: dt.date, days: int) -> Window:
        """The ``days`` days up to and including ``day``."""
        return cls(day - dt.timedelta(days=days - 1), day + dt.timedelta(days=1))

    def before(self, days: int | None = None) -> Window:
        """The ``days`` days (this window's length by default) just before this one."""
        n = self.days if days is None else days
        return Window(self.start - dt.timedelta(days=n), self.start)

    @property
    def days(self) -> int:
        """Days in the window."""
        return (self.end - self.start).days

    @property
    def last(self) -> dt.date:
        """The window's last day (``end`` is excluded)."""
        return self.end - dt.timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start}..{self.last}"


@dataclass(frozen=True)
class Check:
    """One metric of one subject (a table, a feature, the model) in one run, and its verdict."""

    kind: Kind
    subject: str
    metric: str
    value: float | None
    """None when it could not be computed; :attr:`detail` says why."""
    threshold: float | None = None
    """The limit judged against; None when the metric is only recorded."""
    above: bool = True
    """True: breached when ``value > threshold``; False: when ``value < threshold``."""
    detail: str = ""
    breach_when_missing: bool = False
    """A missing value is itself a breach (a table with an SLA that does not exist)."""

    @property
    def breached(self) -> bool:
        """Whether the value is past its threshold (or missing where it must not be)."""
        if self.value is None or math.isnan(self.value):
            return self.breach_when_missing
        if self.threshold is None:
            return False
        return self.value > self.threshold if self.above else self.value < self.threshold

    @property
    def status(self) -> str:
        """``BREACHED``, ``ok``, ``recorded`` (no threshold) or ``not computed``."""
        if self.breached:
            return "BREACHED"
        if self.value is None or math.isnan(self.value):
            return "not computed"
        return "ok" if self.threshold is not None else "recorded"

    @property
    def label(self) -> str:
        """The metric's name for people (``PSI``, ``ROC AUC``)."""
        return LABELS.get(self.metric, self.metric)

    @property
    def limit(self) -> str:
        """The threshold with its direction (``> 0.25``: a larger value is a breach); empty when none."""
        if self.threshold is None:
            return ""
        return f"{'>' if self.above else '<'} {number(self.threshold)}"

    def message(self) -> str:
        """One line naming the kind, the subject, the value and the threshold."""
        if self.value is None or math.isnan(self.value):
            return f"{self.kind}: {self.subject} {self.label}: {self.detail or 'not computed'}"
        return f"{self.kind}: {self.subject} {self.label} {number(self.value)} {self.limit}".rstrip()


@dataclass(frozen=True)
class Breach:
    """A check whose value is past its threshold."""

    kind: Kind
    subject: str
    metric: str
    value: float | None
    threshold: float | None
    message: str
    """One line, e.g. ``drift: dep_delay_avg_7d PSI 0.41 > 0.25``."""

    @classmethod
    def of(cls, check: Check) -> Breach:
        """The breach a breached check stands for."""
        return cls(check.kind, check.subject, check.metric, check.value, check.threshold, check.message())


@dataclass(frozen=True)
class MonitorResult:
    """What :func:`~featurelake.monitor.run_monitor` measured, judged and wrote."""

    run_id: str
    run_at: dt.datetime
    date: dt.date
    """The day monitored, D."""
    checks: list[Check]
    report: Path
    """``<lake>/monitor/<D>/index.html``."""
    notes: list[str] = field(default_factory=list)
    """What the run could not do or chose (no champion: the reference window used instead)."""

    @property
    def breaches(self) -> list[Breach]:
        """Every breached check, in the order checked."""
        return [Breach.of(c) for c in self.checks if c.breached]

    @property
    def ok(self) -> bool:
        """True when nothing is breached."""
        return not any(c.breached for c in self.checks)
