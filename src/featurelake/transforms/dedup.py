"""Deduplication on an event key (the latest ingested copy of each event wins), and the lineage it keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["LINEAGE", "latest_per_key", "lineage"]

LINEAGE = {
    "_source_file": "string",
    "_ingested_at": "timestamp",
    "_batch_id": "bigint",
    "_kafka_topic": "string",
    "_kafka_partition": "int",
    "_kafka_offset": "bigint",
}
"""Where a bronze row came from, carried into silver: the file or Kafka message, the batch."""


def lineage(df: DataFrame) -> list[Column]:
    """The :data:`LINEAGE` columns of ``df``; one a bronze table older than Kafka lacks is null."""
    from pyspark.sql import functions as F

    return [
        F.col(name) if name in df.columns else F.lit(None).cast(kind).alias(name)
        for name, kind in LINEAGE.items()
    ]


def latest_per_key(df: DataFrame, key: str) -> DataFrame:
    """One row per ``key``: the copy with the latest ``_ingested_at``.

    Ties (the same file landed twice in one batch) are broken by ``_batch_id``,
    ``_source_file`` and finally a hash of the whole row, so the winner never
    depends on how Spark happened to order the input: re-running a job over
    the same bronze rows writes the same silver rows.

    Runs on the driver (planning); the work happens on executors.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy(key).orderBy(
        F.col("_ingested_at").desc(),
        F.col("_batch_id").desc(),
        F.col("_source_file").desc(),
        F.xxhash64(*[F.col(c) for c in df.columns]).desc(),
    )
    return df.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")
