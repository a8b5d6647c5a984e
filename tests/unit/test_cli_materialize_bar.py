"""The materialize commands' bar: views done/total, rows written, a rate and an ETA; nothing piped."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from featurelake.cli._progress import MaterializeBar, eta_seconds, materialize_bar, rows_rate_text

VIEWS = ["carrier_delay_7d", "route_delay_30d", "aircraft"]


def stats(written: int) -> dict[str, float]:
    return {"rows": written, "written": written, "query_s": 0.1, "encode_s": 0.2, "write_s": 0.3}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, color_system=None), out


def last_frame(out: io.StringIO) -> str:
    """The bar as last drawn, without the terminal's control sequences."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    return [line for line in re.split(r"[\r\n]", plain) if " views " in line][-1]


def test_rows_rate_text() -> None:
    assert rows_rate_text(0, 5.0) == ""
    assert rows_rate_text(10, None) == ""
    assert rows_rate_text(123_456, 2.0) == "61,728 rows/s"
    assert rows_rate_text(3, 60.0) == "3.0 rows/min"


def test_eta_from_the_views_left() -> None:
    assert eta_seconds(0, 3, 5.0, done_at=0.0) is None  # nothing to go by yet
    # 1 of 3 done after 10 s; the second has run 2 s: 8 s more for it, 10 s for the third
    assert eta_seconds(1, 3, 12.0, done_at=10.0) == 18.0
    # the running view overran the mean: the views after it still count
    assert eta_seconds(1, 3, 25.0, done_at=10.0) == 10.0
    assert eta_seconds(3, 3, 30.0, done_at=30.0) == 0.0


def test_the_bar_shows_views_rows_rate_eta_and_the_current_view() -> None:
    console, out = terminal()
    clock = Clock()
    with MaterializeBar(console, "materializing the online store", get_time=clock) as bar:
        bar.started(VIEWS)
        bar.view_started("carrier_delay_7d")
        clock.now = 10.0
        bar.view_finished("carrier_delay_7d", stats(1000))
        bar.view_started("route_delay_30d")
        clock.now = 12.0
        bar.progress.refresh()
        drawn = last_frame(out)
    assert "materializing the online store" in drawn
    assert "1/3 views" in drawn
    assert "1,000 rows written" in drawn
    assert "83 rows/s" in drawn  # 1,000 rows in 12 s
    assert "0:00:12" in drawn  # elapsed
    assert "ETA 0:00:18" in drawn
    assert drawn.rstrip().endswith("route_delay_30d")


def test_the_totals_add_up_and_the_finished_bar_stays() -> None:
    console, out = terminal()
    clock = Clock()
    with MaterializeBar(console, "materializing what changed", get_time=clock) as bar:
        bar.started(VIEWS)
        for i, (view, written) in enumerate(zip(VIEWS, (1000, 500, None), strict=True)):
            bar.view_started(view)
            clock.now = 5.0 * (i + 1)
            bar.view_finished(view, None if written is None else stats(written))
        task = bar.progress.tasks[0]
        assert (task.completed, task.total, task.fields["written"], task.fields["view"]) == (3, 3, 1500, "")
    final = last_frame(out)
    assert "3/3 views" in final
    assert "1,500 rows written" in final
    assert "100 rows/s" in final  # 1,500 rows in 15 s
    assert "ETA 0:00:00" in final


def test_piped_there_is_no_bar_and_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with materialize_bar("materializing the online store") as bar:
        assert bar is None  # the library gets no reporter
    assert capsys.readouterr() == ("", "")
