"""``featurelake spark-sql``: Spark SQL (Delta's MERGE, UPDATE, time travel, ...) over the lake by name."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from featurelake.cli import format_option, friendly, main, role_option

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from featurelake.spark_sql import Outcome


def _session(spark_log: str | None) -> SparkSession:
    from pyspark.logger import PySparkLogger

    from featurelake.spark import SPARK_LOG_ENV, get_spark

    # PySpark logs every SQL error with its JVM stack trace as JSON; the command prints one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True
    if spark_log is not None:
        os.environ[SPARK_LOG_ENV] = spark_log
    return get_spark("featurelake-spark-sql")


def _print(outcome: Outcome, fmt: str) -> bool:
    """Show one statement's outcome; False when it failed."""
    from featurelake import sql as lake_sql
    from featurelake.errors import SqlError

    if isinstance(outcome, SqlError):
        click.echo(f"error: {' '.join(str(outcome).split())}", err=True)
        return False
    if outcome is not None:
        lake_sql.render(outcome, fmt)  # type: ignore[arg-type]
    return True


@main.command("spark-sql")
@click.argument("statement", required=False)
@format_option
@click.option(
    "--spark-log",
    type=click.Path(dir_okay=False),
    help="Where Spark's own log goes [default: <lake>/logs/spark/; `featurelake -v`: the terminal].",
)
@role_option
@friendly
def spark_sql(statement: str | None, fmt: str, spark_log: str | None, role: str | None) -> None:
    """Run a Spark SQL statement over every table (bronze.flights, silver.*, gold.*, ...).

    STATEMENT may hold several, separated by ';'; the first that fails ends the command.
    Without STATEMENT, read statements from standard input, one a line or ;-terminated,
    until end of input or `exit`. Statements without a result print nothing.
    """
    from featurelake import spark_sql as lake_spark_sql
    from featurelake.errors import SqlError
    from featurelake.governance.audit import audited, record, redact_literals
    from featurelake.governance.policy import current_role
    from featurelake.lakehouse import register_tables

    acting = current_role(role)
    spark = _session(spark_log)
    if statement is not None:
        statements, rest = lake_spark_sql.split_statements(statement)
        for each in [*statements, rest.strip()] if rest.strip() else statements:
            # The first failure ends the command: one line on stderr, exit status 2.
            read: list[str] = []
            with audited("spark-sql", role=acting.name, target=each, tables=read, redact=True):
                result = lake_spark_sql.run(spark, each, role=acting, read=read)
            _print(result, fmt)
        return

    def audit(each: str, outcome: object, read: list[str]) -> None:
        failed = isinstance(outcome, SqlError)
        refused = failed and str(outcome).startswith("role ")
        status = "refused" if refused else "error" if failed else "ok"
        detail = redact_literals(str(outcome)) if failed else None
        target = redact_literals(each)
        record("spark-sql", role=acting.name, target=target, tables=read, status=status, detail=detail)

    shell = lake_spark_sql.Shell(
        spark, before_each=lambda: register_tables(spark), role=acting, after_each=audit
    )
    interactive = sys.stdin.isatty()
    failed = False
    while not shell.done:
        if interactive:
            click.echo("spark-sql> " if not shell.pending else "        -> ", nl=False)
        line = sys.stdin.readline()
        outcomes = shell.feed(line.rstrip("\n")) if line else shell.finish()
        for _, outcome in outcomes:
            failed = not _print(outcome, fmt) or failed
        if not line:
            break
    if failed:
        sys.exit(2)
