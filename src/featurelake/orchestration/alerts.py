"""Alerts: a failed task's one-line reason, e-mailed through Airflow's SMTP connection and kept in
``ops.alerts``.

:func:`on_failure` is the ``on_failure_callback`` of the ``monitor`` DAG's tasks. It sends the
reason to ``FEATURELAKE_ALERT_EMAIL`` with the SMTP provider's notifier over the ``smtp_default``
connection (``FEATURELAKE_SMTP_URL``), then writes one ``ops.alerts`` row saying whether the
e-mail went out. A failing SMTP server never hides an alert: the row is written either way.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import one_line

__all__ = ["TABLE", "on_failure", "raise_alert"]

TABLE = "ops.alerts"

log = logging.getLogger(__name__)


def _reason(context: dict[str, Any]) -> str:
    exception = context.get("exception")
    if exception is None:
        return "failed (no exception recorded)"
    return one_line(str(exception)) or type(exception).__name__


def raise_alert(
    dag_id: str,
    task_id: str,
    run_id: str | None,
    reason: str,
    *,
    context: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """E-mail ``reason`` (when an address is configured) and record it in ``ops.alerts``.

    Returns:
        The row written.
    """
    settings = settings or get_settings()
    recipients = settings.alert_email
    emailed, error = False, None
    subject = f"featurelake alert: {dag_id}.{task_id}: {reason}"[:200]
    if recipients:
        try:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            notifier = SmtpNotifier(
                to=[a.strip() for a in recipients.split(",") if a.strip()],
                from_email=settings.alert_from,
                subject=subject,
                html_content=f"<p>{dag_id}.{task_id} (run {run_id}) failed:</p><pre>{reason}</pre>",
            )
            notifier.notify(context or {})  # type: ignore[arg-type]
            emailed = True
        except Exception as e:  # the alert is still recorded, with why the mail did not go out
            error = one_line(str(e)) or type(e).__name__
            log.error("alert e-mail to %s failed: %s", recipients, error)
    now = dt.datetime.now(dt.UTC)
    row = {
        "alert_id": uuid.uuid4().hex,
        "raised_at": now,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "reason": reason,
        "recipients": recipients,
        "emailed": emailed,
        "email_error": error,
        "alert_date": now.date(),
    }
    Catalog(settings=settings).append_native(TABLE, [row])
    return row


def on_failure(context: dict[str, Any]) -> None:
    """Airflow's ``on_failure_callback``: alert with the failed task's reason."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or "?"
    task_id = getattr(ti, "task_id", None) or "?"
    run_id = getattr(ti, "run_id", None)
    raise_alert(dag_id, task_id, run_id, _reason(context), context=context)
