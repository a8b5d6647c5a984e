"""Evaluate a suite row by row with Spark column expressions.

GX on Spark runs one job per metric (seconds per expectation), far too slow
for every micro-batch. The suite stays the single source of truth: each
supported expectation type is translated here into a Spark condition that is
true for exactly the rows GX counts as unexpected (nulls are ignored by
column expectations, as GX does), and one aggregation computes every
result. ``tests/integration/test_quality_gx.py`` checks the translation
against GX's own results on the same data. Ingest evaluates every suite this
way, on the records Spark's Avro reader decoded (:mod:`featurelake.ingest.checked`).

Builds expressions on the driver; Spark evaluates them in the JVM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from featurelake.quality.suites import Check, Severity, Suite, SuiteError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "CheckResult",
    "aggregates",
    "counted",
    "evaluate",
    "flag_columns",
    "results_from_row",
    "unexpected",
]


def _lit(value: Any) -> Column:
    from pyspark.sql import functions as F

    return F.lit(value)


def unexpected(check: Check) -> Column:
    """A never-null boolean: true where the row fails ``check``."""
    from pyspark.sql import functions as F

    kw = check.kwargs
    t = check.type
    if t == "unexpected_rows_expectation":
        cond = F.expr(check.condition)
    else:
        col = F.col(f"`{check.column}`")
        if t == "expect_column_values_to_not_be_null":
            cond = col.isNull()
        elif t == "expect_column_values_to_be_null":
            cond = col.isNotNull()
        elif t == "expect_column_values_to_be_in_set":
            cond = col.isNotNull() & ~col.isin(list(kw["value_set"]))
        elif t == "expect_column_values_to_not_be_in_set":
            cond = col.isNotNull() & col.isin(list(kw["value_set"]))
        elif t in ("expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between"):
            value = F.length(col) if t == "expect_column_value_lengths_to_be_between" else col
            cond = _outside(value, kw)
            cond = col.isNotNull() & cond
        elif t == "expect_column_values_to_match_regex":
            cond = col.isNotNull() & ~col.rlike(str(kw["regex"]))
        else:  # pragma: no cover - load_suite rejects these
            raise SuiteError(f"expectation type {t} cannot be evaluated")
    return F.coalesce(cond, F.lit(False))


def _outside(value: Column, kw: dict[str, Any]) -> Column:
    from pyspark.sql import functions as F

    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is None and hi is None:
        raise SuiteError("a between expectation needs min_value or max_value")
    out = F.lit(False)
    if lo is not None:
        out = out | ((value <= _lit(lo)) if kw.get("strict_min") else (value < _lit(lo)))
    if hi is not None:
        out = out | ((value >= _lit(hi)) if kw.get("strict_max") else (value > _lit(hi)))
    return out


def counted(check: Check) -> Column | None:
    """The rows GX divides by for ``mostly``: non-null values of the column; None for every row."""
    from pyspark.sql import functions as F

    if check.type in ("expect_column_values_to_not_be_null", "unexpected_rows_expectation"):
        return None
    if check.type == "expect_column_values_to_be_null":
        return None
    return F.col(f"`{check.column}`").isNotNull()


def flag_columns(suite: Suite, prefix: str = "_x") -> list[Column]:
    """One boolean column per check, ``<prefix><i>``, true where the row fails it."""
    return [unexpected(c).alias(f"{prefix}{i}") for i, c in enumerate(suite.checks)]


def aggregates(suite: Suite, prefix: str = "_x", where: Column | None = None) -> list[Column]:
    """Aggregations over flagged rows: ``_n``, then per check unexpected and counted rows.

    With ``where``, only the rows it holds for are counted, so that one aggregation over a
    batch can count these beside figures of every row.
    """
    from pyspark.sql import functions as F

    def only(c: Column) -> Column:
        return c if where is None else F.when(where, c)

    out = [F.count(only(F.lit(1))).alias("_n")]
    for i, c in enumerate(suite.checks):
        out.append(F.sum(only(F.col(f"{prefix}{i}").cast("long"))).alias(f"{prefix}{i}_bad"))
        denom = counted(c)
        if denom is not None:
            out.append(F.sum(only(denom.cast("long"))).alias(f"{prefix}{i}_den"))
    return out


@dataclass(frozen=True)
class CheckResult:
    """One expectation's result on one batch."""

    check: Check
    element_count: int
    unexpected_count: int
    denominator: int

    @property
    def severity(self) -> Severity:
        """The check's severity."""
        return self.check.severity

    @property
    def unexpected_percent(self) -> float:
        """Unexpected rows as a percentage of the rows counted (GX's ``unexpected_percent``)."""
        return 100.0 * self.unexpected_count / self.denominator if self.denominator else 0.0

    @property
    def success(self) -> bool:
        """Whether the expectation holds, honouring ``mostly`` as GX does."""
        if self.check.type == "unexpected_rows_expectation" or self.denominator == 0:
            return self.unexpected_count == 0
        return (self.denominator - self.unexpected_count) / self.denominator >= self.check.mostly


def results_from_row(suite: Suite, row: dict[str, Any], prefix: str = "_x") -> list[CheckResult]:
    """Turn the row :func:`aggregates` produced into per-check results."""
    n = int(row["_n"] or 0)
    out = []
    for i, c in enumerate(suite.checks):
        bad = int(row.get(f"{prefix}{i}_bad") or 0)
        den = row.get(f"{prefix}{i}_den")
        out.append(CheckResult(c, n, bad, n if den is None else int(den)))
    return out


def evaluate(df: DataFrame, suite: Suite) -> list[CheckResult]:
    """Evaluate every check of ``suite`` on ``df`` in one Spark job."""
    flagged = df.select("*", *flag_columns(suite))
    row = flagged.agg(*aggregates(suite)).first()
    return results_from_row(suite, row.asDict() if row is not None else {"_n": 0})
