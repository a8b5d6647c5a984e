"""maintenance: weekly compaction, z-ordering and vacuum (168 h retention) of every table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task

from featurelake.catalog import Catalog


@dag(
    dag_id="maintenance",
    schedule="@weekly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["featurelake", "maintenance"],
    doc_md=__doc__,
)
def maintenance() -> None:
    @task
    def tables() -> list[str]:
        return Catalog().names()

    @task(max_active_tis_per_dagrun=2)
    def maintain(name: str) -> dict[str, Any]:
        from featurelake.orchestration.tasks import maintain_table

        return maintain_table(name)

    maintain.expand(name=tables())


maintenance()
