"""`featurelake monitor` on small purpose-built lakes: drift, performance, quality, freshness, the report.

The main lake (module-scoped, monitored twice) holds a prediction log over February and March 2013
whose last week (2013-03-25..31) differs in two ways only: dep_delay shifted by +30 minutes, so
the features computed from dep_delay move, and the labels of that week shuffled. A challenger's
shadow scores with absurd values sit beside the answers and must be ignored. The champion trained
on February. The first run, for 2013-03-24, must find nothing wrong with the model; the second,
for 2013-03-31, exactly those two changes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from browser import ARTIFACTS, chromium, offline_page
from click.testing import CliRunner

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.testing import conform
from featurelake.models.delay.features import NUMERIC
from featurelake.models.delay.metrics import log_loss, roc_auc
from featurelake.models.tracking import ModelVersion
from featurelake.monitor import MonitorResult, latest_label_date, run_monitor
from featurelake.monitor._lake import Lake, last_commit
from featurelake.monitor.drift import drift_checks
from featurelake.monitor.freshness import freshness_checks

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[2] / "src" / "featurelake"
START = dt.date(2013, 2, 1)
SHIFTED = dt.date(2013, 3, 25)
"""First day of the week with dep_delay shifted and labels shuffled."""
BEFORE, AFTER = dt.date(2013, 3, 24), dt.date(2013, 3, 31)
"""The days monitored: the week before the change, and the week of it."""
PER_DAY = 100
DEP_DELAY_FEATURES = {"dep_delay_avg_7d"}
"""The delay model's features computed from dep_delay (see test_only_carrier_delay_reads_dep_delay)."""
CARRIERS = [f"C{i:02d}" for i in range(40)]
ORIGINS = ["EWR", "JFK", "LGA"]
DESTS = [f"D{i:02d}" for i in range(20)]


def _day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _at(day: dt.date, minutes: float = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(minutes=minutes)


def _flight_features(rng: np.random.Generator, shifted: bool) -> dict[str, float | None]:
    """One flight's 15 features, as the model saw them; only dep_delay_avg_7d moves when ``shifted``."""
    return {
        "flights_7d": float(rng.poisson(300)),
        "dep_delay_avg_7d": float(rng.normal(12, 6) + (30 if shifted else 0)),
        "cancel_rate_7d": float(rng.beta(2, 60)),
        "flights_30d": float(rng.poisson(90)),
        "arr_delay_avg_30d": float(rng.normal(6, 8)),
        "temp": float(rng.normal(45, 10)),
        "humid": float(rng.uniform(30, 95)),
        "wind_speed": float(rng.gamma(3, 3)),
        "wind_gust": float(rng.gamma(4, 5)) if rng.random() < 0.4 else None,
        "precip": float(rng.exponential(0.05)) if rng.random() < 0.2 else 0.0,
        "pressure": float(rng.normal(1015, 8)),
        "visib": 10.0 if rng.random() < 0.85 else float(rng.uniform(0.5, 10)),
        "plane_age_years": float(rng.integers(0, 30)),
        "seats": float(rng.choice([55, 100, 149, 178, 200, 330])),
        "engines": float(rng.choice([1, 2, 2, 2, 3, 4])),
    }


def _served_lake(catalog: Catalog) -> tuple[float, float]:
    """Write the prediction log, the labels and the ingest logs; return the ROC AUC and log loss of
    the answers on February (the champion's training month: its validation metrics stand in)."""
    from featurelake.spark import get_spark

    rng = np.random.default_rng(7)
    log: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    for day in _day_range(START, AFTER):
        shifted = day >= SHIFTED
        week: list[dict[str, object]] = []
        for i in range(PER_DAY):
            ts = _at(day, 10 * i + 5)
            carrier, origin, dest = CARRIERS[i % 40], ORIGINS[i % 3], DESTS[i % 20]
            tailnum = None if i % 17 == 0 else f"N{i:03d}"
            event_id = f"{carrier}-{i}-{origin}-{ts:%Y%m%dT%H%MZ}"
            latent = rng.normal()
            p = 1 / (1 + math.exp(-(-1.0 + 1.8 * latent)))
            delayed = bool(rng.random() < p)
            week.append(
                {
                    "event_id": event_id,
                    "carrier": carrier,
                    "origin": origin,
                    "dest": dest,
                    "tailnum": tailnum,
                    "event_timestamp": ts,
                    "arr_delay": 40.0 if delayed else -3.0,
                    "is_delayed": delayed,
                }
            )
            features = _flight_features(rng, shifted)
            source = "batch" if i < 30 else "serve"
            answer = {
                "request_id": f"r-{event_id}",
                "logged_at": ts - dt.timedelta(hours=2),
                "source": source,
                # serve requests name their flight by keys; a third of them leave event_id out
                "event_id": None if source == "serve" and i % 3 == 0 else event_id,
                "carrier": carrier,
                "origin": origin,
                "dest": dest,
                "tailnum": tailnum,
                "event_timestamp": ts,
                "features": json.dumps(features),
                "model_name": "delay",
                "model_version": "1",
                "alias": "champion",
                "mode": "champion",
                "served": source == "serve",  # batch rows count whatever served says
                "delay_probability": p,
                "latency_ms": 4.0 if source == "serve" else None,
            }
            log.append(answer)
            if source == "serve" and i % 4 == 0:  # the challenger's shadow score: never an answer
                garbage = {**features, "temp": features["temp"] + 100, "seats": 9999.0}
                log.append(
                    {
                        **answer,
                        "request_id": f"s-{event_id}",
                        "features": json.dumps(garbage),
                        "model_version": "2",
                        "alias": "challenger",
                        "mode": "shadow",
                        "served": False,
                        "delay_probability": 1 - p,
                    }
                )
        if shifted:  # the week's labels shuffled among its flights (arr_delay with them: the contract)
            order = rng.permutation(len(week))
            outcomes = [(week[j]["arr_delay"], week[j]["is_delayed"]) for j in order]
            for row, (arr, delayed) in zip(week, outcomes, strict=True):
                row["arr_delay"], row["is_delayed"] = arr, delayed
        labels += week
    spark = get_spark()
    catalog.append_rows(spark, "ops.prediction_log", conform(catalog, "ops.prediction_log", log))
    catalog.append_rows(spark, "gold.flight_labels", conform(catalog, "gold.flight_labels", labels))
    # a feature table whose job stopped five days before the last day
    stopped = [
        {
            "carrier": c,
            "event_timestamp": _at(d),
            "flights_7d": 300,
            "dep_delay_avg_7d": 12.0,
            "cancel_rate_7d": 0.01,
        }
        for d in _day_range(dt.date(2013, 3, 20), AFTER - dt.timedelta(days=5))
        for c in CARRIERS
    ]
    catalog.append_rows(spark, "gold.carrier_delay_7d", conform(catalog, "gold.carrier_delay_7d", stopped))
    _ingest_logs(catalog)
    feb = [
        (r["delay_probability"], lab["is_delayed"])
        for r, lab in zip([r for r in log if r["mode"] == "champion"], labels, strict=True)
        if r["event_timestamp"] < _at(dt.date(2013, 3, 1))  # type: ignore[operator]
    ]
    y, p = np.array([y for _, y in feb]), np.array([p for p, _ in feb])
    return roc_auc(y, p), log_loss(y, p)


def _ingest_logs(catalog: Catalog) -> None:
    """A flights batch a day from 2013-03-04: 0.5 % quarantined, 8 % in the last week; every check holds."""
    from featurelake.spark import get_spark

    batches, results = [], []
    for n, day in enumerate(_day_range(dt.date(2013, 3, 4), AFTER)):
        quarantined = 80 if day >= SHIFTED else 5
        started = _at(dt.date(2026, 11, 1)) + dt.timedelta(hours=n)  # a replay: ingested long after
        batches.append(
            {
                "dataset": "flights",
                "query_name": "ingest_flights",
                "batch_id": n,
                "started_at": started,
                "finished_at": started + dt.timedelta(seconds=30),
                "duration_s": 30.0,
                "files": 1,
                "files_quarantined": 0,
                "duplicate_files": 0,
                "records_in": 1000,
                "bronze_rows": 1000 - quarantined,
                "quarantined_rows": quarantined,
                "warned_rows": 0,
                "min_event_date": day,
                "max_event_date": day,
                "event_dates": day.isoformat(),
                "source": "landing",
            }
        )
        for expectation in ("origin_in_nyc", "dep_delay_range"):
            results.append(
                {
                    "dataset": "flights",
                    "suite": "flights_bronze",
                    "run": "ingest_flights",
                    "batch_id": n,
                    "expectation": expectation,
                    "expectation_type": "expect_column_values_to_be_between",
                    "column_name": "dep_delay",
                    "severity": "quarantine",
                    "success": True,
                    "element_count": 1000,
                    "unexpected_count": 0,
                    "unexpected_percent": 0.0,
                    "outcome": "written",
                    "validated_at": started,
                }
            )
    spark = get_spark()
    catalog.append_rows(spark, "ops.ingest_log", conform(catalog, "ops.ingest_log", batches))
    catalog.append_rows(spark, "ops.validation_results", conform(catalog, "ops.validation_results", results))


def _champion(auc: float, loss: float) -> ModelVersion:
    """Version 1 of delay as the registry returns it: trained on February, validated at ``auc``."""
    return ModelVersion(
        name="delay",
        version="1",
        aliases=("champion",),
        run_id="",
        created=dt.datetime(2013, 3, 2, tzinfo=dt.UTC),
        metrics={"validation": {"model": {"auc": auc, "log_loss": loss}}},
        lineage={"train_range": ["2013-02-01", "2013-03-01"], "feature_service": "delay_model_v1"},
    )


class Served:
    """The main lake and its two monitor runs."""

    def __init__(
        self, settings: Settings, catalog: Catalog, auc: float, runs: tuple[MonitorResult, MonitorResult]
    ):
        self.settings, self.catalog, self.auc = settings, catalog, auc
        self.before, self.after = runs


@pytest.fixture(scope="module")
def served(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    lake = tmp_path_factory.mktemp("monitor") / "lake"
    with pytest.MonkeyPatch.context() as mp:  # anything reading the environment finds this lake too
        mp.setenv("FEATURELAKE_LAKE", str(lake))
        mp.delenv("FEATURELAKE_PROFILE", raising=False)
        settings = get_settings()
        catalog = Catalog(settings=settings)
        auc, loss = _served_lake(catalog)
        champion = _champion(auc, loss)
        runs = (
            run_monitor(BEFORE, catalog, model=champion),
            run_monitor(AFTER.isoformat(), catalog, model=champion),
        )
        yield Served(settings, catalog, auc, runs)


def _breached(result: MonitorResult, kind: str) -> set[tuple[str, str]]:
    return {(b.subject, b.metric) for b in result.breaches if b.kind == kind}


def test_only_carrier_delay_reads_dep_delay() -> None:
    """Which model features derive from dep_delay: only carrier_delay_7d's mean reads it."""
    readers = {p.name for p in (SRC / "transforms").glob("*.py") if '"dep_delay"' in p.read_text()}
    assert readers == {"silver_flights.py", "carrier_delay.py"}  # silver only carries the column
    assert '"dep_delay_avg_7d"' in (SRC / "transforms" / "carrier_delay.py").read_text()
    assert DEP_DELAY_FEATURES <= set(NUMERIC)


def test_drift_flags_exactly_the_features_fed_by_dep_delay(served: Served) -> None:
    assert _breached(served.before, "drift") == set()
    after = _breached(served.after, "drift")
    assert after == {(f, m) for f in DEP_DELAY_FEATURES for m in ("psi", "wasserstein")}
    drift = [c for c in served.after.checks if c.kind == "drift"]
    assert {c.subject for c in drift} == set(NUMERIC)
    assert all(c.value is not None for c in drift)  # every feature computed, from the log both times
    assert all("from ops.prediction_log" in c.detail for c in drift)
    assert all("training window of delay version 1, 2013-02-01..2013-02-28" in c.detail for c in drift)
    # the challenger's absurd shadow features (temp + 100, seats 9999) were left out
    quiet = {c.subject: c.value for c in drift if c.metric == "psi" and c.subject not in DEP_DELAY_FEATURES}
    assert max(quiet.values()) < 0.1, quiet  # type: ignore[type-var]
    message = next(
        b.message for b in served.after.breaches if b.subject == "dep_delay_avg_7d" and b.metric == "psi"
    )
    assert message.startswith("drift: dep_delay_avg_7d PSI ")
    assert message.endswith(" > 0.25")


def test_shuffled_labels_for_a_week_breach_performance(served: Served) -> None:
    assert served.auc > 0.75
    assert _breached(served.before, "performance") == set()
    assert ("model:delay", "auc") in _breached(served.after, "performance")
    perf = {c.metric: c for c in served.after.checks if c.kind == "performance"}
    # every answer of the week joined its label: by event_id, or by keys where the request gave none
    assert perf["rows"].value == 7 * PER_DAY
    assert abs(perf["auc"].value - 0.5) < 0.1  # type: ignore[operator]
    assert perf["auc"].threshold == pytest.approx(served.auc - 0.05)
    before = {c.metric: c for c in served.before.checks if c.kind == "performance"}
    assert before["rows"].value == 7 * PER_DAY
    assert before["auc"].value > served.auc - 0.05  # type: ignore[operator]
    assert before["ece"].value < 0.1  # type: ignore[operator]
    breach = next(b for b in served.after.breaches if b.metric == "auc")
    assert breach.message.startswith("performance: model:delay ROC AUC 0.")
    assert f"< {served.auc - 0.05:.3g}" in breach.message


def test_a_rising_quarantine_rate_breaches_quality(served: Served) -> None:
    assert _breached(served.before, "quality") == set()
    assert _breached(served.after, "quality") == {
        ("bronze.flights", "quarantine_rate"),
        ("bronze.flights", "quarantine_rate_change"),
    }
    rates = {c.metric: c.value for c in served.after.checks if c.kind == "quality"}
    assert rates["quarantine_rate"] == pytest.approx(0.08)
    assert rates["quarantine_rate_change"] == pytest.approx(0.075)
    assert rates["expectation_success_rate"] == 1.0


def test_every_check_is_appended_to_its_ops_table(served: Served) -> None:
    from featurelake.sql import query

    rows = query(
        "SELECT monitor_date, run_id, count(*) AS n, count(*) FILTER (WHERE breached) AS breached "
        f"FROM ops.monitor_drift WHERE run_id IN ('{served.before.run_id}', '{served.after.run_id}') "
        "GROUP BY ALL ORDER BY monitor_date",
        served.catalog,
    ).to_pylist()
    assert [(r["monitor_date"], r["n"], r["breached"]) for r in rows] == [(BEFORE, 30, 0), (AFTER, 30, 2)]
    assert [r["run_id"] for r in rows] == [served.before.run_id, served.after.run_id]
    for kind in ("freshness", "quality", "performance", "skew"):
        stored = query(
            f"SELECT subject, metric, value, threshold, breached FROM ops.monitor_{kind} "
            f"WHERE run_id = '{served.after.run_id}' ORDER BY subject, metric",
            served.catalog,
        ).to_pylist()
        checks = sorted(
            (c for c in served.after.checks if c.kind == kind), key=lambda c: (c.subject, c.metric)
        )
        assert [(r["subject"], r["metric"], r["breached"]) for r in stored] == [
            (c.subject, c.metric, c.breached) for c in checks
        ]
    # without a registered online store the skew check is recorded as not computed, not as a failure
    (skew,) = [c for c in served.after.checks if c.kind == "skew"]
    assert (skew.value, skew.breached) == (None, False)
    assert "not registered" in skew.detail


def test_the_cli_prints_each_breach_and_exits_1(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through `featurelake monitor` (its own days, so the other tests' reports stay as they were)."""
    from featurelake.cli import main

    assert latest_label_date(served.catalog) == AFTER  # what --date defaults to
    monkeypatch.setenv("FEATURELAKE_LAKE", str(served.settings.lake))
    monkeypatch.delenv("FEATURELAKE_PROFILE", raising=False)
    day = "2013-03-30"
    out = CliRunner().invoke(main, ["monitor", "--date", day])
    assert out.exit_code == 1, out.output
    lines = out.stdout.splitlines()
    assert re.fullmatch(rf"monitor {day}: \d+ of \d+ checks breached", lines[0])
    assert any(line.startswith("drift: dep_delay_avg_7d PSI ") and line.endswith(" > 0.25") for line in lines)
    assert "quality: bronze.flights quarantine rate 0.0693 > 0.05" in lines  # (6 x 80 + 5) / 7,000
    assert lines[-1] == f"report: {served.settings.lake / 'monitor' / day / 'index.html'}"
    # no model registered in this lake: the reference falls back to the 28 days before, and says so
    assert "no champion" in out.stderr
    assert "2013-02-24..2013-03-23" in out.stderr
    quiet = CliRunner().invoke(main, ["monitor", "--date", "2013-03-23", "--no-fail"])
    assert quiet.exit_code == 0, quiet.output
    assert "checks breached" in quiet.stdout  # the missing gold tables are still reported


def test_the_report_renders_offline_in_chromium(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    chromium()
    report = served.after.report
    assert report == served.settings.lake / "monitor" / "2013-03-31" / "index.html"
    text = report.read_text()
    assert "://" not in text  # nothing fetched from anywhere
    assert "<script" not in text
    refused: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, offline_page(p, "file:", refused, width=1400) as page:
        page.goto(report.as_uri())
        images = page.locator("img")
        # drift, per-day performance, calibration, quality per day, and one history chart per kind
        assert images.count() == 4 + 5
        for i in range(images.count()):
            image = images.nth(i)
            assert image.is_visible()
            width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width > 300, image.get_attribute("alt")
        assert page.locator("#every-check tbody tr").count() == len(served.after.checks)
        breached = page.locator("#every-check tr.breached .status").all_inner_texts()
        assert set(breached) == {"BREACHED"}
        assert len(breached) == len(served.after.breaches)
        assert page.locator("ul.breaches li").count() == len(served.after.breaches)
        assert "dep_delay_avg_7d" in page.locator("ul.breaches").inner_text()
        page.screenshot(path=str(ARTIFACTS / "monitor-report.png"), full_page=True)
    assert refused == [], refused


def test_freshness_names_the_table_past_its_sla(served: Served) -> None:
    """Ages measured at simulated times (``now``): gold's SLA is 48 h, ops.ingest_log's 24 h."""
    catalog = served.catalog
    commits = {
        t: last_commit(catalog.path(t))[0]
        for t in ("gold.flight_labels", "gold.carrier_delay_7d", "ops.ingest_log")
    }
    written = max(commits.values())
    with Lake(catalog) as lake:
        fresh = freshness_checks(lake, AFTER, now=written + dt.timedelta(hours=1))
        later = freshness_checks(lake, AFTER, now=written + dt.timedelta(hours=30))
    judged = {(c.subject, c.metric): c for c in fresh}
    assert judged[("gold.flight_labels", "event_lag_days")].value == 0
    # gold.carrier_delay_7d stopped five days before D: fresh commits, stale content
    assert judged[("gold.carrier_delay_7d", "age_hours")].value < 2  # type: ignore[operator]
    assert judged[("gold.carrier_delay_7d", "event_lag_days")].value == 5
    assert judged[("gold.carrier_delay_7d", "event_lag_days")].breached
    assert judged[("gold.plane", "age_hours")].detail == "the table does not exist (SLA 48 h)"
    assert {c.subject for c in fresh if c.breached and c.metric == "age_hours"} == {
        "gold.origin_weather",
        "gold.passenger_activity",  # no bookings in this lake: it does not exist, as gold.plane
        "gold.plane",
        "gold.route_delay_30d",
    }
    # tables without an SLA are recorded, never judged
    assert judged[("ops.prediction_log", "age_hours")].status == "recorded"
    ages = {c.subject: c for c in later if c.metric == "age_hours"}
    assert not ages["gold.flight_labels"].breached
    assert not ages["gold.carrier_delay_7d"].breached
    stale = [c for c in later if c.breached and c.metric == "age_hours" and c.value is not None]
    assert [c.subject for c in stale] == ["ops.ingest_log"]
    assert stale[0].threshold == 24
    assert 29.9 < stale[0].value < 31  # type: ignore[operator]
    # end to end: two days on, every existing table with an SLA is past it, each named in its line
    day = dt.date(2013, 3, 29)
    result = run_monitor(day, catalog, now=written + dt.timedelta(hours=50), model=None)
    lines = [b.message for b in result.breaches if b.kind == "freshness"]
    for table, sla in (("gold.flight_labels", 48), ("gold.carrier_delay_7d", 48), ("ops.ingest_log", 24)):
        assert any(
            re.fullmatch(rf"freshness: {table} age \(h\) 5\d(\.\d)? > {sla}", line) for line in lines
        ), lines
    assert "freshness: gold.carrier_delay_7d event lag (days) 3 > 2" in lines
    assert "freshness: gold.plane age (h): the table does not exist (SLA 48 h)" in lines
    assert result.report == served.settings.lake / "monitor" / "2013-03-29" / "index.html"


def _gold_month(catalog: Catalog) -> None:
    """Gold feature tables and labels for 2013-02-25..03-31; dep_delay_avg_7d +30 from 03-25 on."""
    from featurelake.features.testing import write_gold

    rng = np.random.default_rng(11)
    days = _day_range(dt.date(2013, 2, 25), AFTER)
    write_gold(
        catalog,
        "gold.carrier_delay_7d",
        [
            {
                "carrier": c,
                "event_timestamp": _at(d),
                "flights_7d": int(rng.poisson(300)),
                "dep_delay_avg_7d": float(rng.normal(12, 6) + (30 if d >= SHIFTED else 0)),
                "cancel_rate_7d": float(rng.beta(2, 60)),
            }
            for d in days
            for c in CARRIERS
        ],
    )
    routes = [(o, x) for o in ORIGINS for x in DESTS]
    write_gold(
        catalog,
        "gold.route_delay_30d",
        [
            {
                "origin": o,
                "dest": x,
                "event_timestamp": _at(d),
                "flights_30d": int(rng.poisson(90)),
                "arr_delay_avg_30d": float(rng.normal(6, 8)),
            }
            for d in days
            for o, x in routes
        ],
    )
    write_gold(
        catalog,
        "gold.origin_weather",
        [
            {
                "origin": o,
                "event_timestamp": _at(d, 60 * h),
                "temp": float(rng.normal(45, 10)),
                "humid": float(rng.uniform(30, 95)),
                "wind_speed": float(rng.gamma(3, 3)),
                "wind_gust": None,
                "precip": 0.0,
                "pressure": float(rng.normal(1015, 8)),
                "visib": 10.0,
            }
            for d in days
            for h in range(24)
            for o in ORIGINS
        ],
    )
    write_gold(
        catalog,
        "gold.plane",
        [
            {
                "tailnum": f"N{i:03d}",
                "event_timestamp": dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
                "plane_age_years": int(rng.integers(0, 30)),
                "seats": int(rng.choice([55, 100, 149, 178, 200])),
                "engines": int(rng.choice([1, 2, 2, 3])),
            }
            for i in range(300)
        ],
    )
    flights = []
    for d in days:
        for i in range(PER_DAY):
            ts = _at(d, 14 * i + 7)
            flights.append(
                {
                    "event_id": f"F{d:%m%d}{i:03d}",
                    "carrier": CARRIERS[int(rng.integers(0, 40))],
                    "origin": ORIGINS[i % 3],
                    "dest": DESTS[int(rng.integers(0, 20))],
                    "tailnum": f"N{int(rng.integers(0, 300)):03d}",
                    "event_timestamp": ts,
                    "arr_delay": 0.0,
                    "is_delayed": False,
                }
            )
    write_gold(catalog, "gold.flight_labels", pa.Table.from_pylist(flights))


def test_drift_from_the_gold_tables_without_a_champion(
    spark: object, settings: Settings, catalog: Catalog
) -> None:
    """No prediction log: both windows come from gold through the point-in-time join, the
    reference being the 28 days before the current week since no champion exists."""
    from featurelake import features

    _gold_month(catalog)
    features.apply(settings)
    with Lake(catalog) as lake:
        result = drift_checks(lake, AFTER, None)
    assert result.reference is not None
    assert result.current is not None
    assert (result.reference.source, result.current.source) == ("gold (training_set)", "gold (training_set)")
    assert (result.reference.rows, result.current.rows) == (28 * PER_DAY, 7 * PER_DAY)
    assert result.note.startswith("no champion: reference is the 28 days before the current window")
    assert all("no champion" in c.detail for c in result.checks)
    computed = {c.subject for c in result.checks if c.value is not None}
    assert computed == set(NUMERIC) - {"wind_gust"}  # never observed in this lake: not computed
    flagged = {c.subject for c in result.checks if c.breached}
    assert flagged == DEP_DELAY_FEATURES
    # a table whose log is damaged is a breach naming it; the other tables are still checked
    log = Path(catalog.path("gold.plane")) / "_delta_log"
    last = sorted(log.glob("*.json"))[-1]
    last.write_text(last.read_text()[:-40])  # a commit cut mid-line
    with Lake(catalog) as lake:
        ages = {c.subject: c for c in freshness_checks(lake, AFTER) if c.metric == "age_hours"}
    assert ages["gold.plane"].breached
    assert ages["gold.plane"].detail.startswith("the table cannot be read: ")
    assert not ages["gold.carrier_delay_7d"].breached
