"""OpenLineage: an event for every table write, and ``featurelake lineage TABLE`` over the events.

Every Spark write of a table (:meth:`featurelake.catalog.Catalog.write`: ingest, silver, gold,
backfills, the reference loads, scoring) emits an OpenLineage ``RunEvent``: ``COMPLETE``
with the table's new Delta version, or ``FAIL`` with the error. Its inputs are the tables
(and event streams) the written table is built from, at the versions current when the write
ended; its output carries the table's schema, its new version and its name in the catalog (a
symlink facet: ``featurelake`` / ``gold.carrier_delay_7d``). Datasets are named as the
OpenLineage naming spec names local files: namespace ``file``, name the table's path.
Airflow's OpenLineage provider adds an event per task of featurelake's DAGs to the same place
(:func:`featurelake.orchestration.environment.airflow_env`).

``FEATURELAKE_LINEAGE`` picks the transport: ``file`` (the default: JSON lines under
``<lake>/lineage/``), an ``http(s)://`` URL (Marquez or any OpenLineage endpoint), or ``off``.
An event that cannot be sent is logged and never fails the write it describes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings, get_settings
from featurelake.errors import one_line

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

    from featurelake.catalog import Catalog

__all__ = ["NAMESPACE", "Graph", "emit_write", "events_dir", "read_graph", "transport_config"]

NAMESPACE = "featurelake"
"""The namespace of featurelake's jobs and of its tables' catalog names."""
PRODUCER = "https://github.com/featurelake/featurelake"

log = logging.getLogger(__name__)

_clients: dict[str, OpenLineageClient] = {}


def events_dir(settings: Settings) -> Path:
    """Where the file transport writes: ``<lake>/lineage/``."""
    return settings.lake / "lineage"


def transport_config(settings: Settings, file_name: str = "featurelake.jsonl") -> dict[str, Any] | None:
    """The OpenLineage transport of ``FEATURELAKE_LINEAGE``; None when lineage is off."""
    where = settings.lineage
    if where == "off":
        return None
    if where.startswith(("http://", "https://")):
        return {"type": "http", "url": where}
    return {"type": "file", "log_file_path": str(events_dir(settings) / file_name), "append": True}


def _client(settings: Settings) -> OpenLineageClient | None:
    config = transport_config(settings)
    if config is None:
        return None
    key = json.dumps(config, sort_keys=True)
    if key not in _clients:
        from openlineage.client import OpenLineageClient

        if config["type"] == "file":
            events_dir(settings).mkdir(parents=True, exist_ok=True)
        _clients[key] = OpenLineageClient(config={"transport": config})
    return _clients[key]


def _version(path: str) -> str | None:
    """A Delta table's newest version, from its log's file names (no log replay)."""
    try:
        names = os.listdir(os.path.join(path, "_delta_log"))
    except FileNotFoundError:
        return None
    versions = [int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit()]
    return str(max(versions)) if versions else None


def _dataset(catalog: Catalog, name: str, kind: type, *, with_schema: bool) -> Any:
    from openlineage.client.facet_v2 import dataset_version_dataset, schema_dataset, symlinks_dataset

    facets: dict[str, Any] = {}
    if name in catalog.names():
        path = catalog.path(name)
        facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[symlinks_dataset.Identifier(namespace=NAMESPACE, name=name, type="TABLE")]
        )
        version = _version(path)
        if version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
        if with_schema:
            spec = catalog.spec(name)
            if spec.upstream:
                facets["columnLineage"] = _column_lineage(catalog, name)
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(
                        name=c.name, type=c.type, description=spec.column_doc(c.name) or None
                    )
                    for c in spec.schema.columns
                ]
            )
        return kind(namespace="file", name=path, facets=facets)
    # an event stream (events:flights): the landing zone and the Kafka topic
    return kind(namespace=NAMESPACE, name=name, facets=facets)


def _columns_of(catalog: Catalog, name: str) -> list[str]:
    if name in catalog.names():
        return catalog.spec(name).schema.names
    if name.startswith("events:"):
        from featurelake.avro import load_schema

        return [f["name"] for f in load_schema(name.split(":", 1)[1])["fields"]]
    return []


def column_inputs(catalog: Catalog, name: str) -> dict[str, list[tuple[str, str]]]:
    """Column -> its input columns (upstream, column): declared (``TableSpec.column_sources``),
    else the upstream columns of the same name."""
    spec = catalog.spec(name)
    declared = dict(spec.column_sources)
    upstream = {u: set(_columns_of(catalog, u)) for u in spec.upstream}
    out: dict[str, list[tuple[str, str]]] = {}
    for column in spec.schema.names:
        if column in declared:
            pairs = [tuple(src.rsplit(".", 1)) for src in declared[column]]
        else:
            pairs = [(u, column) for u, cols in upstream.items() if column in cols]
        if pairs:
            out[column] = [(u, c) for u, c in pairs]
    return out


def _column_lineage(catalog: Catalog, name: str) -> Any:
    """OpenLineage's ``columnLineage`` facet of table ``name``; masking where a direct identifier
    becomes a pseudonym."""
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    spec = catalog.spec(name)
    declared = dict(spec.column_sources)
    fields = {}
    for column, inputs in column_inputs(catalog, name).items():
        entries = []
        for upstream, source in inputs:
            known = upstream in catalog.names()
            direct = known and source in catalog.spec(upstream).direct_identifiers
            masking = direct and column not in spec.direct_identifiers
            if column not in declared:
                kind = cl.Transformation(type="DIRECT", subtype="IDENTITY")
            elif spec.layer == "gold":
                kind = cl.Transformation(type="DIRECT", subtype="AGGREGATION", masking=masking)
            else:
                kind = cl.Transformation(type="DIRECT", subtype="TRANSFORMATION", masking=masking)
            entries.append(
                cl.InputField(
                    namespace="file" if known else NAMESPACE,
                    name=catalog.path(upstream) if known else upstream,
                    field=source,
                    transformations=[kind],
                )
            )
        fields[column] = cl.Fields(inputFields=entries)
    return cl.ColumnLineageDatasetFacet(fields=fields)


def emit_write(
    catalog: Catalog, name: str, *, started: dt.datetime, error: BaseException | None = None
) -> None:
    """Send the event of one write of table ``name``: COMPLETE, or FAIL with ``error``."""
    try:
        client = _client(catalog.settings)
        if client is None:
            return
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import error_message_run, job_type_job, processing_engine_run
        from openlineage.client.uuid import generate_new_uuid

        spec = catalog.spec(name)
        run_facets: dict[str, Any] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=_spark_version(), name="spark", openlineageAdapterVersion="featurelake"
            )
        }
        if error is not None:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=one_line(str(error))[:1000], programmingLanguage="python"
            )
        job = Job(
            namespace=NAMESPACE,
            name=f"write {name}",
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="FEATURELAKE", jobType="WRITE"
                )
            },
        )
        event = RunEvent(
            eventType=RunState.FAIL if error is not None else RunState.COMPLETE,
            eventTime=dt.datetime.now(dt.UTC).isoformat(),
            run=Run(runId=str(generate_new_uuid(started)), facets=run_facets),
            job=job,
            inputs=[_dataset(catalog, u, InputDataset, with_schema=False) for u in spec.upstream],
            outputs=[_dataset(catalog, name, OutputDataset, with_schema=True)],
            producer=PRODUCER,
        )
        client.emit(event)
    except Exception as e:  # lineage never fails the write it describes
        log.warning("OpenLineage event for %s not sent: %s", name, one_line(str(e)))


def _spark_version() -> str:
    try:
        import pyspark

        return str(pyspark.__version__)
    except Exception:
        return "unknown"


@dataclass
class Graph:
    """Edges between datasets from the events: which inputs each output was built from."""

    parents: dict[str, set[str]] = field(default_factory=dict)
    """Dataset name -> the datasets it was built from."""
    children: dict[str, set[str]] = field(default_factory=dict)
    """Dataset name -> the datasets built from it."""
    jobs: dict[str, set[str]] = field(default_factory=dict)
    """Dataset name -> the jobs that wrote it."""
    versions: dict[str, str] = field(default_factory=dict)
    """Dataset name -> its newest version an event saw."""
    columns: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    """Dataset name -> column -> its input columns (``table.column``), where an event has them."""
    names: dict[str, str] = field(default_factory=dict)
    """A dataset's OpenLineage name (a table's path) -> its catalog name."""

    def add(self, event: dict[str, Any]) -> None:
        if event.get("eventType") not in ("COMPLETE", None):
            return
        job = event.get("job", {})
        inputs = [_name(d) for d in event.get("inputs") or []]
        for output in event.get("outputs") or []:
            out = _name(output)
            self.jobs.setdefault(out, set()).add(f"{job.get('namespace')}/{job.get('name')}")
            version = (output.get("facets") or {}).get("version", {}).get("datasetVersion")
            if version is not None:
                self.versions[out] = version
            for source in inputs:
                if source != out:
                    self.parents.setdefault(out, set()).add(source)
                    self.children.setdefault(source, set()).add(out)
            for dataset in [*(event.get("inputs") or []), output]:
                if _symlink(dataset):
                    self.names[str(dataset.get("name"))] = _name(dataset)
            lineage = (output.get("facets") or {}).get("columnLineage", {}).get("fields", {})
            for column, spec in lineage.items():
                found = {
                    f"{self.names.get(str(f.get('name')), f.get('name'))}.{f.get('field')}"
                    for f in spec.get("inputFields", [])
                }
                self.columns[out] = {**self.columns.get(out, {}), column: found}  # the newest event's


def _symlink(dataset: dict[str, Any]) -> str | None:
    for ident in ((dataset.get("facets") or {}).get("symlinks") or {}).get("identifiers", []):
        if ident.get("namespace") == NAMESPACE:
            return str(ident.get("name"))
    return None


def _name(dataset: dict[str, Any]) -> str:
    """A dataset's catalog name where it has one, else its OpenLineage name."""
    return _symlink(dataset) or str(dataset.get("name"))


def _events(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.jsonl")):
        with path.open() as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill: the others still count


def read_graph(settings: Settings | None = None) -> Graph:
    """The lineage graph of every event the file transport has written."""
    settings = settings or get_settings()
    graph = Graph()
    for event in _events(events_dir(settings)):
        graph.add(event)
    return graph
