"""Working with ``quarantine.records``: summaries, and replaying records after a fix, exactly once.

A replay takes the pending rows (``replayed_at`` null) of one dataset and
reason, runs them through the current schema and suite again, and moves the
ones that now pass to bronze. Files quarantined whole are written back from
their bytes to a scratch folder under the lake and go through the ingest's
own inspection and Spark Avro decoding (:mod:`featurelake.ingest.checked`);
their records that still fail become ordinary pending record rows. Exactly
once, across crashes, in two commits that share the transaction ``(replay:<dataset>, N)``:

1. ``quarantine.records``: the affected partitions are rewritten with the
   passing rows marked ``replayed_at``/``replay_id = N`` (plus new rows for
   still-failing records of re-decoded files);
2. ``bronze.<dataset>``: the rows marked ``replay_id = N``.

A replay that died between the two finishes step 2 first the next time it
runs, from the marks step 1 left. Runs on the driver.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.ingest._oplog import append_rows, rows_frame, txn_version
from featurelake.ingest.batch import BatchProcessor
from featurelake.ingest.checked import JSON_TIMESTAMP_FORMAT, bronze_rows, flag
from featurelake.ingest.contracts import contract
from featurelake.ingest.decode import inspect_one, record_columns, record_ddl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["QuarantineSummary", "ReplayResult", "replay_quarantine", "summarize_quarantine"]

QUARANTINE = "quarantine.records"


@dataclass
class QuarantineSummary:
    """Counts of quarantined rows by dataset and reason, and a few samples of each."""

    counts: list[tuple[str, str, int, int]] = field(default_factory=list)
    """(dataset, reason, pending rows, replayed rows), most pending first."""
    samples: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def summarize_quarantine(
    *,
    dataset: str | None = None,
    reason: str | None = None,
    samples: int = 3,
    settings: Settings | None = None,
) -> QuarantineSummary:
    """Summarize ``quarantine.records`` (read with delta-rs; no Spark needed)."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    catalog = Catalog(settings=settings or get_settings())
    out = QuarantineSummary()
    if not catalog.exists(QUARANTINE):
        return out
    cols = ["dataset", "source_file", "batch_id", "record_index", "event_id", "record_json", "reasons"]
    cols += ["detail", "quarantined_at", "replayed_at"]
    t = DeltaTable(catalog.path(QUARANTINE)).to_pyarrow_table(columns=cols)
    if dataset is not None:
        t = t.filter(pc.equal(t["dataset"], dataset))
    counts: Counter[tuple[str, str, bool]] = Counter()
    picked: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in t.to_pylist():
        for r in str(row["reasons"]).split(","):
            if reason is not None and r != reason:
                continue
            key = (row["dataset"], r)
            counts[(row["dataset"], r, row["replayed_at"] is not None)] += 1
            bucket = picked.setdefault(key, [])
            if len(bucket) < samples and row["replayed_at"] is None:
                sample = dict(row)
                if sample["record_json"] and len(sample["record_json"]) > 300:
                    sample["record_json"] = (
                        sample["record_json"][:300] + f"... ({len(row['record_json'])} chars)"
                    )
                bucket.append(sample)
    keys = sorted({(d, r) for d, r, _ in counts}, key=lambda k: (-counts[(*k, False)], k))
    out.counts = [(d, r, counts[(d, r, False)], counts[(d, r, True)]) for d, r in keys]
    out.samples = picked
    return out


@dataclass
class ReplayResult:
    """What one replay did."""

    dataset: str
    reason: str
    replay_id: int
    candidates: int = 0
    """Pending quarantine rows with the reason (records, and files counted once)."""
    replayed: int = 0
    """Quarantine rows marked replayed."""
    bronze_rows: int = 0
    still_quarantined: int = 0
    records_in: int = 0
    """Records examined: record rows, records of files that now decode, files that still do not."""
    event_dates: list[dt.date] = field(default_factory=list)
    """Event dates of the rows that reached bronze (partitions downstream must refresh)."""
    recovered: bool = False
    """A previous replay that died half-way was finished first."""


def _app(dataset: str) -> str:
    return f"replay:{dataset}"


def replay_quarantine(
    dataset: str,
    reason: str,
    *,
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    expectations: str | Path | None = None,
    schemas: str | Path | None = None,
) -> ReplayResult:
    """Re-ingest the pending quarantined rows of ``dataset`` with ``reason``, exactly once.

    Raises:
        ValueError: an unknown dataset or an empty reason.
        CommitConflictError: an ingest wrote to the same quarantine partitions meanwhile; run again.
    """
    from pyspark.sql import functions as F

    from featurelake.quality.suites import load_suite
    from featurelake.spark import get_spark

    c = contract(dataset)
    if not reason:
        raise ValueError("give the reason to replay, e.g. --reason origin_in_nyc")
    settings = settings or get_settings()
    spark = spark or get_spark("featurelake-replay", settings=settings)
    catalog = Catalog(settings=settings)
    qpath, bpath = catalog.ensure(QUARANTINE, spark), catalog.ensure(c.bronze_table, spark)
    app = _app(dataset)
    proc = BatchProcessor(
        c,
        load_schema(dataset, schemas),
        load_suite(c.suite, expectations, settings=settings),
        catalog,
        f"replay_{dataset}",
        app,
    )
    lpath = catalog.ensure("ops.ingest_log", spark)
    done_q, done_b = txn_version(spark, qpath, app), txn_version(spark, bpath, app)
    done_l = txn_version(spark, lpath, app)
    recovered = False
    if done_q is not None and (done_b is None or done_b < done_q or done_l is None or done_l < done_q):
        # A replay died after marking its rows: finish its bronze commit (skipped by its
        # transaction when already made) and its log row, under its own id.
        began = dt.datetime.now(dt.UTC)
        prior = ReplayResult(dataset, reason, done_q, recovered=True)
        prior.bronze_rows, prior.event_dates = _write_bronze(spark, proc, done_q, began)
        prior.replayed = (
            catalog.read(spark, QUARANTINE)
            .where(
                (F.col("dataset") == dataset)
                & (F.col("replay_id") == done_q)
                & F.col("replayed_at").isNotNull()
            )
            .count()
        )
        prior.records_in = prior.bronze_rows
        _log(spark, catalog, proc, prior, began)
        recovered = True
    n = (done_q or 0) + 1
    result = ReplayResult(dataset, reason, n, recovered=recovered)
    now = dt.datetime.now(dt.UTC)

    table = _with_rid(catalog.read(spark, QUARANTINE))
    pending = table.where(
        (F.col("dataset") == dataset)
        & F.col("replayed_at").isNull()
        & F.array_contains(F.split(F.col("reasons"), ","), reason)
    ).persist()
    cached: list[DataFrame] = [pending]
    try:
        result.candidates = pending.count()
        if not result.candidates:
            return result
        records = flag(_records_from_json(pending.where(F.col("record_json").isNotNull()), proc), proc.suite)
        records = records.persist()
        cached.append(records)
        passing = [r["_rid"] for r in records.where(F.col("_reasons") == "").select("_rid").collect()]
        whole = pending.where(F.col("payload").isNotNull()).select(
            "_rid", "source_file", "batch_id", "payload"
        )
        with _staged_files(catalog, proc, n, whole.collect()) as (files, origin):
            checked = proc.check(spark, files)
        readable = [origin[p]["_rid"] for p in checked.good]
        new_bad = [
            {
                **q,
                "dataset": dataset,
                "layer": "bronze",
                "source_file": origin[q["source_file"]]["source_file"],
                "batch_id": origin[q["source_file"]]["batch_id"],
                "payload": None,
                "detail": None,
                "quarantined_at": now,
                "replayed_at": None,
                "replay_id": n,  # pending, quarantined by replay n (a whole file's bad records)
                "quarantine_date": now.date(),
            }
            for q in checked.quarantined
        ]
        marks_ids = sorted(set(passing) | set(readable))
        result.replayed = len(marks_ids)
        result.records_in = result.candidates - len(checked.good) + int(checked.values.get("_n") or 0)
        result.still_quarantined = result.candidates - result.replayed + len(new_bad)
        if result.replayed:
            marks = spark.createDataFrame([(r,) for r in marks_ids], "_rid string")
            dates = [r[0] for r in pending.join(marks, "_rid").select("quarantine_date").distinct().collect()]
            if new_bad:
                dates.append(now.date())
            dates = sorted(set(dates))
            affected = table.where(F.col("quarantine_date").isin(dates)).join(
                marks.withColumn("_m", F.lit(True)), "_rid", "left"
            )
            rewritten = (
                affected.withColumn(
                    "replayed_at", F.when(F.col("_m"), F.lit(now)).otherwise(F.col("replayed_at"))
                )
                .withColumn("replay_id", F.when(F.col("_m"), F.lit(n)).otherwise(F.col("replay_id")))
                .drop("_m", "_rid")
                .unionByName(rows_frame(spark, catalog, QUARANTINE, new_bad))
            )
            where = "quarantine_date IN (" + ", ".join(f"DATE'{d.isoformat()}'" for d in dates) + ")"
            catalog.write(rewritten, QUARANTINE, mode="overwrite", replace_where=where, txn=(app, n))
            result.bronze_rows, result.event_dates = _write_bronze(spark, proc, n, now)
    finally:
        for df in cached:
            df.unpersist()
    _log(spark, catalog, proc, result, now)
    return result


def _with_rid(df: DataFrame) -> DataFrame:
    """Add ``_rid``, an id of each quarantine row built from what identifies it."""
    from pyspark.sql import functions as F

    key = F.concat_ws(
        "|",
        F.col("dataset"),
        F.coalesce(F.col("source_file"), F.lit("")),
        F.coalesce(F.col("batch_id").cast("string"), F.lit("")),
        F.coalesce(F.col("record_index").cast("string"), F.lit("-")),
        F.col("quarantined_at").cast("string"),
        F.col("reasons"),
    )
    return df.withColumn("_rid", F.sha2(key, 256))


def _records_from_json(rows: DataFrame, proc: BatchProcessor) -> DataFrame:
    """Quarantined record rows back into typed records, with ``event_date`` and their lineage."""
    from pyspark.sql import functions as F

    parsed = F.from_json(
        F.col("record_json"), record_ddl(proc.reader), {"timestampFormat": JSON_TIMESTAMP_FORMAT}
    )
    cols = [F.col("_r")[c].alias(c) for c in record_columns(proc.reader)]
    return rows.select("*", parsed.alias("_r")).select(
        *cols,
        F.to_date(F.col("_r")[proc.contract.event_time]).alias("event_date"),
        F.col("source_file").alias("_source_file"),
        F.col("record_index").alias("_record_index"),
        F.col("batch_id").alias("_orig_batch"),
        "_rid",
    )


@contextlib.contextmanager
def _staged_files(
    catalog: Catalog, proc: BatchProcessor, n: int, rows: list[Any]
) -> Iterator[tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]]:
    """Whole-file quarantine rows written back to files, for the same inspect-and-decode path as ingest.

    Yields the inspected file rows and, per staged path, the quarantine row it came from.
    The files live under ``<lake>/_tmp/replay-<dataset>-<n>`` until the block ends.
    """
    folder = Path(catalog.settings.lake).resolve() / "_tmp" / f"replay-{proc.contract.dataset}-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files: list[dict[str, Any]] = []
    origin: dict[str, dict[str, Any]] = {}
    try:
        for i, row in enumerate(rows):
            local = folder / f"file-{i:06d}.avro"
            content = bytes(row["payload"])
            local.write_bytes(content)
            path = f"file:{local}"
            origin[path] = row.asDict()
            files.append(inspect_one(path, dt.datetime.now(dt.UTC), len(content), content, proc.reader))
        yield files, origin
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_bronze(
    spark: SparkSession, proc: BatchProcessor, n: int, now: dt.datetime
) -> tuple[int, list[dt.date]]:
    """Step 2: the rows replay ``n`` marked replayed into bronze, with transaction ``(app, n)``."""
    from pyspark.sql import functions as F

    table = _with_rid(proc.catalog.read(spark, QUARANTINE))
    marked = table.where(
        (F.col("dataset") == proc.contract.dataset)
        & (F.col("replay_id") == n)
        & F.col("replayed_at").isNotNull()
    )
    records = _records_from_json(marked.where(F.col("record_json").isNotNull()), proc)
    passing = bronze_rows(flag(records, proc.suite), proc.reader, batch_id=F.col("_orig_batch"), now=now)
    whole = marked.where(F.col("payload").isNotNull()).select("_rid", "source_file", "batch_id", "payload")
    with _staged_files(proc.catalog, proc, n, whole.collect()) as (files, origin):
        checked = proc.check(spark, files)
        rows = passing
        if checked.good:
            pairs = [(p, origin[p]) for p in checked.good]
            source = F.create_map(*[x for p, o in pairs for x in (F.lit(p), F.lit(o["source_file"]))])
            batch = F.create_map(*[x for p, o in pairs for x in (F.lit(p), F.lit(o["batch_id"]))])
            from_files = proc.bronze(spark, checked.good, batch_id=batch[F.col("_source_file")], now=now)
            rows = rows.unionByName(from_files.withColumn("_source_file", source[F.col("_source_file")]))
        out = rows.persist()
        try:
            dates = sorted(r[0] for r in out.select("event_date").distinct().collect())
            count = out.count()
            proc.catalog.write(out, proc.contract.bronze_table, txn=(proc.app_id, n))
        finally:
            out.unpersist()
    return count, dates


def _log(
    spark: SparkSession, catalog: Catalog, proc: BatchProcessor, result: ReplayResult, now: dt.datetime
) -> None:
    if not result.replayed:
        return  # nothing changed: the replay id stays free for the next replay, which logs under it
    row = {
        "dataset": result.dataset,
        "query_name": proc.query_name,
        "batch_id": result.replay_id,
        "started_at": now,
        "finished_at": dt.datetime.now(dt.UTC),
        "duration_s": (dt.datetime.now(dt.UTC) - now).total_seconds(),
        "files": 0,
        "files_quarantined": 0,
        "duplicate_files": 0,
        "records_in": result.records_in,
        "bronze_rows": result.bronze_rows,
        "quarantined_rows": result.still_quarantined,
        "warned_rows": 0,
        "min_event_date": result.event_dates[0] if result.event_dates else None,
        "max_event_date": result.event_dates[-1] if result.event_dates else None,
        "event_dates": ",".join(d.isoformat() for d in result.event_dates) or None,
    }
    append_rows(spark, catalog, "ops.ingest_log", [row], txn=(proc.app_id, result.replay_id))
