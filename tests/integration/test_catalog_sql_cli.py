"""The catalog, the DuckDB SQL views and the CLI over a real lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from featurelake import sql as lake_sql
from featurelake.catalog import Catalog, TableSpec
from featurelake.errors import TableNotFoundError
from featurelake.reference import load_reference, loaded_reference

CLI = str(Path(sys.executable).parent / "featurelake")


def run_cli(*args: str, lake: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEATURELAKE_LAKE": str(lake)}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def loaded(spark, catalog: Catalog) -> Catalog:
    load_reference(spark, catalog)
    return catalog


def test_catalog_creates_tables_with_their_partitioning(catalog: Catalog) -> None:
    path = catalog.ensure("bronze.flights")
    meta = DeltaTable(path).metadata()
    assert meta.partition_columns == ["event_date"]
    assert "departures" in meta.description
    assert path == str(catalog.settings.lake / "bronze" / "flights")
    assert catalog.ensure("bronze.flights") == path  # idempotent
    assert DeltaTable(path).version() == 0


def test_unknown_table_and_bad_declarations() -> None:
    with pytest.raises(TableNotFoundError, match=r"unknown table 'gold\.nope'; known tables: "):
        Catalog().spec("gold.nope")
    with pytest.raises(ValueError, match=r"must be '<layer>\.<name>'"):
        TableSpec.of("platinum.x", "a int")
    with pytest.raises(Exception, match="no column 'event_date'"):
        TableSpec.of("gold.x", "a int", partition_by=["event_date"])


def test_reference_dimensions_load_and_reload_idempotently(spark, loaded: Catalog) -> None:
    counts = {
        n: loaded.read(spark, n).count() for n in ("silver.airlines", "silver.airports", "silver.planes")
    }
    assert counts == {"silver.airlines": 16, "silver.airports": 1458, "silver.planes": 3322}
    load_reference(spark, loaded)
    assert loaded.read(spark, "silver.planes").count() == 3322
    assert lake_sql.query("select count(*) as n from silver.planes", loaded).to_pylist() == [{"n": 3322}]
    # a rerun of the demo skips them while nothing else has written to any of them
    assert loaded_reference(loaded) == counts
    spark.sql(f"DELETE FROM delta.`{loaded.path('silver.airlines')}` WHERE carrier = 'AA'")
    assert loaded_reference(loaded) is None


def test_sql_views_cover_every_existing_table(loaded: Catalog) -> None:
    loaded.ensure("bronze.flights")
    con = lake_sql.connect(loaded)
    views = {
        f"{s}.{t}"
        for s, t in con.sql("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    }
    assert {"silver.airlines", "silver.airports", "silver.planes", "bronze.flights"} <= views
    assert con.sql("select count(*) from bronze.flights").fetchone() == (0,)
    row = con.sql("select name from silver.airlines where carrier = 'UA'").fetchone()
    assert row == ("United Air Lines Inc.",)


def test_a_declared_table_not_written_yet_answers_no_rows_of_its_columns(loaded: Catalog) -> None:
    assert not loaded.exists("ops.alerts")
    con = lake_sql.connect(loaded)
    assert con.sql("select count(*) from ops.alerts").fetchone() == (0,)
    described = dict(con.sql("select column_name, column_type from (describe ops.alerts)").fetchall())
    assert list(described) == loaded.spec("ops.alerts").schema.names
    assert described["raised_at"] == "TIMESTAMP WITH TIME ZONE"
    assert described["emailed"] == "BOOLEAN"


def test_cli_sql_formats_and_outputs(loaded: Catalog, tmp_path: Path) -> None:
    lake = loaded.settings.lake
    res = run_cli("sql", "select count(*) as n from silver.planes", lake=lake)
    assert res.returncode == 0, res.stderr
    assert "3322" in res.stdout
    res = run_cli(
        "sql",
        "select carrier, name from silver.airlines order by carrier limit 2",
        "--format",
        "csv",
        lake=lake,
    )
    assert res.stdout.splitlines() == ["carrier,name", "9E,Endeavor Air Inc.", "AA,American Airlines Inc."]
    res = run_cli(
        "sql", "select carrier from silver.airlines order by 1 limit 1", "--format", "json", lake=lake
    )
    assert json.loads(res.stdout) == [{"carrier": "9E"}]  # one document
    out = tmp_path / "planes.parquet"
    res = run_cli("sql", "select * from silver.planes", "--output", str(out), lake=lake)
    assert res.returncode == 0, res.stderr
    assert pq.read_metadata(out).num_rows == 3322


def test_cli_tables_lists_versions_rows_and_partitions(loaded: Catalog) -> None:
    res = run_cli("tables", lake=loaded.settings.lake)
    assert res.returncode == 0, res.stderr
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("silver.planes"))
    assert "3,322" in line
    assert "not created" in next(ln for ln in res.stdout.splitlines() if ln.startswith("bronze.flights"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sql", "select * from silver.nope"), "Table with name nope does not exist"),
        (("sql", "selec 1"), "syntax error"),
        (("sql", "select 1", "--output", "x.txt"), "must end in .parquet or .csv"),
        (("maintain", "--table", "gold.nope"), "unknown table 'gold.nope'"),
        (("maintain", "--table", "silver.planes", "--vacuum-hours", "1"), "below the 168 h guard"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(loaded: Catalog, args: tuple[str, ...], message: str) -> None:
    res = run_cli(*args, lake=loaded.settings.lake)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_cli_maintain_compacts(loaded: Catalog) -> None:
    res = run_cli(
        "maintain",
        "--table",
        "silver.airports",
        "--zorder",
        "lat,lon",
        "--vacuum-hours",
        "0",
        "--force",
        lake=loaded.settings.lake,
    )
    assert res.returncode == 0, res.stderr
    # one line, ours: what the JVM prints (Delta's "Deleted N files and directories ...") goes to
    # the Spark log, not to the command's output
    assert res.stdout.splitlines() == [res.stdout.strip()], res.stdout
    assert res.stdout.startswith("silver.airports:")
    assert "vacuumed" in res.stdout
    assert lake_sql.query("select count(*) as n from silver.airports", loaded).to_pylist() == [{"n": 1458}]
