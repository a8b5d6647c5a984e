"""Expectation suites: the shipped ones load, are valid GX suites, and carry severities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from featurelake.quality.suites import SEVERITIES, SuiteError, load_suite


@pytest.mark.parametrize("name", ["flights_bronze", "weather_bronze"])
def test_shipped_suites_load_with_severities_and_unique_names(name: str) -> None:
    suite = load_suite(name)
    assert suite.name == name
    assert suite.checks
    assert {c.severity for c in suite.checks} <= set(SEVERITIES)
    assert len({c.name for c in suite.checks}) == len(suite.checks)
    assert suite.by_severity("fail")
    assert suite.by_severity("quarantine")
    assert suite.by_severity("warn")


def test_flights_suite_has_every_check_the_issue_asks_for() -> None:
    checks = {c.name: c for c in load_suite("flights_bronze").checks}
    for col in ("event_id", "sched_dep_ts", "carrier", "origin", "dest", "flight", "distance"):
        assert checks[f"{col}_not_null"].type == "expect_column_values_to_not_be_null"
    assert checks["origin_in_nyc"].kwargs["value_set"] == ["EWR", "JFK", "LGA"]
    assert (
        checks["dep_delay_in_range"].kwargs["min_value"],
        checks["dep_delay_in_range"].kwargs["max_value"],
    ) == (
        -120,
        2000,
    )
    assert checks["distance_positive"].kwargs == {"column": "distance", "min_value": 0, "strict_min": True}
    ts = checks["sched_dep_ts_in_2013"].kwargs
    assert (ts["min_value"], ts["max_value"], ts["strict_max"]) == (
        "2013-01-01T00:00:00Z",
        "2014-01-02T00:00:00Z",
        True,
    )
    assert checks["dep_delay_null_iff_dep_time_null"].condition == "(dep_delay IS NULL) <> (dep_time IS NULL)"


@pytest.mark.parametrize("name", ["flights_bronze", "weather_bronze"])
def test_shipped_suites_are_valid_gx_suites(name: str) -> None:
    suite = load_suite(name)
    gx_suite = suite.to_gx()
    assert [e.meta["name"] for e in gx_suite.expectations] == [c.name for c in suite.checks]
    assert [e.meta["severity"] for e in gx_suite.expectations] == [c.severity for c in suite.checks]


def _write(tmp_path: Path, expectations: list[dict[str, object]]) -> Path:
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "expectations": expectations}))
    return tmp_path


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"name": "a"}},
            "severity",
        ),
        (
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "a"},
                "meta": {"name": "a", "severity": "loud"},
            },
            "warn, quarantine, fail",
        ),
        (
            {
                "type": "expect_column_mean_to_be_between",
                "kwargs": {"column": "a"},
                "meta": {"name": "a", "severity": "warn"},
            },
            "row by row",
        ),
        (
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "a"},
                "meta": {"severity": "warn"},
            },
            "meta.name",
        ),
        (
            {
                "type": "unexpected_rows_expectation",
                "kwargs": {"unexpected_rows_query": "SELECT count(*) FROM {batch}"},
                "meta": {"name": "a", "severity": "warn"},
            },
            "WHERE",
        ),
    ],
)
def test_bad_suites_are_refused_with_a_clear_message(
    tmp_path: Path, expectation: dict[str, object], message: str
) -> None:
    with pytest.raises(SuiteError, match=message):
        load_suite("s", _write(tmp_path, [expectation]))


def test_duplicate_names_and_missing_suites_are_refused(tmp_path: Path) -> None:
    e = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "a"},
        "meta": {"name": "a", "severity": "warn"},
    }
    with pytest.raises(SuiteError, match="two expectations"):
        load_suite("s", _write(tmp_path, [e, e]))
    with pytest.raises(SuiteError, match="known: s"):
        load_suite("nope", tmp_path)
