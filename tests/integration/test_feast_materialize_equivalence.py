"""featurelake's engine leaves the online stores byte-for-byte as Feast's local engine does.

Two lakes with the same gold rows; one is materialized by Feast's ``local``
engine, the other by ``FeaturelakeEngine``, through the same sequence of
windows (including a stale one, which Feast's Redis store skips and its SQLite
store overwrites). After each step the SQLite tables / Redis hashes must be
identical, and Feast's reader must return the same values from both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_service

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features.store import feature_store
from featurelake.features.testing import day, tiny_gold

pytestmark = pytest.mark.integration

WINDOWS = [(day(-60), day(0.5)), (day(-60), day(10)), (day(-60), day(1.2))]
ENTITY_ROWS = [
    {"carrier": c, "origin": o, "dest": d, "tailnum": t}
    for c, o, d, t in [("UA", "EWR", "IAH", "N1"), ("AA", "JFK", "IAH", "N2"), ("ZZ", "LGA", "ORD", "N0")]
]


def two_lakes(tmp_path: Path) -> tuple[Settings, Settings]:
    out = []
    for name in ("feast", "ours"):
        s = Settings(lake=tmp_path / name)
        tiny_gold(Catalog(settings=s))
        out.append(s)
    return out[0], out[1]


def sqlite_dump(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(settings.lake / "feast" / "online.db")
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by 1")]
        return {
            t: sorted(
                con.execute(
                    f'select entity_key, feature_name, value, value_text, event_ts, created_ts from "{t}"'
                ).fetchall()
            )
            for t in tables
        }
    finally:
        con.close()


def test_sqlite_equivalence(tmp_path: Path) -> None:
    theirs, ours = two_lakes(tmp_path)
    feast_store = feature_store(theirs, engine="local")
    our_store = feature_store(ours)
    features.apply(theirs, store=feast_store)
    features.apply(ours, store=our_store)
    for start, end in WINDOWS:
        feast_store.materialize(start, end)
        stats = features.materialize(start, end, store=our_store)
        assert stats["carrier_delay_7d"]["rows"] >= 1
        dumped = sqlite_dump(ours)
        assert dumped == sqlite_dump(theirs)
        assert sum(len(v) for v in dumped.values()) > 0
    read_ours = features.online_features(ENTITY_ROWS, store=our_store)
    assert read_ours == features.online_features(ENTITY_ROWS, store=feast_store)
    assert read_ours["flights_7d"] == [11, 0, None]  # online keeps values past their TTL; ZZ is unknown
    assert read_ours["seats"] == [55, 100, None]


@pytest.fixture
def redis_dbs() -> Iterator[tuple[str, str]]:
    require_service("redis", 6379)
    import redis

    urls = ("redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/15")
    for url in urls:
        redis.Redis.from_url(url).flushdb()
    yield urls
    for url in urls:
        redis.Redis.from_url(url).flushdb()


def redis_dump(url: str) -> dict[bytes, dict[bytes, bytes]]:
    import redis

    client = redis.Redis.from_url(url)
    return {k: client.hgetall(k) for k in client.scan_iter(count=1000)}


def test_redis_equivalence(tmp_path: Path, redis_dbs: tuple[str, str]) -> None:
    from featurelake.features.store import redis_connection_string

    theirs, ours = two_lakes(tmp_path)
    feast_store = feature_store(
        theirs,
        engine="local",
        online_store={"type": "redis", "connection_string": redis_connection_string(redis_dbs[0])},
    )
    our_store = feature_store(
        ours, online_store={"type": "redis", "connection_string": redis_connection_string(redis_dbs[1])}
    )
    features.apply(theirs, store=feast_store)
    features.apply(ours, store=our_store)
    for start, end in WINDOWS:
        feast_store.materialize(start, end)
        features.materialize(start, end, store=our_store)
        dumped = redis_dump(redis_dbs[1])
        assert dumped == redis_dump(redis_dbs[0])
        assert dumped
    read_ours = features.online_features(ENTITY_ROWS, store=our_store)
    assert read_ours == features.online_features(ENTITY_ROWS, store=feast_store)
    assert read_ours["flights_7d"][0] == 14  # Redis kept the newer day(4) row when day(1.2) came later
