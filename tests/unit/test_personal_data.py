"""Personal data without Spark: the bookings generator, pseudonyms, the key table, masks, redaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import stat
from pathlib import Path

import pyarrow.compute as pc
import pytest

from featurelake.avro import classification
from featurelake.config import Settings
from featurelake.errors import ConfigError
from featurelake.governance.audit import redact_literals
from featurelake.governance.erasure import Subject, avro_plain_bytes, landing_matches
from featurelake.governance.masking import masked_select
from featurelake.governance.pseudonyms import _pads, key_id, pseudonym, pseudonym_key
from featurelake.governance.subject_keys import PREFIX, SubjectKeys, encrypt, subject_of
from featurelake.ingest.bookings import passengers
from featurelake.ingest.landing import avro_bytes
from featurelake.tables import BRONZE_BOOKINGS, QUARANTINE
from featurelake.tables.silver import SILVER_BOOKINGS

_FEB_1 = (dt.datetime(2013, 2, 1, tzinfo=dt.UTC), dt.datetime(2013, 2, 2, tzinfo=dt.UTC))


def test_the_contract_classifies_every_identifier() -> None:
    assert classification("bookings") == {
        "passenger_id": "direct",
        "name": "direct",
        "email": "direct",
        "phone": "direct",
        "date_of_birth": "quasi",
    }
    assert classification("flights") == {}


def test_tables_with_direct_identifiers_keep_no_statistics_of_them_and_no_deletion_vectors() -> None:
    props = BRONZE_BOOKINGS.properties()
    stats = props["delta.dataSkippingStatsColumns"].split(",")
    assert not {"passenger_id", "name", "email", "phone"} & set(stats)
    assert {"event_id", "fare", "booked_at"} <= set(stats)
    assert "event_date" not in stats  # a partition column: Delta refuses it there
    assert props["delta.enableDeletionVectors"] == "false"
    assert "delta.dataSkippingStatsColumns" not in SILVER_BOOKINGS.properties()  # pseudonyms only
    assert not {"record_json", "payload"} & set(
        QUARANTINE.properties()["delta.dataSkippingStatsColumns"].split(",")
    )


def test_passengers_are_deterministic_and_their_identifiers_unique() -> None:
    people = passengers(7, 3000)
    assert people.equals(passengers.__wrapped__(7, 3000))  # the same seed, the same people
    assert not people.equals(passengers.__wrapped__(8, 3000))
    for column in ("passenger_id", "name", "email"):
        assert pc.count_distinct(people[column]).as_py() == people.num_rows, column
    phones = people["phone"].drop_null()
    assert pc.count_distinct(phones).as_py() == len(phones) > 0.8 * people.num_rows


def test_the_pseudonym_is_rfc_2104_hmac_sha256() -> None:
    for key in (b"k" * 32, b"x" * 100):  # a key past the block size is hashed first
        inner, outer = _pads(key)
        for value in ("P0000001", "ann@example.com", "Zoë Łukasz"):
            by_pads = hashlib.sha256(outer + hashlib.sha256(inner + value.encode()).digest()).hexdigest()
            assert by_pads == pseudonym(key, value) == hmac.new(key, value.encode(), "sha256").hexdigest()
    assert pseudonym(b"k" * 32, None) is None
    assert pseudonym(b"k" * 32, "a") != pseudonym(b"j" * 32, "a")


def test_the_pseudonym_secret_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(lake=tmp_path / "lake")
    key = pseudonym_key(settings)
    path = settings.pseudonym_key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key(settings) == key
    assert len(key_id(key)) == 12
    assert key_id(key).encode() not in path.read_bytes()
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        pseudonym_key(settings)
    with pytest.raises(ConfigError, match="at least 32 characters"):
        pseudonym_key(Settings(lake=tmp_path, pseudonym_key="short"))  # type: ignore[arg-type]
    given = "s" * 40
    assert pseudonym_key(Settings(lake=tmp_path, pseudonym_key=given)) == given.encode()  # type: ignore[arg-type]


def test_a_shredded_key_is_gone_from_the_key_table_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    book = SubjectKeys(Settings(lake=tmp_path))
    keys = book.key_for(["alice", "bob"])
    assert book.key_for(["alice"]) == {"alice": keys["alice"]}  # made once
    sealed = encrypt(keys["alice"], "alice", "email", "alice@example.com")
    assert sealed is not None
    assert sealed.startswith(f"{PREFIX}alice:")
    assert subject_of(sealed) == "alice"
    assert subject_of("alice@example.com") is None
    raw = __import__("base64").b64decode(sealed.split(":")[3])
    assert AESGCM(keys["alice"]).decrypt(raw[:12], raw[12:], b"email") == b"alice@example.com"
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
    assert keys["alice"] in book.path.read_bytes()

    subject = book.subject("P0000001")
    assert subject == book.subject("P0000001") == SubjectKeys(Settings(lake=tmp_path)).subject("P0000001")
    assert subject != SubjectKeys(Settings(lake=tmp_path / "other")).subject("P0000001")  # its own secret
    assert len(subject) == 64
    assert b"P0000001" not in book.path.read_bytes()

    assert book.shred(["alice", "nobody"]) == 1
    assert book.existing(["alice", "bob"]) == {"bob": keys["bob"]}
    assert keys["alice"] not in book.path.read_bytes()  # secure_delete and VACUUM: not in a free page
    assert keys["bob"] in book.path.read_bytes()


def test_avro_blocks_are_searched_decompressed_even_when_truncated() -> None:
    from featurelake.avro import load_schema
    from featurelake.ingest.producers import event_records, events

    schema = load_schema("bookings")
    table = events("bookings", *_FEB_1)
    records = event_records(table.slice(0, 50))
    someone = records[7]
    data = avro_bytes(schema, records, codec="deflate")
    assert someone["email"].encode() not in data  # deflate: the raw bytes do not show it
    assert someone["email"].encode() in avro_plain_bytes(data)
    assert someone["email"].encode() in avro_plain_bytes(data[: len(data) - 9])  # truncated, still found
    assert avro_plain_bytes(b"not avro") == b"not avro"


def test_landing_matches_keeps_the_others(tmp_path: Path) -> None:
    from featurelake.avro import load_schema
    from featurelake.ingest.producers import event_records, events

    records = event_records(events("bookings", *_FEB_1).slice(0, 30))
    path = tmp_path / "f.avro"
    path.write_bytes(avro_bytes(load_schema("bookings"), records))
    subject = Subject("passenger_id", passenger_ids={records[3]["passenger_id"]})
    kept, removed, _ = landing_matches(path, subject)
    assert kept is not None
    assert removed == sum(r["passenger_id"] == records[3]["passenger_id"] for r in records) >= 1
    assert len(kept) == len(records) - removed
    path.write_bytes(b"Obj\x01garbage")
    assert landing_matches(path, subject) == (None, -1, None)


def test_masked_views_mask_direct_identifiers_and_generalise_quasi_ones() -> None:
    sql = masked_select(BRONZE_BOOKINGS, "src", quote='"')
    assert "regexp_replace(\"email\", '^[^@]*', '***') AS \"email\"" in sql
    assert 'CASE WHEN "name" IS NULL THEN NULL ELSE \'***\' END AS "name"' in sql
    assert 'make_date(year("date_of_birth"), 1, 1) AS "date_of_birth"' in sql
    assert ' "fare",' in sql
    assert masked_select(QUARANTINE, "q").count("AS `payload`") == 1


def test_statements_are_audited_without_their_literals() -> None:
    statement = "select * from bronze.bookings where email = 'ann@x.com' and name = 'O''Brien' and n = 3"
    assert (
        redact_literals(statement)
        == "select * from bronze.bookings where email = '?' and name = '?' and n = 3"
    )
    assert redact_literals('select "email" from t where a = "x@y"') == "select \"email\" from t where a = '?'"
