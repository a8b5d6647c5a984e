"""featurelake's Spark evaluation of a suite agrees with Great Expectations' own, and Data Docs build."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import ARTIFACTS, chromium, offline_page

from featurelake.avro import load_schema
from featurelake.ingest.decode import read_records
from featurelake.ingest.landing import avro_bytes
from featurelake.ingest.synthetic import BAD_RECORD_KINDS, synthetic_records
from featurelake.quality.checks import evaluate
from featurelake.quality.docs import gx_validate
from featurelake.quality.suites import load_suite

pytestmark = pytest.mark.integration


def _fixture(spark: Any, folder: Path) -> Any:
    """300 flights with every kind of bad record planted, plus warn-level oddities, decoded as ingest does."""
    rng = np.random.default_rng(21)
    records = synthetic_records("flights", 300, rng)
    kinds = [k for k, per_dataset in BAD_RECORD_KINDS.items() if "flights" in per_dataset]
    for i, kind in enumerate(kinds * 4):
        BAD_RECORD_KINDS[kind]["flights"][0](records[7 * i + 3])
    records[250]["air_time"] = 5.0  # warn: implausible
    records[251]["tailnum"] = "N" * 40  # too long
    records[252]["carrier"] = "X"  # too short
    writer = copy.deepcopy(load_schema("flights"))
    next(f for f in writer["fields"] if f["name"] == "carrier")["type"] = ["null", "string"]
    path = folder / "fixture.avro"
    path.write_bytes(avro_bytes(writer, records))
    reader = load_schema("flights")
    return read_records(spark, [str(path)], reader, "sched_dep_ts").select(
        *[f["name"] for f in reader["fields"]]
    )


def test_spark_evaluation_agrees_with_gx_on_the_shipped_suite(spark: Any, tmp_path: Path) -> None:
    df = _fixture(spark, tmp_path).persist()
    suite = load_suite("flights_bronze")
    ours = {r.check.name: (r.success, r.unexpected_count) for r in evaluate(df, suite)}
    theirs, index = gx_validate(df, suite, root=tmp_path / "gx", asset="flights")
    assert theirs == ours
    failing = {n for n, (ok, _) in ours.items() if not ok}
    assert {
        "origin_in_nyc",
        "dep_delay_in_range",
        "distance_positive",
        "sched_dep_ts_in_2013",
        "dep_delay_null_iff_dep_time_null",
        "carrier_not_null",
        "tailnum_length",
        "carrier_length",
        "air_time_plausible",
    } <= failing
    assert index.is_file()
    assert "flights_bronze" in index.read_text()


def test_other_supported_types_and_mostly_agree_with_gx(spark: Any, tmp_path: Path) -> None:
    df = _fixture(spark, tmp_path)
    suite_json = {
        "name": "extra",
        "expectations": [
            {
                "type": "expect_column_values_to_be_null",
                "kwargs": {"column": "air_time"},
                "meta": {"name": "a", "severity": "warn"},
            },
            {
                "type": "expect_column_values_to_not_be_in_set",
                "kwargs": {"column": "dest", "value_set": ["ATL", "ORD"]},
                "meta": {"name": "b", "severity": "warn"},
            },
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "tailnum", "regex": "^N[0-9]+$"},
                "meta": {"name": "c", "severity": "quarantine"},
            },
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "origin", "value_set": ["EWR", "JFK", "LGA"], "mostly": 0.9},
                "meta": {"name": "d", "severity": "fail"},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "dep_delay", "max_value": 0, "strict_max": True, "mostly": 0.2},
                "meta": {"name": "e", "severity": "warn"},
            },
        ],
    }
    (tmp_path / "extra.json").write_text(json.dumps(suite_json))
    suite = load_suite("extra", tmp_path)
    ours = {r.check.name: (r.success, r.unexpected_count) for r in evaluate(df, suite)}
    theirs, _ = gx_validate(df, suite, root=tmp_path / "gx", asset="extra")
    assert theirs == ours
    assert ours["d"][0] is True
    assert ours["d"][1] > 0


def test_data_docs_render_styled_with_the_network_off(spark: Any, tmp_path: Path) -> None:
    """Data Docs in Chromium with every non-file request refused: styled, with nothing fetched."""
    from playwright.sync_api import sync_playwright

    chromium()  # fails or skips before the docs are built
    _, index = gx_validate(
        _fixture(spark, tmp_path), load_suite("flights_bronze"), root=tmp_path / "gx", asset="flights"
    )
    pages = [index, *sorted((index.parent / "validations").rglob("*.html"))[:1]]
    assert len(pages) == 2, "a validation result page was built"
    for page in pages:
        assert "cdn" not in page.read_text()
        assert "unpkg.com" not in page.read_text()
    refused: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, offline_page(p, "file:", refused, width=1280) as view:
        for n, page in enumerate(pages):
            view.goto(page.as_uri(), wait_until="load", timeout=120_000)
            # "networkidle" never came on a loaded CI machine; wait for what the page must have
            view.wait_for_function(
                "typeof window.jQuery === 'function' && typeof window.vegaEmbed === 'function'",
                timeout=120_000,
            )
            # Bootstrap's font stack, not the browser's serif default; jQuery and Vega loaded
            font = view.evaluate("getComputedStyle(document.body).fontFamily")
            assert "-apple-system" in font, font
            assert view.evaluate("typeof window.jQuery") == "function"
            assert view.evaluate("typeof window.vegaEmbed") == "function"
            view.screenshot(path=str(ARTIFACTS / f"data-docs-offline-{n}.png"), full_page=False)
    assert refused == [], refused
