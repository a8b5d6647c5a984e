"""One run of the pipeline for the cluster tests, configured by the environment alone.

Run as a script in its own process (one SparkContext per process), with
``FEATURELAKE_PROFILE``, ``FEATURELAKE_LAKE``, ``FEATURELAKE_SPARK_MASTER``,
``FEATURELAKE_REDIS_URL`` and ``FEATURELAKE_POSTGRES_DSN`` saying where it runs.
The same code runs on ``local[2]`` and on the standalone cluster:

    python tests/e2e/cluster_run.py weeks OUT      # two weeks of 2013, landing to online store
    python tests/e2e/cluster_run.py backfill OUT   # silver + gold of what bronze holds, reporting progress

``weeks``: flights of the first ``INGEST_DAYS`` days are produced as Avro files
and ingested (Structured Streaming, checks, quarantine); their weather is read
from the Kafka topic ``CLUSTER_RUN_WEATHER_TOPIC`` names (filled once by the
test with :func:`produce_weather_topic`, a few bad messages among them) with
Spark's Kafka source; the rest of
the two weeks is seeded into bronze directly (the ingest-independent part, fast);
then reference dimensions, the silver/gold backfill, Feast apply and
materialize, a training set (DuckDB and Spark joins) and online lookups.
``OUT`` receives ``training.parquet``, ``training_spark.parquet``, ``online.json``
and ``timings.json``.

``backfill``: writes ``progress.jsonl`` in ``OUT`` as it goes (the driver UI
address, then one line per chunk started and finished) so a test can act in
the middle of it, and ``executors.json`` at the end (Spark's own account of
executors lost and tasks failed).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

FIRST = dt.date(2013, 1, 1)
END = dt.date(2013, 1, 15)
"""Two weeks: enough for every gold window to hold data, short enough for the suite's budget."""
INGEST_DAYS = 3
TRAINING_FROM, TRAINING_TO = "2013-01-08", "2013-01-15"
ONLINE_ENTITIES = 300
WEATHER_TOPIC = "CLUSTER_RUN_WEATHER_TOPIC"
"""The environment variable naming the Kafka topic the weather of the first days is read from."""


def produce_weather_topic(settings: Any, topic: str) -> Any:
    """Publish the weather of the first ``INGEST_DAYS`` days to ``topic``, a few bad messages among them."""
    from featurelake.ingest.kafka_producer import produce_replay_to_kafka
    from featurelake.ingest.topics import ensure_topics

    ensure_topics(settings, {topic: 4})
    end = FIRST + dt.timedelta(days=INGEST_DAYS)
    return produce_replay_to_kafka(
        "weather", FIRST, end, settings=settings, topic=topic, bad_rate=0.02, seed=3
    )


def online_entities() -> list[dict[str, str]]:
    """The entity rows looked up online: the last day's flights, from the raw data."""
    import pyarrow.compute as pc

    from featurelake.backfill.seed import bronze_rows

    rows = bronze_rows("flights", start=END - dt.timedelta(days=1), end=END)
    rows = rows.filter(pc.is_valid(rows.column("tailnum"))).sort_by("event_id")
    keys = rows.select(["carrier", "origin", "dest", "tailnum"]).slice(0, ONLINE_ENTITIES).to_pylist()
    return [{k: str(v) for k, v in r.items()} for r in keys]


def weeks(out: Path) -> None:
    """The first two weeks of 2013 from the landing zone to the online store."""
    import pyarrow.parquet as pq

    from featurelake import features
    from featurelake.backfill import backfill_all
    from featurelake.backfill.seed import seed_bronze
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.ingest.kafka import run_kafka_ingest
    from featurelake.ingest.producers import produce_replay
    from featurelake.ingest.stream import run_ingest
    from featurelake.reference import load_reference
    from featurelake.spark import get_spark

    settings = get_settings()
    catalog = Catalog(settings=settings)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        t0 = now

    spark = get_spark("featurelake-weeks")
    lap("session")
    ingest_end = FIRST + dt.timedelta(days=INGEST_DAYS)
    # one run id: both runs land byte-identical files, as when two clusters read one landing zone
    produce_replay("flights", FIRST, ingest_end, settings=settings, records_per_file=2000, run_id="weeks")
    run_ingest("flights", settings=settings, spark=spark)
    # both runs read one topic the test filled (WEATHER_TOPIC), each from its own checkpoint,
    # as two clusters would read one broker: the executors fetch the messages themselves
    run_kafka_ingest("weather", settings=settings, spark=spark, topic=os.environ[WEATHER_TOPIC])
    lap("produce_ingest")
    seed_bronze(catalog, "flights", start=ingest_end, end=END)
    seed_bronze(catalog, "weather", start=ingest_end, end=END)
    load_reference(spark, catalog)
    lap("seed_reference")
    backfill_all(catalog=catalog, spark=spark, parallel=2)
    lap("backfill")
    features.apply(settings)
    features.materialize(FIRST, END, settings=settings)
    lap("apply_materialize")
    kwargs: dict[str, Any] = {
        "start": TRAINING_FROM,
        "end": TRAINING_TO,
        "where": "is_delayed IS NOT NULL",
        "settings": settings,
    }
    pq.write_table(
        features.training_set("gold.flight_labels", "delay_model_v1", output="arrow", **kwargs),
        out / "training.parquet",
    )
    sdf = features.training_set("gold.flight_labels", "delay_model_v1", output="spark", spark=spark, **kwargs)
    pq.write_table(sdf.toArrow(), out / "training_spark.parquet")
    lap("training_sets")
    values = features.online_features(online_entities(), "delay_model_v1", settings=settings)
    (out / "online.json").write_text(json.dumps(values, default=str))
    lap("online")
    (out / "timings.json").write_text(json.dumps({"master": spark.sparkContext.master, **timings}))


class _Progress:
    """Appends one JSON line per event to ``progress.jsonl`` (flushed: a test tails it)."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", buffering=1)
        self.lock = threading.Lock()

    def event(self, **fields: Any) -> None:
        with self.lock:
            self.file.write(json.dumps({"t": time.time(), **fields}, default=str) + "\n")


def backfill(out: Path) -> None:
    """Silver and gold over bronze's range, telling ``progress.jsonl`` what is in flight."""
    from featurelake.backfill import Reporter, backfill_all
    from featurelake.backfill.runner import ChunkResult
    from featurelake.catalog import Catalog
    from featurelake.spark import get_spark

    progress = _Progress(out / "progress.jsonl")
    spark = get_spark("featurelake-fault")
    sc = spark.sparkContext
    progress.event(event="session", app_id=sc.applicationId, ui=sc.uiWebUrl, master=sc.master)

    class Report(Reporter):
        def chunk_started(self, chunk: Any) -> None:
            progress.event(event="started", chunk=chunk.label)

        def chunk_finished(self, result: ChunkResult) -> None:
            progress.event(event="finished", chunk=result.chunk.label, ok=result.ok, error=result.error)

    code = 0
    try:
        backfill_all(catalog=Catalog(), spark=spark, parallel=2, reporter=Report())
    except Exception as e:  # the test decides whether a clean failure is acceptable
        progress.event(event="failed", error=str(e).splitlines()[0])
        code = 1
    # Spark's own account, from the driver's REST API: executors (also removed ones) and failed tasks.
    api = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    executors = json.loads(opener.open(f"{api}/allexecutors", timeout=30).read())
    stages = json.loads(opener.open(f"{api}/stages", timeout=30).read())
    (out / "executors.json").write_text(
        json.dumps(
            {
                "executors": [
                    {k: e.get(k) for k in ("id", "isActive", "completedTasks", "failedTasks", "removeReason")}
                    for e in executors
                ],
                "failed_tasks": sum(int(s.get("numFailedTasks", 0)) for s in stages),
                "stage_attempts": sum(1 for s in stages if int(s.get("attemptId", 0)) > 0),
            }
        )
    )
    progress.event(event="done", code=code)
    sys.exit(code)


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    {"weeks": weeks, "backfill": backfill}[command](folder)
