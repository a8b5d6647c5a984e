"""A lake moved (or copied) to another folder keeps ingesting, exactly once.

Spark's file source logs each file it handed out by its absolute path; under a new folder the
next run failed with ``Wrong basePath`` after 22 Java stack lines.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.doctor import run_doctor
from featurelake.ingest.stream import checkpoint_dir, run_ingest
from featurelake.ingest.synthetic import produce_synthetic

pytestmark = pytest.mark.integration


def test_a_moved_lake_ingests_only_the_new_files(spark: Any, tmp_path: Path) -> None:
    first = Settings(lake=tmp_path / "here" / "lake")
    a = produce_synthetic("flights", 800, seed=1, records_per_file=400, settings=first)
    run_ingest("flights", settings=first, spark=spark)

    moved = Settings(lake=tmp_path / "there" / "lake")
    shutil.copytree(first.lake, moved.lake)
    shutil.rmtree(first.lake)  # nothing may still point at the old place
    b = produce_synthetic("flights", 400, seed=2, records_per_file=400, settings=moved)
    again = run_ingest("flights", settings=moved, spark=spark)

    assert again.totals["files"] == len(b.files)  # the old files were not ingested again
    catalog = Catalog(settings=moved)
    assert DeltaTable(catalog.path("bronze.flights")).to_pyarrow_table().num_rows == a.good + b.good
    marker = (checkpoint_dir("flights", moved) / "featurelake.json").read_text()
    assert str(moved.lake) in marker
    assert run_doctor(catalog).ok
