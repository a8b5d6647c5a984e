"""Crypto-shredding: direct identifiers encrypted per person, forgotten by deleting the key.

Some copies of an event cannot be rewritten: a Kafka topic is an append-only log, kept for
its retention (or forever, compacted), and every consumer may have its own copy. The
bookings producer therefore never writes a direct identifier (``pii: direct``) to Kafka in
the clear: each is encrypted with AES-256-GCM under a key of that person's own, and the
message carries ``enc:v1:<subject>:<base64 of nonce, ciphertext and tag>``. ``subject``
is an HMAC of the person's id under a secret the key table keeps for itself
(:meth:`SubjectKeys.subject`): the message names nobody, and rotating silver's pseudonym
secret leaves every message's key where it was.

The keys live in the key table, a SQLite file (``<lake>/_security/subject_keys.db``, mode
0600) with ``secure_delete`` on: a deleted key is overwritten in the file, not left in a
free page. ``featurelake forget`` deletes the person's key; from then on their messages
decrypt to nothing, wherever they were copied.

Silver decrypts in the JVM (Spark's ``aes_decrypt`` in GCM mode takes exactly this
nonce-ciphertext-tag layout, with the field name as additional data, so a value cannot be
moved to another field): :func:`decrypted`. Landing files are rewritten by ``forget``
instead (:mod:`featurelake.governance.erasure`), so they hold identifiers in the clear.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["PREFIX", "SubjectKeys", "decrypt_direct", "decrypted", "encrypt", "protector", "subject_of"]

PREFIX = "enc:v1:"


def encrypt(key: bytes, subject: str, field: str, value: str | None) -> str | None:
    """``value`` encrypted for ``subject`` under ``key`` (None stays None)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if value is None:
        return None
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, value.encode(), field.encode())
    return f"{PREFIX}{subject}:{base64.b64encode(sealed).decode()}"


def protector(
    dataset: str, settings: Settings | None = None
) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None:
    """A function encrypting the direct identifiers of ``dataset``'s records, each under the key of
    the person it names (made on first use); None for a dataset without personal data.

    The person is the contract's ``subject`` field (:meth:`SubjectKeys.subject`; a record
    without one is its own subject, by its event id).
    """
    from featurelake.avro import classification
    from featurelake.ingest.contracts import contract

    fields = [f for f, kind in classification(dataset).items() if kind == "direct"]
    who = contract(dataset).subject
    if not fields or who is None:
        return None
    book = SubjectKeys(settings or get_settings())

    def protect(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        subjects = [
            book.subject(r[who] if r.get(who) is not None else f"event:{r.get('event_id')}") for r in records
        ]
        keys = book.key_for(subjects)
        return [
            {**r, **{f: encrypt(keys[s], s, f, r.get(f)) for f in fields}}
            for r, s in zip(records, subjects, strict=True)
        ]

    return protect


def subject_of(value: str | None) -> str | None:
    """The subject an encrypted value belongs to; None for a value in the clear."""
    if value is None or not value.startswith(PREFIX):
        return None
    return value[len(PREFIX) :].split(":", 1)[0]


class SubjectKeys:
    """The key table: one random AES-256 key per subject."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.path: Path = (settings or get_settings()).lake / "_security" / "subject_keys.db"
        self._secret: bytes | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL, "
            "created_at TEXT NOT NULL)"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS secret (id INTEGER PRIMARY KEY CHECK (id = 1), value BLOB)")
        return conn

    def subject(self, person: str) -> str:
        """The subject id of a person (their id, e.g. a passenger id): HMAC-SHA256 under the key
        table's own secret, made on first use."""
        import hashlib
        import hmac

        if self._secret is None:
            conn = self._connect()
            try:
                with conn:
                    conn.execute("INSERT OR IGNORE INTO secret VALUES (1, ?)", (os.urandom(32),))
                (value,) = conn.execute("SELECT value FROM secret WHERE id = 1").fetchone()
            finally:
                conn.close()
            self._secret = bytes(value)
        return hmac.new(self._secret, person.encode(), hashlib.sha256).hexdigest()

    def key_for(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The key of each subject, made for those that have none."""
        wanted = sorted(set(subjects))
        conn = self._connect()
        try:
            with conn:
                now = dt.datetime.now(dt.UTC).isoformat()
                conn.executemany(
                    "INSERT OR IGNORE INTO subject_keys VALUES (?, ?, ?)",
                    [(s, os.urandom(32), now) for s in wanted],
                )
            return self._select(conn, wanted)
        finally:
            conn.close()

    def existing(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The keys of those subjects that still have one."""
        if not self.path.exists():
            return {}
        conn = self._connect()
        try:
            return self._select(conn, sorted(set(subjects)))
        finally:
            conn.close()

    @staticmethod
    def _select(conn: sqlite3.Connection, subjects: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(0, len(subjects), 500):
            chunk = subjects[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT subject, key FROM subject_keys WHERE subject IN ({marks})", chunk)
            out.update({s: bytes(k) for s, k in rows})
        return out

    def shred(self, subjects: Iterable[str]) -> int:
        """Delete the subjects' keys (overwritten in the file); returns how many existed."""
        wanted = sorted(set(subjects))
        if not wanted or not self.path.exists():
            return 0
        conn = self._connect()
        try:
            with conn:
                gone = sum(
                    conn.execute("DELETE FROM subject_keys WHERE subject = ?", (s,)).rowcount for s in wanted
                )
            conn.execute("VACUUM")
        finally:
            conn.close()
        return gone


def decrypted(spark: SparkSession, df: DataFrame, fields: Iterable[str], keys: dict[str, bytes]) -> DataFrame:
    """``df`` with each of ``fields`` decrypted where it is encrypted (null where its key is gone).

    ``keys``: subject -> key for the subjects ``df``'s values name (:meth:`SubjectKeys.existing`).
    """
    from pyspark.sql import functions as F

    table = spark.createDataFrame(list(keys.items()), "subject string, subject_key binary")
    out = df
    for name in fields:
        subject = F.get(F.split(F.col(name), ":"), 2)
        joined = out.join(
            F.broadcast(table.withColumnRenamed("subject", f"_s_{name}")),
            (F.col(name).startswith(PREFIX)) & (subject == F.col(f"_s_{name}")),
            "left",
        )
        out = joined.withColumn(name, _decrypt(F.col(name), F.col("subject_key"), name)).drop(
            f"_s_{name}", "subject_key"
        )
    return out


def _decrypt(value: Column, key: Column, field: str) -> Column:
    from pyspark.sql import functions as F

    sealed = F.unbase64(F.get(F.split(value, ":"), 3))
    plain = F.try_aes_decrypt(sealed, key, F.lit("GCM"), F.lit("DEFAULT"), F.lit(field.encode()))
    return F.when(~value.startswith(PREFIX), value).otherwise(plain.cast("string"))


def decrypt_direct(
    spark: SparkSession, df: DataFrame, dataset: str, settings: Settings | None = None
) -> DataFrame:
    """``df`` (rows of ``dataset``) with its encrypted direct identifiers decrypted from the key
    table; a value whose key was shredded becomes null."""
    from pyspark.sql import functions as F

    from featurelake.avro import classification
    from featurelake.ingest.contracts import contract

    who = contract(dataset).subject
    fields = [f for f, kind in classification(dataset).items() if kind == "direct"]
    if who is None or not fields:
        return df
    subject = F.get(F.split(F.col(who), ":"), 2)
    named = df.where(F.col(who).startswith(PREFIX)).select(subject.alias("s")).distinct().collect()
    if not named:
        return df
    keys = SubjectKeys(settings).existing(r.s for r in named if r.s)
    return decrypted(spark, df, fields, keys)
