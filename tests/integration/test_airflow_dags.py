"""The four DAGs: they import, and their tasks, dependencies, schedules and assets are as designed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow_harness import dump_dags, env_for

from featurelake.config import Settings

GOLD = [
    "gold.carrier_delay_7d",
    "gold.flight_labels",
    "gold.origin_weather",
    "gold.plane",
    "gold.route_delay_30d",
]


@pytest.fixture(scope="module")
def dags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow")
    settings = Settings(lake=home / "lake", airflow_home=home / "home")
    return dump_dags(env_for(settings, home / "home"))


def test_every_dag_imports_without_errors(dags: dict[str, Any]) -> None:
    assert dags["errors"] == {}
    assert set(dags["dags"]) == {"ingest", "daily_features", "maintenance", "train_delay_model", "monitor"}
    for dag in dags["dags"].values():
        assert dag["catchup"] is False
        assert "featurelake" in dag["tags"]


def test_ingest_runs_every_five_minutes_and_produces_bronze(dags: dict[str, Any]) -> None:
    dag = dags["dags"]["ingest"]
    assert dag["timetable"] == "DeltaTriggerTimetable"
    assert dag["schedule"] == "0:05:00"
    assert set(dag["tasks"]) == {
        "ingest_flights",
        "ingest_weather",
        "ingest_bookings",
        "ingest_flights_kafka",
        "ingest_weather_kafka",
        "ingest_bookings_kafka",
        "stream_silver_flights",
    }
    silver = dag["tasks"]["stream_silver_flights"]
    assert Path(silver["application"]).name == "silver_stream.py"
    assert silver["args"] == ["--once"]
    assert "silver.flights" in silver["outlets"]
    assert dag["tasks"]["ingest_flights"]["downstream"] == ["stream_silver_flights"]
    assert dag["tasks"]["ingest_flights_kafka"]["downstream"] == ["stream_silver_flights"]
    for task in set(dag["tasks"]) - {"stream_silver_flights"}:
        ds = task.split("_")[1]
        t = dag["tasks"][task]
        assert t["type"] == "SparkSubmitOperator"
        assert t["conn_id"] == "spark_featurelake"
        assert Path(t["application"]).name == "ingest.py"
        assert t["args"][:1] == [ds]
        assert ("--source" in t["args"]) == task.endswith("_kafka")
        assert "--once" in t["args"]  # availableNow: read what is there, then stop
        assert f"bronze.{ds}" in t["outlets"]
        assert "quarantine.records" in t["outlets"]


def test_daily_features_chain_and_assets(dags: dict[str, Any]) -> None:
    dag = dags["dags"]["daily_features"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["schedule"] == "@daily"
    tasks = dag["tasks"]
    assert set(tasks) == {"plan", "silver", "gold", "validate", "materialize", "doctor"}
    assert "silver" in tasks["plan"]["downstream"]
    assert tasks["silver"]["downstream"] == ["gold"]
    assert tasks["gold"]["downstream"] == ["validate"]
    assert tasks["validate"]["downstream"] == ["materialize"]
    assert tasks["materialize"]["downstream"] == ["doctor"]
    assert tasks["silver"]["type"] == tasks["gold"]["type"] == "SparkSubmitOperator"
    assert sorted(tasks["silver"]["inlets"]) == ["bronze.flights", "bronze.weather"]
    assert set(tasks["silver"]["outlets"]) == {"silver.flights", "silver.weather", "silver.flight_entities"}
    assert sorted(tasks["gold"]["outlets"]) == GOLD
    assert "ops.ingest_log" in tasks["plan"]["inlets"]


def test_maintenance_is_weekly_over_every_table(dags: dict[str, Any]) -> None:
    dag = dags["dags"]["maintenance"]
    assert dag["schedule"] == "@weekly"
    assert dag["tasks"]["tables"]["downstream"] == ["maintain"]
    assert dag["tasks"]["maintain"]["type"] == "DecoratedMappedOperator"  # one task per table


def test_train_delay_model_is_scheduled_on_its_input_assets(dags: dict[str, Any]) -> None:
    dag = dags["dags"]["train_delay_model"]
    assert dag["timetable"] == "AssetTriggeredTimetable"
    assert dag["assets"] == GOLD
    assert dag["tasks"]["train"]["downstream"] == ["score_latest_day"]
    assert dag["tasks"]["score_latest_day"]["type"] == "SparkSubmitOperator"
    assert dag["tasks"]["score_latest_day"]["outlets"] == ["gold.delay_predictions"]
    assert sorted(dag["tasks"]["train"]["inlets"]) == GOLD


def test_monitor_runs_daily_with_one_alerting_check_per_kind(dags: dict[str, Any]) -> None:
    from featurelake.monitor import KINDS

    dag = dags["dags"]["monitor"]
    assert dag["schedule"] == "@daily"
    checks = {f"check_{kind}" for kind in KINDS}
    assert set(dag["tasks"]) == {"measure"} | checks
    assert dag["tasks"]["measure"]["downstream"] == sorted(checks)
    assert set(dag["tasks"]["measure"]["outlets"]) == {f"ops.monitor_{kind}" for kind in KINDS}
