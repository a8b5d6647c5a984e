"""Every lake table as an Airflow ``Asset``, and the Spark connection built from the profile.

Imported by DAG files at parse time: no Spark, no Delta reads, only names.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from featurelake.config import Settings, get_settings

if TYPE_CHECKING:
    from airflow.sdk import Asset

__all__ = ["SPARK_CONN_ID", "spark_connection", "table_asset", "table_uri"]

SPARK_CONN_ID = "spark_featurelake"
"""The Airflow connection every ``SparkSubmitOperator`` of featurelake uses."""


def table_uri(name: str, settings: Settings | None = None) -> str:
    """The asset URI of a catalog table: ``file://<lake>/<layer>/<table>``."""
    from featurelake.catalog import Catalog

    return "file://" + Catalog(settings=settings or get_settings()).path(name)


def table_asset(name: str, settings: Settings | None = None) -> Asset:
    """The Airflow asset of a catalog table, named like the table (``gold.plane``)."""
    from airflow.sdk import Asset

    return Asset(name=name, uri=table_uri(name, settings), group="featurelake")


def spark_connection(settings: Settings | None = None) -> str:
    """The Spark connection as Airflow's JSON form (``AIRFLOW_CONN_SPARK_FEATURELAKE``).

    The master comes from the profile: ``local[*]`` by default, any URL in ``prod``.
    """
    settings = settings or get_settings()
    return json.dumps(
        {
            "conn_type": "spark",
            "host": settings.spark_master,
            "extra": {"deploy-mode": "client", "spark-binary": "spark-submit"},
        }
    )
