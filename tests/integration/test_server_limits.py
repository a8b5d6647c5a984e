"""``featurelake serve`` under hostile and careless clients: every bad request gets a 4xx with a
reason, limits hold, slow and idle connections are closed, memory stays bounded, a large lookup
does not stall small ones, and every request leaves an access-log line.

One server (SQLite online store, the ``tiny_gold`` lake) with small limits, set as a user would,
through ``FEATURELAKE_SERVE_*``.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import get_settings
from featurelake.features.server_process import started_server
from featurelake.features.testing import day, tiny_gold

pytestmark = pytest.mark.integration

LIMITS = {
    "FEATURELAKE_SERVE_MAX_BODY_BYTES": "65536",
    "FEATURELAKE_SERVE_MAX_FEATURES": "20",
    "FEATURELAKE_SERVE_PLAN_CACHE": "4",
    "FEATURELAKE_SERVE_REQUEST_TIMEOUT_S": "1",
    "FEATURELAKE_SERVE_IDLE_TIMEOUT_S": "2",
}
REFS = [
    "carrier_delay_7d:flights_7d",
    "carrier_delay_7d:dep_delay_avg_7d",
    "carrier_delay_7d:cancel_rate_7d",
    "origin_weather:temp",
    "origin_weather:humid",
    "origin_weather:wind_speed",
    "origin_weather:pressure",
    "origin_weather:visib",
]


@dataclass
class Server:
    port: int
    pid: int
    token: str
    access_log: Path

    def request(self, method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
        """An HTTP request with the server's bearer token (the raw bytes, for :func:`raw`)."""
        return request(method, path, body, authorization=f"Bearer {self.token}", **headers)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve-limits")
    env = {"FEATURELAKE_LAKE": str(root / "lake"), "FEATURELAKE_SERVE_ACCESS_LOG": str(root / "a.log")}
    env |= LIMITS
    settings = get_settings(env)
    tiny_gold(Catalog(settings=settings))
    features.apply(settings)
    features.materialize(day(-90), day(1.5), settings=settings)
    with started_server(env, root / "serve.log") as running:
        yield Server(running.port, running.pid, running.token, root / "a.log")


def raw(port: int, request: bytes, *, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is on a new connection; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        while len(body) < int(headers.get("content-length", 0)):
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    head += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def lookup(entities: dict[str, list[Any]], refs: list[str] | None = None) -> bytes:
    return json.dumps({"features": refs or REFS[:2], "entities": entities}).encode()


MALFORMED = {
    "not JSON": (b"{carrier: UA}", "the body is not JSON"),
    "not UTF-8": (b'{"features": ["\xff"]}', "the body is not JSON"),
    "a JSON array": (b"[1, 2, 3]", "the body must be a JSON object, got a JSON array"),
    "deep nesting": (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
    "a string for a list": (
        json.dumps({"features": REFS[:1], "entities": {"carrier": "UA"}}).encode(),
        "entities['carrier'] must be a list of values, got a JSON string",
    ),
    "an integer over 64 bits": (
        json.dumps({"features": REFS[:1], "entities": {"carrier": [2**70]}}).encode(),
        "a join key value is a string, a 64-bit integer or null",
    ),
    "a float key": (
        json.dumps({"features": REFS[:1], "entities": {"carrier": [1.5]}}).encode(),
        "entities['carrier'] holds 1.5",
    ),
    "features not strings": (
        json.dumps({"features": [1, 2], "entities": {"carrier": ["UA"]}}).encode(),
        "'features' must be a list of strings",
    ),
    "service not a string": (
        json.dumps({"feature_service": {"a": 1}, "entities": {"carrier": ["UA"]}}).encode(),
        "'feature_service' must be a string",
    ),
    "too many references": (
        json.dumps({"features": REFS * 3, "entities": {"carrier": ["UA"]}}).encode(),
        "at most 20 (FEATURELAKE_SERVE_MAX_FEATURES)",
    ),
    "entities not an object": (
        json.dumps({"features": REFS[:1], "entities": [["UA"]]}).encode(),
        "'entities' must map join keys to lists of values",
    ),
    "an unknown view": (
        json.dumps({"features": ["nope:x"], "entities": {"carrier": ["UA"]}}).encode(),
        "nope",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_malformed_body_gets_a_400_with_its_reason(server: Server, case: str) -> None:
    body, reason = MALFORMED[case]
    status, headers, answer = raw(server.port, server.request("POST", "/get-online-features", body))
    assert status == 400, answer
    assert headers["content-type"] == "application/json"
    detail = json.loads(answer)["detail"]
    assert reason in detail, detail
    assert "\n" not in detail
    assert "Traceback" not in detail


def test_predict_refuses_malformed_bodies_too(server: Server) -> None:
    for body in (b"[1]", b"[" * 20_000, b'{"carrier": ["UA"]}'):
        status, _, answer = raw(server.port, server.request("POST", "/predict", body))
        assert status == 400, answer
        assert json.loads(answer)["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/get-online-features", "POST"),
        ("DELETE", "/get-online-features", "POST"),
        ("PUT", "/predict", "POST"),
        ("POST", "/health", "GET"),
    ],
)
def test_a_wrong_method_gets_405_naming_the_right_one(
    server: Server, method: str, path: str, allow: str
) -> None:
    payload = server.request(method, path, lookup({"carrier": ["UA"]}))
    status, headers, answer = raw(server.port, payload)
    assert status == 405, answer
    assert headers["allow"] == allow
    assert json.loads(answer)["detail"] == f"{path} answers {allow} only"


def test_an_oversized_body_gets_413_unread(server: Server) -> None:
    # announced: refused on the headers, before the 50 MB are sent
    head = server.request("POST", "/get-online-features")
    head = head.replace(b"content-length: 0", b"content-length: 52428800")
    status, headers, answer = raw(server.port, head + b'{"features": [')
    assert status == 413
    assert headers["connection"] == "close"
    assert "over 65,536 bytes (FEATURELAKE_SERVE_MAX_BODY_BYTES)" in json.loads(answer)["detail"]
    # chunked, with no length: refused once the limit is passed
    chunk = b"x" * 40_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    head = server.request("POST", "/get-online-features").replace(
        b"content-length: 0", b"transfer-encoding: chunked"
    )
    status, _, answer = raw(server.port, head + body)
    assert status == 413


def test_too_many_entity_rows_get_413(server: Server) -> None:
    rows = ["UA"] * 10_001
    payload = server.request("POST", "/get-online-features", lookup({"carrier": rows}))
    status, _, answer = raw(server.port, payload)
    assert status == 413, answer
    assert "10,001 rows; at most 10,000 per request" in json.loads(answer)["detail"]


def test_a_slow_request_gets_408_and_an_idle_connection_is_closed(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /get-online-features HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        began = time.monotonic()
        answer = s.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer
        assert b"not complete within 1 s" in answer
        assert s.recv(65536) == b""  # closed
        assert time.monotonic() - began < 8
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(server.request("POST", "/get-online-features", lookup({"carrier": ["UA"]})))
        assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
        began = time.monotonic()
        assert s.recv(65536) == b""  # the keep-alive connection closed by the server, idle
        assert 1 < time.monotonic() - began < 8


def test_a_large_lookup_does_not_stall_small_ones(server: Server) -> None:
    """Small lookups sent after a 10,000-row one are answered before it: it is read in chunks."""
    big = server.request(
        "POST",
        "/get-online-features",
        lookup({"carrier": ["UA", "AA", "ZZ", "B6"] * 2_500}, REFS[:3]),  # 10,000 rows in 64 KiB
    )
    assert len(big) < 65_536
    small = server.request("POST", "/get-online-features", lookup({"carrier": ["UA"]}))

    async def run() -> tuple[float, list[float]]:
        loop = asyncio.get_running_loop()
        done_big: list[float] = []

        async def one(payload: bytes, out: list[float]) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 200"), head
            out.append(loop.time())
            writer.close()

        smalls: list[float] = []
        big_task = asyncio.create_task(one(big, done_big))
        await asyncio.sleep(0.05)  # the big request is in
        while not big_task.done():
            await one(small, smalls)
        await big_task
        return done_big[0], smalls

    finished_big, smalls = asyncio.run(run())
    assert sum(t < finished_big for t in smalls) >= 2, (finished_big, smalls)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _varied(server: Server, rng: random.Random, i: int) -> bytes:
    """One of many kinds of request: lookups of many feature lists and keys, and bad ones."""
    kind = i % 10
    if kind == 0:  # a new feature list (the plan cache holds 4)
        refs = rng.sample(REFS, rng.randint(1, 5))
        entities = {"carrier": ["UA"], "origin": ["EWR"]}
        return server.request("POST", "/get-online-features", lookup(entities, refs))
    if kind == 1:
        return server.request("POST", "/get-online-features", b"[" * rng.randint(1, 5000))
    if kind == 2:
        return server.request("GET", "/get-online-features")
    if kind == 3:
        return server.request("POST", "/get-online-features", lookup({"carrier": [2**70 + i]}))
    if kind == 4:
        return server.request("POST", "/predict", b'{"carrier": "UA"}')
    keys = [f"K{rng.randrange(10**9)}" for _ in range(rng.randint(1, 20))]
    return server.request("POST", "/get-online-features", lookup({"carrier": keys}))


async def _fire(port: int, payloads: list[bytes], connections: int = 8) -> int:
    """Send every payload over ``connections`` keep-alive connections; the number answered."""
    answered = 0

    async def worker(mine: list[bytes]) -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for payload in mine:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            answered += 1
        writer.close()

    await asyncio.gather(*(worker(payloads[k::connections]) for k in range(connections)))
    return answered


def test_memory_stays_bounded_over_100k_varied_requests(server: Server) -> None:
    rng = random.Random(7)
    assert asyncio.run(_fire(server.port, [_varied(server, rng, i) for i in range(10_000)])) == 10_000
    warm = _rss_kib(server.pid)
    for _ in range(4):
        assert asyncio.run(_fire(server.port, [_varied(server, rng, i) for i in range(25_000)])) == 25_000
    after = _rss_kib(server.pid)
    assert after <= 1.2 * warm, f"RSS {warm} KiB after warm-up, {after} KiB after 100,000 more requests"


def test_every_request_leaves_an_access_log_line(server: Server) -> None:
    marker = f"/health?probe={random.randrange(10**9)}"
    status, _, _ = raw(server.port, server.request("GET", marker))
    assert status == 200
    raw(server.port, server.request("DELETE", "/predict"))
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = server.access_log.read_text().splitlines()
        if any(marker in ln for ln in lines):
            break
        time.sleep(0.1)
    (line,) = [ln for ln in lines if marker in ln]
    assert f'127.0.0.1 "GET {marker}" 200 ' in line
    assert any('"DELETE /predict" 405 ' in ln for ln in lines)
