"""The skew check, and the prod profile (Redis online store, SQL registry in PostgreSQL) end to end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_service
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.store import close_store, repo_config_dict
from featurelake.features.testing import day, tiny_gold
from featurelake.monitor.config import SkewConfig
from featurelake.monitor.skew import skew_checks

pytestmark = pytest.mark.integration


def carrier_key(carrier: str) -> bytes:
    return serialize_entity_key(
        EntityKey(join_keys=["carrier"], entity_values=[Value(string_val=carrier)]),
        entity_key_serialization_version=3,
    )


def test_skew_zero_after_materialize_and_finds_injected_mismatch(
    settings: Settings, catalog: Catalog
) -> None:
    tiny_gold(catalog)
    features.apply(settings)
    features.materialize(day(-90), day(1.5), settings=settings)
    report = features.check_skew(50, settings=settings)
    assert report.ok, report.mismatches
    assert report.checked_entities == 2 + 2 + 1 + 2  # carriers, routes, origins, planes in tiny_gold
    assert report.checked_values == 2 * 3 + 2 * 2 + 1 * 7 + 2 * 3
    # the monitor's skew check reads the same report for the model's service (the same four views)
    (check,) = skew_checks(settings, config=SkewConfig(sample_size=50))
    assert (check.subject, check.value, check.breached) == ("delay_model_v1", 0.0, False)
    assert check.detail.startswith("0 of 23 values over 7 entities differ")

    con = sqlite3.connect(settings.lake / "feast" / "online.db")
    with con:
        n = con.execute(
            "update featurelake_carrier_delay_7d set value = ? "
            "where entity_key = ? and feature_name = 'flights_7d'",
            (Value(int64_val=999).SerializeToString(), carrier_key("UA")),
        ).rowcount
    con.close()
    assert n == 1
    report = features.check_skew(50, settings=settings)
    assert [(m.view, m.key, m.feature, m.online, m.offline) for m in report.mismatches] == [
        ("carrier_delay_7d", {"carrier": "UA"}, "flights_7d", 999, 11)
    ]
    (check,) = skew_checks(settings, config=SkewConfig(sample_size=50, max_mismatch_rate=0.01))
    assert (check.value, check.breached) == (pytest.approx(1 / 23), True)
    assert "carrier_delay_7d.flights_7d online 999, offline 11" in check.detail


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    require_service("redis", 6379)
    require_service("postgres", 5432)
    import redis

    env = {
        "FEATURELAKE_PROFILE": "prod",
        "FEATURELAKE_LAKE": str(tmp_path / "lake"),
        "FEATURELAKE_REDIS_URL": "redis://127.0.0.1:6379/13",
        "FEATURELAKE_POSTGRES_DSN": "postgresql://postgres@127.0.0.1:5432/featurelake_test",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = get_settings()
    redis.Redis.from_url(settings.redis_url).flushdb()
    yield settings
    redis.Redis.from_url(settings.redis_url).flushdb()
    store = features.feature_store(settings)
    store.registry.teardown()
    close_store(store)


def test_prod_profile_config() -> None:
    s = get_settings({"FEATURELAKE_PROFILE": "prod", "FEATURELAKE_REDIS_URL": "redis://:pw@10.0.0.1:6380/2"})
    d = repo_config_dict(s)
    assert d["online_store"] == {"type": "redis", "connection_string": "10.0.0.1:6380,db=2,password=pw"}
    assert d["registry"]["registry_type"] == "sql"
    assert d["registry"]["path"] == "postgresql+psycopg://postgres@127.0.0.1:5432/featurelake"
    assert d["offline_store"] == {"type": "duckdb"}
    assert d["batch_engine"] == {"type": "featurelake.features.engine.FeaturelakeEngine"}
    local = repo_config_dict(get_settings({"FEATURELAKE_LAKE": "/x"}))
    assert local["online_store"] == {"type": "sqlite", "path": "/x/feast/online.db"}
    assert local["registry"]["registry_type"] == "file"


def test_prod_profile_against_real_redis_and_postgres(prod: Settings) -> None:
    tiny_gold(Catalog(settings=prod))
    features.apply(prod)
    store = features.feature_store(prod)
    assert type(store.registry).__name__ == "SqlRegistry"
    assert {fv.name for fv in store.list_feature_views()} >= {"carrier_delay_7d", "plane", "origin_weather"}
    close_store(store)
    features.materialize(day(-90), day(1.5), settings=prod)
    rows = features.online_features(
        [{"carrier": "UA", "origin": "EWR", "dest": "IAH", "tailnum": "N1"}], settings=prod
    )
    assert rows["flights_7d"] == [11]
    assert rows["temp"] == [40.0]
    assert rows["seats"] == [55]
    assert features.check_skew(20, settings=prod).ok
    out = features.training_set(
        [{"carrier": "UA", "origin": "EWR", "dest": "IAH", "tailnum": "N1", "event_timestamp": day(1.5)}],
        settings=prod,
    )
    assert out.loc[0, "flights_7d"] == 11
