"""One monitor run: measure, judge, append to ``ops.monitor_*``, draw the report.

Order of a run: read the thresholds; resolve the day D and the model; compute
the freshness, quality, drift and performance checks over one DuckDB
connection, then the skew check (Feast); append every check to its
``ops.monitor_<kind>`` table (one Spark commit per table); read the whole
history back and write the report. Everything runs on the driver.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from featurelake.catalog import Catalog
from featurelake.errors import FeaturelakeError
from featurelake.models.delay.data import LABEL_TABLE
from featurelake.models.delay.features import MODEL_NAME
from featurelake.models.tracking import CHAMPION, ModelVersion
from featurelake.monitor._lake import Lake, newest_partition_date
from featurelake.monitor.config import CONFIG_FILE, MonitorConfig, load_config
from featurelake.monitor.drift import drift_checks
from featurelake.monitor.freshness import freshness_checks
from featurelake.monitor.history import history, write_checks
from featurelake.monitor.performance import performance_checks
from featurelake.monitor.quality import quality_checks
from featurelake.monitor.report import ReportInput, write_report
from featurelake.monitor.result import MonitorResult
from featurelake.monitor.skew import skew_checks

__all__ = ["latest_label_date", "resolve_model", "run_monitor"]


def latest_label_date(catalog: Catalog) -> dt.date:
    """The newest ``event_date`` of ``gold.flight_labels``: the day monitored by default.

    Raises:
        FeaturelakeError: the table does not exist or has no rows.
    """
    newest = newest_partition_date(catalog.path(LABEL_TABLE)) if catalog.exists(LABEL_TABLE) else None
    if newest is None:
        raise FeaturelakeError(
            f"{LABEL_TABLE} has no rows to take the day from; give the day to monitor (--date)"
        )
    return newest


def resolve_model(
    model: ModelVersion | str | None, catalog: Catalog
) -> tuple[ModelVersion | None, str | None]:
    """The model version to compare with, and a note when there is none.

    Args:
        model: a registered version of ``delay`` as is, a version number or alias to look up in
            the registry (``champion``), or None for none.
    """
    if model is None or isinstance(model, ModelVersion):
        return model, None
    from featurelake.models.tracking import resolve

    try:
        return resolve(MODEL_NAME, model, catalog.settings), None
    except FeaturelakeError as e:
        return None, f"no {model} of model {MODEL_NAME!r} to compare with ({e})"


def _day(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"date {value!r} is not a day, YYYY-MM-DD") from e


def run_monitor(
    date: dt.date | str | None = None,
    catalog: Catalog | None = None,
    *,
    now: dt.datetime | None = None,
    model: ModelVersion | str | None = CHAMPION,
    config: MonitorConfig | None = None,
    config_path: Path | None = None,
) -> MonitorResult:
    """Monitor the lake and the delay model for day D; store every check and write the report.

    Args:
        date: D (a date or ``YYYY-MM-DD``); the newest event_date of gold.flight_labels by default,
            or the day of ``now`` when that table has no rows yet (a new lake: its freshness and
            quality are still judged).
        catalog: the lake; the environment's by default.
        now: the time table ages are measured at (UTC); the present by default.
        model: the version whose training window and validation metrics drift and performance are
            judged against: a :class:`ModelVersion`, a version number or alias of ``delay``
            (``champion`` by default), or None to judge without one.
        config: the thresholds; read from ``config_path`` when omitted.
        config_path: the thresholds file; ``monitor.toml`` at the checkout's root by default.

    Returns:
        Every check, the breaches among them and the report's path.

    Raises:
        FeaturelakeError: the thresholds file is missing or wrong (``ConfigError``).
    """
    catalog = catalog or Catalog()
    path = config_path or CONFIG_FILE
    source = str(path) if config is None else "the caller's MonitorConfig"
    config = config or load_config(path)
    run_at = dt.datetime.now(dt.UTC)
    run_id = secrets.token_hex(6)
    version, note = resolve_model(model, catalog)
    notes = [note] if note else []
    if date is not None:
        day = _day(date)
    else:
        try:
            day = latest_label_date(catalog)
        except FeaturelakeError:  # nothing labelled yet: what can be judged today still is
            day = (now or run_at).astimezone(dt.UTC).date()
            notes.append(f"{LABEL_TABLE} has no rows yet: monitored {day}, the day of the run.")
    with Lake(catalog) as lake:
        checks = freshness_checks(lake, day, now=now, config=config.freshness)
        quality = quality_checks(lake, day, config=config.quality)
        drift = drift_checks(lake, day, version, config=config.drift)
        performance = performance_checks(lake, day, version, config=config.performance)
    checks += quality.checks + drift.checks + performance.checks
    checks += skew_checks(catalog.settings, config=config.skew)
    if drift.reference is not None:
        notes.append(f"{drift.note[0].upper()}{drift.note[1:]}, {drift.reference.window}.")
    write_checks(catalog, checks, run_id=run_id, run_at=run_at, day=day)
    report = write_report(
        catalog.settings.lake,
        ReportInput(
            day=day,
            run_id=run_id,
            run_at=run_at,
            checks=checks,
            history=history(catalog),
            drift=drift,
            performance=performance,
            quality=quality,
            notes=notes,
            config=source,
        ),
    )
    return MonitorResult(run_id=run_id, run_at=run_at, date=day, checks=checks, report=report, notes=notes)
