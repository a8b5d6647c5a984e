from __future__ import annotations

import pytest

from featurelake.delta._files import hive_dir, partition_value_string
from featurelake.delta._predicate import evaluate
from featurelake.delta.schema import TableSchema

SCHEMA = TableSchema.parse("id bigint, event_date date, region string")


def test_predicate_over_partition_values() -> None:
    parts = [{"event_date": d, "region": r} for d in ("2024-01-01", "2024-01-02", None) for r in ("eu", "us")]
    got = evaluate(
        "event_date >= '2024-01-02' and region in ('eu')", parts, SCHEMA, ["event_date", "region"], table="t"
    )
    assert got == [False, False, True, False, False, False]


def test_predicate_on_data_column_or_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="may only use the partition columns"):
        evaluate("id = 1", [{"event_date": "2024-01-01"}], SCHEMA, ["event_date"], table="t")
    with pytest.raises(ValueError, match="one SQL expression"):
        evaluate("true; drop table x", [], SCHEMA, ["event_date"], table="t")
    with pytest.raises(ValueError, match="needs a partitioned table"):
        evaluate("true", [], SCHEMA, [], table="t")


def test_hive_folder_names_escape_like_spark() -> None:
    assert hive_dir({"event_date": "2024-01-01"}) == "event_date=2024-01-01"
    assert hive_dir({"a": "x/y:z", "b": None}) == "a=x%2Fy%3Az/b=__HIVE_DEFAULT_PARTITION__"
    assert partition_value_string(True) == "true"
    assert partition_value_string(None) is None
