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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from featurelake.buffered_log import BufferedLog
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import AccessDenied, one_line

__all__ = ["TABLE", "AuditLog", "audit_row", "audited", "commit_metadata", "record", "who"]

TABLE = "ops.audit_log"

log = logging.getLogger(__name__)


def who() -> str:
    """The OS user running this process: the actor of a command."""
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container)
        import os

        return f"uid:{os.geteuid()}"


def commit_metadata() -> dict[str, str]:
    """What every Delta commit of this process says about itself: the actor and the command
    (``featurelake ingest flights``), in Spark's ``userMetadata`` and delta-rs's commit info."""
    import os
    import re
    import sys

    words = [a for a in sys.argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", a)]
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if program in ("-c", "__main__.py"):
        program = "featurelake"
    return {"actor": who(), "command": " ".join([program, *words])}


def audit_row(
    action: str,
    *,
    actor: str,
    role: str | None = None,
    target: str | None = None,
    tables: list[str] | None = None,
    entities: int | None = None,
    status: str = "ok",
    detail: str | None = None,
) -> dict[str, Any]:
    """One ``ops.audit_log`` row, stamped now."""
    at = dt.datetime.now(dt.UTC)
    return {
        "audit_id": str(uuid.uuid4()),
        "occurred_at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "target": None if target is None else target[:2000],
        "tables": ",".join(tables) if tables else None,
        "entities": entities,
        "status": status,
        "detail": None if detail is None else one_line(detail)[:1000],
        "audit_date": at.date(),
    }


def record(action: str, settings: Settings | None = None, **fields: Any) -> None:
    """Append one row for ``action`` by this process's user; a failed write is logged, not raised."""
    settings = settings or get_settings()
    try:
        Catalog(settings=settings).append_native(TABLE, [audit_row(action, actor=who(), **fields)])
    except Exception as e:
        log.warning("ops.audit_log: could not record %s (%s)", action, one_line(str(e)))


@contextmanager
def audited(action: str, settings: Settings | None = None, **fields: Any) -> Iterator[None]:
    """Record ``action`` when the block ends: ``ok``, ``refused`` (access denied) or ``error``
    with its one-line cause. List-valued fields (``tables``) may be filled inside the block."""
    try:
        yield
    except AccessDenied as e:
        record(action, settings, **fields, status="refused", detail=str(e))
        raise
    except Exception as e:
        record(action, settings, **fields, status="error", detail=str(e) or type(e).__name__)
        raise
    record(action, settings, **fields)


class AuditLog(BufferedLog):
    """The feature server's buffered writer of ``ops.audit_log``."""

    def __init__(self, catalog: Catalog, *, interval: float = 0.5, max_rows: int = 200_000) -> None:
        super().__init__(catalog, TABLE, interval=interval, max_rows=max_rows)
