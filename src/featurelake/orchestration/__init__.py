"""Airflow glue: the environment Airflow runs in, table assets, the Spark connection.

DAG files in ``dags/`` import only this package's light modules at parse time.
"""

from __future__ import annotations

from featurelake.orchestration.assets import SPARK_CONN_ID, spark_connection, table_asset, table_uri
from featurelake.orchestration.environment import airflow_env, repo_root

__all__ = ["SPARK_CONN_ID", "airflow_env", "repo_root", "spark_connection", "table_asset", "table_uri"]
