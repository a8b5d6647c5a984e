"""Streaming features end to end: landed flights reach carrier_delay_1h and origin_departures_1h online.

``run_ingest(mode="continuous")`` runs in a thread with the ``CarrierDelay1h``
hook; the test lands Avro files, polls the online store through Feast until
the new values are readable, and reports the freshness (landing to online).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from deltalake import DeltaTable

from featurelake import features
from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features.store import close_store, feature_store
from featurelake.features.streaming import CarrierDelay1h
from featurelake.ingest.landing import avro_bytes, land_bytes, landing_folder
from featurelake.ingest.stream import run_ingest
from featurelake.ingest.synthetic import synthetic_records

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def expected(
    records: list[dict[str, Any]], clock_ms: int, key: str = "carrier"
) -> dict[str, tuple[int, float | None]]:
    out: dict[str, tuple[int, float | None]] = {}
    start = clock_ms - 3_600_000
    for c in {r[key] for r in records if clock_ms - 7_200_000 <= r["sched_dep_ts"] < clock_ms}:
        window = [r for r in records if r[key] == c and start <= r["sched_dep_ts"] < clock_ms]
        delays = [r["dep_delay"] for r in window if r["dep_delay"] is not None]
        out[c] = (len(window), float(np.mean(delays)) if delays else None)
    return out


VIEWS = {
    "carrier": ("carrier_delay_1h", "flights_1h", "dep_delay_avg_1h"),
    "origin": ("origin_departures_1h", "departures_1h", "origin_dep_delay_avg_1h"),
}


def wait_online(
    settings: Settings, want: dict[str, tuple[int, float | None]], timeout: float, key: str = "carrier"
) -> float:
    view, count, mean = VIEWS[key]
    store = feature_store(settings)
    try:
        deadline = time.monotonic() + timeout
        carriers = sorted(want)
        while time.monotonic() < deadline:
            got = store.get_online_features(
                features=[f"{view}:{count}", f"{view}:{mean}"],
                entity_rows=[{key: c} for c in carriers],
            ).to_dict()
            seen = {c: (got[count][i], got[mean][i]) for i, c in enumerate(carriers)}
            if all(
                seen[c][0] == want[c][0]
                and (want[c][1] is None or (seen[c][1] is not None and abs(seen[c][1] - want[c][1]) < 1e-9))
                for c in carriers
            ):
                return time.monotonic()
            time.sleep(0.2)
    finally:
        close_store(store)
    raise AssertionError(f"online values did not reach {want} within {timeout}s")


def _in_background(run: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    """``run`` (a continuous ingest) in a daemon thread; what it raises goes to ``errors``."""

    def body() -> None:
        try:
            run()
        except BaseException as e:  # surfaced by the test's assertion
            errors.append(e)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def _wait_offline(settings: Settings, stamp: dt.datetime, timeout: float = 120) -> None:
    """Until ``gold.carrier_delay_1h`` holds rows at ``stamp``."""
    catalog = Catalog(settings=settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if catalog.exists("gold.carrier_delay_1h"):
            table = DeltaTable(catalog.path("gold.carrier_delay_1h")).to_pyarrow_table(
                columns=["event_timestamp"]
            )
            if stamp in table.column("event_timestamp").to_pylist():
                return
        time.sleep(0.5)
    raise AssertionError(f"gold.carrier_delay_1h has no rows at {stamp} after {timeout} s")


def test_landed_flights_reach_carrier_delay_1h_online_and_offline(spark: Any, settings: Settings) -> None:
    features.apply(settings)
    hook = CarrierDelay1h(settings=settings)
    schema = load_schema("flights")
    rng = np.random.default_rng(3)
    first = synthetic_records("flights", 400, rng)
    later = synthetic_records("flights", 300, rng, first=400)
    errors: list[BaseException] = []

    thread = _in_background(
        lambda: run_ingest(
            "flights",
            mode="continuous",
            settings=settings,
            spark=spark,
            interval_s=1.0,
            timeout_s=150,
            on_batch=hook,
        ),
        errors,
    )
    folder = landing_folder("flights", settings)
    freshness = []
    seen: list[dict[str, Any]] = []
    for i, batch in enumerate((first, later)):
        seen += batch
        landed = time.monotonic()
        land_bytes(folder, f"stream-{i}.avro", avro_bytes(schema, batch))
        clock = max(r["sched_dep_ts"] for r in seen)
        readable = wait_online(settings, expected(seen, clock), timeout=120)
        freshness.append(readable - landed)
        # the same batch's departures per airport, from the same hook
        wait_online(settings, expected(seen, clock, "origin"), timeout=60, key="origin")
    # the offline rows are committed after the push: let the last batch's land before stopping
    last = dt.datetime.fromtimestamp(max(r["sched_dep_ts"] for r in seen) / 1000, dt.UTC)
    _wait_offline(settings, last)
    for query in spark.streams.active:  # stop the continuous ingest now that both batches are seen
        query.stop()
    thread.join(timeout=60)
    assert not errors, errors
    print(f"\nstreaming freshness (file landed -> readable online): {[round(f, 1) for f in freshness]} s")
    assert max(freshness) < 120

    con = features.latest.duckdb_connection()
    path = Catalog(settings=settings).path("gold.carrier_delay_1h")
    stamps = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT event_timestamp FROM delta_scan('{path}') ORDER BY 1"
        ).fetchall()
    ]
    con.close()
    assert stamps[-1] == last
    assert len(stamps) >= 2
    hook.close()


def test_kafka_flights_reach_online_from_the_online_query_and_match_the_offline_rows(
    spark: Any, kafka: Settings, topic: str, settings: Settings
) -> None:
    """Seeded from bronze, then fed by the topic: the online values are the offline computation's."""
    import fastavro
    from confluent_kafka import Producer

    from featurelake.features.online_stream import start_online_stream
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.kafka_producer import encode, message_headers

    features.apply(settings)
    schema = load_schema("flights")
    parsed, headers = fastavro.parse_schema(schema), message_headers("flights", schema)
    rng = np.random.default_rng(5)
    first = synthetic_records("flights", 400, rng)
    later = synthetic_records("flights", 300, rng, first=400)
    # refused by the suite (origin outside NYC), and later than every good event: it must move
    # neither the clock nor any value
    outsider = {
        **later[-1],
        "event_id": "outsider",
        "origin": "XXX",
        "sched_dep_ts": later[-1]["sched_dep_ts"] + 600_000,
    }

    def send(records: list[dict[str, Any]], junk: bool = False) -> None:
        producer = Producer({"bootstrap.servers": kafka.kafka_bootstrap})
        for r in records:
            producer.produce(topic, value=encode(parsed, r), key=r["event_id"].encode(), headers=headers)
        if junk:
            producer.produce(topic, value=b"\x00junk", key=b"junk", headers=headers)
        assert producer.flush(30) == 0

    send(first)
    run_kafka_ingest("flights", settings=settings, spark=spark, topic=topic)  # bronze holds `first`
    online = start_online_stream(spark, settings=settings, topic=topic)
    assert online.processor.window.clock is not None  # seeded from bronze
    hook = CarrierDelay1h(settings=settings, online=False)
    errors: list[BaseException] = []

    thread = _in_background(
        lambda: run_kafka_ingest(
            "flights",
            settings=settings,
            spark=spark,
            topic=topic,
            mode="continuous",
            timeout_s=150,
            on_batch=hook,
        ),
        errors,
    )
    try:
        sent = time.monotonic()
        send([*later, outsider], junk=True)
        seen = first + later
        clock = max(r["sched_dep_ts"] for r in seen)
        readable = wait_online(settings, expected(seen, clock), timeout=90)
        wait_online(settings, expected(seen, clock, "origin"), timeout=30, key="origin")
        print(f"\nonline freshness from Kafka (sent -> readable): {readable - sent:.1f} s")
        last = dt.datetime.fromtimestamp(clock / 1000, dt.UTC)
        _wait_offline(settings, last)  # the ingest hook's offline rows, computed from bronze
    finally:
        online.stop()
        for query in spark.streams.active:
            query.stop()
        thread.join(timeout=60)
    assert not errors, errors
    assert online.processor.window.clock == last
    con = features.latest.duckdb_connection()
    path = Catalog(settings=settings).path("gold.carrier_delay_1h")
    offline = con.execute(
        f"SELECT carrier, flights_1h, dep_delay_avg_1h FROM delta_scan('{path}') WHERE event_timestamp = $t",
        {"t": last},
    ).fetchall()
    con.close()
    pushed = online.processor.pushed["carrier_delay_1h"]
    assert sorted(offline, key=lambda r: r[0]) == [
        (r.carrier, r.flights_1h, None if np.isnan(r.dep_delay_avg_1h) else r.dep_delay_avg_1h)
        for r in pushed.itertuples()
    ]
    hook.close()
