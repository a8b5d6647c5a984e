"""monitor: every day, measure freshness, quality, drift, model performance and skew, and alert.

``measure`` runs :func:`featurelake.monitor.run_monitor` for the newest labelled day: every check
goes to ``ops.monitor_*`` and the HTML report to ``<lake>/monitor/<D>/``. One ``check_<kind>``
task per kind then fails, with a one-line reason naming the table or feature, the value and the
threshold, when that kind has a breach. Each failure is e-mailed to ``FEATURELAKE_ALERT_EMAIL``
through Airflow's ``smtp_default`` connection and written to ``ops.alerts``
(:mod:`featurelake.orchestration.alerts`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task

from featurelake.orchestration import table_asset
from featurelake.orchestration.alerts import on_failure

KINDS = ("freshness", "quality", "drift", "performance", "skew")
"""featurelake.monitor.KINDS, spelled out: importing the monitor here would slow every parse of the
DAG folder by seconds (tests/integration/test_airflow_dags.py checks they agree)."""


@dag(
    dag_id="monitor",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["featurelake", "monitor"],
    doc_md=__doc__,
    default_args={"on_failure_callback": on_failure, "retries": 0},
)
def monitor() -> None:
    @task(outlets=[table_asset(f"ops.monitor_{kind}") for kind in KINDS])
    def measure() -> dict[str, Any]:
        from featurelake.orchestration.tasks import monitor_lake

        return monitor_lake()

    measured = measure()
    for kind in KINDS:

        @task(task_id=f"check_{kind}")
        def check(result: dict[str, Any], kind: str = kind) -> int:
            from featurelake.orchestration.tasks import judge

            return judge(result, kind)

        check(measured)


monitor()
