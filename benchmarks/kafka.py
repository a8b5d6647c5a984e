"""Kafka -> bronze with every check, against a bare Kafka -> Delta passthrough; and freshness.

Throughput: ``--events`` synthetic flights (``--bad-rate`` of them bad) are
published once to a fresh topic, then read from it, in the same run, by:

- ``passthrough``: Spark's Kafka source with ``availableNow`` -> ``foreachBatch``
  -> the raw messages (key, value, topic, partition, offset) appended to a
  Delta table: no decoding, no checks, no quarantine, no ops tables;
- ``decoded``: the same, but each value decoded with ``from_avro`` (the current
  schema, ``PERMISSIVE``) and its fields appended with ``event_date`` to a Delta
  table partitioned by it, as bronze is: no checks, no quarantine, no ops
  tables. What the ingest would cost if its checks and bookkeeping were free,
  so ``decoded / passthrough`` bounds the ratio any checked ingest can reach;
- ``ingest``: ``featurelake ingest flights --source kafka --once`` (decode with
  ``from_avro``, the full ``flights_bronze`` suite, bronze + quarantine + ops
  tables, each in the batch's Delta transaction).

Both use the same ``--max-offsets-per-trigger``; each figure is the median of
``--repeats`` runs on a fresh lake and checkpoint, after an unmeasured warm-up.
Goal (issue 13, item 7): ingest >= 0.8x passthrough.

Freshness (``--freshness-seconds`` > 0): ``featurelake ingest flights --source kafka
--continuous`` runs as the CLI runs it: the ingest query (with the offline
``carrier_delay_1h`` history after each batch) and, beside it in the same Spark
session, the online feature query (:mod:`featurelake.features.online_stream`). Once
both queries have run their first trigger (the service is up: what waits on its
start is not sustained freshness), a producer publishes at ``--rate`` events/s for
``--freshness-seconds``. Per good event, freshness is the time from its produce
timestamp (the broker's CreateTime) to the end of the first online push whose
micro-batch reached its offset; the figures are p50/p95/p99 over every event after
the first push. Goal: p95 <= 3 s at 2,000 events/s.

    python -m benchmarks.kafka [--events 500000] [--repeats 3] [--freshness-seconds 120 --rate 2000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import emit, median


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _delete_topic(settings: Any, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics([topic])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bad-rate", type=float, default=0.001)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=200_000)
    parser.add_argument("--freshness-seconds", type=float, default=120.0)
    parser.add_argument("--rate", type=float, default=2000.0)
    args = parser.parse_args()

    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    from featurelake.avro import load_schema
    from featurelake.config import get_settings
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.kafka_producer import produce_synthetic_to_kafka
    from featurelake.ingest.topics import ensure_topics
    from featurelake.spark import get_spark

    work = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    base = get_settings().model_copy(update={"lake": work / "home"})
    topic = f"bench-flights-{uuid.uuid4().hex[:6]}"
    ensure_topics(base, {topic: 4})
    spark = get_spark("bench-kafka", settings=base)
    loads: dict[str, list[float]] = {}
    try:
        started = time.perf_counter()
        produced = produce_synthetic_to_kafka(
            "flights", args.events, settings=base, topic=topic, bad_rate=args.bad_rate, seed=42
        )
        produce_s = time.perf_counter() - started

        reader = json.dumps(load_schema("flights"))

        def raw(df: Any) -> Any:
            return df.select("key", "value", "topic", "partition", "offset")

        def decoded(df: Any) -> Any:
            record = from_avro("value", reader, {"mode": "PERMISSIVE"}).alias("r")
            return df.select(record).select("r.*", F.to_date("r.sched_dep_ts").alias("event_date"))

        def bare(run: int | str, kind: str = "passthrough") -> float:
            """One run of a reader with no checks: ``passthrough`` (raw bytes) or ``decoded``."""
            out = work / f"{kind}-{run}"
            loads.setdefault(kind, []).append(round(os.getloadavg()[0], 2))
            shape, partitions = (raw, []) if kind == "passthrough" else (decoded, ["event_date"])

            def write(df: Any, batch_id: int) -> None:
                shape(df).write.format("delta").mode("append").partitionBy(*partitions).option(
                    "txnAppId", kind
                ).option("txnVersion", batch_id).save(str(out / "table"))

            t = time.perf_counter()
            query = (
                spark.readStream.format("kafka")
                .option("kafka.bootstrap.servers", base.kafka_bootstrap)
                .option("subscribe", topic)
                .option("startingOffsets", "earliest")
                .option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
                .load()
                .writeStream.option("checkpointLocation", str(out / "checkpoint"))
                .foreachBatch(write)
                .trigger(availableNow=True)
                .start()
            )
            query.awaitTermination()
            seconds = time.perf_counter() - t
            shutil.rmtree(out, ignore_errors=True)
            return seconds

        phases: dict[str, list[float]] = {}

        def ingest(run: int | str) -> tuple[float, dict[str, int]]:
            settings = base.model_copy(update={"lake": work / f"lake-{run}"})
            loads.setdefault("ingest", []).append(round(os.getloadavg()[0], 2))
            t = time.perf_counter()
            result = run_kafka_ingest(
                "flights",
                settings=settings,
                spark=spark,
                topic=topic,
                max_offsets_per_trigger=args.max_offsets_per_trigger,
            )
            seconds = time.perf_counter() - t
            if run != "warm":
                for b in result.batches:
                    for k, v in b.phases.items():
                        phases.setdefault(k, []).append(v)
            shutil.rmtree(settings.lake, ignore_errors=True)
            return seconds, result.totals

        bare("warm")
        bare("warm", "decoded")
        ingest("warm")
        loads.clear()
        times: dict[str, list[float]] = {"passthrough": [], "decoded": [], "ingest": []}
        totals: dict[str, int] = {}
        for run in range(args.repeats):
            times["passthrough"].append(bare(run))
            times["decoded"].append(bare(run, "decoded"))
            seconds, totals = ingest(run)
            times["ingest"].append(seconds)
        med = {k: median(v) for k, v in times.items()}
        eps = {k: produced.messages / v for k, v in med.items()}
        result: dict[str, Any] = {
            "messages": produced.messages,
            "bronze_rows": totals.get("bronze_rows"),
            "quarantined_rows": totals.get("quarantined_rows"),
            "repeats": args.repeats,
            "max_offsets_per_trigger": args.max_offsets_per_trigger,
            "seconds_median": {k: round(v, 2) for k, v in med.items()},
            "seconds_all": {k: [round(x, 2) for x in v] for k, v in times.items()},
            "events_per_s": {k: round(v) for k, v in eps.items()},
            "ratio_ingest_to_passthrough": round(eps["ingest"] / eps["passthrough"], 3),
            "ratio_decoded_to_passthrough": round(eps["decoded"] / eps["passthrough"], 3),
            "ratio_ingest_to_decoded": round(eps["ingest"] / eps["decoded"], 3),
            "ingest_phase_seconds_per_run": {k: round(sum(v) / args.repeats, 2) for k, v in phases.items()},
            "load_average_1m_at_start": loads,
            "produce_seconds": round(produce_s, 1),
            "goals": {"ratio": 0.8, "freshness_p95_s": 3.0},
        }
        if args.freshness_seconds > 0:
            result["freshness"] = _freshness(spark, base, work, args.rate, args.freshness_seconds)
        emit("kafka", result)
    finally:
        _delete_topic(base, topic)
        shutil.rmtree(work, ignore_errors=True)


def _produce(bootstrap: str, topic: str, events: int, rate: float) -> None:
    from featurelake.config import get_settings
    from featurelake.ingest.kafka_producer import produce_synthetic_to_kafka

    settings = get_settings().model_copy(update={"kafka_bootstrap": bootstrap})
    produce_synthetic_to_kafka("flights", events, settings=settings, topic=topic, rate=rate, seed=7)


def _drive(spark: Any, online: Any, producer: Any) -> None:
    """Start ``producer`` once both queries are warm; stop the ingest query once it is done.

    Warm: each query has finished its first trigger (the ingest's first one creates its
    tables and compiles its plan, about 10 s here). Events produced before that would
    measure the service's start, not its sustained freshness. After the producer, the ingest
    runs 10 s more to drain, and is stopped between two batches.
    """
    from featurelake.ingest.kafka import kafka_query_name

    def ingest_query() -> Any:
        return next((q for q in spark.streams.active if q.name == kafka_query_name("flights")), None)

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        query = ingest_query()
        if query is not None and query.lastProgress is not None and online.lastProgress is not None:
            break
        time.sleep(0.2)
    producer.start()
    producer.join()
    time.sleep(10)
    query = ingest_query()
    while query is not None and query.isActive and query.status.get("isTriggerActive"):
        time.sleep(0.1)
    if query is not None:
        query.stop()


def _freshness(spark: Any, base: Any, work: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Produce at ``rate`` for ``seconds`` while ingesting continuously, with the online feature query."""
    import bisect

    from confluent_kafka import Consumer, TopicPartition
    from deltalake import DeltaTable

    from featurelake import features
    from featurelake.catalog import Catalog
    from featurelake.features.online_stream import start_online_stream
    from featurelake.features.streaming import CarrierDelay1h
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.topics import ensure_topics

    topic = f"bench-fresh-{uuid.uuid4().hex[:6]}"
    ensure_topics(base, {topic: 4})
    settings = base.model_copy(update={"lake": work / "fresh"})
    features.apply(settings)  # the push sources must be registered, or every push fails
    hook = CarrierDelay1h(settings=settings, online=False)  # the offline history, as the CLI runs it
    online = start_online_stream(spark, settings=settings, topic=topic)
    # a process of its own, as producers are: a thread here would take the GIL from the
    # online query's driver-side work
    producer = multiprocessing.get_context("spawn").Process(
        target=_produce, args=(base.kafka_bootstrap, topic, int(rate * seconds), rate), daemon=True
    )
    driver = threading.Thread(target=_drive, args=(spark, online.query, producer), daemon=True)
    driver.start()
    try:
        run_kafka_ingest(
            "flights",
            settings=settings,
            spark=spark,
            topic=topic,
            mode="continuous",
            timeout_s=seconds + 600,  # a safety net: _drive stops the query once the producer is done
            on_batch=hook,
        )
    finally:
        online.stop()
        hook.close()
    driver.join()
    producer.join()
    if producer.exitcode != 0:
        raise RuntimeError(f"the producer process failed (exit code {producer.exitcode})")
    # (partition, offset) -> produce time, from the broker
    consumer = Consumer(
        {"bootstrap.servers": base.kafka_bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}"}
    )
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    produced_at: dict[tuple[int, int], float] = {}
    idle = 0
    while idle < 5:
        msgs = consumer.consume(num_messages=10_000, timeout=1.0)
        idle = 0 if msgs else idle + 1
        for m in msgs:
            produced_at[(m.partition(), m.offset())] = m.timestamp()[1] / 1000
    consumer.close()
    # the good events (those in bronze); each became readable with the first push whose
    # batch reached its offset
    bronze = DeltaTable(Catalog(settings=settings).path("bronze.flights")).to_pyarrow_table(
        columns=["_kafka_partition", "_kafka_offset"]
    )
    pushes = online.processor.pushes
    reached: dict[int, list[int]] = {p: [] for p in parts}
    running: dict[int, int] = {p: -1 for p in parts}
    for _, newest in pushes:
        for p in parts:
            running[p] = max(running[p], newest.get(p, -1))
            reached[p].append(running[p])
    lags = []
    for p, o in zip(
        bronze.column("_kafka_partition").to_pylist(), bronze.column("_kafka_offset").to_pylist(), strict=True
    ):
        i = bisect.bisect_left(reached[p], o)
        if 0 < i < len(pushes) and (p, o) in produced_at:  # push 0 warms up (planning, Feast)
            lags.append(pushes[i][0] - produced_at[(p, o)])
    _delete_topic(base, topic)
    if not lags:
        return {"events": 0}
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "events": len(lags),
        "pushes": len(pushes),
        "p50_s": round(_percentile(lags, 0.50), 3),
        "p95_s": round(_percentile(lags, 0.95), 3),
        "p99_s": round(_percentile(lags, 0.99), 3),
        "mean_s": round(statistics.fmean(lags), 3),
        "max_s": round(max(lags), 3),
    }


if __name__ == "__main__":
    main()
