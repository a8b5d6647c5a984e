"""MLflow as featurelake's tracking store and registry: the CLI over it, and its UI in Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import ARTIFACTS, offline_page, served
from delay_sample import sample, train

from featurelake.catalog import Catalog
from featurelake.models.delay.features import add_context

pytestmark = pytest.mark.integration

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A lake with two registered versions of ``delay``: 1 the champion, 2 the challenger."""
    from featurelake.config import get_settings

    lake = tmp_path_factory.mktemp("mlflow") / "lake"
    catalog = Catalog(settings=get_settings({"FEATURELAKE_LAKE": str(lake)}))
    rows = add_context(sample(3000))
    for _ in range(2):
        train(catalog, rows)
    return catalog


def cli(catalog: Catalog, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FEATURELAKE, *args],
        env={**os.environ, "FEATURELAKE_LAKE": str(catalog.settings.lake)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_models_promote_and_rollback_from_the_command_line(trained: Catalog) -> None:
    listed = cli(trained, "models", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["version"], r["aliases"]) for r in rows] == [("1", "champion"), ("2", "challenger")]
    assert rows[0]["lineage"]["tables"] == {"gold.flight_labels": 4, "gold.carrier_delay_7d": 2}
    assert rows[0]["auc"] == rows[0]["metrics"]["validation"]["model"]["auc"]

    promoted = cli(trained, "models", "promote", "2", "--to", "champion")
    assert promoted.returncode == 0, promoted.stderr
    assert "delay version 2 is now champion" in promoted.stdout
    table = cli(trained, "models").stdout.splitlines()
    assert table[0].startswith("delay 1  auc=")
    assert table[1].startswith("delay 2 @champion  auc=")

    back = cli(trained, "models", "rollback")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == "delay: champion rolled back from version 2 to version 1"
    again = cli(trained, "models", "rollback")
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "error: model 'delay': version 1 is its first champion; nothing to roll back to"
    )
    missing = cli(trained, "models", "promote", "9", "--to", "challenger")
    assert missing.returncode == 2
    assert "model 'delay' has no version or alias '9'; it has 1@champion, 2" in missing.stderr


def test_the_mlflow_ui_shows_both_runs_with_their_datasets_and_the_registered_model(
    trained: Catalog,
) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    with (
        served([FEATURELAKE, "mlflow"], trained.settings.lake, "/health", "featurelake mlflow") as base,
        sync_playwright() as pw,
        offline_page(pw, base, refused) as page,
    ):
        page.goto(f"{base}/#/experiments/1/runs")
        runs = page.get_by_text("delay 2013-01-01..2013-05-01")
        runs.first.wait_for(timeout=60_000)
        assert runs.count() == 2
        datasets = page.get_by_text("gold.carrier_delay_7d@v2")
        assert datasets.count() == 2  # each run names the Delta table and version it read
        page.screenshot(path=str(ARTIFACTS / "mlflow-runs.png"))

        page.goto(f"{base}/#/models/delay")
        # each version with its alias and the tables it was trained from (the other test of this
        # module moves the aliases: the champion is the one alias every order leaves)
        page.get_by_text("gold.carrier_delay_7d@v2, gold.flight_labels@v4").first.wait_for(timeout=60_000)
        assert page.get_by_text("Version 1").count() == 1
        assert page.get_by_text("Version 2").count() == 1
        page.get_by_text(re.compile(r"^@\s*champion$")).first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "mlflow-model.png"))
    assert refused == []  # the UI loaded nothing from outside the server


def test_prod_keeps_runs_and_the_registry_in_postgresql(tmp_path: Path) -> None:
    """The prod profile's store is database ``mlflow`` on the PostgreSQL server; here a fresh one."""
    from airflow_harness import fresh_postgres_db
    from conftest import require_service

    from featurelake.config import get_settings
    from featurelake.models import list_versions, resolve
    from featurelake.models.tracking import tracking_uri

    require_service("PostgreSQL", 5432)
    env = {"FEATURELAKE_PROFILE": "prod", "FEATURELAKE_LAKE": str(tmp_path / "lake")}
    assert tracking_uri(get_settings(env)) == "postgresql+psycopg2://postgres@127.0.0.1:5432/mlflow"
    url = fresh_postgres_db("featurelake_mlflow_test")
    settings = get_settings(
        {
            "FEATURELAKE_PROFILE": "prod",
            "FEATURELAKE_LAKE": str(tmp_path / "lake"),
            "FEATURELAKE_MLFLOW_DB": url,
        }
    )
    result = train(Catalog(settings=settings), add_context(sample(2000)))
    assert (result.version, result.alias) == ("1", "champion")
    assert resolve("delay", None, settings).run_id == result.run_id
    assert [v.version for v in list_versions("delay", settings)] == ["1"]
    assert not (tmp_path / "lake" / "mlflow" / "mlflow.db").exists()  # nothing went to SQLite
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from registered_models where name = 'delay'").fetchone() == (1,)
