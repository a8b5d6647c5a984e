"""Great Expectations itself: Data Docs under the lake root, and a cross-check of featurelake's evaluation.

The hot path evaluates suites as Spark expressions (:mod:`featurelake.quality.checks`).
Here GX validates the same suite on a batch as it was ingested (its bronze rows
plus its quarantined records, sampled when large) with a file-backed context
in ``<lake>/quality/gx``, builds the HTML Data Docs, and compares each
expectation's outcome with featurelake's on the same rows. Runs on the driver;
GX is slow (seconds per expectation), so this runs once per ingest run, not per batch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError
from featurelake.quality.checks import evaluate
from featurelake.quality.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DocsResult", "build_data_docs", "gx_root", "gx_validate"]


@dataclass
class DocsResult:
    """Where the Data Docs are and how GX's results compare with featurelake's."""

    index: Path
    rows: int
    gx: dict[str, tuple[bool, int]] = field(default_factory=dict)
    """expectation name -> (success, unexpected count) according to GX."""
    ours: dict[str, tuple[bool, int]] = field(default_factory=dict)

    @property
    def disagreements(self) -> list[str]:
        """Expectations where GX and featurelake differ."""
        return sorted(n for n in self.gx if self.gx[n] != self.ours.get(n))


def gx_root(settings: Settings | None = None) -> Path:
    """``<lake>/quality/gx``: the file-backed GX project (suites, results, Data Docs)."""
    return (settings or get_settings()).lake / "quality" / "gx"


def _quiet() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def gx_validate(
    df: DataFrame, suite: Suite, *, root: Path, asset: str, personal: bool = False
) -> tuple[dict[str, tuple[bool, int]], Path]:
    """Validate ``df`` with GX and update the Data Docs under ``root``.

    With ``personal`` (the rows hold personal data), GX keeps no sample of unexpected values:
    its results and Data Docs would otherwise copy up to 20 e-mail addresses or names per
    expectation out of the restricted tables, where ``featurelake forget`` does not reach.

    Returns:
        Per expectation name, GX's (success, unexpected count); and the Data Docs index file.
    """
    _quiet()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(root))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_or_update_spark(name="featurelake")
    try:
        data_asset = source.get_asset(asset)
    except LookupError:
        data_asset = source.add_dataframe_asset(name=asset)
    try:
        definition = data_asset.get_batch_definition("batch")
    except KeyError:
        definition = data_asset.add_batch_definition_whole_dataframe("batch")
    gx_suite = ctx.suites.add_or_update(suite.to_gx())
    validation = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite.name}_{asset}", data=definition, suite=gx_suite)
    )
    checkpoint = ctx.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{suite.name}_{asset}",
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0 if personal else 20},
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": df})
    out: dict[str, tuple[bool, int]] = {}
    for result in run.run_results.values():
        for r in result.results:
            config = r.expectation_config
            meta: dict[str, Any] = (config.meta if config is not None else None) or {}
            value = r.result.get("unexpected_count")
            if value is None:  # unexpected_rows_expectation reports the row count as observed_value
                value = r.result.get("observed_value") or 0
            out[str(meta.get("name"))] = (bool(r.success), int(value))
    index = root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    from featurelake.webassets import localize

    localize(index.parent)  # Bootstrap, jQuery, Vega, ... from the site itself, not from CDNs
    return out, index


def _batch_frame(
    spark: SparkSession, catalog: Catalog, dataset: str, reader: dict[str, Any], batch: int | None
) -> DataFrame:
    """The records of one ingest batch as they arrived: its bronze rows and its quarantined records."""
    from pyspark.sql import functions as F

    from featurelake.ingest.batch import JSON_TIMESTAMP_FORMAT
    from featurelake.ingest.decode import decoded_ddl, record_columns

    cols = record_columns(reader)
    log = catalog.read(spark, "ops.ingest_log").where(
        (F.col("dataset") == dataset) & F.col("query_name").startswith("ingest_")
    )
    if batch is None:
        last = log.agg(F.max("batch_id")).first()
        batch = int(last[0]) if last is not None and last[0] is not None else -1
    entry = log.where(F.col("batch_id") == batch).first()
    if entry is None:
        raise FeaturelakeError(
            f"no ingest batch {batch} of {dataset}"
            if batch >= 0
            else f"no ingest batch of {dataset} yet: run featurelake ingest {dataset} first"
        )
    bronze = catalog.read(spark, f"bronze.{dataset}").where(F.col("_batch_id") == batch)
    if entry is not None and entry["min_event_date"] is not None:
        bronze = bronze.where(F.col("event_date").between(entry["min_event_date"], entry["max_event_date"]))
    ddl = decoded_ddl(reader).split(", event_date date")[0]
    quarantined = (
        catalog.read(spark, "quarantine.records")
        .where(
            (F.col("dataset") == dataset) & (F.col("batch_id") == batch) & F.col("record_json").isNotNull()
        )
        .select(F.from_json("record_json", ddl, {"timestampFormat": JSON_TIMESTAMP_FORMAT}).alias("r"))
        .select(*[F.col("r")[c].alias(c) for c in cols])
    )
    return bronze.select(*[F.col(f"`{c}`") for c in cols]).unionByName(quarantined)


def build_data_docs(
    dataset: str,
    *,
    batch: int | None = None,
    sample: int | None = 10_000,
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    expectations: str | Path | None = None,
    schemas: str | Path | None = None,
) -> DocsResult:
    """Validate one ingest batch (the latest by default) with GX and build the Data Docs.

    Args:
        dataset: ``flights``, ``weather`` or ``bookings``.
        batch: the ingest batch id; the latest when None.
        sample: validate at most this many records (None: all of them).
        settings, spark: the lake and session.
        expectations, schemas: folders of the suites and Avro schemas.
    """
    from featurelake.avro import classification, load_schema
    from featurelake.ingest.contracts import contract
    from featurelake.quality.suites import load_suite
    from featurelake.spark import get_spark

    settings = settings or get_settings()
    spark = spark or get_spark("featurelake-quality", settings=settings)
    catalog = Catalog(settings=settings)
    c = contract(dataset)
    suite = load_suite(c.suite, expectations, settings=settings)
    df = _batch_frame(spark, catalog, dataset, load_schema(dataset, schemas), batch)
    if sample is not None:
        df = df.limit(sample)
    df = df.persist()
    try:
        rows = df.count()
        personal = bool(classification(dataset))
        gx_results, index = gx_validate(df, suite, root=gx_root(settings), asset=dataset, personal=personal)
        ours = {r.check.name: (r.success, r.unexpected_count) for r in evaluate(df, suite)}
    finally:
        df.unpersist()
    return DocsResult(index, rows, gx_results, ours)
