"""daily_features: per logical date, silver -> gold for the partitions it needs, validate, materialize,
then ``featurelake doctor`` over the whole lake (an error it finds fails the run).

The plan covers the logical date's silver day plus any earlier day whose bronze
changed since it was built (late events recorded in ops.ingest_log), and the
gold days that read them up to the next midnight. Silver and gold run as Spark
jobs through the profile's Spark connection; re-running a date changes nothing.
``airflow backfill create --dag-id daily_features`` rebuilds date ranges through
the same code as ``featurelake backfill``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task

from featurelake.orchestration import table_asset
from featurelake.orchestration.operators import spark_job
from featurelake.orchestration.tasks import DAILY_GOLD

SILVER = ("silver.flights", "silver.weather", "silver.flight_entities")
PLAN = "ti.xcom_pull(task_ids='plan')"


@dag(
    dag_id="daily_features",
    schedule="@daily",
    start_date=dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    # A retry re-plans: a commit conflict with an overlapping run, or a lost executor, heals itself.
    default_args={"retries": 2, "retry_delay": dt.timedelta(seconds=30)},
    tags=["featurelake", "silver", "gold", "features"],
    doc_md=__doc__,
)
def daily_features() -> None:
    @task(
        inlets=[table_asset("bronze.flights"), table_asset("bronze.weather"), table_asset("ops.ingest_log")]
    )
    def plan(ds: str | None = None) -> dict[str, Any]:
        from featurelake.orchestration.tasks import plan_day

        return plan_day(str(ds))

    silver = spark_job(
        "silver",
        "silver.py",
        ["--from", "{{ " + PLAN + "['silver_from'] }}", "--to", "{{ " + PLAN + "['silver_to'] }}"],
        inlets=[table_asset("bronze.flights"), table_asset("bronze.weather")],
        outlets=[table_asset(t) for t in SILVER],
        # One Spark write job at a time across runs: a backfill starts several dates at once.
        max_active_tis_per_dag=1,
    )
    gold = spark_job(
        "gold",
        "gold.py",
        ["--from", "{{ " + PLAN + "['gold_from'] }}", "--to", "{{ " + PLAN + "['gold_to'] }}"],
        inlets=[table_asset(t) for t in SILVER] + [table_asset("silver.planes")],
        outlets=[table_asset(t) for t in DAILY_GOLD],
        max_active_tis_per_dag=1,
    )

    @task
    def validate(days: dict[str, Any]) -> dict[str, int]:
        from featurelake.orchestration.tasks import validate_gold

        return validate_gold(days["gold_from"], days["gold_to"])

    @task
    def materialize(days: dict[str, Any]) -> dict[str, Any]:
        from featurelake.orchestration.tasks import materialize_days

        return materialize_days(days["gold_from"], days["gold_to"])

    @task
    def doctor() -> dict[str, Any]:
        from featurelake.orchestration.tasks import doctor_lake

        return doctor_lake()

    days = plan()
    checked = validate(days)
    days >> silver >> gold >> checked >> materialize(days) >> doctor()


daily_features()
