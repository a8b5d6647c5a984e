"""`featurelake features ui`: Feast's web UI over a lake's registry, in Chromium, nothing fetched."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser import ARTIFACTS, chromium, offline_page, served

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features.testing import tiny_gold

pytestmark = pytest.mark.integration

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


def test_feast_ui_shows_the_lakes_views_and_lineage(settings: Settings, catalog: Catalog) -> None:
    from playwright.sync_api import sync_playwright

    chromium()  # fails or skips before the server starts
    tiny_gold(catalog)
    definitions = features.apply(settings)
    refused: list[str] = []
    with served([FEATURELAKE, "features", "ui"], settings.lake, "/", "the Feast UI") as base:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p, offline_page(p, base, refused) as page:
            page.goto(f"{base}/p/featurelake/feature-view/", timeout=120_000)
            for view in definitions.feature_views:  # every view of the lake is listed
                page.get_by_text(view.name, exact=True).first.wait_for(timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / "feast-ui-feature-views.png"), full_page=True)
            page.goto(f"{base}/p/featurelake/feature-view/carrier_delay_7d/", timeout=120_000)
            page.get_by_text("flights_7d").first.wait_for(timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / "feast-ui-carrier-delay-7d.png"), full_page=True)
            page.goto(f"{base}/p/featurelake/lineage/", timeout=120_000)
            page.locator(".react-flow__node").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "feast-ui-lineage.png"), full_page=True)
    assert refused == [], refused
