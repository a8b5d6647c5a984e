"""Every error featurelake raises on purpose.

The CLI turns a :class:`FeaturelakeError` into one line on stderr and exit
status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
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
]


class FeaturelakeError(Exception):
    """Root of every error featurelake raises deliberately."""


class ConfigError(FeaturelakeError):
    """A setting is missing or has a value that cannot work."""


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
