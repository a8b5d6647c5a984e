"""README.md's walkthroughs run as written, in lakes of their own, and print what the README shows.

Conventions (README.md says them in one sentence above its first runnable block; the parsing is
in ``tests/readme_blocks.py``):

- ``<!-- runnable -->`` on the line before a ```` ```bash ```` fence (invisible on GitHub) marks
  a block this test runs, as one ``bash -euo pipefail`` script in a fresh folder (so
  ``$PWD/walkthrough-lake`` is inside it) with the venv's ``featurelake`` first on PATH and
  ``FEATURELAKE_LAKE`` pointing into that folder until the block sets it. Options:
  ``<!-- runnable: timeout=600 services=kafka,redis,postgres -->``.
- A command whose trailing comment ends in ``=> TEXT`` must print TEXT on stdout (a note may
  come before the arrow: ``# January 2013 (UTC) => 26,865``). TEXT is a substring, except that a
  number matches the same number with or without thousands separators (``26,865`` matches
  ``26865`` but not ``126865``) and a run of spaces matches any whitespace.
- ``<!-- lake: demo -->`` marks a block that writes to the demo lake (``./lake``) on purpose.
  Every other block that writes to a lake must set ``FEATURELAKE_LAKE`` to a lake of its own.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import require_service
from readme_blocks import (
    Block,
    Command,
    expected_pattern,
    is_demo_lake,
    lake_of,
    long_running,
    parse_readme,
    writes_lake,
)

pytestmark = pytest.mark.integration

BLOCKS = parse_readme()
RUNNABLE = [b for b in BLOCKS if b.runnable]
SERVICE_PORTS = {"kafka": 9092, "redis": 6379, "postgres": 5432}
DEFAULT_TIMEOUT_S = 600


def _where(block: Block, command: Command | None = None) -> str:
    at = f"README.md:{command.line}" if command is not None else f"README.md:{block.line}"
    return f"{at} ({block.heading})"


# --- cheap checks: no Spark, no service ---------------------------------------------------------


def test_the_readme_has_runnable_walkthroughs() -> None:
    assert RUNNABLE, "no README block is marked <!-- runnable -->"
    assert any(b.heading.startswith("Ingestion") for b in RUNNABLE), (
        "the ingestion walkthrough is not runnable"
    )


def test_every_writing_block_says_which_lake_it_uses() -> None:
    """The rule that keeps walkthroughs from damaging the demo lake: a block that writes to a lake
    sets FEATURELAKE_LAKE to one of its own, or says <!-- lake: demo --> on purpose."""
    wrong = []
    for block in BLOCKS:
        for command in block.commands:
            if not writes_lake(command):
                continue
            lake = lake_of(block, command)
            if is_demo_lake(lake) and not block.demo_lake:
                wrong.append(
                    f"{_where(block, command)}: `{command.code}` writes to the demo lake "
                    f"({'FEATURELAKE_LAKE is not set' if lake is None else f'FEATURELAKE_LAKE={lake}'}); "
                    "start the block with `export FEATURELAKE_LAKE=$PWD/walkthrough-lake`, or mark it "
                    "<!-- lake: demo --> if the demo lake is meant"
                )
            elif block.runnable and is_demo_lake(lake):
                wrong.append(f"{_where(block, command)}: a runnable block must not write to the demo lake")
    assert not wrong, "\n".join(wrong)


def test_runnable_blocks_end_by_themselves() -> None:
    wrong = [
        f"{_where(b, c)}: `{c.code}` runs until stopped (give it --timeout, or leave the block unmarked)"
        for b in RUNNABLE
        for c in b.commands
        if long_running(c)
    ]
    wrong += [
        f"{_where(b)}: a runnable block must be ```bash, not ```{b.lang}"
        for b in RUNNABLE
        if b.lang != "bash"
    ]
    wrong += [
        f"{_where(b)}: runnable and <!-- lake: demo --> exclude each other" for b in RUNNABLE if b.demo_lake
    ]
    assert not wrong, "\n".join(wrong)


def test_only_runnable_blocks_show_checked_outputs() -> None:
    """An output shown with `=>` is one the test checks: none outside the blocks it runs."""
    wrong = [
        f"{_where(b, c)}: `=> {c.expected}` in a block not marked <!-- runnable -->"
        for b in BLOCKS
        if not b.runnable
        for c in b.commands
        if c.expected is not None
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("expected", "printed", "matches"),
    [
        ("26,865", "| 26865 |", True),
        ("26,865", "26,865 events", True),
        ("26865", "26,865 events", True),
        ("26,865", "126865", False),
        ("26,865", "26,8650", False),
        ("26,865", "26,865,000", False),
        ("26,865", "26865,2211", True),
        ("29 pending rows", "replay 1: 29 pending rows", True),
        ("origin_in_nyc 29", "flights   origin_in_nyc        29         0", True),
        ("0.49", "0.495", False),
    ],
)
def test_the_output_convention(expected: str, printed: str, matches: bool) -> None:
    assert bool(expected_pattern(expected).search(printed)) is matches


def test_a_quoted_body_over_two_lines_is_one_command(tmp_path: Path) -> None:
    """A reader pastes a curl whose JSON body spans lines as one command; so does the parser."""
    readme = tmp_path / "README.md"
    readme.write_text(
        "# T\n\n```bash\n"
        'curl -s x -d \'{"a": 1,\n'
        '  "b": "# not a comment"}\'   # the comment\n'
        "echo next\n```\n"
    )
    (block,) = parse_readme(readme)
    assert [c.code for c in block.commands] == [
        'curl -s x -d \'{"a": 1,\n  "b": "# not a comment"}\'',
        "echo next",
    ]


# --- the walkthroughs ---------------------------------------------------------------------------


def _script(block: Block) -> str:
    """The block as bash runs it, each command stamped in $README_OUT/steps and each checked
    command's stdout kept in $README_OUT/<line>.out (then shown, so the log stays whole)."""
    out = ['__step() { printf "%s %s\\n" "$1" "$EPOCHREALTIME" >> "$README_OUT/steps"; }']
    for c in block.commands:
        out.append(f"__step {c.line}")
        if c.expected is None:
            out.append(c.code)
        else:
            # a brace group runs in this shell: an `export` inside it still counts
            out.append(f'{{ {c.code}\n}} > "$README_OUT/{c.line}.out"')
            out.append(f'cat "$README_OUT/{c.line}.out"')
    out.append("__step end")
    return "\n".join(out) + "\n"


def _environment(work: Path, out: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FEATURELAKE_LAKE", "FEATURELAKE_LANDING", "FEATURELAKE_PROFILE")
    }
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    env["FEATURELAKE_LAKE"] = str(work / "lake")  # until the block sets its own: never the checkout's
    env["README_OUT"] = str(out)
    return env


def _tail(text: str, lines: int = 40) -> str:
    return textwrap.indent("\n".join(text.rstrip().splitlines()[-lines:]), "    ")


def _steps(out: Path) -> list[tuple[str, float]]:
    path = out / "steps"
    if not path.exists():
        return []
    return [(k, float(t)) for k, t in (line.split() for line in path.read_text().splitlines())]


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.name for b in RUNNABLE])
def test_walkthrough_runs_as_written(block: Block, tmp_path: Path) -> None:
    for name in filter(None, block.options.get("services", "").split(",")):
        if name not in SERVICE_PORTS:
            pytest.fail(f"{_where(block)}: unknown service {name!r}; use {', '.join(SERVICE_PORTS)}")
        require_service(name, SERVICE_PORTS[name])
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    script = out / "block.sh"
    script.write_text(_script(block))
    log = out / "log"
    limit = float(block.options.get("timeout", DEFAULT_TIMEOUT_S))
    began = time.monotonic()
    with log.open("w") as sink:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=work,
            env=_environment(work, out),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Spark JVMs and workers go with it on a timeout
        )
        try:
            rc: int | None = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = None
    seconds = time.monotonic() - began
    steps = _steps(out)
    by_line = {c.line: c for c in block.commands}
    durations = [(by_line[int(k)], t1 - t0) for (k, t0), (_, t1) in itertools.pairwise(steps) if k != "end"]
    print(f"{_where(block)}: {seconds:.1f} s")
    for command, took in durations:
        print(f"  {took:7.1f} s  README.md:{command.line}  {command.code.splitlines()[0][:100]}")
    printed = log.read_text(errors="replace")

    if rc != 0:
        last = by_line.get(int(steps[-1][0])) if steps and steps[-1][0] != "end" else None
        what = f"`{last.code}`" if last is not None else "the block"
        at = _where(block, last) if last is not None else _where(block)
        how = f"ran past {limit:g} s" if rc is None else f"failed with exit status {rc}"
        pytest.fail(f"{at}: {what} {how}; the block's output ends:\n{_tail(printed)}", pytrace=False)

    wrong = []
    for c in block.commands:
        if c.expected is None:
            continue
        stdout = (out / f"{c.line}.out").read_text(errors="replace")
        if not expected_pattern(c.expected).search(stdout):
            wrong.append(
                f"README.md:{c.line}: `{c.code}`\n  README shows: {c.expected}\n  it printed:\n"
                f"{_tail(stdout, 20) or '    (nothing)'}"
            )
    assert not wrong, f"{_where(block)}: outputs differ from the README's\n" + "\n".join(wrong)
