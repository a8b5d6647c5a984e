"""The catalog on native Delta Lake: creation, idempotent and partial overwrites, constraints, conflicts."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from featurelake.catalog import Catalog, TableSpec
from featurelake.config import Settings
from featurelake.errors import CommitConflictError
from featurelake.spark import delta_provider

EVENTS = TableSpec.of(
    "silver.events",
    "id bigint not null, name string, score double, event_date date not null",
    partition_by=["event_date"],
    keys=["id"],
    description="test events",
    constraints={"score_non_negative": "score >= 0"},
)
LOG = TableSpec.of("ops.log", "id bigint, note string")


@pytest.fixture
def lake(tmp_path: Path) -> Catalog:
    return Catalog([EVENTS, LOG], settings=Settings(lake=tmp_path / "lake"))


def frame(spark, n: int, *, start: int = 0, days: int = 3, name: str = "a", score: float = 1.0) -> DataFrame:
    return spark.range(start, start + n).select(
        F.col("id"),
        F.lit(name).alias("name"),
        F.lit(score).alias("score"),
        F.expr(f"date_add(date'2024-01-01', cast(id % {days} as int))").alias("event_date"),
    )


def log_entries(path: str) -> list[dict]:
    folder = os.path.join(path, "_delta_log")
    out = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                out.extend(json.loads(line) for line in f if line.strip())
    return out


def test_session_is_native_delta(spark) -> None:
    assert delta_provider(spark) == "native"


def test_ensure_creates_partitioned_table_with_feed_and_constraints(spark, lake: Catalog) -> None:
    path = lake.ensure("silver.events", spark)
    meta = [e["metaData"] for e in log_entries(path) if "metaData" in e][-1]
    assert meta["partitionColumns"] == ["event_date"]
    assert meta["configuration"]["delta.enableChangeDataFeed"] == "true"
    assert meta["configuration"]["delta.constraints.score_non_negative"] == "score >= 0"
    assert meta["description"] == "test events"
    ops_meta = next(e["metaData"] for e in log_entries(lake.ensure("ops.log", spark)) if "metaData" in e)
    assert "delta.enableChangeDataFeed" not in ops_meta["configuration"]
    assert lake.ensure("silver.events", spark) == path  # a second call creates nothing
    assert len([n for n in os.listdir(os.path.join(path, "_delta_log")) if n.endswith(".json")]) == 2


def test_constraints_and_not_null_reject_the_whole_write(spark, lake: Catalog) -> None:
    lake.write(frame(spark, 10), "silver.events")
    with pytest.raises(Exception, match="score_non_negative"):
        lake.write(frame(spark, 10, start=100, score=-1.0), "silver.events")
    nulls = frame(spark, 5, start=200).withColumn("id", F.lit(None).cast("bigint"))
    with pytest.raises(Exception, match=r"(?i)null"):
        lake.write(nulls, "silver.events")
    assert lake.read(spark, "silver.events").count() == 10


def test_txn_pair_is_written_once(spark, lake: Catalog) -> None:
    for _ in range(3):
        lake.write(frame(spark, 10), "silver.events", txn=("query-1", 7))
    lake.write(frame(spark, 10, start=10), "silver.events", txn=("query-1", 8))
    lake.write(frame(spark, 10, start=20), "silver.events", txn=("query-1", 8))
    assert lake.read(spark, "silver.events").count() == 20


def test_replace_where_overwrites_only_its_partitions_and_refuses_rows_outside(spark, lake: Catalog) -> None:
    lake.write(frame(spark, 30), "silver.events")
    day2 = frame(spark, 4, start=1000, days=1, name="new").withColumn(
        "event_date", F.lit(dt.date(2024, 1, 2))
    )
    lake.write(day2, "silver.events", mode="overwrite", replace_where="event_date = DATE'2024-01-02'")
    counts = {
        (r.event_date.isoformat(), r.name): r["count"]
        for r in lake.read(spark, "silver.events").groupBy("event_date", "name").count().collect()
    }
    assert counts == {("2024-01-01", "a"): 10, ("2024-01-02", "new"): 4, ("2024-01-03", "a"): 10}
    with pytest.raises(Exception, match=r"(?i)replaceWhere|DELTA_REPLACE_WHERE_MISMATCH"):
        lake.write(
            frame(spark, 6), "silver.events", mode="overwrite", replace_where="event_date = DATE'2024-01-02'"
        )
    assert lake.read(spark, "silver.events").count() == 24


def test_time_travel_and_change_feed(spark, lake: Catalog) -> None:
    lake.write(frame(spark, 6), "silver.events")  # version 2 (0: create, 1: constraint)
    lake.write(frame(spark, 3, start=50), "silver.events")  # version 3
    assert lake.read(spark, "silver.events", version=2).count() == 6
    assert lake.read(spark, "silver.events").count() == 9
    changes = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", 3)
        .load(lake.path("silver.events"))
    )
    assert sorted(r.id for r in changes.where("_change_type = 'insert'").collect()) == [50, 51, 52]


def test_overwrites_of_one_partition_conflict_in_delta_and_the_catalog_retries(
    spark, lake: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    lake.write(frame(spark, 30), "silver.events")
    path = lake.path("silver.events")

    @F.udf("double", useArrow=False)
    def slow(x: float) -> float:
        import time

        time.sleep(3)
        return x

    def overwrite(name: str, *, through_catalog: bool, errors: list[BaseException]) -> None:
        df = (
            frame(spark, 3, start=5000, days=1, name=name)
            .withColumn("event_date", F.lit(dt.date(2024, 1, 2)))
            .coalesce(1)
            .withColumn("score", slow("score"))
        )
        where = "event_date = DATE'2024-01-02'"
        try:
            if through_catalog:
                lake.write(df, "silver.events", mode="overwrite", replace_where=where)
            else:
                df.write.format("delta").mode("overwrite").option("replaceWhere", where).save(path)
        except BaseException as e:
            errors.append(e)

    def race(through_catalog: bool) -> list[BaseException]:
        errors: list[BaseException] = []
        threads = [
            threading.Thread(
                target=overwrite, args=(n,), kwargs={"through_catalog": through_catalog, "errors": errors}
            )
            for n in ("x", "y")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors

    # Delta's own optimistic concurrency rejects one of two overwrites of the same partition ...
    raw = race(through_catalog=False)
    assert len(raw) == 1
    assert "Concurrent" in type(raw[0]).__name__
    # ... and the catalog's write tries the loser again, so both land, the retrier's rows last.
    with caplog.at_level(logging.WARNING, logger="featurelake.catalog"):
        assert race(through_catalog=True) == []
    assert any("lost to a concurrent commit" in r.getMessage() for r in caplog.records)
    day = lake.read(spark, "silver.events").where("event_date = DATE'2024-01-02'")
    assert day.count() == 3
    assert {r.name for r in day.collect()} in ({"x"}, {"y"})
    assert lake.read(spark, "silver.events").count() == 23


def test_overwrites_of_different_partitions_both_land(spark, lake: Catalog) -> None:
    lake.write(frame(spark, 30), "silver.events")

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
            lake.write(
                df.coalesce(1).withColumn("score", slow("score")),
                "silver.events",
                mode="overwrite",
                replace_where=f"event_date = DATE'{day}'",
            )
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
        for r in lake.read(spark, "silver.events").groupBy("event_date").count().collect()
    }
    assert counts == {"2024-01-01": 2, "2024-01-02": 10, "2024-01-03": 2}


def test_conflict_error_names_the_table(spark, lake: Catalog) -> None:
    assert issubclass(CommitConflictError, Exception)
    # a write to a table name the catalog does not declare is refused before Spark runs
    with pytest.raises(Exception, match=r"unknown table 'gold\.nope'"):
        lake.write(frame(spark, 1), "gold.nope")


def test_a_creation_killed_before_its_first_commit_is_created_again(spark, lake: Catalog) -> None:
    # what a SIGKILL during CREATE TABLE left (found by the chaos run): a log folder, no commit
    staged = Path(lake.path("silver.events")) / "_delta_log" / "_staged_commits"
    staged.mkdir(parents=True)
    assert not lake.exists("silver.events")
    lake.write(frame(spark, 3), "silver.events")
    assert lake.exists("silver.events")
    assert lake.read(spark, "silver.events").count() == 3


def _create_at_once(spark, catalog: Catalog, threads: int) -> list[BaseException]:
    """``catalog.ensure('silver.events')`` from ``threads`` threads released together; their errors."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def create() -> None:
        start.wait()
        try:
            catalog.ensure("silver.events", spark)
        except BaseException as e:
            errors.append(e)

    running = [threading.Thread(target=create) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return errors


def test_creations_racing_in_threads_all_land(spark, tmp_path: Path) -> None:
    # found by `benchmarks.backfill --parallel 4`: one chunk cleared the empty log folder that
    # another chunk's CREATE TABLE had just made, and Delta could not create the log
    # (DELTA_CANNOT_CREATE_LOG_PATH); without the creation lock this failed in the first round
    for round_ in range(6):
        lake = Catalog([EVENTS, LOG], settings=Settings(lake=tmp_path / f"lake{round_}"))
        assert _create_at_once(spark, lake, 4) == []
        lake.write(frame(spark, 3), "silver.events")
        assert lake.read(spark, "silver.events").count() == 3


def test_a_conflict_that_persists_names_the_table_partitions_and_winner(spark, lake: Catalog) -> None:
    import delta.exceptions as conflicts

    from featurelake.catalog import retry_conflicts

    lake.write(frame(spark, 2), "silver.events")
    path = lake.path("silver.events")
    tries = []

    def loses() -> None:
        tries.append(1)
        raise conflicts.ConcurrentAppendException(
            message="[DELTA_CONCURRENT_APPEND] Files were added to partition [event_date=2024-01-01] "
            "by a concurrent update. Please try the operation again.\nConflicting commit: {...}"
        )

    with pytest.raises(CommitConflictError) as caught:
        retry_conflicts(loses, "silver.events", "overwrite where event_date = '2024-01-01'", path)
    message = str(caught.value)
    assert len(tries) >= 2
    assert message.startswith("silver.events: overwrite where event_date = '2024-01-01' lost to concurrent")
    assert "[DELTA_CONCURRENT_APPEND]" in message
    assert "\n" not in message
    from deltalake import DeltaTable

    assert f"; the table is at version {DeltaTable(path).version()} (WRITE at " in message


def test_a_table_an_older_featurelake_wrote_keeps_working_and_gains_the_feed(spark, lake: Catalog) -> None:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    # what the previous release left: a delta-rs table with no change feed and no constraint
    path = lake.path("silver.events")
    old = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "name": ["old", "old"],
            "score": [1.0, 2.0],
            "event_date": pa.array([dt.date(2024, 1, 1)] * 2, pa.date32()),
        }
    )
    write_deltalake(path, old, partition_by=["event_date"])
    assert "delta.enableChangeDataFeed" not in DeltaTable(path).metadata().configuration

    lake.write(frame(spark, 3, start=10), "silver.events")
    config = DeltaTable(path).metadata().configuration
    assert config["delta.enableChangeDataFeed"] == "true"
    assert config["delta.constraints.score_non_negative"] == "score >= 0"
    assert sorted(r.id for r in lake.read(spark, "silver.events").collect()) == [1, 2, 10, 11, 12]
    last = DeltaTable(path).version()
    feed = (
        spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", last).load(path)
    )
    assert sorted(r.id for r in feed.collect()) == [10, 11, 12]
