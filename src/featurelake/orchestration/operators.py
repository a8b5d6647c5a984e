"""Task factories for featurelake's DAGs: Spark jobs go through ``SparkSubmitOperator``.

Imported by DAG files at parse time; builds operators only, runs nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from featurelake.orchestration.assets import SPARK_CONN_ID
from featurelake.orchestration.environment import repo_root

if TYPE_CHECKING:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

__all__ = ["spark_job"]


def spark_job(
    task_id: str,
    job: str,
    args: Sequence[str],
    *,
    inlets: Sequence[Any] = (),
    outlets: Sequence[Any] = (),
    **kwargs: Any,
) -> SparkSubmitOperator:
    """A ``spark-submit spark_jobs/<job>`` task on the profile's Spark connection.

    The master comes from the ``spark_featurelake`` connection (``local[*]`` by default, any
    cluster URL in ``prod``); executors run this interpreter, as the driver does.
    """
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    from featurelake.config import get_settings
    from featurelake.jars import classpath
    from featurelake.spark import driver_java_options, java_options

    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=SPARK_CONN_ID,
        application=str(repo_root() / "spark_jobs" / job),
        application_args=list(args),
        name=f"featurelake-{task_id}",
        # Delta, spark-avro and Kafka: on the driver's classpath from the start, shipped to executors
        jars=",".join(str(p) for p in classpath(check=False)),
        conf={
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.extraJavaOptions": driver_java_options(get_settings()),
            "spark.executor.extraJavaOptions": java_options(get_settings()),
        },
        inlets=list(inlets),
        outlets=list(outlets),
        **kwargs,
    )
