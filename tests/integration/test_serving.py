"""``featurelake serve`` answers what Feast's get_online_features answers, on SQLite and on Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_service

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.store import close_store
from featurelake.features.testing import day, tiny_gold

pytestmark = pytest.mark.integration

ROWS = {
    "carrier": ["UA", "AA", "ZZ"],
    "origin": ["EWR", "JFK", "LGA"],
    "dest": ["IAH", "IAH", "ORD"],
    "tailnum": ["N1", "N2", None],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/get-online-features",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Settings]]:
    env = {"FEATURELAKE_LAKE": str(tmp_path / "lake")}
    if request.param == "prod":
        require_service("redis", 6379)
        require_service("postgres", 5432)
        env |= {
            "FEATURELAKE_PROFILE": "prod",
            "FEATURELAKE_REDIS_URL": "redis://127.0.0.1:6379/12",
            "FEATURELAKE_POSTGRES_DSN": "postgresql://postgres@127.0.0.1:5432/featurelake_test",
        }
    settings = get_settings(env)
    if settings.profile == "prod":
        import redis

        redis.Redis.from_url(settings.redis_url).flushdb()
    tiny_gold(Catalog(settings=settings))
    features.apply(settings)
    features.materialize(day(-90), day(1.5), settings=settings)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from featurelake.cli import main; main()", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 180  # the JVM-heavy suite can leave this machine slow to start Python
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise AssertionError((tmp_path / "serve.log").read_text())
        yield port, settings
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        if settings.profile == "prod":
            store = features.feature_store(settings)
            store.registry.teardown()
            close_store(store)


def check_against_feast(port: int, settings: Settings) -> None:
    status, body = post(port, {"feature_service": "delay_model_v1", "entities": ROWS})
    assert status == 200, body
    names = body["metadata"]["feature_names"]  # type: ignore[index]
    results = body["results"]  # type: ignore[index]
    assert names[:4] == ["carrier", "origin", "dest", "tailnum"]
    got = {n: r["values"] for n, r in zip(names, results, strict=True)}
    store = features.feature_store(settings)
    try:
        rows = [{k: v[i] for k, v in ROWS.items()} for i in range(2)]  # Feast cannot look up a null tailnum
        expected = store.get_online_features(
            features=store.get_feature_service("delay_model_v1"), entity_rows=rows
        )
        exp = expected.to_dict()
    finally:
        close_store(store)
    for name in names[4:]:
        assert got[name][:2] == exp[name], name
    by_name = dict(zip(names, results, strict=True))
    assert by_name["flights_7d"]["values"] == [11, 0, None]
    assert by_name["flights_7d"]["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert by_name["flights_7d"]["event_timestamps"][0] == "2013-03-02T00:00:00Z"
    assert by_name["seats"]["values"] == [55, 100, None]
    assert by_name["temp"]["values"] == [40.0, None, None]

    status, err = post(port, {"feature_service": "nope", "entities": ROWS})
    assert status == 400
    assert "no feature service" in err["detail"]  # type: ignore[operator]
    status, err = post(port, {"feature_service": "delay_model_v1", "entities": {"carrier": ["UA"]}})
    assert status == 400
    status, body = post(port, {"features": ["plane:seats"], "entities": {"tailnum": ["N2"]}})
    assert body["results"][1]["values"] == [100]  # type: ignore[index]


@pytest.mark.parametrize("server", ["local", "prod"], indirect=True, ids=["sqlite", "redis"])
def test_serve_matches_feast(server: tuple[int, Settings]) -> None:
    check_against_feast(*server)
