"""What featurelake's engine reports per view: the order, the stats, and no tqdm bar of Feast's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from feast.infra.common.materialization_job import MaterializationJobStatus, MaterializationTask
from feast.infra.compute_engines.local.job import LocalMaterializationJob

from featurelake.features.engine import FeaturelakeEngine, MaterializeStats
from featurelake.features.latest import UnsupportedSourceError
from featurelake.features.progress import MaterializeReporter
from featurelake.features.testing import RecordingReporter

START = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2013, 3, 2, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The canned engine never opens DuckDB; make sure of it."""
    monkeypatch.setattr("featurelake.features.engine.duckdb_connection", None)


def stats(rows: int, written: int) -> MaterializeStats:
    return {"rows": rows, "written": written, "query_s": 0.1, "encode_s": 0.2, "write_s": 0.3}


class Canned(FeaturelakeEngine):
    """The engine with canned per-view results instead of DuckDB and an online store."""

    def __init__(self, results: dict[str, MaterializeStats | Exception]) -> None:
        super().__init__(repo_config=None, offline_store=None, online_store=None)
        self.results = results

    def materialize_view(self, task: MaterializationTask) -> MaterializeStats:
        result = self.results[task.feature_view.name]
        if isinstance(result, Exception):
            raise result
        return result

    def _local(self) -> Any:  # Feast's local engine, as far as the fallback needs it
        def one(registry: object, task: MaterializationTask, **kwargs: object) -> LocalMaterializationJob:
            return LocalMaterializationJob(job_id="local", status=MaterializationJobStatus.SUCCEEDED)

        return SimpleNamespace(_materialize_one=one)


def tasks(*names: str, tqdm_calls: list[int]) -> list[MaterializationTask]:
    def tqdm_builder(length: int) -> Any:
        tqdm_calls.append(length)
        raise AssertionError("Feast's tqdm bar was built")

    return [
        MaterializationTask(
            project="flights",
            feature_view=SimpleNamespace(name=n),  # type: ignore[arg-type]
            start_time=START,
            end_time=END,
            tqdm_builder=tqdm_builder,
        )
        for n in names
    ]


def test_each_view_is_reported_in_order_with_its_stats_and_no_tqdm_bar() -> None:
    results: dict[str, MaterializeStats | Exception] = {
        "carrier_delay_7d": stats(5, 5),
        "route_delay_30d": stats(12, 12),
        "aircraft": UnsupportedSourceError("a BigQuery source"),  # Feast's local engine writes it
    }
    engine = Canned(results)
    recorder = RecordingReporter()
    tqdm_calls: list[int] = []
    with engine.reporting(recorder):
        jobs = engine.materialize(None, tasks(*results, tqdm_calls=tqdm_calls))  # type: ignore[arg-type]
    assert [j.status() for j in jobs] == [MaterializationJobStatus.SUCCEEDED] * 3
    assert recorder.events == [
        ("view_started", "carrier_delay_7d"),
        ("view_finished", "carrier_delay_7d", stats(5, 5)),
        ("view_started", "route_delay_30d"),
        ("view_finished", "route_delay_30d", stats(12, 12)),
        ("view_started", "aircraft"),
        ("view_finished", "aircraft", None),  # counted, without counts
    ]
    # the reports carry what the materialization returns
    assert engine.last_stats == {"carrier_delay_7d": stats(5, 5), "route_delay_30d": stats(12, 12)}
    assert tqdm_calls == []


def test_a_failed_view_is_started_but_never_finished() -> None:
    engine = Canned({"carrier_delay_7d": RuntimeError("disk full"), "route_delay_30d": stats(1, 1)})
    recorder = RecordingReporter()
    with engine.reporting(recorder):
        failed, ok = engine.materialize(None, tasks(*engine.results, tqdm_calls=[]))  # type: ignore[arg-type]
    assert failed.status() == MaterializationJobStatus.ERROR
    assert ok.status() == MaterializationJobStatus.SUCCEEDED
    assert [e[:2] for e in recorder.events] == [
        ("view_started", "carrier_delay_7d"),
        ("view_started", "route_delay_30d"),
        ("view_finished", "route_delay_30d"),
    ]


def test_reporting_ends_with_its_block() -> None:
    engine = Canned({"carrier_delay_7d": stats(1, 1)})
    recorder = RecordingReporter()
    with engine.reporting(recorder):
        pass
    engine.materialize(None, tasks("carrier_delay_7d", tqdm_calls=[]))  # type: ignore[arg-type]
    assert recorder.events == []
    assert type(engine.reporter) is MaterializeReporter


def test_the_base_reporter_ignores_everything() -> None:
    reporter = MaterializeReporter()
    reporter.started(["a"])
    reporter.view_started("a")
    reporter.view_finished("a", None)
