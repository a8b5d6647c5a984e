"""Masked views: the tables holding personal data, with their identifiers masked, for analysts.

For every table with direct identifiers (``TableSpec.personal``), ``masked.<table>`` shows
every row with each direct identifier masked (an e-mail address keeps only its domain,
anything else becomes ``***``) and each quasi-identifier generalised (a date to the first
day of its year). ``featurelake sql`` (DuckDB) and ``featurelake spark-sql`` both define
them, with the same SQL; policy.toml grants ``masked.*`` to roles that must not read
``bronze.*``, like Unity Catalog's column masks.
"""

from __future__ import annotations

from featurelake.catalog import TableSpec

__all__ = ["MASKED_SCHEMA", "masked_select"]

MASKED_SCHEMA = "masked"


def _mask(spec: TableSpec, column: str) -> str:
    kind = dict(spec.personal).get(column)
    quoted = f"`{column}`"
    if kind is None:
        return quoted
    kind_type = spec.schema.column(column).spark_type().lower()
    if kind == "quasi" and kind_type == "date":
        return f"make_date(year({quoted}), 1, 1) AS {quoted}"
    if kind == "direct" and column == "email":
        return f"regexp_replace({quoted}, '^[^@]*', '***') AS {quoted}"
    if kind == "direct" and kind_type == "string":
        return f"CASE WHEN {quoted} IS NULL THEN NULL ELSE '***' END AS {quoted}"
    return f"CAST(NULL AS {kind_type.upper()}) AS {quoted}"


def masked_select(spec: TableSpec, source: str, quote: str = "`") -> str:
    """``SELECT`` over ``source`` with ``spec``'s personal columns masked (DuckDB and Spark SQL).

    ``quote``: the identifier quote of the dialect (Spark's backtick, DuckDB's double quote).
    """
    columns = ", ".join(_mask(spec, c) for c in spec.schema.names)
    return f"SELECT {columns.replace('`', quote)} FROM {source}"
