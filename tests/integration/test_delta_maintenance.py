"""optimize, z-order and vacuum change files, never rows."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from featurelake.delta import describe, history, optimize, vacuum


def content_hash(path: str) -> str:
    table = pa.table(DeltaTable(path).to_pyarrow_table())
    rows = sorted(map(repr, table.to_pylist()))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def data_files(path: str) -> int:
    return sum(
        sum(n.endswith(".parquet") for n in names)
        for folder, _dirs, names in os.walk(path)
        if "_delta_log" not in folder
    )


@pytest.fixture
def fragmented(spark, tmp_path: Path) -> str:
    path = str(tmp_path / "t")
    DeltaTable.create(
        path,
        pa.schema([("id", pa.int64()), ("k", pa.int64()), ("event_date", pa.date32())]),
        partition_by=["event_date"],
    )
    for i in range(5):
        spark.range(i * 1000, (i + 1) * 1000).select(
            "id",
            (F.col("id") * 7919 % 1000).alias("k"),
            F.expr("date_add(date'2024-01-01', cast(id % 2 as int))").alias("event_date"),
        ).repartition(2).write.format("delta").mode("append").save(path)
    return path


def test_optimize_compacts_and_keeps_rows(spark, fragmented: str) -> None:
    before, files = content_hash(fragmented), describe(fragmented).files
    assert files >= 10
    metrics = optimize(spark, fragmented)
    assert metrics["numFilesRemoved"] == files
    assert describe(fragmented).files == 2  # one per partition
    assert content_hash(fragmented) == before
    assert history(fragmented, 1)[0]["operation"] == "OPTIMIZE"
    assert history(fragmented, 1)[0]["operationParameters"]["zOrderBy"] == "[]"


def test_zorder_keeps_rows_and_rejects_bad_columns(spark, fragmented: str) -> None:
    before = content_hash(fragmented)
    metrics = optimize(spark, fragmented, zorder=["k", "id"])
    assert metrics["numFilesAdded"] >= 1
    assert content_hash(fragmented) == before
    assert history(fragmented, 1)[0]["operationParameters"]["zOrderBy"] == '["k","id"]'
    with pytest.raises(ValueError, match="not in"):
        optimize(spark, fragmented, zorder=["nope"])
    with pytest.raises(ValueError, match="partition column"):
        optimize(spark, fragmented, zorder=["event_date"])


def test_vacuum_guard_and_cleanup(spark, fragmented: str) -> None:
    before = content_hash(fragmented)
    optimize(spark, fragmented)
    with pytest.raises(ValueError, match="below the 168 h guard"):
        vacuum(spark, fragmented, retention_hours=0)
    assert vacuum(spark, fragmented) == []  # nothing is old enough for the default retention
    on_disk = data_files(fragmented)
    removed = vacuum(spark, fragmented, retention_hours=0, force=True)
    assert len(removed) >= 10
    after_disk = data_files(fragmented)
    assert after_disk == on_disk - len(removed)
    assert content_hash(fragmented) == before


def _sidecars(path: str) -> list[str]:
    return [
        os.path.join(folder, n)
        for folder, _dirs, names in os.walk(path)
        if "_delta_log" not in folder
        for n in names
        if n.startswith(".") and n.endswith(".parquet.crc")
    ]


def test_writes_leave_no_hadoop_checksum_beside_data_files_and_keep_their_mode(
    spark, fragmented: str
) -> None:
    # Hadoop's raw local file system: no `.<file>.crc` sidecar (a forked chmod each, and a
    # second file per data file), while the umask of featurelake's sessions still applies
    assert data_files(fragmented) >= 10
    assert _sidecars(fragmented) == []
    modes = {
        os.stat(os.path.join(folder, n)).st_mode & 0o777
        for folder, _dirs, names in os.walk(fragmented)
        for n in names
        if n.endswith(".parquet")
    }
    assert modes == {0o600}


def test_vacuum_removes_the_checksums_an_older_writer_left_beside_removed_files(
    spark, fragmented: str
) -> None:
    def add_sidecars() -> set[str]:
        files = {str(p) for p in Path(fragmented).rglob("*.parquet")}
        for f in files:
            head, tail = os.path.split(f)
            Path(head, f".{tail}.crc").write_bytes(b"crc")
        return files

    # a lake written before sessions used the raw file system has a sidecar beside each file
    old = add_sidecars()
    optimize(spark, fragmented)
    live = add_sidecars() - old
    removed = vacuum(spark, fragmented, retention_hours=0, force=True)
    assert sorted(removed) == sorted(old)
    assert sorted(_sidecars(fragmented)) == sorted(
        os.path.join(os.path.dirname(f), f".{os.path.basename(f)}.crc") for f in live
    )
