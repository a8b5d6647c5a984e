"""Ingestion commands: produce, ingest, quarantine (and replay), quality docs."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal

import click

from featurelake.cli import emit, format_option, friendly, main, run_mode, time_range, working

if TYPE_CHECKING:
    from featurelake.ingest.batch import BatchReport
    from featurelake.ingest.kafka_producer import KafkaProduceResult
    from featurelake.ingest.synthetic import SyntheticResult

_DATASETS = click.Choice(["flights", "weather", "bookings"])
_MAX_SCALE = 443
"""featurelake.ingest.scaled.MAX_SCALE, without importing numpy for every command's --help."""


@main.group()
def produce() -> None:
    """Publish events: Avro files in the landing zone, or one Kafka message per event (--sink kafka)."""


_SINKS = ("landing", "kafka")

_SINK = click.option(
    "--sink",
    type=click.Choice(_SINKS),
    default="landing",
    show_default=True,
    help="landing: Avro files in landing/DATASET; kafka: one message per event on the DATASET topic "
    "of FEATURELAKE_KAFKA_BOOTSTRAP.",
)
_RATE = click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), help="Pace the events at this many per second."
)


def _print_kafka(r: KafkaProduceResult) -> None:
    bad = sum(r.bad.values())
    kinds = f" ({', '.join(f'{k} {n:,}' for k, n in sorted(r.bad.items()))})" if bad else ""
    click.echo(
        f"{r.dataset}: {r.messages:,} messages -> Kafka {r.bootstrap} topic {r.topic}: "
        f"{r.good:,} good, {bad:,} bad{kinds}, in {r.duration_s:.1f} s"
    )


def _replay_command(dataset: str, what: str) -> None:
    @produce.command(
        name=dataset,
        help=f"Replay {what} of [--from, --to) in event-time order (default: all of "
        "them) into the landing zone, or with --sink kafka as Kafka messages.",
    )
    @time_range(
        "events to replay",
        required=False,
        default_from="2013-01-01",
        default_to="2014-01-02, after the last event of 2013 (its last evening is 2014-01-01 in UTC)",
    )
    @_SINK
    @click.option(
        "--records-per-file",
        type=click.IntRange(min=1),
        default=5000,
        show_default=True,
        help="Landing: events per Avro file.",
    )
    @_RATE
    @click.option(
        "--codec",
        type=click.Choice(["deflate", "null"]),
        default="deflate",
        show_default=True,
        help="Landing: the Avro files' compression codec.",
    )
    @click.option(
        "--bad-rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        show_default=True,
        help="Kafka only: share of events sent as bad messages (junk bytes, truncated Avro, wrong schema).",
    )
    @click.option("--seed", type=int, default=0, show_default=True, help="Kafka only: which events go bad.")
    @friendly
    def command(
        start: dt.date | None,
        end: dt.date | None,
        sink: str,
        records_per_file: int,
        rate: float | None,
        codec: str,
        bad_rate: float,
        seed: int,
    ) -> None:
        if sink == "kafka":
            from featurelake.ingest.kafka_producer import produce_replay_to_kafka

            _print_kafka(
                produce_replay_to_kafka(dataset, start, end, rate=rate, bad_rate=bad_rate, seed=seed)
            )
            return
        if bad_rate:
            raise click.UsageError("--bad-rate needs --sink kafka; `produce synthetic` lands bad files")
        from featurelake.ingest.producers import REPLAY_RANGE, produce_replay

        r = produce_replay(
            dataset,
            start or REPLAY_RANGE[0],
            end or REPLAY_RANGE[1],
            records_per_file=records_per_file,
            rate=rate,
            codec=codec,
        )
        folder = r.files[0].parent if r.files else "-"
        click.echo(f"{dataset}: {r.events:,} events in {len(r.files)} files -> {folder}")


_replay_command("flights", "the real flight events")
_replay_command("weather", "the real weather events")
_replay_command("bookings", "the reference passenger bookings (synthetic people, seed 13, personal data)")


@produce.command()
@click.option(
    "--dataset",
    type=_DATASETS,
    help="Which dataset's schema the events follow; with --scale, only this dataset (flights or weather).",
)
@click.option("--events", type=click.IntRange(min=1), help="Records in readable files, or messages.")
@click.option(
    "--scale",
    type=click.IntRange(1, _MAX_SCALE),
    help="Land a whole synthetic 2013 K times the reference volume instead: 3K origins, "
    "K x 336,776 flights and hourly weather at every origin, day by day.",
)
@click.option(
    "--bad-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of bad records and files (landing) or of bad messages (kafka).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed: the same seed, the same events."
)
@click.option(
    "--records-per-file",
    type=click.IntRange(min=1),
    help="Landing: events per Avro file (default 10,000); with --scale the most per file, "
    "each day split evenly (default 5,000).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="With --scale: processes generating days (default: one per core).",
)
@_SINK
@_RATE
@friendly
def synthetic(
    dataset: str | None,
    events: int | None,
    scale: int | None,
    bad_rate: float,
    seed: int,
    records_per_file: int | None,
    workers: int | None,
    sink: str,
    rate: float | None,
) -> None:
    """Synthetic events with the real schema, any volume, bad input mixed in.

    With --scale K, a whole synthetic 2013 K times the reference volume instead, with the
    same schemas and bad input (ingest one with K > 1 under FEATURELAKE_ORIGINS=airports).
    """
    if scale is not None:
        _scaled(scale, dataset, events, bad_rate, seed, records_per_file, workers, sink, rate)
        return
    if dataset is None or events is None:
        raise click.UsageError("give --dataset and --events, or --scale K for a whole synthetic year")
    if workers is not None:
        raise click.UsageError("--workers needs --scale")
    if sink == "kafka":
        from featurelake.ingest.kafka_producer import produce_synthetic_to_kafka

        _print_kafka(produce_synthetic_to_kafka(dataset, events, rate=rate, bad_rate=bad_rate, seed=seed))
        return
    if rate is not None:
        raise click.UsageError("--rate needs --sink kafka")
    from featurelake.ingest.synthetic import produce_synthetic

    r = produce_synthetic(
        dataset, events, bad_rate=bad_rate, seed=seed, records_per_file=records_per_file or 10_000
    )
    _print_synthetic(r)


def _print_synthetic(r: SyntheticResult) -> None:
    click.echo(
        f"{r.dataset}: {r.records:,} records in {len(r.files)} files; expect bronze {r.good:,}, "
        f"quarantine {r.quarantined:,} ({dict(r.bad_records) | dict(r.bad_files)}), "
        f"{r.duplicate_files} duplicate file(s)"
    )


def _scaled(
    scale: int,
    dataset: str | None,
    events: int | None,
    bad_rate: float,
    seed: int,
    records_per_file: int | None,
    workers: int | None,
    sink: str,
    rate: float | None,
) -> None:
    extra = {"--events": events is not None, "--sink kafka": sink == "kafka", "--rate": rate is not None}
    for flag, given in extra.items():
        if given:
            raise click.UsageError(f"--scale makes a whole year of landing files: drop {flag}")
    if dataset == "bookings":
        raise click.UsageError("--scale makes flights and weather; bookings stay the reference passengers'")
    import time

    from featurelake.config import get_settings
    from featurelake.ingest.scaled import DATASETS, produce_scaled, scaled_world

    settings = get_settings()
    started = time.perf_counter()
    results = produce_scaled(
        scale,
        seed=seed,
        bad_rate=bad_rate,
        records_per_file=records_per_file or 5000,
        settings=settings,
        datasets=(dataset,) if dataset else DATASETS,
        workers=workers,
    )
    seconds = time.perf_counter() - started
    for r in results.values():
        _print_synthetic(r)
    landed = sum(r.records for r in results.values())
    click.echo(f"scale {scale}: {landed:,} events in {seconds:.1f} s, {landed / seconds:,.0f} events/s")
    origins = set(scaled_world(scale, seed=seed).origins)
    if not origins <= settings.origin_airports:
        click.echo(
            f"hint: its {len(origins):,} origins are outside FEATURELAKE_ORIGINS={settings.origins}; "
            "ingest it with FEATURELAKE_ORIGINS=airports, or its flights and weather are quarantined"
        )


def _print_batch(b: BatchReport) -> None:
    dates = f" dates {b.event_dates[0]}..{b.event_dates[-1]}" if b.event_dates else ""
    if b.offsets is not None:
        read = ", ".join(
            f"{topic}/{p} {first}..{last}"
            for topic, parts in sorted(b.offsets.items())
            for p, (first, last) in sorted(parts.items(), key=lambda kv: int(kv[0]))
        )
        source = f"offsets {read or 'none'}, "
    else:
        source = f"{b.files} files ({b.files_quarantined} quarantined, {b.duplicate_files} duplicate), "
    click.echo(
        f"batch {b.batch_id}: {source}"
        f"{b.records_in:,} in = {b.bronze_rows:,} bronze + {b.quarantined_rows:,} quarantined, "
        f"{b.warned_rows:,} warned,{dates} in {b.duration_s:.1f}s"
        + ("" if b.written else " (already written)")
    )


class _Polls:
    """Say when the continuous query starts, then how long it has found nothing new.

    On a terminal a status line counts the idle seconds at every poll; piped, a line a
    minute. ``batch()`` (called with each batch line) resets the count.
    """

    def __init__(self, app: str, dataset: str, every: float) -> None:
        import sys
        import threading
        import time

        from pyspark.sql.streaming import StreamingQueryListener

        from featurelake.spark import get_spark

        self.dataset, self.every, self.tty = dataset, every, sys.stderr.isatty()
        self.since: float | None = None  # when the query started or last wrote a batch
        self.said = 0.0
        self.status = False
        self.lock = threading.Lock()
        polls = self

        class Started(StreamingQueryListener):
            def onQueryStarted(self, event: Any) -> None:
                click.echo(
                    f"{dataset}: query {event.name} started; waiting for data (Ctrl-C stops)", err=True
                )
                polls.since = time.monotonic()

            def onQueryProgress(self, event: Any) -> None:
                pass

            def onQueryTerminated(self, event: Any) -> None:
                polls.since = None

        self.spark = get_spark(app)
        self.listener = Started()
        self.spark.streams.addListener(self.listener)
        self.ended = threading.Event()
        threading.Thread(target=self._run, name="featurelake-polls", daemon=True).start()

    def batch(self) -> None:
        import time

        with self.lock:
            if self.status:  # the batch line replaces the idle status
                click.echo("\r\033[K", nl=False, err=True)
                self.status = False
            self.since = time.monotonic()

    def stop(self) -> None:
        """No more status: the query has ended (its summary follows on a clean line). The
        listener goes too: a later query in the same session (tests, a notebook) is not ours."""
        self.ended.set()
        with self.lock:
            self.since = None
            if self.status:
                click.echo("\r\033[K", nl=False, err=True)
                self.status = False
        try:
            self.spark.streams.removeListener(self.listener)
        except Exception:  # the session has stopped already
            pass

    def _run(self) -> None:
        import time

        while not self.ended.wait(self.every):
            with self.lock:
                since = self.since
                if since is None:
                    continue
                now = time.monotonic()
                working = self._working()
                what = "a batch running" if working else "no new data"
                line = f"{self.dataset}: {what} for {now - since:.0f} s"
                if self.tty:
                    click.echo(f"\r\033[K{line}", nl=False, err=True)
                    self.status = True
                elif not working and now - since >= 60 and now - self.said >= 60:
                    click.echo(line, err=True)
                    self.said = now

    def _working(self) -> bool:
        """Whether a query is processing data right now (Spark's own status of the trigger)."""
        try:
            return any(
                q.status.get("isTriggerActive") and q.status.get("isDataAvailable")
                for q in self.spark.streams.active
            )
        except Exception:  # the session is stopping: nothing to report
            return False


def _run_ingest(
    dataset: str,
    source: str,
    how: Literal["once", "continuous"],
    *,
    interval: float | None,
    max_files_per_batch: int | None,
    max_offsets_per_trigger: int | None,
    topic: str | None,
    timeout: float | None,
    expectations: str | None,
    schemas: str | None,
    on_batch: Any,
    online_query: bool,
) -> Any:
    """Run the ingest of ``source`` (with the online-features query beside a Kafka one)."""
    if source == "landing":
        from featurelake.ingest.stream import run_ingest

        return run_ingest(
            dataset,
            mode=how,
            interval_s=interval or 5.0,
            max_files_per_batch=max_files_per_batch,
            timeout_s=timeout,
            expectations=expectations,
            schemas=schemas,
            on_batch=on_batch,
        )
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.topics import topic_for

    running = None
    if online_query:
        from featurelake.features.online_stream import start_online_stream
        from featurelake.spark import get_spark

        spark = get_spark("featurelake-ingest-kafka")
        running = start_online_stream(spark, topic=topic or topic_for(dataset))
        click.echo(f"online features: {running.query.name} pushes carrier_delay_1h and origin_departures_1h")
    try:
        return run_kafka_ingest(
            dataset,
            mode=how,
            interval_s=interval or 1.0,
            max_offsets_per_trigger=max_offsets_per_trigger,
            topic=topic,
            timeout_s=timeout,
            expectations=expectations,
            schemas=schemas,
            on_batch=on_batch,
        )
    finally:
        if running is not None:
            running.stop()


class _IngestGroup(click.Group):
    """``featurelake ingest DATASET ...`` runs an ingest; ``featurelake ingest status`` reports."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_IngestGroup)
def ingest() -> None:
    """Ingest a dataset into bronze (`ingest DATASET`), or show every source's state (`ingest status`)."""


@ingest.command("run")
@click.argument("dataset", type=_DATASETS)
@click.option(
    "--source",
    type=click.Choice(["landing", "kafka"]),
    default="landing",
    show_default=True,
    help="Avro files in landing/DATASET, or the DATASET topic of FEATURELAKE_KAFKA_BOOTSTRAP.",
)
@run_mode(once="Ingest what has landed, then stop.", continuous="Keep ingesting until stopped.")
@click.option(
    "--interval", type=float, help="Seconds between micro-batches of --continuous [landing: 5, kafka: 1]."
)
@click.option("--max-files-per-batch", type=int, help="Landing: files per micro-batch (default: all).")
@click.option(
    "--max-offsets-per-trigger", type=int, help="Kafka: messages per micro-batch at most (default: all)."
)
@click.option(
    "--topic", help="Kafka: read this topic instead of DATASET's own (its messages must be DATASET's)."
)
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
    help=(
        "Keep carrier_delay_1h and origin_departures_1h fresh online and write their offline history "
        "(default: flights --continuous; from Kafka, the online values come from a query of their own)."
    ),
)
@friendly
def run(
    dataset: str,
    source: str,
    mode: str,
    interval: float | None,
    max_files_per_batch: int | None,
    max_offsets_per_trigger: int | None,
    topic: str | None,
    timeout: float | None,
    data_docs: bool,
    expectations: str | None,
    schemas: str | None,
    online_features: bool | None,
) -> None:
    """Ingest DATASET into bronze.DATASET (quarantine for what fails), exactly once."""
    on_batch = _print_batch
    features_on = online_features or (
        online_features is None and dataset == "flights" and mode == "continuous"
    )
    if features_on and dataset != "flights":
        raise click.UsageError("--online-features is for flights: the streaming features are flight features")
    # from Kafka, a query of its own keeps the online store fresh within seconds; the ingest hook
    # then writes the offline history only
    online_query = features_on and source == "kafka" and mode == "continuous"
    if features_on:
        from featurelake.features.streaming import CarrierDelay1h  # issue 5: streaming features

        hook = CarrierDelay1h(online=not online_query)

        def on_batch(b: BatchReport) -> None:
            _print_batch(b)
            hook(b)

    how: Literal["once", "continuous"] = "continuous" if mode == "continuous" else "once"
    if source == "kafka" and max_files_per_batch is not None:
        raise click.UsageError("--max-files-per-batch is for --source landing; use --max-offsets-per-trigger")
    if source == "landing" and (max_offsets_per_trigger is not None or topic is not None):
        raise click.UsageError("--max-offsets-per-trigger and --topic are for --source kafka")
    polls: _Polls | None = None
    if how == "continuous":
        from featurelake.config import get_settings
        from featurelake.ingest.topics import topic_for

        where = (
            f"topic {topic or topic_for(dataset)}"
            if source == "kafka"
            else str(get_settings().landing_dir / dataset)
        )
        every = interval or (1.0 if source == "kafka" else 5.0)
        click.echo(f"starting Spark, then watching {where} every {every:g} s", err=True)
        app = "featurelake-ingest-kafka" if source == "kafka" else "featurelake-ingest"
        polls = _Polls(app, dataset, every)
        reported = on_batch

        def on_batch(b: BatchReport) -> None:
            polls.batch()
            reported(b)

    try:
        result = _run_ingest(
            dataset,
            source,
            how,
            interval=interval,
            max_files_per_batch=max_files_per_batch,
            max_offsets_per_trigger=max_offsets_per_trigger,
            topic=topic,
            timeout=timeout,
            expectations=expectations,
            schemas=schemas,
            on_batch=on_batch,
            online_query=online_query,
        )
    finally:
        if polls is not None:
            polls.stop()
    t = result.totals
    files = f"{t['files']} files, " if source == "landing" else ""
    click.echo(
        f"{dataset} from {source}: {len(result.batches)} batches, {files}{t['records_in']:,} records in = "
        f"{t['bronze_rows']:,} bronze + {t['quarantined_rows']:,} quarantined"
    )
    if data_docs and mode == "once" and result.batches:
        from featurelake.quality.docs import build_data_docs

        docs = build_data_docs(dataset, expectations=expectations, schemas=schemas)
        agree = "agrees" if not docs.disagreements else f"DISAGREES on {', '.join(docs.disagreements)}"
        click.echo(f"data docs: {docs.index} (GX {agree} with featurelake on {docs.rows:,} records)")


@main.command("stream-silver")
@run_mode(once="Merge what bronze holds, then stop.", continuous="Keep merging until stopped.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between micro-batches.")
@click.option(
    "--watermark", default="1 hour", show_default=True, help="How long copies of an event count as copies."
)
@click.option("--timeout", type=float, help="Stop --continuous after this many seconds.")
@friendly
def stream_silver(mode: str, interval: float, watermark: str, timeout: float | None) -> None:
    """Keep silver.flights current from bronze.flights as a Delta stream (merge, latest ingest wins)."""
    from featurelake.ingest.silver_stream import SilverBatch, run_silver_stream

    def line(b: SilverBatch) -> None:
        days = f" dates {b.event_dates[0]}..{b.event_dates[-1]}" if b.event_dates else ""
        click.echo(
            f"batch {b.batch_id}: {b.rows_in:,} in = {b.merged:,} merged + {b.quarantined:,} quarantined,"
            f"{days} in {b.duration_s:.1f}s"
        )

    how: Literal["once", "continuous"] = "continuous" if mode == "continuous" else "once"
    batches = run_silver_stream(
        mode=how, interval_s=interval, watermark=watermark, timeout_s=timeout, on_batch=line
    )
    merged = sum(b.merged for b in batches)
    click.echo(f"silver.flights: {merged:,} merged in {len(batches)} batch(es)")


@main.group(invoke_without_command=True)
@click.option("--dataset", type=_DATASETS, help="Only this dataset.")
@click.option("--reason", help="Only this reason code.")
@click.option(
    "--samples", type=click.IntRange(min=0), default=3, show_default=True, help="Sample rows per reason."
)
@format_option
@click.pass_context
@friendly
def quarantine(ctx: click.Context, dataset: str | None, reason: str | None, samples: int, fmt: str) -> None:
    """Summarise quarantine.records by reason, with samples."""
    if ctx.invoked_subcommand is not None:
        return
    from featurelake.ingest.quarantine import summarize_quarantine

    s = summarize_quarantine(dataset=dataset, reason=reason, samples=samples)
    if fmt != "table":
        emit(
            [
                {"dataset": d, "reason": r, "pending": pending, "replayed": replayed}
                for d, r, pending, replayed in s.counts
            ],
            fmt,
            columns=["dataset", "reason", "pending", "replayed"],
        )
        return
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
@click.option("--dataset", type=_DATASETS, required=True, help="The dataset whose quarantine to replay.")
@click.option("--reason", required=True, help="Replay the pending rows quarantined for this reason.")
@click.option(
    "--expectations", type=click.Path(file_okay=False), help="Suites folder (default: expectations/)."
)
@click.option("--schemas", type=click.Path(file_okay=False), help="Avro schemas folder (default: schemas/).")
@friendly
def replay(dataset: str, reason: str, expectations: str | None, schemas: str | None) -> None:
    """Re-ingest quarantined rows after a fix (rows that now pass go to bronze, exactly once)."""
    from featurelake.ingest.quarantine import replay_quarantine

    with working(f"replaying quarantined {dataset} records"):
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
@click.option("--dataset", type=_DATASETS, required=True, help="The dataset whose ingest batch to validate.")
@click.option("--batch", type=int, help="Ingest batch id (default: the latest).")
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="Records to validate (0: all).",
)
@friendly
def docs(dataset: str, batch: int | None, sample: int) -> None:
    """Validate an ingest batch with GX and build the Data Docs under <lake>/quality/gx."""
    from featurelake.quality.docs import build_data_docs

    with working(f"validating {dataset} with Great Expectations and building Data Docs"):
        r = build_data_docs(dataset, batch=batch, sample=sample or None)
    click.echo(f"data docs: {r.index} ({r.rows:,} records)")
    for name in sorted(r.gx):
        ok, n = r.gx[name]
        mark = "" if r.ours.get(name) == (ok, n) else f"   featurelake says {r.ours.get(name)}"
        click.echo(f"  {'ok  ' if ok else 'FAIL'} {name}: {n} unexpected{mark}")


@ingest.command("status")
@click.option("--no-kafka", is_flag=True, help="Skip the Kafka sources (no broker is asked).")
@format_option
@friendly
def status(no_kafka: bool, fmt: str) -> None:
    """Each source's backlog (landing files waiting, Kafka consumer lag) and its last batch."""
    from featurelake.ingest.status import ingest_status

    sources = ingest_status(kafka=not no_kafka)
    if fmt != "table":
        emit(
            [
                {
                    "dataset": s.dataset,
                    "source": s.source,
                    "waiting": None if s.error is not None else s.waiting,
                    "lag": json.dumps(s.lag) if s.source != "landing" and s.error is None else None,
                    "error": s.error,
                    "last_batch": s.last_batch,
                    "last_finished": s.last_finished,
                    "last_records": s.last_records if s.last_batch is not None else None,
                }
                for s in sources
            ],
            fmt,
        )
        return
    for s in sources:
        if s.error is not None:
            waiting = f"unknown ({s.error})"
        elif s.source == "landing":
            waiting = f"{s.waiting:,} file(s) waiting"
        else:
            parts = " ".join(f"p{p}={n:,}" for p, n in sorted(s.lag.items(), key=lambda kv: int(kv[0])))
            waiting = f"lag {s.waiting:,} message(s)" + (f" ({parts})" if parts else " (no topic)")
        last = (
            f"last batch {s.last_batch} at {s.last_finished:%Y-%m-%d %H:%M:%S} UTC, "
            f"{s.last_records:,} records"
            if s.last_batch is not None and s.last_finished is not None
            else "no batch yet"
        )
        click.echo(f"{s.dataset:<8} {s.source:<8} {waiting}; {last}")
