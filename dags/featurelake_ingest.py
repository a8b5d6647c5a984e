"""ingest: every 5 minutes, ingest what has landed for each dataset into bronze (exactly once)."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag

from featurelake.orchestration import table_asset
from featurelake.orchestration.operators import spark_job

DATASETS = ("flights", "weather")


@dag(
    dag_id="ingest",
    schedule=dt.timedelta(minutes=5),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["featurelake", "ingest", "bronze"],
    doc_md=__doc__,
)
def ingest() -> None:
    for dataset in DATASETS:
        spark_job(
            f"ingest_{dataset}",
            "ingest.py",
            [dataset, "--once"],
            outlets=[
                table_asset(f"bronze.{dataset}"),
                table_asset("quarantine.records"),
                table_asset("ops.ingest_log"),
            ],
        )


ingest()
