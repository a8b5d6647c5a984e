"""How time and memory grow with volume: the whole pipeline at 1x, 10x (and 100x) the reference year.

At each scale K, from an empty lake, the stages run as a user runs them, each
its own ``featurelake`` command (one driver process each):

1. ``land``: ``produce synthetic --scale K`` (K x 336,776 flights, weather
   for 3K origins every hour, 1 % bad records and files);
2. ``ingest``: ``ingest flights --once`` and ``ingest weather --once``, every
   expectation checked (Data Docs not built);
3. ``backfill``: ``load-reference``, then silver and gold over the whole year;
4. ``materialize``: ``features apply`` and ``features materialize`` of the
   year into Redis (the ``prod`` profile: Redis online store, PostgreSQL
   registry, with the Spark master of this run);
5. ``training``: a point-in-time training set of about 1M label rows (the
   first days of the year that hold them; the whole year where fewer).

For each stage it prints wall seconds, seconds per event (events: what the
stage reads, bronze rows from the backfill on), the peak memory of the driver
(the command's Python process and its JVM by RSS, its Python workers by their
proportional share, sampled every 0.2 s and summed; see ``Sampler``) and of
the executors (a cluster's executor JVMs and their Python workers), bytes
written under the lake, bytes Spark spilled (memory and disk, from the event
logs), and each figure's ratio against the first scale. A JSON document goes
to stdout and ``benchmarks/results/scale[-cluster].json``, and a plot of
seconds per event and peak memory against scale, per stage, to
``benchmarks/results/scale[-cluster].png``.

Goals (issue 18), from scale 1 to scale 10 on 2 cores: seconds per event at
10 <= 1.2x its value at 1 for ingest, backfill and materialize; driver peak
at 10 <= 1.5x; nothing spilled; no stage fails.

    python -m benchmarks.scale --scales 1,10 [--master local[2] | cluster | spark://HOST:PORT]
        [--seed 0] [--bad-rate 0.01] [--keep DIR] [--stages land,ingest,backfill,materialize,training]

``--master cluster`` starts a standalone cluster of 2 workers with 1 core and
2 GiB each for the run (``spark://…`` uses a running one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks._common import clean_environ, emit

STAGES = ("land", "ingest", "backfill", "materialize", "training")
GOAL_STAGES = ("ingest", "backfill", "materialize")
TIME_GOAL, MEMORY_GOAL = 1.2, 1.5
REDIS_URL = "redis://127.0.0.1:6379/10"
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/featurelake_bench"
TRAINING_ROWS = 1_000_000
YEAR = ("2013-01-01", "2014-01-02")


# --- memory of a command's processes -----------------------------------------------------------


@dataclass
class Peaks:
    """Peak memory (bytes, see :class:`Sampler`) of each group of processes, and of their sum, over
    one command."""

    driver: int = 0
    """The command's process tree: Python driver, its JVM, its Python workers."""
    driver_python: int = 0
    driver_jvm: int = 0
    python_workers: int = 0
    executors: int = 0
    """Executor JVMs of a standalone cluster (children of its workers) and their Python workers."""
    samples: int = 0

    def merge(self, other: Peaks) -> None:
        for name in ("driver", "driver_python", "driver_jvm", "python_workers", "executors"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        self.samples += other.samples


def _is_java(p: psutil.Process) -> bool:
    cmd = p.cmdline()
    return bool(cmd) and Path(cmd[0]).name == "java"


def _own_memory(p: psutil.Process) -> int:
    """Bytes ``p`` alone holds: its RSS, or for a process forked from another Python (pyspark's
    workers fork from its daemon) its proportional share, so shared pages count once."""
    parent = p.parent()
    if parent is not None and parent.name() == p.name():
        return int(p.memory_full_info().pss)
    return int(p.memory_info().rss)


def _spawning(p: psutil.Process) -> bool:
    """A JVM's child between its fork and its exec: it shares the JVM's memory, and /proc gives
    it the JVM's whole RSS under a thread's name ("Executor task l"). Hadoop's shell commands on
    local files start several a second; counting each as a worker doubled the driver's peak."""
    parent = p.parent()
    return parent is not None and _is_java(parent) and (_is_java(p) or p.name() == "jspawnhelper")


class Sampler(threading.Thread):
    """Samples the memory of ``pid``'s process tree and of any cluster executors until stopped.

    The driver's Python and its JVM are counted by RSS; pyspark's Python workers by the memory
    each holds alone (:func:`_own_memory`); a JVM's children that have not yet run their program
    (:func:`_spawning`) not at all.
    """

    def __init__(self, pid: int, *, executors: bool, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.executors = pid, interval, executors
        self.peaks = Peaks()
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            python = jvm = workers = executors = 0
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in tree:
                try:
                    if p.pid == self.pid:
                        python += p.memory_info().rss
                    elif _spawning(p):
                        continue
                    elif _is_java(p):
                        jvm += p.memory_info().rss
                    else:
                        workers += _own_memory(p)
                except psutil.Error:
                    continue
            for p in psutil.process_iter(["name", "cmdline"]) if self.executors else ():
                cmd = p.info.get("cmdline") or []
                if any("CoarseGrainedExecutorBackend" in c for c in cmd):
                    try:
                        executors += p.memory_info().rss
                        executors += sum(
                            _own_memory(c) for c in p.children(recursive=True) if not _spawning(c)
                        )
                    except psutil.Error:
                        continue
            pk = self.peaks
            pk.driver = max(pk.driver, python + jvm + workers)
            pk.driver_python = max(pk.driver_python, python)
            pk.driver_jvm = max(pk.driver_jvm, jvm)
            pk.python_workers = max(pk.python_workers, workers)
            pk.executors = max(pk.executors, executors)
            pk.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> Peaks:
        self._halt.set()
        self.join()
        return self.peaks


# --- one stage ------------------------------------------------------------------------------------


@dataclass
class StageRun:
    """What one stage took."""

    name: str
    seconds: float = 0.0
    commands: list[dict[str, Any]] = field(default_factory=list)
    peaks: Peaks = field(default_factory=Peaks)
    bytes_written: int = 0
    spilled_memory: int = 0
    spilled_disk: int = 0
    events: int = 0
    ok: bool = True
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        mib = 1024 * 1024
        return {
            "seconds": round(self.seconds, 2),
            "events": self.events,
            "us_per_event": round(1e6 * self.seconds / self.events, 3) if self.events else None,
            "driver_peak_mib": round(self.peaks.driver / mib, 1),
            "driver_python_peak_mib": round(self.peaks.driver_python / mib, 1),
            "driver_jvm_peak_mib": round(self.peaks.driver_jvm / mib, 1),
            "python_workers_peak_mib": round(self.peaks.python_workers / mib, 1),
            "executors_peak_mib": round(self.peaks.executors / mib, 1),
            "bytes_written": self.bytes_written,
            "spilled_memory_bytes": self.spilled_memory,
            "spilled_disk_bytes": self.spilled_disk,
            "ok": self.ok,
            **({"error": self.error} if self.error else {}),
            "commands": self.commands,
        }


def _tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                continue
    return total


def _spill(events_dir: Path, seen: set[str]) -> tuple[int, int]:
    """Memory and disk bytes spilled by the tasks of the event logs not in ``seen`` (added to it)."""
    memory = disk = 0
    if not events_dir.exists():
        return 0, 0
    for log in sorted(events_dir.iterdir()):
        if log.name in seen or log.name.endswith(".inprogress") or not log.is_file():
            continue
        seen.add(log.name)
        with log.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"SparkListenerTaskEnd"' not in line:
                    continue
                metrics = json.loads(line).get("Task Metrics") or {}
                memory += int(metrics.get("Memory Bytes Spilled", 0))
                disk += int(metrics.get("Disk Bytes Spilled", 0))
    return memory, disk


class Scale:
    """One scale's lake, environment and stage runner."""

    def __init__(self, k: int, work: Path, master: str, args: argparse.Namespace) -> None:
        self.k, self.work, self.master = k, work, master
        self.lake = work / "lake"
        self.events_dir = work / "spark-events"
        self.events_dir.mkdir(parents=True, exist_ok=True)
        conf_dir = work / "spark-conf"
        conf_dir.mkdir(exist_ok=True)
        (conf_dir / "spark-defaults.conf").write_text(
            f"spark.eventLog.enabled true\nspark.eventLog.dir file://{self.events_dir}\n"
            # one plain JSON-lines file per application (Spark 4 rolls and zstd-compresses by default)
            "spark.eventLog.rolling.enabled false\nspark.eventLog.compress false\n"
        )
        self.env = clean_environ()
        self.env.update(
            {
                "FEATURELAKE_LAKE": str(self.lake),
                "FEATURELAKE_PROFILE": "prod",
                "FEATURELAKE_SPARK_MASTER": master,
                "FEATURELAKE_REDIS_URL": REDIS_URL,
                "FEATURELAKE_POSTGRES_DSN": POSTGRES_DSN,
                "FEATURELAKE_ORIGINS": "airports",
                "FEATURELAKE_LINEAGE": "off",
                "SPARK_CONF_DIR": str(conf_dir),
            }
        )
        self.env.pop("FEATURELAKE_SPARK_JAVA_OPTIONS", None)  # the full JIT: these are long jobs
        self.args = args
        self._seen_logs: set[str] = set()

    def run(self, name: str, commands: list[list[str]], events: int) -> StageRun:
        stage = StageRun(name, events=events)
        before = _tree_bytes(self.lake) if self.lake.exists() else 0
        log = self.work / f"{name}.log"
        for words in commands:
            began = time.perf_counter()
            with log.open("a") as out:
                out.write(f"$ featurelake {' '.join(words)}\n")
                out.flush()
                proc = subprocess.Popen(
                    [str(Path(sys.executable).parent / "featurelake"), *words],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                # executors are another cluster's unless this run's master is a cluster
                sampler = Sampler(proc.pid, executors=not self.master.startswith("local"))
                sampler.start()
                rc = proc.wait()
                stage.peaks.merge(sampler.stop())
            took = time.perf_counter() - began
            stage.seconds += took
            stage.commands.append({"command": " ".join(words), "seconds": round(took, 2), "rc": rc})
            if rc != 0:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:]
                stage.ok, stage.error = (
                    False,
                    f"`featurelake {' '.join(words)}` exited {rc}: {' '.join(tail)}",
                )
                break
        stage.bytes_written = max(0, _tree_bytes(self.lake) - before) if self.lake.exists() else 0
        stage.spilled_memory, stage.spilled_disk = _spill(self.events_dir, self._seen_logs)
        return stage

    # --- figures read from the lake between stages (not timed) ---

    def rows(self, table: str) -> int:
        import pyarrow as pa
        import pyarrow.compute as pc
        from deltalake import DeltaTable

        path = self.lake / table.replace(".", "/", 1)
        if not (path / "_delta_log").exists():
            return 0
        adds = pa.table(DeltaTable(str(path)).get_add_actions(flatten=True))
        return int(pc.sum(adds["num_records"]).as_py() or 0)

    def training_end(self) -> tuple[str, int]:
        """The first day after the year's first days that hold about 1M label rows, and the rows."""
        import datetime as dt

        import duckdb

        path = self.lake / "gold" / "flight_labels"
        con = duckdb.connect()
        con.execute("load delta")
        days = con.execute(
            "select cast(event_timestamp as date) d, count(*) from delta_scan(?) "
            "where is_delayed is not null group by 1 order by 1",
            [str(path)],
        ).fetchall()
        total = 0
        for day, n in days:
            total += n
            if total >= TRAINING_ROWS:
                return (day + dt.timedelta(days=1)).isoformat(), total
        return YEAR[1], total


def _reset_stores() -> None:
    """Redis database 10 emptied and the bench registry dropped: every scale starts from nothing."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    import psycopg

    admin = POSTGRES_DSN.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute("drop database if exists featurelake_bench with (force)")
        con.execute("create database featurelake_bench")


def run_scale(k: int, work: Path, master: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every stage at scale ``k`` in a fresh lake under ``work``."""
    _reset_stores()
    s = Scale(k, work, master, args)
    out: dict[str, StageRun] = {}
    landed = 0
    for name in args.stages:
        if any(not r.ok for r in out.values()):
            break
        if name == "land":
            words = ["produce", "synthetic", "--scale", str(k), "--seed", str(args.seed)]
            out[name] = s.run(name, [[*words, "--bad-rate", str(args.bad_rate)]], 0)
            landed = _landed_records(work / "land.log")
            out[name].events = landed
        elif name == "ingest":
            cmds = [["ingest", d, "--once", "--no-data-docs"] for d in ("flights", "weather")]
            out[name] = s.run(name, cmds, landed)
        elif name == "backfill":
            bronze = s.rows("bronze.flights") + s.rows("bronze.weather")
            cmds = [["load-reference"], ["backfill", "--from", YEAR[0], "--to", YEAR[1]]]
            out[name] = s.run(name, cmds, bronze)
        elif name == "materialize":
            bronze = s.rows("bronze.flights") + s.rows("bronze.weather")
            cmds = [
                ["features", "apply"],
                ["features", "materialize", "--from", YEAR[0], "--to", "2014-01-03"],
            ]
            out[name] = s.run(name, cmds, bronze)
        elif name == "training":
            end, rows = s.training_end()
            target = work / "training.parquet"
            cmd = ["features", "training-set", "--from", YEAR[0], "--to", end, "--output", str(target)]
            cmd += ["--where", "is_delayed is not null"]
            out[name] = s.run(name, [cmd], rows)
    result = {name: r.as_json() for name, r in out.items()}
    result["_lake"] = {
        "bronze_flights": s.rows("bronze.flights"),
        "bronze_weather": s.rows("bronze.weather"),
        "quarantine": s.rows("quarantine.records"),
        "gold_flight_labels": s.rows("gold.flight_labels"),
        "lake_bytes": _tree_bytes(s.lake) if s.lake.exists() else 0,
    }
    return result


def _landed_records(log: Path) -> int:
    """Records landed, from the producer's ``<dataset>: N records ...`` lines."""
    import re

    total = 0
    for line in log.read_text().splitlines():
        m = re.match(r"^(flights|weather): ([\d,]+) records", line)
        if m:
            total += int(m.group(2).replace(",", ""))
    return total


def _ratios(by_scale: dict[int, dict[str, Any]]) -> dict[str, Any]:
    first = min(by_scale)
    base = by_scale[first]
    out: dict[str, Any] = {}
    for k, stages in sorted(by_scale.items()):
        if k == first:
            continue
        per: dict[str, Any] = {}
        for name, fig in stages.items():
            if name.startswith("_") or name not in base or not fig.get("us_per_event") or not fig["ok"]:
                continue
            b = base[name]
            per[name] = {
                "us_per_event": round(fig["us_per_event"] / b["us_per_event"], 3)
                if b["us_per_event"]
                else None,
                "driver_peak": round(fig["driver_peak_mib"] / b["driver_peak_mib"], 3)
                if b["driver_peak_mib"]
                else None,
            }
        out[f"{k}_over_{first}"] = per
    return out


def _goals(by_scale: dict[int, dict[str, Any]], ratios: dict[str, Any]) -> dict[str, Any]:
    first = min(by_scale)
    goals: dict[str, Any] = {
        "no_stage_failed": all(
            f["ok"] for st in by_scale.values() for n, f in st.items() if not n.startswith("_")
        ),
        "nothing_spilled": all(
            f["spilled_memory_bytes"] == 0 and f["spilled_disk_bytes"] == 0
            for st in by_scale.values()
            for n, f in st.items()
            if not n.startswith("_")
        ),
    }
    ten = ratios.get(f"10_over_{first}")
    if ten is not None:
        for name in GOAL_STAGES:
            if name in ten:
                goals[f"{name}_us_per_event_ratio<={TIME_GOAL}"] = ten[name]["us_per_event"] <= TIME_GOAL
        peaks = [r["driver_peak"] for r in ten.values() if r["driver_peak"] is not None]
        if peaks:
            goals[f"driver_peak_ratio<={MEMORY_GOAL}"] = max(peaks) <= MEMORY_GOAL
    return goals


def plot(by_scale: dict[int, dict[str, Any]], path: Path, title: str) -> None:
    """Seconds per event and driver peak memory against scale, one line per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted(by_scale)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in STAGES:
        pts = [(k, by_scale[k][name]) for k in scales if name in by_scale[k] and by_scale[k][name]["ok"]]
        if not pts:
            continue
        xs = [k for k, _ in pts]
        left.plot(xs, [f["us_per_event"] for _, f in pts], marker="o", label=name)
        right.plot(
            xs, [f["driver_peak_mib"] + f["executors_peak_mib"] for _, f in pts], marker="o", label=name
        )
    for ax, label in ((left, "µs per event"), (right, "peak memory, driver + executors (MiB)")):
        ax.set_xscale("log")
        ax.set_xticks(scales, [f"{k}x" for k in scales])
        ax.set_xlabel("scale (x the 2013 reference volume)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    left.set_yscale("log")
    left.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,10", help="Comma-separated scales, e.g. 1,10,100.")
    parser.add_argument("--master", default="local[2]", help="local[2], cluster, or spark://HOST:PORT.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad-rate", type=float, default=0.01)
    parser.add_argument(
        "--stages", default=",".join(STAGES), help="Comma-separated subset of " + ",".join(STAGES)
    )
    parser.add_argument("--keep", type=Path, help="Keep the lakes and logs in this folder.")
    parser.add_argument(
        "--reuse", action="store_true", help="With --keep: run the stages on the lakes a run left there."
    )
    args = parser.parse_args()
    scales = sorted({int(x) for x in args.scales.split(",")})
    args.stages = [s for s in args.stages.split(",") if s]
    unknown = set(args.stages) - set(STAGES)
    if unknown or not scales or min(scales) < 1:
        raise SystemExit(f"error: scales must be >= 1 and stages among {', '.join(STAGES)}")

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    spec = None
    master = args.master
    if master == "cluster":
        from featurelake.cluster import ClusterSpec, cluster_up

        spec = ClusterSpec(workers=2, cores=1, memory="2g", run_dir=root / "cluster")
        cluster_up(spec)
        master = spec.master_url
    by_scale: dict[int, dict[str, Any]] = {}
    out = Path("benchmarks/results")
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if spec is None and master.startswith("local") else "-cluster"
    name = master if spec is None else f"standalone, {spec.workers} workers x {spec.cores} core"
    try:
        for k in scales:
            work = root / f"k{k}"
            if not (args.reuse and args.keep):
                shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True, exist_ok=True)
            began = time.perf_counter()
            by_scale[k] = run_scale(k, work, master, args)
            print(f"scale {k}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
            # after every scale, so an hour-long run that is stopped keeps what it measured
            result = _result(name, by_scale)
            (out / f"scale{suffix}.json").write_text(json.dumps({"benchmark": "scale", **result}, indent=2))
            if not args.keep:
                shutil.rmtree(work / "lake", ignore_errors=True)
    finally:
        if spec is not None:
            from featurelake.cluster import cluster_down

            cluster_down(spec.run_dir)
    result = _result(name, by_scale)
    plot(by_scale, out / f"scale{suffix}.png", f"featurelake cost growth ({name})")
    emit("scale", result)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def _result(master: str, by_scale: dict[int, dict[str, Any]]) -> dict[str, Any]:
    ratios = _ratios(by_scale)
    return {
        "master": master,
        "scales": {str(k): v for k, v in by_scale.items()},
        "ratios": ratios,
        "goals": _goals(by_scale, ratios),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
