"""Decoded records checked against a suite: flags, bronze rows, and one summary job per batch.

The suite's checks are Spark expressions (:mod:`featurelake.quality.checks`):
:func:`flag` adds one boolean per check, ``_reasons`` (the ``quarantine``
checks a record fails, comma-separated) and ``_warned``. :func:`check_files`
runs the one job that decides a batch before anything is written: grouped by
file split, it counts records, evaluates every check, collects the event
dates that reach bronze and, for the few records that fail a ``quarantine``
check, their JSON (Spark's ``to_json``, the only producer of ``record_json``)
and index in the file. On the driver it then sets aside any file that decoded
to fewer records than its blocks declare (corrupt inside a block: quarantined
whole, none of its records kept) and sums the rest. :func:`bronze_rows` is
the second pass, which the caller writes. Builds expressions and collects
small results on the driver; Spark evaluates everything in the JVM.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from featurelake.ingest.decode import read_records, record_columns
from featurelake.quality.checks import CheckResult, aggregates, flag_columns, results_from_row
from featurelake.quality.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["JSON_TIMESTAMP_FORMAT", "CheckedFiles", "bronze_rows", "check_files", "flag", "local_path"]

JSON_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
"""How ``record_json`` writes timestamps (and how replay and Data Docs parse them back)."""


def local_path(path: str) -> str:
    """A file URI or path as a plain path, so Spark's spellings (file:/x, file:///x, %20) compare equal."""
    return unquote(urlparse(path).path) if "://" in path or path.startswith("file:") else path


def flag(records: DataFrame, suite: Suite) -> DataFrame:
    """``records`` with the check flags ``_x<i>``, ``_reasons`` (quarantine checks failed) and ``_warned``."""
    from pyspark.sql import functions as F

    flagged = records.select("*", *flag_columns(suite))
    reasons = F.concat_ws(
        ",",
        *[
            F.when(F.col(f"_x{i}"), F.lit(c.name))
            for i, c in enumerate(suite.checks)
            if c.severity == "quarantine"
        ],
    )
    warned: Column = F.lit(False)
    for i, c in enumerate(suite.checks):
        if c.severity == "warn":
            warned = warned | F.col(f"_x{i}")
    return flagged.select("*", reasons.alias("_reasons"), warned.alias("_warned"))


def bronze_rows(
    flagged: DataFrame, reader: Mapping[str, Any], *, batch_id: Column | int, now: dt.datetime
) -> DataFrame:
    """The rows of ``flagged`` that pass every ``quarantine`` check, in bronze's columns."""
    from pyspark.sql import functions as F

    batch = batch_id if not isinstance(batch_id, int) else F.lit(batch_id)
    return flagged.where(F.col("_reasons") == "").select(
        *[F.col(f"`{c}`") for c in record_columns(reader)],
        "event_date",
        F.col("_source_file"),
        F.lit(now).cast("timestamp").alias("_ingested_at"),
        batch.cast("bigint").alias("_batch_id"),
    )


@dataclass
class CheckedFiles:
    """One batch's files decoded and checked, before anything is written (driver side)."""

    files: list[dict[str, Any]]
    """The inspected file rows, with ``_file_error`` set on files that decoded short."""
    good: list[str]
    """Paths whose records are kept: they passed inspection and decoded whole."""
    values: dict[str, Any] = field(default_factory=dict)
    """``_n`` records, ``_bad`` quarantined, ``_warned_n`` warned, ``_dates`` reaching bronze."""
    results: list[CheckResult] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    """Records failing a quarantine check: ``source_file``, ``record_index``, ``event_id``,
    ``record_json``, ``reasons``, ``failed_expectations``."""


def _summary(flagged: DataFrame, reader: Mapping[str, Any], suite: Suite) -> DataFrame:
    from pyspark.sql import functions as F

    bad = F.col("_reasons") != ""
    record = F.struct(*[F.col(f"`{c}`") for c in record_columns(reader)])
    failed = F.filter(
        F.array(*[F.when(F.col(f"_x{i}"), F.lit(c.name)) for i, c in enumerate(suite.checks)]),
        lambda x: x.isNotNull(),
    )
    quarantined = F.struct(
        F.col("_id"),
        F.col("event_id").cast("string").alias("event_id"),
        F.to_json(record, {"timestampFormat": JSON_TIMESTAMP_FORMAT}).alias("record_json"),
        F.col("_reasons").alias("reasons"),
        F.to_json(failed).alias("failed_expectations"),
    )
    return flagged.groupBy("_source_file", "_split").agg(
        *aggregates(suite),
        F.min("_id").alias("_first"),
        F.sum(bad.cast("long")).alias("_bad"),
        F.sum(F.col("_warned").cast("long")).alias("_warned_n"),
        F.collect_set(F.when(~bad, F.col("event_date"))).alias("_dates"),
        # Built for failing records only: JSON for every record would cost real time.
        F.collect_list(F.when(bad, quarantined)).alias("_quarantined"),
    )


def check_files(
    spark: SparkSession,
    files: Sequence[Mapping[str, Any]],
    reader: Mapping[str, Any],
    suite: Suite,
    event_time: str,
) -> CheckedFiles:
    """Decode and check the readable ``files`` in one Spark job; set aside those that decode short.

    Args:
        spark: the session.
        files: inspected file rows (:data:`featurelake.ingest.decode.INSPECTED_DDL`).
        reader: the reader schema.
        suite: the checks.
        event_time: the field ``event_date`` comes from.
    """
    out = CheckedFiles([dict(f) for f in files], [])
    readable = [f for f in out.files if f["_file_error"] is None]
    splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if readable:
        flagged = flag(read_records(spark, [f["_source_file"] for f in readable], reader, event_time), suite)
        for row in _summary(flagged, reader, suite).collect():
            splits[local_path(row["_source_file"])].append(row.asDict())
    totals: dict[str, Any] = defaultdict(int)
    dates: set[dt.date] = set()
    short: list[dict[str, Any]] = []
    for f in readable:
        parts = sorted(splits.get(local_path(f["_source_file"]), []), key=lambda s: s["_split"])
        decoded = sum(int(s["_n"]) for s in parts)
        if decoded != f["_file_records"]:
            f["_file_error"] = "corrupt_file"
            f["_file_detail"] = (
                f"Spark's Avro reader decoded {decoded} of the {f['_file_records']} records "
                "its blocks declare"
            )
            short.append(f)
            continue
        out.good.append(f["_source_file"])
        offset = 0
        for s in parts:
            for key, value in s.items():
                if key.startswith("_x") or key in ("_n", "_bad", "_warned_n"):
                    totals[key] += int(value or 0)
            dates.update(d for d in s["_dates"] if d is not None)
            for q in s["_quarantined"]:
                if q is None:
                    continue
                record = q.asDict()
                out.quarantined.append(
                    {
                        "source_file": f["_source_file"],
                        "record_index": offset + int(record.pop("_id")) - int(s["_first"]),
                        **record,
                    }
                )
            offset += int(s["_n"])
    if short:
        _attach_payloads(spark, short)
    out.values = {**totals, "_dates": sorted(dates)}
    out.results = results_from_row(suite, {"_n": 0, **totals})
    return out


def _attach_payloads(spark: SparkSession, files: list[dict[str, Any]]) -> None:
    """Read the bytes of files that decoded short, to quarantine them whole (rare: one small job)."""
    raw = spark.read.format("binaryFile").load([f["_source_file"] for f in files])
    content = {local_path(r["path"]): r["content"] for r in raw.select("path", "content").collect()}
    for f in files:
        f["_payload"] = content.get(local_path(f["_source_file"]), b"")
