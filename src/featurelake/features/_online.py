"""Reading Feast's online stores for a feature service without Feast's per-request machinery.

A :class:`ServicePlan` is computed once per feature service from the registry:
per view, its join keys, the Redis hash fields (``mmh3("<view>:<feature>")``
and ``_ts:<view>``) or SQLite table, and the features' names. A request then
costs: serialize the entity keys, one pipelined Redis round trip (or one
SQLite query per view), parse the ``Value`` protos. Values, statuses and
timestamps are what Feast's ``get_online_features`` returns for the same keys.
"""

from __future__ import annotations

import asyncio
import sqlite3
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from feast.protos.feast.types.Value_pb2 import Value
from google.protobuf.timestamp_pb2 import Timestamp

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = ["RedisPool", "ServicePlan", "SqliteReader", "ViewPlan", "encode_key", "value_of"]

_EPOCH = "1970-01-01T00:00:00Z"


def encode_key(names: Sequence[str], values: Sequence[Any]) -> bytes:
    """``serialize_entity_key`` (version 3) for string or integer join keys, sorted by name."""
    pairs = sorted(zip(names, values, strict=True))
    out = [struct.pack("<I", len(pairs))]
    for name, _ in pairs:
        k = name.encode()
        out.append(struct.pack("<II", 2, len(k)) + k)
    for _, v in pairs:
        if isinstance(v, str):
            b = v.encode()
            out.append(struct.pack("<II", 2, len(b)) + b)
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append(struct.pack("<IIq", 4, 8, v))
        else:
            raise ValueError(f"join key value {v!r} must be a string or an integer")
    return b"".join(out)


def value_of(raw: bytes | None) -> Any:
    """The Python value of a serialized ``Value`` (None for missing or empty)."""
    if not raw:
        return None
    v = Value()
    v.ParseFromString(raw)
    kind = v.WhichOneof("val")
    return getattr(v, kind) if kind else None


@dataclass(frozen=True)
class ViewPlan:
    """What reading one feature view of a service takes."""

    name: str
    join_keys: tuple[str, ...]
    features: tuple[str, ...]
    redis_fields: tuple[bytes, ...]
    """mmh3 field per feature, then ``_ts:<view>``."""
    table: str
    """SQLite table ``<project>_<view>``."""


@dataclass(frozen=True)
class ServicePlan:
    """A feature service resolved for serving."""

    name: str
    project: str
    views: tuple[ViewPlan, ...]

    @property
    def join_keys(self) -> list[str]:
        """Every join key the service needs, in first-seen order."""
        seen: dict[str, None] = {}
        for v in self.views:
            for k in v.join_keys:
                seen[k] = None
        return list(seen)

    @property
    def feature_names(self) -> list[str]:
        """Response feature names (``full_feature_names=False``, as Feast's server defaults)."""
        return [f for v in self.views for f in v.features]

    @classmethod
    def from_store(cls, store: FeatureStore, features: str | Sequence[str]) -> ServicePlan:
        """Resolve a feature service (or ``view:feature`` refs) against the store's registry."""
        from feast.infra.online_stores.helpers import _mmh3, compute_table_id

        from featurelake.features._refs import resolve

        requests, _ = resolve(store, features)
        versioning = store.config.registry.enable_online_feature_view_versioning
        views = []
        for req in requests:
            name = req.view.name
            fields = (*(_mmh3(f"{name}:{f}") for f in req.features), f"_ts:{name}".encode())
            table = compute_table_id(store.config.project, req.view, versioning)
            views.append(ViewPlan(name, tuple(req.join_keys), req.features, fields, table))
        label = features if isinstance(features, str) else ",".join(features)
        return cls(label, store.config.project, tuple(views))

    def rows(self, entities: Mapping[str, Sequence[Any]]) -> int:
        """Check the request's entity columns; returns the row count."""
        missing = [k for k in self.join_keys if k not in entities]
        if missing:
            raise ValueError(
                f"entities lack join key(s) {', '.join(missing)}; {self.name} needs {self.join_keys}"
            )
        lengths = {len(entities[k]) for k in self.join_keys}
        if len(lengths) != 1:
            raise ValueError("all entity columns must have the same length")
        return lengths.pop()

    def response(
        self, entities: Mapping[str, Sequence[Any]], n: int, found: list[list[tuple[list[Any], str] | None]]
    ) -> dict[str, Any]:
        """Feast's ``/get-online-features`` JSON: join key columns, then one result per feature.

        Args:
            found: per view, per row, (values, event timestamp ISO) or None when not found.
        """
        results: list[dict[str, Any]] = []
        names = list(self.join_keys)
        for k in self.join_keys:
            results.append(
                {"values": list(entities[k]), "statuses": ["PRESENT"] * n, "event_timestamps": [_EPOCH] * n}
            )
        for view, rows in zip(self.views, found, strict=True):
            for j, feature in enumerate(view.features):
                names.append(feature)
                values: list[Any] = []
                statuses: list[str] = []
                stamps: list[str] = []
                for row in rows:
                    if row is None:
                        values.append(None)
                        statuses.append("NOT_FOUND")
                        stamps.append(_EPOCH)
                    else:
                        values.append(row[0][j])
                        statuses.append("PRESENT")
                        stamps.append(row[1])
                results.append({"values": values, "statuses": statuses, "event_timestamps": stamps})
        return {"metadata": {"feature_names": names}, "results": results}


def _iso(seconds: int, nanos: int = 0) -> str:
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos // 1000:06d}Z" if nanos else f"{stamp}Z"


def _resp(parts: Sequence[bytes]) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class _RedisConn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import hiredis

        self.reader, self.writer = reader, writer
        self.parser = hiredis.Reader()

    async def call(self, payload: bytes, n: int) -> list[Any]:
        self.writer.write(payload)
        out: list[Any] = []
        while len(out) < n:
            reply = self.parser.gets()
            if reply is False:
                data = await self.reader.read(1 << 16)
                if not data:
                    raise ConnectionError("Redis closed the connection")
                self.parser.feed(data)
                continue
            out.append(reply)
        return out


class RedisPool:
    """A few pipelined Redis connections (hiredis parser) for the asyncio server."""

    def __init__(self, url: str, size: int = 4) -> None:
        self.url, self.size = url, size
        self._free: asyncio.Queue[_RedisConn] | None = None

    async def _connect(self) -> _RedisConn:
        parts = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(
            parts.hostname or "127.0.0.1", parts.port or 6379, ssl=parts.scheme == "rediss" or None
        )
        conn = _RedisConn(reader, writer)
        setup = []
        if parts.password:
            setup.append(
                _resp(
                    [b"AUTH", *([parts.username.encode()] if parts.username else []), parts.password.encode()]
                )
            )
        db = parts.path.strip("/")
        if db:
            setup.append(_resp([b"SELECT", db.encode()]))
        if setup:
            for reply in await conn.call(b"".join(setup), len(setup)):
                if isinstance(reply, Exception):
                    raise reply
        return conn

    async def start(self) -> None:
        """Open the connections."""
        self._free = asyncio.Queue()
        for _ in range(self.size):
            self._free.put_nowait(await self._connect())

    async def read(self, plan: ServicePlan, entities: Mapping[str, Sequence[Any]], n: int) -> list[list[Any]]:
        """One pipelined round trip of ``HMGET`` per view and row."""
        assert self._free is not None, "call start() first"
        project = plan.project.encode()
        commands: list[bytes | None] = []
        for view in plan.views:
            for i in range(n):
                values = [entities[k][i] for k in view.join_keys]
                if any(v is None for v in values):
                    commands.append(None)
                    continue
                key = encode_key(view.join_keys, values) + project
                commands.append(_resp([b"HMGET", key, *view.redis_fields]))
        sent: list[bytes] = [c for c in commands if c is not None]
        conn = await self._free.get()
        try:
            replies = await conn.call(b"".join(sent), len(sent)) if sent else []
        except BaseException:
            conn.writer.close()
            conn = await self._connect()
            raise
        finally:
            self._free.put_nowait(conn)
        it = iter(replies)
        found: list[list[Any]] = []
        pos = 0
        stamp = Timestamp()
        for _view in plan.views:
            rows: list[Any] = []
            for _ in range(n):
                command = commands[pos]
                pos += 1
                if command is None:
                    rows.append(None)
                    continue
                reply = next(it)
                if isinstance(reply, Exception):
                    raise reply
                *vals, ts = reply
                if ts is None and all(v is None for v in vals):
                    rows.append(None)
                    continue
                iso = _EPOCH
                if ts:
                    stamp.ParseFromString(ts)
                    iso = _iso(stamp.seconds, stamp.nanos)
                rows.append(([value_of(v) for v in vals], iso))
            found.append(rows)
        return found


class SqliteReader:
    """Reads Feast's SQLite online tables (local profile)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)

    def read(self, plan: ServicePlan, entities: Mapping[str, Sequence[Any]], n: int) -> list[list[Any]]:
        """One query per view."""
        found: list[list[Any]] = []
        for view in plan.views:
            keys: list[bytes | None] = []
            for i in range(n):
                values = [entities[k][i] for k in view.join_keys]
                keys.append(None if any(v is None for v in values) else encode_key(view.join_keys, values))
            wanted = [k for k in keys if k is not None]
            by_key: dict[bytes, dict[str, tuple[bytes, int]]] = {}
            if wanted:
                quoted = '"' + view.table.replace('"', '""') + '"'
                cur = self.conn.execute(
                    f"SELECT entity_key, feature_name, value, event_ts FROM {quoted} "
                    f"WHERE entity_key IN ({','.join('?' * len(wanted))})",
                    wanted,
                )
                for ek, fname, val, ts in cur:
                    by_key.setdefault(ek, {})[fname] = (val, ts)
            rows: list[Any] = []
            for k in keys:
                got = by_key.get(k) if k is not None else None
                if not got:
                    rows.append(None)
                    continue
                ts = next(iter(got.values()))[1]
                when = datetime.fromtimestamp(int(ts)).replace(tzinfo=UTC)  # Feast's converter, then UTC
                iso = _iso(int(when.timestamp()))
                rows.append(([value_of(got[f][0]) if f in got else None for f in view.features], iso))
            found.append(rows)
        return found
