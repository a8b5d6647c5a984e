"""``featurelake serve`` answers what Feast's get_online_features answers, on SQLite and on Redis."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_service

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.server_process import ServerProcess, server_token, started_server
from featurelake.features.store import close_store
from featurelake.features.testing import day, tiny_gold
from featurelake.governance.tokens import list_tokens

pytestmark = pytest.mark.integration

ROWS = {
    "carrier": ["UA", "AA", "ZZ"],
    "origin": ["EWR", "JFK", "LGA"],
    "dest": ["IAH", "IAH", "ORD"],
    "tailnum": ["N1", "N2", None],
}


def post(server: ServerProcess, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        f"{server.url}/get-online-features",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **server.auth},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServerProcess, Settings]]:
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
    try:
        with started_server(env, tmp_path / "serve.log") as running:
            yield running, settings
    finally:
        if settings.profile == "prod":
            store = features.feature_store(settings)
            store.registry.teardown()
            close_store(store)


def check_against_feast(server: ServerProcess, settings: Settings) -> None:
    status, body = post(server, {"feature_service": "delay_model_v1", "entities": ROWS})
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

    status, err = post(server, {"feature_service": "nope", "entities": ROWS})
    assert status == 400
    assert "no feature service" in err["detail"]  # type: ignore[operator]
    status, err = post(server, {"feature_service": "delay_model_v1", "entities": {"carrier": ["UA"]}})
    assert status == 400
    status, body = post(server, {"features": ["plane:seats"], "entities": {"tailnum": ["N2"]}})
    assert body["results"][1]["values"] == [100]  # type: ignore[index]


@pytest.mark.parametrize("server", ["local", "prod"], indirect=True, ids=["sqlite", "redis"])
def test_serve_matches_feast(server: tuple[ServerProcess, Settings]) -> None:
    check_against_feast(*server)


def test_the_server_wants_a_token_and_the_roles_grant(tmp_path: Path) -> None:
    """No token: 401; an unknown one: 401; analyst on delay_model_v1: 403 (policy.toml); a revoked
    token stops working without a restart; ml_service reads its service but no ad-hoc views."""
    from featurelake.governance.tokens import revoke_token

    env = {"FEATURELAKE_LAKE": str(tmp_path / "lake")}
    settings = get_settings(env)
    tiny_gold(Catalog(settings=settings))
    features.apply(settings)
    features.materialize(day(-90), day(1.5), settings=settings)
    body = {"feature_service": "delay_model_v1", "entities": ROWS}
    with started_server(env, tmp_path / "serve.log", role="analyst") as analyst:
        status, err = post(ServerProcess(analyst.port, analyst.proc, ""), body)
        assert status == 401
        assert "bearer token is required" in err["detail"]
        status, err = post(ServerProcess(analyst.port, analyst.proc, "flk_forged"), body)
        assert status == 401
        assert "not known" in err["detail"]
        status, err = post(analyst, body)
        assert status == 403
        assert err["detail"] == "role analyst may not read feature service delay_model_v1"
        scorer = ServerProcess(analyst.port, analyst.proc, server_token(env, "ml_service"))
        status, answer = post(scorer, body)
        assert status == 200
        assert answer["results"][4]["values"][0] is not None
        status, err = post(scorer, {"features": ["plane:seats"], "entities": {"tailnum": ["N2"]}})
        assert status == 403
        assert "feature view(s) plane" in err["detail"]
        (name,) = [t["name"] for t in list_tokens(settings) if t["role"] == "ml_service"]
        revoke_token(name, settings)
        status, _ = post(scorer, body)
        assert status == 401
    tokens = settings.tokens_file
    assert tokens.stat().st_mode & 0o777 == 0o600
    assert scorer.token not in tokens.read_text()  # kept hashed
    # every answer is in the audit log (written by the server on its way out at the latest)
    from deltalake import DeltaTable

    audit = DeltaTable(Catalog(settings=settings).path("ops.audit_log")).to_pyarrow_table().to_pylist()
    # requests answered alike within one write interval share a row, with their count
    seen: dict[tuple[str, str, str], list[int]] = {}
    for r in audit:
        counted = seen.setdefault((r["status"], r["role"] or "-", r["target"]), [0, 0])
        counted[0] += r["requests"]
        counted[1] += r["entities"] or 0
    assert seen == {
        ("200", "ml_service", "delay_model_v1"): [1, 3],
        ("401", "-", "/get-online-features"): [3, 0],
        ("403", "analyst", "delay_model_v1"): [1, 3],
        ("403", "ml_service", "views:plane"): [1, 1],
    }
    assert {r["actor"] for r in audit if r["role"] == "ml_service"} == {name}
    assert all(r["action"] == "serve" for r in audit)
