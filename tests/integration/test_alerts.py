"""Alerts: a failed monitor task's reason reaches a real SMTP server (started here) and ``ops.alerts``."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from airflow_harness import env_for
from deltalake import DeltaTable

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.server_process import free_port
from featurelake.orchestration.alerts import raise_alert
from featurelake.orchestration.environment import smtp_connection

pytestmark = pytest.mark.integration


class Inbox:
    """What the test's SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _settings(tmp_path: Path, port: int, **extra: str) -> Settings:
    return get_settings(
        {
            "FEATURELAKE_LAKE": str(tmp_path / "lake"),
            "FEATURELAKE_SMTP_URL": f"smtp://127.0.0.1:{port}",
            **extra,
        }
    )


def test_an_alert_is_mailed_through_airflows_smtp_connection_and_recorded(
    tmp_path: Path, smtp: tuple[int, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, inbox = smtp
    settings = _settings(tmp_path, port, FEATURELAKE_ALERT_EMAIL="oncall@example.com, ml@example.com")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(settings))
    reason = "drift: dep_delay_avg_7d PSI 0.41 > 0.25"
    row = raise_alert("monitor", "check_drift", "manual__1", reason, settings=settings)
    assert row["emailed"] is True
    assert row["email_error"] is None
    (message,) = inbox.messages
    assert message["To"] == "oncall@example.com, ml@example.com"
    assert message["From"] == "featurelake@localhost"
    assert message["Subject"] == f"featurelake alert: monitor.check_drift: {reason}"
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert reason.encode() in body
    rows = DeltaTable(Catalog(settings=settings).path("ops.alerts")).to_pyarrow_table().to_pylist()
    assert [(r["task_id"], r["reason"], r["emailed"]) for r in rows] == [("check_drift", reason, True)]


def test_a_dead_smtp_server_still_leaves_the_alert_in_ops_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, free_port(), FEATURELAKE_ALERT_EMAIL="oncall@example.com")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(settings))
    reason = "freshness: gold.plane age 80 h > 48 h"
    row = raise_alert("monitor", "check_freshness", None, reason, settings=settings)
    assert row["emailed"] is False
    assert row["email_error"]
    rows = DeltaTable(Catalog(settings=settings).path("ops.alerts")).to_pyarrow_table().to_pylist()
    assert [(r["reason"], r["emailed"]) for r in rows] == [(reason, False)]


def test_the_smtp_url_becomes_airflows_connection() -> None:
    import json

    plain = json.loads(smtp_connection(Settings(smtp_url="smtp://relay.internal:2525")))
    assert (plain["host"], plain["port"]) == ("relay.internal", 2525)
    assert plain["extra"]["disable_ssl"] is True
    assert plain["extra"]["disable_tls"] is True
    tls = json.loads(smtp_connection(Settings(smtp_url="smtps://bot%40corp:s3cret@mail.corp")))
    assert (tls["login"], tls["password"], tls["port"]) == ("bot@corp", "s3cret", 465)
    assert tls["extra"]["disable_ssl"] is False
    from featurelake.errors import ConfigError

    with pytest.raises(ConfigError, match=r"FEATURELAKE_SMTP_URL='mail\.corp'"):
        smtp_connection(Settings(smtp_url="mail.corp"))
    assert os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT") is None  # nothing leaked from the tests above


MONITOR_DAG_TEST = """
import datetime as dt, os
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag("monitor")
run = dag.test(logical_date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
for ti in sorted(run.get_task_instances(), key=lambda ti: ti.task_id):
    print("TASK", ti.task_id, ti.state)
print("STATE", run.state)
"""


def test_the_monitor_dag_fails_the_breached_check_in_airflow_and_mails_why(
    tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    """The whole path in Airflow itself: ``dag.test()`` of ``monitor`` on a lake with no gold yet.

    Every gold table misses its freshness SLA; nothing else can be judged (no labels, no model,
    no online store), so exactly ``check_freshness`` fails, its callback mails the reason through
    ``smtp_default`` (built from FEATURELAKE_SMTP_URL) and writes ``ops.alerts``.
    """
    port, inbox = smtp
    settings = _settings(tmp_path, port, FEATURELAKE_ALERT_EMAIL="oncall@example.com")
    settings = settings.model_copy(update={"airflow_home": tmp_path / "home", "airflow_port": free_port()})
    env = env_for(settings, settings.airflow_home, settings.airflow_port)
    airflow = str(Path(sys.executable).parent / "airflow")
    res = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    res = subprocess.run(
        [sys.executable, "-c", MONITOR_DAG_TEST], env=env, capture_output=True, text=True, timeout=900
    )
    out = res.stdout + res.stderr
    states = dict(line.split()[1:] for line in res.stdout.splitlines() if line.startswith("TASK "))
    assert states == {
        "measure": "success",
        "check_freshness": "failed",
        "check_quality": "success",
        "check_drift": "success",
        "check_performance": "success",
        "check_skew": "success",
    }, out[-5000:]
    assert "STATE failed" in res.stdout, out[-5000:]
    (message,) = inbox.messages
    assert message["To"] == "oncall@example.com"
    assert message["Subject"].startswith("featurelake alert: monitor.check_freshness: ")
    rows = DeltaTable(Catalog(settings=settings).path("ops.alerts")).to_pyarrow_table().to_pylist()
    assert [(r["dag_id"], r["task_id"], r["emailed"]) for r in rows] == [("monitor", "check_freshness", True)]
    reason = rows[0]["reason"]
    assert "gold." in reason, reason
    assert "report: " in reason, reason
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert reason.encode() in body
