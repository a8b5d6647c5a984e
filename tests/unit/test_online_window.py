"""The online query's in-memory window computes what the offline query computes from bronze."""

from __future__ import annotations

import datetime as dt
import math
import random

from featurelake.features.online_stream import EventWindow
from featurelake.features.streaming import CARRIER_VIEW, ORIGIN_VIEW

T0 = dt.datetime(2013, 3, 1, 12, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _brute(events: dict[str, tuple], key: int, t: dt.datetime) -> dict[str, tuple[int, float | None]]:
    """Per key with an event in [t - 2h, t): the count and mean delay of [t - 1h, t)."""
    out = {}
    inside = [e for e in events.values() if e[key] is not None and t - dt.timedelta(hours=2) <= e[2] < t]
    for k in {e[key] for e in inside}:
        recent = [e for e in inside if e[key] == k and e[2] >= t - dt.timedelta(hours=1)]
        delays = [e[3] for e in recent if e[3] is not None]
        out[k] = (len(recent), sum(delays) / len(delays) if delays else None)
    return out


def _frame(window: EventWindow, view) -> dict[str, tuple[int, float | None]]:
    f = window.features(view)
    assert (f["event_timestamp"] == window.clock).all()
    return {
        r[view.key]: (int(r[view.count]), None if math.isnan(r[view.mean]) else float(r[view.mean]))
        for r in f.to_dict("records")
    }


def test_counts_only_the_last_hour_before_the_clock_and_lists_keys_of_two_hours() -> None:
    w = EventWindow()
    w.add(
        [
            ("a", "AA", "JFK", _at(-150), 5.0),  # before T - 2h: forgotten
            ("b", "AA", "JFK", _at(-90), 7.0),  # keeps AA listed, outside the hour
            ("c", "UA", "EWR", _at(-30), None),
            ("d", "UA", "EWR", _at(-10), 4.0),
            ("e", "DL", "LGA", _at(0), 100.0),  # at T: the clock, not yet counted
        ]
    )
    assert w.clock == _at(0)
    assert "a" not in w.events
    assert _frame(w, CARRIER_VIEW) == {"AA": (0, None), "UA": (2, 4.0)}
    assert _frame(w, ORIGIN_VIEW) == {"JFK": (0, None), "EWR": (2, 4.0)}


def test_a_later_version_replaces_an_event_unless_it_falls_before_the_window() -> None:
    w = EventWindow()
    w.add([("x", "AA", "JFK", _at(-20), 10.0), ("clock", "B6", "JFK", _at(0), 0.0)])
    w.add([("x", "AA", "JFK", _at(-25), 30.0)])  # corrected delay
    assert _frame(w, CARRIER_VIEW)["AA"] == (1, 30.0)
    w.add([("x", "AA", "JFK", _at(-500), 99.0)])  # a version long before T: bronze's filter drops it
    assert _frame(w, CARRIER_VIEW)["AA"] == (1, 30.0)
    w.add([("late", "AA", "JFK", _at(-5), 0.0), ("old", "AA", "JFK", _at(-50), 2.0)])  # late, in window
    assert w.clock == _at(0)  # never backwards
    assert _frame(w, CARRIER_VIEW)["AA"] == (3, 32.0 / 3)


def test_random_streams_match_a_brute_force_recomputation() -> None:
    rng = random.Random(11)
    w = EventWindow()
    truth: dict[str, tuple] = {}
    minute = 0.0
    for batch in range(30):
        rows = []
        for i in range(rng.randint(0, 40)):
            minute += rng.random() * 3
            ts = _at(minute - rng.random() * 70)  # up to 70 min late
            delay = None if rng.random() < 0.1 else float(rng.randint(-20, 200))
            event = (
                f"e{batch}-{i}",
                rng.choice(["AA", "UA", "DL", None]),
                rng.choice(["JFK", "EWR", "LGA"]),
                ts,
                delay,
            )
            rows.append(event)
        w.add(rows)
        for e in rows:
            if e[3] >= w.clock - dt.timedelta(hours=2):
                truth[e[0]] = e[1:]
        if w.clock is None:
            continue
        for view, key in ((CARRIER_VIEW, 0), (ORIGIN_VIEW, 1)):
            got, want = _frame(w, view), _brute(truth, key, w.clock)
            assert got.keys() == want.keys()
            for k in want:
                assert got[k][0] == want[k][0]
                assert (got[k][1] is None) == (want[k][1] is None)
                if want[k][1] is not None:
                    assert math.isclose(got[k][1], want[k][1], rel_tol=1e-12)
