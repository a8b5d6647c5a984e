"""Freshness: how old every table's last commit is, and how far its newest event date lags behind D.

Read from the Delta logs alone (delta-rs ``history`` and the files' partition
values), so checking every table of the lake reads no data. Tables that
declare ``freshness_sla_hours`` are judged: older than the SLA, newest event
date more than ``max_event_lag_days`` behind D, or missing altogether, is a
breach. Every other existing table has its age recorded.
"""

from __future__ import annotations

import datetime as dt

import duckdb
from deltalake.exceptions import DeltaError

from featurelake.catalog import Catalog
from featurelake.errors import one_line
from featurelake.monitor._lake import Lake, last_commit, newest_partition_date
from featurelake.monitor.config import FreshnessConfig
from featurelake.monitor.result import Check

__all__ = ["freshness_checks"]


def _newest_event_date(lake: Lake, name: str) -> dt.date | None:
    spec = lake.catalog.spec(name)
    if "event_date" in spec.partition_by:
        return newest_partition_date(lake.catalog.path(name))
    if "max_event_date" in spec.schema.names:  # ops.ingest_log: the dates each batch wrote
        newest: dt.date | None = (
            lake.query(f"SELECT max(max_event_date) AS d FROM {name}").column("d")[0].as_py()
        )
        return newest
    return None


def freshness_checks(
    lake: Lake, day: dt.date, *, now: dt.datetime | None = None, config: FreshnessConfig | None = None
) -> list[Check]:
    """Age and event-date lag of every table of the catalog, judged where the table has an SLA.

    Args:
        lake: the lake to read.
        day: D, the day the event-date lag is measured to.
        now: the time ages are measured at (UTC; tests pass a later one to simulate staleness).
        config: the lag limit and the tables it does not apply to.
    """
    config = config or FreshnessConfig()
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    catalog: Catalog = lake.catalog
    checks: list[Check] = []
    for name in catalog.names():
        sla = catalog.spec(name).freshness_sla_hours
        if not catalog.exists(name):
            if sla is not None:
                checks.append(
                    Check(
                        "freshness",
                        name,
                        "age_hours",
                        None,
                        sla,
                        detail=f"the table does not exist (SLA {sla:g} h)",
                        breach_when_missing=True,
                    )
                )
            continue
        try:
            when, version, operation = last_commit(catalog.path(name))
            newest = _newest_event_date(lake, name)
        except (
            DeltaError,
            OSError,
            duckdb.Error,
        ) as e:  # a damaged log: reported, the other tables still checked
            checks.append(
                Check(
                    "freshness",
                    name,
                    "age_hours",
                    None,
                    sla,
                    detail=f"the table cannot be read: {one_line(str(e))}",
                    breach_when_missing=sla is not None,
                )
            )
            continue
        age = (now - when).total_seconds() / 3600
        checks.append(
            Check(
                "freshness",
                name,
                "age_hours",
                round(age, 2),
                sla,
                detail=f"last commit {when:%Y-%m-%d %H:%M} UTC (version {version}, {operation})"
                + ("" if sla is not None else "; no SLA"),
            )
        )
        judged = sla is not None and name not in config.lag_exempt
        if newest is None:
            if judged:
                checks.append(
                    Check(
                        "freshness",
                        name,
                        "event_lag_days",
                        None,
                        config.max_event_lag_days,
                        detail="the table has no rows",
                        breach_when_missing=True,
                    )
                )
            continue
        checks.append(
            Check(
                "freshness",
                name,
                "event_lag_days",
                float((day - newest).days),
                config.max_event_lag_days if judged else None,
                detail=f"newest event date {newest}, D {day}",
            )
        )
    return checks
