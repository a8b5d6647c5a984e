"""One ingest micro-batch, on the driver: inspect, decode and check, write, log.

:class:`BatchProcessor` is the ``foreachBatch`` function of the streaming
query. For batch ``b`` of query ``q`` it runs three Spark jobs over the
batch's landed files:

1. inspect every file's framing and writer schema
   (:func:`featurelake.ingest.decode.inspect_files`): files that cannot be
   read are set aside whole, with their reason and bytes;
2. decode the others with Spark's Avro reader and evaluate every check of the
   suite as Spark expressions, grouped by file
   (:func:`featurelake.ingest.checked.check_files`): counts per check, the
   records that fail a ``quarantine`` check (with their JSON), and any file
   that decoded to fewer records than it holds (quarantined whole);
3. decode the files that decoded whole again (now a decoding error fails the
   batch, to be retried) and write the passing records to ``bronze.<dataset>``.

Then it writes, each as one native Delta commit carrying the transaction
``(q's app id, b)`` (Delta's idempotent writes: a batch replayed after a crash
writes nothing twice): first ``bronze.<dataset>`` (job 3); then, side by side,
``quarantine.records`` (failing records, and unreadable files whole),
``ops.validation_results`` and ``ops.ingest_files``; last ``ops.ingest_log``.
A failing ``fail`` check stops the batch after job 2, before the first write
(its results are recorded with outcome ``batch_failed``). Per batch, records
in = bronze rows + quarantined rows (a file quarantined whole counts once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.errors import ValidationFailedError
from featurelake.ingest._oplog import append_rows, look_up_ahead, side_by_side
from featurelake.ingest.checked import (
    JSON_TIMESTAMP_FORMAT,
    CheckedFiles,
    bronze_rows,
    check_files,
    flag,
    local_path,
)
from featurelake.ingest.contracts import Contract
from featurelake.ingest.decode import inspect_files, read_records
from featurelake.quality.checks import CheckResult
from featurelake.quality.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "JSON_TIMESTAMP_FORMAT",
    "BatchProcessor",
    "BatchReport",
    "crashpoint",
    "failure_message",
    "record_log",
    "record_results",
    "validation_rows",
]

CRASH_ENV = "FEATURELAKE_CRASH_AT"


def crashpoint(stage: str, batch_id: int) -> None:
    """Kill this process group with SIGKILL at ``stage`` when ``FEATURELAKE_CRASH_AT`` asks for it.

    For crash-safety tests only: ``FEATURELAKE_CRASH_AT=after_bronze@1`` dies right after
    batch 1's bronze commit, as a power cut would (the JVM goes down with the driver).
    """
    want = os.environ.get(CRASH_ENV)
    if want and want in (stage, f"{stage}@{batch_id}"):
        os.killpg(os.getpgid(0), signal.SIGKILL)


@dataclass
class BatchReport:
    """What one batch did (the ``ops.ingest_log`` row, plus the check results)."""

    batch_id: int
    files: int = 0
    files_quarantined: int = 0
    duplicate_files: int = 0
    records_in: int = 0
    bronze_rows: int = 0
    quarantined_rows: int = 0
    warned_rows: int = 0
    event_dates: list[dt.date] = field(default_factory=list)
    duration_s: float = 0.0
    results: list[CheckResult] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per step: inspect, decode_check (decode + every check), bronze, quarantine, ops."""
    written: bool = True
    """False when the batch's transaction was already committed (a replay after a crash)."""
    offsets: dict[str, dict[str, list[int]]] | None = None
    """Kafka: the first and last offset read per topic and partition (None for landed files)."""


@dataclass
class BatchProcessor:
    """Processes micro-batches of landed files for one dataset (driver side)."""

    contract: Contract
    reader: dict[str, Any]
    suite: Suite
    catalog: Catalog
    query_name: str
    app_id: str = ""
    """Transaction app id for every write; defaults to the query name."""
    listed_files: Callable[[int], list[tuple[str, int]]] | None = None
    """(path, modification ms) of every file in a batch; finds the empty files Spark's scan skips."""
    on_report: Callable[[BatchReport], None] | None = None
    """Called after each batch (e.g. to print it)."""
    reports: list[BatchReport] = field(default_factory=list)
    failure: ValidationFailedError | None = None

    def __call__(self, raw: DataFrame, batch_id: int) -> None:
        """``foreachBatch`` entry point."""
        self.process(raw, batch_id)

    def check(self, spark: SparkSession, files: list[dict[str, Any]]) -> CheckedFiles:
        """Job 2: decode and check inspected ``files`` (shared with quarantine replay)."""
        return check_files(spark, files, self.reader, self.suite, self.contract.event_time)

    def bronze(self, spark: SparkSession, paths: list[str], *, batch_id: Any, now: dt.datetime) -> DataFrame:
        """Job 3's input: the passing records of ``paths``, decoded again, in bronze's columns."""
        records = read_records(spark, paths, self.reader, self.contract.event_time, skip_corrupt=False)
        return bronze_rows(flag(records, self.suite), self.reader, batch_id=batch_id, now=now)

    def process(self, raw: DataFrame, batch_id: int) -> BatchReport:
        """Ingest one micro-batch exactly once.

        Raises:
            ValidationFailedError: a ``fail`` check failed; nothing was written to bronze or
                quarantine (the results are recorded in ``ops.validation_results``).
        """
        spark = raw.sparkSession
        started = dt.datetime.now(dt.UTC)
        clock = time.perf_counter()
        txn = (self.app_id or self.query_name, batch_id)
        phases: dict[str, float] = {}

        def lap(name: str) -> None:
            phases[name] = time.perf_counter() - clock - sum(phases.values())

        inspected = inspect_files(raw, self.reader)
        lap("inspect")
        checked, _ = side_by_side(
            spark,
            lambda: self.check(spark, inspected),
            lambda: look_up_ahead(spark, self.catalog, self.contract.bronze_table, txn),
        )
        lap("decode_check")
        values, results = checked.values, checked.results
        empty = self._empty_files(batch_id, {f["_source_file"] for f in checked.files})
        files = checked.files + empty
        report = BatchReport(batch_id, results=results, phases=phases)
        report.files = len(files)
        report.files_quarantined = sum(1 for f in files if f["_file_error"] is not None)
        records = int(values.get("_n") or 0)
        bad = int(values.get("_bad") or 0)
        report.quarantined_rows = bad + report.files_quarantined
        report.bronze_rows = records - bad
        report.records_in = records + report.files_quarantined
        report.warned_rows = int(values.get("_warned_n") or 0)
        report.event_dates = list(values.get("_dates") or [])
        failed = [r for r in results if r.severity == "fail" and not r.success]
        if failed:
            self._record_results(spark, results, batch_id, started, outcome="batch_failed", txn=None)
            self.failure = ValidationFailedError(failure_message(self.contract.dataset, batch_id, failed))
            raise self.failure
        if report.bronze_rows:
            rows = self.bronze(spark, checked.good, batch_id=batch_id, now=started)
            self.catalog.write(rows, self.contract.bronze_table, txn=txn)
        lap("bronze")
        crashpoint("after_bronze", batch_id)
        quarantined = self._quarantine_rows(checked, files, batch_id, started)

        def record_files() -> None:
            report.duplicate_files = self._record_files(spark, files, batch_id, started, txn)

        def record_checks() -> None:
            self._record_results(spark, results, batch_id, started, outcome="written", txn=txn)

        def record_quarantined() -> None:
            append_rows(spark, self.catalog, "quarantine.records", quarantined, txn=txn)

        commits: list[Callable[[], object]] = [
            record_files,
            record_checks,
            lambda: look_up_ahead(spark, self.catalog, "ops.ingest_log", txn),
        ]
        if quarantined:
            commits.append(record_quarantined)
        side_by_side(spark, *commits)
        lap("quarantine_ops")
        crashpoint("after_quarantine", batch_id)
        report.duration_s = time.perf_counter() - clock
        report.written = self._record_log(spark, report, started, txn)
        lap("log")
        crashpoint("after_log", batch_id)
        self.reports.append(report)
        if self.on_report is not None:
            self.on_report(report)
        return report

    def _quarantine_rows(
        self, checked: CheckedFiles, files: list[dict[str, Any]], batch_id: int, now: dt.datetime
    ) -> list[dict[str, Any]]:
        """``quarantine.records`` rows: the failing records, then every file that could not be read."""
        head = {
            "dataset": self.contract.dataset,
            "layer": "bronze",
            "batch_id": batch_id,
            "quarantined_at": now,
            "replayed_at": None,
            "replay_id": None,
            "quarantine_date": now.date(),
        }
        out = [{**head, **q, "payload": None, "detail": None} for q in checked.quarantined]
        for f in files:
            if f["_file_error"] is None:
                continue
            out.append(
                {
                    **head,
                    "source_file": f["_source_file"],
                    "record_index": None,
                    "event_id": None,
                    "record_json": None,
                    "payload": f.get("_payload") or b"",
                    "reasons": f["_file_error"],
                    "failed_expectations": None,
                    "detail": f["_file_detail"],
                }
            )
        return out

    def _empty_files(self, batch_id: int, seen: set[str]) -> list[dict[str, Any]]:
        """File rows for files of the batch that reached no task: Spark's scan skips empty files."""
        if self.listed_files is None:
            return []
        known = {local_path(p) for p in seen}
        out = []
        for path, mtime_ms in self.listed_files(batch_id):
            if local_path(path) in known:
                continue
            out.append(
                {
                    "_source_file": path,
                    "_file_size": 0,
                    "_file_mtime": dt.datetime.fromtimestamp(mtime_ms / 1000, dt.UTC),
                    "_file_sha256": hashlib.sha256(b"").hexdigest(),
                    "_file_records": None,
                    "_file_error": "empty_file",
                    "_file_detail": "the file has no bytes",
                    "_payload": b"",
                }
            )
        return out

    def _record_results(
        self,
        spark: SparkSession,
        results: list[CheckResult],
        batch_id: int,
        now: dt.datetime,
        *,
        outcome: str,
        txn: tuple[str, int] | None,
    ) -> None:
        record_results(
            spark,
            self.catalog,
            self.contract,
            self.suite,
            self.query_name,
            results,
            batch_id,
            now,
            outcome,
            txn,
        )

    def _record_files(
        self,
        spark: SparkSession,
        files: list[dict[str, Any]],
        batch_id: int,
        now: dt.datetime,
        txn: tuple[str, int],
    ) -> int:
        seen = self._known_hashes(spark, batch_id, {f["_file_sha256"] for f in files if f["_file_size"]})
        rows = []
        duplicates = 0
        for f in sorted(files, key=lambda f: f["_source_file"]):
            sha = f["_file_sha256"]
            dup = seen.get(sha) if f["_file_size"] else None
            if dup is not None:
                duplicates += 1
            elif f["_file_size"]:
                seen[sha] = f["_source_file"]
            rows.append(
                {
                    "dataset": self.contract.dataset,
                    "query_name": self.query_name,
                    "batch_id": batch_id,
                    "path": f["_source_file"],
                    "size_bytes": f["_file_size"],
                    "modified_at": f["_file_mtime"],
                    "sha256": sha,
                    "records": f["_file_records"] if f["_file_error"] is None else None,
                    "status": f["_file_error"] or "ok",
                    "detail": f["_file_detail"],
                    "duplicate_of": dup,
                    "ingested_at": now,
                }
            )
        append_rows(spark, self.catalog, "ops.ingest_files", rows, txn=txn)
        return duplicates

    def _known_hashes(self, spark: SparkSession, batch_id: int, hashes: set[str]) -> dict[str, str]:
        """Content hash -> first path, over earlier files of this dataset with one of ``hashes``."""
        if not hashes or not self.catalog.exists("ops.ingest_files"):
            return {}
        from pyspark.sql import functions as F

        same = (F.col("query_name") == self.query_name) & (F.col("batch_id") == batch_id)
        rows = (
            self.catalog.read(spark, "ops.ingest_files")
            .where(
                (F.col("dataset") == self.contract.dataset)
                & ~same
                & (F.col("size_bytes") > 0)
                & F.col("sha256").isin(sorted(hashes))
            )
            .select("batch_id", "path", "sha256")
            .collect()
        )
        out: dict[str, str] = {}
        for r in sorted(rows, key=lambda r: (r["batch_id"], r["path"])):
            out.setdefault(r["sha256"], r["path"])
        return out

    def _record_log(
        self, spark: SparkSession, report: BatchReport, started: dt.datetime, txn: tuple[str, int]
    ) -> bool:
        return record_log(spark, self.catalog, self.contract, self.query_name, report, started, txn)


def record_results(
    spark: SparkSession,
    catalog: Catalog,
    contract: Contract,
    suite: Suite,
    query_name: str,
    results: list[CheckResult],
    batch_id: int,
    now: dt.datetime,
    outcome: str,
    txn: tuple[str, int] | None,
) -> None:
    """Append a batch's check results to ``ops.validation_results`` (``outcome``: written | batch_failed)."""
    rows = validation_rows(results, contract.dataset, suite.name, query_name, batch_id, outcome, now)
    append_rows(spark, catalog, "ops.validation_results", rows, txn=txn)


def validation_rows(
    results: list[CheckResult],
    dataset: str,
    suite: str,
    run: str,
    batch_id: int,
    outcome: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """``ops.validation_results`` rows: one per check of a run's batch."""
    return [
        {
            "dataset": dataset,
            "suite": suite,
            "run": run,
            "batch_id": batch_id,
            "expectation": r.check.name,
            "expectation_type": r.check.type,
            "column_name": r.check.column,
            "severity": r.severity,
            "success": r.success,
            "element_count": r.element_count,
            "unexpected_count": r.unexpected_count,
            "unexpected_percent": r.unexpected_percent,
            "outcome": outcome,
            "validated_at": now,
        }
        for r in results
    ]


def record_log(
    spark: SparkSession,
    catalog: Catalog,
    contract: Contract,
    query_name: str,
    report: BatchReport,
    started: dt.datetime,
    txn: tuple[str, int],
) -> bool:
    """Append the batch's ``ops.ingest_log`` row, last of its writes; False when already there."""
    import json

    dates = sorted(report.event_dates)
    row = {
        "dataset": contract.dataset,
        "query_name": query_name,
        "batch_id": report.batch_id,
        "started_at": started,
        "finished_at": dt.datetime.now(dt.UTC),
        "duration_s": report.duration_s,
        "files": report.files,
        "files_quarantined": report.files_quarantined,
        "duplicate_files": report.duplicate_files,
        "records_in": report.records_in,
        "bronze_rows": report.bronze_rows,
        "quarantined_rows": report.quarantined_rows,
        "warned_rows": report.warned_rows,
        "min_event_date": dates[0] if dates else None,
        "max_event_date": dates[-1] if dates else None,
        "event_dates": ",".join(d.isoformat() for d in dates) or None,
        "source": "landing" if report.offsets is None else "kafka",
        "offsets": None if report.offsets is None else json.dumps(report.offsets, sort_keys=True),
    }
    return append_rows(spark, catalog, "ops.ingest_log", [row], txn=txn)


def failure_message(dataset: str, batch_id: int, failed: list[CheckResult]) -> str:
    """The one-line error of a batch a ``fail`` check stopped."""
    parts = [f"{r.check.name} ({r.unexpected_count} of {r.element_count} records unexpected)" for r in failed]
    return (
        f"{dataset} batch {batch_id} stopped by fail-severity expectation "
        f"{'; '.join(parts)}: nothing was written to bronze or quarantine; fix the data or the suite "
        "and run the ingest again (the same files are retried)"
    )
