"""``featurelake docs``: a static, offline catalog site of one lake, in the spirit of dbt docs.

Everything on it is declared once elsewhere and read here, without Spark:

- tables: the catalog's :class:`~featurelake.catalog.TableSpec` (description, owner, tags,
  columns and their descriptions, partitioning, keys, constraints, upstream tables), and from
  each Delta log (delta-rs) its version, rows, files, size, partitions, recent commits and the
  latest event date;
- quality: the latest run of each suite in ``ops.validation_results`` (DuckDB);
- features: the Feast definitions (:func:`featurelake.features.definitions.build_definitions`):
  entities, views with their TTL, features and descriptions, services;
- models: the MLflow model registry of the lake and the models the code defines.

The lineage graph runs from the event streams and reference files through bronze, silver and
gold to the feature views, services, models and predictions. It is drawn as inline SVG by a
layered layout computed here, so the site needs no script and no network: open
``<out>/index.html`` from disk, or ``featurelake docs --serve``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from featurelake.catalog import EXTERNAL_SOURCES, Catalog, TableSpec
from featurelake.delta.maintenance import human_size
from featurelake.errors import one_line

__all__ = ["DeclaredModel", "Node", "build_site", "lineage", "serve_site"]


@dataclass(frozen=True)
class DeclaredModel:
    """A model the code trains: what it is, the feature service and label table it learns from."""

    name: str
    description: str
    service: str
    labels: str
    owner: str = "ml-models"


def declared_models() -> list[DeclaredModel]:
    """The models ``featurelake train`` knows."""
    from featurelake.models.delay.features import FEATURE_SERVICE, MODEL_NAME

    return [
        DeclaredModel(
            MODEL_NAME,
            "Will a scheduled departure arrive more than 15 minutes late? A small neural network on "
            "the carrier, route, weather and plane features (featurelake train delay).",
            FEATURE_SERVICE,
            "gold.flight_labels",
        )
    ]


# ---------------------------------------------------------------------------------------------
# The lineage graph


@dataclass(frozen=True)
class Node:
    """One box of the lineage graph."""

    id: str
    """``table:<name>``, ``source:<key>``, ``view:<name>``, ``service:<name>`` or ``model:<name>``."""
    label: str
    kind: str
    """``source``, a layer (``bronze`` ... ``ops``), ``view``, ``service`` or ``model``."""
    href: str


@dataclass
class Graph:
    """Nodes and edges (upstream id, downstream id)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)

    def add(self, node: Node) -> None:
        self.nodes.setdefault(node.id, node)

    def upstream(self, node: str) -> set[str]:
        return {a for a, b in self.edges if b == node}

    def downstream(self, node: str) -> set[str]:
        return {b for a, b in self.edges if a == node}

    def around(self, node: str) -> Graph:
        """The node with every ancestor and descendant (its whole lineage), and no other node."""
        keep = {node}
        for step in (self.upstream, self.downstream):
            todo = [node]
            while todo:
                for nxt in step(todo.pop()):
                    if nxt not in keep:
                        keep.add(nxt)
                        todo.append(nxt)
        return Graph(
            {k: v for k, v in self.nodes.items() if k in keep},
            {(a, b) for a, b in self.edges if a in keep and b in keep},
        )


def _table_href(name: str) -> str:
    return f"tables/{name}.html"


def lineage(catalog: Catalog, definitions: Any, models: list[DeclaredModel]) -> Graph:
    """The graph from event streams and reference files to tables, features and models."""
    g = Graph()

    def ref(name: str) -> str:
        if name in EXTERNAL_SOURCES:
            g.add(Node(f"source:{name}", name, "source", f"index.html#source-{_anchor(name)}"))
            return f"source:{name}"
        if name.startswith("model:"):
            short = name.split(":", 1)[1]
            g.add(Node(name, short, "model", f"models/{short}.html"))
            return name
        spec = catalog.spec(name)
        g.add(Node(f"table:{name}", name, spec.layer, _table_href(name)))
        return f"table:{name}"

    for spec in catalog:
        me = ref(spec.name)
        for up in spec.upstream:
            g.edges.add((ref(up), me))
    for view in definitions.feature_views:
        vid = f"view:{view.name}"
        g.add(Node(vid, view.name, "view", f"features/{view.name}.html"))
        table = _view_table(catalog, view)
        if table is not None:
            g.edges.add((ref(table), vid))
    for service in definitions.feature_services:
        sid = f"service:{service.name}"
        g.add(Node(sid, service.name, "service", f"services/{service.name}.html"))
        for projection in service.feature_view_projections:
            g.edges.add((f"view:{projection.name}", sid))
    for model in models:
        mid = ref(f"model:{model.name}")
        g.edges.add((f"service:{model.service}", mid))
        g.edges.add((ref(model.labels), mid))
    return g


def _view_table(catalog: Catalog, view: Any) -> str | None:
    """The catalog table a feature view reads (a push source's batch source for stream views)."""
    source = view.batch_source or getattr(view.stream_source, "batch_source", None)
    path = os.path.abspath(getattr(source, "path", "") or "")
    for spec in catalog:
        if os.path.abspath(catalog.path(spec.name)) == path:
            return spec.name
    return None


_ORDER = ("source", "bronze", "quarantine", "ops", "silver", "gold", "view", "service", "model")
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _PAD = 178, 24, 34, 8, 10


def _ranks(g: Graph) -> dict[str, int]:
    """Each node's column: the longest path from a node with no upstream."""
    rank: dict[str, int] = {}

    def of(n: str, seen: frozenset[str] = frozenset()) -> int:
        if n not in rank:
            ups = [u for u in g.upstream(n) if u not in seen]
            rank[n] = 1 + max((of(u, seen | {n}) for u in ups), default=-1)
        return rank[n]

    for n in g.nodes:
        of(n)
    return rank


def svg(g: Graph, *, focus: str | None = None, prefix: str = "") -> str:
    """The graph as inline SVG: columns by rank, edges as curves, every box a link.

    Within a column, boxes are ordered by the mean row of their upstream boxes (one sweep of
    the barycentre heuristic), which keeps most edges short and uncrossed.
    """
    if not g.nodes:
        return '<p class="muted">Nothing to draw.</p>'
    rank = _ranks(g)
    columns: dict[int, list[str]] = {}
    for n in sorted(g.nodes, key=lambda n: (_ORDER.index(g.nodes[n].kind), n)):
        columns.setdefault(rank[n], []).append(n)
    row: dict[str, float] = {}
    for r in sorted(columns):
        if r > 0:
            columns[r].sort(
                key=lambda n: (
                    sum(row[u] for u in g.upstream(n)) / max(1, len(g.upstream(n))),
                    _ORDER.index(g.nodes[n].kind),
                    n,
                )
            )
        for i, n in enumerate(columns[r]):
            row[n] = i
    height = max(len(c) for c in columns.values())
    pos: dict[str, tuple[float, float]] = {}
    for r, names in columns.items():
        offset = (height - len(names)) * (_BOX_H + _GAP_Y) / 2
        for i, n in enumerate(names):
            pos[n] = (_PAD + r * (_BOX_W + _GAP_X), _PAD + offset + i * (_BOX_H + _GAP_Y))
    width = _PAD * 2 + (max(columns) + 1) * (_BOX_W + _GAP_X) - _GAP_X
    total_h = _PAD * 2 + height * (_BOX_H + _GAP_Y) - _GAP_Y
    out = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{total_h:.0f}" viewBox="0 0 {width:.0f} {total_h:.0f}" role="img" '
        f'aria-label="lineage graph">'
    ]
    for a, b in sorted(g.edges):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1, y1, y2 = x1 + _BOX_W, y1 + _BOX_H / 2, y2 + _BOX_H / 2
        mid = (x1 + x2) / 2
        hot = " hot" if focus in (a, b) else ""
        out.append(
            f'<path class="edge{hot}" data-from="{html.escape(a)}" data-to="{html.escape(b)}" '
            f'd="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"/>'
        )
    for n, (x, y) in pos.items():
        node = g.nodes[n]
        label = node.label if len(node.label) <= 25 else node.label[:24] + "…"
        cls = f"node {node.kind}" + (" focus" if n == focus else "")
        out.append(
            f'<a href="{html.escape(prefix + node.href)}" data-node="{html.escape(n)}">'
            f'<g class="{cls}"><title>{html.escape(node.label)} ({node.kind})</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{_BOX_W}" height="{_BOX_H}" rx="5"/>'
            f'<text x="{x + 9:.0f}" y="{y + _BOX_H / 2 + 4:.0f}">{html.escape(label)}</text></g></a>'
        )
    out.append("</svg>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# What the lake holds


@dataclass
class TableFacts:
    """A table's state from its Delta log (``error`` when it cannot be read, ``exists`` False
    when it has not been created)."""

    exists: bool = False
    error: str | None = None
    version: int | None = None
    rows: int | None = None
    files: int | None = None
    size_bytes: int | None = None
    partitions: int | None = None
    last_write: dt.datetime | None = None
    latest_event_date: dt.date | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def table_facts(catalog: Catalog, spec: TableSpec, history_limit: int = 10) -> TableFacts:
    """What the table's log says, read with delta-rs (no Spark)."""
    from featurelake.delta import describe, history

    if not catalog.exists(spec.name):
        return TableFacts()
    path = catalog.path(spec.name)
    try:
        st = describe(path)
        commits = history(path, history_limit)
        latest = _latest_partition_date(path, spec)
    except Exception as e:  # one damaged table must not hide the others
        return TableFacts(exists=True, error=one_line(str(e)))
    return TableFacts(
        True,
        None,
        st.version,
        st.rows,
        st.files,
        st.size_bytes,
        st.partitions,
        st.last_write,
        latest,
        commits,
    )


def _latest_partition_date(path: str, spec: TableSpec) -> dt.date | None:
    """The newest value of the table's date partition column, from the log's add actions."""
    from featurelake.delta.snapshot import open_table

    dates = [c for c in spec.partition_by if spec.schema.column(c).type == "date"]
    if not dates:
        return None
    adds = open_table(path).get_add_actions(flatten=True)
    values = [v for v in adds.column(f"partition.{dates[0]}").to_pylist() if v is not None]
    if not values:
        return None
    newest = max(values)
    return newest if isinstance(newest, dt.date) else dt.date.fromisoformat(str(newest))


def quality_results(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """The latest run of each suite, per expectation, keyed by the table it checks.

    A suite ``<dataset>_<layer>`` checks table ``<layer>.<dataset>``. Per expectation: batches
    checked and failed, rows checked, unexpected rows, the worst batch's unexpected percent.
    """
    from featurelake.sql import connect

    if not catalog.exists("ops.validation_results"):
        return {}
    con = connect(catalog)
    try:
        rows = con.sql(
            """
            with latest as (
                select suite, arg_max(run, validated_at) as run from ops.validation_results group by suite
            )
            select r.suite, r.run, r.expectation, any_value(r.expectation_type) as expectation_type,
                   any_value(r.column_name) as column_name, any_value(r.severity) as severity,
                   count(*) as batches, count(*) filter (where not r.success) as failed_batches,
                   sum(r.element_count) as rows, sum(r.unexpected_count) as unexpected,
                   max(r.unexpected_percent) as worst_percent, max(r.validated_at) as validated_at
            from ops.validation_results r join latest using (suite, run)
            group by all order by r.suite, r.expectation
            """
        ).to_arrow_table()
    except Exception as e:
        return {"": [{"error": one_line(str(e))}]}
    finally:
        con.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows.to_pylist():
        dataset, _, layer = str(r["suite"]).rpartition("_")
        out.setdefault(f"{layer}.{dataset}", []).append(r)
    return out


# ---------------------------------------------------------------------------------------------
# HTML


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "-"
    s = max(0.0, (now - when).total_seconds())
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= seconds:
            return f"{s / seconds:.0f} {unit} ago"
    return f"{s:.0f} s ago"


def _ttl(delta: dt.timedelta) -> str:
    if not delta:
        return "none (rows never expire)"
    s = int(delta.total_seconds())
    return f"{s // 86400} d" if s % 86400 == 0 else f"{s // 3600} h" if s % 3600 == 0 else f"{s} s"


def _tags(pairs: Iterable[tuple[str, str]]) -> str:
    return " ".join(f'<span class="tag">{_e(k)}: {_e(v)}</span>' for k, v in pairs) or "-"


def _link(node: str, prefix: str) -> str:
    kind, _, name = node.partition(":")
    href = {
        "table": f"tables/{name}.html",
        "view": f"features/{name}.html",
        "service": f"services/{name}.html",
        "model": f"models/{name}.html",
        "source": f"index.html#source-{_anchor(name)}",
    }[kind]
    return f'<a href="{prefix}{href}">{_e(name)}</a>'


def _page(title: str, body: str, *, prefix: str, generated: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · featurelake catalog</title>
<link rel="stylesheet" href="{prefix}style.css"></head>
<body><header><a class="home" href="{prefix}index.html">featurelake catalog</a>
<nav><a href="{prefix}index.html#tables">Tables</a><a href="{prefix}index.html#features">Feature views</a>
<a href="{prefix}index.html#services">Services</a><a href="{prefix}index.html#models">Models</a>
<a href="{prefix}index.html#lineage">Lineage</a></nav></header>
<main>{body}</main>
<footer>{_e(generated)}</footer></body></html>
"""


def _legend() -> str:
    return '<p class="legend">' + "".join(f'<span class="{k}"><i></i>{k}</span>' for k in _ORDER) + "</p>"


def _quality_badge(results: list[dict[str, Any]] | None) -> str:
    if not results:
        return '<span class="badge none">no checks</span>'
    failed = sum(1 for r in results if r.get("failed_batches"))
    if failed:
        return f'<span class="badge bad">{failed} of {len(results)} failing</span>'
    return f'<span class="badge ok">{len(results)} passing</span>'


def _freshness(facts: TableFacts, now: dt.datetime) -> str:
    if not facts.exists:
        return "not created"
    parts = [f"written {_ago(facts.last_write, now)}"]
    if facts.latest_event_date is not None:
        parts.append(f"data to {facts.latest_event_date:%Y-%m-%d}")
    return ", ".join(parts)


@dataclass
class _Site:
    catalog: Catalog
    definitions: Any
    models: list[DeclaredModel]
    trained: dict[str, list[Any]]
    facts: dict[str, TableFacts]
    quality: dict[str, list[dict[str, Any]]]
    graph: Graph
    now: dt.datetime
    generated: str
    gx_docs: Path | None

    # -- the index -----------------------------------------------------------------------------

    def index(self) -> str:
        cat = self.catalog
        rows = []
        for spec in sorted(cat, key=lambda s: (_ORDER.index(s.layer), s.name)):
            f = self.facts[spec.name]
            state = '<span class="badge bad">damaged</span>' if f.error else ""
            rows.append(
                f"<tr><td>{_link('table:' + spec.name, '')} {state}</td><td>{_e(spec.layer)}</td>"
                f"<td>{_e(spec.description)}</td><td class='nowrap'>{_e(spec.owner)}</td>"
                f'<td class="num">{"-" if f.rows is None else f"{f.rows:,}"}</td>'
                f'<td class="num">{human_size(f.size_bytes)}</td><td>{_e(_freshness(f, self.now))}</td>'
                f"<td>{_quality_badge(self.quality.get(spec.name))}</td></tr>"
            )
        views = []
        for v in self.definitions.feature_views:
            table = _view_table(cat, v)
            views.append(
                f"<tr><td>{_link('view:' + v.name, '')}</td><td>{_e(v.description)}</td>"
                f"<td>{_e(', '.join(v.entities))}</td><td>{_e(_ttl(v.ttl))}</td>"
                f'<td class="num">{len(v.features)}</td>'
                f"<td>{_link('table:' + table, '') if table else '-'}</td>"
                f"<td class='nowrap'>{_e(v.owner)}</td></tr>"
            )
        services = [
            f"<tr><td>{_link('service:' + s.name, '')}</td><td>{_e(s.description)}</td>"
            f"<td>{', '.join(_link('view:' + p.name, '') for p in s.feature_view_projections)}</td>"
            f"<td class='nowrap'>{_e(s.owner)}</td></tr>"
            for s in self.definitions.feature_services
        ]
        entities = [
            f"<tr><td>{_e(en.name)}</td><td><code>{_e(en.join_key)}</code></td>"
            f"<td>{_e(en.description)}</td>"
            f"<td>{', '.join(_link('view:' + v.name, '') for v in self._views_of(en.name))}"
            f"</td><td class='nowrap'>{_e(en.owner)}</td></tr>"
            for en in self.definitions.entities
        ]
        models = []
        for m in self.models:
            versions = self.trained.get(m.name, [])
            latest = versions[-1].version if versions else "not trained yet"
            models.append(
                f"<tr><td>{_link('model:' + m.name, '')}</td><td>{_e(m.description)}</td>"
                f"<td>{_link('service:' + m.service, '')}</td><td>{_e(latest)}</td>"
                f"<td class='nowrap'>{_e(m.owner)}</td></tr>"
            )
        sources = [
            f'<tr id="source-{_anchor(k)}"><td><code>{_e(k)}</code></td><td>{_e(v)}</td>'
            f"<td>{', '.join(_link(d, '') for d in sorted(self.graph.downstream('source:' + k)))}</td></tr>"
            for k, v in EXTERNAL_SOURCES.items()
        ]
        gx = (
            f'<p>Great Expectations Data Docs: <a href="{_e(self.gx_docs.as_uri())}">{_e(self.gx_docs)}</a>'
            " (featurelake quality docs rebuilds them).</p>"
            if self.gx_docs
            else '<p class="muted">No Data Docs built yet (featurelake quality docs).</p>'
        )
        damaged = [n for n, f in self.facts.items() if f.error]
        warn = (
            f'<p class="warn">{len(damaged)} table(s) cannot be read: {_e(", ".join(damaged))} '
            "(featurelake doctor says why).</p>"
            if damaged
            else ""
        )
        created = sum(1 for f in self.facts.values() if f.exists)
        body = f"""
<h1>Lake <code>{_e(cat.settings.lake)}</code></h1>
<p class="lead">{len(rows)} tables declared, {created} created; {len(views)} feature views,
{len(services)} feature services, {len(models)} models. Every description, owner and tag below is
declared once, in the table catalog (<code>src/featurelake/tables/</code>) and the Feast definitions
(<code>src/featurelake/features/definitions.py</code>).</p>{warn}
<h2 id="lineage">Lineage</h2>{_legend()}<div class="graph">{svg(self.graph)}</div>
<h2 id="tables">Tables</h2>
<table><tr><th>table</th><th>layer</th><th>description</th><th>owner</th><th>rows</th><th>size</th>
<th>freshness</th><th>quality</th></tr>{"".join(rows)}</table>
<h2 id="features">Feature views</h2>
<table><tr><th>view</th><th>description</th><th>entities</th><th>TTL</th><th>features</th><th>table</th>
<th>owner</th></tr>{"".join(views)}</table>
<h2 id="services">Feature services</h2>
<table><tr><th>service</th><th>description</th><th>views</th><th>owner</th></tr>{"".join(services)}</table>
<h2 id="entities">Entities</h2>
<table><tr><th>entity</th><th>join key</th><th>description</th><th>views</th><th>owner</th></tr>
{"".join(entities)}</table>
<h2 id="models">Models</h2>
<table><tr><th>model</th><th>description</th><th>service</th><th>latest version</th><th>owner</th></tr>
{"".join(models)}</table>
<h2 id="sources">Sources</h2>
<table><tr><th>source</th><th>what</th><th>feeds</th></tr>{"".join(sources)}</table>
<h2 id="quality">Data quality</h2>{gx}
"""
        return _page("Lake", body, prefix="", generated=self.generated)

    # -- a table -------------------------------------------------------------------------------

    def table(self, spec: TableSpec) -> str:
        f = self.facts[spec.name]
        node = f"table:{spec.name}"
        p = "../"
        columns = "".join(
            f"<tr><td><code>{_e(c.name)}</code></td><td class='mono'>{_e(c.type)}</td>"
            f"<td>{'yes' if c.nullable else 'no'}</td>"
            f"<td>{'partition' if c.name in spec.partition_by else ''}"
            f"{' key' if c.name in spec.keys else ''}</td><td>{_e(spec.column_doc(c.name))}</td></tr>"
            for c in spec.schema.columns
        )
        constraints = "".join(
            f"<tr><td><code>{_e(n)}</code></td><td class='mono'>{_e(c)}</td></tr>"
            for n, c in spec.constraints
        )
        if f.error:
            state = f'<p class="warn">This table cannot be read: {_e(f.error)}</p>'
        elif not f.exists:
            state = '<p class="warn">Not created yet: the first write creates it.</p>'
        else:
            state = ""
        facts = f"""<dl class="facts">
<dt>owner</dt><dd>{_e(spec.owner) or "-"}</dd><dt>tags</dt><dd>{_tags(spec.tags)}</dd>
<dt>path</dt><dd><code>{_e(self.catalog.path(spec.name))}</code></dd>
<dt>partitioned by</dt><dd>{_e(", ".join(spec.partition_by)) or "not partitioned"}</dd>
<dt>keys</dt><dd>{_e(", ".join(spec.keys)) or "-"}</dd>
<dt>change data feed</dt><dd>{"on" if spec.change_feed else "off"}</dd>
<dt>version</dt><dd>{_e(f.version if f.version is not None else "-")}</dd>
<dt>rows</dt><dd>{"-" if f.rows is None else f"{f.rows:,}"}</dd>
<dt>files</dt><dd>{_e(f.files if f.files is not None else "-")}</dd>
<dt>size</dt><dd>{human_size(f.size_bytes)}</dd>
<dt>partitions</dt><dd>{_e(f.partitions if f.partitions is not None else "-")}</dd>
<dt>last write</dt><dd>{f"{f.last_write:%Y-%m-%d %H:%M:%S} UTC" if f.last_write else "-"}</dd>
<dt>freshness</dt><dd>{_e(_freshness(f, self.now))}</dd>
<dt>upstream</dt><dd>{", ".join(_link(u, p) for u in sorted(self.graph.upstream(node))) or "-"}</dd>
<dt>downstream</dt><dd>{", ".join(_link(d, p) for d in sorted(self.graph.downstream(node))) or "-"}</dd>
</dl>"""
        history = "".join(
            f"<tr><td class='num'>{_e(h.get('version'))}</td>"
            f"<td>{dt.datetime.fromtimestamp(int(h['timestamp']) / 1000, dt.UTC):%Y-%m-%d %H:%M:%S}</td>"
            f"<td>{_e(h.get('operation'))}</td>"
            f"<td class='mono'>{_e(_metrics(h))}</td>"
            f"<td class='mono'>{_e(h.get('userMetadata') or '')}</td></tr>"
            for h in f.history
        )
        results = self.quality.get(spec.name)
        if results:
            checked = max(r["validated_at"] for r in results)
            lines = []
            for r in results:
                verdict = (
                    '<span class="badge bad">failed</span>'
                    if r["failed_batches"]
                    else '<span class="badge ok">passed</span>'
                )
                lines.append(
                    f"<tr><td><code>{_e(r['expectation'])}</code><br>"
                    f"<span class='muted'>{_e(r['expectation_type'])}</span></td>"
                    f"<td>{_e(r['column_name'] or '-')}</td><td>{_e(r['severity'])}</td>"
                    f"<td class='num'>{r['batches']:,}</td><td class='num'>{r['failed_batches']:,}</td>"
                    f"<td class='num'>{r['rows']:,}</td><td class='num'>{r['unexpected']:,}</td>"
                    f"<td class='num'>{r['worst_percent']:.2f} %</td><td>{verdict}</td></tr>"
                )
            quality = (
                f"<p>Latest run <code>{_e(results[0]['run'])}</code> of suite "
                f"<code>{_e(results[0]['suite'])}</code>, checked {checked:%Y-%m-%d %H:%M:%S} UTC.</p>"
                "<table><tr><th>expectation</th><th>column</th><th>severity</th><th>batches</th>"
                "<th>failed</th><th>rows</th><th>unexpected</th><th>worst batch</th><th></th></tr>"
                + "".join(lines)
                + "</table>"
            )
        else:
            quality = '<p class="muted">No expectation suite checks this table.</p>'
        body = f"""
<h1>{_e(spec.name)}<span class="kind">{_e(spec.layer)} table</span></h1>
<p class="lead">{_e(spec.description)}</p>{state}{facts}
<h2>Lineage</h2>{_legend()}<div class="graph">{svg(self.graph.around(node), focus=node, prefix=p)}</div>
<h2>Columns</h2>
<table><tr><th>column</th><th>type</th><th>nullable</th><th>role</th><th>description</th></tr>{columns}</table>
{_section("Constraints", ("name", "CHECK"), constraints)}
<h2>Quality</h2>{quality}
<h2>Versions</h2>
{_section("", ("version", "time (UTC)", "operation", "metrics", "metadata"), history, "No commits.")}
"""
        return _page(spec.name, body, prefix=p, generated=self.generated)

    # -- features, services, models ------------------------------------------------------------

    def _models_using(self, service_names: set[str], prefix: str) -> str:
        names = [m.name for m in self.models if m.service in service_names]
        return ", ".join(_link("model:" + n, prefix) for n in names) or "none"

    def _views_of(self, entity: str) -> list[Any]:
        return [v for v in self.definitions.feature_views if entity in v.entities]

    def view(self, v: Any) -> str:
        p = "../"
        node = f"view:{v.name}"
        services = [s.name for s in self.definitions.feature_services if v.name in _service_views(s)]
        table = _view_table(self.catalog, v)
        entities = {e.name: e for e in self.definitions.entities}
        ents = "".join(
            f"<tr><td>{_e(n)}</td><td><code>{_e(entities[n].join_key if n in entities else n)}"
            f"</code></td><td>{_e(entities[n].description if n in entities else '')}</td></tr>"
            for n in v.entities
        )
        feats = "".join(
            f"<tr><td><code>{_e(fld.name)}</code></td><td class='mono'>{_e(fld.dtype)}</td>"
            f"<td>{_e(fld.description)}</td></tr>"
            for fld in v.features
        )
        stream = getattr(v, "stream_source", None)
        body = f"""
<h1>{_e(v.name)}<span class="kind">feature view</span></h1>
<p class="lead">{_e(v.description)}</p>
<dl class="facts"><dt>owner</dt><dd>{_e(v.owner) or "-"}</dd>
<dt>tags</dt><dd>{_tags(sorted(v.tags.items()))}</dd>
<dt>TTL</dt><dd>{_e(_ttl(v.ttl))}</dd><dt>online</dt><dd>{"yes" if v.online else "no"}</dd>
<dt>source table</dt><dd>{_link("table:" + table, p) if table else "-"}</dd>
<dt>push source</dt><dd>{_e(stream.name) if stream is not None else "-"}</dd>
<dt>services</dt><dd>{", ".join(_link("service:" + s, p) for s in services) or "-"}</dd>
<dt>used by models</dt><dd>{self._models_using(set(services), p)}</dd></dl>
<h2>Lineage</h2>{_legend()}<div class="graph">{svg(self.graph.around(node), focus=node, prefix=p)}</div>
<h2>Entities</h2><table><tr><th>entity</th><th>join key</th><th>description</th></tr>{ents}</table>
<h2>Features</h2><table><tr><th>feature</th><th>type</th><th>description</th></tr>{feats}</table>
"""
        return _page(v.name, body, prefix=p, generated=self.generated)

    def service(self, s: Any) -> str:
        p = "../"
        node = f"service:{s.name}"
        rows = "".join(
            f"<tr><td>{_link('view:' + proj.name, p)}</td><td><code>{_e(proj.name)}:{_e(f.name)}</code></td>"
            f"<td class='mono'>{_e(f.dtype)}</td><td>{_e(f.description)}</td></tr>"
            for proj in s.feature_view_projections
            for f in proj.features
        )
        body = f"""
<h1>{_e(s.name)}<span class="kind">feature service</span></h1>
<p class="lead">{_e(s.description)}</p>
<dl class="facts"><dt>owner</dt><dd>{_e(s.owner) or "-"}</dd>
<dt>tags</dt><dd>{_tags(sorted(s.tags.items()))}</dd>
<dt>used by models</dt><dd>{self._models_using({s.name}, p)}</dd></dl>
<h2>Lineage</h2>{_legend()}<div class="graph">{svg(self.graph.around(node), focus=node, prefix=p)}</div>
<h2>Features</h2><table><tr><th>view</th><th>feature</th><th>type</th><th>description</th></tr>{rows}</table>
"""
        return _page(s.name, body, prefix=p, generated=self.generated)

    def model(self, m: DeclaredModel) -> str:
        p = "../"
        node = f"model:{m.name}"
        versions = self.trained.get(m.name, [])
        rows = "".join(
            f"<tr><td>{_e(v.version)}</td><td>{_e(', '.join(v.aliases)) or '-'}</td>"
            f"<td class='mono'>{_e(_short_metrics(v.metrics))}</td>"
            f"<td class='mono'>{_e(_tables_read(v.lineage))}</td></tr>"
            for v in reversed(versions)
        )
        body = f"""
<h1>{_e(m.name)}<span class="kind">model</span></h1>
<p class="lead">{_e(m.description)}</p>
<dl class="facts"><dt>owner</dt><dd>{_e(m.owner)}</dd>
<dt>feature service</dt><dd>{_link("service:" + m.service, p)}</dd>
<dt>labels</dt><dd>{_link("table:" + m.labels, p)}</dd>
<dt>writes</dt><dd>{", ".join(_link(d, p) for d in sorted(self.graph.downstream(node))) or "-"}</dd>
<dt>versions</dt><dd>{len(versions) or "not trained yet (featurelake train delay)"}</dd></dl>
<h2>Lineage</h2>{_legend()}<div class="graph">{svg(self.graph.around(node), focus=node, prefix=p)}</div>
{_section("Versions (MLflow registry)", _VERSION_COLUMNS, rows)}
"""
        return _page(m.name, body, prefix=p, generated=self.generated)


_VERSION_COLUMNS = ("version", "aliases", "metrics", "trained from (table@version)")


def _section(title: str, header: tuple[str, ...], rows: str, empty: str = "") -> str:
    """A table under an ``<h2>`` (none when ``title`` is empty); ``empty``, or nothing, without rows."""
    head = f"<h2>{_e(title)}</h2>" if title else ""
    if not rows:
        return f'{head}<p class="muted">{_e(empty)}</p>' if empty else ""
    return f"{head}<table><tr>{''.join(f'<th>{_e(h)}</th>' for h in header)}</tr>{rows}</table>"


def _service_views(service: Any) -> set[str]:
    return {p.name for p in service.feature_view_projections}


def _metrics(commit: dict[str, Any]) -> str:
    m = commit.get("operationMetrics") or {}
    keys = (
        "numOutputRows",
        "numTargetRowsInserted",
        "numTargetRowsDeleted",
        "numAddedFiles",
        "numRemovedFiles",
    )
    return ", ".join(f"{k}={m[k]}" for k in keys if k in m)


def _short_metrics(metrics: dict[str, Any]) -> str:
    flat = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return ", ".join(f"{k}={v:.4g}" for k, v in list(flat.items())[:6])


def _tables_read(lineage: dict[str, Any]) -> str:
    tables = lineage.get("tables") or lineage.get("table_versions") or {}
    if isinstance(tables, dict):
        return ", ".join(f"{k}@{v}" for k, v in sorted(tables.items()))
    return json.dumps(tables)[:200]


def build_site(out: Path | None = None, catalog: Catalog | None = None) -> Path:
    """Write the site for ``catalog``'s lake into ``out`` (default ``<lake>/docs``).

    Returns:
        The path of its ``index.html``.
    """
    from featurelake.features.definitions import build_definitions
    from featurelake.models.tracking import list_versions

    catalog = catalog or Catalog()
    out = Path(out) if out is not None else catalog.settings.lake / "docs"
    definitions = build_definitions(catalog)
    models = declared_models()
    trained: dict[str, list[Any]] = {}
    for version in list_versions(settings=catalog.settings):
        trained.setdefault(version.name, []).append(version)
    now = dt.datetime.now(dt.UTC)
    gx = catalog.settings.lake / "quality" / "gx"
    gx_index = next(iter(sorted(gx.rglob("data_docs/local_site/index.html"))), None) if gx.is_dir() else None
    site = _Site(
        catalog,
        definitions,
        models,
        trained,
        {spec.name: table_facts(catalog, spec) for spec in catalog},
        quality_results(catalog),
        lineage(catalog, definitions, models),
        now,
        f"Built {now:%Y-%m-%d %H:%M:%S} UTC by featurelake docs from {catalog.settings.lake}",
        gx_index,
    )
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for sub in ("tables", "features", "services", "models"):
        (staging / sub).mkdir(parents=True)
    (staging / "style.css").write_text(resources.files("featurelake").joinpath("docs_site.css").read_text())
    (staging / "index.html").write_text(site.index())
    for spec in catalog:
        (staging / "tables" / f"{spec.name}.html").write_text(site.table(spec))
    for fv in definitions.feature_views:
        (staging / "features" / f"{fv.name}.html").write_text(site.view(fv))
    for s in definitions.feature_services:
        (staging / "services" / f"{s.name}.html").write_text(site.service(s))
    for m in models:
        (staging / "models" / f"{m.name}.html").write_text(site.model(m))
    # Replace the old site in one step, so a server of it never shows half a site.
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out / "index.html"


def serve_site(folder: Path, host: str, port: int) -> None:
    """Serve ``folder`` over HTTP until interrupted (no caching, so a rebuild shows at once)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI is quiet by default
            pass

    with ThreadingHTTPServer((host, port), functools.partial(Handler, directory=str(folder))) as server:
        server.serve_forever()
