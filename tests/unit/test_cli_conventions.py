"""One convention for the whole CLI: help on every option, half-open ``--from/--to``, ``--format``.

These walk the real command tree, so a command added later is held to the same rules.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from importlib.metadata import version

import click
import pyarrow as pa
import pytest
from click.testing import CliRunner

from featurelake.cli import FORMATS, UtcTime, main, one_line
from featurelake.sql import render


def _commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        yield " ".join((*path, name)), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))


COMMANDS = dict(_commands())


def test_the_tree_is_walked() -> None:
    # a guard on the walk itself: a broken walk would make every test below pass vacuously
    assert {"backfill", "features materialize", "produce flights", "sql", "tables"} <= set(COMMANDS)
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_and_option_has_help(path: str) -> None:
    out = CliRunner().invoke(main, [*path.split(), "--help"])
    assert out.exit_code == 0, out.output
    cmd = COMMANDS[path]
    assert (cmd.help or "").strip(), f"`featurelake {path}` has no description"
    missing = [
        "/".join(p.opts) for p in cmd.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert not missing, f"`featurelake {path}`: options without help: {', '.join(missing)}"
    for p in cmd.params:
        if isinstance(p, click.Option) and p.help:
            assert "/".join(p.opts) in out.output or p.hidden


ALIAS_TARGETS = {("models promote", "--to")}
"""Where ``--to`` names a destination, not a time: ``models promote 3 --to champion`` (as issue 14
spells it); such a command takes no ``--from``."""


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_one_range_convention(path: str) -> None:
    opts = {o: p for p in COMMANDS[path].params if isinstance(p, click.Option) for o in p.opts}
    assert not {"--start", "--end", "--until", "--json"} & set(opts), f"`{path}` uses a retired flag"
    if "--from" in opts:
        assert "--to" in opts, f"`{path}`: a range with --from ends with --to"
    for flag in ("--from", "--to"):
        if flag in opts and (path, flag) not in ALIAS_TARGETS:
            assert isinstance(opts[flag].type, UtcTime), f"`{path} {flag}` must read UTC days/times"
    if "--to" in opts and (path, "--to") not in ALIAS_TARGETS:
        assert "excluded" in (opts["--to"].help or ""), f"`{path} --to` must say it is excluded"
    fmt = opts.get("--format")
    if fmt is not None and path != "cluster status":
        assert isinstance(fmt.type, click.Choice)
        assert tuple(fmt.type.choices) == FORMATS, f"`{path} --format` offers {fmt.type.choices}"


def test_version() -> None:
    out = CliRunner().invoke(main, ["--version"])
    assert out.exit_code == 0
    assert out.output.strip() == f"featurelake {version('featurelake')}"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["backfill", "--from", "2013-03-02", "--to", "2013-03-02"], "2013-03-02 must be after --from"),
        (["backfill", "--from", "2013-03-01T10:00", "--to", "2013-03-02"], "is not a UTC day"),
        (["features", "materialize", "--from", "2013-03-01T12:00", "--to", "2013-03-01T06:00"], "must be"),
        (["produce", "flights", "--from", "March", "--to", "2013-03-02"], "'March' is not a UTC day or time"),
        (["train", "delay", "--from", "2013-03-01", "--to", "2013-01-01"], "must be after --from"),
        (["nope"], "No such command 'nope'"),
        (["sql"], "Missing argument 'QUERY'"),
        (["sql", "select 1", "--format", "xml"], "'xml' is not one of"),
    ],
)
def test_a_bad_argument_is_one_line_naming_the_help(args: list[str], needle: str) -> None:
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1, out.output
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert lines[0].endswith("--help)")


def test_utc_time_reads_days_and_times() -> None:
    t = UtcTime()
    assert t.convert("2013-03-01", None, None) == dt.date(2013, 3, 1)
    assert t.convert("2013-03-01T12:30", None, None) == dt.datetime(2013, 3, 1, 12, 30)
    assert t.convert("2013-03-01T12:30+02:00", None, None) == dt.datetime(2013, 3, 1, 10, 30)
    with pytest.raises(click.BadParameter):
        UtcTime(days_only=True).convert("2013-03-01T12:30", None, None)


def _table() -> pa.Table:
    return pa.table({"k": ["a", "b"], "x": [1.5, math.nan], "n": [1, None]})


def test_json_is_one_document_and_nan_is_null() -> None:
    out = io.StringIO()
    render(_table(), "json", out)
    assert json.loads(out.getvalue()) == [{"k": "a", "x": 1.5, "n": 1}, {"k": "b", "x": None, "n": None}]


def test_jsonl_is_one_object_per_line() -> None:
    out = io.StringIO()
    render(_table(), "jsonl", out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"k": "a", "x": 1.5, "n": 1},
        {"k": "b", "x": None, "n": None},
    ]


def test_one_line_keeps_the_cause_and_drops_the_backtrace() -> None:
    rust = "Generic delta kernel error: bad log line\n\nStack backtrace:\n" + "   0: frame\n" * 200
    assert one_line(rust) == "Generic delta kernel error: bad log line"
    jvm = "[TABLE_OR_VIEW_NOT_FOUND] The table `x` cannot be found.\nJVM stacktrace:\n\tat org.apache.X(Y)"
    assert one_line(jvm) == "[TABLE_OR_VIEW_NOT_FOUND] The table `x` cannot be found."
    assert len(one_line("word " * 500)) == 400
    spark = "[INVALID_LIMIT_LIKE_EXPRESSION.IS_NEGATIVE] bad limit. SQLSTATE: 42K0E; GlobalLimit -1 +- Union"
    assert one_line(spark).endswith("SQLSTATE: 42K0E")
    duck = 'Catalog Error: Table with name nope does not exist! Did you mean "pg_catalog.pg_enum"?'
    assert one_line(duck) == "Catalog Error: Table with name nope does not exist!"


def test_loading_the_command_line_imports_no_engine() -> None:
    """Every command pays for what the CLI imports: Feast, Spark, torch and GX load in the
    commands that use them (Feast alone took 16 s of `featurelake sql` on a busy machine)."""
    import subprocess
    import sys

    code = (
        "import sys; from featurelake.cli import main; main(['tables', '--help'], standalone_mode=False); "
        "engines = {'feast', 'pyspark', 'torch', 'great_expectations'}; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & engines))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
