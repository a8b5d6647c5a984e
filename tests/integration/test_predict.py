"""``POST /predict``: the champion answers from online features, the challenger shadows or canaries,
aliases move what answers, and every prediction reaches ``ops.prediction_log`` (SIGTERM and SIGKILL)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from delay_sample import sample, train
from deltalake import DeltaTable

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import get_settings
from featurelake.features.server_process import free_port, serve_command, server_token
from featurelake.features.testing import day, tiny_gold
from featurelake.models import promote, rollback
from featurelake.models.delay.features import NUMERIC, add_context

pytestmark = pytest.mark.integration

FLIGHT = {
    "carrier": "UA",
    "origin": "EWR",
    "dest": "IAH",
    "tailnum": "N1",
    "scheduled_departure": "2013-03-02T17:30:00Z",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Tiny gold tables, materialized online, and two versions of ``delay``: 1 champion, 2 challenger."""
    root = tmp_path_factory.mktemp("predict")
    catalog = Catalog(settings=get_settings({"FEATURELAKE_LAKE": str(root / "lake")}))
    tiny_gold(catalog)
    features.apply(catalog.settings)
    features.materialize(day(-90), day(1.5), settings=catalog.settings)
    rows = add_context(sample(3000))
    train(catalog, rows)
    train(catalog, sample_shifted(rows))
    return catalog


def sample_shifted(rows: pa.Table) -> pa.Table:
    """The same flights with every label flipped: a second version that predicts differently."""
    import pyarrow.compute as pc

    i = rows.column_names.index("is_delayed")
    return rows.set_column(i, "is_delayed", pc.invert(rows.column("is_delayed")))


class Server:
    """``featurelake serve`` over a lake, with a keep-alive connection to it."""

    def __init__(self, catalog: Catalog, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.catalog = catalog
        self.log = log.open("wb")
        env = {"FEATURELAKE_LAKE": str(catalog.settings.lake), **env}
        self.token = server_token(env, "ml_service")
        self.proc = subprocess.Popen(
            serve_command(self.port), env={**os.environ, **env}, stderr=self.log, start_new_session=True
        )
        self.conn: http.client.HTTPConnection | None = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                status, health = self.get("/health")
                if status == 200 and health["models"]["champion"] is not None:
                    return
            except OSError:
                self.conn = None
            time.sleep(0.3)
        self.proc.kill()
        raise AssertionError(log.read_text()[-3000:])

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.conn.request(method, path, body=payload, headers={"authorization": f"Bearer {self.token}"})
        r = self.conn.getresponse()
        return r.status, json.loads(r.read())

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        return self.request("GET", path)

    def predict(self, body: Any) -> tuple[int, dict[str, Any]]:
        return self.request("POST", "/predict", body)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=60)
        self.log.close()


@contextmanager
def serving(catalog: Catalog, tmp_path: Path, **env: str) -> Iterator[Server]:
    server = Server(catalog, env, tmp_path / "serve.log")
    try:
        yield server
    finally:
        server.stop()


def logged(catalog: Catalog, **where: Any) -> list[dict[str, Any]]:
    path = catalog.path("ops.prediction_log")
    if not catalog.exists("ops.prediction_log"):
        return []
    rows = DeltaTable(path).to_pyarrow_table().to_pylist()
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def wait_logged(catalog: Catalog, n: int, timeout: float = 20, **where: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = logged(catalog, **where)
        if len(rows) >= n:
            return rows
        time.sleep(0.3)
    return logged(catalog, **where)


def test_the_champion_answers_from_online_features_and_the_challenger_shadows(
    lake: Catalog, tmp_path: Path
) -> None:
    from featurelake.features import online_features
    from featurelake.models.delay.score import load_model, predict

    with serving(lake, tmp_path, FEATURELAKE_CHALLENGER_MODE="shadow") as server:
        status, health = server.get("/health")
        assert health["models"] == {"champion": "1", "challenger": "2", "challenger_mode": "shadow"}
        status, answer = server.predict({**FLIGHT, "request_id": "r-1", "event_id": "E1"})
        assert status == 200, answer
        assert answer["model_version"] == "1"
        assert (answer["alias"], answer["mode"], answer["request_id"]) == ("champion", "champion", "r-1")
        # the same number the batch path gives for the same features
        keys = {k: [FLIGHT[k]] for k in ("carrier", "origin", "dest", "tailnum")}
        values = online_features(keys, "delay_model_v1", settings=lake.settings)
        row = pa.table(
            {**keys, **values, "event_timestamp": [dt.datetime(2013, 3, 2, 17, 30, tzinfo=dt.UTC)]}
        )
        assert answer["delay_probability"] == pytest.approx(predict(load_model("1", lake), row)[0], abs=1e-6)

        rows = wait_logged(lake, 2, request_id="r-1")
        by_mode = {r["mode"]: r for r in rows}
        assert set(by_mode) == {"champion", "shadow"}
        assert by_mode["champion"]["served"] is True
        assert by_mode["shadow"]["served"] is False
        assert by_mode["shadow"]["model_version"] == "2"
        assert by_mode["champion"]["delay_probability"] == answer["delay_probability"]
        assert by_mode["champion"]["latency_ms"] > 0
        assert by_mode["champion"]["event_id"] == "E1"
        assert by_mode["champion"]["event_date"] == dt.date(2013, 3, 2)
        assert json.loads(by_mode["champion"]["features"])["dep_delay_avg_7d"] == pytest.approx(
            values["dep_delay_avg_7d"][0]
        )

        # bad requests: one line naming the field, and nothing logged
        status, err = server.predict({**FLIGHT, "carrier": None})
        assert (status, err["detail"]) == (400, "'carrier' must be a non-empty string, got None")
        status, err = server.predict({**FLIGHT, "scheduled_departure": "tomorrow"})
        assert (status, err["detail"]) == (400, "'scheduled_departure' is not an ISO 8601 time: 'tomorrow'")
        status, err = server.predict(b"{not json")
        assert status == 400


def test_promote_and_rollback_change_what_predict_answers(lake: Catalog, tmp_path: Path) -> None:
    def answered_by(server: Server, version: str) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, answer = server.predict(FLIGHT)
            assert status == 200, answer
            if answer["model_version"] == version:
                return True
            time.sleep(0.5)
        return False

    with serving(lake, tmp_path) as server:
        assert answered_by(server, "1")
        promote("delay", "2", "champion", lake.settings)
        try:
            assert answered_by(server, "2")
            assert server.get("/health")[1]["models"]["challenger"] is None
        finally:
            rollback("delay", lake.settings)
            promote("delay", "2", "challenger", lake.settings)
        assert answered_by(server, "1")


def test_the_canary_answers_its_share_of_flights_and_each_flight_sticks(
    lake: Catalog, tmp_path: Path
) -> None:
    share = 0.3
    start = dt.datetime(2013, 3, 1, tzinfo=dt.UTC)
    flights = [
        {**FLIGHT, "scheduled_departure": (start + dt.timedelta(minutes=7 * i)).isoformat()}
        for i in range(10_000)
    ]
    with serving(
        lake, tmp_path, FEATURELAKE_CHALLENGER_MODE="canary", FEATURELAKE_CANARY_SHARE=str(share)
    ) as s:
        assert s.get("/health")[1]["models"]["canary_share"] == share
        versions = []
        for flight in flights:
            status, answer = s.predict(flight)
            assert status == 200, answer
            versions.append(answer["model_version"])
        canary = versions.count("2") / len(versions)
        assert abs(canary - share) <= 0.03, canary
        # sticky: asked again, each flight gets the same version
        again = [s.predict(f)[1]["model_version"] for f in flights[:300]]
        assert again == versions[:300]
        canaries = [r for r in wait_logged(lake, 1, mode="canary") if r["model_version"] == "2"]
        assert canaries
        assert all(r["served"] for r in canaries)


def test_sigterm_flushes_the_prediction_log_and_sigkill_loses_at_most_the_last_second(
    lake: Catalog, tmp_path: Path
) -> None:
    def burst(server: Server, tag: str, n: int) -> None:
        for i in range(n):
            status, _ = server.predict({**FLIGHT, "request_id": f"{tag}-{i}"})
            assert status == 200

    def count(tag: str) -> int:
        return sum(1 for r in logged(lake, mode="champion") if r["request_id"].startswith(f"{tag}-"))

    server = Server(lake, {}, tmp_path / "term.log")
    burst(server, "term", 200)
    server.stop(signal.SIGTERM)  # straight after the last answer: the log's last rows are still queued
    assert count("term") == 200

    server = Server(lake, {}, tmp_path / "kill.log")
    burst(server, "early", 200)
    time.sleep(1.5)  # older than a second when the kill comes
    burst(server, "late", 50)
    server.stop(signal.SIGKILL)
    assert count("early") == 200
    assert count("late") <= 50


def test_batch_scoring_logs_every_row_with_its_features(lake: Catalog) -> None:
    from featurelake.features.testing import write_gold
    from featurelake.models.delay.score import score_date

    labels = [
        {
            "event_id": f"B{i}",
            "carrier": carrier,
            "origin": origin,
            "dest": "IAH",
            "tailnum": tail,
            "event_timestamp": dt.datetime(2013, 3, 2, 8 + i, tzinfo=dt.UTC),
            "arr_delay": float(10 * i),
            "is_delayed": 10 * i > 15,
        }
        for i, (carrier, origin, tail) in enumerate(
            [("UA", "EWR", "N1"), ("AA", "JFK", "N2"), ("UA", "EWR", "N9")]
        )
    ]
    write_gold(lake, "gold.flight_labels", labels)
    assert score_date(dt.date(2013, 3, 2), catalog=lake) == 3
    scored = {
        r["event_id"]: r
        for r in DeltaTable(lake.path("gold.delay_predictions")).to_pyarrow_table().to_pylist()
    }
    batch = {r["event_id"]: r for r in logged(lake, source="batch")}
    assert set(batch) == set(scored) == {"B0", "B1", "B2"}
    for event_id, row in batch.items():
        assert row["delay_probability"] == scored[event_id]["delay_probability"]
        assert (row["model_version"], row["alias"], row["mode"], row["served"]) == (
            "1",
            "champion",
            "champion",
            True,
        )
        assert row["request_id"] == f"batch:2013-03-02:{event_id}"
        assert set(json.loads(row["features"])) == set(NUMERIC)
    assert json.loads(batch["B2"]["features"])["plane_age_years"] is None  # N9: no such plane, logged as null
