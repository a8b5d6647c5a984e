"""A small hand-made bronze data set whose gold values are worked out by hand in the tests.

Times are UTC. New York's clocks: EST = UTC-5; DST (EDT = UTC-4) from 2013-03-10 07:00Z to
2013-11-03 06:00Z. The flights sit around both switches and the year boundary:

    carrier AA                     UTC event_ts        dep_delay  arr_delay  notes
    AA1  JFK-LAX                   2013-03-09 23:30    10         20
    AA2  JFK-LAX                   2013-03-10 00:00    30         40         exactly midnight; an older
                                                                              copy says dep_delay 999
    AA3  LGA-ORD                   2013-03-10 06:59    null       null       cancelled (01:59 EST)
    AA4  LGA-ORD                   2013-03-10 07:00    -5         null       diverted (03:00 EDT)
    AA5  JFK-LAX                   2013-03-11 03:59    0          -10        (23:59 EDT on the 10th)
    AA6  EWR-MIA                   2013-11-03 05:30    20         15         01:30 EDT
    AA7  EWR-MIA                   2013-11-03 06:30    40         35         01:30 EST, an hour later
    AA8  JFK-LAX                   2013-12-31 23:59    60         70
    AA9  JFK-LAX                   2014-01-01 04:59    15         16         the last flight
    B6 1 JFK-LAX                   2013-03-10 12:00    100        90
    ZZ 1 LGA-ATL                   2013-11-03 15:00    5          5          ZZ's only flight
    AA 999 (bad event id)          2013-03-10 09:00    50         50         quarantined by silver

The first flight day is 2013-03-09 and the last 2014-01-01, so the daily tables cover
2013-03-09 .. 2014-01-02.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

UTC = dt.UTC
INGESTED = dt.datetime(2014, 2, 1, tzinfo=UTC)
FIRST_DAY = dt.date(2013, 3, 9)
LAST_GOLD_DAY = dt.date(2014, 1, 2)


def ts(text: str) -> dt.datetime:
    """An ISO time string as a UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def flight(
    carrier: str,
    number: int,
    route: str,
    sched: str,
    dep_delay: float | None,
    arr_delay: float | None,
    *,
    cancelled: bool = False,
    tailnum: str | None = "N1",
    ingested: dt.datetime = INGESTED,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One bronze.flights row."""
    when = ts(sched)
    origin, dest = route.split("-")
    return {
        "event_id": event_id or f"{carrier}-{number}-{origin}-{when:%Y%m%dT%H%MZ}",
        "sched_dep_ts": when,
        "year": when.year,
        "month": when.month,
        "day": when.day,
        "dep_time": None if cancelled else 1200,
        "sched_dep_time": 1200,
        "dep_delay": dep_delay,
        "arr_time": None if cancelled or arr_delay is None else 1500,
        "sched_arr_time": 1500,
        "arr_delay": arr_delay,
        "carrier": carrier,
        "flight": number,
        "tailnum": tailnum,
        "origin": origin,
        "dest": dest,
        "air_time": None if cancelled else 300.0,
        "distance": 2475,
        "hour": when.hour,
        "minute": when.minute,
        "time_hour": when.replace(minute=0),
        "event_date": when.date(),
        "_source_file": f"landing/flights/{ingested:%Y%m%d%H%M}.avro",
        "_ingested_at": ingested,
        "_batch_id": 1,
    }


def observation(
    origin: str, at: str, temp: float | None, *, ingested: dt.datetime = INGESTED
) -> dict[str, Any]:
    """One bronze.weather row (other measures fixed, wind_gust null)."""
    when = ts(at)
    return {
        "event_id": f"{origin}-{when:%Y%m%dT%HZ}",
        "origin": origin,
        "obs_ts": when,
        "year": when.year,
        "month": when.month,
        "day": when.day,
        "hour": when.hour,
        "temp": temp,
        "dewp": 20.0,
        "humid": 55.5,
        "wind_dir": 270.0,
        "wind_speed": 10.35702,
        "wind_gust": None,
        "precip": 0.0,
        "pressure": 1012.3,
        "visib": 10.0,
        "event_date": when.date(),
        "_source_file": f"landing/weather/{ingested:%Y%m%d%H%M}.avro",
        "_ingested_at": ingested,
        "_batch_id": 1,
    }


def flights() -> list[dict[str, Any]]:
    """Every bronze flight row of the data set (the table in the module docstring)."""
    older = INGESTED - dt.timedelta(days=1)
    return [
        flight("AA", 1, "JFK-LAX", "2013-03-09T23:30", 10, 20),
        flight("AA", 2, "JFK-LAX", "2013-03-10T00:00", 999, 999, ingested=older),
        flight("AA", 2, "JFK-LAX", "2013-03-10T00:00", 30, 40),
        flight("AA", 3, "LGA-ORD", "2013-03-10T06:59", None, None, cancelled=True),
        flight("AA", 4, "LGA-ORD", "2013-03-10T07:00", -5, None, tailnum=None),
        flight("AA", 5, "JFK-LAX", "2013-03-11T03:59", 0, -10),
        flight("AA", 6, "EWR-MIA", "2013-11-03T05:30", 20, 15),
        flight("AA", 7, "EWR-MIA", "2013-11-03T06:30", 40, 35),
        flight("AA", 8, "JFK-LAX", "2013-12-31T23:59", 60, 70),
        flight("AA", 9, "JFK-LAX", "2014-01-01T04:59", 15, 16),
        flight("B6", 1, "JFK-LAX", "2013-03-10T12:00", 100, 90),
        flight("ZZ", 1, "LGA-ATL", "2013-11-03T15:00", 5, 5),
        flight("AA", 999, "JFK-LAX", "2013-03-10T09:00", 50, 50, event_id="AA-998-JFK-20130310T0900Z"),
    ]


def weather() -> list[dict[str, Any]]:
    """Bronze weather rows: a corrected re-send, the DST-end hours and the year's last hour."""
    return [
        observation("JFK", "2013-03-10T06:00", 30.0, ingested=INGESTED - dt.timedelta(hours=1)),
        observation("JFK", "2013-03-10T06:00", 31.1),
        observation("LGA", "2013-11-03T05:00", 45.0),
        observation("LGA", "2013-11-03T06:00", None),
        observation("EWR", "2013-12-31T23:00", 28.9),
    ]


def planes() -> list[dict[str, Any]]:
    """silver.planes rows: one with a build year, one without."""
    return [
        {
            "tailnum": "N1",
            "year": 2000,
            "type": "Fixed wing",
            "manufacturer": "BOEING",
            "model": "737",
            "engines": 2,
            "seats": 100,
            "speed": None,
            "engine": "Turbo-fan",
        },
        {
            "tailnum": "N2",
            "year": None,
            "type": "Fixed wing",
            "manufacturer": "EMBRAER",
            "model": "E190",
            "engines": 2,
            "seats": 20,
            "speed": None,
            "engine": "Turbo-fan",
        },
    ]


def write(spark: Any, catalog: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to ``table`` through Spark and the ``delta`` source."""
    import pyarrow as pa

    schema = catalog.spec(table).schema.to_arrow()
    data = pa.Table.from_pylist(rows, schema=schema)
    catalog.write(spark.createDataFrame(data), table, mode="append")


_BUILT: dict[str, Any] = {}


def _shared_root(tmp_path_factory: Any) -> Any:
    """A folder of this test run that every pytest-xdist worker sees (the run's own basetemp alone)."""
    import os

    base = tmp_path_factory.getbasetemp()
    # under xdist each worker's basetemp is <run>/popen-gwN; <run> is this run's and shared
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_lake(spark: Any, tmp_path_factory: Any) -> Any:
    """A lake holding the data set with silver and gold backfilled, built once per test run.

    The first worker to need it builds it; the others wait for it and share it (a build
    is minutes of per-write overhead on a busy machine). Tests must not change it: copy
    it first (:func:`copy_lake`).
    """
    if "catalog" not in _BUILT:
        import shutil

        from filelock import FileLock

        from featurelake.backfill import Request, run_backfill
        from featurelake.catalog import Catalog
        from featurelake.config import Settings

        root = _shared_root(tmp_path_factory) / "handmade"
        with FileLock(f"{root}.lock"):
            if not (root / "built").exists():
                shutil.rmtree(root, ignore_errors=True)  # what a failed build left
                catalog = Catalog(settings=Settings(lake=root / "lake"))
                write(spark, catalog, "bronze.flights", flights())
                write(spark, catalog, "bronze.weather", weather())
                write(spark, catalog, "silver.planes", planes())
                request = Request.for_range(dt.date(2013, 1, 1), LAST_GOLD_DAY)
                # one chunk per table: per-write overhead is most of the cost (the backfill
                # tests exercise the default chunking themselves)
                result = run_backfill(request, catalog=catalog, spark=spark, chunk_days=400)
                if not result.ok:
                    raise RuntimeError(f"building the hand-made lake failed: {result.failures}")
                (root / "built").touch()
        _BUILT["catalog"] = Catalog(settings=Settings(lake=root / "lake"))
    return _BUILT["catalog"]


def copy_lake(spark: Any, tmp_path_factory: Any, target: Any) -> Any:
    """A private copy of :func:`built_lake` under ``target``, as a catalog."""
    import shutil

    from featurelake.catalog import Catalog
    from featurelake.config import Settings

    source = built_lake(spark, tmp_path_factory)
    shutil.copytree(source.settings.lake, target)
    return Catalog(settings=Settings(lake=target))
