"""The ingest query: Spark Structured Streaming from ``landing/<dataset>/`` to bronze.

The ``binaryFile`` source lists the landing folder (names starting with ``.``
or ``_`` are skipped, so half-written files are never seen) and remembers
every path it has handed out in the checkpoint: a file is ingested once, and
a file landed again *under the same name* is not read again. The same bytes
landed under a new name are a new file: bronze keeps both copies (silver
deduplicates) and ``ops.ingest_files.duplicate_of`` / ``ops.ingest_log.duplicate_files``
say so.

Each micro-batch's files go to :class:`featurelake.ingest.batch.BatchProcessor`
(``foreachBatch``): inspected, decoded by Spark's Avro reader, checked with
Spark expressions and written with native Delta in the batch's transaction.

``once`` processes what is there and stops (``availableNow``); ``continuous``
polls on a processing-time trigger until stopped (SIGTERM or Ctrl-C stop it
between batches). Checkpoints live in ``<lake>/_checkpoints/ingest/<dataset>``.
Runs on the driver.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from featurelake.avro import load_schema
from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError, ValidationFailedError
from featurelake.ingest.batch import BatchProcessor, BatchReport
from featurelake.ingest.contracts import contract
from featurelake.ingest.landing import landing_folder
from featurelake.quality.suites import load_suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import DataStreamWriter, StreamingQuery

__all__ = [
    "BINARY_FILE_SCHEMA",
    "IngestError",
    "IngestRun",
    "await_query",
    "batch_files",
    "check_mode",
    "checkpoint_dir",
    "query_id",
    "query_name",
    "run_ingest",
    "with_trigger",
]

BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"


class IngestError(FeaturelakeError):
    """The ingest query stopped on an error other than a failed expectation."""


@dataclass
class IngestRun:
    """What one ``featurelake ingest`` run did."""

    dataset: str
    query_name: str
    checkpoint: Path
    batches: list[BatchReport] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        """Files, records in, bronze rows and quarantined rows over every batch of the run."""
        keys = (
            "files",
            "files_quarantined",
            "duplicate_files",
            "records_in",
            "bronze_rows",
            "quarantined_rows",
        )
        return {k: sum(getattr(b, k) for b in self.batches) for k in keys}


def query_name(dataset: str) -> str:
    """The streaming query's name, also the prefix of its Delta transaction app id."""
    return f"ingest_{dataset}"


def checkpoint_dir(dataset: str, settings: Settings | None = None) -> Path:
    """``<lake>/_checkpoints/ingest/<dataset>``."""
    return (settings or get_settings()).lake / "_checkpoints" / "ingest" / dataset


def query_id(checkpoint: Path) -> str:
    """The streaming query's id, which Spark keeps in its checkpoint for the checkpoint's life."""
    # Spark writes {"id": ...} when the query first starts; the id lives as long as the checkpoint.
    with open(checkpoint / "metadata") as f:
        return str(json.loads(f.readline())["id"])


def batch_files(checkpoint: Path, batch_id: int) -> list[tuple[str, int]]:
    """(path, modification ms) of every file Spark's file source assigned to ``batch_id``.

    Read from the source's own log in the checkpoint, which Spark writes before the batch
    runs. It is the only complete list: the scan silently drops empty files.
    """
    folder = checkpoint / "sources" / "0"
    plain = folder / str(batch_id)
    candidates = [plain] if plain.exists() else []
    if not candidates:
        compacts = sorted(
            (int(p.name.split(".")[0]), p) for p in folder.glob("*.compact") if p.name.split(".")[0].isdigit()
        )
        candidates = [p for n, p in compacts if n >= batch_id][:1]
    out = []
    for path in candidates:
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                entry = json.loads(line)
                if int(entry.get("batchId", batch_id)) == batch_id:
                    out.append((str(entry["path"]), int(entry.get("timestamp", 0))))
    return out


def run_ingest(
    dataset: str,
    *,
    mode: Literal["once", "continuous"] = "once",
    settings: Settings | None = None,
    spark: SparkSession | None = None,
    interval_s: float = 5.0,
    max_files_per_batch: int | None = None,
    expectations: str | Path | None = None,
    schemas: str | Path | None = None,
    timeout_s: float | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> IngestRun:
    """Ingest ``landing/<dataset>/`` into ``bronze.<dataset>`` exactly once.

    Args:
        dataset: ``flights`` or ``weather``.
        mode: ``once`` (what is there now, then stop) or ``continuous``.
        settings: lake and landing zone; from the environment when omitted.
        spark: the session; featurelake's when omitted.
        interval_s: the processing-time trigger of ``continuous``.
        max_files_per_batch: files per micro-batch (Spark's ``maxFilesPerTrigger``); all when None.
        expectations: folder of the suites (default: the repository's ``expectations/``).
        schemas: folder of the Avro schemas (default: the repository's ``schemas/``).
        timeout_s: stop ``continuous`` after this many seconds (None: until SIGTERM/Ctrl-C).
        on_batch: called with each batch's report as it finishes.

    Returns:
        The batches this run processed.

    Raises:
        ValidationFailedError: a ``fail`` expectation stopped a batch (nothing of it was written).
        IngestError: the query failed for another reason.
        ValueError: bad arguments.
    """
    from featurelake.spark import get_spark

    c = contract(dataset)
    check_mode(mode, interval_s)
    settings = settings or get_settings()
    spark = spark or get_spark("featurelake-ingest", settings=settings)
    catalog = Catalog(settings=settings)
    for name in (c.bronze_table, "quarantine.records"):
        catalog.ensure(name, spark)
    name = query_name(dataset)
    checkpoint = checkpoint_dir(dataset, settings)
    processor = BatchProcessor(
        c,
        load_schema(dataset, schemas),
        load_suite(c.suite, expectations),
        catalog,
        query_name=name,
        listed_files=lambda batch_id: batch_files(checkpoint, batch_id),
        on_report=on_batch,
    )
    run = IngestRun(dataset, name, checkpoint)

    def process(df: DataFrame, batch_id: int) -> None:
        if not processor.app_id:
            processor.app_id = f"{name}@{query_id(checkpoint)}"
        processor(df, batch_id)

    reader = spark.readStream.format("binaryFile").schema(BINARY_FILE_SCHEMA)
    if max_files_per_batch is not None:
        if max_files_per_batch < 1:
            raise ValueError(f"max files per batch must be >= 1, got {max_files_per_batch}")
        reader = reader.option("maxFilesPerTrigger", str(max_files_per_batch))
    stream = reader.load(str(landing_folder(dataset, settings)))
    writer = (
        stream.writeStream.queryName(name).option("checkpointLocation", str(checkpoint)).foreachBatch(process)
    )
    writer = with_trigger(writer, mode, interval_s)
    try:
        await_query(writer.start(), dataset, processor, continuous=mode == "continuous", timeout_s=timeout_s)
    finally:
        run.batches = list(processor.reports)
    return run


def check_mode(mode: str, interval_s: float) -> None:
    """Refuse a run mode other than ``once``/``continuous`` or a non-positive trigger interval.

    Raises:
        ValueError: naming the bad argument.
    """
    if mode not in ("once", "continuous"):
        raise ValueError(f"mode must be 'once' or 'continuous', got {mode!r}")
    if interval_s <= 0:
        raise ValueError(f"interval must be > 0 seconds, got {interval_s}")


def with_trigger(writer: DataStreamWriter, mode: str, interval_s: float) -> DataStreamWriter:
    """``availableNow`` for ``once`` (what is there, then stop), a processing-time trigger otherwise."""
    if mode == "once":
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=f"{int(interval_s * 1000)} milliseconds")


class _Processor(Protocol):
    failure: ValidationFailedError | None


def await_query(
    query: StreamingQuery, dataset: str, processor: _Processor, *, continuous: bool, timeout_s: float | None
) -> None:
    """Wait for an ingest query: to its end (``once``), or until SIGTERM/Ctrl-C or ``timeout_s``.

    Raises:
        ValidationFailedError: the processor stopped a batch on a ``fail`` check.
        IngestError: the query failed for another reason.
    """
    from pyspark.errors import StreamingQueryException

    stop = threading.Event()
    restore = _stop_on_signals(stop) if continuous else {}
    try:
        waited = 0
        while query.isActive:
            if stop.is_set() or (timeout_s is not None and waited >= timeout_s):
                query.stop()
                break
            query.awaitTermination(1)
            waited += 1
        query.awaitTermination()
    except StreamingQueryException as e:
        if processor.failure is not None:
            raise processor.failure from None
        raise IngestError(f"ingest of {dataset} failed: {_first_line(str(e))}") from e
    finally:
        for sig, handler in restore.items():
            signal.signal(sig, handler)
    if processor.failure is not None:
        raise processor.failure


def _stop_on_signals(stop: threading.Event) -> dict[Any, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    restore = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        restore[sig] = signal.getsignal(sig)
        signal.signal(sig, lambda *_: stop.set())
    return restore


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:500]
    return text[:500]
