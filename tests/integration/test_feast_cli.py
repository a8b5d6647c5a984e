"""Plain `feast apply` and `feast materialize` in the feature repository; the `featurelake features` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.features.definitions import build_definitions
from featurelake.features.testing import tiny_gold

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2] / "feature_repo"
ROW = [{"carrier": "UA", "origin": "EWR", "dest": "IAH", "tailnum": "N1"}]


def test_plain_feast_cli_in_feature_repo(settings: Settings, catalog: Catalog, tmp_path: Path) -> None:
    tiny_gold(catalog)
    repo = tmp_path / "feature_repo"
    repo.mkdir()
    shutil.copy(REPO / "flights.py", repo / "flights.py")
    features.write_feature_store_yaml(settings, repo)
    feast = [sys.executable, "-m", "feast.cli.cli"]
    env = {**os.environ, "FEATURELAKE_LAKE": str(settings.lake)}
    for args in (["apply"], ["materialize", "2013-01-01T00:00:00", "2013-03-02T12:00:00"]):
        done = subprocess.run(feast + args, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    out = features.online_features(ROW, settings=settings)
    assert out["flights_7d"] == [11]
    assert out["seats"] == [55]
    assert features.check_skew(10, settings=settings).ok


def test_featurelake_features_cli(
    settings: Settings, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_gold(catalog)
    monkeypatch.setattr(features, "write_feature_store_yaml", lambda *a, **k: Path("feature_store.yaml"))
    runner = CliRunner()
    result = runner.invoke(main, ["features", "apply", "--no-yaml"])
    assert result.exit_code == 0, result.output
    assert f"{len(build_definitions(catalog).feature_views)} feature views" in result.output
    result = runner.invoke(
        main, ["features", "materialize", "--from", "2013-01-01", "--to", "2013-03-02T12:00"]
    )
    assert result.exit_code == 0, result.output
    assert "carrier_delay_7d" in result.output
    result = runner.invoke(main, ["features", "skew", "--sample", "10"])
    assert result.exit_code == 0, result.output
    assert "0 mismatch" in result.output
    result = runner.invoke(main, ["features", "skew", "--service", "nope"])
    assert result.exit_code == 2
    assert result.output.startswith("error: no feature service")
