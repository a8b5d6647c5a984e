"""``featurelake serve``: a lean HTTP endpoint for online features, the feature service as the unit.

``POST /get-online-features`` takes Feast's feature-server request body::

    {"feature_service": "delay_model_v1",
     "entities": {"carrier": ["UA"], "origin": ["EWR"], "dest": ["IAH"], "tailnum": ["N14228"]}}

(or ``"features": ["view:feature", ...]``) and answers Feast's response JSON
(``metadata.feature_names``, ``results[i].values/statuses/event_timestamps``)
from the same online store Feast's server reads.

``POST /predict`` names one flight and answers the delay model's probability from the
flight's online features, with the model version (:mod:`featurelake.models.serving`: the
champion answers, the challenger shadows or canaries; every prediction goes to
``ops.prediction_log``). ``GET /health`` answers ok, with the model versions, the challenger's
mode and the prediction log's counters.

Why not ``feast serve``: on 2 cores it answers about 290 requests/s with p99
above 800 ms (DESIGN.md). This server is one asyncio event loop (uvloop,
httptools) per worker process, plans each service once, and reads Redis with
one pipelined round trip per request through a small hiredis connection pool.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings, get_settings
from featurelake.features._online import RedisPool, ServicePlan, SqliteReader

if TYPE_CHECKING:
    from featurelake.models.prediction_log import PredictionLog
    from featurelake.models.serving import Predictor

__all__ = ["FeatureServer", "serve"]

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


class FeatureServer:
    """Plans services lazily and answers requests for one online store."""

    def __init__(self, settings: Settings | None = None, *, predictions: bool = True) -> None:
        from featurelake.features.store import close_store, feature_store

        self.settings = settings or get_settings()
        self._store = feature_store(self.settings)
        self._close_store = lambda: close_store(self._store)
        self.plans: dict[str, ServicePlan] = {}
        self.predictor: Predictor | None = None
        self.prediction_log: PredictionLog | None = None
        if predictions:
            from featurelake.catalog import Catalog
            from featurelake.models.prediction_log import PredictionLog
            from featurelake.models.serving import Predictor

            self.prediction_log = PredictionLog(Catalog(settings=self.settings))
            self.predictor = Predictor(self.settings, self.prediction_log)
        self.redis: RedisPool | None = None
        self.sqlite: SqliteReader | None = None
        if self.settings.online_store == "redis":
            self.redis = RedisPool(self.settings.redis_url)
        else:
            from feast.infra.online_stores.sqlite import SqliteOnlineStore

            self.sqlite = SqliteReader(SqliteOnlineStore._get_db_path(self._store.config))

    async def start(self) -> None:
        """Connect to the online store; load the models and start the prediction log's writer."""
        if self.redis is not None:
            await self.redis.start()
        if self.predictor is not None and self.prediction_log is not None:
            import torch

            torch.set_num_threads(1)  # one request at a time per worker: no thread pool wake-ups
            self.prediction_log.start()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.predictor.refresh)
            self._refresher = loop.create_task(self._refresh_models())

    async def _refresh_models(self) -> None:
        """Follow the registry's aliases (``models promote``/``rollback``) off the request path."""
        from featurelake.models.serving import REFRESH_S

        assert self.predictor is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(REFRESH_S)
            await loop.run_in_executor(None, self.predictor.refresh)

    def close(self) -> None:
        """Write what the prediction log holds and release the stores."""
        if self.prediction_log is not None:
            self.prediction_log.close()
        self._close_store()

    def health(self) -> dict[str, Any]:
        """``GET /health``: ok, the models answering ``/predict`` and the prediction log's counters."""
        out: dict[str, Any] = {"status": "ok"}
        if self.predictor is not None and self.prediction_log is not None:
            out["models"] = self.predictor.health()
            out["prediction_log"] = self.prediction_log.stats()
        return out

    async def predict(self, body: Any, received: float) -> dict[str, Any]:
        """Answer one ``/predict`` body: the flight's online features, scored.

        Raises:
            ValueError: a bad request (one line naming the field).
            LookupError: no champion model.
        """
        from featurelake.models.delay.features import FEATURE_SERVICE
        from featurelake.models.serving import Flight, features_of

        if self.predictor is None:
            raise LookupError("this server was started without predictions")
        flight = Flight.parse(body)
        plan = self.plan(FEATURE_SERVICE)
        entities = flight.entities
        if self.redis is not None:
            found = await self.redis.read(plan, entities, 1)
        else:
            assert self.sqlite is not None
            found = self.sqlite.read(plan, entities, 1)
        return self.predictor.predict(flight, features_of(plan.views, found), received)

    def plan(self, features: str | list[str]) -> ServicePlan:
        """The serving plan of a feature service or ref list (cached)."""
        key = features if isinstance(features, str) else ",".join(features)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = ServicePlan.from_store(self._store, features)
        return plan

    async def get_online_features(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one request body (Feast's ``GetOnlineFeaturesRequest`` shape)."""
        features = body.get("feature_service") or body.get("features")
        if not features:
            raise ValueError("give 'feature_service' or 'features'")
        entities = body.get("entities")
        if not isinstance(entities, dict):
            raise ValueError("'entities' must map join keys to lists of values")
        plan = self.plan(features)
        n = plan.rows(entities)
        if self.redis is not None:
            found = await self.redis.read(plan, entities, n)
        else:
            assert self.sqlite is not None
            found = self.sqlite.read(plan, entities, n)
        return plan.response(entities, n, found)


class _HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, parsed by httptools; one request at a time per connection."""

    def __init__(self, app: FeatureServer) -> None:
        import httptools

        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.queue: asyncio.Queue[tuple[bytes, bytes, bool]] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        import httptools

        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(400, b'{"detail": "malformed HTTP request"}', keep_alive=False)

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.queue.put_nowait((self.url, b"".join(self.body), self.parser.should_keep_alive()))
        self.url, self.body = b"", []

    async def _serve(self) -> None:
        while True:
            url, body, keep_alive = await self.queue.get()
            status, payload = await self._handle(url, body)
            self._send(status, payload, keep_alive)

    async def _handle(self, url: bytes, body: bytes) -> tuple[int, bytes]:
        received = time.perf_counter()
        path = url.split(b"?", 1)[0]
        if path == b"/health":
            return 200, json.dumps(self.app.health()).encode()
        if path == b"/predict":
            try:
                answer = await self.app.predict(json.loads(body), received)
            except (ValueError, KeyError, TypeError) as e:  # json.JSONDecodeError is a ValueError
                return 400, json.dumps({"detail": str(e)}).encode()
            except LookupError as e:
                return 503, json.dumps({"detail": str(e)}).encode()
            except Exception as e:
                return 500, json.dumps({"detail": f"{type(e).__name__}: {e}"}).encode()
            return 200, json.dumps(answer, separators=(",", ":")).encode()
        if path != b"/get-online-features":
            return 404, b'{"detail": "not found"}'
        try:
            result = await self.app.get_online_features(json.loads(body))
        except (ValueError, KeyError, TypeError) as e:
            return 400, json.dumps({"detail": str(e)}).encode()
        except Exception as e:
            return 500, json.dumps({"detail": f"{type(e).__name__}: {e}"}).encode()
        return 200, json.dumps(result, separators=(",", ":")).encode()

    def _send(self, status: int, payload: bytes, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n" % (
            status,
            _REASONS.get(status, b"Error"),
            len(payload),
            b"" if keep_alive else b"connection: close\r\n",
        )
        self.transport.write(head + payload)
        if not keep_alive:
            self.transport.close()


def _run_worker(
    host: str, port: int, settings: Settings, ready: Callable[[], None] | None, reuse: bool
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is installed with Feast
        pass

    async def main() -> None:
        app = FeatureServer(settings)
        await app.start()
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = await loop.create_server(lambda: _HttpProtocol(app), sock=sock, backlog=1024)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Everything loaded so far (Feast, pyarrow, the registry) lives for the whole process: keep
        # it out of the collector, and collect young garbage less often, to keep GC pauses out of p99.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        # The prediction log's writer and the registry poll are threads: let the event loop take
        # the GIL back after 1 ms of theirs instead of CPython's default 5 ms.
        sys.setswitchinterval(0.001)
        if ready is not None:
            ready()
        async with server:
            await stop.wait()
        app.close()

    asyncio.run(main())


def serve(
    host: str = "127.0.0.1",
    port: int = 6566,
    *,
    workers: int = 1,
    settings: Settings | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve online features until SIGINT/SIGTERM.

    Args:
        host: address to bind.
        port: TCP port (Feast's feature server uses 6566 too).
        workers: processes sharing the port (``SO_REUSEPORT``); one per core at most.
        settings: the lake and profile; the environment's when omitted.
        ready: called in each worker once it listens.
    """
    settings = settings or get_settings()
    if workers <= 1:
        _run_worker(host, port, settings, ready, reuse=False)
        return
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                _run_worker(host, port, settings, ready, reuse=True)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for pid in children:
        os.waitpid(pid, 0)
