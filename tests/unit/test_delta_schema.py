from __future__ import annotations

import pyarrow as pa
import pytest

from featurelake.delta.schema import TableSchema
from featurelake.errors import SchemaError


def test_parse_ddl_to_arrow_and_spark() -> None:
    s = TableSchema.parse("id bigint not null, price decimal(10, 2), ts timestamp, d date, name string")
    assert s.to_arrow() == pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            ("price", pa.decimal128(10, 2)),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("d", pa.date32()),
            ("name", pa.string()),
        ]
    )
    assert (
        s.to_spark_ddl()
        == "`id` BIGINT NOT NULL, `price` DECIMAL(10,2), `ts` TIMESTAMP, `d` DATE, `name` STRING"
    )


def test_round_trip_through_delta_json() -> None:
    from deltalake import Schema

    s = TableSchema.parse("a int not null, b double, c timestamp_ntz, d boolean")
    back = TableSchema.from_delta_json(Schema.from_arrow(s.to_arrow()).to_json())
    assert back == s


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ("a int, a string", "appears twice"),
        ("a map<string,int>", "unsupported column type"),
        ("just_a_name", "cannot parse"),
        ("", "at least one column"),
    ],
)
def test_bad_ddl_is_rejected(ddl: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        TableSchema.parse(ddl)


def test_writable_allows_widening_not_narrowing() -> None:
    table = TableSchema.parse("a bigint, b double, c string")
    table.check_writable(TableSchema.parse("a int, b float"), merge=False, table="t")
    with pytest.raises(SchemaError, match="column 'a' is long in the data but integer"):
        TableSchema.parse("a int").check_writable(TableSchema.parse("a bigint"), merge=False, table="t")
    with pytest.raises(SchemaError, match="mergeSchema=true"):
        table.check_writable(TableSchema.parse("z int"), merge=False, table="t")
    table.check_writable(TableSchema.parse("z int"), merge=True, table="t")
    assert table.merged_with(TableSchema.parse("z int not null")).names == ["a", "b", "c", "z"]
    assert table.merged_with(TableSchema.parse("z int not null")).column("z").nullable
