"""Rows appended to a Delta table in batches, off a request path.

:class:`BufferedLog` takes rows from the request path (:meth:`BufferedLog.add`: an append to a
list under a lock) and a background thread appends them to the table with delta-rs every
``interval`` seconds (half a second by default), so a ``SIGKILL`` loses at most the rows of
the last interval and the write in flight. :meth:`BufferedLog.close` (on ``SIGTERM``) writes
what is left. Memory is bounded: past ``max_rows`` waiting rows (a writer that cannot keep
up, a lake that refuses writes), new rows are counted in :attr:`BufferedLog.dropped` instead
of kept, and the feature server's ``/health`` shows the count.

Rows go in with :meth:`featurelake.catalog.Catalog.append_native` (delta-rs: no JVM in a
server). The feature server keeps two: ``ops.prediction_log`` and ``ops.audit_log``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from featurelake.catalog import Catalog

__all__ = ["BufferedLog"]

log = logging.getLogger(__name__)


class BufferedLog:
    """A buffered writer of one table's rows; start it, :meth:`add`, :meth:`close`."""

    def __init__(
        self, catalog: Catalog, table: str, *, interval: float = 0.5, max_rows: int = 200_000
    ) -> None:
        self.catalog = catalog
        self.table = table
        self.interval = interval
        self.max_rows = max_rows
        self.dropped = 0
        """Rows refused because ``max_rows`` rows were already waiting."""
        self.written = 0
        self.failures = 0
        """Writes that failed (the rows stay and go with the next one)."""
        self.last_error = ""
        self._rows: list[Any] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BufferedLog:
        """Start the background writer."""
        self._thread = threading.Thread(target=self._run, name=self.table, daemon=True)
        self._thread.start()
        return self

    def materialize(self, rows: list[Any]) -> Any:
        """The queued items as rows for :meth:`~featurelake.catalog.Catalog.append_native`: as
        queued, unless a subclass queues something cheaper to make on the request path."""
        return rows

    def add(self, row: Any) -> None:
        """Queue one row (the request path: no I/O)."""
        with self._lock:
            if len(self._rows) >= self.max_rows:
                self.dropped += 1
                return
            self._rows.append(row)

    @property
    def waiting(self) -> int:
        """Rows queued and not yet written."""
        return len(self._rows)

    def flush(self) -> int:
        """Write every queued row now, in one commit; returns how many were written."""
        with self._flushing:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                n = self.catalog.append_native(self.table, self.materialize(rows))
            except Exception as e:  # keep the rows (bounded) and try again next interval
                self.failures += 1
                self.last_error = str(e).splitlines()[0] if str(e) else type(e).__name__
                log.warning("%s: write failed (%s); %d rows kept", self.table, self.last_error, len(rows))
                with self._lock:
                    keep = max(0, self.max_rows - len(self._rows))
                    self.dropped += max(0, len(rows) - keep)
                    self._rows[:0] = rows[:keep]
                return 0
            self.written += n
            return n

    def _run(self) -> None:
        # A lower priority for this thread and the delta-rs threads it starts (Linux threads
        # inherit it): on a busy machine the event loop answering requests runs first.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at = time.monotonic() + self.interval
            self.flush()

    def close(self) -> None:
        """Stop the writer and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def stats(self) -> dict[str, Any]:
        """For ``/health``: rows written, waiting and dropped, failed writes."""
        return {
            "written": self.written,
            "waiting": self.waiting,
            "dropped": self.dropped,
            "failed_writes": self.failures,
            **({"last_error": self.last_error} if self.last_error else {}),
        }
