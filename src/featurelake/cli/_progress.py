"""The materialization commands' progress bar: a rich bar drawn from the library's view-by-view reports.

The library reports (:class:`~featurelake.features.progress.MaterializeReporter`); this module
draws. On a terminal the bar shows the views done of the total, the rows written so far and
their rate, the elapsed time, an ETA from the views left and the view running now. Piped, it
draws nothing and the library gets no reporter at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from featurelake.features.progress import MaterializeReporter

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, Task, TaskID
    from rich.text import Text

    from featurelake.features.engine import MaterializeStats

__all__ = ["MaterializeBar", "eta_seconds", "materialize_bar", "rows_rate_text"]


def rows_rate_text(written: float, elapsed: float | None) -> str:
    """``"45,678 rows/s"``, or ``""`` before any row is written."""
    if not written or not elapsed:
        return ""
    per_s = written / elapsed
    return f"{per_s:,.0f} rows/s" if per_s >= 1 else f"{60 * per_s:,.1f} rows/min"


def eta_seconds(done: int, total: int, elapsed: float, *, done_at: float) -> float | None:
    """Seconds left, from the views left at the mean time per finished view; None before one finished.

    Views differ in size, so this is rough, but it is what the bar can know: the view
    running now is expected to take the mean less what it has run, each view after it
    the mean.

    Args:
        done: views finished.
        total: views in all.
        elapsed: seconds since the materialization started.
        done_at: ``elapsed`` when the last view finished.
    """
    if total <= done:
        return 0.0
    if done <= 0:
        return None
    per_view = done_at / done
    running = elapsed - done_at
    return per_view * (total - done - 1) + max(0.0, per_view - running)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _rate(task: Task) -> str:
    return rows_rate_text(task.fields["written"], task.elapsed)


def _eta(task: Task) -> str:
    if task.total is None:  # the views are not known yet
        return _clock(None)
    done, total = int(task.completed), int(task.total)
    return _clock(eta_seconds(done, total, task.elapsed or 0.0, done_at=task.fields["done_at"]))


def _computed(text: Callable[[Task], str]) -> ProgressColumn:
    """A column drawn from the task each time the bar is: the rate and the ETA move while a view runs."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Computed(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(text(task))

    return Computed()


class MaterializeBar(MaterializeReporter):
    """The reports of one materialization as a rich progress bar; start and stop it with ``with``.

    ``materializing the online store ━━━━━━━━━━ 2/5 views 1,234,567 rows written 45,678 rows/s
    0:00:27 ETA 0:00:40 carrier_delay_7d``

    Args:
        console: where to draw (stderr's on a terminal; a recording console in tests).
        what: the step, as the bar's label.
        get_time: the clock (tests); ``time.monotonic`` when omitted.
    """

    def __init__(self, console: Console, what: str, *, get_time: Callable[[], float] | None = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress: Progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("views"),
            TextColumn("{task.fields[written]:,} rows written"),
            _computed(_rate),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            _computed(_eta),
            TextColumn("{task.fields[view]}"),
            console=console,
            transient=False,
            # Feast prints to stdout as it goes: above the bar when both are the terminal,
            # left alone when stdout goes to a pipe or a file.
            redirect_stdout=sys.stdout.isatty(),
            get_time=get_time,
        )
        self.task: TaskID = self.progress.add_task(what, total=None, written=0, done_at=0.0, view="")

    def __enter__(self) -> MaterializeBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def started(self, views: Sequence[str]) -> None:
        """Set the bar's total to the number of views."""
        self.progress.update(self.task, total=len(views))

    def view_started(self, view: str) -> None:
        """Name the view running now at the end of the bar."""
        self.progress.update(self.task, view=view)

    def view_finished(self, view: str, stats: MaterializeStats | None) -> None:
        """Advance the bar by one view and add the rows it wrote."""
        task = self.progress.tasks[0]
        written = task.fields["written"] + int((stats or {}).get("written", 0))
        self.progress.update(self.task, advance=1, written=written, view="", done_at=task.elapsed or 0.0)


@contextmanager
def materialize_bar(what: str, console: Console | None = None) -> Iterator[MaterializeBar | None]:
    """A :class:`MaterializeBar` on stderr when it is a terminal, else None (nothing is drawn).

    Args:
        what: the step, as the bar's label.
        console: a ``rich`` console to draw on instead (tests).
    """
    if console is None:
        if not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console

        console = Console(stderr=True)
    with MaterializeBar(console, what) as bar:
        yield bar
