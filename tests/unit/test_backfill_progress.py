"""The backfill's progress bar: done/total, a rate and an ETA, drawn on a terminal."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from featurelake.backfill.plan import Chunk, PartitionTask, Plan
from featurelake.backfill.progress import ProgressReporter, rate_text
from featurelake.backfill.runner import ChunkResult

DAY = dt.timedelta(days=1)


def test_rate_text_per_second_or_per_minute() -> None:
    assert rate_text(0, 5.0) == ""
    assert rate_text(10, None) == ""
    assert rate_text(10, 4.0) == "2.5 partitions/s"
    assert rate_text(3, 60.0) == "3.0 partitions/min"


def test_the_bar_shows_progress_rate_and_eta() -> None:
    first = dt.date(2013, 1, 1)
    tasks = [PartitionTask("silver.flights", first + i * DAY, "todo", "new") for i in range(4)]
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    with ProgressReporter(console) as bar:
        bar.stage("silver", Plan(tasks=tasks))
        chunk = Chunk("silver.flights", first, first + DAY, tuple(tasks[:2]))
        bar.chunk_started(chunk)
        bar.chunk_finished(ChunkResult(chunk, ok=True, rows={}, seconds=0.1))
        bar.progress.refresh()
        drawn = out.getvalue()
    assert "2/4 partitions" in drawn
    assert "partitions/" in drawn  # the rate
    assert "ETA" in drawn
