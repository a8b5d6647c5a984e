"""Ad-hoc SQL over every table with DuckDB.

Each catalog table that exists is a view ``<layer>.<name>`` over
``delta_scan``; DuckDB's ``delta`` extension is loaded from the
``duckdb-extension-delta`` package, never downloaded.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from featurelake.catalog import LAYERS, Catalog, TableSpec
from featurelake.errors import AccessDenied, TableNotFoundError, one_line
from featurelake.governance.masking import MASKED_SCHEMA, masked_select

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from featurelake.governance.policy import Role

__all__ = [
    "OutputFormat",
    "check_statement",
    "connect",
    "delta_extension_path",
    "install_delta_extension",
    "json_text",
    "query",
    "render",
    "run",
]

OutputFormat = Literal["table", "csv", "json", "jsonl"]


def delta_extension_path() -> Path:
    """The ``delta`` extension file shipped in the ``duckdb-extension-delta`` package."""
    import duckdb

    version = duckdb.__version__
    path = (
        Path(str(resources.files("duckdb_extension_delta")))
        / "extensions"
        / f"v{version}"
        / "delta.duckdb_extension"
    )
    if not path.exists():
        raise FileNotFoundError(
            f"duckdb-extension-delta has no build for DuckDB v{version} at {path}; "
            "pin both packages to the same version"
        )
    return path


def install_delta_extension() -> None:
    """Install the packaged extension into DuckDB's extension folder, so ``LOAD delta`` works offline.

    Feast's DuckDB offline store runs ``INSTALL delta; LOAD delta`` itself; this makes that work
    without a download.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"INSTALL '{delta_extension_path()}'")
    finally:
        con.close()


def connect(
    catalog: Catalog | None = None, *, database: str = ":memory:", role: Role | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with schemas bronze, silver, gold, quarantine, ops and a view per table,
    and ``masked`` with a masked view of each table holding personal data
    (:mod:`featurelake.governance.masking`).

    For notebooks::

        con = featurelake.sql.connect()
        con.sql("select carrier, count(*) from silver.planes join ... group by 1").df()

    With a ``role`` (``featurelake sql``), a table the role may not read is a view that refuses
    with one line, and unless the role may write with DuckDB the connection is locked down: no
    file outside the readable tables' folders, no ``ATTACH``, ``INSTALL`` or setting changes
    (:func:`check_statement` refuses the rest before a statement runs).
    """
    import duckdb

    catalog = catalog or Catalog()
    lake = catalog.settings.lake
    if not lake.is_dir():
        raise TableNotFoundError(
            f"no lake at {lake}: set FEATURELAKE_LAKE to a lake's folder, or build one (make demo)"
        )
    con = duckdb.connect(database)
    con.execute(f"LOAD '{delta_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    for layer in LAYERS:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{MASKED_SCHEMA}"')
    readable: list[str] = []
    for spec in catalog:
        if spec.direct_identifiers and catalog.exists(spec.name):
            masked = f"{MASKED_SCHEMA}.{spec.short_name}"
            if role is None or role.reads(masked):
                if role is not None and not role.reads(spec.name):
                    readable.append(catalog.path(spec.name).rstrip("/") + "/")
                source = "delta_scan('" + catalog.path(spec.name).replace("'", "''") + "')"
                view = f'"{MASKED_SCHEMA}"."{spec.short_name}"'
                try:
                    con.execute(
                        f"CREATE OR REPLACE VIEW {view} AS {masked_select(spec, source, quote=chr(34))}"
                    )
                except duckdb.Error as e:
                    _refusing_view(con, view, f"table {spec.name} cannot be read ({one_line(str(e))})")
        if catalog.exists(spec.name):
            path = catalog.path(spec.name).replace("'", "''")
            view = f'"{spec.layer}"."{spec.short_name}"'
            if role is not None and not role.reads(spec.name):
                _refusing_view(con, view, role.refuse_table(spec.name))
                continue
            readable.append(catalog.path(spec.name).rstrip("/") + "/")
            try:
                con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM delta_scan('{path}')")
            except duckdb.Error as e:
                # A damaged table fails only the queries that read it, with its name and the cause.
                cause = f"table {spec.name} cannot be read ({one_line(str(e))}); run featurelake doctor"
                _refusing_view(con, view, cause)
        elif role is None or role.reads(spec.name):
            # Declared but not written yet (ops.alerts before the first alert, a fresh lake): no
            # rows of its declared columns, as a catalog that knows the table answers.
            con.execute(
                f'CREATE OR REPLACE VIEW "{spec.layer}"."{spec.short_name}" AS {_empty_select(con, spec)}'
            )
    if role is not None and not role.duckdb_write:
        dirs = ", ".join("'" + d.replace("'", "''") + "'" for d in readable)
        con.execute(f"SET allowed_directories = [{dirs}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def _empty_select(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    """A SELECT of no rows with ``spec``'s columns, in the DuckDB types its Delta table will have."""
    schema = spec.schema.to_arrow()
    types = con.from_arrow(schema.empty_table()).types
    columns = ", ".join(f'CAST(NULL AS {t}) AS "{name}"' for name, t in zip(schema.names, types, strict=True))
    return f"SELECT {columns} WHERE false"


def _refusing_view(con: duckdb.DuckDBPyConnection, view: str, message: str) -> None:
    """Make ``view`` a view whose every read fails with ``message``.

    (A filter, not a column: every read evaluates it, ``count(*)`` too.)
    """
    text = message.replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM range(1) WHERE error('{text}') IS NULL")


_READS = ("SELECT", "EXPLAIN")
"""The statement types a role without DuckDB writes may run (DESCRIBE, SHOW, SUMMARIZE and
PRAGMA parse as SELECT)."""
_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_functions",
        "duckdb_schemas",
        "duckdb_types",
        "pragma_table_info",
        "pragma_version",
        "pragma_show",
        "summary",
        "pragma_database_size",
        "pragma_storage_info",
    }
)
"""Table functions that read no file: the only ones a role without DuckDB writes may call. The
others (``delta_scan``, ``read_parquet``, ``read_csv``, ``glob``, ...) could read a table the
role may not, or leak its column statistics through file pruning."""


def check_statement(
    con: duckdb.DuckDBPyConnection, sql: str, role: Role, read: list[str] | None = None
) -> list[str]:
    """Refuse what ``role`` may not run; the tables (``layer.name``) the statements name.

    Args:
        read: filled with the tables the statements name, also when one is refused.

    Raises:
        AccessDenied: a statement other than a read, or a file-reading table function, for a
            role without DuckDB writes (one line naming it).
    """
    import re

    tables: set[str] = set()
    for statement in con.extract_statements(sql):
        kind = statement.type.name
        if role.duckdb_write:
            if kind == "SELECT":
                _tables_of(con, statement.query, tables)
            continue
        if kind not in _READS:
            # named as typed: DuckDB's type of INSTALL is LOAD
            word = statement.query.split(None, 1)[0].upper() if statement.query.strip() else kind
            raise AccessDenied(
                f"featurelake sql is read-only for role {role.name}: {word} statements are refused "
                "(only admin may change anything; Spark SQL's MERGE, UPDATE and DELETE are in "
                "featurelake spark-sql)"
            )
        text = re.sub(r"^\s*explain\s+(analyze\s+)?", "", statement.query, flags=re.IGNORECASE)
        functions = _tables_of(con, text, tables)
        if functions is None:
            raise AccessDenied(f"role {role.name} may run plain queries only: {one_line(text)[:80]}")
        refused = sorted(functions - _TABLE_FUNCTIONS)
        if refused:
            raise AccessDenied(
                f"role {role.name} may not call {', '.join(f + '()' for f in refused)}: "
                "query the tables by name (silver.flights, gold.*, ...)"
            )
    if read is not None:
        read.extend(sorted(tables))  # before a refusal too: the audit log names what was asked for
    for table in sorted(tables):
        if table.split(".", 1)[0] in LAYERS and not role.reads(table):
            raise AccessDenied(role.refuse_table(table))
    return sorted(tables)


def _tables_of(con: duckdb.DuckDBPyConnection, query: str, tables: set[str]) -> set[str] | None:
    """Add the tables ``query`` names to ``tables``; its table functions (None: not a plain query)."""
    row = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [query]).fetchone()
    tree = json.loads(row[0]) if row else {}
    if tree.get("error"):
        return None
    functions: set[str] = set()
    _walk(tree, functions, tables)
    return functions


def _walk(node: Any, functions: set[str], tables: set[str]) -> None:
    """Collect table function names and base tables from a ``json_serialize_sql`` tree."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            functions.add(str(function.get("function_name", "?")).lower())
        elif kind == "BASE_TABLE":
            schema, name = node.get("schema_name") or "", node.get("table_name") or ""
            tables.add(f"{schema}.{name}" if schema else name)
        for value in node.values():
            _walk(value, functions, tables)
    elif isinstance(node, list):
        for value in node:
            _walk(value, functions, tables)


def query(sql: str, catalog: Catalog | None = None) -> pa.Table:
    """Run SQL over the lake (unrestricted: library use) and return the last statement's result as Arrow.

    Raises:
        ValueError: the last statement has no result.
    """
    table = run(sql, catalog)
    if table is None:
        raise ValueError(f"the statement has no result: {one_line(sql)[:80]}")
    return table


def run(
    sql: str, catalog: Catalog | None = None, *, role: Role | None = None, read: list[str] | None = None
) -> pa.Table | None:
    """Run SQL as ``role`` (``featurelake sql``): the last statement's result, None when it has none.

    Args:
        read: filled with the tables the statements name (for the audit log), when given.

    Raises:
        AccessDenied: the role may not run a statement (nothing ran).
    """
    con = connect(catalog, role=role)
    try:
        if role is not None:
            check_statement(con, sql, role, read)
        result = con.sql(sql)
        return None if result is None else result.to_arrow_table()
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _jsonable(value: Any) -> Any:
    """A value JSON can hold: NaN and infinities become null (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def json_text(value: Any, **kwargs: Any) -> str:
    """JSON text for CLI output: any value, NaN and infinities as null."""
    return json.dumps(_jsonable(value), default=str, allow_nan=False, **kwargs)


def render(table: pa.Table, fmt: OutputFormat, out: TextIO = sys.stdout) -> None:
    """Print a result as an aligned table, CSV, one JSON array (``json``) or JSON lines (``jsonl``)."""
    import pyarrow as pa

    rows: Sequence[dict[str, Any]] = table.to_pylist()
    names = table.column_names
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row[n] is None else row[n] for n in names])
    elif fmt == "json":
        out.write(json_text(list(rows), indent=1) + "\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(json_text(row) + "\n")
    elif fmt == "table":
        cells = [[_cell(row[n]) for n in names] for row in rows]
        widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
        # text reads from the left, numbers line up on the right
        left = [pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in table.schema]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        buf = io.StringIO()
        buf.write(line + "\n")
        buf.write("| " + " | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)) + " |\n")
        buf.write(line + "\n")
        for r in cells:
            buf.write(
                "| "
                + " | ".join(
                    c.ljust(w) if lj else c.rjust(w) for c, w, lj in zip(r, widths, left, strict=True)
                )
                + " |\n"
            )
        buf.write(line + "\n")
        buf.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")
        out.write(buf.getvalue())
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of: table, csv, json, jsonl")


def export(
    sql: str,
    output: str,
    catalog: Catalog | None = None,
    *,
    role: Role | None = None,
    read: list[str] | None = None,
) -> int:
    """Write a query's result to ``output`` (``.parquet`` or ``.csv``); returns the row count.

    Raises:
        ValueError: ``output`` has another extension.
    """
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".parquet", ".csv"):
        raise ValueError(f"--output {output!r} must end in .parquet or .csv")
    table = run(sql, catalog, role=role, read=read)
    if table is None:
        raise ValueError("the statement has no result to write")
    # written here, not by DuckDB: a restricted connection writes no file
    if ext == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, output)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, output)
    return table.num_rows
