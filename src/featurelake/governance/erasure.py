"""The right to erasure: ``featurelake forget`` removes one person from every layer, physically.

A person is named by passenger id or e-mail address. :func:`forget`

1. finds them: their bronze rows (by id, or by the trimmed lower-case e-mail), the
   quarantined records naming them, and silver's pseudonyms (``email_key`` finds a person
   whose bronze rows are already gone);
2. rewrites every landing file holding one of their records without it (same name,
   codec and modification time, so the file source never reads it again); an unreadable
   landing file that holds their identifiers is removed (its bytes are in quarantine, which
   step 4 clears);
3. deletes their ``bronze.bookings`` rows;
4. deletes the ``quarantine.records`` rows holding their identifiers: records, whole files
   (their Avro blocks decompressed and searched) and Kafka messages;
5. rebuilds the silver and gold days those rows fed (the backfill's own path: the
   aggregates are recomputed from what is left, and the person's pseudonym leaves
   ``silver.bookings`` and ``gold.passenger_activity``);
6. removes their entity from both online stores (SQLite, then ``VACUUM``; Redis);
7. deletes their key from the crypto-shredding key table
   (:mod:`featurelake.governance.subject_keys`): their Kafka messages, which cannot be
   changed, stay encrypted under a key that no longer exists;
8. ``VACUUM``\\ s the tables it changed at 0 hours of retention (``LITE``: only files the
   log removed, so an ingest writing at the same time loses nothing), so the files that
   held the rows are gone from disk, not only from the current version;
9. writes a row to ``ops.erasure_log`` (``featurelake forget`` adds one to ``ops.audit_log``).

Deletes are Delta ``MERGE ... WHEN MATCHED THEN DELETE`` against a small table of the
rows' keys, not ``DELETE FROM ... WHERE email = '...'``: Delta keeps a ``DELETE``'s
predicate, literals included, in the commit's ``operationParameters`` forever, where no
``VACUUM`` reaches. A ``MERGE`` records only its join condition. For the same reason the
tables holding direct identifiers keep no column statistics of them in their log
(:meth:`featurelake.catalog.TableSpec.properties`), and nothing written here names the
person: ``ops.erasure_log`` and ``ops.audit_log`` name the pseudonym and the erasure id.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.errors import FeaturelakeError
from featurelake.governance.pseudonyms import normalise_email, pseudonym, pseudonym_key
from featurelake.governance.subject_keys import PREFIX
from featurelake.ingest.batch import crashpoint

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DATASET", "ErasureResult", "Subject", "avro_plain_bytes", "forget", "landing_matches"]

DATASET = "bookings"
BRONZE = "bronze.bookings"
QUARANTINE = "quarantine.records"
SILVER = "silver.bookings"
GOLD = "gold.passenger_activity"
ERASURE_LOG = "ops.erasure_log"
RETENTION = (
    "0 hours: an erasure must remove the old files now, not after Delta's 7-day guard; VACUUM LITE "
    "deletes only files the log removed, so writers running meanwhile lose nothing"
)
_QUARANTINE_IDENTITY = (
    "dataset",
    "layer",
    "quarantine_date",
    "source_file",
    "batch_id",
    "record_index",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "quarantined_at",
    "replay_id",
    "replayed_at",
)


@dataclass
class Subject:
    """Everything that identifies one person in the lake (held in memory only, never written)."""

    lookup: str
    """``passenger_id`` or ``email``: how they were named."""
    passenger_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    """Normalised (trimmed, lower case)."""
    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    """Pseudonyms: ``passenger_key`` values in silver and gold, the online stores' entities."""
    subjects: set[str] = field(default_factory=set)
    """Their ids in the key table: whose key encrypts their Kafka messages."""

    def needles(self) -> list[bytes]:
        """The identifiers as UTF-8 bytes, for searching raw and decompressed bytes."""
        values = self.passenger_ids | self.emails | self.names | self.phones
        encrypted = {f"{PREFIX}{k}:" for k in self.subjects}  # Kafka's values, encrypted for the person
        return sorted({v.encode() for v in values | encrypted if v})

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a decoded booking record is this person's."""
        email = record.get("email")
        return record.get("passenger_id") in self.passenger_ids or (
            isinstance(email, str) and normalise_email(email) in self.emails
        )


COUNTS = (
    "landing_files",
    "landing_records",
    "bronze_rows",
    "quarantine_rows",
    "quarantine_ingest_rows",
    "silver_rows",
    "gold_rows",
    "online_entities",
    "shredded_keys",
    "vacuumed_files",
)
"""The counts of an erasure: fields of :class:`ErasureResult` and columns of ``ops.erasure_log``."""


@dataclass
class ErasureResult:
    """What :func:`forget` removed (the ``ops.erasure_log`` row)."""

    erasure_id: str
    lookup: str
    subject_keys: list[str] = field(default_factory=list)
    landing_files: int = 0
    landing_records: int = 0
    bronze_rows: int = 0
    quarantine_rows: int = 0
    quarantine_ingest_rows: int = 0
    silver_rows: int = 0
    gold_rows: int = 0
    online_entities: int = 0
    shredded_keys: int = 0
    vacuumed_files: int = 0
    versions: dict[str, list[int]] = field(default_factory=dict)
    """Table -> [version before, version after]."""
    lookup_key: str = ""
    """HMAC of the passenger id or e-mail the erasure was asked for: finds it again to complete it."""
    shred: list[str] = field(default_factory=list)
    """The person's ids in the key table."""

    @property
    def found(self) -> bool:
        """Whether any layer held the person (something was erased, vacuuming aside)."""
        return any(getattr(self, c) for c in COUNTS if c != "vacuumed_files")


def forget(
    *,
    passenger_id: str | None = None,
    email: str | None = None,
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    say: Callable[[str], None] = lambda _: None,
    started: Callable[[str], None] = lambda _: None,
) -> ErasureResult:
    """Erase one person, named by ``passenger_id`` or ``email``, from every layer.

    Args:
        passenger_id: the person's account number (bronze ``passenger_id``).
        email: their e-mail address (any case, surrounding blanks ignored).
        settings: the lake.
        spark: the session; featurelake's when omitted.
        say: called with a line per step, for progress.
        started: called with the erasure's id once it is known (a new one, or that of an
            interrupted erasure of the same person, which this one completes).

    Raises:
        ValueError: neither or both of ``passenger_id`` and ``email``, or an empty one.
    """
    from featurelake.spark import get_spark

    if (passenger_id is None) == (email is None):
        raise ValueError("name the person with exactly one of --passenger-id and --email")
    value = (passenger_id if passenger_id is not None else email or "").strip()
    if not value:
        raise ValueError("the passenger id or e-mail address is empty")
    catalog = Catalog(settings=settings)
    settings = catalog.settings
    spark = spark or get_spark("featurelake-forget", settings=settings)
    began = dt.datetime.now(dt.UTC)
    lookup = "passenger_id" if passenger_id is not None else "email"
    key = pseudonym_key(settings)
    lookup_key = str(pseudonym(key, value if passenger_id is not None else normalise_email(value)))
    subject = _find(spark, catalog, key, passenger_id=passenger_id and value, email=email and value)
    result = _resumed(spark, catalog, lookup_key) or ErasureResult(str(uuid.uuid4()), lookup)
    # an interrupted run may have erased what found them
    subject.keys.update(result.subject_keys)
    subject.subjects.update(result.shred)
    result.subject_keys, result.shred = sorted(subject.keys), sorted(subject.subjects)
    result.lookup_key = lookup_key
    started(result.erasure_id)
    say(f"found: {len(subject.keys)} pseudonym(s), {len(subject.passenger_ids)} passenger id(s)")
    # recorded before anything is erased: a run killed on the way is completed by the next one
    _record(spark, catalog, result, began, "erasing")

    files, records = _forget_landing(settings.landing_dir / DATASET, subject)
    result.landing_files += files
    result.landing_records += records
    say(f"landing: {records} record(s) removed from {files} file(s)")
    days = _forget_bronze(spark, catalog, subject, result)
    crashpoint("forget_after_bronze", 0)
    _forget_quarantine(spark, catalog, subject, result)
    _tally(spark, catalog, result)
    say(f"bronze: {result.bronze_rows} row(s) deleted; quarantine: {result.quarantine_rows} row(s) deleted")
    _record(spark, catalog, result, began, "erasing")
    _rebuild(spark, catalog, subject, days, result)
    say(f"silver: {result.silver_rows} row(s), gold: {result.gold_rows} row(s) removed; their days rebuilt")
    result.online_entities += _forget_online(catalog, subject)
    say(f"online stores: {result.online_entities} entit(ies) removed")
    from featurelake.governance.subject_keys import SubjectKeys

    result.shredded_keys += SubjectKeys(settings).shred(subject.subjects)
    say(f"key table: {result.shredded_keys} key(s) shredded")
    if result.found:  # a forget that found nobody leaves the tables' history alone
        _vacuum(spark, catalog, result)
        say(f"vacuum: {result.vacuumed_files} file(s) removed from disk")
    _record(spark, catalog, result, began, "done" if result.found else "not_found")
    return result


def _find(
    spark: SparkSession, catalog: Catalog, key: bytes, *, passenger_id: str | None, email: str | None
) -> Subject:
    """The person's identifiers, from bronze, quarantine and silver."""
    from pyspark.sql import functions as F

    subject = Subject("passenger_id" if passenger_id is not None else "email")
    if passenger_id is not None:
        subject.passenger_ids.add(passenger_id)
        subject.keys.add(str(pseudonym(key, passenger_id)))
    else:
        assert email is not None
        subject.emails.add(normalise_email(email))
    if catalog.exists(SILVER) and email is not None:
        hashed = str(pseudonym(key, normalise_email(email)))
        found = catalog.read(spark, SILVER).where(F.col("email_key") == F.lit(hashed)).select("passenger_key")
        subject.keys.update(r[0] for r in found.distinct().collect())
    if catalog.exists(QUARANTINE):
        q = catalog.read(spark, QUARANTINE).where(
            (F.col("dataset") == DATASET) & F.col("record_json").isNotNull()
        )
        pid = F.get_json_object("record_json", "$.passenger_id")
        mail = F.lower(F.trim(F.get_json_object("record_json", "$.email")))
        hit = pid.isin(sorted(subject.passenger_ids)) | mail.isin(sorted(subject.emails))
        for r in q.where(hit).select(pid.alias("p")).distinct().collect():
            if r.p:
                subject.passenger_ids.add(r.p)
    if catalog.exists(BRONZE):
        b = catalog.read(spark, BRONZE)
        hit = F.col("passenger_id").isin(sorted(subject.passenger_ids)) | F.lower(F.trim("email")).isin(
            sorted(subject.emails)
        )
        subject.passenger_ids.update(r[0] for r in b.where(hit).select("passenger_id").distinct().collect())
        rows = (
            b.where(F.col("passenger_id").isin(sorted(subject.passenger_ids)))
            .select("name", "email", "phone")
            .distinct()
            .collect()
        )
        for r in rows:
            subject.names.update([r.name] if r.name else [])
            subject.emails.update([normalise_email(r.email)] if r.email else [])
            subject.phones.update([r.phone] if r.phone else [])
    subject.keys.update(str(pseudonym(key, p)) for p in subject.passenger_ids)
    from featurelake.governance.subject_keys import SubjectKeys, subject_of

    book = SubjectKeys(catalog.settings)
    subject.subjects.update(book.subject(p) for p in subject.passenger_ids)
    if catalog.exists(SILVER) and catalog.exists(BRONZE) and subject.keys:
        # a person known only from Kafka: their bronze rows name their key table id
        mine = catalog.read(spark, SILVER).where(F.col("passenger_key").isin(sorted(subject.keys)))
        rows = (
            catalog.read(spark, BRONZE)
            .join(mine.select("event_id"), "event_id", "left_semi")
            .where(F.col("passenger_id").startswith(PREFIX))
            .select("passenger_id")
            .distinct()
            .collect()
        )
        subject.subjects.update(s for r in rows if (s := subject_of(r[0])))
    return subject


def avro_plain_bytes(data: bytes) -> bytes:
    """An Avro container file's bytes with every block decompressed, as far as it can be read.

    Identifiers in a ``deflate`` file are not in its raw bytes; a truncated or corrupt file
    (quarantined whole) still has readable blocks before the damage, and a damaged deflate
    block decompresses up to the damage. Anything that is not Avro is returned as it is.
    """
    import fastavro

    out = [data]
    try:
        stream = io.BytesIO(data)
        reader = fastavro.reader(stream)
        codec, pos = reader.codec, stream.tell()
    except Exception:
        return data
    from featurelake.avro import SYNC_SIZE, _varint

    while pos < len(data):
        try:
            _, pos = _varint(data, pos)
            size, pos = _varint(data, pos)
        except (EOFError, ValueError):
            break
        block = data[pos : pos + max(size, 0)]
        if codec == "deflate":
            try:
                block = zlib.decompressobj(-15).decompress(block)
            except zlib.error:
                pass
        out.append(block)
        pos += max(size, 0) + SYNC_SIZE
    return b"".join(out)


def landing_matches(path: Path, subject: Subject) -> tuple[list[dict[str, Any]] | None, int, Any]:
    """Read one landing file: (records kept, records of the person, writer schema and codec).

    Returns ``(None, -1, None)`` for a file that cannot be read whole.
    """
    import fastavro

    try:
        with open(path, "rb") as f:
            reader = fastavro.reader(f)
            schema, codec = reader.writer_schema, reader.codec
            records: list[dict[str, Any]] = [dict(r) for r in reader]  # type: ignore[arg-type]
    except Exception:
        return None, -1, None
    kept = [r for r in records if not subject.matches(r)]
    return kept, len(records) - len(kept), (schema, codec)


def _forget_landing(folder: Path, subject: Subject) -> tuple[int, int]:
    """Rewrite (or remove, when unreadable) every landing file holding the person."""
    from featurelake.ingest.landing import avro_bytes, land_bytes

    if not folder.is_dir():
        return 0, 0
    files = records = 0
    needles = subject.needles()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        kept, removed, how = landing_matches(path, subject)
        stat = path.stat()
        if kept is None:
            raw = avro_plain_bytes(path.read_bytes())
            if any(n in raw for n in needles):
                path.unlink()
                files += 1
            continue
        if not removed:
            continue
        schema, codec = how
        sync = uuid.uuid5(uuid.NAMESPACE_URL, path.name).bytes
        land_bytes(path.parent, path.name, avro_bytes(schema, kept, codec=codec, sync_marker=sync))
        # the file keeps its time: Spark's file source never takes it for a new file
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        files += 1
        records += removed
    return files, records


def _version(catalog: Catalog, name: str) -> int:
    from featurelake.delta.maintenance import log_version

    return log_version(catalog.path(name))


_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def _merge_delete(
    spark: SparkSession,
    catalog: Catalog,
    name: str,
    source: DataFrame,
    condition: str,
    result: ErasureResult,
    **tag: int,
) -> None:
    """``MERGE INTO name USING source ON condition WHEN MATCHED THEN DELETE``.

    The commit's ``userMetadata`` carries the erasure id (and ``tag``): its row counts are read
    back from the table's history (:func:`_tally`), which a kill cannot separate from the delete.
    """
    from delta.tables import DeltaTable

    from featurelake.catalog import retry_conflicts
    from featurelake.governance.audit import commit_metadata

    before = _version(catalog, name)
    path = catalog.path(name)
    meta = json.dumps({**commit_metadata(), "erasure_id": result.erasure_id, **tag}, sort_keys=True)
    previous = spark.conf.get(_USER_METADATA, None)
    spark.conf.set(_USER_METADATA, meta)
    try:
        retry_conflicts(
            lambda: (
                DeltaTable.forPath(spark, path)
                .alias("t")
                .merge(source.alias("s"), condition)
                .whenMatchedDelete()
                .execute()
            ),
            name,
            "an erasure",
            path,
        )
    finally:
        if previous is None:
            spark.conf.unset(_USER_METADATA)
        else:
            spark.conf.set(_USER_METADATA, previous)
    first = result.versions.get(name, [before])[0]
    result.versions[name] = [first, _version(catalog, name)]


def _tally(spark: SparkSession, catalog: Catalog, result: ErasureResult) -> None:
    """Bronze and quarantine rows this erasure deleted, from their commits (every run of it)."""
    from delta.tables import DeltaTable

    def commits(name: str) -> list[tuple[dict[str, str], dict[str, object]]]:
        if not catalog.exists(name):
            return []
        out = []
        history = DeltaTable.forPath(spark, catalog.path(name)).history().where("operation = 'MERGE'")
        for row in history.select("operationMetrics", "userMetadata").collect():
            try:
                meta = json.loads(row.userMetadata or "{}")
            except ValueError:
                continue
            if meta.get("erasure_id") == result.erasure_id:
                out.append((row.operationMetrics or {}, meta))
        return out

    result.bronze_rows = sum(int(m.get("numTargetRowsDeleted", 0)) for m, _ in commits(BRONZE))
    quarantine = commits(QUARANTINE)
    result.quarantine_rows = sum(int(m.get("numTargetRowsDeleted", 0)) for m, _ in quarantine)
    result.quarantine_ingest_rows = sum(int(str(t.get("ingest_rows", 0))) for _, t in quarantine)


def _forget_bronze(
    spark: SparkSession, catalog: Catalog, subject: Subject, result: ErasureResult
) -> set[dt.date]:
    """Delete the person's bronze rows; returns the event days they were on."""
    from pyspark.sql import functions as F

    if not catalog.exists(BRONZE) or not (subject.passenger_ids or subject.subjects):
        return set()
    # rows from Kafka name the person only by the pseudonym inside their encrypted values
    encrypted_for = F.get(F.split(F.col("passenger_id"), ":"), 2)
    mine = F.col("passenger_id").isin(sorted(subject.passenger_ids)) | (
        F.col("passenger_id").startswith(PREFIX) & encrypted_for.isin(sorted(subject.subjects))
    )
    b = catalog.read(spark, BRONZE).where(mine)
    keys = b.select("event_date", "passenger_id").distinct().collect()
    if not keys:
        return set()
    days = {r.event_date for r in keys}
    source = spark.createDataFrame([tuple(r) for r in keys], "event_date date, passenger_id string")
    dates = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(days))
    condition = (
        f"t.event_date IN ({dates}) AND t.event_date = s.event_date AND t.passenger_id = s.passenger_id"
    )
    _merge_delete(spark, catalog, BRONZE, source, condition, result)
    return days


def _forget_quarantine(
    spark: SparkSession, catalog: Catalog, subject: Subject, result: ErasureResult
) -> None:
    """Delete the quarantine rows holding the person's identifiers."""
    from pyspark.sql import functions as F

    if not catalog.exists(QUARANTINE):
        return
    q = catalog.read(spark, QUARANTINE).where(F.col("dataset") == DATASET)
    ids, emails = sorted(subject.passenger_ids), sorted(subject.emails)
    pid = F.get_json_object("record_json", "$.passenger_id")
    mail = F.lower(F.trim(F.get_json_object("record_json", "$.email")))
    records = q.where(F.col("record_json").isNotNull() & (pid.isin(ids) | mail.isin(emails)))
    hits = [tuple(r) for r in records.select(*_QUARANTINE_IDENTITY).collect()]
    needles = subject.needles()
    payloads = q.where(F.col("payload").isNotNull()).select(*_QUARANTINE_IDENTITY, "payload")
    for row in payloads.toLocalIterator():
        plain = avro_plain_bytes(bytes(row.payload))
        if any(n in plain for n in needles):
            hits.append(tuple(row)[: len(_QUARANTINE_IDENTITY)])
    if not hits:
        return
    schema = catalog.spec(QUARANTINE).schema
    ddl = ", ".join(f"{c} {schema.column(c).spark_type()}" for c in _QUARANTINE_IDENTITY)
    source = spark.createDataFrame(hits, ddl)
    rows = [dict(zip(_QUARANTINE_IDENTITY, h, strict=True)) for h in hits]
    dates = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted({r["quarantine_date"] for r in rows}))
    same = " AND ".join(f"t.{c} <=> s.{c}" for c in _QUARANTINE_IDENTITY)
    # the rows an ingest batch wrote (ops.ingest_log counts them): not those a replay added
    # (doctor's filter: a row a replay added has a replay_id and no replayed_at)
    ingest_rows = sum(
        r["layer"] == "bronze" and not (r["replay_id"] is not None and r["replayed_at"] is None) for r in rows
    )
    condition = f"t.quarantine_date IN ({dates}) AND {same}"
    _merge_delete(spark, catalog, QUARANTINE, source, condition, result, ingest_rows=ingest_rows)


def _count(spark: SparkSession, catalog: Catalog, name: str, keys: Iterable[str]) -> int:
    from pyspark.sql import functions as F

    if not catalog.exists(name):
        return 0
    return int(catalog.read(spark, name).where(F.col("passenger_key").isin(sorted(keys))).count())


def _rebuild(
    spark: SparkSession, catalog: Catalog, subject: Subject, days: set[dt.date], result: ErasureResult
) -> None:
    """Rebuild the silver days the bronze rows were on and every gold day reading them."""
    from featurelake.backfill import Request, run_backfill

    result.silver_rows += _count(spark, catalog, SILVER, subject.keys)
    result.gold_rows += _count(spark, catalog, GOLD, subject.keys)
    silver_days = set(days)
    if result.silver_rows and catalog.exists(SILVER):
        from pyspark.sql import functions as F

        rows = catalog.read(spark, SILVER).where(F.col("passenger_key").isin(sorted(subject.keys)))
        silver_days |= {r[0] for r in rows.select("event_date").distinct().collect()}
    for name in (SILVER, GOLD):
        result.versions.setdefault(name, [_version(catalog, name) if catalog.exists(name) else -1, -1])
    if silver_days:
        done = run_backfill(Request.for_changes({BRONZE: silver_days}), catalog=catalog, spark=spark)
        if not done.ok:
            raise FeaturelakeError(
                "forget: rebuilding silver and gold failed, the erasure is incomplete: "
                + "; ".join(done.failures[:3])
                + " (fix the cause and run the same forget again: it resumes)"
            )
    for name in (SILVER, GOLD):
        if catalog.exists(name):
            left = _count(spark, catalog, name, subject.keys)
            if left:
                raise FeaturelakeError(
                    f"forget: {name} still holds {left} row(s) of the person after its rebuild"
                )
            result.versions[name][1] = _version(catalog, name)


def _forget_online(catalog: Catalog, subject: Subject) -> int:
    """Remove the person's entity from the SQLite store (when the lake has one) and from Redis
    (when it answers: the ``prod`` profile's store, also reached from ``local``)."""
    import pyarrow as pa
    from feast import ValueType

    from featurelake.features import _encode
    from featurelake.features.definitions import build_definitions
    from featurelake.features.store import feast_dir, feature_store, redis_connection_string
    from featurelake.features.writers import writer_for

    if not subject.keys:
        return 0
    settings = catalog.settings
    views = [v for v in build_definitions(catalog).feature_views if "passenger" in v.entities]
    keys = _encode.entity_keys([("passenger_key", pa.array(sorted(subject.keys)), ValueType.STRING)])
    stores: list[dict[str, Any]] = []
    sqlite = feast_dir(settings) / "online.db"
    if sqlite.exists():
        stores.append({"type": "sqlite", "path": str(sqlite)})
    if _redis_answers(settings.redis_url):
        stores.append({"type": "redis", "connection_string": redis_connection_string(settings.redis_url)})
    elif settings.online_store == "redis":
        raise FeaturelakeError(
            f"forget: Redis at {settings.redis_url} does not answer; the online store is there"
        )
    removed = 0
    for config in stores:
        fs = feature_store(settings, online_store=config)
        writer = writer_for(fs.config, fs._get_provider().online_store)
        removed += sum(writer.delete(view, keys) for view in views)
    return removed


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _vacuum(spark: SparkSession, catalog: Catalog, result: ErasureResult) -> None:
    """VACUUM LITE at 0 hours the tables an erasure changes (FULL where LITE cannot).

    All of them, changed by this run or not: a run killed after its deletes, completed by
    this one, changed them without vacuuming.
    """
    from featurelake.delta.maintenance import vacuum

    for name in (BRONZE, QUARANTINE, SILVER, GOLD):
        if catalog.exists(name):
            removed = vacuum(spark, catalog.path(name), retention_hours=0, force=True, lite=True)
            result.vacuumed_files += len(removed)


def _record(
    spark: SparkSession, catalog: Catalog, result: ErasureResult, began: dt.datetime, status: str
) -> None:
    """Insert or update the erasure's ``ops.erasure_log`` row (one per erasure id)."""
    from delta.tables import DeltaTable

    from featurelake.governance.audit import who

    row = {
        "erasure_id": result.erasure_id,
        "requested_at": began,
        "finished_at": dt.datetime.now(dt.UTC),
        "actor": who(),
        "lookup": result.lookup,
        "lookup_key": result.lookup_key,
        "subject_keys": ",".join(result.subject_keys) or None,
        "dataset": DATASET,
        **{c: getattr(result, c) for c in COUNTS},
        "retention_override": RETENTION,
        "status": status,
        "detail": json.dumps({"versions": result.versions, "shred": result.shred}, sort_keys=True),
        "erasure_date": began.date(),
    }
    path = catalog.ensure(ERASURE_LOG, spark)
    source = spark.createDataFrame([row], catalog.spec(ERASURE_LOG).schema.to_spark_ddl())
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(source.alias("s"), "t.erasure_id = s.erasure_id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def _resumed(spark: SparkSession, catalog: Catalog, lookup_key: str) -> ErasureResult | None:
    """The interrupted erasure (status ``erasing``) asked for with the same id or e-mail."""
    from pyspark.sql import functions as F

    if not catalog.exists(ERASURE_LOG):
        return None
    rows = (
        catalog.read(spark, ERASURE_LOG)
        .where((F.col("status") == "erasing") & (F.col("lookup_key") == F.lit(lookup_key)))
        .orderBy(F.col("requested_at").desc())
        .limit(1)
        .collect()
    )
    if not rows:
        return None
    r = rows[0]
    result = ErasureResult(r.erasure_id, r.lookup)
    for c in COUNTS:
        setattr(result, c, int(r[c]))
    detail = json.loads(r.detail or "{}")
    result.versions = detail.get("versions", {})
    result.shred = list(detail.get("shred", []))
    result.subject_keys = [k for k in (r.subject_keys or "").split(",") if k]
    return result


def residue(roots: Iterable[Path], needles: Iterable[bytes]) -> list[str]:
    """Every file under ``roots`` holding one of ``needles``, as ``path: how it was found``.

    Each file is searched as raw bytes, and also decoded where its format compresses:
    Parquet (every column's values, as text) and Avro containers (blocks decompressed).
    This is the erasure proof's search: after ``forget``, it finds nothing.
    """
    import pyarrow.parquet as pq

    wanted = [n for n in needles if n]
    found: list[str] = []
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            data = path.read_bytes()
            views: list[tuple[str, bytes]] = [("raw bytes", data)]
            if data[:4] == b"PAR1":
                table = pq.read_table(path)
                text = "\n".join(str(v) for col in table.columns for v in col.to_pylist())
                views.append(("parquet values", text.encode()))
            elif data[:4] == b"Obj\x01":
                views.append(("avro blocks", avro_plain_bytes(data)))
            for how, blob in views:
                if any(n in blob for n in wanted):
                    found.append(f"{path}: {how}")
                    break
    return found
