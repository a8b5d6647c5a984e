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
)
