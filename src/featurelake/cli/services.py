"""``featurelake services status | start | stop``: Redis, PostgreSQL and the Kafka broker on this machine."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from featurelake.cli import friendly, main

if TYPE_CHECKING:
    from featurelake.services import ServiceState

_NAMES = click.argument("names", nargs=-1, type=click.Choice(["redis", "postgres", "kafka"]))


def _print(states: list[ServiceState]) -> None:
    width = max(len(s.address) for s in states)
    for s in states:
        click.echo(f"{s.name:<9} {'up' if s.up else 'down':<5} {s.address:<{width}}  {s.detail}")


@main.group()
def services() -> None:
    """Redis, PostgreSQL and the Kafka broker (KRaft, data in .services/kafka) on 127.0.0.1."""


@services.command()
@_NAMES
@friendly
def status(names: tuple[str, ...]) -> None:
    """Each service's state and address (all three when none is named); exit status 1 when one is down."""
    from featurelake.services import status as service_status

    states = service_status(names or None)
    _print(states)
    if not all(s.up for s in states):
        sys.exit(1)


@services.command()
@_NAMES
@friendly
def start(names: tuple[str, ...]) -> None:
    """Start what is down and wait until it answers (Redis and PostgreSQL through infra/services.sh)."""
    from featurelake.services import start as start_services

    began = time.monotonic()
    states = start_services(names or None)
    _print(states)
    click.echo(f"ready in {time.monotonic() - began:.1f} s")


@services.command()
@_NAMES
@friendly
def stop(names: tuple[str, ...]) -> None:
    """Stop the named services (all three when none is named)."""
    from featurelake.services import stop as stop_services

    _print(stop_services(names or None))
