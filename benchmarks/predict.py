"""Prediction serving: ``POST /predict`` at a fixed rate, against ``/get-online-features`` alone.

Setup: the gold tables of ``synthetic_gold`` in the prod profile (Redis online store, SQL
registry in PostgreSQL), materialized; two versions of the delay model registered in MLflow
(trained for one epoch on a synthetic training set read through the feature store: the
benchmark measures serving, not accuracy); ``featurelake serve`` in its own process, with the
prediction log on.

Measured in the same run, on the same server, over keep-alive connections, latency counted
from each request's *scheduled* time (open loop, no coordinated omission):

1. ``features``: ``/get-online-features`` for the flight's entities (the baseline);
2. ``predict``: ``/predict`` for the same flights: the same feature read, the champion's
   forward pass, the request logged;
3. ``predict_shadow``: the same with the challenger in shadow mode (two forward passes and two
   log rows per request) on a second server.

The goal: ``predict`` p99 <= 10 ms at 500 requests/s on 2 cores.

    python -m benchmarks.predict [--rate 500] [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from benchmarks._common import emit
from benchmarks.online import _closed_loop, _open_loop, _raw, served_synthetic_lake
from featurelake.features.server_process import ServerProcess, free_port, serve_command, server_token


def _train_two(settings: Any) -> None:
    """Register two versions of ``delay`` from a synthetic labelled set of the synthetic gold."""
    import numpy as np
    import pyarrow as pa

    from featurelake.catalog import Catalog
    from featurelake.features import training_set
    from featurelake.features.testing import synthetic_entities
    from featurelake.models.delay.features import add_context
    from featurelake.models.delay.train import TrainConfig, train_delay_model

    entities = synthetic_entities(20_000, seed=3).sort_by("event_timestamp")
    rng = np.random.default_rng(3)
    rows = training_set(entities, "delay_model_v1", output="arrow", settings=settings)
    assert isinstance(rows, pa.Table)
    rows = add_context(rows.append_column("is_delayed", pa.array(rng.random(rows.num_rows) < 0.3)))
    for seed in (1, 2):
        train_delay_model(
            dt.date(2013, 1, 1),
            dt.date(2014, 1, 1),
            valid_from=dt.date(2013, 10, 1),
            config=TrainConfig(epochs=1, seed=seed),
            catalog=Catalog(settings=settings),
            rows=rows,
            table_versions={},
        )


def _start(env: dict[str, str], token: str) -> tuple[subprocess.Popen[bytes], ServerProcess]:
    """``featurelake serve`` on a free port, once it answers with the champion model loaded."""
    port = free_port()
    proc = subprocess.Popen(serve_command(port), env={**os.environ, **env}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if b'"champion": "1"' in r.read():
                    return proc, ServerProcess(port, proc, token)
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("featurelake serve did not come up with a champion model")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/featurelake_test")
    args = parser.parse_args()

    from featurelake.features.testing import synthetic_entities

    procs: list[subprocess.Popen[bytes]] = []
    mlflow = {"FEATURELAKE_MLFLOW_DB": "sqlite:///{work}/mlflow.db"}
    lake = served_synthetic_lake("bench-predict-", args.redis_url, args.postgres_dsn, **mlflow)
    with lake as (env, settings):
        try:
            with contextlib.redirect_stdout(sys.stderr):
                _train_two(settings)
            flights = synthetic_entities(2000, seed=5).to_pylist()
            token = server_token(env, "ml_service")
            # champion only: canary mode with a share of 0 never scores the challenger
            champion_only = {"FEATURELAKE_CHALLENGER_MODE": "canary", "FEATURELAKE_CANARY_SHARE": "0"}
            proc, server = _start({**env, **champion_only}, token)
            procs.append(proc)
            proc, shadow = _start({**env, "FEATURELAKE_CHALLENGER_MODE": "shadow"}, token)
            procs.append(proc)
            port, shadow_port = server.port, shadow.port
            keys = ("carrier", "origin", "dest", "tailnum")
            feature_requests = [
                _raw(server, {"feature_service": "delay_model_v1", "entities": {k: [f[k]] for k in keys}})
                for f in flights
            ]

            def predict_requests(p: ServerProcess) -> list[bytes]:
                return [
                    _raw(
                        p,
                        {**{k: f[k] for k in keys}, "scheduled_departure": f["event_timestamp"].isoformat()},
                        "/predict",
                    )
                    for f in flights
                ]

            async def run() -> dict[str, Any]:
                conns = args.connections
                await _closed_loop(port, feature_requests, 1.0, conns)  # warm up both paths
                await _closed_loop(port, predict_requests(server), 1.0, conns)
                await _closed_loop(shadow_port, predict_requests(shadow), 1.0, conns)
                out = {}
                for name, p, reqs in (
                    ("features", port, feature_requests),
                    ("predict", port, predict_requests(server)),
                    ("predict_shadow", shadow_port, predict_requests(shadow)),
                ):
                    out[name] = await _open_loop(p, reqs, args.rate, args.seconds, conns)
                return out

            gc.collect()
            gc.freeze()
            result: dict[str, Any] = asyncio.run(run())
            time.sleep(1.5)  # the prediction logs' last rows
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                result["health_after"] = r.read().decode()
            f99, p99 = result["features"]["p99_ms"], result["predict"]["p99_ms"]
            result["ratios"] = {
                "predict_p99_over_features_p99": round(p99 / f99, 2),
                "predict_p50_over_features_p50": round(
                    result["predict"]["p50_ms"] / result["features"]["p50_ms"], 2
                ),
                "shadow_p99_over_predict_p99": round(result["predict_shadow"]["p99_ms"] / p99, 2),
            }
            result["goal_met"] = bool(p99 <= 10.0 and result["predict"]["req_per_s"] >= 0.95 * args.rate)
            emit(
                "predict",
                {
                    "setup": {
                        "rate": args.rate,
                        "seconds": args.seconds,
                        "connections": args.connections,
                        "feature_service": "delay_model_v1",
                        "online_store": "redis",
                        "workers": 1,
                    },
                    "note": "two servers, Redis and this load generator share the machine's 2 cores",
                    **result,
                },
            )
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
