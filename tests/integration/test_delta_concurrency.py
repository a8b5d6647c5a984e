"""Two Spark applications appending to one table at the same time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from featurelake.delta import describe

APPENDER = textwrap.dedent(
    """
    import sys, time
    from pyspark.sql import functions as F
    from featurelake.config import Settings
    from featurelake.spark import get_spark

    path, tag, start_flag = sys.argv[1], sys.argv[2], sys.argv[3]
    home = Settings(lake=path + "-home-" + tag, spark_master="local[1]")
    spark = get_spark("appender-" + tag, settings=home)
    df = spark.range(50).select(F.col("id"), F.lit(tag).alias("writer"))
    df.count()
    open(start_flag + "." + tag, "w").close()
    import os
    while not all(os.path.exists(start_flag + "." + t) for t in ("a", "b")):
        time.sleep(0.05)
    for i in range(4):
        df.withColumn("round", F.lit(i)).write.format("delta").mode("append").save(path)
    print("done", tag)
    """
)


def test_two_processes_appending_concurrently_both_land(tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    DeltaTable.create(path, pa.schema([("id", pa.int64()), ("writer", pa.string()), ("round", pa.int32())]))
    flag = str(tmp_path / "go")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, path, tag, flag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert out.strip().startswith("done")
    table = pa.table(DeltaTable(path).to_pyarrow_table())
    assert table.num_rows == 2 * 4 * 50
    per_writer = table.group_by(["writer", "round"]).aggregate([("id", "count")]).to_pylist()
    assert sorted((r["writer"], r["round"], r["id_count"]) for r in per_writer) == [
        (w, r, 50) for w in ("a", "b") for r in range(4)
    ]
    assert DeltaTable(path).version() == 8
    assert describe(path).rows == 400
