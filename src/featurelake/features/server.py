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
import logging
import os
import signal
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings, get_settings
from featurelake.features._online import RedisPool, ServicePlan, SqliteReader

if TYPE_CHECKING:
    from featurelake.governance.policy import Role
    from featurelake.models.prediction_log import PredictionLog
    from featurelake.models.serving import Predictor

__all__ = ["FeatureServer", "serve"]

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Content Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
_ROUTES = {b"/get-online-features": b"POST", b"/predict": b"POST", b"/health": b"GET"}
"""Each path and the one method it answers (405 with ``allow`` for any other)."""
CHUNK_ROWS = 1_000
"""Entity rows read per step of a large request; the event loop serves others between steps."""
_QUEUED = 8
"""Pipelined requests one connection may queue before the server stops reading from it."""

AUDIT_INTERVAL_S = 10.0
"""How often the server commits its audit counts. Each commit is a Delta write whose Rust threads
compete with the event loop on a small machine; counts (not rows) make a long interval cheap in
memory, and SIGTERM writes what is counted. A SIGKILL loses at most this many seconds of counts."""

access_log = logging.getLogger("featurelake.access")


class TooLargeError(ValueError):
    """A request past one of the server's limits: answered 413 with the limit's name."""


class RequestError(ValueError):
    """A request the server cannot answer as sent: answered 400 with the reason."""


class ForbiddenError(PermissionError):
    """The token's role may not read what the request asks for: answered 403 with the reason."""


class FeatureServer:
    """Plans services lazily and answers requests for one online store."""

    def __init__(self, settings: Settings | None = None, *, predictions: bool = True) -> None:
        from featurelake.features.store import close_store, feature_store
        from featurelake.governance.policy import load_policy
        from featurelake.governance.tokens import TokenBook

        self.settings = settings or get_settings()
        self.policy = load_policy(self.settings)
        self.tokens = TokenBook(self.settings.tokens_file)
        """Bearer tokens to roles: every path but ``/health`` needs one (401 without, 403 past the role)."""
        self._store = feature_store(self.settings)
        self._close_store = lambda: close_store(self._store)
        self.plans: OrderedDict[str, ServicePlan] = OrderedDict()
        """Serving plans by feature list, least recently used first (``serve_plan_cache`` at most)."""
        self.predictor: Predictor | None = None
        self.prediction_log: PredictionLog | None = None
        if predictions:
            from featurelake.catalog import Catalog
            from featurelake.models.prediction_log import PredictionLog
            from featurelake.models.serving import Predictor

            self.prediction_log = PredictionLog(Catalog(settings=self.settings))
            self.predictor = Predictor(self.settings, self.prediction_log)
        from featurelake.catalog import Catalog
        from featurelake.governance.audit import AuditLog

        self.audit = AuditLog(Catalog(settings=self.settings), interval=AUDIT_INTERVAL_S)
        """Every answered request but ``/health``: caller, role, service, entity rows, status."""
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
        self.audit.start()
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
        self.audit.close()
        self._close_store()

    def health(self) -> dict[str, Any]:
        """``GET /health``: ok, the models answering ``/predict`` and the prediction log's counters."""
        out: dict[str, Any] = {"status": "ok", "audit_log": self.audit.stats()}
        if self.predictor is not None and self.prediction_log is not None:
            out["models"] = self.predictor.health()
            out["prediction_log"] = self.prediction_log.stats()
        return out

    def caller(self, authorization: bytes) -> tuple[str, Role | None]:
        """The token's name and policy role from an ``authorization: Bearer <token>`` header;
        ``("-", None)`` without a known token."""
        scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "-", None
        held = self.tokens.holder(token.strip())
        if held is None:
            return "-", None
        return held[0], self.policy.roles.get(held[1])

    async def predict(self, body: Any, received: float, role: Role) -> dict[str, Any]:
        """Answer one ``/predict`` body: the flight's online features, scored.

        Raises:
            ValueError: a bad request (one line naming the field).
            ForbiddenError: ``role`` may not read the model's feature service.
            LookupError: no champion model.
        """
        from featurelake.models.delay.features import FEATURE_SERVICE
        from featurelake.models.serving import Flight, features_of

        if not role.serves(FEATURE_SERVICE):
            raise ForbiddenError(
                f"role {role.name} may not read feature service {FEATURE_SERVICE}, which /predict reads"
            )
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
        """The serving plan of a feature service or ref list (cached, least recently used evicted)."""
        key = features if isinstance(features, str) else ",".join(features)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = ServicePlan.from_store(self._store, features)
            while len(self.plans) > self.settings.serve_plan_cache:
                self.plans.popitem(last=False)
        else:
            self.plans.move_to_end(key)
        return plan

    def _checked(self, body: Any) -> tuple[str | list[str], dict[str, list[Any]]]:
        """The request's feature list and entity columns, checked against the server's limits.

        Raises:
            RequestError: the body is not the request's shape (400, naming what is wrong).
            TooLargeError: more entity rows than ``serve_max_entities`` (413).
        """
        if not isinstance(body, dict):
            raise RequestError(f"the body must be a JSON object, got a JSON {_json_type(body)}")
        features = body.get("feature_service") or body.get("features")
        if not features:
            raise RequestError("give 'feature_service' (a name) or 'features' (a list of 'view:feature')")
        if isinstance(features, list):
            if not all(isinstance(f, str) for f in features):
                raise RequestError("'features' must be a list of strings 'view:feature'")
            if len(features) > self.settings.serve_max_features:
                raise RequestError(
                    f"'features' names {len(features):,} references; at most "
                    f"{self.settings.serve_max_features:,} (FEATURELAKE_SERVE_MAX_FEATURES)"
                )
        elif not isinstance(features, str):
            what = (
                "'feature_service' must be a string"
                if body.get("feature_service")
                else ("'features' must be a list of strings 'view:feature'")
            )
            raise RequestError(f"{what}, got a JSON {_json_type(features)}")
        entities = body.get("entities")
        if not isinstance(entities, dict):
            raise RequestError("'entities' must map join keys to lists of values")
        for key, column in entities.items():
            if not isinstance(column, list):
                raise RequestError(
                    f"entities[{key!r}] must be a list of values, got a JSON {_json_type(column)}"
                )
            if len(column) > self.settings.serve_max_entities:
                raise TooLargeError(
                    f"entities[{key!r}] has {len(column):,} rows; at most "
                    f"{self.settings.serve_max_entities:,} per request (FEATURELAKE_SERVE_MAX_ENTITIES)"
                )
            for value in column:
                if value is None or isinstance(value, str):
                    continue
                if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
                    continue
                raise RequestError(
                    f"entities[{key!r}] holds {_short(value)}: a join key value is a string, a 64-bit "
                    "integer or null"
                )
        return features, entities

    async def get_online_features(self, body: Any, role: Role) -> dict[str, Any]:
        """Answer one request body (Feast's ``GetOnlineFeaturesRequest`` shape) for ``role``.

        A request of more than :data:`CHUNK_ROWS` rows is read a chunk at a time, the event loop
        answering other clients between chunks.

        Raises:
            RequestError: a malformed request; TooLargeError: one past a limit.
            ForbiddenError: the role may not read the service, or a view the list names.
        """
        features, entities = self._checked(body)
        if isinstance(features, str):
            if not role.serves(features):
                raise ForbiddenError(f"role {role.name} may not read feature service {features}")
        else:
            views = sorted({f.split(":", 1)[0] for f in features})
            refused = [v for v in views if not role.serves_views([v])]
            if refused:
                raise ForbiddenError(f"role {role.name} may not read feature view(s) {', '.join(refused)}")
        plan = self.plan(features)
        n = plan.rows(entities)
        found: list[list[Any]] = [[] for _ in plan.views]
        for start in range(0, max(n, 1), CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            part = entities if n <= CHUNK_ROWS else {k: entities[k][start:stop] for k in plan.join_keys}
            if self.redis is not None:
                got = await self.redis.read(plan, part, stop - start)
            else:
                assert self.sqlite is not None
                got = self.sqlite.read(plan, part, stop - start)
                if n > CHUNK_ROWS:
                    await asyncio.sleep(0)
            for rows, more in zip(found, got, strict=True):
                rows.extend(more)
        return plan.response(entities, n, found)


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    """A value for a one-line error: its JSON, cut at 40 characters."""
    text = json.dumps(value) if not isinstance(value, int) or abs(value) < 10**40 else f"{str(value)[:37]}..."
    return text if len(text) <= 40 else f"{text[:37]}..."


class _HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, parsed by httptools; one request at a time per connection.

    Guards: a body past ``serve_max_body_bytes`` is answered 413 without being read; a request
    not complete ``serve_request_timeout_s`` after its first byte gets 408; an idle keep-alive
    connection closes after ``serve_idle_timeout_s``; a client pipelining more than
    :data:`_QUEUED` requests is not read from until the server catches up. Each request gets one
    line in the access log.
    """

    def __init__(self, app: FeatureServer) -> None:
        import httptools

        self.app = app
        self.limits = app.settings
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer = "-"
        self.url = b""
        self.auth = b""
        self.body: list[bytes] = []
        self.body_bytes = 0
        self.seen: tuple[str, Role | None, str | None, int | None] = ("-", None, None, None)
        """The caller, role, target and entity rows of the request being answered (for the audit log)."""
        self.refused: tuple[int, str] | None = None
        """An answer decided before the body was read (413): sent, then the connection closes."""
        self.queue: asyncio.Queue[tuple[bytes, bytes, bytes, bytes, bool, tuple[int, str] | None]] = (
            asyncio.Queue()
        )
        self.worker: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.paused = False
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "-"
        self.worker = asyncio.get_running_loop().create_task(self._serve())
        self._arm(self.limits.serve_idle_timeout_s, None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.worker is not None:
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        import httptools

        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._refuse(400, "malformed HTTP request")

    # timers
    def _arm(self, seconds: float, status: int | None) -> None:
        """Close the connection in ``seconds`` (idle), after a ``status`` answer when given."""
        self._disarm()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._expire, status)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self, status: int | None) -> None:
        self.timer = None
        if status is None:  # idle keep-alive connection
            self._close()
        else:
            limit = self.limits.serve_request_timeout_s
            self._refuse(status, f"the request was not complete within {limit:g} s")

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` now, in order after what is queued, and stop reading this connection."""
        self.closing = True
        if self.transport is not None:
            self.transport.pause_reading()
        self.queue.put_nowait((b"", self.url, b"", b"", False, (status, reason)))

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._arm(self.limits.serve_request_timeout_s, 408)
        self.body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"authorization":
            self.auth = value
        elif lower == b"content-length" and value.strip().isdigit():
            if int(value) > self.limits.serve_max_body_bytes:
                self._too_large()

    def on_body(self, body: bytes) -> None:
        if self.closing:
            return
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.serve_max_body_bytes:
            self._too_large()
            return
        self.body.append(body)

    def _too_large(self) -> None:
        if not self.closing:
            self.body = []
            limit = self.limits.serve_max_body_bytes
            self._refuse(413, f"the body is over {limit:,} bytes (FEATURELAKE_SERVE_MAX_BODY_BYTES)")

    def on_message_complete(self) -> None:
        self._disarm()
        if self.closing:
            return
        method = self.parser.get_method()
        keep_alive = self.parser.should_keep_alive()
        self.queue.put_nowait((method, self.url, self.auth, b"".join(self.body), keep_alive, None))
        self.url, self.auth, self.body = b"", b"", []
        if self.queue.qsize() >= _QUEUED and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True

    async def _serve(self) -> None:
        while True:
            method, url, auth, body, keep_alive, refused = await self.queue.get()
            if self.paused and self.queue.qsize() < _QUEUED // 2 and self.transport is not None:
                self.transport.resume_reading()
                self.paused = False
            received = time.perf_counter()
            if refused is not None:
                status, payload = refused[0], json.dumps({"detail": refused[1]}).encode()
                keep_alive = False
            else:
                status, payload = await self._handle(method, url, auth, body, received)
            path = url.split(b"?", 1)[0]
            allow = _ROUTES.get(path) if status == 405 else None
            self._send(status, payload, keep_alive, allow=allow)
            if path != b"/health":
                self._audit(path, status, payload)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    '%s "%s %s" %d %d %.2fms',
                    self.peer,
                    method.decode("latin-1") or "-",
                    url.decode("latin-1")[:200],
                    status,
                    len(payload),
                    (time.perf_counter() - received) * 1000,
                )
            if not keep_alive:
                self._close()
                return
            if self.queue.empty() and self.timer is None:
                self._arm(self.limits.serve_idle_timeout_s, None)

    def _audit(self, path: bytes, status: int, payload: bytes) -> None:
        """Queue the ``ops.audit_log`` row of the request just answered."""
        actor, role, target, entities = self.seen
        detail = None
        if status >= 400:
            try:
                detail = str(json.loads(payload).get("detail"))
            except ValueError:
                detail = None
        role_name = None if role is None else role.name
        target = target or path.decode("latin-1")[:200]
        self.app.audit.request(actor, role_name, target, entities, status, detail)
        self.seen = ("-", None, None, None)

    async def _handle(
        self, method: bytes, url: bytes, auth: bytes, body: bytes, received: float
    ) -> tuple[int, bytes]:
        path = url.split(b"?", 1)[0]
        allowed = _ROUTES.get(path)
        if allowed is None:
            return 404, b'{"detail": "not found"}'
        if method != allowed:
            return 405, json.dumps({"detail": f"{path.decode()} answers {allowed.decode()} only"}).encode()
        if path == b"/health":
            return 200, json.dumps(self.app.health()).encode()
        actor, role = self.app.caller(auth)
        self.seen = (actor, role, None, None)
        if role is None:
            why = "a bearer token is required" if not auth else "the bearer token is not known"
            hint = "featurelake tokens create --role ROLE --name NAME"
            return 401, json.dumps({"detail": f"{why} ({hint})"}).encode()
        try:
            request = json.loads(body)
        except RecursionError:
            return 400, b'{"detail": "the JSON body is nested too deeply"}'
        except ValueError as e:  # json.JSONDecodeError, UnicodeDecodeError
            return 400, json.dumps({"detail": f"the body is not JSON: {e}"}).encode()
        self.seen = (actor, role, _target(path, request), _entities(request))
        try:
            if path == b"/predict":
                answer = await self.app.predict(request, received, role)
            else:
                answer = await self.app.get_online_features(request, role)
        except TooLargeError as e:
            return 413, json.dumps({"detail": str(e)}).encode()
        except ForbiddenError as e:
            return 403, json.dumps({"detail": str(e)}).encode()
        except (ValueError, KeyError, TypeError) as e:
            return 400, json.dumps({"detail": str(e)}).encode()
        except LookupError as e:
            return 503, json.dumps({"detail": str(e)}).encode()
        except Exception as e:
            return 500, json.dumps({"detail": f"{type(e).__name__}: {e}"}).encode()
        if isinstance(answer, Mapping) and len(answer.get("results", ())) and _rows_of(answer) > CHUNK_ROWS:
            # a large answer's JSON off the event loop: small requests keep being answered meanwhile
            loop = asyncio.get_running_loop()
            return 200, await loop.run_in_executor(None, _encode, answer)
        return 200, _encode(answer)

    def _send(self, status: int, payload: bytes, keep_alive: bool, *, allow: bytes | None = None) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s%s\r\n" % (
            status,
            _REASONS.get(status, b"Error"),
            len(payload),
            b"" if keep_alive else b"connection: close\r\n",
            b"allow: %s\r\n" % allow if allow else b"",
        )
        if status == 401:
            head = head[:-2] + b'www-authenticate: Bearer realm="featurelake"\r\n\r\n'
        self.transport.write(head + payload)


def _target(path: bytes, request: Any) -> str:
    """What a request asks for, for the audit log: the service, the views of a list, or /predict."""
    if path == b"/predict" or not isinstance(request, dict):
        return path.decode("latin-1")
    service = request.get("feature_service")
    if isinstance(service, str):
        return service[:200]
    refs = request.get("features")
    if isinstance(refs, list):
        views = sorted({str(r).split(":", 1)[0] for r in refs})
        return ("views:" + ",".join(views))[:200]
    return path.decode("latin-1")


def _entities(request: Any) -> int | None:
    """The entity rows a request names (its longest join-key column), when it has that shape."""
    if not isinstance(request, dict):
        return None
    entities = request.get("entities")
    if isinstance(entities, dict):
        return max((len(v) for v in entities.values() if isinstance(v, list)), default=0)
    return 1 if "carrier" in request else None  # a /predict body names one flight


def _rows_of(answer: Mapping[str, Any]) -> int:
    return len(answer["results"][0].get("values", ()))


def _encode(answer: Any) -> bytes:
    return json.dumps(answer, separators=(",", ":")).encode()


def _access_log_to(where: str) -> None:
    """One line per request (client, request line, status, bytes, milliseconds) to ``where``:
    ``-`` for stderr, a file path, or ``off``."""
    access_log.propagate = False
    for old in list(access_log.handlers):
        access_log.removeHandler(old)
        old.close()
    if where == "off":
        access_log.setLevel(logging.WARNING)
        return
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if where == "-" else logging.FileHandler(where)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)


def _run_worker(
    host: str, port: int, settings: Settings, ready: Callable[[], None] | None, reuse: bool
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is installed with Feast
        pass

    _access_log_to(settings.serve_access_log)

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
