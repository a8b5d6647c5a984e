"""The Arrow evaluation of a suite (the direct ingest path) flags exactly the rows Spark's does.

``test_quality_gx.py`` checks Spark's evaluation against Great Expectations; this
checks the Arrow one against Spark's, row by row and check by check, on records
with every kind of bad value planted, so the direct path quarantines the same
rows with the same reasons.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from featurelake.avro import decode_file, load_schema
from featurelake.ingest.bronze_task import checked_schema
from featurelake.ingest.decode import event_dates
from featurelake.ingest.landing import avro_bytes
from featurelake.ingest.synthetic import BAD_RECORD_KINDS, synthetic_records
from featurelake.quality.arrow_checks import Unsupported, compile_suite
from featurelake.quality.checks import flag_columns
from featurelake.quality.suites import Suite, load_suite

pytestmark = pytest.mark.integration

_UTC = dt.UTC


def _records(dataset: str, event_time: str) -> pa.Table:
    """300 events with every kind of bad record planted, edge values, and ``event_date``."""
    rng = np.random.default_rng(21)
    records = synthetic_records(dataset, 300, rng)
    kinds = [k for k, per_dataset in BAD_RECORD_KINDS.items() if dataset in per_dataset]
    for i, kind in enumerate(kinds * 4):
        BAD_RECORD_KINDS[kind][dataset][0](records[7 * i + 3])
    if dataset == "flights":
        records[250]["air_time"] = 5.0
        records[251]["tailnum"] = "N" * 40
        records[252]["carrier"] = "X"
        records[253]["dep_delay"] = float("nan")
        records[254]["air_time"] = float("nan")
        records[255]["dep_delay"] = -120.0  # on the bound: inside
        records[256]["dep_delay"] = 2000.0000001
        records[257]["sched_dep_ts"] = dt.datetime(2014, 1, 2, tzinfo=_UTC)  # the exclusive bound
        records[258]["sched_dep_ts"] = dt.datetime(2012, 12, 31, 23, 59, 59, 999000, tzinfo=_UTC)
        records[259]["tailnum"] = None
        records[260]["tailnum"] = "é" * 7  # lengths count characters, not bytes
        records[261]["dep_time"] = None  # dep_delay set: the iff check fails
        records[262]["distance"] = 0
        records[263]["arr_delay"] = 2500.0
        records[264]["dest"] = "ABCDE"
        records[265]["dep_delay"] = -0.0  # Spark's IN and = find it equal to 0
    else:
        records[250]["humid"] = float("nan")  # NaN is above every number in Spark: out of range
        records[251]["wind_dir"] = 360.0  # on the bound: inside
        records[252]["wind_dir"] = 360.5
        records[253]["temp"] = None
        records[254]["temp"] = -40.1
        records[255]["hour"] = 24
        records[256]["obs_ts"] = dt.datetime(2014, 1, 2, tzinfo=_UTC)  # the exclusive bound
        records[257]["obs_ts"] = dt.datetime(2013, 5, 1, 10, 30, tzinfo=_UTC)  # not on the hour
        records[258]["visib"] = float("nan")
        records[259]["wind_speed"] = -0.5
    writer = copy.deepcopy(load_schema(dataset))
    nullable = "carrier" if dataset == "flights" else "origin"
    next(f for f in writer["fields"] if f["name"] == nullable)["type"] = ["null", "string"]
    table: pa.Table = decode_file(avro_bytes(writer, records), load_schema(dataset))
    table = table.append_column("event_date", event_dates(table.column(event_time)))
    assert table.schema.equals(checked_schema(load_schema(dataset)))
    return table


def _spark_flags(spark: Any, table: pa.Table, suite: Suite) -> list[list[bool]]:
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    df = spark.createDataFrame(numbered)
    rows = df.select("_row", *flag_columns(suite)).orderBy("_row").collect()
    return [[bool(r[f"_x{i}"]) for r in rows] for i in range(len(suite.checks))]


def _assert_same_flags(spark: Any, table: pa.Table, suite: Suite) -> dict[str, int]:
    compiled = compile_suite(suite, table.schema)
    arrow = [f.to_pylist() for f in compiled.flags(table)]
    spark_flags = _spark_flags(spark, table, suite)
    for check, ours, theirs in zip(suite.checks, arrow, spark_flags, strict=True):
        assert ours == theirs, (
            f"{check.name}: rows {[i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]}"
        )
    counted = {c.name: sum(f) for c, f in zip(suite.checks, arrow, strict=True)}
    from pyspark.sql import functions as F

    df = spark.createDataFrame(table)
    for check, den in zip(suite.checks, compiled.denominators(table), strict=True):
        expected = (
            df.count() if check.type in _ALL_ROWS else df.where(F.col(check.column).isNotNull()).count()
        )
        assert den == expected, check.name
    return counted


_ALL_ROWS = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "unexpected_rows_expectation",
}


@pytest.mark.parametrize(("dataset", "event_time"), [("flights", "sched_dep_ts"), ("weather", "obs_ts")])
def test_shipped_bronze_suites_flag_the_same_rows_on_arrow_and_spark(
    spark: Any, dataset: str, event_time: str
) -> None:
    suite = load_suite(f"{dataset}_bronze")
    counted = _assert_same_flags(spark, _records(dataset, event_time), suite)
    # The planted bad values are there to be caught: the range and row checks all see some.
    caught = {name for name, n in counted.items() if n}
    assert {c.name for c in suite.checks if c.type != "expect_column_values_to_not_be_null"} - caught <= {
        "event_id_length"
    }


def _suite(tmp_path: Path, expectations: list[tuple[str, dict[str, Any]]]) -> Suite:
    body = {
        "name": "kinds",
        "expectations": [
            {"type": t, "kwargs": kw, "meta": {"name": f"c{i}", "severity": "warn"}}
            for i, (t, kw) in enumerate(expectations)
        ],
    }
    (tmp_path / "kinds.json").write_text(json.dumps(body))
    return load_suite("kinds", tmp_path)


def _rows(query: str) -> tuple[str, dict[str, Any]]:
    return "unexpected_rows_expectation", {"unexpected_rows_query": f"SELECT * FROM {{batch}} WHERE {query}"}


def test_every_expectation_kind_the_arrow_path_takes_agrees_with_spark(spark: Any, tmp_path: Path) -> None:
    between = "expect_column_values_to_be_between"
    suite = _suite(
        tmp_path,
        [
            ("expect_column_values_to_not_be_null", {"column": "tailnum"}),
            ("expect_column_values_to_be_null", {"column": "air_time"}),
            ("expect_column_values_to_be_in_set", {"column": "origin", "value_set": ["EWR", "JFK"]}),
            ("expect_column_values_to_not_be_in_set", {"column": "dest", "value_set": ["ATL", "ORD"]}),
            ("expect_column_values_to_be_in_set", {"column": "month", "value_set": [1, 2, 3]}),
            ("expect_column_values_to_be_in_set", {"column": "dep_delay", "value_set": [0, 1.5, -3]}),
            (between, {"column": "distance", "min_value": 200.5, "max_value": 1000}),
            (between, {"column": "dep_delay", "min_value": -5, "max_value": 30, "strict_min": True}),
            (between, {"column": "air_time", "max_value": 100.0, "strict_max": True}),
            (
                between,
                {"column": "sched_dep_ts", "min_value": "2013-03-01", "max_value": "2013-09-01 12:00:00"},
            ),
            (between, {"column": "event_date", "min_value": "2013-02-01", "max_value": "2013-11-30"}),
            (between, {"column": "carrier", "min_value": "B", "max_value": "UA"}),
            (
                "expect_column_value_lengths_to_be_between",
                {"column": "tailnum", "min_value": 5, "max_value": 6},
            ),
            _rows("dep_delay > arr_delay OR arr_delay IS NULL"),
            _rows("NOT (origin IN ('EWR', 'LGA')) AND distance BETWEEN 100 AND 1000"),
            _rows("dep_delay NOT BETWEEN 0 AND 10.5"),
            _rows("coalesce(dep_delay, arr_delay, 0.0) >= 15"),
            _rows("isnull(tailnum) OR isnotnull(dep_time) AND dep_time < 600"),
            _rows("date_trunc('DAY', sched_dep_ts) = time_hour"),
            _rows("time_hour >= '2013-06-01' AND dest <> 'ATL'"),
            _rows("air_time = air_time AND NOT air_time <= 100"),
            _rows("flight IN (1, 2, 3, 4, 5, 100) OR month NOT IN (1, 2)"),
            _rows("dep_delay IN (0, 1.5, 13)"),
        ],
    )
    counted = _assert_same_flags(spark, _records("flights", "sched_dep_ts"), suite)
    assert all(counted.values()), counted


def test_what_arrow_cannot_match_exactly_is_refused(tmp_path: Path) -> None:
    """Regular expressions (Java vs RE2 dialects) and SQL outside the subset go to the Spark path."""
    schema = checked_schema(load_schema("flights"))
    for expectation in [
        ("expect_column_values_to_match_regex", {"column": "carrier", "regex": "^[A-Z0-9]{2}$"}),
        _rows("dep_delay + 1 > 5"),
        _rows("upper(carrier) = 'AA'"),
    ]:
        with pytest.raises(Unsupported):
            compile_suite(_suite(tmp_path, [expectation]), schema)
    assert compile_suite(load_suite("flights_bronze"), schema) is not None
    assert compile_suite(load_suite("weather_bronze"), checked_schema(load_schema("weather"))) is not None
