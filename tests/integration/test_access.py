"""Access control: the policy's roles in ``featurelake sql`` (DuckDB) and ``spark-sql``, and file modes.

The feature server's tokens are tested with the server, in ``test_serving.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from featurelake import spark_sql
from featurelake import sql as lake_sql
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import AccessDenied, ConfigError
from featurelake.governance.policy import load_policy

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "featurelake")


def featurelake(lake: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "FEATURELAKE_LAKE": str(lake), **env},
        timeout=300,
    )


@pytest.fixture
def lake(catalog: Catalog) -> Catalog:
    """bronze.weather and silver.airlines with a row each, written with delta-rs."""
    at = dt.datetime(2013, 1, 1, 5, tzinfo=dt.UTC)
    catalog.append_native("silver.airlines", [{"carrier": "UA", "name": "United Air Lines Inc."}])
    catalog.append_native(
        "bronze.weather",
        [
            {
                "event_id": "w1",
                "origin": "EWR",
                "obs_ts": at,
                "temp": 39.0,
                "event_date": at.date(),
                "_source_file": "weather-1.avro",
                "_ingested_at": at,
                "_batch_id": 0,
            }
        ],
    )
    return catalog


def role(name: str) -> Any:
    return load_policy().role(name)


def test_an_analyst_reads_silver_never_bronze_and_the_cli_says_so_in_one_line(lake: Catalog) -> None:
    assert lake_sql.run("select name from silver.airlines", lake, role=role("analyst")).to_pylist() == [  # type: ignore[union-attr]
        {"name": "United Air Lines Inc."}
    ]
    for query in (
        "select count(*) from bronze.weather",
        "with w as (select * from bronze.weather) select count(*) from w",
        "select * from silver.airlines where carrier in (select origin from bronze.weather)",
        "explain analyze select * from bronze.weather",
    ):
        with pytest.raises(AccessDenied, match=r"^role analyst may not read bronze\.weather \(policy: "):
            lake_sql.run(query, lake, role=role("analyst"))
    # an engineer reads bronze
    assert lake_sql.run("select temp from bronze.weather", lake, role=role("engineer")).to_pylist() == [  # type: ignore[union-attr]
        {"temp": 39.0}
    ]
    done = featurelake(lake.settings.lake, "sql", "--role", "analyst", "select * from bronze.weather")
    assert done.returncode == 2
    assert done.stderr == (
        "error: role analyst may not read bronze.weather (policy: silver.*, gold.*, masked.*)\n"
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        ("copy (select 1) to '{lake}/gold/forged.csv'", "COPY statements are refused"),
        ("attach '{lake}/x.duckdb' as x", "ATTACH statements are refused"),
        ("install httpfs", "INSTALL statements are refused"),
        ("set enable_external_access = true", "SET statements are refused"),
        ("create table t as select 1", "CREATE statements are refused"),
        ("select * from read_csv('/etc/passwd')", "may not call read_csv()"),
        (
            "select * from read_text('{lake}/silver/airlines/_delta_log/00000000000000000000.json')",
            "read_text()",
        ),
        ("select count(*) from delta_scan('{lake}/bronze/weather') where temp > 100", "delta_scan()"),
        ("select * from glob('{lake}/**')", "may not call glob()"),
    ],
)
def test_sql_is_read_only_for_every_role_but_admin(lake: Catalog, query: str, refusal: str) -> None:
    before = sorted(str(p) for p in lake.settings.lake.rglob("*"))
    for name in ("engineer", "analyst", "ml_service"):
        with pytest.raises(AccessDenied, match=refusal.replace("(", r"\(").replace(")", r"\)")):
            lake_sql.run(query.format(lake=lake.settings.lake), lake, role=role(name))
    assert sorted(str(p) for p in lake.settings.lake.rglob("*")) == before  # nothing written


def test_the_restricted_connection_itself_reaches_only_readable_tables(lake: Catalog) -> None:
    """Below the statement check: DuckDB's own guard (allowed directories, locked configuration)."""
    import duckdb

    con = lake_sql.connect(lake, role=role("analyst"))
    try:
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"select * from delta_scan('{lake.path('bronze.weather')}')").fetchall()
        with pytest.raises(duckdb.PermissionException):
            con.execute("select * from read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("set enable_external_access = true")
        assert con.execute("select count(*) from silver.airlines").fetchone() == (1,)
    finally:
        con.close()


def test_admin_may_write_and_a_statement_without_a_result_ends_cleanly(lake: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert lake_sql.run(f"copy (select * from silver.airlines) to '{out}'", lake, role=role("admin")) is None
    assert "United Air Lines" in out.read_text()
    done = featurelake(lake.settings.lake, "sql", "--role", "admin", "set threads = 1")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_cli_writes_output_files_itself_and_every_file_it_makes_is_the_owners(
    lake: Catalog, tmp_path: Path
) -> None:
    os.chmod(lake.settings.lake, 0o755)  # as an older featurelake left it
    done = featurelake(
        lake.settings.lake, "sql", "select * from silver.airlines", "--output", str(tmp_path / "a.parquet")
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.parquet").stat().st_mode & 0o777 == 0o600
    assert lake.settings.lake.stat().st_mode & 0o777 == 0o700
    group = featurelake(lake.settings.lake, "tables", FEATURELAKE_SHARE_GROUP="no-such-group-here")
    assert group.returncode == 2
    assert group.stderr == "error: FEATURELAKE_SHARE_GROUP='no-such-group-here' is not a group here\n"


def test_spark_sql_checks_each_plan_against_the_role(spark: Any) -> None:
    analyst, engineer = role("analyst"), role("engineer")
    for statement in (
        "select * from silver.flights",
        "select * from gold.plane version as of 1",
        "describe history gold.plane",
        "show tables in gold",
        "explain select * from silver.planes",
    ):
        spark_sql.check(spark, statement, analyst)
    refused = {
        "select * from bronze.flights": "may not read bronze.flights",
        "select (select count(*) from bronze.weather)": "may not read bronze.weather",
        "select * from delta.`/tmp/lake/bronze/flights`": "may not read delta./tmp/lake/bronze/flights",
        "select * from read_files('/etc')": "may not call read_files()",
        "delete from gold.plane where seats > 300": "DeleteFromTable statements are refused",
        "merge into gold.plane t using silver.planes s on t.tailnum = s.tailnum when matched then delete": (
            "MergeIntoTable statements are refused"
        ),
        "insert overwrite directory '/tmp/q' select 1": "InsertIntoDir statements are refused",
        "set spark.sql.shuffle.partitions = 1": "SetCommand statements are refused",
    }
    for statement, why in refused.items():
        with pytest.raises(AccessDenied, match=why.replace("(", r"\(").replace(")", r"\)")):
            spark_sql.check(spark, statement, analyst)
    spark_sql.check(spark, "delete from gold.plane where seats > 300", engineer)
    spark_sql.check(spark, "select * from bronze.flights", engineer)


def test_the_policy_is_checked_when_read(tmp_path: Path) -> None:
    def policy(text: str) -> Settings:
        path = tmp_path / "policy.toml"
        path.write_text(text)
        return get_settings({"FEATURELAKE_POLICY": str(path), "FEATURELAKE_LAKE": str(tmp_path / "lake")})

    with pytest.raises(ConfigError, match=r"lacks the role\(s\) engineer, analyst, ml_service"):
        load_policy(policy('[roles.admin]\ntables = ["*"]\n'))
    full = "".join(f'[roles.{r}]\ntables = ["*"]\n' for r in ("admin", "engineer", "analyst", "ml_service"))
    with pytest.raises(ConfigError, match=r"roles\.analyst has unknown key\(s\) tabels"):
        load_policy(policy(full.replace("[roles.analyst]\ntables", "[roles.analyst]\ntabels")))
    with pytest.raises(ConfigError, match=r"users\.bob names role 'boss', which is not declared"):
        load_policy(policy(full + '[users]\nbob = ["boss"]\n'))
    with pytest.raises(ConfigError, match="is not TOML"):
        load_policy(policy("roles = ["))
    loaded = load_policy(policy(full + '[users]\n"*" = ["analyst"]\nbob = ["engineer"]\n'))
    assert loaded.may_take("bob", "engineer", owner=False)
    assert not loaded.may_take("eve", "engineer", owner=False)
    assert loaded.may_take("eve", "analyst", owner=False)
    assert loaded.may_take("eve", "admin", owner=True)
    with pytest.raises(ConfigError, match="role 'root' is not in"):
        loaded.role("root")


def test_every_statement_is_audited_append_only_and_commits_name_their_actor(
    spark: Any, lake: Catalog
) -> None:
    import getpass
    import json

    from deltalake import DeltaTable

    root = lake.settings.lake
    assert featurelake(root, "sql", "--role", "analyst", "select * from bronze.weather").returncode == 2
    assert featurelake(root, "sql", "select count(*) from silver.airlines").returncode == 0
    done = featurelake(root, "audit", "--since", "2000-01-01", "--action", "sql", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["role"], r["status"], r["tables"]) for r in rows] == [
        ("engineer", "ok", "silver.airlines"),
        ("analyst", "refused", "bronze.weather"),
    ]
    assert {r["actor"] for r in rows} == {getpass.getuser()}
    assert rows[1]["detail"].startswith("role analyst may not read bronze.weather")
    assert rows[0]["target"] == "select count(*) from silver.airlines"
    # only who may read ops.* reads the trail
    refused = featurelake(root, "audit", "--role", "analyst")
    assert refused.returncode == 2
    assert "may not read ops.audit_log" in refused.stderr
    # append-only: Delta itself refuses to change or remove a row
    with pytest.raises(Exception, match=r"(?i)append.?only"):
        spark.sql(f"DELETE FROM delta.`{lake.path('ops.audit_log')}`").collect()
    (last,) = DeltaTable(lake.path("ops.audit_log")).history(1)
    assert last["actor"] == getpass.getuser()
    assert last["command"] == "featurelake sql"
