"""``featurelake cluster up | down | status``: a Spark standalone cluster on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from featurelake.cli import friendly, main

_RUN_DIR = click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for logs, PIDs and work dirs [default: <checkout>/.run/cluster].",
)


@main.group()
def cluster() -> None:
    """A Spark standalone cluster on this machine (master + workers) for the prod profile."""


@cluster.command()
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--cores", default=1, show_default=True, help="Cores each worker offers.")
@click.option("--memory", default="2g", show_default=True, help="Memory each worker offers (executors).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address every daemon binds.")
@click.option("--port", default=7077, show_default=True, help="Master port (spark://HOST:PORT).")
@click.option("--ui-port", default=8081, show_default=True, help="Master web UI port (Airflow has 8080).")
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for the workers.")
@_RUN_DIR
@friendly
def up(
    workers: int,
    cores: int,
    memory: str,
    host: str,
    port: int,
    ui_port: int,
    timeout: float,
    run_dir: Path | None,
) -> None:
    """Start the master and the workers; returns once every worker has registered."""
    from featurelake.cluster import ClusterSpec, cluster_up, default_run_dir

    spec = ClusterSpec(
        workers=workers,
        cores=cores,
        memory=memory,
        host=host,
        port=port,
        ui_port=ui_port,
        run_dir=run_dir or default_run_dir(),
    )
    from featurelake.cluster.standalone import load_state

    before = load_state(spec.run_dir)
    was_up = before is not None and before.master_running()
    state, master = cluster_up(spec, timeout=timeout)
    s = state.spec
    if was_up:
        click.echo(f"a cluster is already running from {s.run_dir}: nothing started")
    click.echo(f"Spark master:  {s.master_url}")
    click.echo(f"Master UI:     {s.ui_url}  (JSON: {s.ui_url}/json/)")
    click.echo(
        f"Workers:       {len(master.alive_workers)} alive, {master.cores} cores, "
        f"{master.memory_mb / 1024:.1f} GiB for executors"
    )
    click.echo(f"Logs, PIDs:    {s.run_dir}")
    click.echo(f"Use it:        export FEATURELAKE_PROFILE=prod FEATURELAKE_SPARK_MASTER={s.master_url}")


@cluster.command()
@_RUN_DIR
@friendly
def down(run_dir: Path | None) -> None:
    """Stop the workers (and their executors), then the master."""
    from featurelake.cluster import cluster_down

    stopped = cluster_down(run_dir)
    click.echo("stopped " + ", ".join(stopped) if stopped else "no cluster is running")


@cluster.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: a summary to read; json: the master's whole view as one JSON document.",
)
@_RUN_DIR
@friendly
def status(fmt: str, run_dir: Path | None) -> None:
    """Workers, cores, memory and running applications; exit status 1 when the cluster is down."""
    from dataclasses import asdict

    from featurelake.cluster import cluster_status

    state, master = cluster_status(run_dir)
    if state is None or master is None:
        where = f" (master {state.spec.master_url} not answering)" if state is not None else ""
        click.echo(f"no cluster is running{where}")
        sys.exit(1)
    if fmt == "json":
        doc = {"master_url": state.spec.master_url, "ui_url": state.spec.ui_url, **asdict(master)}
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"master   {state.spec.master_url}  {master.status}  UI {state.spec.ui_url}")
    click.echo(
        f"workers  {len(master.alive_workers)} alive; cores {master.cores_used}/{master.cores} used; "
        f"memory {master.memory_used_mb}/{master.memory_mb} MiB used"
    )
    for w in master.workers:
        click.echo(
            f"  {w.id:<40} {w.state:<6} cores {w.cores_used}/{w.cores}  "
            f"memory {w.memory_used_mb}/{w.memory_mb} MiB  {w.web_ui}"
        )
    click.echo(f"running applications: {len(master.active_apps)}")
    for a in master.active_apps:
        click.echo(f"  {a.id:<28} {a.name:<28} {a.state:<8} cores {a.cores:>3}  {a.duration_s:,.0f} s")
