"""``featurelake monitor``: freshness, quality, drift, performance and skew for one day, with a report."""

from __future__ import annotations

import datetime as dt

import click

from featurelake.cli import UtcTime, friendly, main, working


@main.command("monitor")
@click.option(
    "--date",
    "day",
    type=UtcTime(days_only=True),
    help="UTC day D to monitor (windows end with it). Default: the newest event_date of "
    "gold.flight_labels (today when it has none).",
)
@click.option("--no-fail", is_flag=True, help="Exit 0 even when a check is breached.")
@friendly
def monitor(day: dt.date | None, no_fail: bool) -> None:
    """Check the lake and the delay model against monitor.toml; exit 1 on any breach.

    Appends every check to ops.monitor_<kind>, prints one line per breach and the path of the
    report (<lake>/monitor/<D>/index.html).
    """
    from featurelake.monitor import run_monitor

    with working("monitoring"):
        result = run_monitor(day)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    checked = len(result.checks)
    if result.breaches:
        click.echo(f"monitor {result.date}: {len(result.breaches)} of {checked} checks breached")
        for breach in result.breaches:
            click.echo(breach.message)
    else:
        click.echo(f"monitor {result.date}: all {checked} checks ok")
    click.echo(f"report: {result.report}")
    if result.breaches and not no_fail:
        raise SystemExit(1)
