"""Producers: real replay in event-time order over [from, to), atomic landing, synthetic data."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import fastavro
import pyarrow.compute as pc
import pytest

from featurelake.config import Settings
from featurelake.ingest.producers import events, parse_utc, produce_replay
from featurelake.ingest.synthetic import BAD_FILE_KINDS, produce_synthetic

JAN = (parse_utc("2013-01-01"), parse_utc("2013-02-01"))


def test_january_utc_has_the_issue_counts_in_event_time_order() -> None:
    flights = events("flights", *JAN)
    weather = events("weather", *JAN)
    assert (flights.num_rows, weather.num_rows) == (26_865, 2_211)
    ts = flights["sched_dep_ts"]
    assert pc.all(pc.greater_equal(ts.slice(1), ts.slice(0, len(ts) - 1))).as_py()
    assert pc.min(ts).as_py() >= JAN[0]
    assert pc.max(ts).as_py() < JAN[1]
    assert flights["event_id"][0].as_py() == "UA-1545-EWR-20130101T1015Z"  # 05:15 EST is 10:15 UTC
    assert weather["event_id"][0].as_py() == "EWR-20130101T06Z"
    assert pc.count_distinct(flights["event_id"]).as_py() == flights.num_rows


def test_range_is_half_open() -> None:
    lo = parse_utc("2013-01-01T10:15:00Z")
    hi = parse_utc("2013-01-01T10:29:00Z")
    ids = events("flights", lo, hi)["event_id"].to_pylist()
    assert ids[0] == "UA-1545-EWR-20130101T1015Z"
    assert not any(i.endswith("T1029Z") for i in ids)


def test_parse_utc() -> None:
    assert parse_utc("2013-01-01") == dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
    assert parse_utc("2013-01-01T05:00:00-05:00") == dt.datetime(2013, 1, 1, 10, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="not a date"):
        parse_utc("January")


def test_replay_lands_whole_files_atomically(tmp_path: Path) -> None:
    settings = Settings(lake=tmp_path)
    r = produce_replay("weather", "2013-01-01", "2013-01-03", settings=settings, records_per_file=40)
    folder = tmp_path / "landing" / "weather"
    assert sorted(folder.iterdir()) == sorted(r.files)  # no temporary file left behind
    assert all(not p.name.startswith((".", "_")) for p in r.files)
    decoded = [rec for p in r.files for rec in fastavro.reader(io.BytesIO(p.read_bytes()))]
    assert (
        len(decoded)
        == r.events
        == events("weather", parse_utc("2013-01-01"), parse_utc("2013-01-03")).num_rows
    )
    times = [rec["obs_ts"] for rec in decoded]
    assert times == sorted(times)
    again = produce_replay("weather", "2013-01-01", "2013-01-03", settings=settings, records_per_file=40)
    assert not set(again.files) & set(r.files)  # each run lands new names


def test_replay_with_one_run_id_lands_identical_bytes(tmp_path: Path) -> None:
    day = ("weather", "2013-01-01", "2013-01-02")
    a = produce_replay(*day, settings=Settings(lake=tmp_path / "a"), run_id="r1")
    # another process with another hash seed (fastavro orders parts of a schema by set iteration)
    code = (
        "import sys; from featurelake.config import Settings; "
        "from featurelake.ingest.producers import produce_replay; "
        "produce_replay('weather', '2013-01-01', '2013-01-02', "
        "settings=Settings(lake=sys.argv[1]), run_id='r1')"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], env=env, check=True, timeout=120)
    b = sorted((tmp_path / "b" / "landing" / "weather").iterdir())
    assert [p.name for p in a.files] == [p.name for p in b]
    assert all("-r1-" in p.name for p in a.files)
    assert [p.read_bytes() for p in a.files] == [p.read_bytes() for p in b]
    c = produce_replay(*day, settings=Settings(lake=tmp_path / "c"), run_id="r2")
    assert a.files[0].read_bytes() != c.files[0].read_bytes()  # the sync marker follows the name


def test_replay_refuses_bad_arguments(tmp_path: Path) -> None:
    settings = Settings(lake=tmp_path)
    with pytest.raises(ValueError, match="after"):
        produce_replay("flights", "2013-02-01", "2013-01-01", settings=settings)
    with pytest.raises(ValueError, match="unknown dataset"):
        produce_replay("trains", "2013-01-01", "2013-01-02", settings=settings)


def test_rate_paces_the_files(tmp_path: Path) -> None:
    import time

    start = time.monotonic()
    produce_replay(
        "weather",
        "2013-01-01",
        "2013-01-01T16:00:00",
        settings=Settings(lake=tmp_path),
        records_per_file=10,
        rate=30,
    )
    assert time.monotonic() - start >= 0.9  # 30 events at 30 events/s


def test_synthetic_is_deterministic_by_seed(tmp_path: Path) -> None:
    a = produce_synthetic(
        "flights", 300, bad_rate=0.05, seed=3, records_per_file=100, settings=Settings(lake=tmp_path / "a")
    )
    b = produce_synthetic(
        "flights", 300, bad_rate=0.05, seed=3, records_per_file=100, settings=Settings(lake=tmp_path / "b")
    )
    assert [p.read_bytes() for p in a.files] == [p.read_bytes() for p in b.files]
    assert a.bad_records == b.bad_records
    assert a.bad_files == b.bad_files
    c = produce_synthetic(
        "flights", 300, bad_rate=0.05, seed=4, records_per_file=100, settings=Settings(lake=tmp_path / "c")
    )
    assert a.files[0].read_bytes() != c.files[0].read_bytes()


def test_synthetic_manifest_counts_every_bad_kind(tmp_path: Path) -> None:
    r = produce_synthetic(
        "flights", 2000, bad_rate=0.02, seed=1, records_per_file=500, settings=Settings(lake=tmp_path)
    )
    assert set(r.bad_files) == set(BAD_FILE_KINDS) - {"duplicate_file"}
    assert r.duplicate_files == 1
    assert r.bad_records["tailnum_length"] == 1  # the one 10 MB string
    assert sum(r.bad_records.values()) > 20
    assert r.good + sum(r.bad_records.values()) == r.records
    assert min(os.path.getsize(p) for p in r.files) == 0  # the empty file
    longest = max(
        len(rec["tailnum"] or "") for p in r.files[:4] for rec in fastavro.reader(io.BytesIO(p.read_bytes()))
    )
    assert longest == 10 * 1024 * 1024


def test_synthetic_kinds_restrict_the_mix(tmp_path: Path) -> None:
    r = produce_synthetic(
        "weather",
        300,
        bad_rate=0.1,
        seed=2,
        settings=Settings(lake=tmp_path),
        kinds=["origin_not_nyc", "empty_file"],
    )
    assert set(r.bad_records) == {"origin_in_nyc"}
    assert set(r.bad_files) == {"empty_file"}
    with pytest.raises(ValueError, match="unknown bad kinds"):
        produce_synthetic("weather", 10, settings=Settings(lake=tmp_path), kinds=["gremlins"])
