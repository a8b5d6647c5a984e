"""Airflow end to end: an Airflow backfill of daily_features against the CLI's, and the UI.

A small lake (the first week of January 2013 seeded into bronze); Airflow runs
with its own home and port, as ``make airflow`` configures it. The standalone
server (scheduler, DAG processor, API server, and the CLI beside them) uses
PostgreSQL, as in ``prod``: SQLite serialises their writes and a busy CI
machine saw "database is locked" from ``airflow backfill create``. (``dag.test()``
on the local profile's SQLite metadata is exercised by the monitor DAG's test
in ``tests/integration/test_alerts.py``; a daily_features run costs four
spark-submits, so the suite runs it only here.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from airflow_harness import Standalone, env_for, fresh_postgres_db
from browser import ARTIFACTS, chromium
from deltalake import DeltaTable

from featurelake.backfill.seed import seed_bronze
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features.server_process import free_port
from featurelake.orchestration.environment import ADMIN_USER, admin_password
from featurelake.reference import load_reference

SILVER = ("silver.flights", "silver.weather")
GOLD = ("gold.carrier_delay_7d", "gold.route_delay_30d", "gold.origin_weather", "gold.flight_labels")


def make_lake(
    spark, root: Path, *, days: int = 7, airflow: bool = True, airflow_db: str | None = None
) -> tuple[Settings, Catalog, dict[str, str]]:
    settings = Settings(
        lake=root / "lake", airflow_home=root / "home", airflow_port=free_port(), airflow_db=airflow_db
    )
    catalog = Catalog(settings=settings)
    end = dt.date(2013, 1, 1) + dt.timedelta(days=days)
    for dataset in ("flights", "weather"):
        seed_bronze(catalog, dataset, start=dt.date(2013, 1, 1), end=end)  # type: ignore[arg-type]
    load_reference(spark, catalog)
    env = env_for(settings, settings.airflow_home, settings.airflow_port)
    if not airflow:
        return settings, catalog, env
    res = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return settings, catalog, env


def cli_backfill(spark, catalog: Catalog, start: str, end: str, *, layers=("silver", "gold")) -> None:
    """What ``featurelake backfill --from START --to END --layers ...`` runs, in this process's session."""
    from featurelake.backfill import DEFAULT_CHUNK_DAYS, Request, run_backfill
    from featurelake.transforms.calendar import parse_day

    request = Request.for_range(parse_day(start), parse_day(end), layers=layers)
    result = run_backfill(request, catalog=catalog, spark=spark, parallel=1, chunk_days=DEFAULT_CHUNK_DAYS)
    assert result.ok, result.failures


def partition_hash(catalog: Catalog, table: str, days: list[dt.date]) -> str:
    data = pa.table(DeltaTable(catalog.path(table)).to_pyarrow_table())
    keep = [i for i, d in enumerate(data.column("event_date").to_pylist()) if d in days]
    rows = data.take(keep).drop_columns([c for c in data.column_names if c.startswith("_")])
    return hashlib.sha256("\n".join(sorted(map(repr, rows.to_pylist()))).encode()).hexdigest()


def online_carrier(settings: Settings, carrier: str) -> dict[str, object]:
    from featurelake.features import online_features

    got = online_features([{"carrier": carrier}], ["carrier_delay_7d:flights_7d"], settings=settings)
    return {k: v[0] for k, v in got.items()}


def _days(catalog: Catalog, table: str) -> set[dt.date]:
    from featurelake import sql as lake_sql

    return set(
        lake_sql.query(f"select distinct event_date as d from {table}", catalog).column("d").to_pylist()
    )


@pytest.fixture(scope="module")
def airflow_lake(spark, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("airflow-e2e")
    settings, catalog, env = make_lake(spark, root, airflow_db=fresh_postgres_db("featurelake_airflow_e2e"))
    # No scheduled runs: unpausing daily_features would start one for yesterday, four
    # spark-submits on an empty day queued ahead of the backfill. Backfills and manual
    # runs still run.
    env = {**env, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    # The DAG files do not change during the tests: parse them at start, not every 10 s (make
    # airflow's interval, for editing) in processes that compete with the spark-submits for CPU.
    env |= {f"AIRFLOW__{s}__MIN_FILE_PROCESS_INTERVAL": "900" for s in ("SCHEDULER", "DAG_PROCESSOR")}
    # a short lock-out, so that the test of it can wait it out
    env |= {"FEATURELAKE_AIRFLOW_LOGIN_ATTEMPTS": "3", "FEATURELAKE_AIRFLOW_LOGIN_LOCKOUT_S": "8"}
    server = Standalone(env, root / "standalone.log")
    server.start()
    # DAGs start paused (make airflow too); backfill and manual runs need daily_features live.
    res = server.cli("dags", "unpause", "daily_features")
    assert res.returncode == 0, res.stderr[-2000:]
    yield settings, catalog, env, server
    server.stop()


def _wait_runs(
    server: Standalone, token: str, dag_id: str, n: int, run_type: str, timeout: float = 900
) -> list[dict]:
    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = server.api("GET", f"/dags/{dag_id}/dagRuns?limit=100", token)["dag_runs"]
        runs = [r for r in runs if r["run_type"] == run_type]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        if len(done) >= n:
            return runs
        time.sleep(5)
    raise AssertionError(f"{dag_id}: runs did not finish in {timeout} s: {runs}")


def test_airflow_backfill_matches_featurelake_backfill(spark, airflow_lake, tmp_path: Path) -> None:
    settings, catalog, _env, server = airflow_lake
    token = server.token(ADMIN_USER, admin_password(settings.airflow_home))
    res = server.cli(
        "backfill",
        "create",
        "--dag-id",
        "daily_features",
        "--from-date",
        "2013-01-02",
        "--to-date",
        "2013-01-02",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    # one run (four spark-submits) took 814 s on a loaded 2-core CI machine; one day keeps
    # the comparison and halves the wait
    runs = _wait_runs(server, token, "daily_features", 1, "backfill", timeout=1200)
    assert [r["state"] for r in runs] == ["success"], runs

    # the same day as `featurelake backfill --from 2013-01-02 --to 2013-01-03`, on a second lake
    # with the same bronze
    _, cli_catalog, _ = make_lake(spark, tmp_path, airflow=False)
    cli_backfill(spark, cli_catalog, "2013-01-02", "2013-01-02")
    silver_days = [dt.date(2013, 1, 2)]
    gold_days = [dt.date(2013, 1, d) for d in (2, 3)]
    for table in SILVER:
        assert partition_hash(catalog, table, silver_days) == partition_hash(
            cli_catalog, table, silver_days
        ), table
    for table in GOLD:
        assert partition_hash(catalog, table, gold_days) == partition_hash(cli_catalog, table, gold_days), (
            table
        )
    # the run's last task loaded the new gold into the online store: UA's 7-day count as of the
    # midnight after the day, which is what gold holds for 2013-01-03, counted again from silver
    from featurelake import sql as lake_sql

    expected = (
        lake_sql.query(
            "select flights_7d from gold.carrier_delay_7d "
            "where carrier = 'UA' and event_date = date '2013-01-03'",
            catalog,
        )
        .column("flights_7d")[0]
        .as_py()
    )
    from_silver = (
        lake_sql.query(
            "select count(*) as n from silver.flights where carrier = 'UA' "
            "and event_ts >= timestamptz '2012-12-27 00:00:00+00' "
            "and event_ts < timestamptz '2013-01-03 00:00:00+00'",
            catalog,
        )
        .column("n")[0]
        .as_py()
    )
    assert expected == from_silver > 0
    assert online_carrier(settings, "UA")["flights_7d"] == expected
    # Airflow's OpenLineage provider sent an event per task, beside the jobs' own per write
    lines = (settings.lake / "lineage" / "airflow.jsonl").read_text().splitlines()
    tasks = {json.loads(line)["job"]["name"] for line in lines}
    assert any(name.startswith("daily_features.") for name in tasks), sorted(tasks)[:10]
    written = (settings.lake / "lineage" / "featurelake.jsonl").read_text()
    assert '"write gold.carrier_delay_7d"' in written


def test_ui_requires_login_lists_dags_and_runs_daily_features(airflow_lake) -> None:
    from playwright.sync_api import sync_playwright

    settings, _catalog, _env, server = airflow_lake
    executable = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        server_errors: list[str] = []  # a page can look half-drawn while its API call failed
        page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.url}"))
        page.goto(f"{server.url}/dags")
        page.wait_for_selector("input[name=username], input#username, input[type=text]", timeout=60_000)
        assert "login" in page.url  # no anonymous access
        page.fill("input[name=username], input#username, input[type=text]", ADMIN_USER)
        page.fill("input[type=password]", admin_password(settings.airflow_home))
        page.keyboard.press("Enter")
        for dag_id in ("ingest", "daily_features", "maintenance", "train_delay_model"):
            page.get_by_text(dag_id, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "airflow-dags.png"), full_page=True)

        page.goto(f"{server.url}/assets")
        link = page.get_by_role("link", name="gold.carrier_delay_7d", exact=True)
        link.wait_for(timeout=60_000)
        link.click()
        page.wait_for_url("**/assets/**", timeout=60_000)
        page.locator(".react-flow__node").first.wait_for(timeout=120_000)  # the lineage graph
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "airflow-asset-graph.png"), full_page=True)

        page.goto(f"{server.url}/dags/daily_features")
        page.get_by_role("button", name="Trigger").first.click()
        page.get_by_role("button", name="Trigger").last.click()
        token = server.token(ADMIN_USER, admin_password(settings.airflow_home))
        manual = _wait_runs(server, token, "daily_features", 1, "manual")
        assert manual[0]["state"] == "success", manual
        page.reload()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(ARTIFACTS / "airflow-daily-features-run.png"), full_page=True)
        browser.close()
    assert not server_errors, server_errors


def _listening(port: int) -> set[str]:
    """The addresses a TCP socket listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    import ipaddress

    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)
            # the kernel writes each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(words)))
    return found


def test_airflow_listens_on_loopback_and_locks_out_repeated_failed_logins(airflow_lake) -> None:
    import urllib.error
    import urllib.request

    settings, _catalog, _env, server = airflow_lake
    assert _listening(int(server.url.rsplit(":", 1)[1])) == {"127.0.0.1"}

    def login(password: str) -> int:
        req = urllib.request.Request(
            f"{server.url}/auth/token",
            data=json.dumps({"username": ADMIN_USER, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    right = admin_password(settings.airflow_home)
    assert [login("wrong") for _ in range(3)] == [401, 401, 401]
    assert login(right) == 429  # locked out: the right password waits too
    time.sleep(9)
    assert login(right) == 201
