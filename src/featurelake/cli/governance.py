"""Governance commands: ``featurelake tokens create|list|revoke`` (the feature server's bearer
tokens), ``featurelake audit`` (who did what) and ``featurelake lineage`` (what from what)."""

from __future__ import annotations

import datetime as dt

import click

from featurelake.cli import UtcTime, emit, format_option, friendly, main, role_option
from featurelake.errors import FeaturelakeError


@main.group()
def tokens() -> None:
    """Bearer tokens of the feature server: each maps to a role of policy.toml, stored hashed."""


@tokens.command("create")
@click.option("--role", required=True, help="The policy role the token acts as (ml_service, analyst, ...).")
@click.option("--name", required=True, help="A name to list and revoke it by (who or what uses it).")
@friendly
def create(role: str, name: str) -> None:
    """Make a token and print it, once: only its SHA-256 is kept."""
    from featurelake.config import get_settings
    from featurelake.governance.audit import audited
    from featurelake.governance.policy import current_role
    from featurelake.governance.tokens import create_token

    settings = get_settings()
    current_role("admin", settings)  # only a user who may act as admin hands out access
    with audited("token-create", settings, role="admin", target=f"{name} ({role})"):
        token = create_token(role, name, settings)
    click.echo(token)
    click.echo(
        f"(token {name!r} for role {role}; send it as 'Authorization: Bearer <token>'. It is not shown "
        f"again: {settings.tokens_file} keeps its hash only)",
        err=True,
    )


@tokens.command("list")
@format_option
@friendly
def list_(fmt: str) -> None:
    """Name, role and creation time of every token."""
    from featurelake.governance.tokens import list_tokens

    emit(list_tokens(), fmt, columns=["name", "role", "created"])


@tokens.command("revoke")
@click.argument("name")
@friendly
def revoke(name: str) -> None:
    """Remove the token called NAME; a running server refuses it from its next request."""
    from featurelake.governance.audit import audited
    from featurelake.governance.policy import current_role
    from featurelake.governance.tokens import revoke_token

    current_role("admin")
    with audited("token-revoke", role="admin", target=name):
        revoke_token(name)
    click.echo(f"revoked {name}")


@main.command()
@click.option(
    "--since",
    type=UtcTime(),
    help="From this UTC day or time on (YYYY-MM-DD[THH:MM[:SS]]) [default: the last 24 hours].",
)
@click.option(
    "--action", help="Only this action: serve, sql, spark-sql, maintain, restore, forget, token-..."
)
@click.option("--actor", help="Only this OS user or token name.")
@click.option(
    "--limit", type=click.IntRange(1), default=1000, show_default=True, help="At most this many rows."
)
@format_option
@role_option
@friendly
def audit(
    since: dt.date | None, action: str | None, actor: str | None, limit: int, fmt: str, role: str | None
) -> None:
    """Who did what: ops.audit_log, newest first (requests served, SQL statements, forget, ...)."""
    from featurelake import sql as lake_sql
    from featurelake.catalog import Catalog
    from featurelake.governance.policy import current_role

    acting = current_role(role)
    catalog = Catalog()
    if not catalog.exists("ops.audit_log"):
        raise FeaturelakeError("ops.audit_log has no rows yet: nothing has been audited in this lake")
    start = (
        since if since is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    )
    if not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time())
    where = [f"occurred_at >= TIMESTAMPTZ '{start.isoformat()}+00:00'"]
    where += [
        f"{column} = '{value.replace(chr(39), chr(39) * 2)}'"
        for column, value in (("action", action), ("actor", actor))
        if value
    ]
    query = (
        "select occurred_at, actor, role, action, target, tables, entities, status, detail "
        "from ops.audit_log "
        f"where {' and '.join(where)} order by occurred_at desc limit {limit}"
    )
    result = lake_sql.run(query, catalog, role=acting)
    assert result is not None
    lake_sql.render(result, fmt)  # type: ignore[arg-type]


@main.command()
@click.argument("table")
@click.option(
    "--depth", type=click.IntRange(1), default=10, show_default=True, help="Levels to follow each way."
)
@friendly
def lineage(table: str, depth: int) -> None:
    """TABLE's upstream and downstream, from the OpenLineage events of its writes (and their columns'
    inputs where an event has them)."""
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.lineage import events_dir, read_graph

    settings = get_settings()
    name = Catalog(settings=settings).spec(table).name
    graph = read_graph(settings)
    if name not in graph.parents and name not in graph.children and name not in graph.jobs:
        raise FeaturelakeError(
            f"no OpenLineage event names {name} under {events_dir(settings)}: it has not been written "
            "since lineage was on (FEATURELAKE_LINEAGE)"
        )

    def walk(node: str, edges: dict[str, set[str]], level: int, seen: set[str]) -> None:
        for other in sorted(edges.get(node, ())):
            version = graph.versions.get(other)
            again = " (above)" if other in seen else ""
            click.echo(f"{'  ' * level}{other}{f'  v{version}' if version else ''}{again}")
            if not again and level < depth:
                walk(other, edges, level + 1, seen | {other})

    version = graph.versions.get(name)
    writers = ", ".join(sorted(graph.jobs.get(name, ()))) or "-"
    click.echo(f"{name}{f'  v{version}' if version else ''}  written by: {writers}")
    click.echo("upstream:")
    walk(name, graph.parents, 1, {name})
    if not graph.parents.get(name):
        click.echo("  (none)")
    click.echo("downstream:")
    walk(name, graph.children, 1, {name})
    if not graph.children.get(name):
        click.echo("  (none)")
    for column, sources in sorted(graph.columns.get(name, {}).items()):
        click.echo(f"column {column} <- {', '.join(sorted(sources))}")


@main.command()
@click.option("--passenger-id", help="The person's passenger id (account number), e.g. P0123456.")
@click.option("--email", help="The person's e-mail address (case and surrounding blanks are ignored).")
@role_option
@friendly
def forget(passenger_id: str | None, email: str | None, role: str | None) -> None:
    """Erase one person from every layer: landing files, bronze, quarantine, silver, gold, both
    online stores and the Kafka key table, then VACUUM the old files away; ops.erasure_log
    records it by pseudonym. Needs a role that writes (admin, engineer)."""
    from featurelake.errors import AccessDenied
    from featurelake.governance.audit import audited
    from featurelake.governance.erasure import forget as erase
    from featurelake.governance.policy import current_role

    if (passenger_id is None) == (email is None):
        raise click.UsageError("name the person with exactly one of --passenger-id and --email")
    acting = current_role(role)
    if not acting.write:
        raise AccessDenied(f"role {acting.name} may not erase data: forget needs a role with write = true")
    tables: list[str] = []
    erasure: list[str] = []  # its id, once known: the audit row names the erasure, never the person
    with audited("forget", role=acting.name, target=erasure, tables=tables):
        result = erase(
            passenger_id=passenger_id,
            email=email,
            say=lambda line: click.echo(f"  {line}"),
            started=erasure.append,
        )
        tables.extend(sorted(result.versions))
    if result.found:
        click.echo(f"forgotten: erasure {result.erasure_id} (ops.erasure_log)")
    else:
        click.echo(f"no layer held that person; erasure {result.erasure_id} recorded as not_found")
