"""Quarantine: every record or file that could not go on, with the reasons why.

One table for every dataset and layer. A record that failed checks keeps its
values as JSON in ``record_json``; a file that could not be decoded keeps its
bytes in ``payload`` (``record_json`` null). ``reasons`` holds reason codes
(``truncated_file``, ``incompatible_schema``, an expectation name, ...)
separated by commas; ``failed_expectations`` the names of every expectation
the record failed (warnings included) as a JSON array; ``detail`` why a file
could not be read. A message from Kafka keeps its value's bytes in ``payload``
and where it came from in ``kafka_topic``, ``kafka_partition`` and
``kafka_offset`` (``source_file`` is ``kafka://<topic>/<partition>``).
``featurelake quarantine replay`` sets ``replayed_at`` and
``replay_id`` on the rows it re-ingested; the bad records it finds in a
replayed whole file are new rows with its ``replay_id`` and no ``replayed_at``.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["QUARANTINE"]

QUARANTINE = TableSpec.of(
    "quarantine.records",
    "dataset string not null, layer string not null, source_file string, batch_id bigint, "
    "record_index int, event_id string, record_json string, payload binary, "
    "reasons string not null, failed_expectations string, detail string, quarantined_at timestamp not null, "
    "replayed_at timestamp, replay_id bigint, quarantine_date date not null, "
    "kafka_topic string, kafka_partition int, kafka_offset bigint",
    partition_by=["quarantine_date"],
    description="Records and files that failed decoding or checks, with reason codes; nothing is dropped.",
    owner="data-platform",
    tags={"domain": "operations", "contains": "rejected records", "refresh": "per ingest batch"},
    column_docs={
        "dataset": "The event dataset: flights, weather or bookings.",
        "layer": "Where the row was stopped: bronze (ingest or replay: an unreadable file or Kafka "
        "message, or a record failing a quarantine check of <dataset>_bronze) or silver (a "
        "deduplicated row failing a quarantine check of flights_silver).",
        "source_file": "The landing file the record came from, or kafka://<topic>/<partition> for a "
        "message; for a silver row, the _source_file of the bronze copy that won deduplication.",
        "batch_id": "The ingest batch that read it (ops.ingest_log.batch_id); for a silver row, the "
        "_batch_id of its bronze copy.",
        "record_index": "Position of the record in its landed file, from 0; null for whole files, Kafka "
        "messages and silver rows.",
        "event_id": "The record's event_id; null when it has none or could not be decoded (whole "
        "files, refused messages).",
        "record_json": "The decoded record (for a silver row, its silver columns) as JSON, timestamps in "
        "ISO 8601; null when it could not be decoded.",
        "payload": "Raw bytes: the whole file for a file that could not be read (empty for an empty file), "
        "the message value for a Kafka message; null for a landed file's record and silver rows.",
        "reasons": "Why, as comma-separated codes: a file or message error (empty_file, not_avro, "
        "truncated_file, corrupt_file, incompatible_schema, undecodable, wrong_schema, ...) or the "
        "names of the quarantine-severity expectations the record failed.",
        "failed_expectations": "JSON array of every expectation the record failed, warn-severity ones "
        "included; null when it could not be decoded.",
        "detail": "Why a file or message could not be read, in words; null for records that failed checks.",
        "quarantined_at": "When the run that quarantined the row ran (UTC).",
        "replayed_at": "When featurelake quarantine replay re-ingested the row into bronze (UTC); null "
        "while pending.",
        "replay_id": "The replay that re-ingested the row (replayed_at set), or that found the record "
        "failing again in a replayed whole file (replayed_at null); null otherwise.",
        "quarantine_date": "UTC date of quarantined_at; the partition column.",
        "kafka_topic": "The Kafka topic of a refused message; null for landed files and silver rows.",
        "kafka_partition": "The Kafka partition of a refused message; null for landed files and silver rows.",
        "kafka_offset": "The offset of a refused message in its partition; null for landed files and "
        "silver rows.",
    },
    upstream=["events:flights", "events:weather", "events:bookings", "bronze.flights"],
    # a quarantined booking keeps its record (or its file's bytes): personal data
    personal={"record_json": "direct", "payload": "direct"},
)
