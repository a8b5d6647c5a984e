"""The ``featurelake`` command: thin argument parsing over the library.

Each module of this package adds the commands of one area to :data:`main`;
the imports at the bottom register them.

Every failure ends the command with one line on stderr, ``error: <cause>``,
and exit status 2: a bad argument (with the command's ``--help`` to read), a
:class:`~featurelake.errors.FeaturelakeError`, a failing file, Spark or DuckDB
call, or a bug. Where a traceback helps, it goes to a file under
``<lake>/logs/errors/`` whose path the line ends with.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from featurelake.errors import FeaturelakeError, one_line

__all__ = [
    "FORMATS",
    "UtcTime",
    "emit",
    "format_option",
    "friendly",
    "main",
    "one_line",
    "role_option",
    "run",
    "run_mode",
    "time_range",
    "working",
]

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def working(what: str, console: Any = None) -> Iterator[None]:
    """A spinner with the elapsed time while ``what`` runs, on a terminal; nothing when piped.

    For steps whose length nothing predicts (a replay, Data Docs, scoring a day); steps with a
    known amount of work show a bar with a rate and an ETA instead (the backfill, materialization).

    Args:
        what: the step, as the spinner shows it.
        console: a ``rich`` console (tests); stderr's when it is a terminal.
    """
    import threading
    import time

    from rich.console import Console

    if console is None:
        if not sys.stderr.isatty():
            yield
            return
        console = Console(stderr=True)
    began = time.monotonic()
    stop = threading.Event()
    with console.status(what) as status:

        def tick() -> None:
            while not stop.wait(1.0):
                status.update(f"{what} ({time.monotonic() - began:.0f} s)")

        threading.Thread(target=tick, daemon=True).start()
        try:
            yield
        finally:
            stop.set()


def listen_options(port: int, why: str) -> Callable[[F], F]:
    """``--host`` (127.0.0.1) and ``--port`` (``port``, ``why``) of a command that serves HTTP."""

    def add(f: F) -> F:
        f = click.option(
            "--port",
            type=click.IntRange(1, 65535),
            default=port,
            show_default=True,
            help=f"TCP port to listen on ({why}).",
        )(f)
        return click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="Address to listen on (0.0.0.0: every interface).",
        )(f)

    return add


def _fail(message: str, trace: Path | None = None) -> NoReturn:
    where = f" (full trace: {trace})" if trace is not None else ""
    click.echo(f"error: {one_line(message)}{where}", err=True)
    sys.exit(2)


def _save_trace(error: BaseException) -> Path | None:
    """Write ``error``'s traceback under ``<lake>/logs/errors/`` (else the temp folder); None if both fail."""
    from featurelake.governance.audit import command_words

    command = "-".join(command_words()) or "featurelake"
    name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%fZ}-{command}-{os.getpid()}.log"
    text = f"$ featurelake {' '.join(sys.argv[1:])}\n\n" + "".join(traceback.format_exception(error))
    folders: list[Path] = []
    try:
        from featurelake.config import get_settings

        folders.append(Path(get_settings().lake) / "logs" / "errors")
    except Exception:
        pass
    folders.append(Path(tempfile.gettempdir()) / "featurelake-errors")
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path.resolve()
        except OSError:
            continue
    return None


def _os_message(e: OSError) -> str:
    what = e.strerror or str(e)
    where = f": {e.filename}" if e.filename else ""
    if e.filename2:
        where += f" -> {e.filename2}"
    return f"{what}{where}"


def _spark_error(e: Exception) -> bool:
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover - pyspark is a hard dependency
        return False
    return isinstance(e, PySparkException | Py4JError)


def friendly(fn: F) -> F:
    """Turn every failure into one line and exit status 2 (see the module's docstring)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except (FeaturelakeError, ValueError) as e:
            _fail(str(e))
        except BrokenPipeError:
            # the reader went away (`featurelake tables | head`): stop quietly, as Python's docs advise
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OSError as e:
            _fail(_os_message(e), _save_trace(e))
        except Exception as e:
            import duckdb

            if isinstance(e, duckdb.Error) or _spark_error(e):
                # a query's own error (syntax, unknown name) needs no trace; an internal one does
                user = isinstance(
                    e, duckdb.ParserException | duckdb.CatalogException | duckdb.BinderException
                )
                user = user or type(e).__name__ in ("AnalysisException", "ParseException")
                _fail(str(e), None if user else _save_trace(e))
            trace = _save_trace(e)
            _fail(f"{type(e).__name__}: {e} (this is a bug: please report it with the trace)", trace)

    return wrapper  # type: ignore[return-value]


class _Cli(click.Group):
    """The root group: a bad argument is one line too, naming the ``--help`` to read."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as e:
            path = e.ctx.command_path if e.ctx is not None else (prog_name or "featurelake")
            _fail(f"{e.format_message()} (see: {path} --help)")
        except click.ClickException as e:
            _fail(e.format_message())
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


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


class UtcTime(click.ParamType):
    """A UTC day (``YYYY-MM-DD``) or, unless ``days_only``, an ISO time (``YYYY-MM-DDTHH:MM[:SS]``).

    Days become :class:`datetime.date`, times naive :class:`datetime.datetime` in UTC; a time with
    an offset is converted to UTC. Every range flag of the CLI reads its values with this type.
    """

    def __init__(self, *, days_only: bool = False) -> None:
        self.days_only = days_only
        self.name = "DATE" if days_only else "DATE|TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        if len(text) == 10:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        elif not self.days_only:
            try:
                t = dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t
        want = "a UTC day, YYYY-MM-DD" if self.days_only else "a UTC day or time, YYYY-MM-DD[THH:MM[:SS]]"
        self.fail(f"{text!r} is not {want}", param, ctx)


def _as_time(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def time_range(
    what: str,
    *,
    days_only: bool = False,
    required: bool = True,
    default_from: str | None = None,
    default_to: str | None = None,
) -> Callable[[F], F]:
    """``--from`` and ``--to``: the half-open range ``[from, to)`` of ``what``, passed as ``start``, ``end``.

    The one date-range convention of the whole CLI: the same flag names, the same formats
    (:class:`UtcTime`), ``--from`` included and ``--to`` excluded, and ``--to`` after ``--from``.
    """

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, start: dt.date | None, end: dt.date | None, **kwargs: Any) -> Any:
            if start is not None and end is not None and _as_time(end) <= _as_time(start):
                raise click.BadParameter(
                    f"{end.isoformat()} must be after --from {start.isoformat()} "
                    "(ranges are [from, to): --to is excluded)",
                    param_hint="'--to'",
                )
            return fn(*args, start=start, end=end, **kwargs)

        kind = UtcTime(days_only=days_only)
        form = "UTC, YYYY-MM-DD" if days_only else "UTC, YYYY-MM-DD[THH:MM[:SS]]"
        with_to = click.option(
            "--to",
            "end",
            type=kind,
            required=required and default_to is None,
            help=f"End of the {what}, excluded ({form})"
            + (f" [default: {default_to}]." if default_to else "."),
        )(wrapper)
        return click.option(  # type: ignore[return-value]
            "--from",
            "start",
            type=kind,
            required=required and default_from is None,
            help=f"Start of the {what}, included ({form})"
            + (f" [default: {default_from}]." if default_from else "."),
        )(with_to)

    return decorate


FORMATS = ("table", "csv", "json", "jsonl")
"""Output formats of every command that prints rows: ``json`` is one JSON document (an array
of objects), ``jsonl`` one object per line."""

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table: aligned columns; csv; json: one array of objects; jsonl: one object per line.",
)
"""The output format option of every command that prints rows."""

role_option = click.option(
    "--role",
    help="The policy role to run as (policy.toml) "
    "[default: FEATURELAKE_ROLE, else the policy's default_role].",
)
"""``--role`` of every command that reads tables on a user's behalf."""


def emit(rows: list[dict[str, Any]], fmt: str, *, columns: list[str] | None = None) -> None:
    """Print rows (dicts with the same keys) in ``fmt``, the way ``featurelake sql`` prints a result."""
    import pyarrow as pa

    from featurelake import sql as lake_sql

    names = columns or (list(rows[0]) if rows else [])
    table = pa.Table.from_pylist(rows, schema=None) if rows else pa.table({n: [] for n in names})
    lake_sql.render(table.select(names), fmt)  # type: ignore[arg-type]


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="featurelake", message="featurelake %(version)s")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show Spark's and Feast's own logs on the terminal (by default Spark's go to <lake>/logs/spark/).",
)
@click.option(
    "--spark-ui",
    is_flag=True,
    help="Serve Spark's web UI while the command runs (port 4040 or the next free one; "
    "its address is printed). Same as FEATURELAKE_SPARK_UI=true.",
)
def main(verbose: bool, spark_ui: bool) -> None:
    """featurelake: Avro events -> Spark -> Delta -> Feast, DuckDB and Airflow."""
    from featurelake.governance.files import restrict_files

    try:
        # before anything is written: the lake, the stores and Airflow's files are the owner's
        restrict_files()
    except FeaturelakeError as e:
        _fail(str(e))
    if spark_ui:
        os.environ["FEATURELAKE_SPARK_UI"] = "true"
    if sys.__stdout__ is not None and sys.stdout is sys.__stdout__ and not sys.__stdout__.isatty():
        # Feast colours its messages whatever the output is; a pipe or a file gets plain text
        import colorama

        colorama.init(strip=True, convert=False)
    if verbose:
        import logging

        from featurelake.spark import SPARK_LOG_ENV

        os.environ[SPARK_LOG_ENV] = "-"
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    # Importing a command module attaches its commands to ``main``.
    from featurelake.cli import (
        backfill,  # noqa: F401
        cluster,  # noqa: F401
        features,  # noqa: F401
        governance,  # noqa: F401
        ingest,  # noqa: F401
        lake,  # noqa: F401
        models,  # noqa: F401
        monitor,  # noqa: F401
        orchestration,  # noqa: F401
        services,  # noqa: F401
        spark_sql,  # noqa: F401
    )


_register()


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` gives: None is 0, a message is printed and 1."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def run() -> NoReturn:
    """The ``featurelake`` program: :data:`main`, then an exit native thread pools cannot crash.

    pyarrow's C++ thread pools (and DuckDB's) are torn down by the C runtime's exit handlers,
    after Python has finished. A pool thread still joinable then makes ``std::terminate`` abort
    the process ("terminate called without an active exception", status -6) after the command
    had succeeded (apache/arrow#34314): ``produce synthetic --scale 10`` ended so once in three
    runs. So the program does Python's own shutdown (it waits for non-daemon threads, runs the
    ``atexit`` handlers, flushes the standard streams) and then ends with ``os._exit``, which
    skips those destructors. ``main`` itself, as tests and ``CliRunner`` call it, is unchanged.
    """
    import atexit
    import threading

    try:
        main.main(prog_name="featurelake")
        code = 0
    except SystemExit as e:
        code = _status(e.code)
    # what Py_FinalizeEx does first: threading's shutdown (concurrent.futures' idle workers are
    # told to stop there), then the atexit handlers (logging's flush, pyspark's gateway)
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # pragma: no cover - an interpreter without it: exit as Python does
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or its reader went away
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
