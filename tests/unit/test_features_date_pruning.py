"""Feature reads bound the ``event_date`` partitions, so ``delta_scan`` skips the files outside a window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake
from feast import Entity, FeatureView, Field, FileSource
from feast.data_format import DeltaFormat, ParquetFormat
from feast.types import Int64
from feast.value_type import ValueType

from featurelake.features.latest import date_partition_filter, duckdb_connection

DAYS = [dt.datetime(2013, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=d) for d in range(40)]


def _table(path: Path, partition_by: list[str] | None) -> None:
    for day in DAYS:  # one commit, so one file at least, per day
        rows = {
            "k": ["a", "b"],
            "event_timestamp": [day, day + dt.timedelta(hours=12)],
            "event_date": [day.date()] * 2,
            "v": [1, 2],
        }
        write_deltalake(str(path), pa.table(rows), mode="append", partition_by=partition_by)


def _view(path: Path, file_format: object = None) -> FeatureView:
    source = FileSource(
        path=str(path), file_format=file_format or DeltaFormat(), timestamp_field="event_timestamp"
    )
    return FeatureView(
        name="v",
        entities=[Entity(name="k", join_keys=["k"], value_type=ValueType.STRING)],
        schema=[Field(name="v", dtype=Int64)],
        source=source,
    )


def _files_read(path: Path, where: str) -> tuple[int, int]:
    con = duckdb_connection()
    sql = f"SELECT count(*) FROM delta_scan('{path}') WHERE {where}"
    rows = con.execute(sql).fetchone()[0]
    plan = con.execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]
    read = next(
        int(line.split(":")[1].strip(" │")) for line in plan.splitlines() if "Total Files Read" in line
    )
    return rows, read


def test_a_window_on_a_date_partitioned_table_reads_only_its_days_and_every_row_of_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gold"
    _table(path, ["event_date"])
    first, last = DAYS[10] + dt.timedelta(hours=6), DAYS[14]
    dates = date_partition_filter(_view(path), first, last)
    window = f"event_timestamp BETWEEN TIMESTAMPTZ '{first.isoformat()}' AND TIMESTAMPTZ '{last.isoformat()}'"
    exact, all_files = _files_read(path, window)
    pruned, files = _files_read(path, f"{window} AND {dates}")
    assert pruned == exact == 8  # 12:00 of days 10..13 and both rows of days 11..13, and day 14's midnight
    assert all_files == len(DAYS)
    assert files <= 7, dates  # the window's 5 days and one day each side
    unbounded, _ = _files_read(
        path,
        f"event_timestamp <= TIMESTAMPTZ '{last.isoformat()}' AND "
        + date_partition_filter(_view(path), None, last),
    )
    assert unbounded == 2 * 14 + 1


def test_an_unpartitioned_or_parquet_source_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "flat"
    _table(path, None)
    assert date_partition_filter(_view(path), DAYS[0], DAYS[1]) == "TRUE"
    assert date_partition_filter(_view(tmp_path / "x.parquet", ParquetFormat()), DAYS[0], DAYS[1]) == "TRUE"
