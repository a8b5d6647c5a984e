"""Bulk writers for Feast's SQLite and Redis online stores, in Feast's exact key and value format.

Given the latest row per entity (``latest.latest_rows``), a writer encodes
whole columns at once (``_encode``) and writes them in bulk:

- SQLite: one transaction, ``executemany`` of Feast's own upsert statement into
  the table Feast created (``<project>_<view>``), one row per entity and
  feature: ``entity_key`` (serialized key, version 3), ``feature_name``,
  ``value`` (``Value`` proto), ``value_text``, ``event_ts`` (epoch seconds as
  Feast's adapter stores them), ``created_ts``.
- Redis: one hash per entity key (serialized key + project), field
  ``mmh3("<view>:<feature>")`` per feature and ``_ts:<view>`` holding a
  ``Timestamp`` proto, written as raw RESP ``HSET`` commands in large
  pipelined chunks. Like Feast, a row is skipped when the stored ``_ts`` is as
  new or newer (unless the store sets ``skip_dedup``).

Anything these writers do not cover (vector stores, Redis cluster/sentinel,
``key_ttl`` aside) raises :class:`UnsupportedStoreError`, and the engine hands
the view to Feast's own engine.
"""

from __future__ import annotations

import itertools
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurelake.features import _encode

if TYPE_CHECKING:
    from feast import FeatureView, RepoConfig
    from feast.infra.online_stores.online_store import OnlineStore
    from feast.value_type import ValueType

__all__ = [
    "EncodedRows",
    "OnlineWriter",
    "RedisWriter",
    "SqliteWriter",
    "UnsupportedStoreError",
    "writer_for",
]


class UnsupportedStoreError(Exception):
    """The online store or its configuration is not covered by the bulk writers."""


@dataclass(frozen=True)
class EncodedRows:
    """One feature view's rows as Feast's bytes, a column per feature."""

    entity_keys: pa.Array
    """Serialized entity keys (version 3), one per row."""
    features: list[tuple[str, pa.Array, ValueType, pa.Array]]
    """(name, serialized ``Value`` protos, value type, source column) per feature."""
    timestamps: pa.Array
    """Event timestamps (``timestamp[us, UTC]``)."""

    @classmethod
    def encode(cls, view: FeatureView, rows: pa.Table) -> EncodedRows:
        """Encode the latest rows of ``view`` (join keys, features, its timestamp field)."""
        assert view.batch_source is not None
        key_types = {f.name: f.dtype.to_value_type() for f in view.entity_columns}
        keys = _encode.entity_keys([(k, rows.column(k), t) for k, t in key_types.items()])
        if pc.count_distinct(keys).as_py() != len(keys):
            # Two rows of one entity at its newest timestamp (no created timestamp to break the
            # tie): Feast keeps an arbitrary one; keep the first so each key is written once.
            _, first = np.unique(np.asarray(keys.to_pylist(), dtype=object), return_index=True)
            rows = rows.take(pa.array(np.sort(first)))
            keys = keys.take(pa.array(np.sort(first)))
        features = []
        for field in view.features:
            vt = field.dtype.to_value_type()
            col = rows.column(field.name).combine_chunks()
            features.append((field.name, _encode.value_protos(col, vt), vt, col))
        ts = rows.column(view.batch_source.timestamp_field).combine_chunks()
        return cls(keys, features, ts)

    def take(self, mask: np.ndarray) -> EncodedRows:
        """Only the rows where ``mask`` is true."""
        m = pa.array(mask)
        return EncodedRows(
            self.entity_keys.filter(m),
            [(n, p.filter(m), vt, c.filter(m)) for n, p, vt, c in self.features],
            self.timestamps.filter(m),
        )

    def __len__(self) -> int:
        return len(self.entity_keys)


class OnlineWriter(ABC):
    """Writes encoded rows of one feature view into an online store."""

    def __init__(self, config: RepoConfig, store: OnlineStore) -> None:
        self.config = config
        self.store = store

    @abstractmethod
    def write(self, view: FeatureView, rows: EncodedRows) -> int:
        """Write ``rows`` for ``view``; returns the number of entities written."""

    @abstractmethod
    def delete(self, view: FeatureView, entity_keys: pa.Array) -> int:
        """Remove ``view``'s values of these serialized entity keys, physically; returns how many
        entities had values (``featurelake forget``)."""


class SqliteWriter(OnlineWriter):
    """Feast's ``SqliteOnlineStore`` layout, written in one transaction."""

    def write(self, view: FeatureView, rows: EncodedRows) -> int:
        from feast.infra.online_stores.helpers import compute_table_id
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        online = self.config.online_store
        if getattr(online, "vector_enabled", False):
            raise UnsupportedStoreError("SQLite vector search is enabled: vector values need Feast's writer")
        if not len(rows):
            return 0
        path = SqliteOnlineStore._get_db_path(self.config)
        table = compute_table_id(
            self.config.project, view, self.config.registry.enable_online_feature_view_versioning
        )
        quoted = '"' + table.replace('"', '""') + '"'
        conn = sqlite3.connect(path, timeout=60)
        try:
            columns = {r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")}
            if not columns:  # `feast apply` creates it; create it the same way if it was skipped
                conn.close()
                self.store.update(self.config, [], [view], [], [], partial=True)
                conn = sqlite3.connect(path, timeout=60)
                columns = {r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")}
            with_num = "value_num" in columns and getattr(online, "enable_openai_compatible_store", False)
            cols = ["entity_key", "feature_name", "value", "value_text"] + (["value_num"] if with_num else [])
            cols += ["event_ts", "created_ts"]
            update = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("entity_key", "feature_name"))
            sql = (
                f"INSERT INTO {quoted} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                f"ON CONFLICT(entity_key, feature_name) DO UPDATE SET {update};"
            )
            # Rows in primary-key order (entity key, then feature name): B-tree appends, not random inserts.
            order = pc.sort_indices(rows.entity_keys)
            feats = sorted(rows.features, key=lambda f: f[0])
            nf = len(feats)
            keys = rows.entity_keys.take(order).to_pylist()
            stamps = _encode.sqlite_epoch_seconds(rows.timestamps.take(order))
            values = [p.take(order).to_pylist() for _, p, _, _ in feats]
            texts = [_encode.value_texts(c.take(order), vt) for _, _, vt, c in feats]
            chain = itertools.chain.from_iterable
            parts: list[Iterable[Any]] = [
                chain(itertools.repeat(k, nf) for k in keys),
                itertools.cycle([name for name, _, _, _ in feats]),
                chain(zip(*values, strict=True)),
                chain(zip(*texts, strict=True)),
            ]
            if with_num:
                parts.append(_nums(list(chain(zip(*texts, strict=True)))))
            parts += [chain(itertools.repeat(t, nf) for t in stamps), itertools.repeat(None)]
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -262144")  # 256 MiB for this connection's bulk load
            with conn:
                conn.executemany(sql, zip(*parts))  # noqa: B905 - cycle()/repeat() are endless on purpose
        finally:
            conn.close()
        return len(rows)

    def delete(self, view: FeatureView, entity_keys: pa.Array) -> int:
        """Delete the rows, then ``VACUUM``: SQLite leaves deleted rows' bytes in free pages."""
        from feast.infra.online_stores.helpers import compute_table_id
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        path = SqliteOnlineStore._get_db_path(self.config)
        table = compute_table_id(
            self.config.project, view, self.config.registry.enable_online_feature_view_versioning
        )
        quoted = '"' + table.replace('"', '""') + '"'
        keys = [bytes(k) for k in entity_keys.to_pylist()]
        conn = sqlite3.connect(path, timeout=60)
        try:
            if not conn.execute("select 1 from sqlite_master where name = ?", (table,)).fetchone():
                return 0
            with conn:
                conn.execute("PRAGMA secure_delete = ON")
                found = sum(
                    conn.execute(
                        f"SELECT count(DISTINCT entity_key) FROM {quoted} WHERE entity_key = ?", (k,)
                    ).fetchone()[0]
                    for k in keys
                )
                conn.executemany(f"DELETE FROM {quoted} WHERE entity_key = ?", [(k,) for k in keys])
            conn.execute("VACUUM")
        finally:
            conn.close()
        return int(found)


def _contiguous_bytes(arr: pa.Array) -> memoryview:
    """The values of a null-free binary array back to back, without copying."""
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    return memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])]


def _nums(texts: list[str | None]) -> list[float | None]:
    out: list[float | None] = []
    for t in texts:
        try:
            out.append(None if t is None else float(t))
        except ValueError:
            out.append(None)
    return out


_STORED_TS_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HGET', key, ARGV[1])
  if v then out[#out + 1] = i; out[#out + 1] = v end
end
return out
"""


class RedisWriter(OnlineWriter):
    """Feast's ``RedisOnlineStore`` layout, written as pipelined raw ``HSET`` commands."""

    chunk = 20_000
    """Commands per round trip."""

    def _client(self) -> Any:
        import redis

        online = self.config.online_store
        if str(getattr(online, "redis_type", "redis")).split(".")[-1] != "redis":
            raise UnsupportedStoreError(
                f"redis_type {online.redis_type}: cluster and sentinel use Feast's writer"
            )
        client = self.store._get_client(online)  # type: ignore[attr-defined]
        if not isinstance(client, redis.Redis):
            raise UnsupportedStoreError(f"Redis client {type(client).__name__} is not redis.Redis")
        return client

    def _roundtrips(self, client: Any, batches: Iterable[pa.Array], per_command: int) -> list[Any]:
        """Send each batch of RESP commands on one connection and read its replies (``per_command`` each).

        Batches come from an iterator, so the next one can be built (Arrow kernels, no GIL) while
        Redis works through the current one.
        """
        import hiredis

        replies: list[Any] = []
        conn = client.connection_pool.get_connection()
        try:
            sock = conn._sock
            if sock is None:
                conn.connect()
                sock = conn._sock
            reader = hiredis.Reader()
            buf = bytearray(1 << 20)
            view = memoryview(buf)
            for part in batches:
                sock.sendall(_contiguous_bytes(part))
                want = len(replies) + len(part) * per_command
                # Parse the replies in bulk from the socket: redis-py's per-reply path costs µs each.
                while len(replies) < want:
                    reply = reader.gets()
                    if reply is False:
                        n = sock.recv_into(buf)
                        if not n:
                            raise ConnectionError("Redis closed the connection during a bulk write")
                        reader.feed(bytes(view[:n]))
                        continue
                    replies.append(reply)
        except BaseException:
            conn.disconnect()  # replies may be pending: never hand this connection back half-read
            raise
        finally:
            client.connection_pool.release(conn)
        errors = [r for r in replies if isinstance(r, Exception)]
        if errors:
            raise errors[0]
        return replies

    def _prefetched(self, n: int, build: Any) -> Iterator[pa.Array]:
        """``build(start, length)`` for each chunk, the next one built in a thread meanwhile."""
        from concurrent.futures import ThreadPoolExecutor

        starts = list(range(0, n, self.chunk))
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(build, starts[0], self.chunk) if starts else None
            for i in range(len(starts)):
                assert pending is not None
                current = pending.result()
                pending = pool.submit(build, starts[i + 1], self.chunk) if i + 1 < len(starts) else None
                yield current

    def write(self, view: FeatureView, rows: EncodedRows) -> int:
        from feast.infra.online_stores.helpers import _mmh3
        from feast.infra.online_stores.redis import _versioned_fv_name

        if not len(rows):
            return 0
        client = self._client()
        online = self.config.online_store
        fv_name = _versioned_fv_name(view, self.config)
        ts_key = f"_ts:{fv_name}".encode()
        project = self.config.project.encode()
        redis_keys = pc.binary_join_element_wise(rows.entity_keys, project, b"")
        ts_protos = _encode.timestamp_protos(rows.timestamps)

        if not online.skip_dedup:
            rows, redis_keys, ts_protos = self._drop_stale(client, rows, redis_keys, ts_protos, ts_key)
            if not len(rows):
                return 0

        def const(b: bytes) -> bytes:
            return b"$%d\r\n%s\r\n" % (len(b), b)

        n_fields = len(rows.features) + 1
        head = b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * n_fields)
        ts_field = const(ts_key)
        fields = [const(_mmh3(f"{fv_name}:{name}")) for name, _, _, _ in rows.features]
        expire = const(str(int(online.key_ttl_seconds)).encode()) if online.key_ttl_seconds else None

        def build(start: int, length: int) -> pa.Array:
            key_bulk = _encode.resp_bulk(redis_keys.slice(start, length))
            parts: list[pa.Array | bytes] = [
                head,
                key_bulk,
                ts_field,
                _encode.resp_bulk(ts_protos.slice(start, length)),
            ]
            for field, (_, protos, _, _) in zip(fields, rows.features, strict=True):
                parts += [field, _encode.resp_bulk(protos.slice(start, length))]
            if expire is not None:
                parts += [b"*3\r\n$6\r\nEXPIRE\r\n", key_bulk, expire]
            return pc.binary_join_element_wise(*parts, b"")

        self._roundtrips(client, self._prefetched(len(rows), build), 2 if expire is not None else 1)
        return len(rows)

    def delete(self, view: FeatureView, entity_keys: pa.Array) -> int:
        """``HDEL`` the view's fields (and its ``_ts``) from each entity's hash; Redis drops an
        emptied hash with its key."""
        from feast.infra.online_stores.helpers import _mmh3
        from feast.infra.online_stores.redis import _versioned_fv_name

        client = self._client()
        fv_name = _versioned_fv_name(view, self.config)
        fields = [_mmh3(f"{fv_name}:{f.name}") for f in view.features] + [f"_ts:{fv_name}".encode()]
        project = self.config.project.encode()
        pipe = client.pipeline(transaction=False)
        for key in entity_keys.to_pylist():
            pipe.hdel(bytes(key) + project, *fields)
        return sum(1 for removed in pipe.execute() if removed)

    def _drop_stale(
        self, client: Any, rows: EncodedRows, redis_keys: pa.Array, ts_protos: pa.Array, ts_key: bytes
    ) -> tuple[EncodedRows, pa.Array, pa.Array]:
        """Feast's check: keep a row only if it is newer than the ``_ts`` already stored."""
        from google.protobuf.timestamp_pb2 import Timestamp

        # One Lua call per chunk of keys returns only the stored timestamps that exist, as
        # (index, value) pairs: the same HGETs without a command and a reply per key.
        sha = client.script_load(_STORED_TS_LUA)
        field = b"$%d\r\n%s\r\n" % (len(ts_key), ts_key)
        chunk = self.chunk

        def build(start: int, length: int) -> pa.Array:
            keys = redis_keys.slice(start, length)
            count = str(len(keys)).encode()
            head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$%d\r\n%s\r\n" % (
                4 + len(keys),
                sha.encode(),
                len(count),
                count,
            )
            return pa.array([head + bytes(_contiguous_bytes(_encode.resp_bulk(keys))) + field], pa.binary())

        previous: list[bytes | None] = [None] * len(rows)
        replies = self._roundtrips(client, self._prefetched(len(rows), build), 1)
        for offset, reply in zip(range(0, len(rows), chunk), replies, strict=True):
            for j in range(0, len(reply), 2):
                previous[offset + int(reply[j]) - 1] = reply[j + 1]
        if all(p is None for p in previous):
            return rows, redis_keys, ts_protos
        micros = rows.timestamps.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
        new_nanos = micros.astype(np.int64) * 1000
        keep = np.ones(len(rows), dtype=bool)
        stamp = Timestamp()
        for i, prev in enumerate(previous):
            if prev:
                stamp.ParseFromString(prev)
                prev_nanos = stamp.seconds * 1_000_000_000 + stamp.nanos
                keep[i] = not (prev_nanos and new_nanos[i] <= prev_nanos)
        if keep.all():
            return rows, redis_keys, ts_protos
        m = pa.array(keep)
        return rows.take(keep), redis_keys.filter(m), ts_protos.filter(m)


def writer_for(config: RepoConfig, store: OnlineStore) -> OnlineWriter:
    """The bulk writer for the config's online store.

    Raises:
        UnsupportedStoreError: neither SQLite nor Redis.
    """
    from feast.infra.online_stores.redis import RedisOnlineStore
    from feast.infra.online_stores.sqlite import SqliteOnlineStore

    if isinstance(store, SqliteOnlineStore):
        return SqliteWriter(config, store)
    if isinstance(store, RedisOnlineStore):
        return RedisWriter(config, store)
    raise UnsupportedStoreError(f"online store {type(store).__name__} has no bulk writer")
