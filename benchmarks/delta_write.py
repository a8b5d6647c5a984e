"""Spark -> native Delta Lake against Spark's built-in Parquet writer, with the same codec.

The same cached DataFrame (10M rows, 10 columns, partitioned by date) is
written by each writer ``--repeats`` times, interleaved, once with Spark's
default codec (snappy) and once with zstd, each pair with the same codec
(Delta writes its files through Spark's Parquet writer and honours
``compression``). Rows/s are medians. The goal is
``ratio_delta_vs_parquet (same codec) >= 0.9``.

    python -m benchmarks.delta_write [--rows 10000000] [--repeats 3] [--days 31]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks._common import emit, median, timed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from featurelake.config import get_settings
    from featurelake.delta import describe
    from featurelake.spark import delta_provider, get_spark

    work = Path(tempfile.mkdtemp(prefix="bench-delta-write-"))
    settings = get_settings().model_copy(update={"lake": work / "home"})
    spark = get_spark("bench-delta-write", settings=settings)
    df = spark.range(args.rows).select(
        F.col("id"),
        (F.col("id") % 1000).cast("int").alias("i1"),
        (F.col("id") * 7 % 65536).cast("int").alias("i2"),
        (F.col("id") % 97).cast("bigint").alias("i3"),
        (F.col("id") * 0.5).alias("d1"),
        F.sqrt(F.col("id")).alias("d2"),
        F.when(F.col("id") % 13 == 0, None).otherwise(F.col("id") / 3.0).alias("d3"),
        F.concat(F.lit("carrier-"), (F.col("id") % 50).cast("string")).alias("s1"),
        (F.lit("2013-01-01 00:00:00").cast("timestamp") + F.make_interval(secs=F.col("id") % 86400)).alias(
            "ts"
        ),
        F.date_add(F.lit("2013-01-01").cast("date"), (F.col("id") % args.days).cast("int")).alias(
            "event_date"
        ),
    )
    df = df.cache()
    df.count()
    counter = {"n": 0}
    last = {"delta": ""}

    def write_delta(compression: str) -> None:
        counter["n"] += 1
        path = str(work / f"delta-{counter['n']}")
        df.write.format("delta").option("compression", compression).partitionBy("event_date").save(path)
        last["delta"] = path

    def write_parquet(compression: str) -> None:
        counter["n"] += 1
        path = str(work / f"parquet-{counter['n']}")
        df.write.mode("overwrite").option("compression", compression).partitionBy("event_date").parquet(path)

    # interleave the writers so drift in machine load hits both alike
    delta_s: list[float] = []
    delta_zstd_s: list[float] = []
    parquet_s: list[float] = []
    parquet_zstd_s: list[float] = []
    write_delta("snappy")  # warm-up: the first Delta commit in a JVM loads and compiles Delta's classes
    write_parquet("snappy")
    for _ in range(args.repeats):
        delta_s += timed(lambda: write_delta("snappy"), repeats=1)
        parquet_s += timed(lambda: write_parquet("snappy"), repeats=1)
        delta_zstd_s += timed(lambda: write_delta("zstd"), repeats=1)
        parquet_zstd_s += timed(lambda: write_parquet("zstd"), repeats=1)

    stats = describe(last["delta"])
    if stats.rows != args.rows or spark.read.format("delta").load(last["delta"]).count() != args.rows:
        raise RuntimeError(f"the delta table holds {stats.rows} rows, not {args.rows}")

    delta_rps = args.rows / median(delta_s)
    delta_zstd_rps = args.rows / median(delta_zstd_s)
    parquet_rps = args.rows / median(parquet_s)
    zstd_rps = args.rows / median(parquet_zstd_s)
    emit(
        "delta_write",
        {
            "rows": args.rows,
            "columns": 10,
            "partitions": args.days,
            "repeats": args.repeats,
            "spark_master": settings.spark_master,
            "delta_provider": delta_provider(spark),
            "seconds": {
                "delta_snappy": delta_s,
                "parquet_snappy": parquet_s,
                "delta_zstd": delta_zstd_s,
                "parquet_zstd": parquet_zstd_s,
            },
            "rows_per_s": {
                "delta_snappy": round(delta_rps),
                "parquet_snappy (Spark default)": round(parquet_rps),
                "delta_zstd": round(delta_zstd_rps),
                "parquet_zstd": round(zstd_rps),
            },
            "delta_files": stats.files,
            "delta_bytes": stats.size_bytes,
            "ratio_delta_vs_parquet": round(delta_rps / parquet_rps, 3),
            "ratio_delta_vs_parquet_zstd": round(delta_zstd_rps / zstd_rps, 3),
            "goal": "ratio_delta_vs_parquet >= 0.9 (same codec)",
            "goal_met": delta_rps / parquet_rps >= 0.9 and delta_zstd_rps / zstd_rps >= 0.9,
        },
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
