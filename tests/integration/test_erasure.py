"""Personal data end to end: bookings through every layer, pseudonyms downstream, and ``forget``.

One lake holds two weeks of bookings from the landing zone and one from Kafka (whose direct
identifiers arrive encrypted per person), a quarantined record and a quarantined truncated
file of the person to forget, silver and gold built, and both online stores (SQLite and
Redis) materialized. The proof test searches every file under the lake and the landing zone
(raw bytes, Parquet values, decompressed Avro blocks) for the person's name, e-mail address
and phone number: found before ``forget``, found nowhere after it, while every other
passenger's rows, aggregates and online values stay as they were.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from conftest import require_service

from featurelake import sql as lake_sql
from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features import feature_store
from featurelake.governance.erasure import forget, residue
from featurelake.governance.pseudonyms import pseudonym, pseudonym_key
from featurelake.governance.subject_keys import PREFIX, SubjectKeys
from featurelake.ingest.bookings import passengers
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.producers import event_records, events, produce_replay

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "featurelake")
LANDED = (dt.datetime(2013, 3, 1, tzinfo=dt.UTC), dt.datetime(2013, 3, 15, tzinfo=dt.UTC))
STREAMED = (dt.datetime(2013, 3, 15, tzinfo=dt.UTC), dt.datetime(2013, 3, 22, tzinfo=dt.UTC))
REDIS_DB = 5
EMAIL = re.compile(rb"[a-z]+\.[a-z]+[0-9]+@(?:gmail|yahoo|hotmail)\.com")
PHONE = re.compile(rb"\+1-[0-9]{3}-[0-9]{3}-[0-9]{4}")
PASSENGER_ID = re.compile(rb"P[0-9]{7}")


@dataclass
class World:
    settings: Settings
    catalog: Catalog
    person: dict[str, Any]
    """The passenger to forget (most bookings in both windows)."""
    other: dict[str, Any]
    """Another passenger with bookings, who must stay."""
    topic: str


def _person_with_most_bookings(exclude: set[str] = frozenset()) -> dict[str, Any]:
    landed = events("bookings", *LANDED)
    streamed = events("bookings", *STREAMED)
    both = set(streamed["passenger_id"].to_pylist())
    counts = pc.value_counts(landed["passenger_id"]).to_pylist()
    best = max(
        (c for c in counts if c["values"] in both and c["values"] not in exclude),
        key=lambda c: (c["counts"], c["values"]),
    )
    people = passengers()
    (row,) = people.filter(pc.equal(people["passenger_id"], best["values"])).to_pylist()
    return row


def _land_bad_files(settings: Settings, person: dict[str, Any]) -> None:
    """A file with one failing record of the person, and a truncated file holding their record."""
    schema = load_schema("bookings")
    template = event_records(events("bookings", *LANDED).slice(0, 1))[0]
    theirs = {
        **template,
        **{k: person[k] for k in ("passenger_id", "name", "email", "phone", "date_of_birth")},
    }
    folder = landing_folder("bookings", settings)
    bad = {**theirs, "event_id": "BK-00000000000000f1", "fare": -1.0}
    land_bytes(folder, "crafted-bad-record.avro", avro_bytes(schema, [bad], sync_marker=b"\1" * 16))
    many = [{**theirs, "event_id": f"BK-{i:016x}"} for i in range(40)]
    whole = avro_bytes(schema, many, sync_marker=b"\2" * 16)
    land_bytes(folder, "crafted-truncated.avro", whole[: len(whole) - 7])


def _redis_store(settings: Settings) -> dict[str, Any]:
    from featurelake.features.store import redis_connection_string

    return {"type": "redis", "connection_string": redis_connection_string(settings.redis_url)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, spark: Any, kafka: Settings) -> Iterator[World]:
    from confluent_kafka.admin import AdminClient

    from featurelake.backfill import Request, run_backfill
    from featurelake.features import apply, feature_store, materialize
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.kafka_producer import produce_replay_to_kafka
    from featurelake.ingest.stream import run_ingest
    from featurelake.ingest.topics import ensure_topics

    require_service("Redis", 6379)
    root = tmp_path_factory.mktemp("erasure")
    env = pytest.MonkeyPatch()  # whatever reads the environment's settings reads this lake's
    env.setenv("FEATURELAKE_LAKE", str(root / "lake"))
    env.setenv("FEATURELAKE_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
    env.delenv("FEATURELAKE_LANDING", raising=False)
    settings = Settings(
        lake=root / "lake",
        spark_master="local[2]",
        shuffle_partitions=4,
        redis_url=f"redis://127.0.0.1:6379/{REDIS_DB}",
        kafka_bootstrap=kafka.kafka_bootstrap,
    )
    import redis

    redis.Redis.from_url(settings.redis_url).flushdb()
    catalog = Catalog(settings=settings)
    person = _person_with_most_bookings()
    other = _person_with_most_bookings({person["passenger_id"]})
    produce_replay("bookings", *LANDED, settings=settings, records_per_file=2000)
    _land_bad_files(settings, person)
    topic = f"featurelake-test-bookings-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, {topic: 2})
    produce_replay_to_kafka("bookings", *STREAMED, settings=settings, topic=topic, bad_rate=0.02, seed=3)
    run_ingest("bookings", settings=settings, spark=spark)
    run_kafka_ingest("bookings", settings=settings, spark=spark, topic=topic)
    done = run_backfill(Request.for_range(LANDED[0].date(), STREAMED[1].date()), catalog=catalog, spark=spark)
    assert done.ok, done.failures
    apply(settings)
    materialize(
        LANDED[0], STREAMED[1] + dt.timedelta(days=1), views=["passenger_activity_90d"], settings=settings
    )
    redis_store = feature_store(settings, online_store=_redis_store(settings))
    materialize(
        LANDED[0],
        STREAMED[1] + dt.timedelta(days=1),
        views=["passenger_activity_90d"],
        settings=settings,
        store=redis_store,
    )
    yield World(settings, catalog, person, other, topic)
    env.undo()
    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics([topic])


def _redis_dump(settings: Settings) -> bytes:
    """Every key and value of the test's Redis database, as bytes."""
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    return b"".join(k + b"".join(f + v for f, v in client.hgetall(k).items()) for k in client.scan_iter())


def _needles(person: dict[str, Any]) -> list[bytes]:
    return [person["name"].encode(), person["email"].encode(), person["phone"].encode()]


def _query(catalog: Catalog, sql: str) -> list[dict[str, Any]]:
    return lake_sql.query(sql, catalog).to_pylist()


def _online(world: World, key: str, store: Any = None) -> dict[str, list[Any]]:
    from featurelake.features import online_features

    return online_features([{"passenger_key": key}], "passenger_v1", settings=world.settings, store=store)


def _independent_gold(catalog: Catalog) -> list[dict[str, Any]]:
    """gold.passenger_activity recomputed from silver.bookings with DuckDB, by its definition."""
    rows = _query(
        catalog,
        """
        with days as (
            select distinct passenger_key, d as event_date from (
                select passenger_key, event_date + 1 as d from silver.bookings
                union all select passenger_key, event_date + 91 from silver.bookings
            ) where d between (select min(event_date) + 1 from silver.bookings)
                          and (select max(event_date) + 91 from silver.bookings)
        )
        select d.passenger_key, d.event_date, count(b.event_id) as n,
               ((2 * sum(b.fare_cents) + n) // nullif(2 * n, 0))::double / 100 as fare_avg_90d,
               ((2 * sum(b.lead_minutes) + n) // nullif(2 * n, 0))::double / 1440 as lead_days_avg_90d
        from days d left join silver.bookings b
          on b.passenger_key = d.passenger_key
         and b.event_date >= d.event_date - 90 and b.event_date < d.event_date
        group by all order by 1, 2
        """,
    )
    return [{("bookings_90d" if k == "n" else k): v for k, v in r.items()} for r in rows]


def _gold(catalog: Catalog) -> list[dict[str, Any]]:
    return _query(
        catalog,
        "select passenger_key, event_date, bookings_90d, fare_avg_90d, lead_days_avg_90d "
        "from gold.passenger_activity order by 1, 2",
    )


def test_gold_passenger_activity_carries_its_constraint(world: World) -> None:
    from deltalake import DeltaTable

    config = DeltaTable(world.catalog.path("gold.passenger_activity")).metadata().configuration
    assert "delta.constraints.passenger_activity_contract" in config


def test_silver_pseudonyms_match_an_independent_hmac(world: World) -> None:
    key = pseudonym_key(world.settings)
    rows = _query(
        world.catalog,
        "select b.passenger_id, b.email, s.passenger_key, s.email_key, s.birth_year, year(b.date_of_birth) y "
        "from silver.bookings s join bronze.bookings b using (event_id) "
        "where b.passenger_id like 'P%' limit 500",
    )
    assert rows
    for r in rows:
        assert r["passenger_key"] == pseudonym(key, r["passenger_id"])
        assert r["email_key"] == pseudonym(key, r["email"].strip().lower())
        assert r["birth_year"] == r["y"]
    # Kafka's rows arrived encrypted for their person's key table id, and silver decrypted them
    streamed = _query(
        world.catalog,
        "select s.event_id, s.passenger_key, b.passenger_id from silver.bookings s "
        "join bronze.bookings b using (event_id) where b._kafka_topic is not null",
    )
    assert streamed
    reference = events("bookings", *STREAMED).to_pydict()
    truth = dict(zip(reference["event_id"], reference["passenger_id"], strict=True))
    book = SubjectKeys(world.settings)
    for r in streamed:
        assert r["passenger_id"].startswith(f"{PREFIX}{book.subject(truth[r['event_id']])}:")
        assert r["passenger_key"] == pseudonym(key, truth[r["event_id"]])


def test_column_lineage_follows_each_identifier_to_its_pseudonym(world: World) -> None:
    import json

    from featurelake.lineage import events_dir, read_graph

    columns = read_graph(world.settings).columns
    assert columns["silver.bookings"]["passenger_key"] == {"bronze.bookings.passenger_id"}
    assert columns["bronze.bookings"]["email"] == {"events:bookings.email"}
    assert columns["gold.passenger_activity"]["fare_avg_90d"] == {
        "silver.bookings.fare_cents",
        "silver.bookings.event_date",
    }
    text = (events_dir(world.settings) / "featurelake.jsonl").read_text()
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    silver = next(
        o for e in events for o in e["outputs"] if o["name"] == world.catalog.path("silver.bookings")
    )
    fields = silver["facets"]["columnLineage"]["fields"]
    (key,) = fields["passenger_key"]["inputFields"]
    assert key["transformations"][0]["masking"] is True  # an identifier became a pseudonym
    (fare,) = fields["fare"]["inputFields"]
    assert fare["transformations"][0]["subtype"] == "IDENTITY"


def test_no_direct_identifier_reaches_silver_gold_or_the_online_store(world: World) -> None:
    lake = world.settings.lake
    downstream = [lake / "silver" / "bookings", lake / "gold" / "passenger_activity", lake / "feast"]
    people = passengers()
    names = [n.encode() for n in people["name"].to_pylist()[:3000]]
    found = residue(downstream, names)
    assert not found, found[:5]
    for path in (p for root in downstream for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        patterns = (EMAIL, PHONE)
        if data[:4] == b"PAR1":  # compressed: search the values (a raw P+7 digits can be chance)
            import pyarrow.parquet as pq

            data = "\n".join(map(str, pq.read_table(path).to_pylist())).encode()
            patterns = (EMAIL, PHONE, PASSENGER_ID)
        for pattern in patterns:
            assert not pattern.search(data), f"{path} holds {pattern.search(data)}"
    dump = _redis_dump(world.settings)
    assert dump, "the Redis store was materialized"
    for pattern in (EMAIL, PHONE, PASSENGER_ID):
        assert not pattern.search(dump)
    # the raw layers do hold them: the search would find them where they are
    assert residue([lake / "bronze" / "bookings"], [world.person["email"].encode()])


def test_analyst_reads_masked_bookings_never_bronze(world: World) -> None:
    env = {**os.environ, "FEATURELAKE_LAKE": str(world.settings.lake)}
    refused = subprocess.run(
        [CLI, "sql", "--role", "analyst", "select * from bronze.bookings"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: role analyst may not read bronze.bookings (policy: silver.*, gold.*, masked.*)"
    ]
    masked = subprocess.run(
        [
            CLI,
            "sql",
            "--role",
            "analyst",
            "--format",
            "csv",
            "select name, email, date_of_birth from masked.bookings",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert masked.returncode == 0, masked.stderr
    rows = masked.stdout.splitlines()[1:]
    assert rows
    for name, email, born in (r.split(",") for r in rows):  # Kafka's encrypted e-mails mask whole
        assert name == "***"
        assert re.fullmatch(r"\*\*\*(@(gmail|yahoo|hotmail)\.com)?", email), email
        assert born.endswith("-01-01")
    assert any("@" in r for r in rows)


def test_forget_leaves_no_byte_of_the_person_and_the_others_intact(world: World, spark: Any) -> None:
    settings, catalog, person, other = world.settings, world.catalog, world.person, world.other
    roots = [settings.lake, settings.landing_dir]
    key = pseudonym_key(settings)
    mine, theirs = pseudonym(key, person["passenger_id"]), pseudonym(key, other["passenger_id"])
    shredded = SubjectKeys(settings).subject(person["passenger_id"])
    assert mine
    assert theirs

    before = residue(roots, _needles(person))
    for place in (settings.lake / "bronze", settings.lake / "quarantine", settings.landing_dir):
        assert any(p.startswith(f"{place}/") for p in before), (place, before)
    assert _online(world, mine)["bookings_90d"][0] is not None
    redis_store = feature_store(settings, online_store=_redis_store(settings))
    assert _online(world, mine, redis_store)["bookings_90d"][0] is not None
    assert SubjectKeys(settings).existing([shredded])
    assert mine.encode() in _redis_dump(settings)
    others = _query(
        catalog,
        f"select count(*) n from bronze.bookings where passenger_id <> '{person['passenger_id']}' "
        f"and passenger_id not like 'enc:v1:{shredded}:%'",
    )[0]["n"]
    their_online = _online(world, theirs)
    their_gold = [g for g in _gold(catalog) if g["passenger_key"] == theirs]
    assert their_gold

    result = forget(email=f"  {person['email'].upper()} ", settings=settings, spark=spark)

    assert result.found
    assert result.subject_keys == [mine]
    assert result.bronze_rows > 0
    assert result.landing_records > 0
    assert result.quarantine_rows >= 2
    assert result.online_entities == 2  # SQLite and Redis
    assert result.shredded_keys == 1
    assert residue(roots, _needles(person)) == []
    assert residue(roots, [f"{PREFIX}{shredded}:".encode()]) == []  # not even their ciphertext
    assert not SubjectKeys(settings).existing([shredded])
    dump = _redis_dump(settings)
    assert theirs.encode() in dump
    assert mine.encode() not in dump
    assert not any(n in dump for n in _needles(person))

    # nothing of them in silver, gold or online; everyone else as before
    assert (
        _query(catalog, f"select count(*) n from silver.bookings where passenger_key = '{mine}'")[0]["n"] == 0
    )
    assert (
        _query(catalog, f"select count(*) n from gold.passenger_activity where passenger_key = '{mine}'")[0][
            "n"
        ]
        == 0
    )
    assert _online(world, mine)["bookings_90d"] == [None]
    assert _online(world, mine, redis_store)["bookings_90d"] == [None]
    assert _query(catalog, "select count(*) n from bronze.bookings")[0]["n"] == others
    assert _online(world, theirs) == their_online
    assert [g for g in _gold(catalog) if g["passenger_key"] == theirs] == their_gold
    # the rebuilt aggregates are what silver now says, to the last digit
    assert _gold(catalog) == _independent_gold(catalog)

    (log,) = _query(catalog, "select * from ops.erasure_log")
    assert log["status"] == "done"
    assert log["subject_keys"] == mine
    assert log["lookup"] == "email"
    assert log["bronze_rows"] == result.bronze_rows
    assert log["vacuumed_files"] > 0

    from featurelake.doctor import run_doctor

    report = run_doctor(catalog)
    assert not [f for f in report.findings if f.severity == "error"], report.findings


def test_a_killed_forget_is_completed_by_the_next(tmp_path: Path, spark: Any) -> None:
    from featurelake.backfill import Request, run_backfill
    from featurelake.ingest.stream import run_ingest

    settings = Settings(lake=tmp_path / "lake", spark_master="local[2]", shuffle_partitions=4)
    catalog = Catalog(settings=settings)
    start, end = dt.datetime(2013, 5, 1, tzinfo=dt.UTC), dt.datetime(2013, 5, 4, tzinfo=dt.UTC)
    produce_replay("bookings", start, end, settings=settings)
    run_ingest("bookings", settings=settings, spark=spark)
    assert run_backfill(Request.for_range(start.date(), end.date()), catalog=catalog, spark=spark).ok
    landed = events("bookings", start, end)
    top = max(pc.value_counts(landed["passenger_id"]).to_pylist(), key=lambda c: (c["counts"], c["values"]))
    victim, held = top["values"], top["counts"]
    env = {
        **os.environ,
        "FEATURELAKE_LAKE": str(settings.lake),
        "FEATURELAKE_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    }

    killed = subprocess.run(
        [CLI, "forget", "--passenger-id", victim],
        capture_output=True,
        text=True,
        env={**env, "FEATURELAKE_CRASH_AT": "forget_after_bronze"},
        timeout=600,
        start_new_session=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    doctor = subprocess.run([CLI, "doctor"], capture_output=True, text=True, env=env, timeout=300)
    assert doctor.returncode == 1
    assert "did not finish: run the same featurelake forget again" in doctor.stdout

    again = subprocess.run(
        [CLI, "forget", "--passenger-id", victim], capture_output=True, text=True, env=env, timeout=600
    )
    assert again.returncode == 0, again.stderr[-2000:]
    (log,) = _query(catalog, "select * from ops.erasure_log")
    assert log["status"] == "done"
    assert log["bronze_rows"] == held
    doctor = subprocess.run([CLI, "doctor"], capture_output=True, text=True, env=env, timeout=300)
    assert doctor.returncode == 0, doctor.stdout
    audit = _query(catalog, "select target, status from ops.audit_log where action = 'forget'")
    assert audit == [{"target": log["erasure_id"], "status": "ok"}]
    assert residue([settings.lake, settings.landing_dir], [victim.encode()]) == []
