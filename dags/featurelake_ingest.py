"""ingest: every 5 minutes, ingest each dataset's landed files and Kafka topic into bronze (exactly once).

Each source is a ``trigger(availableNow=True)`` run: it reads what is there and stops. The
continuous Kafka ingest (``featurelake ingest DATASET --source kafka --continuous``) is a
long-lived service, run beside Airflow, not by it; the two must not share a checkpoint, so run
one or the other for a given lake. ``stream_silver_flights`` then merges what the flights runs
landed into ``silver.flights`` (``featurelake stream-silver --once``).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag

from featurelake.orchestration import table_asset
from featurelake.orchestration.operators import spark_job

DATASETS = ("flights", "weather", "bookings")


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
        outlets = [
            table_asset(f"bronze.{dataset}"),
            table_asset("quarantine.records"),
            table_asset("ops.ingest_log"),
        ]
        files = spark_job(f"ingest_{dataset}", "ingest.py", [dataset, "--once"], outlets=outlets)
        kafka = spark_job(
            f"ingest_{dataset}_kafka", "ingest.py", [dataset, "--source", "kafka", "--once"], outlets=outlets
        )
        if dataset == "flights":
            # silver.flights current between the daily rebuilds: merge what both sources just landed
            silver = spark_job(
                "stream_silver_flights",
                "silver_stream.py",
                ["--once"],
                outlets=[table_asset("silver.flights"), table_asset("quarantine.records")],
            )
            [files, kafka] >> silver


ingest()
