"""train_delay_model: retrain the delay model when its labels and features are updated, then score.

Asset-scheduled: runs once gold.flight_labels and every feature table of
delay_model_v1 have new data. Training reads its set through the feature
store; scoring writes gold.delay_predictions through Spark.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task

from featurelake.orchestration import table_asset
from featurelake.orchestration.operators import spark_job

INPUTS = (
    "gold.flight_labels",
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
)


@dag(
    dag_id="train_delay_model",
    schedule=[table_asset(t) for t in INPUTS],
    start_date=dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["featurelake", "model"],
    doc_md=__doc__,
)
def train_delay_model() -> None:
    @task(inlets=[table_asset(t) for t in INPUTS])
    def train() -> dict[str, Any]:
        from featurelake.orchestration.tasks import train_latest

        return train_latest()

    score = spark_job(
        "score_latest_day",
        "score_delay.py",
        ["--date", "{{ ti.xcom_pull(task_ids='train')['last_day'] }}"],
        outlets=[table_asset("gold.delay_predictions")],
    )
    train() >> score


train_delay_model()
