"""Which landed files a query batch was handed, read from a checkpoint as Spark writes it.

A kill between the file source logging its batch and the query logging its offsets leaves
the source's numbering one ahead of the query's: ``offsets/36`` holding ``{"logOffset":37}``.
Reading ``sources/0/<query batch id>`` then gave every batch the previous batch's files,
which were quarantined again as ``empty_file`` (221 false rows in one run).
"""

from __future__ import annotations

import json
from pathlib import Path

from featurelake.ingest.stream import batch_files


def _checkpoint(root: Path, offsets: dict[int, int], sources: dict[int, list[str]]) -> Path:
    (root / "offsets").mkdir(parents=True)
    (root / "sources" / "0").mkdir(parents=True)
    for batch, log_offset in offsets.items():
        meta = json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1, "conf": {}})
        (root / "offsets" / str(batch)).write_text(f"v1\n{meta}\n{json.dumps({'logOffset': log_offset})}")
    for source_batch, names in sources.items():
        entries = [
            json.dumps({"path": f"file:///landing/flights/{n}", "timestamp": 7, "batchId": source_batch})
            for n in names
        ]
        (root / "sources" / "0" / str(source_batch)).write_text("v1\n" + "\n".join(entries) + "\n")
    return root


def test_numberings_that_agree(tmp_path: Path) -> None:
    cp = _checkpoint(tmp_path, {0: 0, 1: 1}, {0: ["a.avro"], 1: ["b.avro", "c.avro"]})
    assert batch_files(cp, 0) == [("file:/landing/flights/a.avro", 7)]
    assert [p for p, _ in batch_files(cp, 1)] == [
        "file:/landing/flights/b.avro",
        "file:/landing/flights/c.avro",
    ]


def test_a_source_one_ahead_after_a_kill(tmp_path: Path) -> None:
    # source batch 36 was logged, the query died before offsets/36; the rerun's batch 36 read source 37
    cp = _checkpoint(
        tmp_path,
        {35: 35, 36: 37},
        {35: ["old.avro"], 36: ["lost-plan.avro"], 37: ["new.avro", "empty.avro"]},
    )
    files = [p for p, _ in batch_files(cp, 36)]
    assert "file:/landing/flights/old.avro" not in files  # the previous batch's file: not again
    # what source batches 36 and 37 hold is what query batch 36 consumed: (35, 37]
    assert files == [
        "file:/landing/flights/lost-plan.avro",
        "file:/landing/flights/new.avro",
        "file:/landing/flights/empty.avro",
    ]


def test_paths_are_spelt_as_spark_s_scan_spells_them(tmp_path: Path) -> None:
    cp = _checkpoint(tmp_path, {0: 0}, {0: ["x y.avro"]})
    ((path, _),) = batch_files(cp, 0)
    assert path.startswith("file:/landing/")
    assert not path.startswith("file:///")
