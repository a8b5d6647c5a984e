"""One ingest micro-batch, on the driver: decode, check, split, write, log.

:class:`BatchProcessor` is the ``foreachBatch`` function of the streaming
query (and is called directly by quarantine replay). For batch ``b`` of query
``q`` it writes, each as one Delta commit carrying the transaction
``(q's app id, b)`` so that a batch replayed after a crash writes nothing
twice, in this order: ``bronze.<dataset>`` (rows that pass every
``quarantine`` check), ``quarantine.records`` (rows that fail one, and files
that could not be read, whole), ``ops.validation_results``,
``ops.ingest_files`` and last ``ops.ingest_log``. A failing ``fail`` check
stops the batch before the first write.

Two paths give the same rows. The direct path (the default) decodes, checks
and writes bronze's Parquet files in the same executor task
(:mod:`featurelake.ingest.bronze_task`), so records never cross into the JVM;
only quarantined records, per-file counts and the written files' list come
back, and the files are committed in the batch's transaction, or deleted when
the batch stops. The Spark path decodes into Spark rows, checks with Spark
expressions and writes bronze through ``format("delta")``; it runs where the
suite has a check Arrow cannot evaluate exactly as Spark does (a regular
expression, SQL outside :mod:`featurelake.quality._sql`'s subset), where
native Delta owns ``format("delta")``, and for quarantine replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from featurelake.catalog import Catalog
from featurelake.errors import ValidationFailedError
from featurelake.ingest._oplog import append_rows
from featurelake.ingest.contracts import Contract
from featurelake.ingest.decode import FILE_ROW, RECORD_ROW, Decoder, decoded_ddl, record_columns
from featurelake.quality.checks import CheckResult, aggregates, flag_columns, results_from_row
from featurelake.quality.suites import Suite

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

__all__ = ["JSON_TIMESTAMP_FORMAT", "BatchProcessor", "BatchReport", "crashpoint"]

JSON_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
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
    """Seconds per step: decode_check (decode + one pass of every check), bronze, quarantine, ops."""
    written: bool = True
    """False when the batch's transaction was already committed (a replay after a crash)."""
    path: Literal["direct", "spark"] = "spark"
    """How the batch was decoded and checked: in the bronze-writing tasks, or by Spark."""


FILE_COLUMNS = [
    "_source_file",
    "_file_size",
    "_file_mtime",
    "_file_sha256",
    "_file_records",
    "_file_error",
    "_file_detail",
]


@dataclass
class _Staged:
    """A decoded and checked batch, before anything is committed (driver side)."""

    path: Literal["direct", "spark"]
    values: dict[str, Any]
    """``_n`` records, ``_bad`` quarantined, ``_warned_n`` warned, ``_dates`` reaching bronze."""
    results: list[CheckResult]
    files: list[dict[str, Any]]
    """One dict of :data:`FILE_COLUMNS` per file the tasks read."""
    write_bronze: Callable[[], None]
    """Commits the bronze rows in the batch's transaction."""
    write_quarantine: Callable[[list[dict[str, Any]]], None]
    """Appends the quarantined records, the unreadable files and the given empty files (file rows)
    to ``quarantine.records`` in the batch's transaction."""
    release: Callable[[bool], None]
    """Frees what the batch holds; given False (bronze not committed), deletes what it wrote."""


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
    direct: bool = True
    """Decode, check and write bronze in one executor task where the suite evaluates on Arrow
    exactly as on Spark (and ``delta`` is the project's source); False: always the Spark path."""

    def __call__(self, raw: DataFrame, batch_id: int) -> None:
        """``foreachBatch`` entry point."""
        self.process(raw, batch_id)

    # -- building blocks, shared with quarantine replay --------------------------------------------

    def decode(self, raw: DataFrame) -> DataFrame:
        """Landed files (``path, modificationTime, length, content``) -> records and file rows."""
        return raw.mapInArrow(Decoder(self.reader, self.contract.event_time), decoded_ddl(self.reader))

    def flag(self, records: DataFrame) -> DataFrame:
        """Records with the check flags ``_x<i>``, ``_reasons`` (quarantine checks failed) and ``_warned``.

        Callers persist the result before filtering it: a filter on ``_reasons`` over the plain
        projection sends Spark's constraint propagation through every check's expression
        combination (minutes of planning with the flights suite); over a cached relation it is a leaf.
        """
        return self.with_reasons(records.select("*", *flag_columns(self.suite)))

    def with_reasons(self, flagged: DataFrame) -> DataFrame:
        """Rows carrying the check flags ``_x<i>``, plus ``_reasons`` and ``_warned`` built from them."""
        from pyspark.sql import functions as F

        checks = self.suite.checks
        reasons = F.concat_ws(
            ",",
            *[
                F.when(F.col(f"_x{i}"), F.lit(c.name))
                for i, c in enumerate(checks)
                if c.severity == "quarantine"
            ],
        )
        warned: Column = F.lit(False)
        for i, c in enumerate(checks):
            if c.severity == "warn":
                warned = warned | F.col(f"_x{i}")
        return flagged.select("*", reasons.alias("_reasons"), warned.alias("_warned"))

    def bronze_rows(self, flagged: DataFrame, batch_id: int, now: dt.datetime) -> DataFrame:
        """The rows of ``flagged`` that go to bronze, in bronze's columns."""
        from pyspark.sql import functions as F

        cols = [F.col(f"`{c}`") for c in record_columns(self.reader)]
        return flagged.where(F.col("_reasons") == "").select(
            *cols,
            "event_date",
            F.col("_source_file"),
            F.lit(now).cast("timestamp").alias("_ingested_at"),
            F.lit(batch_id).cast("bigint").alias("_batch_id"),
        )

    def quarantined_records(self, flagged: DataFrame, batch_id: int, now: dt.datetime) -> DataFrame:
        """The rows of ``flagged`` that go to quarantine, in quarantine's columns."""
        from pyspark.sql import functions as F

        record = F.struct(*[F.col(f"`{c}`") for c in record_columns(self.reader)])
        # Built for quarantined rows only: a JSON array per row costs real time over a whole batch.
        failed = F.filter(
            F.array(*[F.when(F.col(f"_x{i}"), F.lit(c.name)) for i, c in enumerate(self.suite.checks)]),
            lambda x: x.isNotNull(),
        )
        return flagged.where(F.col("_reasons") != "").select(
            *self._quarantine_head(batch_id, now),
            F.col("_record_index").alias("record_index"),
            F.col("event_id").cast("string").alias("event_id"),
            F.to_json(record, {"timestampFormat": JSON_TIMESTAMP_FORMAT}).alias("record_json"),
            F.lit(None).cast("binary").alias("payload"),
            F.col("_reasons").alias("reasons"),
            F.to_json(failed).alias("failed_expectations"),
            F.lit(None).cast("string").alias("detail"),
        )

    def quarantined_files(self, decoded: DataFrame, batch_id: int, now: dt.datetime) -> DataFrame:
        """Files that could not be read, whole, in quarantine's columns."""
        from pyspark.sql import functions as F

        return decoded.where((F.col("_kind") == FILE_ROW) & F.col("_file_error").isNotNull()).select(
            *self._quarantine_head(batch_id, now),
            F.lit(None).cast("int").alias("record_index"),
            F.lit(None).cast("string").alias("event_id"),
            F.lit(None).cast("string").alias("record_json"),
            F.col("_payload").alias("payload"),
            F.col("_file_error").alias("reasons"),
            F.lit(None).cast("string").alias("failed_expectations"),
            F.col("_file_detail").alias("detail"),
        )

    def _quarantine_head(self, batch_id: int, now: dt.datetime) -> list[Column]:
        from pyspark.sql import functions as F

        return [
            F.lit(self.contract.dataset).alias("dataset"),
            F.lit("bronze").alias("layer"),
            F.col("_source_file").alias("source_file"),
            F.lit(batch_id).cast("bigint").alias("batch_id"),
            F.lit(now).cast("timestamp").alias("quarantined_at"),
            F.lit(None).cast("timestamp").alias("replayed_at"),
            F.lit(None).cast("bigint").alias("replay_id"),
            F.lit(now.date()).alias("quarantine_date"),
        ]

    def summarize(self, flagged: DataFrame) -> tuple[dict[str, Any], list[CheckResult]]:
        """One Spark job: per-check counts, rows quarantined and warned, event dates that reach bronze."""
        from pyspark.sql import functions as F

        bad = F.col("_reasons") != ""
        row = flagged.agg(
            *aggregates(self.suite),
            F.sum(bad.cast("long")).alias("_bad"),
            F.sum(F.col("_warned").cast("long")).alias("_warned_n"),
            F.array_sort(F.collect_set(F.when(~bad, F.col("event_date")))).alias("_dates"),
        ).first()
        values = row.asDict() if row is not None else {}
        return values, results_from_row(self.suite, values)

    # -- the batch ----------------------------------------------------------------------------------

    def process(self, raw: DataFrame, batch_id: int) -> BatchReport:
        """Ingest one micro-batch exactly once.

        Raises:
            ValidationFailedError: a ``fail`` check failed; nothing was written to bronze or
                quarantine (the results are recorded in ``ops.validation_results``).
        """
        started = dt.datetime.now(dt.UTC)
        clock = time.perf_counter()
        txn = (self.app_id or self.query_name, batch_id)
        stage = self._stage_direct if self._use_direct(raw) else self._stage_spark
        staged = stage(raw, batch_id, started, txn)
        bronze_done = False
        try:
            values, results = staged.values, staged.results
            phases = {"decode_check": time.perf_counter() - clock}
            empty = self._empty_files(batch_id, {f["_source_file"] for f in staged.files})
            files = staged.files + empty
            report = BatchReport(batch_id, results=results, phases=phases, path=staged.path)
            report.files = len(files)
            report.files_quarantined = sum(1 for f in files if f["_file_error"] is not None)
            records = int(values.get("_n") or 0)
            report.quarantined_rows = int(values.get("_bad") or 0) + report.files_quarantined
            report.bronze_rows = records - int(values.get("_bad") or 0)
            report.records_in = records + report.files_quarantined
            report.warned_rows = int(values.get("_warned_n") or 0)
            report.event_dates = list(values.get("_dates") or [])
            failed = [r for r in results if r.severity == "fail" and not r.success]
            if failed:
                self._record_results(results, batch_id, started, outcome="batch_failed", txn=None)
                self.failure = ValidationFailedError(
                    _failure_message(self.contract.dataset, batch_id, failed)
                )
                raise self.failure
            if report.bronze_rows:
                staged.write_bronze()
            bronze_done = True
            phases["bronze"] = time.perf_counter() - clock - sum(phases.values())
            crashpoint("after_bronze", batch_id)
            if report.quarantined_rows:
                staged.write_quarantine(empty)
            phases["quarantine"] = time.perf_counter() - clock - sum(phases.values())
            crashpoint("after_quarantine", batch_id)
            self._record_results(results, batch_id, started, outcome="written", txn=txn)
            report.duplicate_files = self._record_files(files, batch_id, started, txn)
            report.duration_s = time.perf_counter() - clock
            report.written = self._record_log(report, started, txn)
            phases["ops"] = time.perf_counter() - clock - sum(phases.values())
            crashpoint("after_log", batch_id)
        finally:
            staged.release(bronze_done)
        self.reports.append(report)
        if self.on_report is not None:
            self.on_report(report)
        return report

    def _use_direct(self, raw: DataFrame) -> bool:
        """Whether this batch can take the direct path with results identical to the Spark path."""
        if not self.direct:
            return False
        from featurelake.ingest.bronze_task import checked_schema
        from featurelake.quality.arrow_checks import Unsupported, compile_suite
        from featurelake.spark import delta_provider

        # Native Delta owns format("delta") where its JARs are: bronze is then written by it.
        if delta_provider(raw.sparkSession) == "native":
            return False
        try:
            compile_suite(self.suite, checked_schema(self.reader))
        except Unsupported:
            return False
        return True

    def _stage_spark(
        self, raw: DataFrame, batch_id: int, started: dt.datetime, txn: tuple[str, int]
    ) -> _Staged:
        """Decode and check with Spark: records cross into the JVM, bronze goes through format("delta")."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        # One cache holds the whole batch: records and file rows, flagged. The flags of file rows
        # are meaningless and never read; every consumer filters on _kind over the cached relation.
        decoded = self.flag(self.decode(raw)).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            flagged = decoded.where(F.col("_kind") == RECORD_ROW)
            values, results = self.summarize(flagged)
            files = [
                r.asDict() for r in decoded.where(F.col("_kind") == FILE_ROW).select(*FILE_COLUMNS).collect()
            ]
        except BaseException:
            decoded.unpersist()
            raise
        return _Staged(
            "spark",
            values,
            results,
            files,
            write_bronze=lambda: self.catalog.write(
                self.bronze_rows(flagged, batch_id, started), self.contract.bronze_table, txn=txn
            ),
            write_quarantine=lambda empty: self._write_quarantine_spark(
                self.quarantined_records(flagged, batch_id, started).unionByName(
                    self.quarantined_files(decoded, batch_id, started)
                ),
                empty,
                batch_id,
                started,
                txn,
            ),
            release=lambda _committed: _unpersist(decoded),
        )

    def _stage_direct(
        self, raw: DataFrame, batch_id: int, started: dt.datetime, txn: tuple[str, int]
    ) -> _Staged:
        """Decode, check and write bronze files in the tasks (:mod:`featurelake.ingest.bronze_task`).

        Only quarantined records, file rows and the written files' list come back. The files
        are committed by ``write_bronze`` in the batch's transaction, or deleted by ``release``
        when the batch stops before that.
        """
        import pyarrow.compute as pc

        from featurelake.delta.writer import DeltaCommitMessage, DeltaWriter, WriteOptions, plan_write
        from featurelake.ingest.bronze_task import TASK_ROW, BronzeTask, data_files

        bronze = self.contract.bronze_table
        options = WriteOptions(path=self.catalog.ensure(bronze), txn_app_id=txn[0], txn_version=txn[1])
        writer = DeltaWriter(plan_write(options, self.catalog.spec(bronze).schema, overwrite=False))
        task = BronzeTask(
            self.reader, self.contract.event_time, self.suite, writer, batch_id=batch_id, ingested_at=started
        )
        try:
            # One action whose result is kept: the tasks write files, so they must run once.
            out = raw.mapInArrow(task, task.ddl()).toArrow()
            kind = out.column("_kind")
            listed = out.filter(pc.equal(kind, TASK_ROW))["_bronze_files"].to_pylist()
            messages = [DeltaCommitMessage(data_files(listed))]
            file_rows = out.filter(pc.equal(kind, FILE_ROW))
            values, results = _summary(self.suite, file_rows["_counts"].to_pylist())
            files = file_rows.select(FILE_COLUMNS).to_pylist()
            bad = out.filter(pc.or_(pc.equal(kind, RECORD_ROW), pc.is_valid(out["_file_error"])))
            bad = bad.drop_columns(["_counts", "_bronze_files"])
        except BaseException:
            writer.abort([])  # deletes every file this job's tasks wrote (their names carry its id)
            raise

        def write_quarantine(empty: list[dict[str, Any]]) -> None:
            from pyspark.sql import functions as F

            rows = self._quarantine_arrow(bad, batch_id, started)
            if rows is not None:
                rows += self._empty_file_quarantine(empty, batch_id, started)
                append_rows(self.catalog, "quarantine.records", rows, txn=txn)
                return
            # A record column whose JSON only Spark writes exactly: let Spark write them all.
            flagged = self.with_reasons(raw.sparkSession.createDataFrame(bad))
            records = self.quarantined_records(flagged.where(F.col("_kind") == RECORD_ROW), batch_id, started)
            quarantine = records.unionByName(self.quarantined_files(flagged, batch_id, started))
            self._write_quarantine_spark(quarantine, empty, batch_id, started, txn)

        return _Staged(
            "direct",
            values,
            results,
            files,
            write_bronze=lambda: writer.commit(list(messages)),
            write_quarantine=write_quarantine,
            release=lambda committed: None if committed else writer.abort(list(messages)),
        )

    def _quarantine_arrow(
        self, bad: pa.Table, batch_id: int, now: dt.datetime
    ) -> list[dict[str, Any]] | None:
        """Quarantine rows of the direct path's bad records and files, as the Spark path writes them.

        Returns None when a record column's JSON text is one only Spark's ``to_json`` writes exactly
        (see :mod:`featurelake.ingest.record_json`).
        """
        import pyarrow.compute as pc

        from featurelake.ingest.record_json import exact, json_string, record_json

        columns = record_columns(self.reader)
        if not all(exact(bad.schema.field(c).type) for c in columns):
            return None
        checks = self.suite.checks
        is_record = pc.equal(bad["_kind"], RECORD_ROW)
        records = bad.filter(is_record)
        try:
            texts = record_json(records, columns)
        except (OverflowError, ValueError):  # a timestamp or date outside years 1-9999
            return None
        flags = [records[f"_x{i}"].to_pylist() for i in range(len(checks))]
        head = {
            "dataset": self.contract.dataset,
            "layer": "bronze",
            "batch_id": batch_id,
            "quarantined_at": now,
            "replayed_at": None,
            "replay_id": None,
            "quarantine_date": now.date(),
        }
        out: list[dict[str, Any]] = []
        meta = zip(
            records["_source_file"].to_pylist(),
            records["_record_index"].to_pylist(),
            records["event_id"].to_pylist(),
            texts,
            zip(*flags, strict=True) if flags else ([] for _ in texts),
            strict=True,
        )
        for source, index, event_id, text, failed in meta:
            names = [c.name for c, x in zip(checks, failed, strict=True) if x]
            reasons = [
                c.name for c, x in zip(checks, failed, strict=True) if x and c.severity == "quarantine"
            ]
            out.append(
                {
                    **head,
                    "source_file": source,
                    "record_index": index,
                    "event_id": event_id,
                    "record_json": text,
                    "payload": None,
                    "reasons": ",".join(reasons),
                    "failed_expectations": "[" + ",".join(json_string(n) for n in names) + "]",
                    "detail": None,
                }
            )
        unread = bad.filter(pc.invert(is_record)).select(
            ["_source_file", "_payload", "_file_error", "_file_detail"]
        )
        for f in unread.to_pylist():
            out.append(
                {
                    **head,
                    "source_file": f["_source_file"],
                    "record_index": None,
                    "event_id": None,
                    "record_json": None,
                    "payload": f["_payload"],
                    "reasons": f["_file_error"],
                    "failed_expectations": None,
                    "detail": f["_file_detail"],
                }
            )
        return out

    def _write_quarantine_spark(
        self,
        quarantine: DataFrame,
        empty: list[dict[str, Any]],
        batch_id: int,
        now: dt.datetime,
        txn: tuple[str, int],
    ) -> None:
        if empty:
            rows = self._empty_file_quarantine(empty, batch_id, now)
            ddl = self.catalog.spec("quarantine.records").schema.to_spark_ddl().replace(" NOT NULL", "")
            quarantine = quarantine.unionByName(quarantine.sparkSession.createDataFrame(rows, ddl))
        self.catalog.write(quarantine, "quarantine.records", txn=txn)

    def _empty_files(self, batch_id: int, seen: set[str]) -> list[dict[str, Any]]:
        """File rows for files of the batch that reached no task: Spark's scan skips empty files."""
        if self.listed_files is None:
            return []
        known = {_local(p) for p in seen}
        out = []
        for path, mtime_ms in self.listed_files(batch_id):
            if _local(path) in known:
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
                }
            )
        return out

    def _empty_file_quarantine(
        self, empty: list[dict[str, Any]], batch_id: int, now: dt.datetime
    ) -> list[dict[str, Any]]:
        """Quarantine rows of the empty files Spark's scan skipped."""
        return [
            {
                "dataset": self.contract.dataset,
                "layer": "bronze",
                "source_file": f["_source_file"],
                "batch_id": batch_id,
                "record_index": None,
                "event_id": None,
                "record_json": None,
                "payload": b"",
                "reasons": "empty_file",
                "failed_expectations": None,
                "detail": f["_file_detail"],
                "quarantined_at": now,
                "replayed_at": None,
                "replay_id": None,
                "quarantine_date": now.date(),
            }
            for f in empty
        ]

    def _record_results(
        self,
        results: list[CheckResult],
        batch_id: int,
        now: dt.datetime,
        *,
        outcome: str,
        txn: tuple[str, int] | None,
    ) -> None:
        rows = [
            {
                "dataset": self.contract.dataset,
                "suite": self.suite.name,
                "run": self.query_name,
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
        append_rows(self.catalog, "ops.validation_results", rows, txn=txn and (f"{txn[0]}", txn[1]))

    def _record_files(
        self, files: list[dict[str, Any]], batch_id: int, now: dt.datetime, txn: tuple[str, int]
    ) -> int:
        seen = self._known_hashes(batch_id)
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
                    "records": f["_file_records"],
                    "status": f["_file_error"] or "ok",
                    "detail": f["_file_detail"],
                    "duplicate_of": dup,
                    "ingested_at": now,
                }
            )
        append_rows(self.catalog, "ops.ingest_files", rows, txn=txn)
        return duplicates

    def _known_hashes(self, batch_id: int) -> dict[str, str]:
        """Content hash -> first path, over files this dataset ingested in earlier batches."""
        if not self.catalog.exists("ops.ingest_files"):
            return {}
        import pyarrow.compute as pc
        from deltalake import DeltaTable

        t = DeltaTable(self.catalog.path("ops.ingest_files")).to_pyarrow_table(
            columns=["dataset", "query_name", "batch_id", "path", "sha256", "size_bytes"]
        )
        same = pc.and_(pc.equal(t["query_name"], self.query_name), pc.equal(t["batch_id"], batch_id))
        keep = pc.and_(
            pc.and_(pc.equal(t["dataset"], self.contract.dataset), pc.invert(same)),
            pc.greater(t["size_bytes"], 0),
        )
        t = t.filter(keep).sort_by([("batch_id", "ascending"), ("path", "ascending")])
        out: dict[str, str] = {}
        for sha, path in zip(t["sha256"].to_pylist(), t["path"].to_pylist(), strict=True):
            out.setdefault(sha, path)
        return out

    def _record_log(self, report: BatchReport, started: dt.datetime, txn: tuple[str, int]) -> bool:
        dates = sorted(report.event_dates)
        row = {
            "dataset": self.contract.dataset,
            "query_name": self.query_name,
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
        }
        return append_rows(self.catalog, "ops.ingest_log", [row], txn=txn)


def _summary(suite: Suite, file_counts: list[str | None]) -> tuple[dict[str, Any], list[CheckResult]]:
    """What :meth:`BatchProcessor.summarize` computes, from the per-file counts of the direct path."""
    counts = [json.loads(c) for c in file_counts if c is not None]
    n = sum(c["n"] for c in counts)
    results = [
        CheckResult(
            check,
            n,
            sum(c["unexpected"][i] for c in counts),
            sum(c["denominators"][i] for c in counts),
        )
        for i, check in enumerate(suite.checks)
    ]
    epoch = dt.date(1970, 1, 1)
    values = {
        "_n": n,
        "_bad": sum(c["bad"] for c in counts),
        "_warned_n": sum(c["warned"] for c in counts),
        "_dates": sorted({epoch + dt.timedelta(days=d) for c in counts for d in c["dates"]}),
    }
    return values, results


def _unpersist(df: DataFrame) -> None:
    df.unpersist()


def _local(path: str) -> str:
    """A file URI or path as a plain path, so Spark's spellings (file:/x, file:///x) compare equal."""
    return urlparse(path).path if "://" in path or path.startswith("file:") else path


def _failure_message(dataset: str, batch_id: int, failed: list[CheckResult]) -> str:
    parts = [f"{r.check.name} ({r.unexpected_count} of {r.element_count} records unexpected)" for r in failed]
    return (
        f"{dataset} batch {batch_id} stopped by fail-severity expectation "
        f"{'; '.join(parts)}: nothing was written to bronze or quarantine; fix the data or the suite "
        "and run the ingest again (the same files are retried)"
    )
