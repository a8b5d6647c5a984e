"""Ops: what the pipeline did, one row per batch, file or check, queryable like any table.

Small tables written from the driver; unpartitioned because a whole year of
batches is a few thousand rows (``featurelake maintain`` compacts them).
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["INGEST_FILES", "INGEST_LOG", "OPS_BACKFILL_LOG", "VALIDATION_RESULTS"]

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
        "Each expectation's result on each batch (run = the ingest query or a quarantine replay); "
        "outcome is 'written', or 'batch_failed' when a fail-severity check stopped the batch."
    ),
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
)
