"""Feature store commands: ``featurelake features ...`` (apply, materialize, materialize-incremental,
skew, training-set) and ``featurelake serve``."""

from __future__ import annotations

import datetime as dt
import json

import click

from featurelake.cli import UtcTime, friendly, listen_options, main, time_range

_JUST_BEFORE = dt.timedelta(microseconds=1)
"""Feast's materialization includes its end time; the CLI's ranges exclude it."""


def _utc(value: dt.date) -> dt.datetime:
    t = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return t.replace(tzinfo=dt.UTC)


@main.group()
def features() -> None:
    """Feast over the gold tables: register, materialize, check skew, build training sets."""


@features.command()
@click.option("--no-yaml", is_flag=True, help="Do not (re)write the lake's feast/feature_store.yaml.")
@friendly
def apply(no_yaml: bool) -> None:
    """Register the feature repository for this profile and lake (and write the lake's feature_store.yaml)."""
    from featurelake.features import apply as do_apply
    from featurelake.features import write_feature_store_yaml
    from featurelake.features.store import feast_command

    defs = do_apply()
    click.echo(
        f"applied {len(defs.entities)} entities, {len(defs.feature_views)} feature views, "
        f"{len(defs.feature_services)} feature service(s)"
    )
    if not no_yaml:
        path = write_feature_store_yaml()
        click.echo(f"wrote {path}; plain Feast: {feast_command(path, '<command>')}")


def _print_stats(stats: dict[str, dict[str, float]]) -> None:
    for view, s in stats.items():
        click.echo(
            f"{view:20s} rows {int(s['rows']):>9,}  written {int(s['written']):>9,}  "
            f"query {s['query_s']:.2f}s  encode {s['encode_s']:.2f}s  write {s['write_s']:.2f}s"
        )


@features.command()
@time_range("event times to load")
@click.option("--view", "views", multiple=True, help="Only this feature view (repeatable).")
@friendly
def materialize(start: dt.date, end: dt.date, views: tuple[str, ...]) -> None:
    """Load the latest feature values with event times in [--from, --to) into the online store."""
    from featurelake.cli._progress import materialize_bar  # imports Feast: only when it runs
    from featurelake.features import materialize as do

    with materialize_bar("materializing the online store") as bar:
        stats = do(_utc(start), _utc(end) - _JUST_BEFORE, views=views or None, reporter=bar)
    _print_stats(stats)


@features.command("materialize-incremental")
@click.option(
    "--to",
    "end",
    type=UtcTime(),
    required=True,
    help="Serve the values with event times before this UTC day or time (excluded).",
)
@click.option("--view", "views", multiple=True, help="Only this feature view (repeatable).")
@friendly
def materialize_incremental(end: dt.date, views: tuple[str, ...]) -> None:
    """Push only the entities whose gold rows changed since the last run (from Delta's change feed).

    The first run of a view pushes every entity; later runs read the gold table's change
    data feed from the version the last run recorded.
    """
    from featurelake.cli._progress import materialize_bar
    from featurelake.features.incremental import materialize_changes

    with materialize_bar("materializing what changed") as bar:
        stats = materialize_changes(
            (_utc(end) - _JUST_BEFORE).replace(tzinfo=None), views=views or None, reporter=bar
        )
    _print_stats(stats)
    for view, s in stats.items():
        how = "all entities" if s.get("full") else f"{int(s.get('changed_entities', 0)):,} changed entities"
        click.echo(f"{view:20s} {how}, gold table version {int(s.get('table_version', -1))}")


@features.command()
@click.option(
    "--sample",
    "sample_size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Entity keys sampled per view.",
)
@click.option("--service", default="delay_model_v1", show_default=True, help="Feature service to check.")
@click.option("--seed", default=0, show_default=True, help="Sampling seed.")
@friendly
def skew(sample_size: int, service: str, seed: int) -> None:
    """Compare online values with offline point-in-time values; exit 1 on any mismatch."""
    from featurelake.features import check_skew

    report = check_skew(sample_size, service, seed=seed)
    click.echo(
        f"checked {report.checked_entities} entities, {report.checked_values} values; "
        f"{len(report.mismatches)} mismatch(es)"
    )
    for m in report.mismatches[:20]:
        click.echo(f"  {m.view} {m.key} {m.feature}: online={m.online!r} offline={m.offline!r}")
    if not report.ok:
        raise SystemExit(1)


@features.command("training-set")
@click.option("--labels", default="gold.flight_labels", show_default=True, help="Label table of entity rows.")
@click.option("--service", default="delay_model_v1", show_default=True, help="Feature service.")
@time_range("label rows' event_timestamp", required=False)
@click.option("--where", help="Extra SQL filter on the label table.")
@click.option("--output", "output", required=True, help="Parquet file to write.")
@friendly
def training_set(
    labels: str, service: str, start: dt.date | None, end: dt.date | None, where: str | None, output: str
) -> None:
    """Write a point-in-time correct training set to a Parquet file (streamed: the set is never
    held in memory whole)."""
    import pyarrow.parquet as pq

    from featurelake.features import write_training_set

    rows = write_training_set(
        output,
        labels,
        service,
        start=_utc(start) if start is not None else None,
        end=_utc(end) if end is not None else None,
        where=where,
    )
    columns = pq.ParquetFile(output).metadata.num_columns
    click.echo(json.dumps({"rows": rows, "columns": columns, "output": output}))


@main.command()
@listen_options(6566, "Feast's default")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes sharing the port."
)
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Serve online features (POST /get-online-features, Feast's request and response) and delay
    predictions (POST /predict: the champion answers; FEATURELAKE_CHALLENGER_MODE=shadow|canary)."""
    from featurelake.features.server import serve as run

    click.echo(
        f"serving online features on http://{host}:{port}/get-online-features and predictions on "
        f"http://{host}:{port}/predict",
        err=True,
    )
    run(host, port, workers=workers)


@features.command()
@listen_options(8888, "the Feast UI's default")
@friendly
def ui(host: str, port: int) -> None:
    """Feast's web UI over this lake's registry: views, entities, sources, services, lineage."""
    from featurelake.features import feature_store

    store = feature_store()
    click.echo(f"Feast UI on http://{host}:{port}/p/{store.project} (Ctrl-C stops it)", err=True)
    store.serve_ui(host=host, port=port)
