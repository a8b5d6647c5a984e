"""Online serving: ``featurelake serve`` over Redis at 1 entity x ``delay_model_v1``, against the Redis floor.

Setup: gold tables with the contract's shapes (``synthetic_gold``), the prod
profile (Redis online store, SQL registry in PostgreSQL), materialized with
the fast engine; ``featurelake serve`` runs in its own process.

Measured in the same run, all on this machine (the load generator shares the
cores with the server and Redis):

1. ``open_loop``: requests scheduled at a fixed rate (``--rate``, default
   1,050/s, so that the rate served clears the goal's 1,000/s) for
   ``--seconds``, over keep-alive connections; latency is counted from each
   request's *scheduled* time (no coordinated omission), so a server that falls
   behind shows it in p99. The goal is judged on this run.
2. ``open_loop_headroom``: the same at ``--headroom-rate`` (default 2,000/s).
3. ``closed_loop``: ``--connections`` clients back to back: the most requests/s.
4. ``redis_floor``: the same keys read straight from Redis with the same
   pipelined ``HMGET`` (one round trip, no HTTP, no JSON): the floor.

The load generator is Python too: its heap (Feast, pyarrow, pandas) is frozen
out of the garbage collector before measuring, because a full collection of it
pauses the generator for about 200 ms, which would be counted against the
server (every request scheduled during the pause is late).

    python -m benchmarks.online [--rate 1050] [--headroom-rate 2000] [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._common import emit
from featurelake.features.server_process import ServerProcess, started_server


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000 if s else float("nan")


def _summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(_pct(latencies, 50), 3),
        "p99_ms": round(_pct(latencies, 99), 3),
        "max_ms": round(max(latencies) * 1000, 3) if latencies else float("nan"),
    }


class _Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> bytes:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"server answered {head.splitlines()[0]!r}: {body[:200]!r}")
        return body


def _raw(server: ServerProcess, body: dict[str, Any], path: str = "/get-online-features") -> bytes:
    """One POST of ``body`` to ``server``, with its bearer token, as raw bytes."""
    data = json.dumps(body).encode()
    return (
        b"POST %s HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer %s\r\ncontent-length: %d\r\n\r\n%s"
        % (path.encode(), server.port, server.token.encode(), len(data), data)
    )


async def _clients(port: int, n: int) -> list[_Client]:
    out = []
    for _ in range(n):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out.append(_Client(r, w))
    return out


async def _open_loop(
    port: int, requests: list[bytes], rate: float, seconds: float, conns: int
) -> dict[str, Any]:
    clients = await _clients(port, conns)
    idle: asyncio.Queue[_Client] = asyncio.Queue()
    for c in clients:
        idle.put_nowait(c)
    from_due: list[float] = []
    from_send: list[float] = []
    clock = time.perf_counter  # uvloop's loop.time() has millisecond resolution
    start = clock() + 0.05
    total = int(rate * seconds)

    async def one(i: int, due: float) -> None:
        client = await idle.get()
        sent = clock()
        try:
            await client.request(requests[i % len(requests)])
        finally:
            idle.put_nowait(client)
        done = clock()
        from_due.append(done - due)
        from_send.append(done - sent)

    pending: set[asyncio.Task[None]] = set()
    i = 0
    while i < total:
        now = clock()
        while i < total and start + i / rate <= now:  # everything due by now, then a short nap
            task = asyncio.create_task(one(i, start + i / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        await asyncio.sleep(0.0002)
    await asyncio.gather(*pending)  # only the few still in flight: gathering all would delay the last
    elapsed = clock() - start
    for c in clients:
        c.writer.close()
    out: dict[str, Any] = _summary(from_due, elapsed)
    out["target_req_per_s"] = rate
    out["from_send"] = _summary(from_send, elapsed)
    return out


async def _closed_loop(port: int, requests: list[bytes], seconds: float, conns: int) -> dict[str, float]:
    clients = await _clients(port, conns)
    latencies: list[float] = []
    clock = time.perf_counter
    stop = clock() + seconds

    async def run(client: _Client, offset: int) -> None:
        i = offset
        while clock() < stop:
            t0 = clock()
            await client.request(requests[i % len(requests)])
            latencies.append(clock() - t0)
            i += conns

    t0 = clock()
    await asyncio.gather(*(run(c, k) for k, c in enumerate(clients)))
    for c in clients:
        c.writer.close()
    return _summary(latencies, clock() - t0)


async def _floor(settings: Any, rows: list[dict[str, Any]], seconds: float, conns: int) -> dict[str, Any]:
    from featurelake.features._online import RedisPool, ServicePlan
    from featurelake.features.store import close_store, feature_store

    store = feature_store(settings)
    plan = ServicePlan.from_store(store, "delay_model_v1")
    close_store(store)
    pool = RedisPool(settings.redis_url, size=conns)
    await pool.start()
    clock = time.perf_counter
    sequential: list[float] = []
    stop = clock() + seconds / 2
    i = 0
    while clock() < stop:
        t0 = clock()
        await pool.read(plan, {k: [v] for k, v in rows[i % len(rows)].items()}, 1)
        sequential.append(clock() - t0)
        i += 1
    concurrent: list[float] = []
    stop = clock() + seconds / 2

    async def run(offset: int) -> None:
        j = offset
        while clock() < stop:
            t0 = clock()
            await pool.read(plan, {k: [v] for k, v in rows[j % len(rows)].items()}, 1)
            concurrent.append(clock() - t0)
            j += conns

    t0 = clock()
    await asyncio.gather(*(run(k) for k in range(conns)))
    return {
        "sequential": _summary(sequential, seconds / 2),
        "concurrent": _summary(concurrent, clock() - t0),
    }


@contextlib.contextmanager
def served_synthetic_lake(
    prefix: str, redis_url: str, postgres_dsn: str, **extra_env: str
) -> Iterator[tuple[dict[str, str], Any]]:
    """The prod profile over a fresh lake of ``synthetic_gold``, materialized into Redis.

    Yields the environment (``FEATURELAKE_*``) and its settings; afterwards the Feast registry is
    torn down, the Redis database flushed and the lake removed.
    """
    import redis

    from featurelake import features
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.features.store import close_store, feature_store
    from featurelake.features.testing import synthetic_gold

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    work = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        "FEATURELAKE_PROFILE": "prod",
        "FEATURELAKE_LAKE": str(work / "lake"),
        "FEATURELAKE_REDIS_URL": redis_url,
        "FEATURELAKE_POSTGRES_DSN": postgres_dsn,
        **{k: v.format(work=work) for k, v in extra_env.items()},
    }
    settings = get_settings(env)
    redis.Redis.from_url(redis_url).flushdb()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            synthetic_gold(Catalog(settings=settings))
            features.apply(settings)
            features.materialize("2013-01-01", "2014-01-02", settings=settings)
        yield env, settings
    finally:
        store = feature_store(settings)
        store.registry.teardown()
        close_store(store)
        redis.Redis.from_url(redis_url).flushdb()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1050.0)
    parser.add_argument("--headroom-rate", type=float, default=2000.0, help="0 skips the headroom run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/featurelake_test")
    args = parser.parse_args()

    from featurelake.features.testing import synthetic_entities

    with (
        served_synthetic_lake("bench-online-", args.redis_url, args.postgres_dsn) as (env, settings),
        started_server(
            env, settings.lake.parent / "serve.log", role="ml_service", args=["--workers", str(args.workers)]
        ) as server,
    ):
        port = server.port
        rows = synthetic_entities(2000, seed=5).drop(["event_timestamp"]).to_pylist()
        random.seed(0)
        requests = [
            _raw(server, {"feature_service": "delay_model_v1", "entities": {k: [v] for k, v in r.items()}})
            for r in rows
        ]
        check = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{server.url}/get-online-features",
                    data=requests[0].split(b"\r\n\r\n", 1)[1],
                    headers=server.auth,
                )
            ).read()
        )
        present = sum(s == "PRESENT" for r in check["results"][4:] for s in r["statuses"])

        async def run() -> dict[str, Any]:
            await _closed_loop(port, requests, 1.0, args.connections)  # warm up
            out = {"open_loop": await _open_loop(port, requests, args.rate, args.seconds, args.connections)}
            if args.headroom_rate:
                out["open_loop_headroom"] = await _open_loop(
                    port, requests, args.headroom_rate, args.seconds, args.connections
                )
            return {
                **out,
                "closed_loop": await _closed_loop(port, requests, args.seconds / 2, args.connections),
                "redis_floor": await _floor(settings, rows, args.seconds / 2, args.connections),
            }

        gc.collect()
        gc.freeze()
        result = asyncio.run(run())
        result["features_present_in_sample_response"] = f"{present}/15"
        ol = result["open_loop"]
        result["goal_met"] = bool(ol["p99_ms"] <= 5.0 and ol["req_per_s"] >= 1000)
        emit(
            "online",
            {
                "setup": {
                    "workers": args.workers,
                    "connections": args.connections,
                    "rate": args.rate,
                    "headroom_rate": args.headroom_rate,
                    "seconds": args.seconds,
                    "entity_rows_per_request": 1,
                    "feature_service": "delay_model_v1",
                    "features": 15,
                },
                "note": "server, Redis and this load generator share the 2 cores (and other work)",
                **result,
            },
        )


if __name__ == "__main__":
    main()
