"""The ``featurelake`` command: thin argument parsing over the library.

Each module of this package adds the commands of one area to :data:`main`;
the imports at the bottom register them.

A :class:`~featurelake.errors.FeaturelakeError` (or a bad argument) ends the
command with one line on stderr and exit status 2; a traceback means a bug.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from featurelake.errors import FeaturelakeError

__all__ = ["format_option", "friendly", "main", "run_mode"]

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(2)


def friendly(fn: F) -> F:
    """Turn expected errors into one line and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            import duckdb
        except ImportError:  # pragma: no cover - duckdb is a hard dependency
            duckdb = None  # type: ignore[assignment]
        try:
            return fn(*args, **kwargs)
        except (FeaturelakeError, ValueError, FileNotFoundError) as e:
            _fail(str(e))
        except Exception as e:
            if duckdb is not None and isinstance(e, duckdb.Error):
                _fail(str(e))
            raise

    return wrapper  # type: ignore[return-value]


def run_mode(once: str, continuous: str) -> Callable[[F], F]:
    """``--once`` (the default) and ``--continuous``, passed on as ``mode``; both at once is an error.

    Two flags writing one value would let the last one win silently.
    """

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, once: bool, continuous: bool, **kwargs: Any) -> Any:
            if once and continuous:
                raise click.UsageError("--once and --continuous exclude each other: give one of them")
            return fn(*args, mode="continuous" if continuous else "once", **kwargs)

        with_continuous = click.option("--continuous", is_flag=True, help=continuous)(wrapper)
        return click.option("--once", is_flag=True, help=f"{once.rstrip('.')} (the default).")(
            with_continuous
        )  # type: ignore[return-value]

    return decorate


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)
"""The output format option of every command that prints a table of rows."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """featurelake: Avro events -> Spark -> Delta -> Feast, DuckDB and Airflow."""


def _register() -> None:
    # Importing a command module attaches its commands to ``main``.
    from featurelake.cli import (
        backfill,  # noqa: F401
        cluster,  # noqa: F401
        features,  # noqa: F401
        ingest,  # noqa: F401
        lake,  # noqa: F401
        models,  # noqa: F401
        orchestration,  # noqa: F401
        services,  # noqa: F401
        spark_sql,  # noqa: F401
    )


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
