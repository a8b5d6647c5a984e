"""Bad input for the synthetic producers: broken records, unreadable files, and what to expect of them.

Shared by :mod:`featurelake.ingest.synthetic` (any volume, NYC only) and
:mod:`featurelake.ingest.scaled` (K x the reference year), so that both break
records and files in exactly the same ways and account for them alike. A
module of declarations and two helpers: it imports neither producer. Runs on
the driver.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from featurelake.ingest.landing import avro_bytes, land_bytes

__all__ = [
    "BAD_FILE_KINDS",
    "BAD_RECORD_KINDS",
    "HUGE_STRING_BYTES",
    "RecordBreaker",
    "SyntheticResult",
    "chosen_kinds",
    "land_bad_files",
    "nullable",
]

HUGE_STRING_BYTES = 10 * 1024 * 1024
_MS_PER_DAY = 86_400_000

Mutator = Callable[[dict[str, Any]], None]


def _set(**values: Any) -> Mutator:
    return lambda r: r.update(values)


def _far_future(r: dict[str, Any]) -> None:
    shift = 18 * 365 * _MS_PER_DAY
    r["sched_dep_ts"] += shift
    r["time_hour"] += shift


# kind -> (dataset -> (mutation, the reason it must be quarantined with)); None: field made nullable.
BAD_RECORD_KINDS: dict[str, dict[str, tuple[Mutator, str]]] = {
    "null_required": {
        "flights": (_set(carrier=None), "carrier_not_null"),
        "weather": (_set(origin=None), "origin_not_null"),
        "bookings": (_set(email=None), "email_not_null"),
    },
    # XYZ is no FAA code of the reference airports table either: it stays bad under
    # FEATURELAKE_ORIGINS=airports (tests/unit/test_scaled_world.py checks that).
    "origin_not_nyc": {
        "flights": (_set(origin="XYZ"), "origin_in_nyc"),
        "weather": (_set(origin="XYZ"), "origin_in_nyc"),
    },
    "out_of_range": {
        "flights": (_set(dep_delay=5000.0, dep_time=830), "dep_delay_in_range"),
        "weather": (_set(humid=250.0), "humid_in_range"),
        "bookings": (_set(fare=-12.5), "fare_positive"),
    },
    "malformed_email": {"bookings": (_set(email="not-an-address"), "email_format")},
    "nonpositive_distance": {"flights": (_set(distance=0), "distance_positive")},
    "event_time_out_of_range": {"flights": (_far_future, "sched_dep_ts_in_2013")},
    "delay_without_dep_time": {
        "flights": (_set(dep_time=None, dep_delay=12.0), "dep_delay_null_iff_dep_time_null")
    },
}
_HUGE = {
    "flights": ("tailnum", "tailnum_length"),
    "weather": ("event_id", "event_id_length"),
    "bookings": ("event_id", "event_id_format"),
}
_NULLABLE_FOR = {"flights": "carrier", "weather": "origin", "bookings": "email"}
_EVENT_TIME = {"flights": "sched_dep_ts", "weather": "obs_ts", "bookings": "booked_at"}

BAD_FILE_KINDS: tuple[str, ...] = (
    "truncated_file",
    "not_avro",
    "empty_file",
    "incompatible_schema",
    "duplicate_file",
)


@dataclass
class SyntheticResult:
    """What a synthetic run landed and what ingesting it must produce."""

    dataset: str
    files: list[Path] = field(default_factory=list)
    records: int = 0
    """Records in readable files (bronze + record-level quarantine)."""
    good: int = 0
    """Records bronze must receive."""
    bad_records: Counter[str] = field(default_factory=Counter)
    """Reason -> records quarantined for it."""
    bad_files: Counter[str] = field(default_factory=Counter)
    """Reason -> files quarantined whole."""
    duplicate_files: int = 0

    @property
    def quarantined(self) -> int:
        """Quarantine rows expected: bad records plus one per unreadable file."""
        return sum(self.bad_records.values()) + sum(self.bad_files.values())


def chosen_kinds(kinds: Iterable[str] | None) -> set[str]:
    """The bad kinds to use: all of them when None.

    Raises:
        ValueError: an unknown kind, naming the known ones.
    """
    known = {*BAD_RECORD_KINDS, *BAD_FILE_KINDS, "huge_string"}
    chosen = set(known if kinds is None else kinds)
    if chosen - known:
        raise ValueError(f"unknown bad kinds {sorted(chosen - known)}; use: {', '.join(sorted(known))}")
    return chosen


def nullable(schema: dict[str, Any], dataset: str) -> dict[str, Any]:
    """``schema`` with the field ``null_required`` blanks made nullable, so that fastavro writes it."""
    out = copy.deepcopy(schema)
    for f in out["fields"]:
        if f["name"] == _NULLABLE_FOR[dataset] and not isinstance(f["type"], list):
            f["type"] = ["null", f["type"]]
    return out


def _incompatible(schema: dict[str, Any]) -> dict[str, Any]:
    # The event time as a string: no Avro promotion reads a string as a timestamp.
    out = copy.deepcopy(schema)
    for f in out["fields"]:
        if f["name"] in _EVENT_TIME.values():
            f["type"] = "string"
    return out


class RecordBreaker:
    """Breaks ``bad_rate`` of the records of one producer run, and one with a 10 MB string.

    The run's files go through :meth:`apply` in order; the huge string lands in the
    first file that has a record left unbroken by the other kinds (none with
    ``huge_string=False``: a producer whose files go through several breakers gives it to one).
    """

    def __init__(self, dataset: str, bad_rate: float, chosen: Set[str], *, huge_string: bool = True) -> None:
        self.dataset = dataset
        self.bad_rate = bad_rate
        self.kinds = [k for k in BAD_RECORD_KINDS if k in chosen and dataset in BAD_RECORD_KINDS[k]]
        self.huge_left = 1 if huge_string and bad_rate > 0 and "huge_string" in chosen else 0

    def apply(self, records: list[dict[str, Any]], rng: np.random.Generator, result: SyntheticResult) -> bool:
        """Break some of ``records`` in place, counting each in ``result.bad_records``.

        Returns:
            Whether a required field was blanked, so the file needs :func:`nullable`'s schema.
        """
        n = len(records)
        blanked = False
        if self.bad_rate <= 0 or not self.kinds:
            return blanked
        hits = np.flatnonzero(rng.random(n) < self.bad_rate)
        picks = rng.integers(0, len(self.kinds), len(hits))
        for i, p in zip(hits.tolist(), picks.tolist(), strict=True):
            mutate, reason = BAD_RECORD_KINDS[self.kinds[p]][self.dataset]
            mutate(records[i])
            result.bad_records[reason] += 1
            blanked = blanked or self.kinds[p] == "null_required"
        if self.huge_left and n:
            i = int(rng.integers(0, n))
            if i not in set(hits.tolist()):
                col, reason = _HUGE[self.dataset]
                records[i][col] = "X" * HUGE_STRING_BYTES
                result.bad_records[reason] += 1
                self.huge_left = 0
        return blanked


def land_bad_files(
    folder: Path,
    prefix: str,
    result: SyntheticResult,
    *,
    schema: dict[str, Any],
    n_files: int,
    bad_rate: float,
    chosen: Set[str],
    sample: Callable[[int], list[dict[str, Any]]],
    sync: Callable[[str], bytes],
    codec: str = "deflate",
) -> None:
    """Land ``max(1, round(bad_rate * n_files))`` files of every chosen kind of :data:`BAD_FILE_KINDS`.

    Each is named ``<prefix>-<kind>-<j>``; ``sample(j)`` gives its 50 records and ``sync(name)``
    the Avro sync marker of a file that has one. Nothing lands when ``bad_rate`` is 0.
    """
    if bad_rate <= 0:
        return
    dataset = result.dataset
    per_kind = max(1, round(bad_rate * n_files))
    for kind in (k for k in BAD_FILE_KINDS if k in chosen):
        for j in range(per_kind):
            name = f"{prefix}-{kind}-{j:03d}"
            records = sample(j)
            if kind == "duplicate_file":
                # The same clean bytes under two names: bronze keeps both copies.
                data = avro_bytes(schema, records, codec=codec, sync_marker=sync(name))
                result.files.append(land_bytes(folder, f"{name}-a.avro", data))
                result.files.append(land_bytes(folder, f"{name}-b.avro", data))
                result.records += 2 * len(records)
                result.good += 2 * len(records)
                result.duplicate_files += 1
                continue
            if kind == "truncated_file":
                full = avro_bytes(schema, records, codec=codec, sync_marker=sync(name))
                data = full[: len(full) - 10]
            elif kind == "not_avro":
                data = b"event_id,origin\nUA-1-EWR,EWR\n"
            elif kind == "empty_file":
                data = b""
            else:
                records = [{**r, _EVENT_TIME[dataset]: "soon"} for r in records]
                data = avro_bytes(_incompatible(schema), records, codec=codec, sync_marker=sync(name))
            result.bad_files[kind] += 1
            result.files.append(land_bytes(folder, name + ".avro", data))
