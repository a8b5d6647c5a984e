"""Silver's expectation suite on the deduplicated rows: split, quarantine, record.

The suite (``expectations/<dataset>_silver.json``) is evaluated with the
quality package's Spark expressions, the same translation ingestion uses for
bronze, so one file decides both the split and the recorded results:

- ``quarantine`` checks: failing rows stay out of silver and go to
  ``quarantine.records`` with ``layer = 'silver'`` and the failed
  expectations' names as reasons. A rebuild quarantines the same rows
  again, so rows already pending there with the same reasons are not
  appended twice;
- ``warn`` checks: recorded only;
- ``fail`` checks: the job writes nothing and its partitions fail.

Every check's result goes to ``ops.validation_results`` (run
``backfill:<run id>``, batch = the chunk's first day as ``YYYYMMDD``).
Builds Spark plans on the driver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from featurelake.errors import ValidationFailedError
from featurelake.quality.checks import CheckResult, aggregates, flag_columns, results_from_row
from featurelake.quality.suites import Suite, load_suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from featurelake.catalog import Catalog

__all__ = ["SilverChecks", "suite_digest"]

QUARANTINE = "quarantine.records"
RESULTS = "ops.validation_results"


def suite_digest(name: str) -> str:
    """A digest of the suite file, part of the silver input fingerprint: editing a suite rebuilds."""
    import hashlib

    return hashlib.sha256(load_suite(name).path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class SilverChecks:
    """The silver suite of one dataset, applied to one chunk of days."""

    dataset: str
    suite: Suite
    run_id: str
    start: dt.date

    @classmethod
    def load(cls, dataset: str, *, run_id: str, start: dt.date) -> SilverChecks:
        """The checks of ``<dataset>_silver``."""
        return cls(dataset, load_suite(f"{dataset}_silver"), run_id, start)

    def flag(self, rows: DataFrame) -> DataFrame:
        """``rows`` plus the check flags ``_x<i>`` and ``_reasons`` (failed quarantine checks, by name).

        Persist the result before filtering it on ``_reasons``, or Spark's constraint
        propagation walks every check's expression for each filter.
        """
        from pyspark.sql import functions as F

        checks = list(enumerate(self.suite.checks))
        reasons = F.concat_ws(
            ",", *[F.when(F.col(f"_x{i}"), F.lit(c.name)) for i, c in checks if c.severity == "quarantine"]
        )
        return rows.select("*", *flag_columns(self.suite)).withColumn("_reasons", reasons)

    def results(self, flagged: DataFrame) -> tuple[list[CheckResult], int]:
        """Every check's result and the number of rows to quarantine (one Spark job)."""
        from pyspark.sql import functions as F

        row = flagged.agg(
            *aggregates(self.suite), F.sum((F.col("_reasons") != "").cast("long")).alias("_bad")
        ).first()
        values = row.asDict() if row is not None else {"_n": 0}
        return results_from_row(self.suite, values), int(values.get("_bad") or 0)

    def raise_on_fail(self, results: list[CheckResult]) -> None:
        """Raise when a ``fail`` check did not pass.

        Raises:
            ValidationFailedError: naming the checks and their unexpected counts.
        """
        failed = [r for r in results if r.severity == "fail" and not r.success]
        if failed:
            detail = ", ".join(f"{r.check.name} ({r.unexpected_count} rows)" for r in failed)
            raise ValidationFailedError(f"suite {self.suite.name} failed on days from {self.start}: {detail}")

    def passing(self, flagged: DataFrame, columns: list[str]) -> DataFrame:
        """The rows that go to silver, in ``columns``."""
        from pyspark.sql import functions as F

        return flagged.where(F.col("_reasons") == "").select(*columns)

    def quarantine(self, catalog: Catalog, flagged: DataFrame, columns: list[str]) -> None:
        """Append the failing rows to ``quarantine.records``, skipping those already pending there."""
        from pyspark.sql import functions as F

        now = dt.datetime.now(dt.UTC)
        # Every failed expectation (warnings too), built for the quarantined rows only.
        failed = F.filter(
            F.array(*[F.when(F.col(f"_x{i}"), F.lit(c.name)) for i, c in enumerate(self.suite.checks)]),
            lambda x: x.isNotNull(),
        )
        bad = flagged.where(F.col("_reasons") != "").select(
            F.lit(self.dataset).alias("dataset"),
            F.lit("silver").alias("layer"),
            F.col("_source_file").alias("source_file"),
            F.col("_batch_id").alias("batch_id"),
            F.lit(None).cast("int").alias("record_index"),
            F.col("event_id"),
            F.to_json(F.struct(*[F.col(c) for c in columns])).alias("record_json"),
            F.lit(None).cast("binary").alias("payload"),
            F.col("_reasons").alias("reasons"),
            F.to_json(failed).alias("failed_expectations"),
            F.lit(None).cast("string").alias("detail"),
            F.lit(now).cast("timestamp").alias("quarantined_at"),
            F.lit(None).cast("timestamp").alias("replayed_at"),
            F.lit(None).cast("bigint").alias("replay_id"),
            F.lit(now.date()).alias("quarantine_date"),
        )
        pending = self._pending(catalog)
        if pending is not None:
            known = flagged.sparkSession.createDataFrame(pending)
            bad = bad.join(known, on=["event_id", "reasons"], how="left_anti")
        catalog.write(bad, QUARANTINE, mode="append")

    def _pending(self, catalog: Catalog) -> object | None:
        """(event_id, reasons) of this dataset's pending silver quarantine rows, as Arrow; None if none."""
        if not catalog.exists(QUARANTINE):
            return None
        import pyarrow.compute as pc
        from deltalake import DeltaTable

        t = DeltaTable(catalog.path(QUARANTINE)).to_pyarrow_table(
            columns=["dataset", "layer", "event_id", "reasons", "replayed_at"]
        )
        keep = pc.and_(
            pc.and_(pc.equal(t["dataset"], self.dataset), pc.equal(t["layer"], "silver")),
            pc.is_null(t["replayed_at"]),
        )
        t = t.filter(keep).select(["event_id", "reasons"])
        return t if t.num_rows else None

    def record(self, catalog: Catalog, results: list[CheckResult], *, outcome: str) -> None:
        """Append every check's result to ``ops.validation_results``."""
        from featurelake.ingest.batch import validation_rows
        from featurelake.spark import get_spark

        now = dt.datetime.now(dt.UTC)
        run, batch = f"backfill:{self.run_id}", int(self.start.strftime("%Y%m%d"))
        rows = validation_rows(results, self.dataset, self.suite.name, run, batch, outcome, now)
        catalog.append_rows(get_spark(), RESULTS, rows)
