"""Ingestion commands: produce, ingest, quarantine (and replay), quality docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from featurelake.cli import friendly, main

if TYPE_CHECKING:
    from featurelake.ingest.batch import BatchReport

_DATASETS = click.Choice(["flights", "weather"])


@main.group()
def produce() -> None:
    """Land Avro event files in the landing zone (real replay or synthetic)."""


def _replay_command(dataset: str) -> None:
    @produce.command(
        name=dataset, help=f"Replay the real {dataset} events of [--from, --to) in event-time order."
    )
    @click.option("--from", "start", required=True, help="First event time included (UTC date or ISO time).")
    @click.option("--to", "end", required=True, help="First event time excluded (UTC).")
    @click.option("--records-per-file", type=int, default=5000, show_default=True)
    @click.option("--rate", type=float, help="Pace the files at this many events per second.")
    @click.option("--codec", type=click.Choice(["deflate", "null"]), default="deflate", show_default=True)
    @friendly
    def command(start: str, end: str, records_per_file: int, rate: float | None, codec: str) -> None:
        from featurelake.ingest.producers import produce_replay

        r = produce_replay(dataset, start, end, records_per_file=records_per_file, rate=rate, codec=codec)
        folder = r.files[0].parent if r.files else "-"
        click.echo(f"{dataset}: {r.events:,} events in {len(r.files)} files -> {folder}")


_replay_command("flights")
_replay_command("weather")


@produce.command()
@click.option("--dataset", type=_DATASETS, required=True)
@click.option("--events", type=int, required=True, help="Records in readable files.")
@click.option(
    "--bad-rate", type=float, default=0.0, show_default=True, help="Share of bad records and files."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--records-per-file", type=int, default=10_000, show_default=True)
@friendly
def synthetic(dataset: str, events: int, bad_rate: float, seed: int, records_per_file: int) -> None:
    """Synthetic events with the real schema, any volume, bad input mixed in."""
    from featurelake.ingest.synthetic import produce_synthetic

    r = produce_synthetic(dataset, events, bad_rate=bad_rate, seed=seed, records_per_file=records_per_file)
    click.echo(
        f"{dataset}: {r.records:,} records in {len(r.files)} files; expect bronze {r.good:,}, "
        f"quarantine {r.quarantined:,} ({dict(r.bad_records) | dict(r.bad_files)}), "
        f"{r.duplicate_files} duplicate file(s)"
    )


def _print_batch(b: BatchReport) -> None:
    dates = f" dates {b.event_dates[0]}..{b.event_dates[-1]}" if b.event_dates else ""
    click.echo(
        f"batch {b.batch_id}: {b.files} files "
        f"({b.files_quarantined} quarantined, {b.duplicate_files} duplicate), "
        f"{b.records_in:,} in = {b.bronze_rows:,} bronze + {b.quarantined_rows:,} quarantined, "
        f"{b.warned_rows:,} warned,{dates} in {b.duration_s:.1f}s"
        + ("" if b.written else " (already written)")
    )


@main.command()
@click.argument("dataset", type=_DATASETS)
@click.option("--once", "mode", flag_value="once", default=True, help="Ingest what has landed, then stop.")
@click.option("--continuous", "mode", flag_value="continuous", help="Keep ingesting until stopped.")
@click.option("--interval", type=float, default=5.0, show_default=True, help="Seconds between polls.")
@click.option("--max-files-per-batch", type=int, help="Files per micro-batch (default: all).")
@click.option("--timeout", type=float, help="Stop --continuous after this many seconds.")
@click.option(
    "--data-docs/--no-data-docs", default=True, show_default=True, help="Build GX Data Docs after --once."
)
@click.option(
    "--expectations", type=click.Path(file_okay=False), help="Suites folder (default: expectations/)."
)
@click.option("--schemas", type=click.Path(file_okay=False), help="Avro schemas folder (default: schemas/).")
@click.option(
    "--online-features/--no-online-features",
    default=None,
    help="Push carrier_delay_1h online and offline after each batch (default: flights --continuous).",
)
@friendly
def ingest(
    dataset: str,
    mode: str,
    interval: float,
    max_files_per_batch: int | None,
    timeout: float | None,
    data_docs: bool,
    expectations: str | None,
    schemas: str | None,
    online_features: bool | None,
) -> None:
    """Ingest landing/DATASET into bronze.DATASET (quarantine for what fails), exactly once."""
    from featurelake.ingest.stream import run_ingest

    on_batch = _print_batch
    if online_features or (online_features is None and dataset == "flights" and mode == "continuous"):
        from featurelake.features.streaming import CarrierDelay1h  # issue 5: streaming features

        hook = CarrierDelay1h()

        def on_batch(b: BatchReport) -> None:
            _print_batch(b)
            hook(b)

    run = run_ingest(
        dataset,
        mode="continuous" if mode == "continuous" else "once",
        interval_s=interval,
        max_files_per_batch=max_files_per_batch,
        timeout_s=timeout,
        expectations=expectations,
        schemas=schemas,
        on_batch=on_batch,
    )
    t = run.totals
    click.echo(
        f"{dataset}: {len(run.batches)} batches, {t['files']} files, {t['records_in']:,} records in = "
        f"{t['bronze_rows']:,} bronze + {t['quarantined_rows']:,} quarantined"
    )
    if data_docs and mode == "once" and run.batches:
        from featurelake.quality.docs import build_data_docs

        docs = build_data_docs(dataset, expectations=expectations, schemas=schemas)
        agree = "agrees" if not docs.disagreements else f"DISAGREES on {', '.join(docs.disagreements)}"
        click.echo(f"data docs: {docs.index} (GX {agree} with featurelake on {docs.rows:,} records)")


@main.group(invoke_without_command=True)
@click.option("--dataset", type=_DATASETS, help="Only this dataset.")
@click.option("--reason", help="Only this reason code.")
@click.option("--samples", type=int, default=3, show_default=True, help="Sample rows per reason.")
@click.pass_context
@friendly
def quarantine(ctx: click.Context, dataset: str | None, reason: str | None, samples: int) -> None:
    """Summarise quarantine.records by reason, with samples."""
    if ctx.invoked_subcommand is not None:
        return
    from featurelake.ingest.quarantine import summarize_quarantine

    s = summarize_quarantine(dataset=dataset, reason=reason, samples=samples)
    if not s.counts:
        click.echo("quarantine is empty" + (" for that selection" if dataset or reason else ""))
        return
    width = max(len(r) for _, r, _, _ in s.counts)
    click.echo(f"{'dataset':8}  {'reason':{width}}  {'pending':>8}  {'replayed':>8}")
    for d, r, pending, replayed in s.counts:
        click.echo(f"{d:8}  {r:{width}}  {pending:>8,}  {replayed:>8,}")
    for (d, r), rows in s.samples.items():
        for row in rows:
            what = row["record_json"] or f"whole file ({row['detail']})"
            click.echo(f"  {d}/{r}: {row['source_file']} #{row['record_index']}: {what}")


@quarantine.command()
@click.option("--dataset", type=_DATASETS, required=True)
@click.option("--reason", required=True, help="Replay the pending rows quarantined for this reason.")
@click.option(
    "--expectations", type=click.Path(file_okay=False), help="Suites folder (default: expectations/)."
)
@click.option("--schemas", type=click.Path(file_okay=False), help="Avro schemas folder (default: schemas/).")
@friendly
def replay(dataset: str, reason: str, expectations: str | None, schemas: str | None) -> None:
    """Re-ingest quarantined rows after a fix (rows that now pass go to bronze, exactly once)."""
    from featurelake.ingest.quarantine import replay_quarantine

    r = replay_quarantine(dataset, reason, expectations=expectations, schemas=schemas)
    if r.recovered:
        click.echo("finished an interrupted earlier replay first")
    click.echo(
        f"replay {r.replay_id} of {dataset}/{reason}: {r.candidates:,} pending rows, "
        f"{r.replayed:,} replayed, "
        f"{r.bronze_rows:,} rows to bronze, {r.still_quarantined:,} still quarantined"
    )


@main.group()
def quality() -> None:
    """Great Expectations: Data Docs and the GX cross-check."""


@quality.command()
@click.option("--dataset", type=_DATASETS, required=True)
@click.option("--batch", type=int, help="Ingest batch id (default: the latest).")
@click.option("--sample", type=int, default=10_000, show_default=True, help="Records to validate (0: all).")
@friendly
def docs(dataset: str, batch: int | None, sample: int) -> None:
    """Validate an ingest batch with GX and build the Data Docs under <lake>/quality/gx."""
    from featurelake.quality.docs import build_data_docs

    r = build_data_docs(dataset, batch=batch, sample=sample or None)
    click.echo(f"data docs: {r.index} ({r.rows:,} records)")
    for name in sorted(r.gx):
        ok, n = r.gx[name]
        mark = "" if r.ours.get(name) == (ok, n) else f"   featurelake says {r.ours.get(name)}"
        click.echo(f"  {'ok  ' if ok else 'FAIL'} {name}: {n} unexpected{mark}")
