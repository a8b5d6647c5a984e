"""Chaos: SIGKILL featurelake's long-running commands at random points, then check nothing was lost.

    python -m benchmarks.chaos --kills 100            # the long mode: at least 100 kills
    python -m benchmarks.chaos --kills 12 --targets file-ingest,backfill
    python -m benchmarks.chaos --targets file-ingest:15,kafka-ingest:15,backfill:20,\
        feature-store:40,cluster-worker:10                # 100 kills, each target its own number

Targets, each on a lake of its own under a temporary folder:

- ``file-ingest``: ``featurelake ingest flights --continuous`` over landed synthetic files (bad
  records and unreadable files among them), killed again and again, then drained with ``--once``;
- ``kafka-ingest``: the same from a Kafka topic while a producer keeps sending (needs the broker:
  ``featurelake services start kafka``);
- ``backfill``: ``featurelake backfill`` rebuilding silver and gold of a lake built once, killed
  mid-way again and again, then finished by a rerun, which must leave gold equal to the original;
- ``feature-store``: ``featurelake features materialize`` killed mid-load, then rerun (online must
  equal offline), and ``featurelake serve`` killed mid-traffic and restarted (the same answers);
- ``cluster-worker``: a backfill on a two-worker Spark standalone cluster loses a worker (SIGKILL
  to the worker and its executor) at a random moment; it must finish on the other worker with
  gold equal to the original. The cluster is started again before each round.

After every kill ``featurelake doctor`` must find no error (an orphan file, or a batch caught
between its bronze and log commits, is a warning). At the end each target reports kills,
events, lost, duplicated and false quarantine rows: the goal is 0, 0, 0. The figures print as
JSON; the exit status is 1 when a goal is missed. ``tests/chaos/`` runs a few kills of each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import clean_environ, emit
from featurelake.features.server_process import free_port, server_token
from featurelake.orchestration.tasks import DAILY_GOLD

__all__ = [
    "Outcome",
    "backfill_chaos",
    "cluster_worker_chaos",
    "feature_store_chaos",
    "file_ingest_chaos",
    "kafka_ingest_chaos",
    "main",
]

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")

# every kind of bad input but duplicate files, whose two copies both reach bronze by design
KINDS = [
    "null_required",
    "origin_not_nyc",
    "out_of_range",
    "nonpositive_distance",
    "event_time_out_of_range",
    "delay_without_dep_time",
    "truncated_file",
    "not_avro",
    "empty_file",
    "incompatible_schema",
]


@dataclass
class Outcome:
    """What one target's kills did to the data."""

    target: str
    kills: int = 0
    kills_after_a_batch: int = 0
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    false_quarantine: int = 0
    doctor_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.false_quarantine or self.doctor_errors)


def _env(lake: Path) -> dict[str, str]:
    env = clean_environ()
    return env | {
        "FEATURELAKE_LAKE": str(lake),
        "FEATURELAKE_SPARK_MASTER": "local[2]",
        "FEATURELAKE_SHUFFLE_PARTITIONS": "4",
        "FEATURELAKE_SPARK_DRIVER_MEMORY": "1g",
        "FEATURELAKE_KAFKA_BOOTSTRAP": os.environ.get("FEATURELAKE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        "PYTHONUNBUFFERED": "1",
    }


def _start(args: list[str], lake: Path, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = _env(lake) | {f"FEATURELAKE_{k.upper()}": v for k, v in settings.items()}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [FEATURELAKE, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _run(args: list[str], lake: Path, log: Path, timeout: float = 1800) -> None:
    proc = _start(args, lake, log)
    if proc.wait(timeout=timeout) != 0:
        raise RuntimeError(
            f"featurelake {' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}"
        )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a command started in a session of its own, with every process it started (its JVM)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def _lines(log: Path, prefix: bytes) -> int:
    return sum(line.startswith(prefix) for line in log.read_bytes().splitlines()) if log.exists() else 0


def _doctor(lake: Path, outcome: Outcome, when: str) -> None:
    from featurelake.catalog import Catalog
    from featurelake.config import Settings
    from featurelake.doctor import run_doctor

    report = run_doctor(Catalog(settings=Settings(lake=lake)))
    outcome.doctor_errors += [f"{when}: {f.check} {f.table}: {f.message}" for f in report.errors]


def _kill_at_random(
    args: list[str],
    lake: Path,
    log: Path,
    rng: random.Random,
    kills: int,
    outcome: Outcome,
    *,
    progress: bytes | None,
    first_s: tuple[float, float],
    after_progress_s: tuple[float, float] = (0.0, 3.0),
    repeatable: bool = False,
) -> None:
    """Start ``args``, kill it; ``kills`` times.

    Every other kill waits for a ``progress`` line of the run's own first (surely inside the
    work), then ``after_progress_s`` more; the others, and all of them without ``progress``,
    fall anywhere in ``first_s`` seconds from the start, JVM start-up included. A command that
    ends on its own before its kill counts no kill. For a backfill that means the work is done
    and the kills stop; a ``repeatable`` command (a materialization, which loads everything
    again each run) is started again, up to three tries per kill.
    """
    done = tries = 0
    while done < kills and tries < 3 * kills:
        k, tries = tries, tries + 1
        before = _lines(log, progress) if progress is not None else 0
        proc = _start(args, lake, log)
        if progress is None or k % 2 == 0:
            deadline = time.monotonic() + rng.uniform(*first_s)
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
        else:  # no progress within ten minutes (nothing left to read): kill it all the same
            # (a loaded 2-core CI machine took over two minutes for a restart's first batch)
            deadline = time.monotonic() + 600
            while _lines(log, progress) == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(rng.uniform(*after_progress_s))
        if proc.poll() is not None:
            if proc.returncode == 0 and repeatable:
                continue
            if progress is None and proc.returncode == 0:
                return
            raise RuntimeError(f"featurelake {' '.join(args)} ended on its own:\n{log.read_text()[-3000:]}")
        if progress is not None:
            outcome.kills_after_a_batch += _lines(log, progress) > before
        kill_group(proc)
        outcome.kills += 1
        done += 1
        _doctor(lake, outcome, f"after kill {outcome.kills}")


def _bronze_accounting(lake: Path, outcome: Outcome, good: int, quarantined: int) -> None:
    from deltalake import DeltaTable

    from featurelake.catalog import Catalog
    from featurelake.config import Settings

    catalog = Catalog(settings=Settings(lake=lake))
    ids = DeltaTable(catalog.path("bronze.flights")).to_pyarrow_table(columns=["event_id"])["event_id"]
    distinct = len(set(ids.to_pylist()))
    outcome.lost = max(0, good - distinct)
    outcome.duplicated = len(ids) - distinct
    q = DeltaTable(catalog.path("quarantine.records")).to_pyarrow_table(columns=["dataset"]).num_rows
    outcome.false_quarantine = max(0, q - quarantined)
    outcome.lost += max(0, quarantined - q)


def file_ingest_chaos(root: Path, kills: int, *, events: int = 20_000, seed: int = 7) -> Outcome:
    """Kill the continuous ingest of landed files ``kills`` times, drain, account for every record."""
    from featurelake.config import Settings
    from featurelake.ingest.synthetic import produce_synthetic

    began = time.monotonic()
    lake, log = root / "file-ingest" / "lake", root / "file-ingest.log"
    produced = produce_synthetic(
        "flights",
        events,
        bad_rate=0.02,
        seed=seed,
        records_per_file=500,
        settings=Settings(lake=lake),
        kinds=KINDS,
    )
    outcome = Outcome("file-ingest", events=produced.records + sum(produced.bad_files.values()))
    args = ["ingest", "flights", "--continuous", "--interval", "1", "--max-files-per-batch", "2"]
    args += ["--no-online-features"]
    _kill_at_random(args, lake, log, random.Random(seed), kills, outcome, progress=b"batch ", first_s=(3, 30))
    _run(["ingest", "flights", "--once", "--no-data-docs"], lake, log)
    _doctor(lake, outcome, "after the drain")
    _bronze_accounting(lake, outcome, produced.good, produced.quarantined)
    outcome.seconds = time.monotonic() - began
    return outcome


def kafka_ingest_chaos(
    root: Path, kills: int, *, events: int | None = None, rate: float = 200, seed: int = 7
) -> Outcome:
    """Kill the continuous Kafka ingest ``kills`` times while a producer sends; drain; account by offset.

    By default the producer sends for about as long as the kills take (40 s each at ``rate``), so
    every run has messages to read.
    """
    events = events if events is not None else max(8_000, int(kills * 40 * rate))
    import uuid

    from confluent_kafka.admin import AdminClient

    from featurelake.config import Settings
    from featurelake.ingest.kafka_producer import KafkaProduceResult, produce_synthetic_to_kafka
    from featurelake.ingest.topics import ensure_topics

    began = time.monotonic()
    lake, log = root / "kafka-ingest" / "lake", root / "kafka-ingest.log"
    settings = Settings(lake=lake, kafka_bootstrap=_env(lake)["FEATURELAKE_KAFKA_BOOTSTRAP"])
    topic = f"featurelake-chaos-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, {topic: 4})
    sent: list[KafkaProduceResult] = []
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            sent.append(
                produce_synthetic_to_kafka(
                    "flights",
                    events,
                    settings=settings,
                    topic=topic,
                    rate=rate,
                    bad_rate=0.03,
                    seed=seed,
                    timeout_s=30,
                )
            )
        except BaseException as e:  # reported below
            failed.append(e)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    outcome = Outcome("kafka-ingest", events=events)
    args = ["ingest", "flights", "--source", "kafka", "--topic", topic, "--continuous", "--interval", "1"]
    args += ["--max-offsets-per-trigger", "2000", "--no-online-features"]
    try:
        _kill_at_random(
            args, lake, log, random.Random(seed), kills, outcome, progress=b"batch ", first_s=(3, 30)
        )
        producer.join(timeout=3600)
        if failed or not sent:
            raise RuntimeError(f"the producer failed: {failed[:1]}")
        _run(
            ["ingest", "flights", "--source", "kafka", "--topic", topic, "--once", "--no-data-docs"],
            lake,
            log,
        )
        _doctor(lake, outcome, "after the drain")
        _bronze_accounting(lake, outcome, sent[0].good, sum(sent[0].bad.values()))
    finally:
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        for future in admin.delete_topics([topic], operation_timeout=30).values():
            future.result(timeout=30)
    outcome.seconds = time.monotonic() - began
    return outcome


GOLD = DAILY_GOLD
"""The gold tables a backfill builds (the daily DAG's list)."""


def _gold_digest(lake: Path) -> dict[str, int]:
    """Rows per gold table."""
    from featurelake import sql as lake_sql
    from featurelake.catalog import Catalog
    from featurelake.config import Settings

    con = lake_sql.connect(Catalog(settings=Settings(lake=lake)))
    try:
        return {t: int(con.sql(f"select count(*) from {t}").fetchone()[0]) for t in GOLD}  # type: ignore[index]
    finally:
        con.close()


def _gold_difference(lake: Path, reference: Path) -> int:
    """Rows in one lake's gold tables and not in the other's, both ways (0: identical contents)."""
    import duckdb

    from featurelake.catalog import Catalog
    from featurelake.config import Settings
    from featurelake.sql import delta_extension_path

    con = duckdb.connect()
    con.execute(f"LOAD '{delta_extension_path()}'")
    a, b = Catalog(settings=Settings(lake=lake)), Catalog(settings=Settings(lake=reference))
    differ = 0
    for t in GOLD:
        left, right = f"delta_scan('{a.path(t)}')", f"delta_scan('{b.path(t)}')"
        row = con.sql(
            f"select (select count(*) from (select * from {left} except all select * from {right})) + "
            f"(select count(*) from (select * from {right} except all select * from {left}))"
        ).fetchone()
        differ += int(row[0]) if row else 0
    con.close()
    return differ


REBUILT = ("silver/flights", "silver/weather", "silver/flight_entities", "gold", "ops/backfill_log")
"""What a backfill builds (and records) from bronze and the reference tables: removed before the kills."""


def backfill_chaos(
    root: Path,
    kills: int,
    reference: Path,
    *,
    days: tuple[str, str],
    seed: int = 7,
    chunk_days: int = 30,
    first_s: tuple[float, float] = (5, 70),
    parallel: int = 1,
) -> Outcome:
    """Rebuild ``reference``'s silver and gold from its bronze, killing the backfill ``kills`` times.

    ``chunk_days`` is the backfill's chunk: each chunk is a resume point, and each costs its
    Spark jobs and Delta commits whatever its rows. Each kill falls anywhere in ``first_s``
    seconds from the start of a run, JVM start-up included.

    Each rerun resumes where the last stopped; the final one must leave gold equal to
    ``reference``'s, row for row.
    """
    began = time.monotonic()
    lake, log = root / "backfill" / "lake", root / "backfill.log"
    shutil.copytree(reference, lake)
    expected = _gold_digest(lake)
    for folder in REBUILT:
        shutil.rmtree(lake / folder, ignore_errors=True)
    outcome = Outcome("backfill", events=sum(expected.values()))
    args = ["backfill", "--from", days[0], "--to", days[1], "--chunk-days", str(chunk_days)]
    args += ["--parallel", str(parallel)]
    _kill_at_random(args, lake, log, random.Random(seed), kills, outcome, progress=None, first_s=first_s)
    _run(args, lake, log)
    _doctor(lake, outcome, "after the rerun")
    got = _gold_digest(lake)
    outcome.lost = sum(max(0, n - got.get(t, 0)) for t, n in expected.items())
    outcome.duplicated = sum(max(0, got.get(t, 0) - n) for t, n in expected.items())
    if not (outcome.lost or outcome.duplicated):
        outcome.lost = _gold_difference(lake, reference)  # same counts, other values: count those rows
    outcome.seconds = time.monotonic() - began
    return outcome


def _post(port: int, token: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """One online lookup; None when the server does not answer."""
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/get-online-features",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return dict(json.loads(r.read()))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def feature_store_chaos(
    root: Path,
    kills: int,
    reference: Path,
    *,
    days: tuple[str, str],
    entities: dict[str, list[Any]],
    seed: int = 7,
) -> Outcome:
    """Kill ``features materialize`` mid-load, then the feature server mid-traffic, ``kills`` times in all.

    After the materialize kills a complete rerun must leave the online store equal to the offline
    store (``features skew`` exits 0). The server, killed while answering lookups and started again,
    must give the same values as before: a lookup answered differently counts as lost.
    """
    rng = random.Random(seed)
    began = time.monotonic()
    lake, log = root / "feature-store" / "lake", root / "feature-store.log"
    shutil.copytree(reference, lake)
    _run(["features", "apply", "--no-yaml"], lake, log)
    outcome = Outcome("feature-store")
    load = ["features", "materialize", "--from", days[0], "--to", days[1]]
    # A clean load first, timed: start-up until Feast says "Materializing", then the load itself.
    # Half the kills fall anywhere in a run, the other half inside the load.
    marker = b"Materializing"
    seen, began_load = _lines(log, marker), time.monotonic()
    clean = _start(load, lake, log)
    while _lines(log, marker) == seen and clean.poll() is None:
        time.sleep(0.05)
    loading = time.monotonic()
    if clean.wait(timeout=1800) != 0:
        raise RuntimeError(f"featurelake {' '.join(load)} failed:\n{log.read_text()[-3000:]}")
    whole, load_s = time.monotonic() - began_load, time.monotonic() - loading
    _kill_at_random(
        load,
        lake,
        log,
        rng,
        kills - kills // 2,
        outcome,
        progress=marker,
        first_s=(0.5, 0.95 * whole),
        after_progress_s=(0.0, 0.9 * load_s),
        repeatable=True,
    )
    _run(load, lake, log)
    skew = _start(["features", "skew", "--sample", "200"], lake, log)
    if skew.wait(timeout=600) != 0:
        outcome.lost += 1
        outcome.doctor_errors.append(
            f"online and offline disagree after the reruns: {log.read_text()[-2000:]}"
        )
    body = {"feature_service": "delay_model_v1", "entities": entities}
    port = free_port()
    token = server_token(_env(lake), "ml_service")
    before: dict[str, Any] | None = None
    for _ in range(kills // 2):
        server = _start(["serve", "--port", str(port)], lake, log)
        deadline = time.monotonic() + 180
        answer = _post(port, token, body)
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.3)
            answer = _post(port, token, body)
        if answer is None:
            raise RuntimeError(f"the feature server did not answer:\n{log.read_text()[-3000:]}")
        before = before or answer
        outcome.events += 1
        outcome.lost += answer != before
        stop = time.monotonic() + rng.uniform(0.2, 3.0)
        while time.monotonic() < stop:  # traffic until the kill
            got = _post(port, token, body)
            outcome.events += 1
            outcome.lost += got is not None and got != before
        kill_group(server)
        outcome.kills += 1
    _doctor(lake, outcome, "after the feature store kills")
    outcome.seconds = time.monotonic() - began
    return outcome


def cluster_worker_chaos(
    root: Path, kills: int, reference: Path, *, days: tuple[str, str], seed: int = 7
) -> Outcome:
    """Rebuild ``reference``'s silver and gold on a standalone cluster, losing a worker each time.

    Each of the ``kills`` rounds starts a cluster of two one-core workers, runs the backfill on
    it, SIGKILLs one worker with its executor (a machine lost) at a random moment, and lets the
    backfill finish on the other worker: it must exit 0 and leave gold equal to ``reference``'s.
    ``events`` counts the gold rows compared.
    """
    from featurelake.cluster import ClusterSpec, cluster_down, cluster_up

    rng = random.Random(seed)
    began = time.monotonic()
    lake, log = root / "cluster-worker" / "lake", root / "cluster-worker.log"
    shutil.copytree(reference, lake)
    expected = _gold_digest(lake)
    outcome = Outcome("cluster-worker")
    args = ["backfill", "--from", days[0], "--to", days[1], "--chunk-days", "30"]
    spec = ClusterSpec(
        workers=2, cores=1, memory="2g", port=free_port(), ui_port=free_port(), run_dir=root / "cluster"
    )
    for k in range(kills):
        for folder in REBUILT:
            shutil.rmtree(lake / folder, ignore_errors=True)
        state, _ = cluster_up(spec, timeout=180)
        try:
            proc = _start(args, lake, log, spark_master=spec.master_url)
            deadline = time.monotonic() + rng.uniform(15, 75)
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if proc.poll() is None:
                os.killpg(state.worker_pids[rng.randrange(spec.workers)], signal.SIGKILL)
                outcome.kills += 1
            if proc.wait(timeout=1800) != 0:
                outcome.doctor_errors.append(
                    f"round {k + 1}: the backfill failed after losing a worker:\n{log.read_text()[-2000:]}"
                )
        finally:
            cluster_down(spec.run_dir)
        _doctor(lake, outcome, f"after round {k + 1}")
        got = _gold_digest(lake)
        outcome.events += sum(got.values())
        lost = sum(max(0, n - got.get(t, 0)) for t, n in expected.items())
        duplicated = sum(max(0, got.get(t, 0) - n) for t, n in expected.items())
        if not (lost or duplicated):
            lost = _gold_difference(lake, reference)
        outcome.lost += lost
        outcome.duplicated += duplicated
    outcome.seconds = time.monotonic() - began
    return outcome


def _build_reference(root: Path) -> tuple[Path, tuple[str, str]]:
    """A lake with two months of real flights and weather through ingest, silver and gold."""
    lake, log = root / "reference" / "lake", root / "reference.log"
    built = root / "reference" / "built"
    if built.exists():  # a kept folder (--keep) from an earlier run
        return lake, ("2013-01-01", "2013-03-02")
    shutil.rmtree(root / "reference", ignore_errors=True)
    for ds in ("flights", "weather"):
        _run(["produce", ds, "--from", "2013-01-01", "--to", "2013-03-01"], lake, log)
        _run(["ingest", ds, "--once", "--no-data-docs"], lake, log)
    _run(["load-reference"], lake, log)
    _run(["backfill", "--from", "2013-01-01", "--to", "2013-03-02"], lake, log)
    built.touch()
    return lake, ("2013-01-01", "2013-03-02")


TARGETS: dict[str, Callable[[Path, int], Outcome]] = {
    "file-ingest": file_ingest_chaos,
    "kafka-ingest": kafka_ingest_chaos,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kills in all, shared among the targets")
    parser.add_argument(
        "--targets",
        default="file-ingest,kafka-ingest,backfill,feature-store,cluster-worker",
        help="comma-separated; TARGET:N gives a target its own number of kills (the rest share --kills)",
    )
    parser.add_argument("--seed", type=int, default=7, help="where the kills fall")
    parser.add_argument("--keep", type=Path, help="keep the lakes in this folder (default: a temporary one)")
    args = parser.parse_args(argv)
    chosen: dict[str, int | None] = {}
    for item in (t.strip() for t in args.targets.split(",") if t.strip()):
        name, _, count = item.partition(":")
        if count and not (count.isdigit() and int(count) > 0):
            parser.error(f"{item}: the number of kills after ':' must be a positive integer")
        chosen[name] = int(count) if count else None
    targets = list(chosen)
    on_reference = ("backfill", "feature-store", "cluster-worker")
    unknown = set(targets) - {*TARGETS, *on_reference}
    if unknown or not targets:
        parser.error(f"unknown targets {sorted(unknown)}; use: {', '.join([*TARGETS, *on_reference])}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="featurelake-chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    sharing = [t for t in targets if chosen[t] is None]
    rest = max(0, args.kills - sum(n for n in chosen.values() if n is not None))
    for i, t in enumerate(sharing):
        chosen[t] = rest // len(sharing) + (i < rest % len(sharing))
    share = [chosen[t] or 0 for t in targets]
    outcomes: list[Outcome] = []
    reference: Path | None = None
    days = ("", "")
    try:
        for target, kills in zip(targets, share, strict=True):
            if target in on_reference:
                if reference is None:
                    reference, days = _build_reference(root)
                if target == "backfill":
                    outcomes.append(backfill_chaos(root, kills, reference, days=days, seed=args.seed))
                elif target == "cluster-worker":
                    outcomes.append(cluster_worker_chaos(root, kills, reference, days=days, seed=args.seed))
                else:
                    entities = {"carrier": ["UA", "AA"], "origin": ["EWR", "JFK"], "dest": ["IAH", "LAX"]}
                    entities["tailnum"] = ["N14228", "N24211"]
                    outcomes.append(
                        feature_store_chaos(
                            root, kills, reference, days=days, entities=entities, seed=args.seed
                        )
                    )
            else:
                outcomes.append(TARGETS[target](root, kills))
            print(f"{target}: {asdict(outcomes[-1])}", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    total: dict[str, Any] = {
        k: sum(getattr(o, k) for o in outcomes)
        for k in ("kills", "kills_after_a_batch", "events", "lost", "duplicated", "false_quarantine")
    }
    total["doctor_errors"] = sum(len(o.doctor_errors) for o in outcomes)
    emit(
        "chaos",
        {
            "goal": {"lost": 0, "duplicated": 0, "false_quarantine": 0, "doctor_errors": 0},
            "total": total,
            "targets": [asdict(o) for o in outcomes],
        },
    )
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
