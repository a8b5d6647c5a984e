"""Ops: what the pipeline did, one row per batch, file or check, queryable like any table.

Small tables written from the driver; unpartitioned because a whole year of
batches is a few thousand rows (``featurelake maintain`` compacts them).
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = [
    "ALERTS",
    "AUDIT_LOG",
    "ERASURE_LOG",
    "INGEST_FILES",
    "INGEST_LOG",
    "OPS_BACKFILL_LOG",
    "VALIDATION_RESULTS",
]

_OWNER = "data-platform"
_DATASET = "The event dataset: flights, weather or bookings."

INGEST_LOG = TableSpec.of(
    "ops.ingest_log",
    "dataset string not null, query_name string not null, batch_id bigint not null, "
    "started_at timestamp not null, finished_at timestamp not null, duration_s double not null, "
    "files int not null, files_quarantined int not null, duplicate_files int not null, "
    "records_in bigint not null, bronze_rows bigint not null, quarantined_rows bigint not null, "
    "warned_rows bigint not null, min_event_date date, max_event_date date, event_dates string, "
    "source string, offsets string",
    keys=["query_name", "batch_id"],
    description=(
        "One row per ingest micro-batch: files, records in = bronze rows + quarantined rows, duration, "
        "and the event dates it touched (comma-separated) so late partitions can be refreshed; "
        "source is landing or kafka, offsets the Kafka offsets the batch read as JSON "
        '{"<topic>": {"<partition>": [first, last]}}.'
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "pipeline log", "refresh": "per ingest batch"},
    column_docs={
        "dataset": _DATASET,
        "query_name": "The writer: ingest_<dataset> (landing zone), ingest_kafka_<dataset> (Kafka) or "
        "replay_<dataset> (featurelake quarantine replay).",
        "batch_id": "The query's micro-batch number, from 0; a replay's replay id, from 1.",
        "started_at": "When the batch started (UTC).",
        "finished_at": "When this row was written, after the batch's other commits (UTC).",
        "duration_s": "Seconds the batch took, from its start to its last commit before this row.",
        "files": "Landed files in the batch, empty and quarantined ones included; 0 for Kafka batches "
        "and replays.",
        "files_quarantined": "Files quarantined whole (empty, not Avro, truncated, corrupt or of an "
        "incompatible schema).",
        "duplicate_files": "Files whose content (SHA-256) the dataset had already ingested "
        "(ops.ingest_files.duplicate_of); their records go to bronze again and silver deduplicates them.",
        "records_in": "Records in: bronze_rows + quarantined_rows, a file quarantined whole counting once; "
        "for Kafka, the messages read.",
        "bronze_rows": "Rows written to bronze.<dataset>.",
        "quarantined_rows": "Rows written to quarantine.records: failing records and whole files; for a "
        "replay, the rows still quarantined after it.",
        "warned_rows": "Records that failed a warn-severity expectation (a warning alone keeps no record "
        "out of bronze); 0 for replays.",
        "min_event_date": "Earliest UTC event date among the rows written to bronze; null when none.",
        "max_event_date": "Latest UTC event date among the rows written to bronze; null when none.",
        "event_dates": "Every UTC event date written to bronze, ISO dates separated by commas: the "
        "partitions downstream must refresh; null when none.",
        "source": "landing or kafka; null for replays.",
        "offsets": "Kafka batches: the first and last offset read per topic and partition, as JSON "
        '{"<topic>": {"<partition>": [first, last]}}; null otherwise.',
    },
    upstream=["events:flights", "events:weather", "events:bookings", "quarantine.records"],
    # a day's files land and are ingested at least daily: a day without a batch is a stalled ingest
    freshness_sla_hours=24.0,
)

INGEST_FILES = TableSpec.of(
    "ops.ingest_files",
    "dataset string not null, query_name string not null, batch_id bigint not null, path string not null, "
    "size_bytes bigint not null, modified_at timestamp, sha256 string not null, records bigint, "
    "status string not null, detail string, duplicate_of string, ingested_at timestamp not null",
    keys=["query_name", "batch_id", "path"],
    description=(
        "One row per landed file ingested: size, content hash, records, status (ok or the reason it was "
        "quarantined whole) and duplicate_of, the earlier file with the same content."
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "pipeline log", "refresh": "per ingest batch"},
    column_docs={
        "dataset": _DATASET,
        "query_name": "The landing-zone ingest query: ingest_<dataset>.",
        "batch_id": "The query's micro-batch that ingested the file (ops.ingest_log.batch_id).",
        "path": "The landed file, as the ingest query listed it.",
        "size_bytes": "File size, bytes.",
        "modified_at": "The file's modification time (UTC): when the producer wrote it.",
        "sha256": "SHA-256 of the file's bytes, hexadecimal.",
        "records": "Records the file's Avro blocks declare; null when the file was quarantined whole.",
        "status": "ok, or why the file was quarantined whole: empty_file, not_avro, truncated_file, "
        "corrupt_file or incompatible_schema.",
        "detail": "Why the file could not be read, in words; null when it was read.",
        "duplicate_of": "A file of the dataset with the same content (SHA-256) ingested in an earlier "
        "batch, or earlier in this one by path order; null for new content and empty files.",
        "ingested_at": "When the ingest batch started (UTC).",
    },
    upstream=["events:flights", "events:weather", "events:bookings"],
)

VALIDATION_RESULTS = TableSpec.of(
    "ops.validation_results",
    "dataset string not null, suite string not null, run string not null, batch_id bigint not null, "
    "expectation string not null, expectation_type string not null, column_name string, "
    "severity string not null, success boolean not null, element_count bigint not null, "
    "unexpected_count bigint not null, unexpected_percent double not null, outcome string not null, "
    "validated_at timestamp not null",
    keys=["run", "batch_id", "expectation"],
    description=(
        "Each expectation's result on each batch (run = the ingest query, or backfill:<run id> for the "
        "silver suite); outcome is 'written', or 'batch_failed' when a fail-severity check stopped the batch."
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "data quality results", "refresh": "per ingest batch"},
    column_docs={
        "dataset": _DATASET,
        "suite": "The expectation suite (expectations/<suite>.json): <dataset>_bronze at ingest, "
        "flights_silver in the silver flights job and stream.",
        "run": "The validating run: the ingest query (ingest_<dataset>, ingest_kafka_<dataset>), or "
        "backfill:<run id> for the silver suite (backfill:stream for the silver stream).",
        "batch_id": "The ingest micro-batch; for the silver suite, the first day of the checked days as "
        "YYYYMMDD (the silver stream: the day it started).",
        "expectation": "The expectation's name in its suite, e.g. origin_in_nyc.",
        "expectation_type": "Its Great Expectations type, e.g. expect_column_values_to_not_be_null.",
        "column_name": "The column it checks; null for row-level (query) expectations.",
        "severity": "quarantine (failing rows are set aside), warn (recorded only) or fail (the batch "
        "stops, nothing written).",
        "success": "Whether the expectation held on the batch (honouring its mostly threshold).",
        "element_count": "Rows in the batch that the suite checked.",
        "unexpected_count": "Rows that failed the expectation.",
        "unexpected_percent": "unexpected_count as a percentage (0-100) of the rows it counts (for a "
        "column expectation, its non-null values, as Great Expectations does); 0 when none.",
        "outcome": "written, or batch_failed when a fail-severity expectation stopped the batch.",
        "validated_at": "When the batch was validated (UTC).",
    },
    upstream=["events:flights", "events:weather", "bronze.flights"],
)

OPS_BACKFILL_LOG = TableSpec.of(
    "ops.backfill_log",
    "run_id string not null, table_name string not null, partition_date date not null, "
    "status string not null, rows bigint, input_fingerprint string, universe string, "
    "chunk_start date not null, chunk_end date not null, started_at timestamp not null, "
    "finished_at timestamp not null, error string, log_date date not null",
    partition_by=["log_date"],
    keys=["run_id", "table_name", "partition_date"],
    description=(
        "One row per table partition a backfill built (done) or failed to build: the fingerprint of the "
        "inputs it was built from, rows, timing. Resume skips partitions whose latest done row has the "
        "current input fingerprint. Written by featurelake.backfill.log."
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "pipeline log", "refresh": "per backfill chunk"},
    column_docs={
        "run_id": "The backfill run's id (12 random hex digits), one per featurelake backfill or "
        "daily_features silver/gold job.",
        "table_name": "The table built, e.g. gold.carrier_delay_7d.",
        "partition_date": "The partition (event_date) built.",
        "status": "done or failed.",
        "rows": "Rows in the partition after the build; null when it failed.",
        "input_fingerprint": "Digest of what the partition was built from: the job's version and suite, "
        "the files of every input partition it reads and, for the daily gold tables, the universe.",
        "universe": "Digest of the entity universe (every carrier or route in silver.flight_entities) "
        "for the daily gold tables; null for the others.",
        "chunk_start": "First day of the range built in the same write (the chunk).",
        "chunk_end": "Last day of the chunk, inclusive.",
        "started_at": "When the chunk's build started (UTC).",
        "finished_at": "When the chunk's build finished or failed (UTC).",
        "error": "The failure, one line; null when done.",
        "log_date": "UTC date of finished_at; the partition column.",
    },
    upstream=[
        "silver.flights",
        "silver.weather",
        "silver.bookings",
        "gold.carrier_delay_7d",
        "gold.route_delay_30d",
        "gold.origin_weather",
        "gold.flight_labels",
        "gold.plane",
        "gold.passenger_activity",
    ],
)

ALERTS = TableSpec.of(
    "ops.alerts",
    "alert_id string not null, raised_at timestamp not null, dag_id string not null, "
    "task_id string not null, run_id string, reason string not null, recipients string, "
    "emailed boolean not null, email_error string, alert_date date not null",
    partition_by=["alert_date"],
    keys=["alert_id"],
    description=(
        "One row per alert: a failed task of the monitor DAG (a breached threshold) with its one-line "
        "reason, and whether the e-mail to FEATURELAKE_ALERT_EMAIL went out. Written by "
        "featurelake.orchestration.alerts from Airflow's failure callback."
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "alerts", "refresh": "per failed check"},
    column_docs={
        "alert_id": "A random UUID.",
        "raised_at": "When the callback ran (UTC).",
        "dag_id": "The DAG of the failed task: monitor.",
        "task_id": "The failed task, e.g. check_drift.",
        "run_id": "The Airflow DAG run.",
        "reason": "The task's failure, one line: the breached table or feature, its value and the threshold.",
        "recipients": "The addresses the alert was sent to, comma-separated; null when none is configured.",
        "emailed": "Whether the SMTP server accepted the e-mail.",
        "email_error": "Why the e-mail was not sent, one line; null when it was.",
        "alert_date": "UTC date of raised_at; the partition column.",
    },
    upstream=[
        "ops.monitor_freshness",
        "ops.monitor_quality",
        "ops.monitor_drift",
        "ops.monitor_performance",
        "ops.monitor_skew",
    ],
)

AUDIT_LOG = TableSpec.of(
    "ops.audit_log",
    "audit_id string not null, occurred_at timestamp not null, actor string not null, role string, "
    "action string not null, target string, tables string, requests bigint not null, entities bigint, "
    "status string not null, "
    "detail string, audit_date date not null",
    partition_by=["audit_date"],
    keys=["audit_id"],
    description=(
        "Who did what, append-only (delta.appendOnly: no row is ever changed or deleted): every request "
        "the feature server answered (counted per caller, target and status every 10 seconds), every "
        "featurelake sql and spark-sql statement, and every forget, "
        "maintain, restore and token change. featurelake audit --since queries it."
    ),
    owner=_OWNER,
    tags={"domain": "operations", "contains": "audit trail", "refresh": "continuous"},
    column_docs={
        "audit_id": "A random UUID.",
        "occurred_at": "When it happened (UTC).",
        "actor": "Who: the OS user of a command, or the name of the feature server's bearer token "
        "(- for a request without a known token).",
        "role": "The policy role it ran as (policy.toml); null when none was established.",
        "action": "serve, sql, spark-sql, maintain, restore, forget, token-create or token-revoke.",
        "target": "What it acted on: the feature service (or feature views) of a request, the SQL "
        "statement (at most 2,000 characters, string literals recorded as '?'), the tables maintained "
        "or restored, the erasure id of a forget (never the person's identifiers).",
        "tables": "The tables a statement reads or changes, comma-separated.",
        "requests": "How many requests or commands the row stands for: 1 for a command; for the feature "
        "server, the requests answered alike (same caller, role, target, status and reason) within "
        "one write interval (10 seconds), occurred_at being the last of them.",
        "entities": "Entity rows of the requests the row stands for, summed; null for a command.",
        "status": "The HTTP status of a request; ok, refused or error for a command.",
        "detail": "Why it was refused or failed, one line; null when it went through.",
        "audit_date": "UTC date of occurred_at; the partition column.",
    },
    append_only=True,
)

ERASURE_LOG = TableSpec.of(
    "ops.erasure_log",
    "erasure_id string not null, requested_at timestamp not null, finished_at timestamp not null, "
    "actor string not null, lookup string not null, lookup_key string, subject_keys string, "
    "dataset string not null, "
    "landing_files bigint not null, landing_records bigint not null, bronze_rows bigint not null, "
    "quarantine_rows bigint not null, quarantine_ingest_rows bigint not null, silver_rows bigint not null, "
    "gold_rows bigint not null, online_entities bigint not null, shredded_keys bigint not null, "
    "vacuumed_files bigint not null, retention_override string not null, status string not null, "
    "detail string, erasure_date date not null",
    partition_by=["erasure_date"],
    keys=["erasure_id"],
    description=(
        "One row per featurelake forget: what was erased from each layer for one person, found by "
        "passenger id or e-mail, recorded by pseudonym only (the person's identifiers are what was erased)."
    ),
    owner=_OWNER,
    tags={"domain": "governance", "contains": "erasure record", "refresh": "per forget"},
    column_docs={
        "erasure_id": "A random UUID; the target of the forget's row in ops.audit_log.",
        "requested_at": "When the forget started (UTC).",
        "finished_at": "When its last step finished (UTC).",
        "actor": "The OS user who ran it.",
        "lookup": "How the person was named: passenger_id or email (the value itself is not kept).",
        "lookup_key": "HMAC of that passenger id or e-mail address under the pseudonym secret: a forget "
        "killed on the way is completed by the next forget of the same person, which finds its row.",
        "subject_keys": "The person's pseudonyms (silver.bookings.passenger_key), comma-separated: the "
        "keys the erasure removed from silver, gold and the online stores.",
        "dataset": "The dataset erased from: bookings.",
        "landing_files": "Landing files rewritten without the person's records (removed when unreadable).",
        "landing_records": "The person's records removed from those files.",
        "bronze_rows": "Rows deleted from bronze.bookings.",
        "quarantine_rows": "Rows deleted from quarantine.records (records, files and Kafka messages "
        "holding the person's identifiers).",
        "quarantine_ingest_rows": "Of those, the rows an ingest batch wrote (what ops.ingest_log counts; "
        "featurelake doctor reconciles with it).",
        "silver_rows": "Rows of silver.bookings removed by rebuilding their days from bronze.",
        "gold_rows": "Rows of gold.passenger_activity removed (the person's own: their aggregates are theirs "
        "alone); the days they fed are rebuilt.",
        "online_entities": "Entities removed from the online stores (SQLite and Redis together).",
        "shredded_keys": "Per-person encryption keys deleted from the key table: the person's Kafka "
        "messages can no longer be decrypted (crypto-shredding).",
        "vacuumed_files": "Data, change-data and log files removed physically by the erasure's VACUUM "
        "(retention 0 hours on the tables erased from).",
        "retention_override": "The retention the VACUUM ran with, and why it overrode Delta's 7-day guard.",
        "status": "erasing while it runs (and after a kill: the next forget of the person completes it), "
        "then done, or not_found when no layer held the person.",
        "detail": "JSON: per table, the Delta versions before and after (versions); the person's ids in "
        "the key table (shred).",
        "erasure_date": "UTC date of requested_at; the partition column.",
    },
    upstream=["bronze.bookings", "quarantine.records", "silver.bookings", "gold.passenger_activity"],
)
