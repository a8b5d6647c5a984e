"""sweep_strays: the files of lost task attempts go, every file a commit names stays."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from featurelake.delta.maintenance import log_version, sweep_strays


def _day(day: str, n: int) -> pa.Table:
    return pa.table({"event_date": [day] * n, "x": list(range(n))})


def _stray_copy_of(table: Path, partition: str, name: str) -> Path:
    """A copy of a live file of ``partition`` under a new name: what a lost task attempt leaves."""
    live = next(p for p in (table / partition).glob("*.parquet"))
    stray = live.with_name(f"part-00000-{name}.c000.snappy.parquet")
    shutil.copy(live, stray)
    (table / partition / f".{stray.name}.crc").write_bytes(b"crc")
    return stray


def test_removes_only_unnamed_files_of_the_write_in_its_partitions(tmp_path: Path) -> None:
    table = tmp_path / "t"
    write_deltalake(str(table), _day("2013-01-01", 3), partition_by=["event_date"])
    write_deltalake(str(table), _day("2013-01-02", 2), partition_by=["event_date"], mode="append")
    before = log_version(str(table))
    assert before == 1
    old_stray = _stray_copy_of(table, "event_date=2013-01-01", "old")  # older than the write: not its own
    os.utime(old_stray, (time.time() - 60, time.time() - 60))
    since = time.time()
    write_deltalake(
        str(table),
        _day("2013-01-01", 4),
        partition_by=["event_date"],
        mode="overwrite",
        predicate="event_date = '2013-01-01'",
    )
    stray = _stray_copy_of(table, "event_date=2013-01-01", "lost")
    other = _stray_copy_of(table, "event_date=2013-01-02", "other")  # a day the write does not own
    until = time.time()
    live_before = set(DeltaTable(str(table)).file_uris())

    deleted = sweep_strays(
        str(table), after_version=before, since=since, until=until, partitions=["event_date=2013-01-01"]
    )

    assert deleted == [str(stray)]
    assert not stray.exists()
    assert not (stray.parent / f".{stray.name}.crc").exists()
    assert old_stray.exists()
    assert other.exists()
    assert set(DeltaTable(str(table)).file_uris()) == live_before
    assert all(Path(uri).exists() for uri in live_before)
    assert DeltaTable(str(table)).to_pyarrow_table().num_rows == 6
    # the files the overwrite removed are named by its commit (time travel) and stay too
    assert DeltaTable(str(table), version=1).to_pyarrow_table().num_rows == 5


def test_no_table_and_no_candidates(tmp_path: Path) -> None:
    assert log_version(str(tmp_path / "missing")) == -1
    assert sweep_strays(str(tmp_path / "missing"), after_version=-1, since=0, until=time.time()) == []
