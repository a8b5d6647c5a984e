"""UTC calendar days: the unit every partition, window and backfill plan is counted in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

__all__ = ["contiguous_runs", "day_range", "days_predicate", "parse_day"]


def parse_day(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` string as a date.

    Raises:
        ValueError: the text is not an ISO date.
    """
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def day_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from ``start`` to ``end``, both included."""
    for i in range((end - start).days + 1):
        yield start + dt.timedelta(days=i)


def days_predicate(start: dt.date, end: dt.date, column: str = "event_date") -> str:
    """A SQL predicate (for ``replaceWhere``) selecting the days ``start`` .. ``end`` inclusive."""
    if start == end:
        return f"{column} = DATE '{start.isoformat()}'"
    return f"{column} >= DATE '{start.isoformat()}' AND {column} <= DATE '{end.isoformat()}'"


def contiguous_runs(days: Iterable[dt.date], *, max_len: int | None = None) -> list[tuple[dt.date, dt.date]]:
    """Group days into runs of consecutive days (at most ``max_len`` long), as (first, last) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs:
            first, last = runs[-1]
            if day == last + dt.timedelta(days=1) and (max_len is None or (day - first).days < max_len):
                runs[-1] = (first, day)
                continue
        runs.append((day, day))
    return runs
