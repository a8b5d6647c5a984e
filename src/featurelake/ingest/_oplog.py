"""Small driver-side appends to ops tables with delta-rs (no Spark job for a handful of rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from featurelake.catalog import Catalog

__all__ = ["append_rows", "txn_done"]


def txn_done(path: str, txn: tuple[str, int]) -> bool:
    """Whether the table at ``path`` already holds the commit of ``txn`` (app id, version)."""
    from deltalake import DeltaTable

    done = DeltaTable(path).transaction_version(txn[0])
    return done is not None and done >= txn[1]


def append_rows(
    catalog: Catalog, name: str, rows: Sequence[Mapping[str, Any]], *, txn: tuple[str, int] | None = None
) -> bool:
    """Append ``rows`` to table ``name`` in one commit; with ``txn``, a repeat is a no-op.

    Returns:
        Whether a commit was made.
    """
    import pyarrow as pa
    from deltalake import CommitProperties, Transaction, write_deltalake

    path = catalog.ensure(name)
    if txn is not None and txn_done(path, txn):
        return False
    if not rows and txn is None:
        return False
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=catalog.spec(name).schema.to_arrow())
    props = CommitProperties(app_transactions=[Transaction(txn[0], txn[1])]) if txn is not None else None
    write_deltalake(path, table, mode="append", commit_properties=props)
    return True
