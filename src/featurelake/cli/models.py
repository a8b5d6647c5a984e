"""Models: ``featurelake train delay``, ``featurelake score delay``, ``featurelake models``."""

from __future__ import annotations

import datetime as dt
import json

import click

from featurelake.cli import UtcTime, emit, format_option, friendly, main, time_range, working


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
                "path",
                "auc",
                "log_loss",
                "train_from",
                "train_to",
                "feature_service",
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
    click.echo(f"trained delay {result.version} on {s}..{v}, validated on {v}..{e}  ->  {result.path}")
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
@click.option("--model-version", "version", help="Model version (default: the latest).")
@friendly
def score_delay(day: dt.date, version: str | None) -> None:
    """Write that day's predictions to gold.delay_predictions (replacing any earlier set)."""
    from featurelake.models.delay.score import score_date

    with working(f"scoring the flights of {day}"):
        n = score_date(day, version=version)
    click.echo(f"gold.delay_predictions: {n:,} predictions for {day}")


@main.command("models")
@format_option
@friendly
def models_cmd(fmt: str) -> None:
    """List trained model versions with their validation metrics and lineage (json: all of them)."""
    from featurelake.models import list_models

    versions = list_models()
    if fmt != "table":
        rows = [
            {
                "name": v.name,
                "version": v.version,
                "path": str(v.path),
                "auc": v.metrics["validation"]["model"]["auc"],
                "log_loss": v.metrics["validation"]["model"]["log_loss"],
                "train_from": v.lineage["train_range"][0],
                "train_to": v.lineage["train_range"][1],
                "feature_service": v.lineage["feature_service"],
                # nested documents stay whole in JSON, as text in CSV
                "metrics": v.metrics if fmt.startswith("json") else json.dumps(v.metrics),
                "lineage": v.lineage if fmt.startswith("json") else json.dumps(v.lineage),
            }
            for v in versions
        ]
        _print_documents(rows, fmt)
        return
    if not versions:
        click.echo("no trained models yet: featurelake train delay --from 2013-01-01 --to 2014-01-01")
        return
    for v in versions:
        m = v.metrics["validation"]["model"]
        tables = ", ".join(f"{t}@v{n}" for t, n in sorted(v.lineage.get("tables", {}).items()))
        click.echo(
            f"{v.name} {v.version}  auc={m['auc']:.4f} log_loss={m['log_loss']:.4f}  "
            f"train {v.lineage['train_range'][0]}..{v.lineage['train_range'][1]}  "
            f"service {v.lineage['feature_service']}  tables {tables}"
        )
