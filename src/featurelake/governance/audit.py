"""``ops.audit_log``: who did what, append-only.

Commands record one row each with :func:`record` (one delta-rs commit, no JVM); the feature
server queues a row per request in an :class:`AuditLog` that a background thread writes
every half second. A failure to write the audit trail never fails the command it records:
it is logged and the command's own result stands.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from featurelake.buffered_log import BufferedLog
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import AccessDenied, one_line

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "TABLE",
    "AuditLog",
    "audit_row",
    "audited",
    "command_words",
    "commit_metadata",
    "record",
    "redact_literals",
    "who",
]

TABLE = "ops.audit_log"

log = logging.getLogger(__name__)


def who() -> str:
    """The OS user running this process: the actor of a command."""
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container)
        import os

        return f"uid:{os.geteuid()}"


def redact_literals(text: str) -> str:
    """``text`` with every quoted string literal replaced by ``'?'``.

    The audit log is append-only, so nothing written to it can be erased: a statement such as
    ``... where email = 'ann@example.com'`` is recorded as ``... where email = '?'``, its shape
    kept and the personal value left out (Postgres's ``pg_stat_statements`` normalises the same way).
    """
    import re

    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"(?=\s*(?:=|<>|!=|,|\)|$))", "'?'", text)


def command_words() -> list[str]:
    """The command this process runs, as words: ``["ingest", "flights"]`` for ``featurelake ingest
    flights --once`` (the first two arguments, where they are command names)."""
    import re
    import sys

    return [a for a in sys.argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", a)]


def commit_metadata() -> dict[str, str]:
    """What every Delta commit of this process says about itself: the actor and the command
    (``featurelake ingest flights``), in Spark's ``userMetadata`` and delta-rs's commit info."""
    import os
    import sys

    words = command_words()
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if program in ("-c", "__main__.py"):
        program = "featurelake"
    return {"actor": who(), "command": " ".join([program, *words])}


def audit_row(
    action: str,
    *,
    actor: str,
    role: str | None = None,
    target: str | list[str] | None = None,
    tables: list[str] | None = None,
    entities: int | None = None,
    status: str = "ok",
    detail: str | None = None,
) -> dict[str, Any]:
    """One ``ops.audit_log`` row, stamped now (a list ``target`` may be filled while a command runs)."""
    at = dt.datetime.now(dt.UTC)
    if isinstance(target, list):
        target = ",".join(target) or None
    return {
        "audit_id": str(uuid.uuid4()),
        "occurred_at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "target": None if target is None else target[:2000],
        "tables": ",".join(tables) if tables else None,
        "requests": 1,
        "entities": entities,
        "status": status,
        "detail": None if detail is None else one_line(detail)[:1000],
        "audit_date": at.date(),
    }


def record(action: str, settings: Settings | None = None, **fields: Any) -> None:
    """Append one row for ``action`` by this process's user; a failed write is logged, not raised.

    Nothing is recorded where no lake exists (a mistyped ``FEATURELAKE_LAKE``): auditing must not
    create a lake holding nothing but its own log.
    """
    settings = settings or get_settings()
    if not settings.lake.is_dir():
        return
    try:
        Catalog(settings=settings).append_native(TABLE, [audit_row(action, actor=who(), **fields)])
    except Exception as e:
        log.warning("ops.audit_log: could not record %s (%s)", action, one_line(str(e)))


@contextmanager
def audited(
    action: str, settings: Settings | None = None, *, redact: bool = False, **fields: Any
) -> Iterator[None]:
    """Record ``action`` when the block ends: ``ok``, ``refused`` (access denied) or ``error``
    with its one-line cause. List-valued fields (``tables``) may be filled inside the block.
    With ``redact`` (a statement is the target), string literals in the target and in the
    error's text are recorded as ``'?'`` (:func:`redact_literals`)."""

    def clean(text: str) -> str:
        return redact_literals(text) if redact else text

    if redact and isinstance(fields.get("target"), str):
        fields["target"] = clean(fields["target"])
    try:
        yield
    except AccessDenied as e:
        record(action, settings, **fields, status="refused", detail=clean(str(e)))
        raise
    except Exception as e:
        record(action, settings, **fields, status="error", detail=clean(str(e)) or type(e).__name__)
        raise
    record(action, settings, **fields)


class AuditLog(BufferedLog):
    """The feature server's buffered writer of ``ops.audit_log``: requests counted, not copied.

    The request path counts each answered request under its (caller, role, target, status,
    reason) in a dict; each write turns every key into one row, with ``requests`` the number
    of requests it stands for, ``entities`` their entity rows and ``occurred_at`` the last of
    them. A count keeps every request accounted for at a cost that does not grow with the
    rate, and lets the server commit seldom (``featurelake.features.server.AUDIT_INTERVAL_S``).
    """

    def __init__(self, catalog: Catalog, *, interval: float = 0.5, max_keys: int = 10_000) -> None:
        super().__init__(catalog, TABLE, interval=interval)
        self.max_keys = max_keys
        self._counts: dict[tuple[str, str | None, str, int, str | None], list[float]] = {}

    def request(
        self, actor: str, role: str | None, target: str, entities: int | None, status: int, detail: str | None
    ) -> None:
        """Count one answered request (the request path: a dict update)."""
        key = (actor, role, target, status, detail)
        with self._lock:  # uncontended but for the writer's swap: a count is never lost in it
            seen = self._counts.get(key)
            if seen is None:
                if len(self._counts) >= self.max_keys:  # a flood of distinct requests: keep the count
                    key = (actor, role, "(more targets)", status, None)
                    seen = self._counts.get(key)
                if seen is None:
                    seen = self._counts[key] = [0, 0, 0.0]
            seen[0] += 1
            seen[1] += entities or 0
            seen[2] = time.time()

    def flush(self) -> int:
        with self._lock:
            counts, self._counts = self._counts, {}  # the event loop's next count starts anew
        for (actor, role, target, status, detail), (n, entities, last) in counts.items():
            self.add((last, actor, role, target, int(n), int(entities), status, detail))
        return super().flush()

    def materialize(self, rows: list[Any]) -> pa.Table:
        import pyarrow as pa

        at, actor, role, target, requests, entities, status, detail = zip(*rows, strict=True)
        stamps = pa.array([int(t * 1_000_000) for t in at], pa.timestamp("us", tz="UTC"))
        return pa.table(
            {
                "audit_id": [str(uuid.uuid4()) for _ in rows],
                "occurred_at": stamps,
                "actor": list(actor),
                "role": list(role),
                "action": ["serve"] * len(rows),
                "target": [t[:2000] for t in target],
                "tables": pa.nulls(len(rows), pa.string()),
                "requests": pa.array(requests, pa.int64()),
                "entities": pa.array(entities, pa.int64()),
                "status": [str(s) for s in status],
                "detail": [None if d is None else one_line(d)[:1000] for d in detail],
                "audit_date": stamps.cast(pa.date32()),
            }
        )
