"""Order-independent content hashes of tables."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from featurelake.content import RUN_DEPENDENT, arrow_digest

UTC = dt.UTC


def table(rows: list[dict[str, object]]) -> pa.Table:
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("value", pa.float64()),
            ("event_date", pa.date32()),
            ("_source_file", pa.string()),
            ("_ingested_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


ROWS = [
    {
        "event_id": "a",
        "value": 0.1,
        "event_date": dt.date(2013, 1, 1),
        "_source_file": "/lake1/landing/flights/f-0001.avro",
        "_ingested_at": dt.datetime(2026, 1, 1, tzinfo=UTC),
    },
    {
        "event_id": "b",
        "value": None,
        "event_date": dt.date(2013, 1, 2),
        "_source_file": "/lake1/landing/flights/f-0002.avro",
        "_ingested_at": dt.datetime(2026, 1, 1, tzinfo=UTC),
    },
]


def test_row_and_chunk_order_do_not_matter() -> None:
    a = arrow_digest(table(ROWS))
    b = arrow_digest(pa.concat_tables([table(ROWS[1:]), table(ROWS[:1])]))
    assert a == b
    assert a.rows == 2
    assert a.columns == ("event_id", "value", "event_date", "_source_file")
    assert a.excluded == ("_ingested_at",)


def test_run_dependent_columns_and_landing_folders_do_not_matter() -> None:
    other = [
        {
            **r,
            "_ingested_at": dt.datetime(2027, 5, 5, tzinfo=UTC),
            "_source_file": r["_source_file"].replace("lake1", "lake2"),
        }  # type: ignore[union-attr]
        for r in ROWS
    ]
    assert arrow_digest(table(ROWS)) == arrow_digest(table(other))
    assert "_ingested_at" in RUN_DEPENDENT


def test_any_value_duplicate_or_missing_row_changes_the_digest() -> None:
    base = arrow_digest(table(ROWS))
    assert arrow_digest(table([{**ROWS[0], "value": 0.1 + 1e-15}, ROWS[1]])) != base
    assert arrow_digest(table([ROWS[0], {**ROWS[1], "value": 0.0}])) != base  # null is not 0
    assert arrow_digest(table([ROWS[0], ROWS[1], ROWS[1]])) != base
    assert arrow_digest(table(ROWS[:1])) != base
    renamed = [ROWS[0], {**ROWS[1], "_source_file": "/lake1/landing/flights/f-0003.avro"}]
    assert arrow_digest(table(renamed)) != base  # the file name is still compared
    assert arrow_digest(table(ROWS), exclude=()) != base  # nothing excluded: ingest time counts
