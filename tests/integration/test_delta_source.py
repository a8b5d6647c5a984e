"""The ``delta`` Spark data source on real Spark and real Delta tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.errors import PythonException
from pyspark.sql import functions as F

from featurelake.delta import describe, history, read_table
from featurelake.spark import activate
from featurelake.sql import delta_extension_path

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("score", pa.float64()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("event_date", pa.date32()),
    ]
)


def make_table(path: Path) -> str:
    DeltaTable.create(str(path), SCHEMA, partition_by=["event_date"])
    return str(path)


def frame(spark, n: int, *, start: int = 0, days: int = 3, name: str = "a"):
    """n rows over `days` partitions starting 2024-01-01; some nulls in score."""
    return spark.range(start, start + n).select(
        F.col("id"),
        F.lit(name).alias("name"),
        F.when(F.col("id") % 10 == 0, F.lit(None)).otherwise(F.col("id") * 0.5).alias("score"),
        (F.lit(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) + F.make_interval(secs=F.col("id"))).alias("ts"),
        F.date_add(F.lit(dt.date(2024, 1, 1)), (F.col("id") % days).cast("int")).alias("event_date"),
    )


def _plain(v: object) -> object:
    """Timestamps as naive UTC datetimes, whatever library produced them."""
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()  # type: ignore[union-attr]
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


def rows_of(table: pa.Table) -> list[tuple]:
    cols = SCHEMA.names
    return sorted(
        tuple(_plain(v) for v in row)
        for row in zip(*[table.column(c).to_pylist() for c in cols], strict=True)
    )


def duck(path: str) -> pa.Table:
    con = duckdb.connect()
    con.execute(f"LOAD '{delta_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    return con.sql(f"select * from delta_scan('{path}')").to_arrow_table()


def files_under(path: str) -> set[str]:
    out = set()
    for folder, _dirs, names in os.walk(path):
        for n in names:
            out.add(os.path.relpath(os.path.join(folder, n), path))
    return out


def test_round_trip_is_identical_in_every_reader(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    df = frame(spark, 5000)
    df.write.format("delta").mode("append").save(path)

    expected = rows_of(pa.Table.from_pandas(df.toPandas(), preserve_index=False))
    via_spark_source = spark.read.format("delta").load(path)
    via_helper = read_table(spark, path)
    assert rows_of(pa.Table.from_pandas(via_spark_source.toPandas(), preserve_index=False)) == expected
    assert rows_of(pa.Table.from_pandas(via_helper.toPandas(), preserve_index=False)) == expected
    assert rows_of(pa.table(DeltaTable(path).to_pyarrow_table())) == expected
    assert rows_of(duck(path)) == expected
    assert describe(path).rows == 5000


def test_partition_folders_and_statistics(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 3000).write.format("delta").mode("append").save(path)
    folders = sorted(d for d in os.listdir(path) if not d.startswith("_"))
    assert folders == ["event_date=2024-01-01", "event_date=2024-01-02", "event_date=2024-01-03"]
    assert all(f.endswith(".zstd.parquet") for d in folders for f in os.listdir(os.path.join(path, d)))
    with open(os.path.join(path, "_delta_log", f"{1:020d}.json")) as fh:
        adds = [json.loads(line)["add"] for line in fh if '"add"' in line]
    assert adds
    total = 0
    for add in adds:
        stats = json.loads(add["stats"])
        total += stats["numRecords"]
        assert set(stats["minValues"]) >= {"id", "name", "score", "ts"}
        assert stats["minValues"]["id"] <= stats["maxValues"]["id"]
        assert stats["nullCount"]["score"] >= 0
        assert "event_date" not in stats["minValues"]  # partition values live in partitionValues
        assert add["partitionValues"]["event_date"] in {"2024-01-01", "2024-01-02", "2024-01-03"}
    assert total == 3000
    # DuckDB uses the statistics to skip files: a selective filter reads fewer rows
    con = duckdb.connect()
    con.execute(f"LOAD '{delta_extension_path()}'")
    plan = con.sql(f"explain analyze select count(*) from delta_scan('{path}') where id = 5").fetchall()
    assert "File Filters" in str(plan) or "Filters" in str(plan)


def test_target_file_size_rolls_files(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    df = frame(spark, 400_000, days=1).coalesce(1)
    df.write.format("delta").mode("append").option("targetFileSize", str(256 * 1024)).save(path)
    assert describe(path).files > 1
    assert describe(path).rows == 400_000


def test_txn_pair_is_written_once(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    for _ in range(2):
        (
            frame(spark, 100)
            .write.format("delta")
            .mode("append")
            .option("txnAppId", "query-1")
            .option("txnVersion", "7")
            .save(path)
        )
    assert describe(path).rows == 100
    assert DeltaTable(path).version() == 1
    assert DeltaTable(path).transaction_version("query-1") == 7
    # an older version of the same app is also a no-op; a newer one lands
    frame(spark, 10).write.format("delta").mode("append").option("txnAppId", "query-1").option(
        "txnVersion", "3"
    ).save(path)
    frame(spark, 10).write.format("delta").mode("append").option("txnAppId", "query-1").option(
        "txnVersion", "8"
    ).save(path)
    assert describe(path).rows == 110


def test_replace_where_overwrites_only_matching_partitions(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 300).write.format("delta").mode("append").save(path)
    new = frame(spark, 5, start=1000, days=1, name="b")  # all on 2024-01-01
    new.write.format("delta").mode("overwrite").option("replaceWhere", "event_date = '2024-01-01'").option(
        "userMetadata", "fix day 1"
    ).save(path)
    got = read_table(spark, path).groupBy("event_date", "name").count().collect()
    counts = {(r.event_date.isoformat(), r.name): r["count"] for r in got}
    assert counts == {("2024-01-01", "b"): 5, ("2024-01-02", "a"): 100, ("2024-01-03", "a"): 100}
    assert history(path, 1)[0]["userMetadata"] == "fix day 1"


def test_replace_where_rejects_data_outside_the_predicate(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 30).write.format("delta").mode("append").save(path)
    before = files_under(path)
    with pytest.raises(Exception, match="does not match replaceWhere"):
        frame(spark, 30).write.format("delta").mode("overwrite").option(
            "replaceWhere", "event_date = '2024-01-01'"
        ).save(path)
    assert files_under(path) == before
    with pytest.raises(Exception, match="may only use the partition columns"):
        frame(spark, 3).write.format("delta").mode("overwrite").option("replaceWhere", "id > 3").save(path)
    assert DeltaTable(path).version() == 1


def test_failed_task_leaves_table_and_directory_unchanged(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 200).write.format("delta").mode("append").save(path)
    before_files = files_under(path)
    before_version = DeltaTable(path).version()

    @F.udf("double", useArrow=False)
    def explode_on_one_row(x: int) -> float:
        if x == 4321:
            raise RuntimeError("injected failure")
        return float(x)

    # many rows over new partitions: other tasks finish and write files before the failure
    bad = (
        frame(spark, 20_000, start=1000, days=5).withColumn("score", explode_on_one_row("id")).repartition(4)
    )
    with pytest.raises(Exception, match="injected failure"):
        bad.write.format("delta").mode("append").save(path)
    assert DeltaTable(path).version() == before_version
    assert files_under(path) == before_files
    assert describe(path).rows == 200


def test_not_null_violation_fails_and_writes_nothing(spark, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    DeltaTable.create(path, pa.schema([pa.field("k", pa.string(), nullable=False), ("v", pa.int64())]))
    before = files_under(path)
    df = spark.createDataFrame([("a", 1), (None, 2)], "k string, v long")
    with pytest.raises(PythonException, match="NOT NULL"):
        df.write.format("delta").mode("append").save(path)
    assert files_under(path) == before


def test_merge_schema_adds_nullable_columns(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 10).write.format("delta").mode("append").save(path)
    wider = frame(spark, 5, start=100).withColumn("extra", F.lit("x"))
    with pytest.raises(Exception, match="mergeSchema"):
        wider.write.format("delta").mode("append").save(path)
    wider.write.format("delta").mode("append").option("mergeSchema", "true").save(path)
    table = pa.table(DeltaTable(path).to_pyarrow_table())
    assert "extra" in table.column_names
    extras = sorted(table.column("extra").to_pylist(), key=lambda v: (v is None, v))
    assert extras == ["x"] * 5 + [None] * 10
    assert read_table(spark, path).where("extra is null").count() == 10
    assert spark.read.format("delta").load(path).where("extra = 'x'").count() == 5


def test_type_mismatch_is_a_clear_error(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    df = frame(spark, 3).withColumn("id", F.col("id").cast("string"))
    with pytest.raises(Exception, match="column 'id' is string in the data but long"):
        df.write.format("delta").mode("append").save(path)


def test_time_travel_by_version_and_timestamp(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 10).write.format("delta").mode("append").save(path)
    first_commit = history(path, 1)[0]["timestamp"]
    frame(spark, 20, start=100).write.format("delta").mode("append").save(path)
    frame(spark, 5, start=500).write.format("delta").mode("overwrite").save(path)
    assert spark.read.format("delta").load(path).count() == 5
    assert spark.read.format("delta").option("versionAsOf", 1).load(path).count() == 10
    assert spark.read.format("delta").option("versionAsOf", 2).load(path).count() == 30
    assert read_table(spark, path, version=2).count() == 30
    # exact milliseconds: a float conversion can land a hair before the commit (on version 0)
    when = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=first_commit)).isoformat()
    assert spark.read.format("delta").option("timestampAsOf", when).load(path).count() == 10


def test_reading_a_table_with_no_files_gives_no_rows(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    assert spark.read.format("delta").load(path).count() == 0
    frame(spark, 4).write.format("delta").mode("append").save(path)
    assert spark.read.format("delta").option("versionAsOf", 0).load(path).count() == 0


def test_reader_prunes_files_by_partition_and_statistics(spark, tmp_path: Path) -> None:
    from pyspark.sql.datasource import EqualTo, GreaterThan

    from featurelake.delta.reader import DeltaReader, load_snapshot

    path = make_table(tmp_path / "t")
    for i in range(3):  # three commits with disjoint id ranges, three days each
        frame(spark, 30, start=i * 1000).coalesce(1).write.format("delta").mode("append").save(path)
    reader = DeltaReader(load_snapshot(path))
    assert len(reader.partitions()) == 9
    list(reader.pushFilters([EqualTo(("event_date",), dt.date(2024, 1, 2))]))
    assert len(reader.partitions()) == 3
    list(reader.pushFilters([GreaterThan(("id",), 1500)]))
    assert len(reader.partitions()) == 1
    # and the rows Spark returns with those filters are right
    got = spark.read.format("delta").load(path).where("event_date = date'2024-01-02' and id > 1500").collect()
    assert sorted(r.id for r in got) == [x for x in range(2000, 2030) if x % 3 == 1]


def test_conflicting_overwrites_one_wins_the_other_fails_clearly(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 30).write.format("delta").mode("append").save(path)

    @F.udf("double", useArrow=False)
    def slow(x: float) -> float:
        import time

        time.sleep(3)
        return x

    errors: list[BaseException] = []

    def overwrite(name: str, day: str) -> None:
        df = frame(spark, 3, start=5000, days=1, name=name).withColumn(
            "event_date", F.lit(dt.date.fromisoformat(day))
        )
        try:
            activate(spark)  # format("delta") resolves through the thread's active session
            df.coalesce(1).withColumn("score", slow("score")).write.format("delta").mode("overwrite").option(
                "replaceWhere", f"event_date = '{day}'"
            ).save(path)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=overwrite, args=(n, "2024-01-02")) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1, errors
    assert "CommitConflictError" in str(errors[0])
    assert "event_date=2024-01-02" in str(errors[0])
    names = {r.name for r in read_table(spark, path).where("event_date = date'2024-01-02'").collect()}
    assert names in ({"x"}, {"y"})
    assert describe(path).rows == 23


def test_overwrites_of_different_partitions_both_land(spark, tmp_path: Path) -> None:
    path = make_table(tmp_path / "t")
    frame(spark, 30).write.format("delta").mode("append").save(path)

    @F.udf("double", useArrow=False)
    def slow(x: float) -> float:
        import time

        time.sleep(2)
        return x

    errors: list[BaseException] = []

    def overwrite(day: str) -> None:
        df = frame(spark, 2, start=7000, days=1, name=day).withColumn(
            "event_date", F.lit(dt.date.fromisoformat(day))
        )
        try:
            activate(spark)  # format("delta") resolves through the thread's active session
            df.coalesce(1).withColumn("score", slow("score")).write.format("delta").mode("overwrite").option(
                "replaceWhere", f"event_date = '{day}'"
            ).save(path)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=overwrite, args=(d,)) for d in ("2024-01-01", "2024-01-03")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = {
        r.event_date.isoformat(): r["count"]
        for r in read_table(spark, path).groupBy("event_date").count().collect()
    }
    assert counts == {"2024-01-01": 2, "2024-01-02": 10, "2024-01-03": 2}
