"""`featurelake docs`: the catalog site, built from a small lake and read in Chromium with the network off."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
from browser import ARTIFACTS, chromium, offline_page, served
from deltalake import DeltaTable

from featurelake.catalog import EXTERNAL_SOURCES, Catalog
from featurelake.config import Settings
from featurelake.docs_site import build_site, declared_models, lineage
from featurelake.features.definitions import build_definitions
from featurelake.features.testing import conform, tiny_gold

pytestmark = pytest.mark.integration

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


def _checks(catalog: Catalog) -> None:
    """Two batches of one bronze suite's results in ops.validation_results, one of them failing."""
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    rows = [
        {
            "dataset": "flights",
            "suite": "flights_bronze",
            "run": "ingest_flights",
            "batch_id": batch,
            "expectation": "dep_delay_range",
            "expectation_type": "expect_column_values_to_be_between",
            "column_name": "dep_delay",
            "severity": "quarantine",
            "success": batch == 0,
            "element_count": 100,
            "unexpected_count": 0 if batch == 0 else 7,
            "unexpected_percent": 0.0 if batch == 0 else 7.0,
            "outcome": "written",
            "validated_at": at + dt.timedelta(minutes=batch),
        }
        for batch in (0, 1)
    ]
    from featurelake.spark import get_spark

    catalog.append_rows(
        get_spark(), "ops.validation_results", conform(catalog, "ops.validation_results", rows)
    )


def test_lineage_runs_from_the_event_streams_to_the_model(catalog: Catalog) -> None:
    g = lineage(catalog, build_definitions(catalog), declared_models())
    assert {f"table:{n}" for n in catalog.names()} <= set(g.nodes)
    assert {f"source:{k}" for k in EXTERNAL_SOURCES} <= set(g.nodes)
    # every feature view reads a catalog table, and the delay model's lineage reaches both event streams
    assert all(g.upstream(n) for n in g.nodes if n.startswith(("view:", "service:", "model:")))
    ancestors = g.around("model:delay").nodes
    assert {"source:events:flights", "source:events:weather", "view:carrier_delay_7d"} <= set(ancestors)
    assert "table:gold.flight_labels" in ancestors


def test_docs_site_lists_every_table_with_lineage_offline(settings: Settings, catalog: Catalog) -> None:
    from playwright.sync_api import sync_playwright

    chromium()  # fails or skips before the server starts
    tiny_gold(catalog)
    _checks(catalog)
    refused: list[str] = []
    with served(
        [FEATURELAKE, "docs", "--serve"], settings.lake, "/index.html", "featurelake docs --serve"
    ) as base:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p, offline_page(p, base, refused, width=1500) as page:
            page.goto(f"{base}/index.html")
            listed = page.locator("#tables ~ table").first.locator("tr td:first-child a").all_inner_texts()
            assert sorted(listed) == catalog.names()
            drawn = set(page.locator("svg.lineage a").evaluate_all("els => els.map(e => e.dataset.node)"))
            assert {f"table:{n}" for n in catalog.names()} <= drawn
            assert {"view:carrier_delay_7d", "service:delay_model_v1", "model:delay"} <= drawn
            assert page.locator("svg.lineage path.edge").count() >= len(catalog.names())
            page.screenshot(path=str(ARTIFACTS / "docs-site-index.png"), full_page=True)

            page.locator("svg.lineage a[data-node='table:gold.carrier_delay_7d']").click()
            page.wait_for_url(f"{base}/tables/gold.carrier_delay_7d.html")
            facts = dict(
                zip(
                    page.locator("dl.facts dt").all_inner_texts(),
                    page.locator("dl.facts dd").all_inner_texts(),
                    strict=True,
                )
            )
            assert facts["rows"] == str(
                DeltaTable(catalog.path("gold.carrier_delay_7d")).to_pyarrow_table().num_rows
            )
            assert facts["owner"] == catalog.spec("gold.carrier_delay_7d").owner != ""
            assert "carrier_delay_7d" in facts["downstream"]
            described = page.locator("h2:text('Columns') + table tr td:last-child").all_inner_texts()
            assert len(described) == len(catalog.spec("gold.carrier_delay_7d").schema.columns)
            assert all(d.strip() for d in described), described
            page.screenshot(path=str(ARTIFACTS / "docs-site-table.png"), full_page=True)

            page.goto(f"{base}/tables/bronze.flights.html")
            quality = page.locator("h2:text('Quality') + p + table").inner_text()
            assert re.search(r"dep_delay_range.*\b2\b.*\b1\b.*\b200\b.*\b7\b.*7\.00 %.*failed", quality, re.S)

            page.goto(f"{base}/features/carrier_delay_7d.html")
            assert "delay" in page.locator("dl.facts dd").last.inner_text()  # used by the delay model
            features = page.locator("h2:text('Features') + table").inner_text()
            assert "flights_7d" in features
            assert "dep_delay_avg_7d" in features
    assert refused == [], refused


def test_a_damaged_table_is_marked_and_the_rest_still_listed(settings: Settings, catalog: Catalog) -> None:
    tiny_gold(catalog)
    log = Path(catalog.path("gold.plane")) / "_delta_log"
    last = sorted(log.glob("*.json"))[-1]
    last.write_text(last.read_text()[:-40])  # a commit cut mid-line
    index = build_site(settings.lake / "site", catalog)
    text = index.read_text()
    assert re.search(r"gold\.plane</a> <span class=\"badge bad\">damaged", text)
    page = (index.parent / "tables" / "gold.carrier_delay_7d.html").read_text()
    rows = DeltaTable(catalog.path("gold.carrier_delay_7d")).to_pyarrow_table().num_rows
    assert f"<dt>rows</dt><dd>{rows}</dd>" in page
    assert "cannot be read" in (index.parent / "tables" / "gold.plane.html").read_text()
