"""Planning a backfill: which partitions of which tables to (re)build, and why.

A plan is a list of :class:`PartitionTask` (table, day, status, reason): the
unit ``--dry-run`` shows and ``ops.backfill_log`` records. It is made in two
stages because gold depends on what silver becomes:

1. :func:`plan_silver`: the silver days asked for (a date range), or the
   days whose bronze partitions changed (late data, from ``ops.ingest_log``).
2. :func:`plan_gold`: the gold days asked for, plus every gold day that
   reads a silver day being rebuilt (silver X feeds ``flight_labels`` X,
   ``carrier_delay_7d`` X+1 .. X+7 and ``route_delay_30d`` X+1 .. X+30), plus
   every day of a daily table whose entity universe changed.

Each partition gets a fingerprint of the exact input files it reads (and
of the entity universe for the daily tables). A partition whose latest
``done`` log row has the current fingerprint is skipped: an interrupted
backfill resumes where it stopped, a repeated one does nothing, and a late
event makes its partitions' fingerprints differ. ``force`` rebuilds anyway.

The daily tables have one row per entity for every day from the first
flight day to the day after the last (the contract's "every day"); days
outside that range are clipped from the plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from featurelake.backfill import _io
from featurelake.backfill.jobs import JOBS, TableJob
from featurelake.backfill.log import DoneRecord, latest_done
from featurelake.backfill.silver_checks import suite_digest
from featurelake.backfill.universe import Universe
from featurelake.catalog import Catalog
from featurelake.transforms.calendar import contiguous_runs, day_range

__all__ = [
    "LAYERS",
    "Chunk",
    "Layer",
    "PartitionTask",
    "Plan",
    "Request",
    "Status",
    "plan_gold",
    "plan_silver",
]

Layer = Literal["silver", "gold"]
LAYERS: tuple[Layer, ...] = ("silver", "gold")
Status = Literal["todo", "done", "empty", "blocked"]
"""``todo`` will be built; ``done`` was built from the same inputs already; ``empty`` has no
input and no output; ``blocked`` reads a silver partition that failed in this run."""

_DAY = dt.timedelta(days=1)
_GRID_SOURCE = "silver.flights"


@dataclass(frozen=True)
class Request:
    """What to backfill: a day range of some layers, or the days whose inputs changed."""

    start: dt.date | None = None
    end: dt.date | None = None
    """Last day, inclusive."""
    layers: tuple[Layer, ...] = LAYERS
    changed: Mapping[str, frozenset[dt.date]] | None = None
    """Input table (``bronze.flights``, ``bronze.weather``) -> days that changed."""
    force: bool = False
    """Rebuild partitions even when they were built from the same inputs."""

    def __post_init__(self) -> None:
        bad = [layer for layer in self.layers if layer not in LAYERS]
        if bad or not self.layers:
            raise ValueError(f"layers must be a non-empty subset of {', '.join(LAYERS)}, got {self.layers}")
        if self.changed is None:
            if self.start is None or self.end is None:
                raise ValueError("a backfill needs --from and --to (or a set of changed days)")
            if self.end < self.start:
                raise ValueError(f"--to {self.end} is before --from {self.start}")
        else:
            sources = {j.source for j in JOBS.values() if j.layer == "silver"}
            unknown = sorted(set(self.changed) - sources)
            if unknown:
                raise ValueError(f"changed days are tracked for {', '.join(sorted(sources))}, not {unknown}")

    @classmethod
    def for_range(
        cls,
        start: dt.date,
        end: dt.date,
        *,
        layers: Iterable[Layer] = LAYERS,
        force: bool = False,
    ) -> Request:
        """Rebuild ``layers`` for the days ``start`` .. ``end`` (and gold days that read rebuilt silver)."""
        return cls(start=start, end=end, layers=tuple(layers), force=force)

    @classmethod
    def for_changes(cls, changed: Mapping[str, Iterable[dt.date]], *, force: bool = False) -> Request:
        """Rebuild silver for the changed bronze days and every gold day that depends on them."""
        return cls(changed={k: frozenset(v) for k, v in changed.items()}, force=force)

    @property
    def cascade(self) -> bool:
        """Whether gold days reading rebuilt silver days join the plan."""
        return self.changed is not None or set(self.layers) == set(LAYERS)

    def requested(self, job: TableJob) -> list[dt.date]:
        """The days of ``job``'s table asked for directly."""
        if self.changed is not None:
            if job.layer != "silver":
                return []
            return sorted(self.changed.get(job.source, ()))
        if job.layer not in self.layers or self.start is None or self.end is None:
            return []
        if job.static_day is not None:
            return [job.static_day] if self.start <= job.static_day <= self.end else []
        return list(day_range(self.start, self.end))


@dataclass(frozen=True)
class PartitionTask:
    """One partition of one table in a plan."""

    table: str
    day: dt.date
    status: Status
    reason: str
    fingerprint: str | None = None
    """Digest of the inputs; None while they are still to be rebuilt by this run."""
    universe: str | None = None


@dataclass(frozen=True)
class Chunk:
    """Consecutive partitions of one table built by one Spark write."""

    table: str
    start: dt.date
    end: dt.date
    tasks: tuple[PartitionTask, ...]

    @property
    def label(self) -> str:
        """``table start..end`` for messages."""
        span = str(self.start) if self.start == self.end else f"{self.start}..{self.end}"
        return f"{self.table} {span}"


@dataclass
class Plan:
    """Partitions to build (``todo``) and those left alone, with reasons."""

    tasks: list[PartitionTask] = field(default_factory=list)
    clipped: dict[str, int] = field(default_factory=dict)
    """Days asked for outside the data range of a daily table, per table."""

    def of_status(self, *statuses: Status) -> list[PartitionTask]:
        """The tasks with one of ``statuses``."""
        return [t for t in self.tasks if t.status in statuses]

    def chunks(self, chunk_days: int) -> list[Chunk]:
        """The ``todo`` tasks as chunks of at most ``chunk_days`` consecutive days per table.

        Chunks of different tables are interleaved so that parallel workers
        build different tables at once rather than queueing on one.
        """
        if chunk_days < 1:
            raise ValueError(f"chunk_days must be >= 1, got {chunk_days}")
        per_table: dict[str, list[Chunk]] = {}
        todo = self.of_status("todo")
        for table in dict.fromkeys(t.table for t in todo):
            tasks = {t.day: t for t in todo if t.table == table}
            per_table[table] = [
                Chunk(table, a, b, tuple(tasks[d] for d in day_range(a, b)))
                for a, b in contiguous_runs(tasks, max_len=chunk_days)
            ]
        out: list[Chunk] = []
        for i in range(max((len(c) for c in per_table.values()), default=0)):
            out += [c[i] for c in per_table.values() if i < len(c)]
        return out

    def __add__(self, other: Plan) -> Plan:
        return Plan(self.tasks + other.tasks, {**self.clipped, **other.clipped})


def _salt(job: TableJob, catalog: Catalog) -> str:
    """What besides input files a job's output depends on: its version, suite and pseudonym secret."""
    salt = f"{job.table}\n{job.version}\n{suite_digest(job.suite) if job.suite else ''}"
    if job.keyed:
        from featurelake.governance.pseudonyms import key_id, pseudonym_key

        salt += f"\n{key_id(pseudonym_key(catalog.settings))}"
    return salt


def _digest(salt: str, inputs: Iterable[tuple[object, list[str]]], universe: str | None) -> str:
    h = hashlib.sha256(f"{salt}\n{universe or ''}\n".encode())
    for key, files in inputs:
        h.update(f"{key}:{','.join(files)}\n".encode())
    return h.hexdigest()[:24]


def _resolve(
    job: TableJob,
    day: dt.date,
    reason: str,
    *,
    fingerprint: str | None,
    universe: str | None,
    done: Mapping[tuple[str, dt.date], DoneRecord],
    force: bool,
) -> PartitionTask:
    if fingerprint is None or force:
        return PartitionTask(job.table, day, "todo", reason, fingerprint, universe)
    record = done.get((job.table, day))
    if record is not None and record.fingerprint == fingerprint:
        return PartitionTask(
            job.table, day, "done", f"inputs unchanged since run {record.run_id}", fingerprint, universe
        )
    return PartitionTask(job.table, day, "todo", reason, fingerprint, universe)


def plan_silver(catalog: Catalog, request: Request) -> Plan:
    """The silver partitions of ``request``, each todo, done or empty."""
    plan = Plan()
    jobs = [j for j in JOBS.values() if j.layer == "silver"]
    done = latest_done(catalog, [j.table for j in jobs])
    reason = "requested" if request.changed is None else "input changed"
    for job in jobs:
        days = request.requested(job)
        if not days:
            continue
        source = _io.partition_files(catalog, job.source)
        output = _io.partition_files(catalog, job.table)
        salt = _salt(job, catalog)
        for day in days:
            files = source.get(day, [])
            if not files and day not in output:
                plan.tasks.append(PartitionTask(job.table, day, "empty", f"no rows in {job.source}"))
                continue
            fp = _digest(salt, [(day, files)], None)
            plan.tasks.append(
                _resolve(job, day, reason, fingerprint=fp, universe=None, done=done, force=request.force)
            )
    return plan


def _grid_days(catalog: Catalog, pending: Mapping[str, set[dt.date]]) -> tuple[dt.date, dt.date] | None:
    """First and last day of the daily tables: first flight day .. last flight day + 1."""
    silver = set(_io.partition_files(catalog, _GRID_SOURCE))
    rebuilt = pending.get(_GRID_SOURCE, set())
    if rebuilt:  # dry run: the silver days that will exist once the pending rebuild ran
        bronze = set(_io.partition_files(catalog, JOBS[_GRID_SOURCE].source))
        silver = (silver - rebuilt) | (bronze & rebuilt)
    if not silver:
        return None
    return min(silver), max(silver) + _DAY


def plan_gold(
    catalog: Catalog,
    request: Request,
    universe: Universe,
    *,
    rebuilt: Mapping[str, set[dt.date]],
    failed: Mapping[str, set[dt.date]] | None = None,
    pending: bool = False,
) -> Plan:
    """The gold partitions of ``request`` once silver has been (or, with ``pending``, will be) rebuilt.

    Args:
        catalog: the lake.
        request: what was asked for.
        universe: the entity universe the daily tables are built with.
        rebuilt: silver table -> days rebuilt by this run (or to be, with ``pending``).
        failed: silver table -> days whose rebuild failed: gold partitions reading them are blocked.
        pending: the rebuilt days have not run yet (``--dry-run``): partitions reading them are
            todo without a fingerprint.
    """
    failed = failed or {}
    plan = Plan()
    jobs = [j for j in JOBS.values() if j.layer == "gold"]
    done = latest_done(catalog, [j.table for j in jobs])
    grid = _grid_days(catalog, rebuilt if pending else {})
    for job in jobs:
        targets: dict[dt.date, str] = {d: "requested" for d in request.requested(job)}
        if request.cascade and job.static_day is None:
            # Dependents of failed silver days are planned too, to be reported as blocked.
            for x in sorted(rebuilt.get(job.source, set()) | failed.get(job.source, set())):
                first, last = job.dependents(x)
                for d in day_range(first, last):
                    targets.setdefault(d, f"reads rebuilt {job.source}")
        uni = universe.fingerprint(job.universe) if job.universe else None
        if job.universe is not None:
            inside = {d: r for d, r in targets.items() if grid and grid[0] <= d <= grid[1]}
            if len(inside) < len(targets):
                plan.clipped[job.table] = len(targets) - len(inside)
            targets = inside
            for (table, day), record in sorted(done.items()):
                if table == job.table and record.universe != uni and grid and grid[0] <= day <= grid[1]:
                    targets.setdefault(day, "entity universe changed")
        if not targets:
            continue
        output = _io.partition_files(catalog, job.table)
        salt = _salt(job, catalog)
        if job.static_day is not None:
            static_files = _io.table_files(catalog, job.source)
        else:
            source = _io.partition_files(catalog, job.source)
        for day in sorted(targets):
            reason = targets[day]
            if job.static_day is not None:
                if not static_files and day not in output:
                    plan.tasks.append(PartitionTask(job.table, day, "empty", f"no rows in {job.source}"))
                    continue
                fp = _digest(salt, [("all", static_files)], None)
                plan.tasks.append(
                    _resolve(job, day, reason, fingerprint=fp, universe=None, done=done, force=request.force)
                )
                continue
            reads = list(day_range(*job.source_days(day)))
            if any(d in failed.get(job.source, set()) for d in reads):
                plan.tasks.append(
                    PartitionTask(job.table, day, "blocked", f"reads failed {job.source}", None, uni)
                )
                continue
            if pending and any(d in rebuilt.get(job.source, set()) for d in reads):
                plan.tasks.append(PartitionTask(job.table, day, "todo", reason, None, uni))
                continue
            inputs = [(d, source.get(d, [])) for d in reads]
            if job.universe is None and not any(files for _, files in inputs) and day not in output:
                plan.tasks.append(PartitionTask(job.table, day, "empty", f"no rows in {job.source}"))
                continue
            fp = _digest(salt, inputs, uni)
            plan.tasks.append(
                _resolve(job, day, reason, fingerprint=fp, universe=uni, done=done, force=request.force)
            )
    return plan


def rebuilt_days(plan: Plan, *, statuses: tuple[Status, ...] = ("todo",)) -> dict[str, set[dt.date]]:
    """Table -> days of the tasks with ``statuses``."""
    out: dict[str, set[dt.date]] = defaultdict(set)
    for t in plan.of_status(*statuses):
        out[t.table].add(t.day)
    return dict(out)


def with_status(task: PartitionTask, status: Status, reason: str) -> PartitionTask:
    """A copy of ``task`` with another status and reason."""
    return replace(task, status=status, reason=reason)
