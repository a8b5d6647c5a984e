"""Every Delta table of the lake as a Spark SQL table by name: the lake itself is the catalog.

Runs on the driver. :func:`register_tables` gives Spark's session catalog a schema per layer
(``bronze``, ``silver``, ``gold``, ``quarantine``, ``ops``) located at ``<lake>/<layer>`` and an
external Delta table ``<layer>.<name>`` for every folder ``<lake>/<layer>/<name>`` whose
``_delta_log`` holds a commit: the names DuckDB uses (:mod:`featurelake.sql`).

Why the lake and not a metastore: Spark's session catalog is in memory, and an embedded Derby
metastore admits one JVM at a time, while tests, Airflow tasks and the CLI run several at once.
The folders are the only state; each session rebuilds its catalog from them, so a table one process
creates (``CREATE TABLE gold.x (...) USING delta`` lands at ``<lake>/gold/x``) is found by the next.

Registration writes straight into the session catalog (``SessionCatalog.createTable``), the entry
``CREATE TABLE ... USING delta LOCATION`` would record, without that statement's snapshot load:
~20 ms a table instead of ~0.5 s (and ~10 s of Delta warm-up in a fresh JVM). A table is checked
by reading its log's commits since the last checkpoint; a damaged one is skipped with its reason,
never failing the session. Registering again is cheap: only new folders are checked.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featurelake.catalog import LAYERS
from featurelake.config import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["Registration", "find_tables", "register", "register_tables"]

log = logging.getLogger(__name__)
_warned: set[tuple[str, str, str]] = set()

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
"""Folder names that are table names as they are: Spark folds unquoted names to lower case."""
_COMMIT = re.compile(r"(\d{20})\.json")
_CHECKPOINT = re.compile(r"(\d{20})\.checkpoint(\..+)?\.(parquet|json)")


@dataclass(frozen=True)
class Registration:
    """What one :func:`register` call left in the session catalog."""

    lake: str
    """The lake root the layer schemas point at."""
    tables: tuple[str, ...]
    """Every ``<layer>.<name>`` registered now, sorted (also those registered by earlier calls)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Table (or layer) -> why it is not registered: a damaged log, an unusable folder name, ..."""


def _log_problem(table_dir: str) -> str | None:
    """Why the Delta log at ``table_dir`` cannot be read, or None when it looks sound.

    Reads the commits since the newest checkpoint (all of them without one): each line must be
    JSON, versions must follow each other, and a log without a checkpoint must start at commit 0
    with the table's metadata. Cheap: ``delta.checkpointInterval`` bounds the commits read.
    """
    log_dir = os.path.join(table_dir, "_delta_log")
    commits: list[int] = []
    checkpoints: list[int] = []
    for entry in os.listdir(log_dir):
        if m := _COMMIT.fullmatch(entry):
            commits.append(int(m[1]))
        elif m := _CHECKPOINT.fullmatch(entry):
            checkpoints.append(int(m[1]))
    start = max(checkpoints, default=-1) + 1
    pending = sorted(v for v in commits if v >= start)
    if pending != list(range(start, start + len(pending))):
        missing = sorted(set(range(start, pending[-1] + 1)) - set(pending))
        return f"commit {missing[0]} is missing from _delta_log"
    has_metadata = start > 0
    for version in pending:
        name = f"{version:020d}.json"
        number = 0
        try:
            with open(os.path.join(log_dir, name), encoding="utf-8") as f:
                for number, line in enumerate(f, 1):  # noqa: B007 - the error message names the line
                    if line.strip():
                        action = json.loads(line)
                        has_metadata = has_metadata or (isinstance(action, dict) and "metaData" in action)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            return f"_delta_log/{name} line {max(number, 1)} is not a Delta action: {type(e).__name__}: {e}"
    if not has_metadata:
        return "_delta_log has no metaData action"
    return None


def _has_commit(table_dir: str) -> bool:
    try:
        entries = os.listdir(os.path.join(table_dir, "_delta_log"))
    except OSError:
        return False
    return any(_COMMIT.fullmatch(e) or _CHECKPOINT.fullmatch(e) for e in entries)


def find_tables(
    lake: str | os.PathLike[str], *, known: Collection[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """The Delta tables under ``lake``'s layer folders, and the folders that look damaged.

    Args:
        lake: the lake root.
        known: ``<layer>.<name>`` to leave out (already registered: not checked again).

    Returns:
        ``{"<layer>.<name>": path}`` for every folder with a sound log holding a commit, and
        ``{"<layer>.<name>": reason}`` for those skipped. Folders without a commit are not tables yet.
    """
    found: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for layer in LAYERS:
        layer_dir = os.path.join(os.fspath(lake), layer)
        try:
            names = sorted(os.listdir(layer_dir))
        except OSError:
            continue
        for name in names:
            qualified = f"{layer}.{name}"
            path = os.path.join(layer_dir, name)
            if qualified in known or not _has_commit(path):
                continue
            if not _NAME.fullmatch(name):
                skipped[qualified] = "folder name is not a lower-case SQL identifier"
                continue
            try:
                problem = _log_problem(path)
            except OSError as e:
                problem = f"{type(e).__name__}: {e}"
            if problem is None:
                found[qualified] = path
            else:
                skipped[qualified] = problem
    return found, skipped


class _SessionCatalog:
    """The few ``SessionCatalog`` calls registration needs, over Py4J.

    Every ``jvm.a.b.C`` lookup costs Py4J a round trip per dot, so classes are looked up once.
    """

    def __init__(self, spark: SparkSession) -> None:
        jvm: Any = spark._jvm
        catalyst = jvm.org.apache.spark.sql.catalyst
        self._catalog: Any = spark._jsparkSession.sessionState().catalog()
        self._class_for_name: Any = jvm.java.lang.Class.forName
        self._table_identifier: Any = catalyst.TableIdentifier
        self._catalog_table: Any = catalyst.catalog.CatalogTable
        self._catalog_database: Any = catalyst.catalog.CatalogDatabase
        self._to_uri: Any = catalyst.catalog.CatalogUtils.stringToURI
        self._table_type: Any = catalyst.catalog.CatalogTableType
        self._some: Any = jvm.scala.Some
        self._hash_map: Any = jvm.java.util.HashMap
        self._to_scala_map: Any = jvm.org.apache.spark.api.python.PythonUtils.toScalaMap
        self._storage: Any = jvm.org.apache.spark.sql.execution.datasources.DataSource
        self._struct_type: Any = jvm.org.apache.spark.sql.types.StructType
        self._table_tail: list[Any] | None = None

    def _ident(self, layer: str, name: str) -> Any:
        return self._table_identifier.apply(name, self._some(layer))

    def _scala_map(self, values: dict[str, str]) -> Any:
        java_map = self._hash_map()
        for key, value in values.items():
            java_map.put(key, value)
        return self._to_scala_map(java_map)

    def schema_location(self, layer: str) -> str | None:
        if not self._catalog.databaseExists(layer):
            return None
        return _local_path(self._catalog.getDatabaseMetadata(layer).locationUri())

    def put_schema(self, layer: str, path: str) -> None:
        """Create schema ``layer`` at ``path``, or move an existing one there (its folder stays)."""
        database = self._catalog_database(layer, "", self._to_uri(path), self._scala_map({}))
        if self._catalog.databaseExists(layer):
            self._catalog.alterDatabase(database)
        else:
            self._catalog.createDatabase(database, True)

    def tables(self, layer: str) -> dict[str, str | None]:
        """``{name: local path}`` of every table (not view) in schema ``layer``; None: not local."""
        out: dict[str, str | None] = {}
        idents = self._catalog.listTables(layer, "*", False)
        for i in range(idents.size()):
            ident = idents.apply(i)
            meta = self._catalog.getTableMetadata(ident)
            if meta.tableType().name() == "VIEW":
                continue
            location = meta.storage().locationUri()
            out[ident.table()] = _local_path(location.get()) if location.isDefined() else None
        return out

    def _external_table(self, layer: str, name: str, path: str) -> Any:
        if self._table_tail is None:
            # CatalogTable has ~20 constructor parameters, all after the first four with defaults;
            # Py4J cannot use Scala defaults, so ask the companion object for them (once).
            cls = self._class_for_name("org.apache.spark.sql.catalyst.catalog.CatalogTable")
            n_params = cls.getConstructors()[0].getParameterCount()
            self._table_tail = [
                self._some("delta"),  # provider
                *(getattr(self._catalog_table, f"apply$default${i}")() for i in range(6, n_params + 1)),
            ]
        return self._catalog_table.apply(
            self._ident(layer, name),
            self._table_type.EXTERNAL(),
            self._storage.buildStorageFormatFromOptions(self._scala_map({"path": path})),
            self._struct_type(),  # empty, as Delta records it: the log holds the schema
            *self._table_tail,
        )

    def add_table(self, layer: str, name: str, path: str) -> None:
        self._catalog.createTable(self._external_table(layer, name, path), True, False)

    def drop_table(self, layer: str, name: str) -> None:
        """Forget a table without touching its files.

        Dropping a *managed* table deletes its folder, so it is first made external.
        """
        ident = self._ident(layer, name)
        meta = self._catalog.getTableMetadata(ident)
        if meta.tableType().name() != "EXTERNAL" and meta.storage().locationUri().isDefined():
            location = _local_path(meta.storage().locationUri().get()) or ""
            self._catalog.alterTable(self._external_table(layer, name, location))
            meta = self._catalog.getTableMetadata(ident)
            if meta.tableType().name() != "EXTERNAL":
                raise RuntimeError(f"{layer}.{name} stays managed; not dropped, to keep its files")
        self._catalog.dropTable(ident, True, False)


def _local_path(uri: Any) -> str | None:
    if uri.getScheme() not in (None, "file"):
        return None
    return os.path.normpath(uri.getPath())


def register(spark: SparkSession, settings: Settings | None = None) -> Registration:
    """Register the lake's layers and tables in ``spark``'s catalog; see the module docstring.

    Idempotent and cheap to repeat: tables already registered at their folder are kept, new
    folders are added. A layer schema that points at another lake (tests switch lakes within one
    session) is moved to this one and its other tables are forgotten (their files stay).

    Args:
        spark: featurelake's session (:func:`featurelake.spark.get_spark` calls this itself).
        settings: whose ``lake`` to register; :func:`featurelake.config.get_settings` when omitted.

    Returns:
        What is registered now, and what was skipped and why.
    """
    settings = settings or get_settings()
    lake = os.path.normpath(os.path.abspath(settings.lake))
    catalog = _SessionCatalog(spark)
    registered: set[str] = set()
    failed: dict[str, str] = {}
    layers: list[str] = []
    for layer in LAYERS:
        layer_dir = os.path.join(lake, layer)
        try:
            moved = catalog.schema_location(layer) != layer_dir
            if moved:
                catalog.put_schema(layer, layer_dir)
            current = catalog.tables(layer)
        except Exception as e:  # Py4J errors carry the JVM's; the session works without this layer
            failed[layer] = _first_line(e)
            continue
        layers.append(layer)
        for name, location in current.items():
            qualified = f"{layer}.{name}"
            if not moved or (location is not None and os.path.dirname(location) == layer_dir):
                # This lake's registrations stay, as do tables a user registered elsewhere by SQL.
                registered.add(qualified)
                continue
            try:  # registered for the lake this schema pointed at before
                catalog.drop_table(layer, name)
            except Exception as e:
                failed[qualified] = f"registered at {location}, could not be dropped: {_first_line(e)}"
    found, skipped = find_tables(lake, known=registered)
    skipped.update(failed)
    for qualified, path in found.items():
        schema, name = qualified.split(".", 1)
        if schema not in layers:
            continue
        try:
            catalog.add_table(schema, name, path)
        except Exception as e:
            skipped[qualified] = _first_line(e)
        else:
            registered.add(qualified)
    _masked_views(spark, registered, skipped)
    for qualified, reason in sorted(skipped.items()):
        if (lake, qualified, reason) not in _warned:  # the shell registers before every statement
            _warned.add((lake, qualified, reason))
            log.warning("not registered in Spark SQL: %s: %s", qualified, reason)
    return Registration(lake=lake, tables=tuple(sorted(registered)), skipped=skipped)


def _masked_views(spark: SparkSession, registered: set[str], skipped: dict[str, str]) -> None:
    """``masked.<table>`` for every registered table with direct identifiers (see
    :mod:`featurelake.governance.masking`); added to ``registered`` as ``masked.<table>``."""
    from featurelake.governance.masking import MASKED_SCHEMA, masked_select
    from featurelake.tables import ALL_TABLES

    specs = [s for s in ALL_TABLES if s.direct_identifiers and s.name in registered]
    if not specs:
        return
    try:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {MASKED_SCHEMA}")
    except Exception as e:
        skipped[MASKED_SCHEMA] = _first_line(e)
        return
    for spec in specs:
        name = f"{MASKED_SCHEMA}.{spec.short_name}"
        try:
            spark.sql(f"CREATE OR REPLACE VIEW {name} AS {masked_select(spec, spec.name)}")
        except Exception as e:
            skipped[name] = _first_line(e)
        else:
            registered.add(name)


def register_tables(spark: SparkSession, settings: Settings | None = None) -> list[str]:
    """Register the lake's tables by name in ``spark`` and return their names, sorted.

    Call again to pick up tables other processes (or the DataFrame API) created since; tables
    created by SQL in this session are registered by Spark itself. See :func:`register`.
    """
    return list(register(spark, settings).tables)


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__
