"""Gold tables from hand-made rows, for tests and benchmarks that must not wait for the pipeline.

Rows are written with delta-rs into the catalog's table (created with its
schema and ``event_date`` partitioning), ``event_date`` derived from
``event_timestamp`` as the gold contract defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from featurelake.catalog import Catalog

__all__ = ["synthetic_feature_table", "write_gold"]


def write_gold(
    catalog: Catalog,
    name: str,
    rows: Sequence[dict[str, Any]] | pa.Table,
    *,
    mode: Literal["append", "overwrite"] = "append",
) -> int:
    """Append (or overwrite) ``rows`` to the gold table ``name``; returns the row count."""
    from deltalake import write_deltalake

    spec = catalog.spec(name)
    schema = spec.schema.to_arrow()
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))
    if "event_date" in schema.names and "event_date" not in table.column_names:
        ts = table.column("event_timestamp").cast(pa.timestamp("us", tz="UTC"))
        table = table.append_column("event_date", pc.cast(ts, pa.date32()))
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    table = pa.Table.from_arrays(columns, schema=schema)
    path = catalog.ensure(name)
    write_deltalake(path, table, mode=mode)
    return table.num_rows


def synthetic_feature_table(
    *, rows: int, entities: int, features: int = 10, seed: int = 0, start: str = "2013-01-01", days: int = 365
) -> pa.Table:
    """A table shaped like a gold feature table: ``entity_id`` (string), ``event_timestamp``, ``f0..fN``.

    Every entity gets ``rows // entities`` rows at random times over ``days`` days; features are
    doubles with about 2% nulls. The reference materialization workload is 2M rows, 200k
    entities, 10 features.
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(rows) % entities
    t0 = np.datetime64(start, "us").astype(np.int64)
    span = days * 86_400 * 1_000_000
    ts = t0 + rng.integers(0, span, size=rows) // 1_000_000 * 1_000_000
    cols: dict[str, pa.Array] = {
        "entity_id": pa.array(np.char.add("E", ids.astype(str))),
        "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
    }
    for i in range(features):
        vals = rng.normal(size=rows)
        cols[f"f{i}"] = pa.array(vals, mask=rng.random(rows) < 0.02)
    table = pa.table(cols)
    return table.append_column("event_date", pc.cast(table.column("event_timestamp"), pa.date32()))
