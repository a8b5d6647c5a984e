"""Flags that contradict each other are refused in one line, before anything runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from featurelake.cli import main


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "run", "flights", "--once", "--continuous"],
        ["ingest", "run", "weather", "--continuous", "--once"],
        ["stream-silver", "--continuous", "--once"],
    ],
)
def test_once_and_continuous_together_are_refused(args: list[str], tmp_path) -> None:
    result = CliRunner().invoke(main, args, env={"FEATURELAKE_LAKE": str(tmp_path / "lake")})
    assert result.exit_code == 2, result.output
    assert "--once and --continuous exclude each other" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "lake").exists(), "nothing may run before the flags are checked"
