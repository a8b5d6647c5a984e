"""Every error featurelake raises on purpose.

The CLI turns a :class:`FeaturelakeError` into one line on stderr and exit
status 2. Anything else is a bug: one line too, with its traceback saved
under ``<lake>/logs/errors/`` (:mod:`featurelake.cli`). :func:`one_line`
makes any message (a Spark plan, a Rust or JVM backtrace) fit one line.
"""

from __future__ import annotations

import re

__all__ = [
    "AccessDenied",
    "ClusterError",
    "CommitConflictError",
    "ConfigError",
    "FeaturelakeError",
    "SchemaError",
    "ServiceError",
    "SqlError",
    "TableNotFoundError",
    "ValidationFailedError",
    "WriteError",
    "one_line",
]


class FeaturelakeError(Exception):
    """Root of every error featurelake raises deliberately."""


class ConfigError(FeaturelakeError):
    """A setting is missing or has a value that cannot work."""


class AccessDenied(FeaturelakeError):
    """The access policy does not let this role (or OS user) do what was asked."""


class TableNotFoundError(FeaturelakeError):
    """A table name is not in the catalog, or its Delta table does not exist yet."""


class SchemaError(FeaturelakeError):
    """Data does not fit the schema of the table (or Avro reader schema) it goes to."""


class WriteError(FeaturelakeError):
    """A write could not be committed; the table is unchanged."""


class CommitConflictError(WriteError):
    """A concurrent commit touched the data this write replaces; the table keeps the winner."""


class ValidationFailedError(FeaturelakeError):
    """A data-quality check with severity ``fail`` did not pass; nothing was written."""


class SqlError(FeaturelakeError):
    """A SQL statement did not parse, analyze or run (Spark's or Delta's error, in one line)."""


class ClusterError(FeaturelakeError):
    """The local Spark standalone cluster could not be started, reached or stopped."""


class ServiceError(FeaturelakeError):
    """A service (Redis, PostgreSQL, the Kafka broker) could not be started, reached or stopped."""


_MAX_LINE = 400
# Where a message turns into a dump: a JVM or Rust backtrace, a Python traceback, Spark's
# error context. Everything from the first of them on stays in the trace file.
_DUMP = re.compile(
    r"\n\s*(?:JVM stacktrace:|Stack backtrace:|Traceback \(most recent call last\)|at [\w$.]+\(|"
    r"== SQL|== DataFrame|\d+: )"
)


_SQLSTATE = re.compile(r"SQLSTATE: \w+")
# DuckDB suggests its own system tables for a misspelt lake table: no help to anyone
_SYSTEM_SUGGESTION = re.compile(
    r'\s*Did you mean "(?:pg_catalog|information_schema|main\.sqlite_|system)[^"]*"\?'
)


def one_line(message: str) -> str:
    """``message`` as one line: up to any backtrace or query plan it carries, at most 400 chars."""
    cut = _DUMP.search(message)
    text = message[: cut.start()] if cut else message
    state = _SQLSTATE.search(text)
    if state:  # Spark: the error class, message and SQLSTATE; the plan after it is for the trace
        text = text[: state.end()]
    text = " ".join(_SYSTEM_SUGGESTION.sub("", text).split())
    return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 1] + "…"
