"""Ops: what ``featurelake monitor`` measured, one table per kind of check, one row per metric per run.

Every run appends one row per metric to each table, judged against
``monitor.toml``; the report's time series are drawn from these rows, so
they grow run after run. Small and unpartitioned, like the other ops tables.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.gold import GOLD_TABLES
from featurelake.tables.ops import INGEST_LOG

__all__ = [
    "MONITOR_DRIFT",
    "MONITOR_FRESHNESS",
    "MONITOR_PERFORMANCE",
    "MONITOR_QUALITY",
    "MONITOR_SKEW",
    "MONITOR_TABLES",
]

_COLUMNS = (
    "run_id string not null, run_at timestamp not null, monitor_date date not null, "
    "subject string not null, metric string not null, value double, threshold double, "
    "breached boolean not null, detail string"
)

_FEATURE_TABLES = ["gold.carrier_delay_7d", "gold.route_delay_30d", "gold.origin_weather", "gold.plane"]
"""The gold tables behind the delay model's feature service (delay_model_v1)."""


def _monitor_table(kind: str, description: str, subject: str, metrics: str, upstream: list[str]) -> TableSpec:
    return TableSpec.of(
        f"ops.monitor_{kind}",
        _COLUMNS,
        keys=["run_id", "subject", "metric"],
        description=description,
        owner="ml-models",
        tags={"domain": "operations", "contains": "monitoring results", "refresh": "per monitor run"},
        column_docs={
            "run_id": "The monitor run (12 random hex digits); one run writes every ops.monitor_* table.",
            "run_at": "When the run started (UTC).",
            "monitor_date": "The day D monitored (--date; by default the latest event_date of "
            "gold.flight_labels): windows end with D.",
            "subject": subject,
            "metric": metrics,
            "value": "The metric's value; null when it could not be computed (detail says why).",
            "threshold": "The limit from monitor.toml (or the table's freshness SLA) the value was judged "
            "against; null when the metric is recorded without being judged.",
            "breached": "Whether the value is past its threshold (a table with an SLA that does not exist "
            "counts as breached); false when not judged or not computed.",
            "detail": "What the value was computed from, or why it was not, in words.",
        },
        upstream=upstream,
    )


MONITOR_FRESHNESS = _monitor_table(
    "freshness",
    "Age of every existing table's last commit and, for tables with event dates, how far their newest "
    "event_date lags behind D; judged for the tables with a freshness SLA (the gold tables and "
    "ops.ingest_log).",
    "The table, e.g. gold.carrier_delay_7d.",
    "age_hours (hours since the table's last commit, judged against its freshness SLA) or "
    "event_lag_days (days from its newest event_date to D).",
    [t.name for t in (*GOLD_TABLES, INGEST_LOG) if t.freshness_sla_hours is not None],
)

MONITOR_QUALITY = _monitor_table(
    "quality",
    "Data quality over the 7 days up to D: the quarantine rate of ingest (from ops.ingest_log) and the "
    "success rate of the expectations (ops.validation_results), each with its change from the 7 days "
    "before.",
    "The table the checked rows were bound for: bronze.<dataset> (ingest, bronze suites) or "
    "silver.flights (the silver suite).",
    "quarantine_rate (quarantined rows / records in), quarantine_rate_change (that rate minus the 7 "
    "days before's), expectation_success_rate (share of expectation results that held) or "
    "expectation_success_rate_change.",
    ["ops.ingest_log", "ops.validation_results"],
)

MONITOR_DRIFT = _monitor_table(
    "drift",
    "Drift of every numeric feature of delay_model_v1 between the champion's training window and the 7 "
    "days up to D: PSI and the Wasserstein distance, from ops.prediction_log where it covers a window, "
    "else from the gold feature tables (point-in-time).",
    "The feature, e.g. dep_delay_avg_7d.",
    "psi (population stability index over 10 quantile bins of the reference) or wasserstein (the "
    "Wasserstein distance in reference standard deviations).",
    ["ops.prediction_log", "gold.flight_labels", *_FEATURE_TABLES, "model:delay"],
)

MONITOR_PERFORMANCE = _monitor_table(
    "performance",
    "The delay model's performance on the labelled flights of the 7 days up to D (served and batch "
    "predictions of ops.prediction_log joined with gold.flight_labels), against the champion's "
    "validation metrics.",
    "The model: model:delay.",
    "auc (ROC AUC), log_loss, ece (expected calibration error over 10 probability bins) or rows "
    "(labelled predictions).",
    ["ops.prediction_log", "gold.flight_labels", "model:delay"],
)

MONITOR_SKEW = _monitor_table(
    "skew",
    "Online/offline skew of the delay_model_v1 features: the share of sampled online values that differ "
    "from the offline point-in-time values (featurelake features skew).",
    "The feature service: delay_model_v1.",
    "mismatch_rate (mismatching values / values checked).",
    _FEATURE_TABLES,
)

MONITOR_TABLES: tuple[TableSpec, ...] = (
    MONITOR_FRESHNESS,
    MONITOR_QUALITY,
    MONITOR_DRIFT,
    MONITOR_PERFORMANCE,
    MONITOR_SKEW,
)
