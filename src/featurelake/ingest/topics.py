"""The project's Kafka topics, and how every featurelake client reaches the broker.

One topic per dataset, named after it, with the partition count in
:data:`TOPICS`. The project creates them (:func:`ensure_topics`); the local
broker refuses to create a topic on first use (``auto.create.topics.enable=false``),
so a typo in a topic name fails instead of making a one-partition topic.

Runs on the driver (plain Python, ``confluent-kafka``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings, get_settings
from featurelake.errors import ServiceError

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient, ClusterMetadata

__all__ = ["TOPICS", "check_broker", "client_config", "ensure_topics", "topic_for"]

TOPICS: dict[str, int] = {"flights": 4, "weather": 4, "bookings": 2}
"""Topic (= dataset) -> partitions: a few per core of a laptop broker, enough to read in parallel."""

_LOG = logging.getLogger("featurelake.kafka")
# Quiet unless the application configures logging: librdkafka retries (and logs) what recovers by
# itself, such as "Coordinator load in progress" on a broker that just started.
_LOG.addHandler(logging.NullHandler())


def topic_for(dataset: str) -> str:
    """The topic ``dataset``'s events are published to.

    Raises:
        ValueError: the dataset has no topic.
    """
    if dataset not in TOPICS:
        raise ValueError(f"no Kafka topic for dataset {dataset!r}; use one of: {', '.join(TOPICS)}")
    return dataset


def client_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings every featurelake client shares, ``extra`` on top.

    librdkafka's own log lines (a refused connection is logged on every retry) go to the
    ``featurelake.kafka`` Python logger instead of stderr; the errors that matter reach the
    caller as exceptions.
    """
    return {"bootstrap.servers": settings.kafka_bootstrap, "logger": _LOG, **extra}


def check_broker(settings: Settings | None = None, *, timeout_s: float = 5.0) -> ClusterMetadata:
    """The cluster's metadata, or one clear error when no broker answers within ``timeout_s``.

    Raises:
        ServiceError: nothing answered at ``FEATURELAKE_KAFKA_BOOTSTRAP`` in time.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    settings = settings or get_settings()
    admin = AdminClient(client_config(settings, **{"socket.connection.setup.timeout.ms": 2000}))
    try:
        return admin.list_topics(timeout=timeout_s)
    except KafkaException as e:
        raise ServiceError(
            f"no Kafka broker answered at {settings.kafka_bootstrap} within {timeout_s:g} s "
            f"({e.args[0].str() if e.args else e}); start the local one with `featurelake services "
            "start` (or infra/services.sh), or set FEATURELAKE_KAFKA_BOOTSTRAP"
        ) from e


def ensure_topics(
    settings: Settings | None = None,
    topics: Mapping[str, int] | None = None,
    *,
    timeout_s: float = 30.0,
) -> dict[str, str]:
    """Create each topic that is missing, with its partition count; check the ones that exist.

    New topics take the broker's default replication factor (1 on the local broker).

    Args:
        settings: which broker.
        topics: topic -> partitions; :data:`TOPICS` when None.
        timeout_s: how long to wait for the broker and for each creation.

    Returns:
        Topic -> ``created`` or ``exists``.

    Raises:
        ServiceError: the broker does not answer, refuses a creation, or a topic exists with
            another partition count (keys would map to other partitions than the project expects).
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    settings = settings or get_settings()
    wanted = dict(TOPICS if topics is None else topics)
    existing = check_broker(settings, timeout_s=timeout_s).topics
    result: dict[str, str] = {}
    for name, partitions in wanted.items():
        if name in existing:
            have = len(existing[name].partitions)
            if have != partitions:
                raise ServiceError(
                    f"Kafka topic {name!r} at {settings.kafka_bootstrap} has {have} partitions; "
                    f"featurelake expects {partitions}"
                )
            result[name] = "exists"
    missing = [
        NewTopic(n, num_partitions=p, replication_factor=-1) for n, p in wanted.items() if n not in result
    ]
    if not missing:
        return result
    admin = AdminClient(client_config(settings))
    for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if err is not None and err.name() == "TOPIC_ALREADY_EXISTS":  # created meanwhile
                result[name] = "exists"
                continue
            raise ServiceError(f"could not create Kafka topic {name!r}: {err.str() if err else e}") from e
        except TimeoutError as e:
            raise ServiceError(f"Kafka did not create topic {name!r} within {timeout_s:g} s") from e
        result[name] = "created"
    _await_metadata(admin, {n: p for n, p in wanted.items() if result[n] == "created"}, timeout_s)
    return result


def _await_metadata(admin: AdminClient, topics: Mapping[str, int], timeout_s: float) -> None:
    """Wait until the broker's metadata lists each new topic with a leader for every partition.

    KRaft answers a creation before the broker's metadata cache has the topic; a client
    asking for metadata in between is told it does not exist.
    """
    deadline = time.monotonic() + timeout_s
    while topics:
        listed = admin.list_topics(timeout=timeout_s).topics
        ready = [
            n
            for n, p in topics.items()
            if n in listed
            and listed[n].error is None
            and len(listed[n].partitions) == p
            and all(part.leader >= 0 for part in listed[n].partitions.values())
        ]
        if len(ready) == len(topics):
            return
        if time.monotonic() > deadline:
            waiting = sorted(set(topics) - set(ready))
            raise ServiceError(f"Kafka created {waiting} but its metadata lacks them after {timeout_s:g} s")
        time.sleep(0.2)
