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
import os
import signal
import threading
import time
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


def _source_offset(checkpoint: Path, batch_id: int) -> int | None:
    """The file source's own batch number that query batch ``batch_id`` read up to (its ``logOffset``).

    The two numberings agree until a kill lands between the source logging a batch and the
    query logging its offsets; from then on the source runs ahead (``offsets/36`` holding
    ``{"logOffset":37}``). The query's offsets log is what the batch actually consumed.
    """
    path = checkpoint / "offsets" / str(batch_id)
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    for line in lines[2:3]:  # "v1", the batch metadata, then one line per source
        if line.strip().startswith("{"):
            return int(json.loads(line)["logOffset"])
    return None


def _file_uri(path: str) -> str:
    """``file:///x`` as ``file:/x``: the spelling Spark's scan (and so bronze) gives a local file."""
    return "file:/" + path[len("file:///") :] if path.startswith("file:///") else path


def batch_files(checkpoint: Path, batch_id: int) -> list[tuple[str, int]]:
    """(path, modification ms) of every file Spark's file source handed to query batch ``batch_id``.

    Those are the source's log entries after the previous batch's ``logOffset`` up to this
    batch's (:func:`_source_offset`), which Spark writes before the batch runs. It is the only
    complete list: the scan silently drops empty files.
    """
    end = _source_offset(checkpoint, batch_id)
    if end is None:
        end = batch_id
    start = _source_offset(checkpoint, batch_id - 1) if batch_id > 0 else -1
    if start is None:
        start = end - 1
    folder = checkpoint / "sources" / "0"
    wanted = range(start + 1, end + 1)
    candidates = [folder / str(n) for n in wanted if (folder / str(n)).exists()]
    if len(candidates) < len(wanted):
        compacts = sorted(
            (int(p.name.split(".")[0]), p) for p in folder.glob("*.compact") if p.name.split(".")[0].isdigit()
        )
        candidates += [p for n, p in compacts if n >= start + 1][:1]
    out: dict[str, tuple[str, int]] = {}
    for path in candidates:
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                entry = json.loads(line)
                if start < int(entry.get("batchId", end)) <= end:
                    uri = _file_uri(str(entry["path"]))
                    out[uri] = (uri, int(entry.get("timestamp", 0)))
    return list(out.values())


def _uri(folder: Path) -> str:
    return f"file://{folder.absolute().as_posix()}/"


def relocate_checkpoint(checkpoint: Path, landing: Path) -> int:
    """Make a checkpoint written under another landing folder usable from ``landing``.

    Spark's file source logs every file it handed out by its absolute URI; a lake copied or
    moved elsewhere (or read under another ``FEATURELAKE_LANDING``) then fails with "Wrong
    basePath". featurelake records the landing folder each checkpoint was written for in
    ``featurelake.json`` beside it; when that differs, the source log's entries are rewritten
    to the same names under the new folder (each file atomically), so files already ingested
    stay ingested.

    Returns:
        How many source log entries were rewritten.
    """
    marker = checkpoint / "featurelake.json"
    new = _uri(landing)
    old: str | None = None
    if marker.exists():
        old = str(json.loads(marker.read_text())["landing"])
    folder = checkpoint / "sources" / "0"
    # the log files themselves, not Hadoop's hidden .<name>.crc checksums beside them
    sources = sorted(p for p in folder.glob("*") if not p.name.startswith(".")) if folder.is_dir() else []
    if old is None:
        # a checkpoint from before the marker: its first entry names the folder it was written for
        for path in sources:
            for line in path.read_text().splitlines():
                if line.startswith("{"):
                    entry = str(json.loads(line)["path"]).replace("file:///", "file:/", 1)
                    old = "file://" + entry[len("file:") :].rsplit("/", 1)[0] + "/"
                    break
            if old is not None:
                break
    rewritten = 0
    if old is not None and old != new:
        for path in sources:
            lines = path.read_text().splitlines(keepends=True)
            out = []
            for line in lines:
                if line.startswith("{"):
                    entry = json.loads(line)
                    spelt = str(entry["path"]).replace("file:///", "file:/", 1)
                    prefix = old.replace("file:///", "file:/", 1)
                    if spelt.startswith(prefix):
                        entry["path"] = new + spelt[len(prefix) :]
                        rewritten += 1
                        line = json.dumps(entry, separators=(",", ":")) + "\n"
                out.append(line)
            tmp = path.with_name(f".{path.name}.relocating")
            tmp.write_text("".join(out))
            os.replace(tmp, path)
            # Hadoop's checksum of the old bytes would fail the read; without one it reads plainly
            path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
    if checkpoint.is_dir() and old != new:
        tmp = marker.with_name(".featurelake.json.tmp")
        tmp.write_text(json.dumps({"landing": new}) + "\n")
        os.replace(tmp, marker)
    return rewritten


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
        dataset: ``flights``, ``weather`` or ``bookings``.
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
        load_suite(c.suite, expectations, settings=settings),
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
    landing = landing_folder(dataset, settings)
    relocate_checkpoint(checkpoint, landing)  # a lake moved, copied, or given another landing folder
    stream = reader.load(str(landing))
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

    A stop waits for the batch in progress to finish (:func:`_stop_between_batches`); a
    second SIGTERM/Ctrl-C stops at once.

    Raises:
        ValidationFailedError: the processor stopped a batch on a ``fail`` check.
        IngestError: the query failed for another reason.
    """
    from pyspark.errors import StreamingQueryException

    stop, now = threading.Event(), threading.Event()
    restore = _stop_on_signals(stop, now) if continuous else {}
    try:
        waited = 0
        while query.isActive:
            if stop.is_set() or (timeout_s is not None and waited >= timeout_s):
                _stop_between_batches(query, now)
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


def _stop_between_batches(query: StreamingQuery, now: threading.Event) -> None:
    """Stop ``query`` once no batch is running (or at once when ``now`` is set).

    ``query.stop()`` interrupts a running batch. That is safe (the next run replays it under
    the same Delta transaction), but the rows it already committed to bronze would be in
    no report and in no ``ops.ingest_log`` row until then: a ``--timeout`` run that stopped
    in its first batch said "0 batches" with the batch's rows in bronze. A trigger that
    starts between the status read and the stop is still interrupted, with the same safety.
    """
    while query.isActive and not now.is_set():
        try:
            running = bool(query.status.get("isTriggerActive"))
        except Exception:  # the query is ending by itself: nothing to wait for
            break
        if not running:
            break
        time.sleep(0.2)
    query.stop()


def _stop_on_signals(stop: threading.Event, now: threading.Event) -> dict[Any, Any]:
    """The first SIGTERM/SIGINT sets ``stop`` (between batches), the next one ``now``."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(*_: object) -> None:
        (now if stop.is_set() else stop).set()

    restore = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        restore[sig] = signal.getsignal(sig)
        signal.signal(sig, handle)
    return restore


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:500]
    return text[:500]
