"""expectations/flights_silver: loads, is a valid GX suite, and never stops a backfill outright."""

from __future__ import annotations

from featurelake.backfill.silver_checks import suite_digest
from featurelake.quality.suites import load_suite


def test_silver_suite_loads_and_is_a_gx_suite() -> None:
    suite = load_suite("flights_silver")
    assert suite.name == "flights_silver"
    names = [c.name for c in suite.checks]
    assert len(set(names)) == len(names)
    assert {
        "event_id_matches_fields",
        "event_date_is_utc_date_of_event_ts",
        "cancelled_has_no_arrival",
    } <= set(names)
    assert {c.severity for c in suite.checks} == {"quarantine", "warn"}
    assert [e.meta["name"] for e in suite.to_gx().expectations] == names


def test_suite_digest_is_stable() -> None:
    assert suite_digest("flights_silver") == suite_digest("flights_silver")
    assert len(suite_digest("flights_silver")) == 16
