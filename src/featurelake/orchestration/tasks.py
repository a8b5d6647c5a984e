"""What the DAGs' Python tasks do: plan a day, validate gold, materialize, maintain, train.

Each function takes and returns small values (dates as ISO strings, table
names, counts), never DataFrames, so Airflow can pass them between tasks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from featurelake.catalog import Catalog
from featurelake.errors import ValidationFailedError

__all__ = [
    "DAILY_GOLD",
    "doctor_lake",
    "judge",
    "maintain_table",
    "materialize_days",
    "monitor_lake",
    "plan_day",
    "train_latest",
    "validate_gold",
]

DAILY_GOLD = (
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
    "gold.flight_labels",
)
_ZORDER = {
    "gold.carrier_delay_7d": ["carrier"],
    "gold.route_delay_30d": ["origin", "dest"],
    "gold.origin_weather": ["origin"],
    "gold.flight_labels": ["carrier", "origin"],
    "silver.flights": ["carrier", "origin"],
    "bronze.flights": ["carrier"],
}


def plan_day(day: str, catalog: Catalog | None = None) -> dict[str, Any]:
    """The partitions logical date ``day`` needs, as small values for the silver and gold tasks.

    Silver: ``day`` plus every earlier day (within a year) whose bronze an ingest batch wrote
    and that changed since silver was built (late events: ``ops.ingest_log`` and the backfill
    planner's input fingerprints). Gold: from the first of those days to the midnight after the
    last silver day, so the dependents of every rebuilt silver day are covered; unchanged
    partitions are skipped by their fingerprints, which also makes runs of several dates in any
    order (an Airflow backfill) converge to what ``featurelake backfill`` builds.
    """
    from featurelake.backfill import Request
    from featurelake.backfill.changes import changed_days
    from featurelake.backfill.plan import plan_silver

    catalog = catalog or Catalog()
    d = dt.date.fromisoformat(day)
    touched: set[dt.date] = set().union(*changed_days(catalog).values())
    late = sorted(x for x in touched if d - dt.timedelta(days=366) <= x < d)
    stale: list[dt.date] = []
    if late:
        plan = plan_silver(catalog, Request.for_range(late[0], d - dt.timedelta(days=1), layers=["silver"]))
        stale = sorted({t.day for t in plan.tasks if t.status == "todo"})
    start = min([*stale, d])
    span = _data_days(catalog)
    last = max(d, span[1] - dt.timedelta(days=1)) if span else d
    # half-open [from, to), like every range of the CLI and the spark-submit jobs
    return {
        "silver_from": start.isoformat(),
        "silver_to": (d + dt.timedelta(days=1)).isoformat(),
        "gold_from": start.isoformat(),
        "gold_to": (last + dt.timedelta(days=2)).isoformat(),
        "late_days": [x.isoformat() for x in stale],
    }


def _data_days(catalog: Catalog) -> tuple[dt.date, dt.date] | None:
    """First flight day and the midnight after the last one: the days gold tables exist for."""
    from featurelake import sql as lake_sql

    if not catalog.exists("silver.flights"):
        return None
    lo, hi = (
        lake_sql.query("select min(event_date) as lo, max(event_date) as hi from silver.flights", catalog)
        .to_pylist()[0]
        .values()
    )
    return (lo, hi + dt.timedelta(days=1)) if lo is not None else None


def validate_gold(start: str, end: str, catalog: Catalog | None = None) -> dict[str, int]:
    """Check the gold partitions of the days [start, end): complete grids, unique keys, no leakage.

    Only days inside the data (first flight day .. the midnight after the last) are checked:
    a logical date with no events has no gold to validate.

    Raises:
        ValidationFailedError: listing every failed check.
    """
    from featurelake import sql as lake_sql

    catalog = catalog or Catalog()
    span = _data_days(catalog)
    first = max(dt.date.fromisoformat(start), span[0]) if span else None
    last = min(dt.date.fromisoformat(end) - dt.timedelta(days=1), span[1]) if span else None
    if first is None or last is None or first > last:
        return {}
    con = lake_sql.connect(catalog)
    where = f"event_date between date '{first}' and date '{last}'"
    days = (last - first).days + 1
    failures: list[str] = []
    counts: dict[str, int] = {}
    checks = {
        "gold.carrier_delay_7d": ("carrier", "flights_7d"),
        "gold.route_delay_30d": ("origin, dest", "flights_30d"),
    }
    for table, (keys, count_col) in checks.items():
        if not catalog.exists(table):
            failures.append(f"{table} does not exist")
            continue
        n, dup, bad_ts, neg, day_count, sizes = con.sql(
            f"select count(*), count(*) - count(distinct ({keys}, event_date)), "
            f"count(*) filter (where event_timestamp <> cast(event_date as timestamptz)), "
            f"count(*) filter (where {count_col} < 0), count(distinct event_date), "
            f"(select count(distinct c) from "
            f"(select count(*) c from {table} where {where} group by event_date)) "
            f"from {table} where {where}"
        ).fetchone() or (0, 0, 0, 0, 0, 0)
        counts[table] = int(n)
        if day_count != days:
            failures.append(f"{table}: {days - day_count} of {days} days missing")
        if dup:
            failures.append(f"{table}: {dup} duplicate keys")
        if bad_ts:
            failures.append(f"{table}: {bad_ts} rows whose event_timestamp is not their day's midnight")
        if neg:
            failures.append(f"{table}: {neg} negative counts")
        if sizes and sizes > 1:
            failures.append(f"{table}: days with different entity counts (incomplete grid)")
    if catalog.exists("gold.flight_labels"):
        leaks = con.sql(
            "select count(*) from gold.flight_labels "
            f"where {where} and cast(event_timestamp as date) <> event_date"
        ).fetchone()
        if leaks and leaks[0]:
            failures.append(f"gold.flight_labels: {leaks[0]} rows outside their event_date partition")
    con.close()
    if failures:
        raise ValidationFailedError(f"gold {first}..{last}: " + "; ".join(failures))
    return counts


def materialize_days(start: str, end: str) -> dict[str, Any]:
    """Load the online store with the features of [start, end) (UTC days) using the fast engine."""
    from featurelake.features import apply, materialize

    apply()
    begin = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
    # Feast's materialize includes its end: stop just short of the excluded one
    finish = dt.datetime.fromisoformat(end).replace(tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    return {view: dict(stats) for view, stats in materialize(begin, finish).items()}


def doctor_lake(catalog: Catalog | None = None) -> dict[str, Any]:
    """``featurelake doctor`` as a task: the findings as a summary; an error fails the task.

    The gold grids are left to the validate task, which checks the days the run built.

    Raises:
        ValidationFailedError: naming every error doctor found.
    """
    from featurelake.doctor import run_doctor

    report = run_doctor(catalog, gold=False)
    if not report.ok:
        raise ValidationFailedError(
            "doctor: " + "; ".join(f"{f.check} {f.table}: {f.message}" for f in report.errors)
        )
    return {
        "tables": report.tables,
        "warnings": [f"{f.check} {f.table}: {f.message}" for f in report.warnings],
        "seconds": round(report.seconds, 1),
    }


def maintain_table(name: str, *, vacuum_hours: int = 168, catalog: Catalog | None = None) -> dict[str, Any]:
    """Compact (z-ordered where the table has a natural clustering key) and vacuum one table."""
    from featurelake.delta import optimize, vacuum
    from featurelake.delta.maintenance import check_retention
    from featurelake.spark import get_spark

    check_retention(vacuum_hours)
    catalog = catalog or Catalog()
    if not catalog.exists(name):
        return {"table": name, "skipped": "not created"}
    path = catalog.path(name)
    spark = get_spark("featurelake-maintain")
    metrics = optimize(spark, path, zorder=_ZORDER.get(name))
    removed = vacuum(spark, path, retention_hours=vacuum_hours)
    return {
        "table": name,
        "files_removed": int(metrics.get("numFilesRemoved", 0)),
        "files_added": int(metrics.get("numFilesAdded", 0)),
        "vacuumed": len(removed),
    }


def train_latest(
    months: int = 12, validation_months: int = 3, catalog: Catalog | None = None
) -> dict[str, Any]:
    """Train the delay model on the latest ``months`` of labels, validating on the last few."""
    from featurelake import sql as lake_sql
    from featurelake.models.delay import train_delay_model

    catalog = catalog or Catalog()
    last = (
        lake_sql.query("select max(event_date) as d from gold.flight_labels", catalog).column("d")[0].as_py()
    )
    if last is None:
        raise ValidationFailedError("gold.flight_labels is empty: nothing to train on")
    end = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)

    def back(d: dt.date, n: int) -> dt.date:
        m = d.year * 12 + d.month - 1 - n
        return dt.date(m // 12, m % 12 + 1, 1)

    result = train_delay_model(
        back(end, months), end, valid_from=back(end, validation_months), catalog=catalog
    )
    return {
        "version": result.version,
        "alias": result.alias,
        "run_id": result.run_id,
        "validation": result.metrics["validation"],
        "end": end.isoformat(),
        "last_day": last.isoformat(),
    }


def monitor_lake(catalog: Catalog | None = None) -> dict[str, Any]:
    """Run the monitor for the newest labelled day; what the ``check_<kind>`` tasks judge (XCom)."""
    from featurelake.monitor import KINDS, run_monitor

    result = run_monitor(catalog=catalog)
    return {
        "date": result.date.isoformat(),
        "report": str(result.report),
        "checks": len(result.checks),
        "breaches": {kind: [b.message for b in result.breaches if b.kind == kind] for kind in KINDS},
    }


def judge(measured: dict[str, Any], kind: str) -> int:
    """Fail when ``kind`` has a breach: one line naming each breached table or feature, its value
    and the threshold. Returns the number of checks the run made.

    Raises:
        ValidationFailedError: the breaches of ``kind``.
    """
    breaches = measured["breaches"].get(kind, [])
    if breaches:
        more = f" (and {len(breaches) - 3} more)" if len(breaches) > 3 else ""
        raise ValidationFailedError("; ".join(breaches[:3]) + more + f"; report: {measured['report']}")
    return int(measured["checks"])
