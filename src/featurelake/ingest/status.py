"""Where each ingest source stands: what is waiting, and the last batch written.

For the landing zone, the files in ``landing/<dataset>/`` that no batch has
recorded in ``ops.ingest_files`` yet; for Kafka, the consumer lag per
partition: the topic's high watermark less the offset the query's checkpoint
says it will read next (the end offsets of its last committed batch). The
last batch of each comes from ``ops.ingest_log``. Reads the Delta log with
delta-rs and the broker with ``confluent-kafka``: no Spark session. Runs on the driver.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import ServiceError
from featurelake.ingest.contracts import CONTRACTS
from featurelake.ingest.kafka import kafka_checkpoint_dir, kafka_query_name
from featurelake.ingest.landing import landing_folder
from featurelake.ingest.stream import query_name
from featurelake.ingest.topics import topic_for

__all__ = ["SourceStatus", "committed_offsets", "ingest_status"]


@dataclass
class SourceStatus:
    """One (dataset, source) pair."""

    dataset: str
    source: str
    query_name: str
    waiting: int | None
    """Landing: files not ingested yet; Kafka: messages behind the high watermarks (None: unknown)."""
    lag: dict[str, int] = field(default_factory=dict)
    """Kafka: messages behind, per partition."""
    last_batch: int | None = None
    last_finished: dt.datetime | None = None
    last_records: int | None = None
    error: str | None = None
    """Why ``waiting`` is unknown (e.g. no broker answered)."""


def committed_offsets(checkpoint: Path) -> dict[str, dict[str, int]]:
    """The next offset per topic and partition after the last batch the query committed.

    Spark writes ``offsets/<n>`` (the end of batch ``n``) before running it and
    ``commits/<n>`` after; the newest ``n`` with both is where a restart resumes.
    """
    commits = checkpoint / "commits"
    done = sorted(int(p.name) for p in commits.iterdir() if p.name.isdigit()) if commits.is_dir() else []
    for n in reversed(done):
        path = checkpoint / "offsets" / str(n)
        if path.exists():
            lines = [ln for ln in path.read_text().splitlines() if ln.startswith("{")]
            # line 1 is the batch metadata; then one JSON object per source
            out: dict[str, dict[str, int]] = {}
            for line in lines[1:]:
                for topic, parts in json.loads(line).items():
                    out[topic] = {str(p): int(o) for p, o in parts.items()}
            return out
    return {}


def _last_batches(catalog: Catalog) -> dict[str, dict[str, Any]]:
    if not catalog.exists("ops.ingest_log"):
        return {}
    from deltalake import DeltaTable

    log = DeltaTable(catalog.path("ops.ingest_log")).to_pyarrow_table(
        columns=["query_name", "batch_id", "finished_at", "records_in"]
    )
    out: dict[str, dict[str, Any]] = {}
    for row in log.to_pylist():
        seen = out.get(row["query_name"])
        if seen is None or row["batch_id"] > seen["batch_id"]:
            out[row["query_name"]] = row
    return out


def _ingested_paths(catalog: Catalog) -> set[str]:
    if not catalog.exists("ops.ingest_files"):
        return set()
    from deltalake import DeltaTable

    from featurelake.ingest.checked import local_path

    paths = DeltaTable(catalog.path("ops.ingest_files")).to_pyarrow_table(columns=["path"]).column("path")
    return {local_path(p) for p in paths.to_pylist()}


def _landing_waiting(dataset: str, settings: Settings, ingested: set[str]) -> int:
    folder = landing_folder(dataset, settings)
    if not folder.is_dir():
        return 0
    landed = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_"))]
    return sum(1 for p in landed if str(p) not in ingested)


def _kafka_lag(dataset: str, settings: Settings) -> dict[str, int]:
    from confluent_kafka import Consumer, TopicPartition

    from featurelake.ingest.topics import check_broker, client_config

    topic = topic_for(dataset)
    meta = check_broker(settings)
    if topic not in meta.topics:
        return {}
    resume = committed_offsets(kafka_checkpoint_dir(dataset, settings)).get(topic, {})
    consumer = Consumer(
        client_config(settings, **{"group.id": "featurelake-status", "enable.auto.commit": False})
    )
    try:
        lag = {}
        for partition in sorted(meta.topics[topic].partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
            lag[str(partition)] = max(0, high - max(low, resume.get(str(partition), low)))
        return lag
    finally:
        consumer.close()


def ingest_status(settings: Settings | None = None, *, kafka: bool = True) -> list[SourceStatus]:
    """Every dataset's landing-zone and (with ``kafka``) Kafka source, in that order."""
    settings = settings or get_settings()
    catalog = Catalog(settings=settings)
    last = _last_batches(catalog)
    ingested = _ingested_paths(catalog)
    out = []
    for dataset in CONTRACTS:
        sources = [("landing", query_name(dataset))] + (
            [("kafka", kafka_query_name(dataset))] if kafka else []
        )
        for source, name in sources:
            status = SourceStatus(dataset, source, name, None)
            if source == "landing":
                status.waiting = _landing_waiting(dataset, settings, ingested)
            else:
                try:
                    status.lag = _kafka_lag(dataset, settings)
                    status.waiting = sum(status.lag.values())
                except ServiceError as e:
                    status.error = str(e).split(";")[0]
            batch = last.get(name)
            if batch is not None:
                status.last_batch = int(batch["batch_id"])
                status.last_finished = batch["finished_at"]
                status.last_records = int(batch["records_in"])
            out.append(status)
    return out
