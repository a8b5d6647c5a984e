"""The chaos suite, short mode: one or two SIGKILLs of each long-running command at random points.

After every kill ``featurelake doctor`` finds no error, and at the end nothing was lost,
duplicated or falsely quarantined. ``python -m benchmarks.chaos --kills 100`` is the long mode.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import handmade_flights as hm
import pytest

from benchmarks.chaos import (
    Outcome,
    backfill_chaos,
    feature_store_chaos,
    file_ingest_chaos,
    kafka_ingest_chaos,
)
from featurelake.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _assert_clean(outcome: Outcome, kills: int) -> None:
    assert outcome.doctor_errors == []
    assert (outcome.lost, outcome.duplicated, outcome.false_quarantine) == (0, 0, 0), outcome
    assert outcome.kills == kills
    assert outcome.events > 0


def test_killing_the_file_ingest(tmp_path: Path) -> None:
    outcome = file_ingest_chaos(tmp_path, 2, events=6_000, seed=3)
    _assert_clean(outcome, 2)
    assert outcome.kills_after_a_batch >= 1  # not all of them in JVM start-ups


def test_killing_the_kafka_ingest_while_producing(kafka: Settings, tmp_path: Path) -> None:
    # a slow producer (120 s) still sends while the two kills happen, on a fast machine too
    outcome = kafka_ingest_chaos(tmp_path, 2, events=6_000, rate=50, seed=3)
    _assert_clean(outcome, 2)
    assert outcome.kills_after_a_batch >= 1


def test_killing_a_backfill(spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = hm.built_lake(spark, tmp_path_factory).settings.lake
    end = (hm.LAST_GOLD_DAY + dt.timedelta(days=1)).isoformat()
    # One chunk per table: the hand-made lake is sparse, so a chunk costs its fixed Spark jobs and
    # commits whatever its days. Two chunks at once: alone on 2 cores the backfill took 40 s, against
    # 54 s one chunk at a time, and within the suite about twice that. Alone, the kill (29.8 s with
    # this seed) fell after silver and part of gold were done, and the rerun built the rest.
    outcome = backfill_chaos(
        tmp_path, 1, reference, days=("2013-01-01", end), seed=3, chunk_days=400, first_s=(25, 45), parallel=2
    )
    assert outcome.doctor_errors == []
    assert (outcome.lost, outcome.duplicated) == (0, 0), outcome
    assert outcome.kills >= 1  # at least one kill came before the backfill finished


def test_killing_materialize_and_the_feature_server(
    spark: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    reference = hm.built_lake(spark, tmp_path_factory).settings.lake
    end = (hm.LAST_GOLD_DAY + dt.timedelta(days=1)).isoformat()
    entities = {
        "carrier": ["AA", "B6"],
        "origin": ["JFK", "LGA"],
        "dest": ["LAX", "ORD"],
        "tailnum": ["N1", "N1"],
    }
    outcome = feature_store_chaos(tmp_path, 3, reference, days=("2013-01-01", end), entities=entities, seed=3)
    assert outcome.doctor_errors == []
    assert outcome.lost == 0, outcome
    assert outcome.kills == 3  # two of materialize (one inside its load), one of the server
    assert outcome.kills_after_a_batch >= 1  # a materialization killed while it was loading
    assert outcome.events > 2  # lookups answered around the kills
