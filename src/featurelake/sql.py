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

from featurelake.catalog import LAYERS, Catalog
from featurelake.errors import one_line

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = [
    "OutputFormat",
    "connect",
    "delta_extension_path",
    "install_delta_extension",
    "json_text",
    "query",
    "render",
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


def connect(catalog: Catalog | None = None, *, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with schemas bronze, silver, gold, quarantine, ops and a view per table.

    For notebooks::

        con = featurelake.sql.connect()
        con.sql("select carrier, count(*) from silver.planes join ... group by 1").df()
    """
    import duckdb

    catalog = catalog or Catalog()
    con = duckdb.connect(database)
    con.execute(f"LOAD '{delta_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    for layer in LAYERS:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
    for spec in catalog:
        if catalog.exists(spec.name):
            path = catalog.path(spec.name).replace("'", "''")
            view = f'"{spec.layer}"."{spec.short_name}"'
            try:
                con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM delta_scan('{path}')")
            except duckdb.Error as e:
                # A damaged table fails only the queries that read it, with its name and the cause.
                cause = one_line(str(e)).replace("'", "''")
                # (a filter, not a column: every read evaluates it, count(*) too)
                con.execute(
                    f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM range(1) WHERE "
                    f"error('table {spec.name} cannot be read ({cause}); run featurelake doctor') IS NULL"
                )
    return con


def query(sql: str, catalog: Catalog | None = None) -> pa.Table:
    """Run one SQL query over the lake and return the result as Arrow."""
    con = connect(catalog)
    try:
        return con.sql(sql).to_arrow_table()
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


def export(sql: str, output: str, catalog: Catalog | None = None) -> int:
    """Write a query's result to ``output`` (``.parquet`` or ``.csv``); returns the row count.

    Raises:
        ValueError: ``output`` has another extension.
    """
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".parquet", ".csv"):
        raise ValueError(f"--output {output!r} must end in .parquet or .csv")
    con = connect(catalog)
    try:
        rel = con.sql(sql)
        count = rel.aggregate("count(*)").fetchone()
        if ext == ".parquet":
            rel.write_parquet(output)
        else:
            rel.write_csv(output, header=True)
        return int(count[0]) if count else 0
    finally:
        con.close()
