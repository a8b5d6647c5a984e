"""The one place a SparkSession is built.

:func:`get_spark` returns featurelake's session: master from the profile,
workers on this interpreter, UTC, no UI unless asked, shuffle partitions
sized for the machine, and Delta Lake (its SQL extension and catalog), spark-avro
and the Kafka source on the classpath from the JARs ``make setup`` fetched
(:mod:`featurelake.jars`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from featurelake.config import Settings, get_settings
from featurelake.jars import classpath

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "SPARK_LOG_ENV",
    "delta_provider",
    "driver_java_options",
    "get_spark",
    "java_options",
    "jvm_output",
    "stop_spark",
]

_lock = threading.Lock()
_session: SparkSession | None = None


def _log4j_config() -> str:
    return str(resources.files("featurelake").joinpath("log4j2.properties"))


def java_options(settings: Settings) -> str:
    """The JVM options of every Spark driver and executor featurelake starts."""
    base = f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{_log4j_config()}"
    return f"{base} {settings.spark_java_options}".strip()


def driver_java_options(settings: Settings) -> str:
    """:func:`java_options`, and the class archive of Spark when ``make setup`` wrote one
    (:mod:`featurelake.cds`): drivers only, since a cluster's executors run another classpath."""
    from featurelake.cds import driver_options

    return f"{java_options(settings)} {driver_options(settings)}".strip()


def _conf(settings: Settings, app_name: str) -> dict[str, str]:
    from featurelake.governance.audit import commit_metadata
    from featurelake.governance.pseudonyms import PAD_REDACTION

    java_opts = java_options(settings)
    conf = {
        "spark.master": settings.spark_master,
        "spark.app.name": app_name,
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": driver_java_options(settings),
        "spark.executor.extraJavaOptions": java_opts,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.ui.enabled": str(settings.spark_ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.default.parallelism": str(settings.shuffle_partitions),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.executorEnv.PYSPARK_PYTHON": sys.executable,
        "spark.executorEnv.TZ": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "65536",
        "spark.log.structuredLogging.enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # pools share the executors fairly: the online feature query's small jobs take the next
        # free task slot instead of queueing behind a running ingest's (one FIFO pool by default)
        "spark.scheduler.mode": "FAIR",
        # Delta replays a table's log with this many tasks (default 50) for every write that needs
        # the table's state (overwrites, txn-tagged appends). ops and quarantine tables get a commit
        # per batch, and 50 tiny tasks per snapshot made each small write ~4x slower; on one machine
        # one task replays our logs fastest (a 2,000-row txn append: 2.0 s against 2.9 s with 4).
        "spark.databricks.delta.snapshotPartitions": (
            "1" if settings.spark_master.startswith("local") else str(settings.shuffle_partitions)
        ),
        # Delta's VACUUM lists a table's folders in one Spark job of this many tasks (Spark's
        # default: 10,000). On a laptop that made VACUUM of a 20-file table take 60-80 s, all of
        # it scheduling empty tasks; the shuffle width is the parallelism this session has.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.shuffle_partitions),
        # the HMAC pads of silver's pseudonyms are binary literals of its plans: never print them
        "spark.sql.redaction.string.regex": PAD_REDACTION,
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.warehouse.dir": os.path.join(str(settings.lake), ".spark-warehouse"),
        # every commit names who made it and with which command (DESCRIBE HISTORY's userMetadata;
        # a write that sets its own, such as the reference loads, keeps that)
        "spark.databricks.delta.commitInfo.userMetadata": json.dumps(commit_metadata(), sort_keys=True),
        # Hadoop sets the mode of what it writes from its own umask (022), not the process's:
        # files are the owner's alone, or also the share group's (featurelake.governance.files)
        "spark.hadoop.fs.permissions.umask-mode": "077" if settings.share_group is None else "027",
        # Local files through Hadoop's raw local file system, without the checksummed one's hidden
        # `.<name>.crc` beside every file. Without Hadoop's native library, Hadoop sets each new
        # file's mode (the umask above) by forking `chmod`, and the sidecar cost a second fork: a
        # daily table's 300-partition write spent most of its time there (8.6 s -> 6.5 s without
        # sidecars). Parquet keeps its own page checksums and Delta its `_delta_log/N.crc`.
        "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
        # Streaming checkpoints (offsets, commits, source logs) through Hadoop's FileSystem API.
        # Spark's default goes through FileContext, whose rename asks the local file system for
        # the link status of both paths, which Hadoop gets by forking `readlink` when it has no
        # native library. That was ~60 ms of each of the two log writes per micro-batch (8 ms
        # each this way), a third of the online feature query's batch.
        # The lake is a local (or mounted) file system, where rename(2) is atomic, and files get
        # the process's umask (featurelake.governance.files).
        "spark.sql.streaming.checkpointFileManagerClass": (
            "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"
        ),
        # Delta Lake, spark-avro and the Kafka source, from the JARs `make setup` fetched once;
        # spark.jars also ships them to every executor of a cluster.
        "spark.jars": ",".join(str(p) for p in classpath(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }
    if _loopback_master(settings.spark_master):
        # Executors fetch spark.jars/files from the driver: keep that on loopback, whatever the
        # machine's hostname resolves to. A standalone master on loopback (`featurelake cluster up`)
        # runs its executors on this machine too, and they must reach the driver at an address
        # they can connect to; by default the driver advertises the hostname, which on many
        # laptops resolves to a LAN or VPN address the loopback-bound cluster cannot use.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    return conf


def _loopback_master(master: str) -> bool:
    """Whether every executor of ``master`` runs on this machine, reachable over loopback."""
    if master.startswith("local"):
        return True
    if not master.startswith("spark://"):
        return False
    hosts = [hp.rsplit(":", 1)[0].strip("[]") for hp in master[len("spark://") :].split(",")]
    return all(h == "localhost" or h == "::1" or h.startswith("127.") for h in hosts)


def _submitted_conf() -> set[str]:
    """The keys spark-submit set (``--conf``, ``spark-defaults.conf``): JVM system properties."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM (PYSPARK_GATEWAY_PORT)
    return {key for key, _ in SparkConf().getAll()}


def delta_provider(spark: SparkSession) -> Literal["native", "none"]:
    """Which implementation ``format("delta")`` resolves to in this session.

    ``native`` when the JVM has Delta Lake's ``delta`` source, ``none`` otherwise.
    """
    jvm: Any = spark._jvm
    try:
        cls = jvm.org.apache.spark.sql.execution.datasources.DataSource.lookupDataSource(
            "delta",
            spark._jsparkSession.sessionState().conf(),
        )
    except Exception:  # Py4J wraps DATA_SOURCE_NOT_FOUND; any failure means "not in the JVM"
        return "none"
    return "native" if cls.getName().startswith("org.apache.spark.sql.delta") else "none"


def get_spark(
    app_name: str = "featurelake",
    *,
    settings: Settings | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return featurelake's SparkSession, building it on the first call.

    Args:
        app_name: Spark application name (only used when the session is built).
        settings: the configuration; :func:`featurelake.config.get_settings` when omitted.
        conf: extra Spark settings that win over featurelake's (e.g. ``spark.jars``).

    Returns:
        The session, with ``format("delta")`` and Delta SQL resolving to Delta Lake, and every
        table of the lake registered by name (``gold.plane``; :mod:`featurelake.lakehouse`).
    """
    global _session
    with _lock:
        if _session is not None and not _session.sparkContext._jsc.sc().isStopped():
            return _session
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            # Someone else's session: use it as it is (it must have Delta's JARs and extension).
            return active
        settings = settings or get_settings()
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        values = _conf(settings, app_name)
        if os.environ.get("PYSPARK_GATEWAY_PORT"):
            # Launched by spark-submit (e.g. Airflow's SparkSubmitOperator): its --master, --name
            # and memory settings stand; featurelake only adds what the job needs. So does every
            # --conf it was given: on YARN or Kubernetes, spark.pyspark.python names the shipped
            # environment (./env/bin/python), not this driver's interpreter path.
            for key in ("spark.master", "spark.app.name", "spark.driver.memory", *_submitted_conf()):
                values.pop(key, None)
        values.update(conf or {})
        builder = SparkSession.builder
        for key, value in values.items():
            builder = builder.config(key, value)
        from pyspark import SparkContext

        if SparkContext._gateway is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
            with jvm_output(_jvm_log(settings, app_name)):
                spark = builder.getOrCreate()
        else:
            spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        _session = spark
        if settings.spark_ui and spark.sparkContext.uiWebUrl:
            # where to look while the command runs (`featurelake --spark-ui ...`); gone when it ends
            print(f"Spark UI: {spark.sparkContext.uiWebUrl}", file=sys.stderr, flush=True)
        from featurelake.lakehouse import register_tables

        register_tables(spark, settings)  # the lake's tables by name in Spark SQL (~20 ms a table)
        return spark


SPARK_LOG_ENV = "FEATURELAKE_SPARK_LOG"
"""Where the JVM's own output goes: a file, ``-`` for the terminal (``featurelake -v``), or unset
for ``<lake>/logs/spark/<app>.log``."""


def _jvm_log(settings: Settings, app_name: str) -> str | None:
    """The file the JVM's stderr goes to; None keeps it on the terminal."""
    chosen = os.environ.get(SPARK_LOG_ENV)
    if chosen == "-":
        return None
    if chosen:
        return chosen
    for folder in (Path(settings.lake) / "logs" / "spark", Path(tempfile.gettempdir()) / "featurelake-spark"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{app_name}.log"
            path.touch()
            return str(path)
        except OSError:
            continue
    return None


@contextmanager
def jvm_output(target: str | None) -> Iterator[None]:
    """Start a JVM inside this block to have its stdout and stderr go to ``target``.

    The JVM writes straight to the file descriptors 1 and 2 it inherits, past any Python setting,
    and keeps the files it was started with: Spark's log and the JDK's notices on stderr, and what
    Scala code ``println``s on stdout (Delta's VACUUM prints "Deleted N files and directories ..."
    per table). Python's own ``sys.stdout`` and ``sys.stderr`` stay on the terminal throughout, and
    both descriptors are restored when the block ends. ``target`` None leaves everything as it is.
    """
    if target is None:
        yield
        return
    streams = {1: "stdout", 2: "stderr"}
    for name in streams.values():
        getattr(sys, name).flush()
    saved = {fd: os.dup(fd) for fd in streams}
    python = {name: getattr(sys, name) for name in streams.values()}
    redirected = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminals = {
        fd: open(saved[fd], "w", closefd=False, encoding="utf-8", errors="replace") for fd in streams
    }
    try:
        for fd, name in streams.items():
            setattr(sys, name, terminals[fd])
            os.dup2(redirected, fd)
        yield
    finally:
        for fd, name in streams.items():
            terminals[fd].flush()
            setattr(sys, name, python[name])
            os.dup2(saved[fd], fd)
            terminals[fd].close()
            os.close(saved[fd])
        os.close(redirected)


def stop_spark() -> None:
    """Stop featurelake's session, if it built one."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
