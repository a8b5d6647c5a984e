"""Evaluating ``replaceWhere`` predicates against partition values, with DuckDB.

A predicate is SQL over the table's partition columns
(``event_date >= '2013-01-01' AND event_date < '2013-02-01'``); DuckDB's
dialect agrees with Spark's for the comparisons, ``IN``, ``BETWEEN`` and
boolean logic such predicates use.
"""

from __future__ import annotations

import re

import pyarrow as pa

from featurelake.delta.schema import TableSchema

__all__ = ["evaluate"]

_FORBIDDEN = re.compile(r";|--|/\*")


def evaluate(
    predicate: str,
    partition_values: list[dict[str, str | None]],
    schema: TableSchema,
    partition_by: list[str],
    *,
    table: str,
) -> list[bool]:
    """For each partition-value dict (Delta string form), whether ``predicate`` holds.

    Raises:
        ValueError: the predicate is not a single expression over partition columns.
    """
    import duckdb

    if not partition_by:
        raise ValueError(f"replaceWhere needs a partitioned table; {table} has no partition columns")
    if _FORBIDDEN.search(predicate):
        raise ValueError(f"replaceWhere must be one SQL expression, got {predicate!r}")
    columns = {}
    for name in partition_by:
        raw = pa.array([pv.get(name) for pv in partition_values], pa.string())
        columns[name] = raw.cast(schema.column(name).arrow_type())
    parts = (
        pa.table(columns)
        if partition_values
        else pa.table({n: pa.array([], schema.column(n).arrow_type()) for n in partition_by})
    )
    con = duckdb.connect()
    try:
        con.register("parts", parts)
        result = con.execute(f"SELECT coalesce(({predicate}), false) AS m FROM parts").fetchall()
    except duckdb.BinderException as e:
        raise ValueError(
            f"replaceWhere {predicate!r} may only use the partition columns of {table} "
            f"({', '.join(partition_by)}): {str(e).splitlines()[0]}"
        ) from e
    except duckdb.Error as e:
        raise ValueError(
            f"replaceWhere {predicate!r} is not a valid predicate: {str(e).splitlines()[0]}"
        ) from e
    finally:
        con.close()
    return [bool(r[0]) for r in result]
