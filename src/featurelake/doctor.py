"""``featurelake doctor``: reconcile the lake's own records with its tables, without Spark.

Each check compares two things the lake keeps that must agree, and reports every place they
do not, naming the table and the Delta versions concerned:

- ``unreadable``: a table whose log cannot be read at all;
- ``missing-file``: a data file the current snapshot references that is not on disk;
- ``checksum``: the snapshot against the ``.crc`` file the writer (Delta Lake) left beside its
  commit: a log cut short holds fewer files or bytes than the writer recorded;
- ``records``: per dataset, the rows ``ops.ingest_log`` says went to bronze and quarantine
  against the rows those tables hold, and the files it logged against ``ops.ingest_files``;
- ``checkpoint``: each ingest query's streaming checkpoint against its batches in
  ``ops.ingest_log``;
- ``bronze-silver``: per day, silver rows that no bronze row explains;
- ``gold-grid``: the daily gold tables complete (every day, every entity, unique keys);
- ``orphan``: data files no log entry references (a warning: an interrupted write leaves
  them by design and VACUUM removes them after the retention period).

Errors make :func:`run_doctor`'s report fail; warnings (``orphan``, silver days not built
yet, a lake without an ingest log) are printed but do not.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from featurelake.catalog import Catalog
from featurelake.errors import ValidationFailedError, one_line

if TYPE_CHECKING:
    import duckdb

__all__ = ["DoctorReport", "Finding", "run_doctor"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One discrepancy: which check, which table (and version), what disagrees."""

    check: str
    table: str
    message: str
    severity: Severity = "error"
    version: int | None = None


@dataclass
class DoctorReport:
    """Every finding of one run, and what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    tables: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.findings]


def run_doctor(catalog: Catalog | None = None, *, gold: bool = True) -> DoctorReport:
    """Run every check over the lake; see the module's docstring for what each compares.

    Args:
        catalog: the lake; the environment's when omitted.
        gold: check the daily gold grids over the whole data range (the daily DAG checks its own
            days in its validate task, and runs doctor without it).

    The record and checkpoint checks compare tables a running ingest commits one after the
    other; a disagreement is looked at again a moment later, and only one that stays is reported.
    """
    began = time.monotonic()
    catalog = catalog or Catalog()
    report = DoctorReport()
    readable: dict[str, int] = {}
    for name in catalog.names():
        if not catalog.exists(name):
            continue
        report.tables += 1
        version = _check_files(catalog, name, report)
        if version is not None and not any(
            f.table == name and f.check in ("missing-file", "unreadable") for f in report.findings
        ):
            readable[name] = version  # the SQL checks read only tables whose every file is there
    for attempt in range(3):
        sql_findings = _sql_checks(catalog, readable)
        if not any(f.severity == "error" and f.check in ("records", "checkpoint") for f in sql_findings):
            break
        if attempt < 2:
            time.sleep(2.0)  # an ingest between two of its commits: look again
    report.findings += sql_findings
    if gold:
        _check_gold(catalog, readable, report)
    report.seconds = time.monotonic() - began
    return report


def _sql_checks(catalog: Catalog, readable: dict[str, int]) -> list[Finding]:
    from featurelake import sql as lake_sql

    found = DoctorReport()
    con = lake_sql.connect(catalog)
    try:
        _check_records(con, readable, found, _in_flight(catalog, con, readable))
        _check_checkpoints(catalog, con, readable, found)
        _check_bronze_silver(con, readable, found)
        _check_erasures(con, readable, found)
    finally:
        con.close()
    return found.findings


# --- the log against the files -----------------------------------------------------------


def _check_files(catalog: Catalog, name: str, report: DoctorReport) -> int | None:
    """Unreadable log, missing files, checksum and orphans of one table; its version if readable."""
    from deltalake import DeltaTable

    root = Path(catalog.path(name))
    try:
        table = DeltaTable(str(root))
        version = table.version()
        adds = table.get_add_actions(flatten=True)
        paths = [str(p) for p in adds.column("path").to_pylist()]
        sizes = [int(s) for s in adds.column("size_bytes").to_pylist()]
    except Exception as e:  # any failure to read the log is the finding itself
        report.findings.append(Finding("unreadable", name, f"the log cannot be read: {one_line(str(e))}"))
        return None
    live = {_relative(p, root) for p in paths}
    missing = sorted(p for p in live if not (root / p).exists())
    if missing:
        report.findings.append(
            Finding(
                "missing-file",
                name,
                f"{len(missing)} of {len(live)} data files the log references are missing, e.g. {missing[0]}",
                version=version,
            )
        )
    _check_checksum(table, root, version, len(paths), sum(sizes), name, report)
    known = live | set(_logged_paths(root))
    now = time.time()
    orphans = [
        (p, (now - p.stat().st_mtime) / 3600, p.stat().st_size)
        for p in _data_files(root)
        if str(p.relative_to(root)) not in known and _holds_rows(p)
    ]
    if orphans:
        oldest = max(age for _, age, _ in orphans)
        size = sum(s for _, _, s in orphans)
        report.findings.append(
            Finding(
                "orphan",
                name,
                f"{len(orphans)} data files ({size:,} bytes) no log entry references, the oldest "
                f"{oldest:,.1f} h old, e.g. {orphans[0][0].relative_to(root)} (left by an interrupted "
                "write; featurelake maintain --vacuum-hours removes them after the retention)",
                severity="warning",
                version=version,
            )
        )
    return version


def _relative(path: str, root: Path) -> str:
    """A log path (relative and URL-encoded, or an absolute URI) as a path under ``root``."""
    text = urllib.parse.unquote(path)
    for prefix in ("file://", "file:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text.startswith("/"):
        try:
            return str(Path(text).relative_to(root))
        except ValueError:
            return text
    return text


def _logged_paths(root: Path) -> Iterator[str]:
    """Every data file any commit or checkpoint still in the log adds, removes or records as a change."""
    log = root / "_delta_log"
    for commit in sorted(log.glob("*.json")):
        with open(commit, encoding="utf-8") as f:
            for line in f:
                try:
                    action = json.loads(line)
                except ValueError:
                    continue  # a damaged line is the unreadable check's business
                for kind in ("add", "remove", "cdc"):
                    if isinstance(action.get(kind), dict) and "path" in action[kind]:
                        yield _relative(action[kind]["path"], root)
    for checkpoint in log.glob("*.checkpoint*.parquet"):
        import pyarrow.parquet as pq

        data = pq.read_table(checkpoint)
        for kind in ("add", "remove"):
            if kind in data.column_names:
                for entry in data.column(kind).to_pylist():
                    if entry and entry.get("path"):
                        yield _relative(entry["path"], root)


def _holds_rows(path: Path) -> bool:
    """False for the empty Parquet files Spark writes for empty tasks (Delta leaves them out of the log)."""
    import pyarrow.parquet as pq

    try:
        return bool(pq.read_metadata(path).num_rows)
    except Exception:  # an unreadable file is an orphan worth reporting
        return True


def _data_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "_delta_log" and not d.startswith(".")]
        for f in files:
            if f.endswith(".parquet") and not f.startswith("."):
                yield Path(folder) / f


def _check_checksum(
    table: Any, root: Path, version: int, files: int, size: int, name: str, report: DoctorReport
) -> None:
    """The newest snapshot that has a writer's checksum against that checksum."""
    log = root / "_delta_log"
    with_crc = sorted(int(p.stem) for p in log.glob("*.crc") if p.stem.isdigit() and int(p.stem) <= version)
    if not with_crc:
        return
    at = with_crc[-1]
    try:
        crc = json.loads((log / f"{at:020d}.crc").read_text())
    except ValueError as e:
        report.findings.append(Finding("checksum", name, f"{at:020d}.crc does not parse: {e}", version=at))
        return
    if at != version:
        from deltalake import DeltaTable

        older = DeltaTable(str(root), version=at).get_add_actions(flatten=True)
        files, size = older.num_rows, sum(int(s) for s in older.column("size_bytes").to_pylist())
    expected = (int(crc.get("numFiles", files)), int(crc.get("tableSizeBytes", size)))
    if (files, size) != expected:
        report.findings.append(
            Finding(
                "checksum",
                name,
                f"version {at} holds {files:,} files, {size:,} bytes, but the writer's checksum says "
                f"{expected[0]:,} files, {expected[1]:,} bytes: the log lost actions",
                version=at,
            )
        )


# --- the lake's records against its tables -------------------------------------------------


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.sql(sql).fetchone()
    return row[0] if row else None


_QUERIES = (
    ("ingest", "ingest_", "_kafka_topic is null"),
    ("ingest_kafka", "ingest_kafka_", "_kafka_topic is not null"),
)
"""Checkpoint folder, query name prefix, and which bronze rows each kind of ingest query writes."""


@dataclass(frozen=True)
class _Pending:
    """A batch Spark planned (offsets/N) but did not commit, whose ops.ingest_log row is not written.

    A kill between the batch's bronze commit and its log commit leaves its rows in bronze; the
    next run redoes the batch under the same Delta transaction, which skips the rows already
    there and writes the log row. Until then the rows are accounted for here.
    """

    query: str
    batch_id: int
    bronze_where: str
    quarantine_where: str


def _in_flight(
    catalog: Catalog, con: duckdb.DuckDBPyConnection, readable: dict[str, int]
) -> dict[str, list[_Pending]]:
    """Per dataset, the batches planned but neither committed nor logged (see :class:`_Pending`)."""
    pending: dict[str, list[_Pending]] = {}
    root = catalog.settings.lake / "_checkpoints"
    for kind, prefix, rows in _QUERIES:
        folder = root / kind
        if not folder.is_dir():
            continue
        for checkpoint in sorted(p for p in folder.iterdir() if p.is_dir()):
            done = set(_numbered(checkpoint / "commits"))
            query = f"{prefix}{checkpoint.name}"
            logged: set[int] = set()
            if "ops.ingest_log" in readable:
                sql = f"select batch_id from ops.ingest_log where query_name = '{query}'"
                logged = {int(r[0]) for r in con.sql(sql).fetchall()}
            for b in _numbered(checkpoint / "offsets"):
                if b not in done and b not in logged:
                    pending.setdefault(checkpoint.name, []).append(
                        _Pending(
                            query,
                            b,
                            f"_batch_id = {b} and {rows}",
                            f"batch_id = {b} and {rows.lstrip('_')}",
                        )
                    )
    return pending


def _check_records(
    con: duckdb.DuckDBPyConnection,
    readable: dict[str, int],
    report: DoctorReport,
    in_flight: dict[str, list[_Pending]],
) -> None:
    """Per dataset: bronze and quarantine rows against ops.ingest_log, and ops.ingest_files.

    Rows ``featurelake forget`` erased (``ops.erasure_log``) count as accounted for.
    """
    from featurelake.ingest.contracts import CONTRACTS

    for dataset in CONTRACTS:
        bronze = f"bronze.{dataset}"
        if bronze not in readable:
            continue
        held = int(_scalar(con, f"select count(*) from {bronze}"))
        if "ops.ingest_log" not in readable:
            if held:
                report.findings.append(
                    Finding(
                        "records",
                        bronze,
                        f"{held:,} rows but no ops.ingest_log: written outside featurelake ingest",
                        severity="warning",
                        version=readable[bronze],
                    )
                )
            continue
        logged = int(
            _scalar(
                con, f"select coalesce(sum(bronze_rows), 0) from ops.ingest_log where dataset = '{dataset}'"
            )
        )
        erased, q_erased = _erased(con, readable, dataset)
        held += erased
        unlogged = 0
        for batch in in_flight.get(dataset, []):
            n = int(_scalar(con, f"select count(*) from {bronze} where {batch.bronze_where}"))
            unlogged += n
            if not n:
                continue  # killed before it wrote anything: nothing to account for
            report.findings.append(
                Finding(
                    "records",
                    bronze,
                    f"batch {batch.batch_id} of {batch.query} was interrupted after writing {n:,} rows "
                    "and before its log row: the next ingest run completes it",
                    severity="warning",
                    version=readable[bronze],
                )
            )
        if logged != held - unlogged:
            report.findings.append(
                Finding(
                    "records",
                    bronze,
                    f"holds {held - unlogged:,} rows of logged batches at version {readable[bronze]}, "
                    f"ops.ingest_log (version {readable['ops.ingest_log']}) says {logged:,} went in: "
                    f"{held - unlogged - logged:+,}",
                    version=readable[bronze],
                )
            )
        if "quarantine.records" in readable:
            # replays re-count rows already in quarantine as "still quarantined": ingest batches only
            q_logged = int(
                _scalar(
                    con,
                    "select coalesce(sum(quarantined_rows), 0) from ops.ingest_log "
                    f"where dataset = '{dataset}' and query_name like 'ingest_%'",
                )
            )
            q_held = (
                int(
                    _scalar(
                        con,
                        # rows a replay added (a whole file's bad records) are not the ingest's
                        "select count(*) from quarantine.records where "
                        f"dataset = '{dataset}' and layer = 'bronze' "
                        "and not (replay_id is not null and replayed_at is null)",
                    )
                )
                + q_erased
            )
            for batch in in_flight.get(dataset, []):
                q_held -= int(
                    _scalar(
                        con,
                        "select count(*) from quarantine.records where "
                        f"dataset = '{dataset}' and layer = 'bronze' and {batch.quarantine_where}",
                    )
                )
            if q_logged != q_held:
                report.findings.append(
                    Finding(
                        "records",
                        "quarantine.records",
                        f"holds {q_held:,} {dataset} ingest rows at version "
                        f"{readable['quarantine.records']}, ops.ingest_log says {q_logged:,}: "
                        f"{q_held - q_logged:+,}",
                        version=readable["quarantine.records"],
                    )
                )
        if "ops.ingest_files" in readable:
            query = f"ingest_{dataset}"
            files_logged = int(
                _scalar(
                    con,
                    "select coalesce(sum(files), 0) from ops.ingest_log "
                    f"where dataset = '{dataset}' and query_name = '{query}'",
                )
            )
            files_held = int(
                _scalar(con, f"select count(*) from ops.ingest_files where query_name = '{query}'")
            )
            pending = [b.batch_id for b in in_flight.get(dataset, []) if b.query == query]
            if pending:
                files_held -= int(
                    _scalar(
                        con,
                        f"select count(*) from ops.ingest_files where query_name = '{query}' "
                        f"and batch_id in ({', '.join(map(str, pending))})",
                    )
                )
            if files_logged != files_held:
                report.findings.append(
                    Finding(
                        "records",
                        "ops.ingest_files",
                        f"{files_held:,} {dataset} file rows at version {readable['ops.ingest_files']}, "
                        f"ops.ingest_log says {files_logged:,} files were ingested",
                        version=readable["ops.ingest_files"],
                    )
                )


def _numbered(folder: Path) -> list[int]:
    """The batch ids of a checkpoint's ``offsets`` or ``commits`` folder."""
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def _check_checkpoints(
    catalog: Catalog, con: duckdb.DuckDBPyConnection, readable: dict[str, int], report: DoctorReport
) -> None:
    """Each ingest checkpoint's last committed batch is in ops.ingest_log, and nothing beyond the next."""
    root = catalog.settings.lake / "_checkpoints"
    for kind, prefix, _ in _QUERIES:
        folder = root / kind
        if not folder.is_dir():
            continue
        for checkpoint in sorted(p for p in folder.iterdir() if p.is_dir()):
            commits = _numbered(checkpoint / "commits")
            if not commits:
                continue
            query = f"{prefix}{checkpoint.name}"
            if "ops.ingest_log" not in readable:
                report.findings.append(
                    Finding("checkpoint", "ops.ingest_log", f"{query} committed batches but there is no log")
                )
                continue
            logged = {
                int(r[0])
                for r in con.sql(
                    f"select batch_id from ops.ingest_log where query_name = '{query}'"
                ).fetchall()
            }
            last = commits[-1]
            if last not in logged:
                report.findings.append(
                    Finding(
                        "checkpoint",
                        "ops.ingest_log",
                        f"{query}: the checkpoint committed batch {last}, ops.ingest_log (version "
                        f"{readable['ops.ingest_log']}) has no row for it",
                        version=readable["ops.ingest_log"],
                    )
                )
            ahead = sorted(b for b in logged if b > last + 1)
            if ahead:
                report.findings.append(
                    Finding(
                        "checkpoint",
                        "ops.ingest_log",
                        f"{query}: ops.ingest_log has batches {ahead[:5]} beyond the checkpoint's next "
                        f"batch {last + 1}: they would be run again",
                        version=readable["ops.ingest_log"],
                    )
                )


def _check_erasures(con: duckdb.DuckDBPyConnection, readable: dict[str, int], report: DoctorReport) -> None:
    """An erasure that did not finish leaves personal data behind: an error until it is completed."""
    if "ops.erasure_log" not in readable:
        return
    for erasure_id, requested in con.sql(
        "select erasure_id, requested_at from ops.erasure_log where status = 'erasing' order by 2"
    ).fetchall():
        report.findings.append(
            Finding(
                "erasure",
                "ops.erasure_log",
                f"erasure {erasure_id} (started {requested:%Y-%m-%d %H:%M} UTC) did not finish: run the "
                "same featurelake forget again to complete it",
                version=readable["ops.erasure_log"],
            )
        )


def _erased(con: duckdb.DuckDBPyConnection, readable: dict[str, int], dataset: str) -> tuple[int, int]:
    """Bronze rows and ingest quarantine rows of ``dataset`` that ``featurelake forget`` erased."""
    if "ops.erasure_log" not in readable:
        return 0, 0
    row = con.sql(
        "select coalesce(sum(bronze_rows), 0), coalesce(sum(quarantine_ingest_rows), 0) "
        f"from ops.erasure_log where dataset = '{dataset}'"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _check_bronze_silver(
    con: duckdb.DuckDBPyConnection, readable: dict[str, int], report: DoctorReport
) -> None:
    """Per day: every silver event is in bronze; bronze days silver has not built are a warning."""
    from featurelake.ingest.contracts import CONTRACTS

    for dataset in CONTRACTS:
        bronze, silver = f"bronze.{dataset}", f"silver.{dataset}"
        if bronze not in readable or silver not in readable:
            continue
        unexplained = con.sql(
            f"select s.event_date, count(*) from {silver} s anti join {bronze} b using (event_id) "
            "group by 1 order by 1"
        ).fetchall()
        if unexplained:
            days = ", ".join(f"{d} ({n:,})" for d, n in unexplained[:5])
            report.findings.append(
                Finding(
                    "bronze-silver",
                    silver,
                    f"{sum(n for _, n in unexplained):,} rows on {len(unexplained)} days have no bronze "
                    f"event (version {readable[silver]} against {bronze} version {readable[bronze]}): {days}",
                    version=readable[silver],
                )
            )
        unbuilt = con.sql(
            f"select distinct b.event_date from {bronze} b anti join "
            f"(select distinct event_date from {silver}) s using (event_date) order by 1"
        ).fetchall()
        if unbuilt:
            report.findings.append(
                Finding(
                    "bronze-silver",
                    silver,
                    f"{len(unbuilt)} bronze days not built yet, {unbuilt[0][0]} .. {unbuilt[-1][0]} "
                    "(featurelake backfill builds them)",
                    severity="warning",
                    version=readable[silver],
                )
            )


def _check_gold(catalog: Catalog, readable: dict[str, int], report: DoctorReport) -> None:
    """The daily gold tables over the whole data range: the checks the daily DAG runs per day.

    A day with no rows is an error when ``ops.backfill_log`` says it was built (its rows were
    lost since), and a warning otherwise: a backfill that has not reached it yet, or was killed
    on the way, builds it when run again.
    """
    from featurelake.orchestration.tasks import DAILY_GOLD, validate_gold

    built = [t for t in DAILY_GOLD if t in readable]
    damaged = [t for t in (*DAILY_GOLD, "gold.flight_labels") if catalog.exists(t) and t not in readable]
    if not built or damaged or "silver.flights" not in readable:
        return  # a damaged table is reported already; its grid cannot be read
    try:
        validate_gold("0001-01-01", (dt.date.max - dt.timedelta(days=1)).isoformat(), catalog)
    except ValidationFailedError as e:
        for part in str(e).split(": ", 1)[-1].split("; "):
            table = part.split(":", 1)[0].split(" ", 1)[0]
            if "days missing" in part or part.endswith("does not exist"):
                continue  # told apart below: lost, or not built yet
            report.findings.append(Finding("gold-grid", table, part, version=readable.get(table)))
    _check_gold_days(catalog, readable, report)


def _check_gold_days(catalog: Catalog, readable: dict[str, int], report: DoctorReport) -> None:
    from featurelake import sql as lake_sql

    con = lake_sql.connect(catalog)
    try:
        row = con.sql("select min(event_date), max(event_date) from silver.flights").fetchone()
        if not row or row[0] is None:
            return
        first, last = row[0], row[1] + dt.timedelta(days=1)  # gold runs to the midnight after
        for table in ("gold.carrier_delay_7d", "gold.route_delay_30d"):
            have = set()
            if table in readable:
                have = {r[0] for r in con.sql(f"select distinct event_date from {table}").fetchall()}
            missing = [
                first + dt.timedelta(days=i)
                for i in range((last - first).days + 1)
                if first + dt.timedelta(days=i) not in have
            ]
            if not missing:
                continue
            done: set[dt.date] = set()
            if "ops.backfill_log" in readable:
                done = {
                    r[0]
                    for r in con.sql(
                        "select partition_date from ops.backfill_log where table_name = ? "
                        "group by 1 having arg_max(status, finished_at) = 'done'",
                        params=[table],
                    ).fetchall()
                }
            lost = [d for d in missing if d in done]
            if lost:
                report.findings.append(
                    Finding(
                        "gold-grid",
                        table,
                        f"{len(lost)} days ops.backfill_log says were built have no rows, e.g. {lost[0]}",
                        version=readable.get(table),
                    )
                )
            unbuilt = [d for d in missing if d not in done]
            if unbuilt:
                report.findings.append(
                    Finding(
                        "gold-grid",
                        table,
                        f"{len(unbuilt)} of {(last - first).days + 1} days not built yet, {unbuilt[0]} .. "
                        f"{unbuilt[-1]} (featurelake backfill builds them)",
                        severity="warning",
                        version=readable.get(table),
                    )
                )
    finally:
        con.close()
