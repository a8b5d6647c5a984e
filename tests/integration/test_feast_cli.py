"""Plain `feast apply` and `feast materialize` in the feature repository; the `featurelake features` CLI."""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.cli import main
from featurelake.cli._progress import materialize_bar
from featurelake.config import Settings
from featurelake.features.definitions import build_definitions
from featurelake.features.testing import tiny_gold

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2] / "feature_repo"
ROW = [{"carrier": "UA", "origin": "EWR", "dest": "IAH", "tailnum": "N1"}]


def test_plain_feast_cli_in_feature_repo(settings: Settings, catalog: Catalog, tmp_path: Path) -> None:
    tiny_gold(catalog)
    yaml = features.write_feature_store_yaml(settings)
    # the configuration belongs to the lake: a second lake writes its own, the checkout gets none
    other = features.write_feature_store_yaml(Settings(lake=tmp_path / "other-lake"))
    assert yaml == settings.lake / "feast" / "feature_store.yaml"
    assert other != yaml
    assert str(settings.lake) in yaml.read_text()
    assert not (REPO / "feature_store.yaml").exists()
    # the definitions from the checkout's feature_repo/, the configuration from the lake
    feast = [sys.executable, "-m", "feast.cli.cli", "-c", str(REPO), "-f", str(yaml)]
    env = {**os.environ, "FEATURELAKE_LAKE": str(settings.lake)}
    features.apply(settings)  # what `featurelake features apply` registers
    materialized = subprocess.run(
        [*feast, "materialize", "2013-01-01T00:00:00", "2013-03-02T12:00:00"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert materialized.returncode == 0, materialized.stdout + materialized.stderr
    # nothing changed since: plain `feast apply` says so, without protobuf diffs of every view
    again = subprocess.run(
        [*feast, "apply"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes to registry" in again.stdout
    assert "Updated feature view" not in again.stdout, again.stdout[:3000]
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
    # the bar, drawn as on a terminal: every online view reported through Feast and the engine
    drawn = io.StringIO()
    terminal = Console(file=drawn, force_terminal=True, width=200, color_system=None)
    monkeypatch.setattr(
        "featurelake.cli._progress.materialize_bar", functools.partial(materialize_bar, console=terminal)
    )
    result = runner.invoke(
        main, ["features", "materialize", "--from", "2013-01-01", "--to", "2013-03-02T12:00"]
    )
    assert result.exit_code == 0, result.output
    assert "carrier_delay_7d" in result.output
    online = sum(1 for v in build_definitions(catalog).feature_views if v.online)
    assert f"{online}/{online} views" in drawn.getvalue()
    assert "rows written" in drawn.getvalue()
    result = runner.invoke(main, ["features", "skew", "--sample", "10"])
    assert result.exit_code == 0, result.output
    assert "0 mismatch" in result.output
    result = runner.invoke(main, ["features", "skew", "--service", "nope"])
    assert result.exit_code == 2
    assert result.output.startswith("error: no feature service")
