"""Airflow: ``featurelake airflow`` (what ``make airflow`` runs)."""

from __future__ import annotations

import os
import shutil

import click

from featurelake.cli import friendly, main
from featurelake.errors import ConfigError


@main.command("airflow")
@click.option("--port", type=int, help="UI port (default FEATURELAKE_AIRFLOW_PORT or 8080).")
@click.option("--print-env", is_flag=True, help="Print the environment as shell exports and exit.")
@friendly
def airflow_cmd(port: int | None, print_env: bool) -> None:
    """Start Airflow standalone on featurelake's DAGs; prints the UI address and login."""
    from featurelake.config import get_settings
    from featurelake.orchestration.environment import ADMIN_USER, admin_password, airflow_env

    settings = get_settings()
    if port is not None:
        settings = settings.model_copy(update={"airflow_port": port})
    env = airflow_env(settings)
    if print_env:
        for key in sorted(k for k in env if k.startswith(("AIRFLOW", "FEATURELAKE", "PYSPARK"))):
            click.echo(f"export {key}='{env[key]}'")
        return
    airflow = shutil.which("airflow", path=env["PATH"])
    if airflow is None:
        raise ConfigError("the airflow command is not installed in this environment; run `make setup`")
    click.echo(f"Airflow home:   {settings.airflow_home}")
    click.echo(f"Metadata DB:    {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('@')[-1]}")
    click.echo(f"DAGs:           {env['AIRFLOW__CORE__DAGS_FOLDER']}")
    click.echo(f"Airflow UI:     http://127.0.0.1:{settings.airflow_port}")
    click.echo(f"Log in as:      {ADMIN_USER} / {admin_password(settings.airflow_home)}")
    click.echo("(the password is kept in simple_auth_manager_passwords.json in the Airflow home)")
    os.execve(airflow, [airflow, "standalone"], env)
