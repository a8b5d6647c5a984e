"""Landing -> bronze with all validation, against a bare decode-and-write-Parquet baseline.

The same landed files (``--events`` synthetic flights, ``--bad-rate`` of them
bad, every kind of bad file included) are processed, in the same run, by:

- ``baseline``: ``binaryFile`` -> the same fastavro-to-Arrow decoder
  (:func:`featurelake.avro.decode_file` inside ``mapInArrow``) -> Spark's Parquet
  writer, partitioned by ``event_date``; no checks, no Delta, no quarantine;
- ``baseline_in_task``: ``binaryFile`` -> the same decoder, and the same task writes
  every decoded record with pyarrow (the ``delta`` writer's executor code,
  partitioned by ``event_date``, zstd): the bare form of what the ingest's direct
  path does, so the ratio is also taken against it;
- ``ingest``: ``featurelake ingest --once`` (Structured Streaming, the full
  ``flights_bronze`` suite, bronze + quarantine + ops tables, exactly-once);
- ``ingest_no_checks``: the same with an empty suite, so that
  ``validation_share = 1 - ingest_no_checks / ingest`` (wall time) is what the checks cost.

Each figure is the median of ``--repeats`` runs on a fresh lake, after one
unmeasured warm-up of each on a single file; the machine's load average is
recorded around every run (the development machine is shared). The ratio is
taken against the faster baseline. Goals: ingest >= 100k events/s on 2 cores,
ratio ingest/baseline >= 0.5, validation share <= 0.2.

    python -m benchmarks.ingest [--events 2000000] [--repeats 3] [--bad-rate 0.001]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._common import emit, median

if TYPE_CHECKING:
    import pyarrow as pa


class DecodeAndWrite:
    """``mapInArrow`` function of ``baseline_in_task``: decode each file, write every record to Parquet.

    Runs on executors; yields one row per task with the number of records written.
    """

    def __init__(self, reader: dict[str, Any], event_time: str, root: str) -> None:
        self.reader = reader
        self.event_time = event_time
        self.root = root

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import uuid

        import pyarrow as pa

        from featurelake.avro import AvroFileError, arrow_schema, decode_file
        from featurelake.delta._files import PartitionedFileWriter
        from featurelake.ingest.decode import event_dates

        data = arrow_schema(self.reader)
        schema = data.append(pa.field("event_date", pa.date32()))
        out = PartitionedFileWriter(
            self.root, schema, ["event_date"], file_prefix=f"part-{uuid.uuid4().hex}", target_bytes=128 << 20
        )
        n = 0
        for batch in batches:
            for content in batch.column("content").to_pylist():
                try:
                    table = decode_file(content or b"", self.reader, data)
                except AvroFileError:
                    continue
                if table.num_rows:
                    dates = event_dates(table.column(self.event_time))
                    out.write(
                        pa.RecordBatch.from_arrays(
                            [*(c.combine_chunks() for c in table.columns), dates], schema=schema
                        )
                    )
                    n += table.num_rows
        out.close()
        yield pa.RecordBatch.from_arrays([pa.array([n], pa.int64())], names=["records"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bad-rate", type=float, default=0.001)
    parser.add_argument("--records-per-file", type=int, default=20_000)
    parser.add_argument("--max-files-per-batch", type=int, default=25)
    parser.add_argument("--codec", default="deflate", choices=["deflate", "null"])
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from featurelake.avro import load_schema
    from featurelake.config import get_settings
    from featurelake.ingest.decode import RECORD_ROW, Decoder, decoded_ddl, record_columns
    from featurelake.ingest.stream import BINARY_FILE_SCHEMA, run_ingest
    from featurelake.ingest.synthetic import produce_synthetic
    from featurelake.quality.suites import expectations_dir
    from featurelake.spark import get_spark

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    base = get_settings().model_copy(update={"lake": work / "home", "landing": work / "landing"})
    spark = get_spark("bench-ingest", settings=base)
    try:
        started = time.perf_counter()
        produced = produce_synthetic(
            "flights",
            args.events,
            bad_rate=args.bad_rate,
            seed=42,
            records_per_file=args.records_per_file,
            settings=base,
            codec=args.codec,
        )
        produce_s = time.perf_counter() - started
        landing = str(base.landing_dir / "flights")
        reader = load_schema("flights")
        cols = record_columns(reader)
        empty = work / "no-checks"
        empty.mkdir()
        suite = json.loads((expectations_dir() / "flights_bronze.json").read_text())
        (empty / "flights_bronze.json").write_text(json.dumps({**suite, "expectations": []}))

        loads: dict[str, list[float]] = {}

        def load(kind: str) -> None:
            loads.setdefault(kind, []).append(round(os.getloadavg()[0], 2))

        def baseline(run: int | str, folder: str = landing) -> float:
            out = work / f"baseline-{run}"
            load("baseline")
            t = time.perf_counter()
            raw = spark.read.format("binaryFile").schema(BINARY_FILE_SCHEMA).load(folder)
            decoded = raw.mapInArrow(Decoder(reader, "sched_dep_ts"), decoded_ddl(reader))
            records = decoded.where(F.col("_kind") == RECORD_ROW).select(*cols, "event_date")
            records.write.partitionBy("event_date").parquet(str(out))
            seconds = time.perf_counter() - t
            shutil.rmtree(out, ignore_errors=True)
            return seconds

        def baseline_in_task(run: int | str, folder: str = landing) -> float:
            out = work / f"baseline-in-task-{run}"
            load("baseline_in_task")
            t = time.perf_counter()
            raw = spark.read.format("binaryFile").schema(BINARY_FILE_SCHEMA).load(folder)
            raw.mapInArrow(DecodeAndWrite(reader, "sched_dep_ts", str(out)), "records bigint").collect()
            seconds = time.perf_counter() - t
            shutil.rmtree(out, ignore_errors=True)
            return seconds

        phases: dict[str, list[float]] = {}
        paths: set[str] = set()

        def ingest(
            run: int | str, expectations: Path | None, landing_root: Path | None = None
        ) -> tuple[float, dict[str, Any]]:
            update: dict[str, Any] = {"lake": work / f"lake-{run}-{'x' if expectations else 'v'}"}
            if landing_root is not None:
                update["landing"] = landing_root
            settings = base.model_copy(update=update)
            load("ingest_no_checks" if expectations else "ingest")
            t = time.perf_counter()
            result = run_ingest(
                "flights",
                settings=settings,
                spark=spark,
                max_files_per_batch=args.max_files_per_batch,
                expectations=expectations,
            )
            seconds = time.perf_counter() - t
            if expectations is None and landing_root is None:
                for b in result.batches:
                    for k, v in b.phases.items():
                        phases.setdefault(k, []).append(v)
                    paths.add(b.path)
            shutil.rmtree(settings.lake, ignore_errors=True)
            return seconds, result.totals

        # Warm up the JVM, the JIT and the Python workers on one file, unmeasured.
        warm = work / "warm-landing"
        (warm / "flights").mkdir(parents=True)
        first = next(p for p in produced.files if p.stat().st_size > 0)
        shutil.copy(first, warm / "flights" / first.name)
        baseline("warm", str(warm / "flights"))
        baseline_in_task("warm", str(warm / "flights"))
        ingest("warm", None, warm)
        ingest("warm", empty, warm)

        loads.clear()
        times: dict[str, list[float]] = {
            "baseline": [],
            "baseline_in_task": [],
            "ingest": [],
            "ingest_no_checks": [],
        }
        totals: dict[str, Any] = {}
        for run in range(args.repeats):
            times["baseline"].append(baseline(run))
            times["baseline_in_task"].append(baseline_in_task(run))
            seconds, totals = ingest(run, None)
            times["ingest"].append(seconds)
            times["ingest_no_checks"].append(ingest(run, empty)[0])
        events = totals["records_in"]
        med = {k: median(v) for k, v in times.items()}
        eps = {k: events / v for k, v in med.items()}
        phase_totals = {k: round(sum(v) / args.repeats, 2) for k, v in phases.items()}
        emit(
            "ingest",
            {
                "events": events,
                "files": len(produced.files),
                "bronze_rows": totals["bronze_rows"],
                "quarantined_rows": totals["quarantined_rows"],
                "repeats": args.repeats,
                "codec": args.codec,
                "seconds_median": {k: round(v, 2) for k, v in med.items()},
                "seconds_all": {k: [round(x, 2) for x in v] for k, v in times.items()},
                "events_per_s": {k: round(v) for k, v in eps.items()},
                "ratio_ingest_to_baseline": round(
                    eps["ingest"] / max(eps["baseline"], eps["baseline_in_task"]), 3
                ),
                "ratio_ingest_to_each_baseline": {
                    k: round(eps["ingest"] / eps[k], 3) for k in ("baseline", "baseline_in_task")
                },
                "validation_share": round(max(0.0, 1 - med["ingest_no_checks"] / med["ingest"]), 3),
                "ingest_phase_seconds_per_run": phase_totals,
                "ingest_path": sorted(paths),
                "load_average_1m_at_start": loads,
                "max_files_per_batch": args.max_files_per_batch,
                "produce_seconds": round(produce_s, 1),
                "goals": {"ingest_events_per_s": 100_000, "ratio": 0.5, "validation_share": 0.2},
            },
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
