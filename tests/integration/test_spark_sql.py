"""Spark SQL over the lake by name: the lake as the catalog, Delta's SQL, and ``featurelake spark-sql``."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import SqlError
from featurelake.lakehouse import register, register_tables
from featurelake.spark_sql import Shell, run, split_statements

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "featurelake")


def run_cli(*args: str, lake: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEATURELAKE_LAKE": str(lake)}
    return subprocess.run(
        [CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.fixture
def lake(spark, settings: Settings) -> Settings:
    """This test's lake, registered in the shared session (it moves the layer schemas here)."""
    register_tables(spark, settings)
    return settings


def rows(spark, statement: str) -> list[dict]:
    table = run(spark, statement)
    assert table is not None, statement
    return table.to_pylist()


def test_lake_tables_register_by_name_skipping_damaged_ones(spark, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "it's a lake"  # a quote and spaces in every path
    monkeypatch.setenv("FEATURELAKE_LAKE", str(root))
    write_deltalake(str(root / "gold" / "scores"), pa.table({"id": [1, 2, 3], "v": [10, 20, 30]}))
    write_deltalake(str(root / "ops" / "log"), pa.table({"n": [7]}))
    (root / "silver" / "not_yet" / "_delta_log").mkdir(parents=True)  # no commit: not a table
    broken = root / "gold" / "broken" / "_delta_log"
    broken.mkdir(parents=True)
    (broken / "00000000000000000000.json").write_text('{"protocol": {"minReaderVersion": 1}}\n{"metaD')
    write_deltalake(str(root / "gold" / "Mixed-Case"), pa.table({"n": [1]}))

    reg = register(spark, get_settings())

    assert reg.tables == ("gold.scores", "ops.log")
    assert set(reg.skipped) == {"gold.broken", "gold.Mixed-Case"}
    assert "00000000000000000000.json line 2" in reg.skipped["gold.broken"]
    assert rows(spark, "select sum(v) as s from gold.scores") == [{"s": 60}]
    # A table created by SQL lands in the lake layout, where the next process finds it.
    run(spark, "create table gold.made (x int) using delta")
    assert (root / "gold" / "made" / "_delta_log").is_dir()
    run(spark, "insert into gold.made values (5)")
    assert register_tables(spark, get_settings()) == ["gold.made", "gold.scores", "ops.log"]

    # Another lake: the schemas move, the first lake's tables are forgotten but keep their files.
    other = tmp_path / "other"
    write_deltalake(str(other / "gold" / "scores"), pa.table({"id": [9], "v": [1]}))
    monkeypatch.setenv("FEATURELAKE_LAKE", str(other))
    assert register_tables(spark, get_settings()) == ["gold.scores"]
    assert rows(spark, "select sum(v) as s from gold.scores") == [{"s": 1}]
    with pytest.raises(SqlError, match=r"^\[TABLE_OR_VIEW_NOT_FOUND\] .*`gold`\.`made`"):
        run(spark, "select * from gold.made")
    assert glob.glob(str(root / "gold" / "made" / "*.parquet"))  # a managed table's files stay
    # A table written meanwhile by another writer (delta-rs here) appears on the next registration.
    write_deltalake(str(other / "silver" / "late"), pa.table({"k": ["a", "b"]}))
    assert "silver.late" in register_tables(spark, get_settings())
    assert rows(spark, "select count(*) as n from silver.late") == [{"n": 2}]


def test_registration_is_cheap(spark, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    for i in range(25):
        layer = ("bronze", "silver", "gold", "quarantine", "ops")[i % 5]
        write_deltalake(str(root / layer / f"t{i}"), pa.table({"x": [i]}))
    start = time.perf_counter()
    names = register_tables(spark, Settings(lake=root))
    first = time.perf_counter() - start
    start = time.perf_counter()
    assert register_tables(spark, Settings(lake=root)) == names
    again = time.perf_counter() - start
    print(f"register 25 tables: first {first:.3f} s, again {again:.3f} s")
    assert len(names) == 25
    assert first < 10  # generous: ~0.3 s on an idle 2-core machine, shared runners are slower
    assert again < first


def test_merge_update_delete(spark, lake: Settings) -> None:
    run(spark, "create table gold.accounts (id int, balance int) using delta")
    run(spark, "insert into gold.accounts values (1, 100), (2, 200), (3, 300)")
    merged = rows(
        spark,
        """merge into gold.accounts a
           using (select * from values (2, 250), (4, 400) as s(id, balance)) s on a.id = s.id
           when matched then update set balance = s.balance
           when not matched then insert *""",
    )
    assert merged[0]["num_updated_rows"] == 1
    assert merged[0]["num_inserted_rows"] == 1
    assert rows(spark, "update gold.accounts set balance = balance + 1 where id >= 3") == [
        {"num_affected_rows": 2}
    ]
    assert rows(spark, "delete from gold.accounts where id = 1") == [{"num_affected_rows": 1}]
    assert rows(spark, "select id, balance from gold.accounts order by id") == [
        {"id": 2, "balance": 250},
        {"id": 3, "balance": 301},
        {"id": 4, "balance": 401},
    ]


def test_history_time_travel_and_restore(spark, lake: Settings) -> None:
    run(spark, "create table gold.tt (id int) using delta")  # version 0
    run(spark, "insert into gold.tt values (1), (2)")  # 1
    run(spark, "insert into gold.tt values (3)")  # 2
    run(spark, "delete from gold.tt where id = 1")  # 3
    history = rows(spark, "describe history gold.tt")
    assert [(h["version"], h["operation"]) for h in history] == [
        (3, "DELETE"),
        (2, "WRITE"),
        (1, "WRITE"),
        (0, "CREATE TABLE"),
    ]
    assert rows(spark, "select count(*) as n from gold.tt version as of 1") == [{"n": 2}]
    at_v2 = next(h["timestamp"] for h in history if h["version"] == 2)
    assert rows(spark, f"select sum(id) as s from gold.tt timestamp as of '{at_v2.isoformat()}'") == [
        {"s": 6}
    ]
    restored = rows(spark, "restore table gold.tt to version as of 1")
    assert restored[0]["restored_files_size"] >= 0
    assert rows(spark, "select id from gold.tt order by id") == [{"id": 1}, {"id": 2}]
    assert rows(spark, "describe history gold.tt limit 1")[0]["operation"] == "RESTORE"
    with pytest.raises(SqlError, match=r"^\[DELTA_VERSION_NOT_FOUND\] Cannot time travel"):
        run(spark, "select * from gold.tt version as of 42")


def test_change_data_feed(spark, lake: Settings) -> None:
    run(
        spark,
        "create table gold.cdf (id int, v string) using delta "
        "tblproperties (delta.enableChangeDataFeed = true)",
    )
    run(spark, "insert into gold.cdf values (1, 'a'), (2, 'b')")  # version 1
    run(spark, "update gold.cdf set v = 'B' where id = 2")  # 2
    run(spark, "delete from gold.cdf where id = 1")  # 3
    changes = rows(
        spark,
        "select id, v, _change_type, _commit_version from table_changes('gold.cdf', 1) "
        "order by _commit_version, id, _change_type",
    )
    assert [(c["_commit_version"], c["id"], c["v"], c["_change_type"]) for c in changes] == [
        (1, 1, "a", "insert"),
        (1, 2, "b", "insert"),
        (2, 2, "B", "update_postimage"),
        (2, 2, "b", "update_preimage"),
        (3, 1, "a", "delete"),
    ]


def test_optimize_zorder_and_vacuum(spark, lake: Settings) -> None:
    run(spark, "create table gold.small (id int, k int) using delta")
    for i in range(3):
        run(spark, f"insert into gold.small values ({i}, {10 - i})")
    folder = Path(lake.lake) / "gold" / "small"
    assert len(glob.glob(str(folder / "*.parquet"))) == 3
    metrics = rows(spark, "optimize gold.small zorder by (k)")[0]["metrics"]
    assert (metrics["numFilesRemoved"], metrics["numFilesAdded"]) == (3, 1)
    assert (
        dict(rows(spark, "describe history gold.small limit 1")[0]["operationParameters"])["zOrderBy"]
        == '["k"]'
    )
    with pytest.raises(SqlError, match=r"^\[DELTA_VACUUM_RETENTION_PERIOD_TOO_SHORT\]"):
        run(spark, "vacuum gold.small retain 0 hours")
    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    spark.conf.set(key, "false")
    try:
        run(spark, "vacuum gold.small retain 0 hours")
    finally:
        spark.conf.unset(key)
    assert len(glob.glob(str(folder / "*.parquet"))) == 1
    assert rows(spark, "select sum(id) as s, count(*) as n from gold.small") == [{"s": 3, "n": 3}]


def test_check_and_not_null_constraints(spark, lake: Settings) -> None:
    run(spark, "create table gold.checked (id int not null, v int) using delta")
    run(spark, "insert into gold.checked values (1, 5)")
    run(spark, "alter table gold.checked add constraint v_positive check (v > 0)")
    with pytest.raises(SqlError) as check:
        run(spark, "insert into gold.checked values (2, -1)")
    assert str(check.value).startswith(
        "[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES] CHECK constraint v_positive (v > 0) violated"
    )
    assert "\n" not in str(check.value)
    with pytest.raises(SqlError, match=r"^\[DELTA_NOT_NULL_CONSTRAINT_VIOLATED\] .*column: id"):
        run(spark, "insert into gold.checked values (null, 3)")
    with pytest.raises(SqlError, match=r"^\[DELTA_NEW_CHECK_CONSTRAINT_VIOLATION\]"):
        run(spark, "alter table gold.checked add constraint v_big check (v > 100)")
    assert rows(spark, "select id, v from gold.checked") == [{"id": 1, "v": 5}]


def test_statements_split_and_the_shell_waits_for_unfinished_ones(spark, lake: Settings) -> None:
    assert split_statements("select ';' as a; select 2 -- x;y\n from t; sel") == (
        ["select ';' as a", "select 2 -- x;y\n from t"],
        " sel",
    )
    shell = Shell(spark)
    assert shell.feed("select 1 as a,") == []  # unfinished: waits, runs nothing
    assert shell.pending
    [(_, result)] = shell.feed("2 as b")
    assert isinstance(result, pa.Table)
    assert result.to_pylist() == [{"a": 1, "b": 2}]
    outcomes = shell.feed("create table gold.sh (x int) using delta; insert into gold.sh values (4); selec 1")
    assert [type(o).__name__ for _, o in outcomes] == ["NoneType", "NoneType", "SqlError"]
    assert "PARSE_SYNTAX_ERROR" in str(outcomes[2][1])
    [(_, result)] = shell.feed("select x from gold.sh")
    assert isinstance(result, pa.Table)
    assert result.to_pylist() == [{"x": 4}]
    assert shell.feed("exit") == []
    assert shell.done


def test_cli_shell_and_statement_end_to_end(spark, catalog: Catalog) -> None:
    lake = catalog.settings.lake
    catalog.ensure("silver.airlines")  # declared, so DuckDB's `featurelake sql` sees it too
    register_tables(spark, catalog.settings)
    run(spark, "create table gold.persisted (x int) using delta")  # made by this process ...
    run(spark, "insert into gold.persisted values (20), (22)")
    script = "\n".join(
        [
            "select sum(x) as total from gold.persisted;",  # ... found by the next one
            "insert into silver.airlines values ('AA', 'American'), ('UA', 'United'), ('DL', 'Delta')",
            "delete from silver.airlines where carrier = 'AA'",
            "create table gold.by_cli (k string) using",  # unfinished: the next line completes it
            "  delta;",
            "insert into gold.by_cli values ('z')",
            "select nope from gold.by_cli",
            "select count(*) as n from silver.airlines",
            "exit",
            "select 'never run'",
        ]
    )
    res = run_cli("spark-sql", "--format", "jsonl", lake=lake, stdin=script)
    assert res.returncode == 2, res.stderr
    assert [json.loads(line) for line in res.stdout.splitlines()] == [
        {"total": 42},
        {"num_affected_rows": 1},  # the DELETE; INSERT and CREATE print nothing
        {"n": 2},
    ]
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 1, res.stderr
    assert errors[0].startswith("error: [UNRESOLVED_COLUMN.WITH_SUGGESTION] "), res.stderr
    # The DELETE is visible at once to DuckDB, and the CLI's table to this session.
    duck = run_cli("sql", "select carrier from silver.airlines order by 1", "--format", "csv", lake=lake)
    assert duck.stdout.splitlines() == ["carrier", "DL", "UA"], duck.stderr
    assert "gold.by_cli" in register_tables(spark, catalog.settings)
    assert rows(spark, "select k from gold.by_cli") == [{"k": "z"}]

    res = run_cli(
        "spark-sql", "select count(*) as n from silver.airlines; select * from gold.nope", lake=lake
    )
    assert res.returncode == 2
    assert res.stdout.splitlines()[-1] == "(1 row)"
    assert "| 2 |" in res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(
        "error: [TABLE_OR_VIEW_NOT_FOUND] The table or view `gold`.`nope` cannot be found"
    )
