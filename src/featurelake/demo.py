"""``make demo``: build the lake from scratch on the embedded default and show it."""

from __future__ import annotations

import time

import click

from featurelake import sql as lake_sql
from featurelake.catalog import Catalog
from featurelake.reference import load_reference
from featurelake.spark import get_spark

__all__ = ["run_demo"]


def run_demo() -> None:
    """Load the reference dimensions, then print the tables and one SQL query."""
    start = time.monotonic()
    catalog = Catalog()
    click.echo(f"lake: {catalog.settings.lake} (profile {catalog.settings.profile})")
    spark = get_spark("featurelake-demo")
    for table, n in load_reference(spark, catalog).items():
        click.echo(f"loaded {table}: {n:,} rows")
    click.echo("")
    from featurelake.cli.lake import tables

    tables.callback()  # type: ignore[misc]
    click.echo("")
    query = (
        "select manufacturer, count(*) as planes, round(avg(seats), 1) as avg_seats "
        "from silver.planes group by 1 order by 2 desc limit 5"
    )
    click.echo(f'featurelake sql "{query}"')
    lake_sql.render(lake_sql.query(query, catalog), "table")
    click.echo(f"\ndemo finished in {time.monotonic() - start:.0f} s")
