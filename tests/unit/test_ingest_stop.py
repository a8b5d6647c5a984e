"""A stop (``--timeout``, SIGTERM, Ctrl-C) ends a continuous query between batches, not inside one."""

from __future__ import annotations

import threading

import pytest

from featurelake.ingest import stream
from featurelake.ingest.stream import _stop_between_batches


class _Query:
    """A StreamingQuery stand-in whose trigger is active for the first ``busy`` status reads."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.isActive = True
        self.stopped_while_busy: bool | None = None

    @property
    def status(self) -> dict[str, object]:
        running = self.busy > 0
        self.busy -= 1
        return {"message": "Processing new data", "isDataAvailable": running, "isTriggerActive": running}

    def stop(self) -> None:
        self.stopped_while_busy = self.busy > 0
        self.isActive = False


def test_a_stop_waits_for_the_running_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream.time, "sleep", lambda _: None)
    query = _Query(busy=3)
    _stop_between_batches(query, threading.Event())  # type: ignore[arg-type]
    assert query.stopped_while_busy is False
    assert not query.isActive


def test_a_second_signal_stops_at_once() -> None:
    query = _Query(busy=1_000)
    now = threading.Event()
    now.set()
    _stop_between_batches(query, now)  # type: ignore[arg-type]
    assert query.stopped_while_busy is True
