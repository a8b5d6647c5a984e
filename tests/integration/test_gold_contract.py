"""Every feature of the contract on the hand-made data set, with the values worked out by hand.

See ``handmade_flights`` for the flights, their UTC times and what each one exercises.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import handmade_flights as hm
import pytest
from deltalake import DeltaTable

from featurelake.catalog import Catalog

pytestmark = pytest.mark.integration

DAYS = (hm.LAST_GOLD_DAY - hm.FIRST_DAY).days + 1


@pytest.fixture(scope="module")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return hm.built_lake(spark, tmp_path_factory)


def rows(catalog: Catalog, table: str) -> list[dict[str, Any]]:
    return DeltaTable(catalog.path(table)).to_pyarrow_table().to_pylist()


def by(catalog: Catalog, table: str, *keys: str) -> dict[Any, dict[str, Any]]:
    """Rows by key (a tuple, or the value itself for one key column); keys must be unique."""
    out = {}
    for r in rows(catalog, table):
        key = tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]
        assert key not in out, f"duplicate key {key} in {table}"
        out[key] = r
    return out


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# (carrier, D): (flights_7d, dep_delay_avg_7d, cancel_rate_7d), over event_ts in [D - 7 days, D)
CARRIER_EXPECTED = {
    ("AA", "2013-03-09"): (0, None, None),  # first day: empty window
    ("AA", "2013-03-10"): (1, 10.0, 0.0),  # AA1 only; AA2 at exactly 03-10 00:00 is not before D
    ("AA", "2013-03-11"): (4, 35 / 3, 0.25),  # AA1-4; AA3 cancelled has no delay; bad AA999 quarantined
    ("AA", "2013-03-12"): (5, 35 / 4, 0.2),  # + AA5 (03-11 03:59Z, still the 10th in New York)
    ("AA", "2013-03-16"): (5, 35 / 4, 0.2),  # window [03-09, 03-16) still holds AA1
    ("AA", "2013-03-17"): (4, 25 / 3, 0.25),  # AA1 (03-09) has left the window
    ("AA", "2013-03-18"): (1, 0.0, 0.0),  # AA5 only
    ("AA", "2013-03-19"): (0, None, None),  # empty window again
    ("AA", "2013-11-03"): (0, None, None),
    ("AA", "2013-11-04"): (2, 30.0, 0.0),  # AA6 and AA7: same New York wall time, an hour apart in UTC
    ("AA", "2013-11-10"): (2, 30.0, 0.0),
    ("AA", "2013-11-11"): (0, None, None),
    ("AA", "2014-01-01"): (1, 60.0, 0.0),  # AA8 on 12-31; AA9 (01-01 04:59Z) is not before D
    ("AA", "2014-01-02"): (2, 37.5, 0.0),  # the last day: the day after the last flight
    ("B6", "2013-03-10"): (0, None, None),
    ("B6", "2013-03-11"): (1, 100.0, 0.0),
    ("ZZ", "2013-03-11"): (0, None, None),  # ZZ has rows before it first flies
    ("ZZ", "2013-11-04"): (1, 5.0, 0.0),
}

# (origin, dest, D): (flights_30d, arr_delay_avg_30d), over event_ts in [D - 30 days, D)
ROUTE_EXPECTED = {
    ("JFK", "LAX", "2013-03-09"): (0, None),
    ("JFK", "LAX", "2013-03-10"): (1, 20.0),
    ("JFK", "LAX", "2013-03-11"): (3, 50.0),  # AA1 20, AA2 40, B6 90
    ("JFK", "LAX", "2013-03-12"): (4, 35.0),  # + AA5 -10
    ("JFK", "LAX", "2013-04-08"): (4, 35.0),  # [03-09, 04-08)
    ("JFK", "LAX", "2013-04-09"): (3, 40.0),  # AA1 gone
    ("JFK", "LAX", "2013-04-10"): (1, -10.0),  # AA5 only
    ("JFK", "LAX", "2013-04-11"): (0, None),
    ("JFK", "LAX", "2014-01-01"): (1, 70.0),
    ("JFK", "LAX", "2014-01-02"): (2, 43.0),
    ("LGA", "ORD", "2013-03-11"): (2, None),  # flights, but no arrival delay known
    ("EWR", "MIA", "2013-11-04"): (2, 25.0),
    ("LGA", "ATL", "2013-03-09"): (0, None),
    ("LGA", "ATL", "2013-11-04"): (1, 5.0),
}


def test_carrier_delay_7d(lake: Catalog) -> None:
    table = by(lake, "gold.carrier_delay_7d", "carrier", "event_date")
    assert len(table) == 3 * DAYS
    assert {k[1] for k in table} == {hm.FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)}
    for (carrier, day), (n, avg, rate) in CARRIER_EXPECTED.items():
        row = table[(carrier, d(day))]
        assert row["event_timestamp"] == midnight(d(day))
        assert row["flights_7d"] == n, (carrier, day)
        assert row["dep_delay_avg_7d"] == (pytest.approx(avg, abs=1e-12) if avg is not None else None), (
            carrier,
            day,
        )
        assert row["cancel_rate_7d"] == rate, (carrier, day)
    assert all(r["event_timestamp"] == midnight(r["event_date"]) for r in table.values())


def test_route_delay_30d(lake: Catalog) -> None:
    table = by(lake, "gold.route_delay_30d", "origin", "dest", "event_date")
    assert len(table) == 4 * DAYS
    for (origin, dest, day), (n, avg) in ROUTE_EXPECTED.items():
        row = table[(origin, dest, d(day))]
        assert row["event_timestamp"] == midnight(d(day))
        assert (row["flights_30d"], row["arr_delay_avg_30d"]) == (n, avg), (origin, dest, day)


def test_origin_weather(lake: Catalog) -> None:
    table = by(lake, "gold.origin_weather", "origin", "event_timestamp")
    assert set(table) == {
        ("JFK", hm.ts("2013-03-10T06:00")),
        ("LGA", hm.ts("2013-11-03T05:00")),
        ("LGA", hm.ts("2013-11-03T06:00")),
        ("EWR", hm.ts("2013-12-31T23:00")),
    }
    jfk = table[("JFK", hm.ts("2013-03-10T06:00"))]
    assert jfk["temp"] == 31.1  # the re-sent observation wins
    assert (jfk["humid"], jfk["wind_speed"], jfk["precip"], jfk["pressure"], jfk["visib"]) == (
        55.5,
        10.35702,
        0.0,
        1012.3,
        10.0,
    )
    assert jfk["wind_gust"] is None
    assert table[("LGA", hm.ts("2013-11-03T06:00"))]["temp"] is None
    assert table[("EWR", hm.ts("2013-12-31T23:00"))]["event_date"] == d("2013-12-31")


def test_plane(lake: Catalog) -> None:
    table = by(lake, "gold.plane", "tailnum")
    assert table["N1"]["plane_age_years"] == 13
    assert table["N2"]["plane_age_years"] is None
    assert (table["N1"]["seats"], table["N1"]["engines"]) == (100, 2)
    for r in table.values():
        assert r["event_timestamp"] == midnight(d("2013-01-01"))
        assert r["event_date"] == d("2013-01-01")


def test_flight_labels(lake: Catalog) -> None:
    table = by(lake, "gold.flight_labels", "event_id")
    assert len(table) == 11  # 12 distinct flights, one quarantined by silver
    assert "AA-998-JFK-20130310T0900Z" not in table
    aa2 = table["AA-2-JFK-20130310T0000Z"]
    assert (aa2["arr_delay"], aa2["is_delayed"], aa2["event_timestamp"]) == (
        40.0,
        True,
        hm.ts("2013-03-10T00:00"),
    )
    assert (aa2["carrier"], aa2["origin"], aa2["dest"], aa2["tailnum"]) == ("AA", "JFK", "LAX", "N1")
    assert table["AA-4-LGA-20130310T0700Z"]["is_delayed"] is None  # diverted: no arrival delay
    assert table["AA-4-LGA-20130310T0700Z"]["tailnum"] is None
    assert table["AA-5-JFK-20130311T0359Z"]["is_delayed"] is False
    assert table["AA-6-EWR-20131103T0530Z"]["is_delayed"] is False  # exactly 15 is not delayed
    assert table["AA-9-JFK-20140101T0459Z"]["is_delayed"] is True  # 16 is
    assert table["AA-9-JFK-20140101T0459Z"]["event_date"] == d("2014-01-01")
    assert table["AA-3-LGA-20130310T0659Z"]["arr_delay"] is None


def test_every_gold_table_is_partitioned_by_event_date(lake: Catalog) -> None:
    for name in ("carrier_delay_7d", "route_delay_30d", "origin_weather", "plane", "flight_labels"):
        dt_ = DeltaTable(lake.path(f"gold.{name}"))
        assert dt_.metadata().partition_columns == ["event_date"]
        assert {"event_timestamp", "event_date"} <= {f.name for f in dt_.schema().fields}
