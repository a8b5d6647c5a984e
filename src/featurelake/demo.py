"""``make demo``: the whole pipeline on the embedded default, from an empty lake to served features.

Replays 2013 (flights, weather, and the synthetic passengers' bookings, which
carry personal data) into the landing zone, ingests it into bronze (GX checks,
quarantine), loads the reference dimensions, backfills silver and gold over
the whole data range, applies the Feast repository, materializes the online
store, builds a training set, and prints what came out of each step.
Every step is idempotent: running the demo again on the same lake changes
nothing and skips work already done.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from featurelake.catalog import Catalog
from featurelake.cli import working

__all__ = ["run_demo"]

FIRST, END = dt.date(2013, 1, 1), dt.date(2014, 1, 2)
"""Event times of the replay, [FIRST, END) UTC: every 2013 departure and observation."""

DATASETS = ("flights", "weather", "bookings")


@contextmanager
def _step(title: str, timings: dict[str, float]) -> Iterator[None]:
    click.secho(f"\n== {title}", bold=True)
    began = time.monotonic()
    yield
    timings[title] = time.monotonic() - began
    click.echo(f"   ({timings[title]:.0f} s)")


def run_demo(*, parallel: int = 4) -> None:
    """Run every step and print the summary."""
    from featurelake import sql as lake_sql
    from featurelake.spark import get_spark

    catalog = Catalog()
    settings = catalog.settings
    timings: dict[str, float] = {}
    click.echo(f"lake: {settings.lake}  (profile {settings.profile}, Spark {settings.spark_master})")
    spark = get_spark("featurelake-demo")

    with _step("1. replay 2013 into the landing zone (Avro files)", timings):
        _replay(catalog)
    with _step("2. ingest landing -> bronze (Structured Streaming, GX, quarantine)", timings):
        _ingest(catalog, spark)
    with _step("3. reference dimensions -> silver", timings):
        from featurelake.reference import load_reference, loaded_reference

        loaded = loaded_reference(catalog)
        if loaded is not None:
            for table, n in loaded.items():
                click.echo(f"   {table}: {n:,} rows (loaded before and unchanged since: skipped)")
        else:
            for table, n in load_reference(spark, catalog).items():
                click.echo(f"   {table}: {n:,} rows")
    with _step("4. backfill silver and gold over the whole data range", timings):
        from rich.console import Console

        from featurelake.backfill import backfill_all
        from featurelake.backfill.progress import ProgressReporter

        console = Console(stderr=True)
        if console.is_terminal:  # a bar with rate and ETA; nothing when piped
            with ProgressReporter(console) as bar:
                backfill_all(catalog=catalog, spark=spark, parallel=parallel, reporter=bar)
        else:
            backfill_all(catalog=catalog, spark=spark, parallel=parallel)
    with _step("5. Feast: apply the repository, materialize the online store", timings):
        _features(settings)

    with _step("summary", timings):
        _summary(catalog, lake_sql)
    total = sum(timings.values())
    click.secho(
        f"\ndemo finished in {total / 60:.1f} min: "
        + ", ".join(f"{k.split('.')[0]}={v:.0f}s" for k, v in timings.items()),
        bold=True,
    )


def _replay(catalog: Catalog) -> None:
    from featurelake.ingest.producers import produce_replay

    for dataset in DATASETS:

        def produce(ds: str = dataset) -> Any:
            return produce_replay(ds, FIRST, END, settings=catalog.settings, records_per_file=20_000)

        if any(catalog.settings.landing_dir.joinpath(dataset).glob("*.avro")):
            click.echo(f"   landing/{dataset} already has files: skipped")
            continue
        with working(f"   writing {dataset} Avro files"):
            result = produce()
        click.echo(f"   landing/{dataset}: {result.events:,} events in {len(result.files)} files")


def _ingest(catalog: Catalog, spark: Any) -> None:
    from featurelake.ingest.stream import run_ingest
    from featurelake.quality.docs import build_data_docs, gx_root

    new_batches = {}
    for dataset in DATASETS:
        with working(f"   ingesting {dataset}"):
            run = run_ingest(dataset, mode="once", settings=catalog.settings, spark=spark)
        new_batches[dataset] = len(run.batches)
        t = run.totals
        click.echo(
            f"   {dataset}: {t['files']} files, {t['records_in']:,} records -> bronze {t['bronze_rows']:,}, "
            f"quarantine {t['quarantined_rows']:,}"
        )
    index = gx_root(catalog.settings) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if not new_batches["flights"] and index.exists():
        # the docs validate the latest batch, and there is no newer one than last time
        click.echo(f"   GX Data Docs: {index} (no new batch since they were built: skipped)")
        return
    with working("   validating flights with Great Expectations, building Data Docs"):
        docs = build_data_docs("flights", settings=catalog.settings, spark=spark)
    click.echo(f"   GX Data Docs: {docs.index}")


def _features(settings: Any) -> None:
    from featurelake.cli._progress import materialize_bar
    from featurelake.features import apply, materialize, write_feature_store_yaml
    from featurelake.features.store import feast_command

    apply(settings)
    path = write_feature_store_yaml(settings)
    click.echo(f"   wrote {path} (plain Feast: {feast_command(path, '<command>')})")
    begin = dt.datetime.combine(FIRST, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(END, dt.time(), tzinfo=dt.UTC)
    with materialize_bar("   materializing the online store") as bar:
        done = materialize(begin, end, settings=settings, reporter=bar)
    for view, stats in done.items():
        click.echo(f"   online {view}: {int(stats.get('written', 0)):,} entities written")


def _summary(catalog: Catalog, lake_sql: Any) -> None:
    import pyarrow as pa

    from featurelake.backfill import table_rows
    from featurelake.features import online_features, training_set
    from featurelake.ingest.quarantine import summarize_quarantine

    click.echo("   rows per table:")
    counts = table_rows(catalog, tuple(n for n in catalog.names() if catalog.exists(n)))
    for table, n in counts.items():
        click.echo(f"     {table:28} {n:>9,}")

    summary = summarize_quarantine(settings=catalog.settings, samples=0)
    click.echo(
        "   quarantine by reason: " + (", ".join(f"{d}/{r}={p}" for d, r, p, _ in summary.counts) or "none")
    )

    rows = training_set(
        "gold.flight_labels",
        "delay_model_v1",
        start="2013-06-03",
        end="2013-06-04",
        where="is_delayed IS NOT NULL",
        output="arrow",
        settings=catalog.settings,
    )
    if not isinstance(rows, pa.Table):
        raise TypeError("training_set(output='arrow') returned no Arrow table")
    click.echo(f"   training set for 2013-06-03: {rows.num_rows:,} rows; the first one:")
    for key, value in rows.slice(0, 1).to_pylist()[0].items():
        click.echo(f"     {key:20} {value}")

    entity = {"carrier": "UA", "origin": "EWR", "dest": "SFO", "tailnum": "N14228"}
    online = online_features([entity], "delay_model_v1", settings=catalog.settings)
    click.echo(f"   online lookup {entity}:")
    click.echo("     " + ", ".join(f"{k}={v[0]}" for k, v in online.items() if k not in entity))

    passenger = lake_sql.query(
        "select passenger_key from gold.passenger_activity where event_date = date '2013-06-03' "
        "order by bookings_90d desc, passenger_key limit 1",
        catalog,
    )
    if passenger.num_rows:
        key = passenger.column(0)[0].as_py()
        online = online_features([{"passenger_key": key}], "passenger_v1", settings=catalog.settings)
        click.echo(f"   passenger_v1 for passenger_key {key[:16]}... (a pseudonym, never a name):")
        click.echo("     " + ", ".join(f"{k}={v[0]}" for k, v in online.items() if k != "passenger_key"))

    query = (
        "select carrier, round(avg(dep_delay_avg_7d), 2) as avg_dep_delay_7d, sum(flights_7d) / 7 as flights "
        "from gold.carrier_delay_7d group by 1 order by 2 desc limit 5"
    )
    click.echo(f'   featurelake sql "{query}"')
    lake_sql.render(lake_sql.query(query, catalog), "table")
    from featurelake.quality.docs import gx_root

    click.echo(f"   Data Docs: {gx_root(catalog.settings)}/gx/uncommitted/data_docs/local_site/index.html")
    from featurelake.docs_site import build_site

    click.echo(f"   catalog site: {build_site(catalog=catalog)} (featurelake docs --serve serves it)")
