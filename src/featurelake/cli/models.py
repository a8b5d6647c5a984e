"""Models: ``featurelake train delay``, ``featurelake score delay``, ``featurelake models``."""

from __future__ import annotations

import datetime as dt
import json

import click

from featurelake.cli import UtcTime, emit, format_option, friendly, listen_options, main, time_range, working
from featurelake.models.tracking import ModelVersion


def _print_documents(rows: list[dict[str, object]], fmt: str) -> None:
    """Rows whose values may be nested documents: JSON as is, CSV through :func:`emit`."""
    from featurelake.sql import json_text

    if fmt == "json":
        click.echo(json_text(rows, indent=1))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json_text(row))
    else:
        emit(
            rows,
            fmt,
            columns=[
                "name",
                "version",
                "aliases",
                "created",
                "auc",
                "log_loss",
                "train_from",
                "train_to",
                "feature_service",
                "run_id",
                "metrics",
                "lineage",
            ],
        )


def _month_floor_quarter(start: dt.date, end: dt.date) -> dt.date:
    """Default validation start: the first of the month three months before ``end`` (or the middle)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months >= 4:
        m = end.month - 3
        return dt.date(end.year + (m - 1) // 12, (m - 1) % 12 + 1, 1)
    return start + (end - start) / 2


@main.group("train")
def train() -> None:
    """Train a model from the feature store."""


@train.command("delay")
@time_range("days to train and validate on", days_only=True)
@click.option(
    "--valid-from",
    type=UtcTime(days_only=True),
    help="First validation day; earlier days train. Default: the last three months of the range.",
)
@click.option(
    "--seed", type=int, default=13, show_default=True, help="Random seed of the weights and the batch order."
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Passes over the training rows.",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Default: CUDA when available.")
@friendly
def train_delay(
    start: dt.date,
    end: dt.date,
    valid_from: dt.date | None,
    seed: int,
    epochs: int,
    device: str | None,
) -> None:
    """Train the delay model on [--from, --valid-from), validate on [--valid-from, --to)."""
    from featurelake.models.delay.train import Epoch, TrainConfig, train_delay_model

    s, e = start, end
    v = valid_from or _month_floor_quarter(s, e)
    if not s < v < e:
        raise click.BadParameter(f"{v} must lie inside ({s}, {e})", param_hint="'--valid-from'")

    def report(ep: Epoch) -> None:
        click.echo(
            f"epoch {ep.epoch}/{ep.epochs}: train loss {ep.train_loss:.4f}, holdout log loss "
            f"{ep.holdout_log_loss:.4f}, holdout ROC AUC {ep.holdout_auc:.4f} ({ep.seconds:.1f} s)",
            err=True,
        )

    click.echo(f"reading labelled flights {s}..{e} through the feature store", err=True)
    result = train_delay_model(
        s,
        e,
        valid_from=v,
        config=TrainConfig(seed=seed, epochs=epochs, device=device),
        on_epoch=report,
    )
    click.echo(
        f"trained delay version {result.version} ({result.alias}) on {s}..{v}, validated on {v}..{e}; "
        f"MLflow run {result.run_id}"
    )
    click.echo(f"{'':22}{'ROC AUC':>9}{'log loss':>10}")
    for name, m in result.metrics["validation"].items():
        click.echo(f"{name:22}{m['auc']:9.4f}{m['log_loss']:10.4f}")
    verdict = "beats" if result.metrics["model_beats_baselines"] else "does NOT beat"
    click.echo(f"the model {verdict} both baselines on ROC AUC ({result.metrics['seconds']} s)")


@main.group("score")
def score() -> None:
    """Score with a trained model."""


@score.command("delay")
@click.option("--date", "day", required=True, type=UtcTime(days_only=True), help="UTC day to score.")
@click.option("--model-version", "version", help="Model version (a number) or alias (default: the champion).")
@friendly
def score_delay(day: dt.date, version: str | None) -> None:
    """Write that day's predictions to gold.delay_predictions (replacing any earlier set)."""
    from featurelake.models.delay.score import score_date

    with working(f"scoring the flights of {day}"):
        n = score_date(day, version=version)
    click.echo(f"gold.delay_predictions: {n:,} predictions for {day}")


def _version_row(v: ModelVersion, fmt: str) -> dict[str, object]:
    model = v.metrics.get("validation", {}).get("model", {})
    return {
        "name": v.name,
        "version": v.version,
        "aliases": ",".join(v.aliases),
        "created": v.created.isoformat(timespec="seconds"),
        "auc": model.get("auc"),
        "log_loss": model.get("log_loss"),
        "train_from": v.lineage.get("train_range", [None, None])[0],
        "train_to": v.lineage.get("train_range", [None, None])[1],
        "feature_service": v.lineage.get("feature_service"),
        "run_id": v.run_id,
        # nested documents stay whole in JSON, as text in CSV
        "metrics": v.metrics if fmt.startswith("json") else json.dumps(v.metrics),
        "lineage": v.lineage if fmt.startswith("json") else json.dumps(v.lineage),
    }


def _describe(v: ModelVersion) -> str:
    m = v.metrics.get("validation", {}).get("model", {})
    tables = ", ".join(f"{t}@v{n}" for t, n in sorted(v.lineage.get("tables", {}).items()))
    aliases = f" @{' @'.join(v.aliases)}" if v.aliases else ""
    train = v.lineage.get("train_range", ["?", "?"])
    return (
        f"{v.name} {v.version}{aliases}  auc={m.get('auc', float('nan')):.4f} "
        f"log_loss={m.get('log_loss', float('nan')):.4f}  train {train[0]}..{train[1]}  "
        f"service {v.lineage.get('feature_service', '?')}  tables {tables or '-'}"
    )


@main.group("models", invoke_without_command=True)
@format_option
@click.pass_context
@friendly
def models_cmd(ctx: click.Context, fmt: str) -> None:
    """List registered model versions, their aliases, metrics and lineage (from MLflow)."""
    if ctx.invoked_subcommand is not None:
        return
    from featurelake.models import list_versions

    versions = list_versions()
    if fmt != "table":
        _print_documents([_version_row(v, fmt) for v in versions], fmt)
        return
    if not versions:
        click.echo("no trained models yet: featurelake train delay --from 2013-01-01 --to 2014-01-01")
        return
    for v in versions:
        click.echo(_describe(v))


@models_cmd.command("promote")
@click.argument("version")
@click.option(
    "--to",
    "alias",
    required=True,
    type=click.Choice(["champion", "challenger"]),
    help="The alias to give the version.",
)
@click.option("--model", "name", default="delay", show_default=True, help="Registered model name.")
@friendly
def promote_cmd(version: str, alias: str, name: str) -> None:
    """Give VERSION (a number, or an alias) the champion or challenger alias."""
    from featurelake.models import promote

    v = promote(name, version, alias)  # type: ignore[arg-type]
    click.echo(f"{name} version {v.version} is now {alias}: {_describe(v)}")


@models_cmd.command("rollback")
@click.option("--model", "name", default="delay", show_default=True, help="Registered model name.")
@friendly
def rollback_cmd(name: str) -> None:
    """Give the champion alias back to the version that held it before the current champion."""
    from featurelake.models import rollback

    was, now = rollback(name)
    click.echo(f"{name}: champion rolled back from version {was} to version {now}")


@main.command("mlflow")
@listen_options(5000, "the MLflow UI")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Server workers.")
@friendly
def mlflow_ui(host: str, port: int, workers: int) -> None:
    """Serve the MLflow UI (runs, dataset inputs, registered models) on the lake's tracking store."""
    import os
    import sys

    from featurelake.config import get_settings
    from featurelake.models.tracking import artifact_root, tracking_uri

    settings = get_settings()
    uri = tracking_uri(settings)
    artifact_root(settings).mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--default-artifact-root",
        artifact_root(settings).as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    click.echo(f"MLflow UI on http://{host}:{port} (store {uri}); Ctrl-C stops it", err=True)
    os.execv(sys.executable, command)
