"""Order-independent content hashes of lake tables: proof that two runs built the same data.

Two runs of the pipeline (laptop and cluster, a clean run and one that lost a
worker) write different files in a different order, so file lists and Delta
versions differ; their rows must not. :func:`table_digest` hashes every row
of a table's current snapshot (a SHA-256 per row, sorted, hashed again), so
equal digests mean equal multisets of rows.

A few columns record *how* and *when* a run happened rather than what the
data is; they differ between any two runs, and are left out
(:data:`RUN_DEPENDENT`). Columns holding a landed file's path keep only the
file name (:data:`FILE_COLUMNS`): each lake has its own landing zone, but the
files landed are the same.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.catalog import Catalog

__all__ = [
    "BACKFILL_TABLES",
    "FILE_COLUMNS",
    "RUN_DEPENDENT",
    "TableDigest",
    "arrow_digest",
    "lake_digests",
    "table_digest",
]

RUN_DEPENDENT: Mapping[str, str] = {
    "_ingested_at": "wall-clock time the ingest batch ran",
    "ingested_at": "wall-clock time the ingest batch ran",
    "started_at": "wall-clock time",
    "finished_at": "wall-clock time",
    "duration_s": "how long a batch took",
    "validated_at": "wall-clock time",
    "quarantined_at": "wall-clock time",
    "replayed_at": "wall-clock time",
    "modified_at": "the landed file's mtime, set when the producer wrote it",
    "quarantine_date": "the day the run quarantined a row (the partition of quarantine.records)",
    "log_date": "the day the backfill ran (the partition of ops.backfill_log)",
    "run_id": "a new id per backfill run",
    "run": "the validating run (ops.validation_results): a backfill's carries its random run id",
    "input_fingerprint": "hashes the input file names, which carry each write's random job id",
    "_batch_id": "micro-batch numbering: how the stream split the landed files into batches",
    "batch_id": "micro-batch numbering: how the stream split the landed files into batches",
}
"""Columns that describe the run, not the data, with the reason each is left out."""

BACKFILL_TABLES = (
    "silver.flights",
    "silver.weather",
    "silver.flight_entities",
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
    "gold.flight_labels",
)
"""The tables a silver + gold backfill writes: what two backfills of the same bronze must agree on."""

FILE_COLUMNS = frozenset({"_source_file", "source_file", "path", "duplicate_of"})
"""Columns holding a landed file's absolute path: compared by file name."""


@dataclass(frozen=True)
class TableDigest:
    """The content of one table: row count and the order-independent hash of its rows."""

    rows: int
    sha256: str
    columns: tuple[str, ...]
    """The columns hashed, in order."""
    excluded: tuple[str, ...]
    """The table's columns left out as run-dependent."""


def _canonical(value: Any) -> str:
    # repr is exact for floats (shortest round-trip), dates, tz-aware datetimes, Decimals and bytes.
    return repr(value)


def arrow_digest(
    table: pa.Table,
    *,
    exclude: Iterable[str] = RUN_DEPENDENT,
    file_columns: Iterable[str] = FILE_COLUMNS,
) -> TableDigest:
    """Hash an Arrow table's rows, independent of row and chunk order.

    Args:
        table: the rows.
        exclude: column names left out wherever they occur.
        file_columns: column names whose values are reduced to the file name.
    """
    skip = set(exclude)
    names = tuple(n for n in table.column_names if n not in skip)
    files = set(file_columns)
    columns = []
    for name in names:
        values = table.column(name).to_pylist()
        if name in files:
            values = [os.path.basename(v) if isinstance(v, str) else v for v in values]
        columns.append(values)
    header = "\x1f".join(f"{n}:{table.schema.field(n).type}" for n in names).encode()
    digests = (
        sorted(
            hashlib.sha256("\x1e".join(_canonical(v) for v in row).encode()).digest()
            for row in zip(*columns, strict=True)
        )
        if columns
        else [b""] * table.num_rows
    )
    h = hashlib.sha256(header)
    for d in digests:
        h.update(d)
    return TableDigest(
        rows=table.num_rows,
        sha256=h.hexdigest(),
        columns=names,
        excluded=tuple(n for n in table.column_names if n in skip),
    )


def table_digest(path: str | os.PathLike[str], **options: Any) -> TableDigest:
    """:func:`arrow_digest` of the latest snapshot of the Delta table at ``path``."""
    from deltalake import DeltaTable

    return arrow_digest(DeltaTable(os.fspath(path)).to_pyarrow_table(), **options)


def lake_digests(
    catalog: Catalog, tables: Iterable[str] | None = None, **options: Any
) -> dict[str, TableDigest]:
    """Digests of ``tables`` (default: every catalog table that exists) of the catalog's lake."""
    names = list(tables) if tables is not None else [n for n in catalog.names() if catalog.exists(n)]
    return {name: table_digest(catalog.path(name), **options) for name in names}
