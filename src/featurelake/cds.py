"""A class-data-sharing archive of Spark's classes, so that each Spark driver starts in about half the CPU.

A Spark driver loads and verifies some ten thousand classes of Spark, Scala and Hadoop before it
runs anything: on a 2-core laptop about 20 CPU-seconds of every ``featurelake`` command that
starts Spark. The JVM can map those classes, already parsed and verified, from an archive written
once (`AppCDS <https://openjdk.org/jeps/350>`_). ``make setup`` writes it
(``python -m featurelake.cds build``) by running a small Delta workload in a driver started with
``-XX:ArchiveClassesAtExit``; :func:`driver_options` adds ``-XX:SharedArchiveFile`` to every
driver featurelake starts when an archive for this Java and this Spark exists.

The archive is keyed by the Java that Spark will launch (``JAVA_HOME``, else ``java`` on the
``PATH``) and by Spark's own JARs; another Java or another pyspark simply finds none and starts as
before. The JVM checks the archive itself too, and runs without it (silently: its warnings are
turned off) when it does not match. Only the JARs on the JVM's classpath are archived (Spark's);
Delta's, added at run time, load as usual.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from featurelake.config import Settings, get_settings

__all__ = ["archive_path", "build", "driver_options"]

QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
"""A JVM that cannot use the archive says so on stdout; it then runs as if none were given."""


def _java() -> Path | None:
    """The ``java`` that spark-submit launches: ``$JAVA_HOME/bin/java``, else the one on the PATH."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return Path(os.path.realpath(found)) if found and os.path.exists(found) else None


@lru_cache(maxsize=8)
def _key(java: Path, java_stamp: tuple[int, int], jars_dir: str) -> str:
    digest = hashlib.sha256(f"{java}:{java_stamp}".encode())
    for name in sorted(os.listdir(jars_dir)):
        st = os.stat(os.path.join(jars_dir, name))
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _spark_jars() -> str:
    """Spark's own JARs: those of the Spark that launches the driver (spark-submit sets
    ``SPARK_HOME``; under it ``import pyspark`` finds ``pyspark.zip``, which holds none)."""
    from pyspark.find_spark_home import _find_spark_home

    return os.path.join(_find_spark_home(), "jars")


def archive_path(settings: Settings | None = None) -> Path | None:
    """Where this Java's and this Spark's archive is (whether or not it exists); None without a Java."""
    java = _java()
    if java is None:
        return None
    try:
        st = java.stat()
        key = _key(java, (st.st_size, st.st_mtime_ns), _spark_jars())
    except OSError:  # no Spark JARs to key on: no archive, the driver starts as it would without
        return None
    return (settings or get_settings()).jars_dir / "cds" / f"spark-{key}.jsa"


def driver_options(settings: Settings) -> str:
    """The JVM options that map the archive, or "" when there is none for this Java and Spark."""
    path = archive_path(settings)
    if path is None or not path.is_file():
        return ""
    return f"-XX:SharedArchiveFile={path} {QUIET}"


DRIVER = """
import sys
from pyspark import SparkContext
from featurelake.config import get_settings
from featurelake.spark import get_spark, java_options

settings = get_settings()
options = f"{java_options(settings)} {sys.argv[1]}"
spark = get_spark("featurelake-cds", settings=settings, conf={"spark.driver.extraJavaOptions": options})
if len(sys.argv) > 2:  # the workload whose classes are archived, then a normal exit that writes it
    table = sys.argv[2]
    rows = spark.range(1000).selectExpr("id", "cast(id % 7 as string) as k", "current_date() as d")
    rows.write.format("delta").partitionBy("d").mode("overwrite").save(table)
    spark.sql(f"MERGE INTO delta.`{table}` t USING (SELECT 1 AS id, '9' AS k) s ON t.id = s.id "
              "WHEN MATCHED THEN UPDATE SET k = s.k")
    spark.read.format("delta").load(table).groupBy("k").count().orderBy("k").collect()
    spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
    process = SparkContext._gateway.proc
    jvm = spark.sparkContext._jvm
    spark.stop()
    try:
        jvm.java.lang.System.exit(0)  # the archive is written when the JVM exits normally
    except Exception:
        pass
    process.wait(timeout=300)
"""
"""A driver started as featurelake starts one, with extra JVM options (argv 1); given a table
path (argv 2), it runs a small Delta workload and exits the JVM normally."""


def build(settings: Settings | None = None) -> Path | None:
    """Write the archive for this Java and Spark (about a minute), check that a driver maps it.

    Returns:
        The archive, or None when there is no Java or the JVM would not use what it wrote
        (drivers then start without one, as before).
    """
    settings = settings or get_settings()
    path = archive_path(settings)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="featurelake-cds-") as work:
        written = Path(work) / "spark.jsa"
        env = {
            **os.environ,
            "FEATURELAKE_LAKE": str(Path(work) / "lake"),
            "FEATURELAKE_SPARK_LOG": str(Path(work) / "jvm.log"),
        }
        dumped = subprocess.run(
            [sys.executable, "-c", DRIVER, f"-XX:ArchiveClassesAtExit={written}", str(Path(work) / "table")],
            env=env,
            capture_output=True,
            timeout=900,
        )
        if dumped.returncode != 0 or not written.is_file():  # an optimisation: set-up goes on without
            return None
        # a driver started with -Xshare:on fails, rather than running without it, unless it maps
        # the archive: Spark's own launch (its classpath) must match what was recorded
        check = subprocess.run(
            [sys.executable, "-c", DRIVER, f"-Xshare:on -XX:SharedArchiveFile={written}"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        if check.returncode != 0:
            return None
        for old in path.parent.glob("spark-*.jsa"):  # another Java's or Spark's
            old.unlink()
        shutil.move(str(written), path)
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m featurelake.cds build")
    made = build()
    print(f"Spark class archive: {made}" if made else "Spark class archive: none (drivers start without one)")
