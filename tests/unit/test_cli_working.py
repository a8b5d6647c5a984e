"""`working()`: a spinner with the elapsed time on a terminal, silence when piped."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from featurelake.cli import working


def test_piped_it_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with working("building Data Docs"):
        pass
    assert capsys.readouterr() == ("", "")


def test_on_a_terminal_it_names_the_step_and_counts_seconds() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with working("scoring the flights of 2013-06-01", console=console):
        time.sleep(1.3)
    drawn = out.getvalue()
    assert "scoring the flights of 2013-06-01" in drawn
    assert "(1 s)" in drawn
