"""featurelake's materialization engine against Feast's own (``FeatureStore.materialize``, local engine).

One synthetic Delta feature table (default: the reference workload, 2M rows,
200k entities, 10 double features) is materialized into each online store
(SQLite file, Redis) by Feast's ``local`` engine and by ``FeaturelakeEngine``,
same table, same store, same run; the store is emptied before each run. A
sample of keys is then compared byte for byte. Reports seconds, entities/s
and the speed-up per store (goal: >= 10x on Redis).

    python -m benchmarks.materialize [--rows 2000000] [--entities 200000] [--features 10] \
        [--stores redis,sqlite] [--redis-url redis://127.0.0.1:6379/11] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import emit, median


def _view(path: str, features: int) -> tuple[Any, Any]:
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.data_format import DeltaFormat
    from feast.types import Float64, String

    entity = Entity(name="entity", join_keys=["entity_id"], value_type=ValueType.STRING)
    source = FileSource(
        name="bench_src", path=path, file_format=DeltaFormat(), timestamp_field="event_timestamp"
    )
    view = FeatureView(
        name="bench_fv",
        entities=[entity],
        ttl=timedelta(days=400),
        schema=[Field(name="entity_id", dtype=String)]
        + [Field(name=f"f{i}", dtype=Float64) for i in range(features)],
        source=source,
    )
    return entity, view


def _clear(kind: str, store: Any, redis_url: str) -> None:
    if kind == "redis":
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    else:
        con = sqlite3.connect(store.config.online_store.path)
        with con:
            con.execute('DELETE FROM "bench_bench_fv"')
        con.close()


def _sample(kind: str, store: Any, redis_url: str, n: int = 2000) -> list[Any]:
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = sorted(client.scan_iter(count=10_000))[:n]
        return [(k, sorted(client.hgetall(k).items())) for k in keys]
    con = sqlite3.connect(store.config.online_store.path)
    rows = con.execute(
        'select entity_key, feature_name, value, value_text, event_ts, created_ts from "bench_bench_fv" '
        f"order by entity_key, feature_name limit {n * 10}"
    ).fetchall()
    con.close()
    return rows


def _count(kind: str, store: Any, redis_url: str) -> int:
    if kind == "redis":
        import redis

        return int(redis.Redis.from_url(redis_url).dbsize())
    con = sqlite3.connect(store.config.online_store.path)
    n = con.execute('select count(distinct entity_key) from "bench_bench_fv"').fetchone()[0]
    con.close()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--stores", default="redis,sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from deltalake import write_deltalake
    from feast import FeatureStore, RepoConfig

    from featurelake.features.store import redis_connection_string
    from featurelake.features.testing import synthetic_feature_table
    from featurelake.sql import install_delta_extension

    install_delta_extension()
    work = Path(tempfile.mkdtemp(prefix="bench-materialize-"))
    try:
        table = synthetic_feature_table(rows=args.rows, entities=args.entities, features=args.features)
        path = str(work / "gold" / "bench")
        write_deltalake(path, table, partition_by=["event_date"])
        entity, view = _view(path, args.features)
        start, end = datetime(2012, 12, 1, tzinfo=UTC), datetime(2014, 1, 2, tzinfo=UTC)
        results: dict[str, Any] = {}
        for kind in args.stores.split(","):
            online = (
                {"type": "redis", "connection_string": redis_connection_string(args.redis_url)}
                if kind == "redis"
                else {"type": "sqlite", "path": str(work / "online.db")}
            )
            stores = {}
            for engine in ("feast", "featurelake"):
                config = RepoConfig(
                    project="bench",
                    provider="local",
                    registry=str(work / f"registry-{kind}-{engine}.db"),
                    offline_store={"type": "duckdb"},
                    online_store=online,
                    batch_engine="local"
                    if engine == "feast"
                    else {"type": "featurelake.features.engine.FeaturelakeEngine"},
                    entity_key_serialization_version=3,
                )
                config.repo_path = work
                store = FeatureStore(config=config)
                store.apply([entity, view])
                stores[engine] = store
            times: dict[str, list[float]] = {"feast": [], "featurelake": []}
            samples = {}
            for _ in range(args.repeats):
                for engine in ("feast", "featurelake"):
                    _clear(kind, stores[engine], args.redis_url)
                    t0 = time.perf_counter()
                    with contextlib.redirect_stdout(sys.stderr):  # Feast prints progress: keep stdout JSON
                        stores[engine].materialize(start, end, feature_views=["bench_fv"])
                    times[engine].append(time.perf_counter() - t0)
                    samples[engine] = (
                        _sample(kind, stores[engine], args.redis_url),
                        _count(kind, stores[engine], args.redis_url),
                    )
            feast_s, ours_s = median(times["feast"]), median(times["featurelake"])
            results[kind] = {
                "feast_s": round(feast_s, 3),
                "featurelake_s": round(ours_s, 3),
                "feast_entities_per_s": round(args.entities / feast_s),
                "featurelake_entities_per_s": round(args.entities / ours_s),
                "speedup": round(feast_s / ours_s, 2),
                "entities_written": samples["featurelake"][1],
                "sample_identical": samples["feast"] == samples["featurelake"],
                "all_feast_s": [round(t, 3) for t in times["feast"]],
                "all_featurelake_s": [round(t, 3) for t in times["featurelake"]],
            }
            engine_obj = stores["featurelake"]._get_provider().batch_engine
            results[kind]["featurelake_breakdown"] = {
                k: round(v, 3) for k, v in engine_obj.last_stats.get("bench_fv", {}).items()
            }
            _clear(kind, stores["featurelake"], args.redis_url)
        emit(
            "materialize",
            {
                "workload": {"rows": args.rows, "entities": args.entities, "features": args.features},
                "note": "2 cores shared with other work; same table and store for both engines, same run",
                "results": results,
            },
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
