"""Showing a backfill as it runs (a rich progress bar) and when it ends (a summary)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from itertools import groupby
from typing import TYPE_CHECKING

from featurelake.backfill.plan import Chunk, PartitionTask, Plan
from featurelake.backfill.runner import BackfillResult, ChunkResult, Reporter

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["ProgressReporter", "plan_table", "summary_table"]


def rate_text(done: float, elapsed: float | None) -> str:
    """``"1.7 partitions/s"``, or ``""`` before anything is done."""
    if not done or not elapsed:
        return ""
    per_s = done / elapsed
    return f"{per_s:.1f} partitions/s" if per_s >= 0.1 else f"{60 * per_s:.1f} partitions/min"


class ProgressReporter(Reporter):
    """A rich progress bar over the partitions to build: done/total, rate, elapsed, ETA;
    one line per running chunk. On a terminal only: rich draws nothing when piped."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress: Progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("partitions"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.running: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def stage(self, name: str, plan: Plan) -> None:
        """Add the stage's partitions to the bar."""
        todo = len(plan.of_status("todo"))
        if self.task is None:
            self.task = self.progress.add_task("backfill", total=todo, rate="")
        else:
            total = self.progress.tasks[0].total or 0
            self.progress.update(self.task, total=total + todo)

    def chunk_started(self, chunk: Chunk) -> None:
        """Show the chunk under the bar while it runs."""
        self.running[chunk.label] = self.progress.add_task(f"  {chunk.label}", total=None, rate="")

    def chunk_finished(self, result: ChunkResult) -> None:
        """Advance the bar; drop the chunk's line."""
        line = self.running.pop(result.chunk.label, None)
        if line is not None:
            self.progress.remove_task(line)
        if self.task is not None:
            self.progress.advance(self.task, len(result.chunk.tasks))
            task = self.progress.tasks[0]
            self.progress.update(self.task, rate=rate_text(task.completed, task.elapsed))
        if not result.ok:
            self.progress.console.print(f"[red]failed[/red] {result.chunk.label}: {result.error}")


def _span(days: list[dt.date]) -> str:
    return str(days[0]) if len(days) == 1 else f"{days[0]} .. {days[-1]}"


def plan_rows(plan: Plan, *, every_partition: bool = False) -> list[tuple[str, str, str, str, str]]:
    """(table, days, partitions, status, why) per run of consecutive days with the same status and reason."""
    rows: list[tuple[str, str, str, str, str]] = []
    for table, tasks in groupby(plan.tasks, key=lambda t: t.table):
        ordered = sorted(tasks, key=lambda t: t.day)
        runs: list[list[PartitionTask]] = []
        for t in ordered:
            last = runs[-1][-1] if runs else None
            same = (
                last is not None
                and not every_partition
                and last.status == t.status
                and last.reason == t.reason
                and (t.day - last.day).days == 1
            )
            if same:
                runs[-1].append(t)
            else:
                runs.append([t])
        for run in runs:
            rows.append((table, _span([t.day for t in run]), str(len(run)), run[0].status, run[0].reason))
    for table, n in plan.clipped.items():
        rows.append((table, "-", str(n), "clipped", "after the day after the last flight"))
    return rows


def plan_table(plan: Plan, *, every_partition: bool = False) -> object:
    """The plan as a rich table."""
    from rich.table import Table

    table = Table(title="backfill plan", title_justify="left")
    for name, justify in (("table", "left"), ("days", "left"), ("partitions", "right"), ("status", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("why", justify="left")
    style = {"todo": "bold", "done": "dim", "empty": "dim", "blocked": "red", "clipped": "dim"}
    for row in plan_rows(plan, every_partition=every_partition):
        table.add_row(*row, style=style.get(row[3], ""))
    return table


def summary_table(result: BackfillResult) -> object:
    """Partitions built / skipped / failed and rows per table, with totals."""
    from rich.table import Table

    built = result.built()
    rows = result.rows()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in result.plan.tasks:
        counts[t.table]["skipped" if t.status in ("done", "empty") else t.status] += 1
    failed: dict[str, int] = defaultdict(int)
    for r in result.results:
        if not r.ok:
            failed[r.chunk.table] += len(r.chunk.tasks)
    table = Table(title=f"backfill {result.run_id}", title_justify="left")
    for name in ("table", "built", "skipped", "failed", "rows written"):
        table.add_column(name, justify="left" if name == "table" else "right")
    totals = [0, 0, 0, 0]
    for name in counts:
        values = [
            built.get(name, 0),
            counts[name]["skipped"],
            failed.get(name, 0) + counts[name]["blocked"],
            rows.get(name, 0),
        ]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        table.add_row(name, *[f"{v:,}" for v in values])
    table.add_section()
    table.add_row("total", *[f"{v:,}" for v in totals], style="bold")
    table.caption = f"{result.seconds:.1f} s"
    return table
