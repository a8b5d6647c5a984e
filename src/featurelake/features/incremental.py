"""Incremental materialization: push only the entities whose gold rows changed, read from the change feed.

Every gold table records Delta's change data feed. Per feature view this
module remembers the gold table version (and the ``end``) it last
materialized, in ``<lake>/feast/materialized_versions.json``. The next run:

1. reads the change feed from that version + 1 to the table's current version
   (delta-rs ``load_cdf``, on the driver: no Spark session for a command that
   otherwise runs in DuckDB) and keeps the join keys of the ``insert`` and
   ``update_postimage`` rows, plus the keys of rows whose ``event_timestamp``
   entered the window because ``end`` moved forward;
2. for exactly those entities, writes the newest row with ``event_timestamp <=
   end`` from the current table through featurelake's engine (DuckDB, then the
   bulk SQLite/Redis writer). The values come from the table, not from the
   change rows, so a rebuilt *old* day changes nothing an entity serves when a
   newer row exists;
3. records the version it read the change feed up to.

A view without state (first run, a recreated table, a change feed that is no
longer readable) is materialized whole. A gold row deleted outright is not
removed from the online store, as with Feast's own materialization. A commit
that lands between reading the version and the rows is written now and read
again next time: at least once, never skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError
from featurelake.features.latest import source_join_keys
from featurelake.features.progress import MaterializeReporter
from featurelake.features.store import feast_dir, using_store

if TYPE_CHECKING:
    import pyarrow as pa
    from feast import FeatureStore, FeatureView

    from featurelake.features.engine import FeaturelakeEngine, MaterializeStats

__all__ = ["STATE_FILE", "ViewState", "changed_keys", "load_state", "materialize_changes", "save_state"]

log = logging.getLogger(__name__)

STATE_FILE = "materialized_versions.json"
"""Per feature view, the gold table version and end time last materialized (under ``<lake>/feast``)."""

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CHANGED = ("insert", "update_postimage")
"""Change feed rows whose keys are pushed again (a pre-image is the value being replaced)."""


@dataclass(frozen=True)
class ViewState:
    """What one feature view's last materialization read."""

    table: str
    """The path of the gold table."""
    version: int
    """The table version the change feed was read up to."""
    end: str
    """The ``end`` of that run (ISO, UTC)."""


def state_path(settings: Settings) -> Path:
    """Where the lake keeps :class:`ViewState` per feature view."""
    return feast_dir(settings) / STATE_FILE


def load_state(path: Path) -> dict[str, ViewState]:
    """The recorded state per view; empty when nothing was recorded yet.

    Raises:
        FeaturelakeError: the file exists but is not a state file.
    """
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {name: ViewState(**entry) for name, entry in raw.items()}
    except (ValueError, TypeError) as e:
        raise FeaturelakeError(
            f"{path} is not a materialization state file ({e}); remove it to start over"
        ) from e


def save_state(path: Path, state: dict[str, ViewState]) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(state.items())}, indent=2) + "\n")
    os.replace(tmp, path)


def changed_keys(path: str, keys: Sequence[str], first_version: int, last_version: int) -> pa.Table:
    """Distinct join keys of the rows inserted or updated in versions [first, last] of a Delta table.

    Runs on the driver (delta-rs reads the change files and, for commits without them,
    the added files).

    Raises:
        ValueError: the change feed does not cover those versions (delta-rs's error).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    reader = DeltaTable(path).load_cdf(
        starting_version=first_version, ending_version=last_version, columns=[*keys, "_change_type"]
    )
    changes = pa.RecordBatchReader.from_stream(reader).read_all()  # delta-rs returns arro3 objects
    # delta-rs gives string_view columns, which pyarrow's compute kernels do not all take yet.
    plain = pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_string_view(f.type) else f.type) for f in changes.schema]
    )
    changes = changes.cast(plain)
    kept = changes.filter(pc.is_in(changes.column("_change_type"), value_set=pa.array(CHANGED)))
    return kept.select(list(keys)).group_by(list(keys)).aggregate([])


def _entered_window(view: FeatureView, after: dt.datetime, end: dt.datetime) -> pa.Table:
    """Join keys of rows with ``after < event_timestamp <= end`` (new to the window, changed or not)."""
    from featurelake.features.latest import duckdb_connection, scan_expression

    keys = source_join_keys(view)
    source = view.batch_source
    ts = source.timestamp_field if source else "event_timestamp"
    cols = ", ".join('"' + k.replace('"', '""') + '"' for k in keys)
    sql = f'SELECT DISTINCT {cols} FROM {scan_expression(view)} WHERE "{ts}" > $after AND "{ts}" <= $end'
    con = duckdb_connection()
    try:
        return con.execute(sql, {"after": after, "end": end}).to_arrow_table()
    finally:
        con.close()


def _engine(store: FeatureStore) -> FeaturelakeEngine:
    from featurelake.features.engine import FeaturelakeEngine

    # Feast exposes the engine only on its provider (the sdk's stats read it the same way).
    engine = getattr(store._get_provider(), "batch_engine", None)
    if not isinstance(engine, FeaturelakeEngine):
        raise FeaturelakeError(
            f"materialize-incremental needs featurelake's batch engine, not {type(engine).__name__}"
        )
    return engine


def _delta_path(view: FeatureView) -> str:
    from feast.data_format import DeltaFormat

    source = view.batch_source
    path = getattr(source, "path", "") or ""
    if not isinstance(getattr(source, "file_format", None), DeltaFormat) or "://" in path:
        raise FeaturelakeError(f"{view.name}: its source is not a local Delta table; it has no change feed")
    return path


def _materialize_view(
    engine: FeaturelakeEngine, view: FeatureView, end: dt.datetime, prior: ViewState | None
) -> tuple[MaterializeStats, ViewState | None]:
    from deltalake import DeltaTable

    path = _delta_path(view)
    if not os.path.isdir(os.path.join(path, "_delta_log")):
        log.warning("%s: no Delta table at %s yet; nothing to materialize", view.name, path)
        return {"rows": 0, "written": 0, "query_s": 0.0, "encode_s": 0.0, "write_s": 0.0}, prior
    version = DeltaTable(path).version()
    done = ViewState(table=path, version=version, end=end.isoformat())
    if prior is None or prior.table != path or prior.version > version:
        stats = engine.write_latest(view, EPOCH, end)
        return {**stats, "changed_entities": float(stats["rows"]), "table_version": version, "full": 1}, done

    import pyarrow as pa

    keys = source_join_keys(view)
    parts = []
    if version > prior.version:
        try:
            parts.append(changed_keys(path, keys, prior.version + 1, version))
        except Exception as e:  # delta-rs raises plain errors; any unreadable feed means "start over"
            log.warning(
                "%s: change feed %d..%d unreadable (%s); materializing whole",
                view.name,
                prior.version + 1,
                version,
                e,
            )
            stats = engine.write_latest(view, EPOCH, end)
            return {
                **stats,
                "changed_entities": float(stats["rows"]),
                "table_version": version,
                "full": 1,
            }, done
    last_end = dt.datetime.fromisoformat(prior.end)
    if end > last_end:
        parts.append(_entered_window(view, last_end, end))
    only = (
        pa.concat_tables([p.cast(parts[0].schema) for p in parts]).group_by(keys).aggregate([])
        if parts
        else None
    )
    if only is None or only.num_rows == 0:
        zero: MaterializeStats = {"rows": 0, "written": 0, "query_s": 0.0, "encode_s": 0.0, "write_s": 0.0}
        return {**zero, "changed_entities": 0, "table_version": version, "full": 0}, done
    stats = engine.write_latest(view, EPOCH, end, only=only)
    return {**stats, "changed_entities": float(only.num_rows), "table_version": version, "full": 0}, done


def materialize_changes(
    end: dt.datetime,
    *,
    views: Sequence[str] | None = None,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
    reporter: MaterializeReporter | None = None,
) -> dict[str, MaterializeStats]:
    """Push the entities whose gold rows changed since each view's last run, up to ``end``.

    Runs on the driver, in this process: delta-rs for the change feed, DuckDB and the
    bulk writer for the values. The state file is written after each view, so a
    crash repeats at most that view's work.

    Args:
        end: the last event time to serve (UTC; naive means UTC).
        views: only these feature views; every view with a Delta batch source when None.
        settings: the lake and profile; the environment's when omitted.
        store: an open ``FeatureStore``; one for ``settings`` when omitted.
        reporter: told about each view as it starts and finishes (with its stats).

    Returns:
        Per view: ``rows`` read and ``written`` (entities written to the online store), the
        seconds spent, ``changed_entities`` (entities whose rows changed), the gold
        ``table_version`` now recorded, and ``full`` (1 when the whole view was written).

    Raises:
        FeaturelakeError: the engine is not featurelake's, or a named view has no Delta source.
        ValueError: a name in ``views`` is not a feature view of the repository.
    """
    settings = settings or get_settings()
    reporter = reporter or MaterializeReporter()
    end = end.replace(tzinfo=dt.UTC) if end.tzinfo is None else end.astimezone(dt.UTC)
    path = state_path(settings)
    state = load_state(path)
    out: dict[str, MaterializeStats] = {}
    with using_store(settings, store) as fs:
        engine = _engine(fs)
        known = {v.name: v for v in fs.list_feature_views()}
        if views:
            unknown = sorted(set(views) - set(known))
            if unknown:
                raise ValueError(
                    f"unknown feature view(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                )
            chosen = [known[n] for n in views]
        else:
            chosen = [v for v in known.values() if getattr(v.batch_source, "path", None)]
        reporter.started([v.name for v in chosen])
        for view in chosen:
            reporter.view_started(view.name)
            stats, done = _materialize_view(engine, view, end, state.get(view.name))
            out[view.name] = stats
            if done is not None:
                state[view.name] = done
                save_state(path, state)
                fs.registry.apply_materialization(view, fs.project, EPOCH, end)
            reporter.view_finished(view.name, stats)
    return out
