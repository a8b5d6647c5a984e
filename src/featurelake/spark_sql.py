"""Spark SQL statements as a person types them: split, run, and every failure as one line.

Runs on the driver, over featurelake's session (:func:`featurelake.spark.get_spark`), whose
catalog names every table of the lake (:mod:`featurelake.lakehouse`). A result comes back as
Arrow for :func:`featurelake.sql.render`; a statement without result columns (DDL, most Delta
commands) returns None. Any failure, from Spark's parser and analyzer, from Delta (constraint
violations surface as plain JVM errors) or from a task, becomes a :class:`~featurelake.errors.SqlError`
whose message is one line: the innermost error's class and the first line of its message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from featurelake.errors import AccessDenied, SqlError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from featurelake.governance.policy import Role

    Outcome: TypeAlias = pa.Table | SqlError | None
    """What one statement gave: its result, None (no result columns) or its error."""

__all__ = ["Shell", "check", "error_line", "run", "split_statements"]

_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_.]*\]")
_EXIT = frozenset({"exit", "quit"})


def split_statements(text: str) -> tuple[list[str], str]:
    """Cut ``text`` at every ``;`` outside quotes, backticks and comments.

    Returns:
        The complete statements (stripped, empty ones dropped) and the text after the last ``;``.
    """
    statements: list[str] = []
    start = 0
    i = 0
    quote = ""
    n = len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote != "`":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"`":
            quote = c
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif c == ";":
            if statement := text[start:i].strip():
                statements.append(statement)
            start = i + 1
        i += 1
    return statements, text[start:]


def _throwables(e: BaseException) -> list[Any]:
    """The JVM exception behind a PySpark or Py4J error, then its causes (outermost first)."""
    java = getattr(e, "_origin", None) or getattr(e, "java_exception", None)
    chain: list[Any] = []
    while java is not None and len(chain) < 20:
        chain.append(java)
        java = java.getCause()
    return chain


def error_line(e: BaseException) -> str:
    """One line for a failed statement: ``[ERROR_CLASS] first line of the message``.

    The innermost JVM error with an error class wins: a task failure wraps the real cause
    (``[TASK_WRITE_FAILED]`` around ``[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES]``).
    """
    messages: list[tuple[str, str]] = []
    for java in _throwables(e):
        messages.append((str(java.getMessage() or ""), str(java.getClass().getSimpleName())))
    if not messages:
        messages.append((str(getattr(e, "_desc", None) or e), type(e).__name__))
    classed = [(m, k) for m, k in messages if _ERROR_CLASS.match(m.strip())]
    message, kind = classed[-1] if classed else messages[0]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return kind
    first = lines[0]
    if first.endswith(":"):  # "... violated by row with values:" and the values, one a line
        first += " " + " ".join(line for line in lines[1:] if line.startswith("- "))
    if not classed:
        condition = getattr(e, "getCondition", lambda: None)()
        first = f"[{condition}] {first}" if condition else f"{kind}: {first}"
    return first


def _is_spark_error(e: BaseException) -> bool:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return isinstance(e, PySparkException | Py4JJavaError)


def _to_arrow(df: DataFrame) -> pa.Table:
    import pyarrow as pa

    try:
        return df.toArrow()
    except pa.ArrowInvalid:
        # PySpark 4.2 cannot convert some nested non-nullable structs (OPTIMIZE's metrics);
        # rows to Python and back keep the values. A command's result is not computed again.
        return pa.Table.from_pylist([row.asDict(recursive=True) for row in df.collect()])


_READ_ROOTS = frozenset(
    """Project Aggregate Filter Sort GlobalLimit LocalLimit Offset Tail Union Distinct Deduplicate
    Intersect Except Join SubqueryAlias Window UnresolvedWith WithCTE Sample Pivot Unpivot Generate
    Repartition RepartitionByExpression UnresolvedHint Range OneRowRelation LocalRelation
    UnresolvedRelation UnresolvedInlineTable RelationTimeTravel UnresolvedTableValuedFunction
    ExplainCommand DescribeRelation DescribeColumn DescribeDeltaHistory DescribeDeltaDetailCommand
    ShowTables ShowTablesExtended ShowViews ShowColumns ShowNamespaces ShowTableProperties
    ShowCreateTable ShowFunctions ShowPartitions DescribeNamespace DescribeFunction""".split()
)
"""The parsed plans a role without ``write`` may run: queries, EXPLAIN, DESCRIBE and SHOW."""
_RELATION = re.compile(r"'Unresolved(?:Relation|Table|TableOrView|View) \[([^\]]*)\]")
_FUNCTION = re.compile(r"'UnresolvedTableValuedFunction \[([^\]]*)\]")


def check(spark: SparkSession, statement: str, role: Role, read: list[str] | None = None) -> list[str]:
    """Refuse, before it runs, a statement ``role`` may not run: a change for a role without
    ``write``, a table it may not read, a path (``delta.`/x```) or a file-reading function for a
    role that may not read every table. Returns the tables (and paths) the statement names.

    Args:
        read: filled with those tables, also when the statement is refused.

    Raises:
        AccessDenied: one line naming the statement's kind or the table.
        SqlError: the statement does not parse.
    """
    try:
        plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(statement)
    except Exception as e:
        if _is_spark_error(e):
            raise SqlError(error_line(e)) from e
        raise
    tree = str(plan.treeString())
    # one-part names are a CTE's or a temporary view's: the tables behind them are named themselves
    named = sorted({".".join(p) for m in _RELATION.finditer(tree) if len(p := m.group(1).split(", ")) > 1})
    if read is not None:
        read.extend(named)  # before a refusal too: the audit log names what was asked for
    kind = str(plan.getClass().getSimpleName())
    if not role.write and kind not in _READ_ROOTS:
        raise AccessDenied(
            f"role {role.name} may only read: {kind} statements are refused (policy: write = false)"
        )
    if "*" in role.tables:
        return named
    for match in _FUNCTION.finditer(tree):
        if match.group(1) != "range":
            raise AccessDenied(f"role {role.name} may not call {match.group(1)}(): query the tables by name")
    for name in named:
        if not role.reads(name):
            raise AccessDenied(role.refuse_table(name))
    return named


def run(
    spark: SparkSession, statement: str, *, role: Role | None = None, read: list[str] | None = None
) -> pa.Table | None:
    """Run one statement as ``role`` (unrestricted when None); its result as Arrow, or None
    when it has no result columns.

    Args:
        read: filled with the tables the statement names (for the audit log), when given.

    Raises:
        SqlError: the statement did not parse, analyze or run; the message is one line.
        AccessDenied: the role may not run it (:func:`check`); nothing ran.
    """
    if role is not None:
        check(spark, statement, role, read)
    try:
        df = spark.sql(statement)
        return _to_arrow(df) if df.columns else None
    except Exception as e:
        if _is_spark_error(e):
            raise SqlError(error_line(e)) from e
        raise


def _incomplete(e: BaseException) -> bool:
    from pyspark.errors import ParseException

    return isinstance(e, ParseException) and "end of input" in str(getattr(e, "_desc", e))


class Shell:
    """Statements from lines of input: each line, or each ``;``-terminated piece, is one.

    A line that leaves a statement unfinished (Spark's parser stops at the end of input:
    ``select a,``) waits for the next; ``;`` ends a statement anywhere and lets one span lines
    freely. ``exit`` or ``quit`` ends the input.
    """

    def __init__(
        self,
        spark: SparkSession,
        *,
        before_each: Callable[[], object] | None = None,
        role: Role | None = None,
        after_each: Callable[[str, Outcome, list[str]], object] | None = None,
    ) -> None:
        self.spark = spark
        self.role = role
        """The role every statement runs as (unrestricted when None)."""
        self.after_each = after_each
        """Called with each statement that ran (or was refused), its outcome and the tables it names."""
        self.before_each = before_each
        """Called before every statement (the CLI registers tables created meanwhile)."""
        self.pending = ""
        """The unfinished statement so far."""
        self.done = False
        """Set once ``exit``/``quit`` was read."""

    def _run(self, statement: str) -> Outcome:
        if self.before_each is not None:
            self.before_each()
        read: list[str] = []
        outcome: Outcome
        try:
            outcome = run(self.spark, statement, role=self.role, read=read)
        except SqlError as e:
            if _incomplete(e.__cause__ or e):
                return e  # unfinished: nothing ran, nothing to record
            outcome = e
        except AccessDenied as e:
            outcome = SqlError(str(e))
        if self.after_each is not None:
            self.after_each(statement, outcome, read)
        return outcome

    def feed(self, line: str) -> list[tuple[str, Outcome]]:
        """Take one line of input; return each statement it completed with its outcome."""
        if self.done:
            return []
        text = f"{self.pending}\n{line}" if self.pending else line
        statements, rest = split_statements(text)
        outcomes: list[tuple[str, Outcome]] = []
        for statement in statements:
            if statement.lower() in _EXIT:
                self.done, self.pending = True, ""
                return outcomes
            outcomes.append((statement, self._run(statement)))
        self.pending = rest if rest.strip() else ""
        statement = self.pending.strip()
        if not statement:
            return outcomes
        if statement.lower() in _EXIT:
            self.done, self.pending = True, ""
            return outcomes
        outcome = self._run(statement)
        if isinstance(outcome, SqlError) and _incomplete(outcome.__cause__ or outcome):
            return outcomes  # unfinished: nothing ran, wait for more
        self.pending = ""
        outcomes.append((statement, outcome))
        return outcomes

    def finish(self) -> list[tuple[str, Outcome]]:
        """End of input: run what is left, even if unfinished (its error says why)."""
        statement, self.pending = self.pending.strip(), ""
        if not statement or self.done:
            return []
        return [(statement, self._run(statement))]
