"""The JARs featurelake runs on the JVM: Spark's additions, and the Kafka broker.

Two lock files pin each artifact (``group:artifact:version``) with its SHA-256:

- ``infra/jars.lock``, the JARs added to pyspark's own: Delta Lake, spark-avro
  and Spark's Kafka source, in ``FEATURELAKE_JARS`` (``<project>/.jars``);
- ``infra/kafka.lock``, the Apache Kafka broker ``featurelake services start``
  runs, in ``<FEATURELAKE_JARS>/kafka/``: a folder of its own, so that its
  JARs (another ``kafka-clients``, Scala, log4j) never reach Spark's classpath.

``make setup`` runs ``python -m featurelake.jars fetch`` once, which downloads
what is missing from Maven Central (or ``FEATURELAKE_MAVEN_REPO``, a mirror)
and checks every sum. After that nothing touches the network:
:func:`classpath` lists the local Spark JARs, and the session factory passes
them as ``spark.jars``, which also ships them to the executors of a cluster;
:func:`kafka_classpath` lists the broker's.

Runs on the driver only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from featurelake.config import PROJECT_ROOT, Settings, get_settings
from featurelake.errors import ConfigError

__all__ = [
    "KAFKA_LOCK_FILE",
    "LOCK_FILE",
    "Artifact",
    "JarSet",
    "classpath",
    "fetch",
    "jar_folder",
    "kafka_classpath",
    "pinned",
]

LOCK_FILE = PROJECT_ROOT / "infra" / "jars.lock"
"""The Spark JARs' pins."""
KAFKA_LOCK_FILE = PROJECT_ROOT / "infra" / "kafka.lock"
"""The Kafka broker's pins."""

JarSet = Literal["spark", "kafka"]
"""Which set of JARs: Spark's additions (``infra/jars.lock``) or the broker's (``infra/kafka.lock``)."""

_LOCKS: dict[JarSet, Path] = {"spark": LOCK_FILE, "kafka": KAFKA_LOCK_FILE}


@dataclass(frozen=True)
class Artifact:
    """One pinned JAR."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        """The JAR's file name, as Maven names it."""
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repo: str) -> str:
        """Where ``repo`` (a Maven repository root) serves the JAR."""
        group = self.group.replace(".", "/")
        return f"{repo.rstrip('/')}/{group}/{self.artifact}/{self.version}/{self.file_name}"


def pinned(lock_file: Path = LOCK_FILE) -> list[Artifact]:
    """The artifacts ``lock_file`` pins, in its order.

    Raises:
        ConfigError: the lock file is missing or a line does not parse.
    """
    try:
        lines = lock_file.read_text().splitlines()
    except OSError as e:
        raise ConfigError(f"cannot read the JAR pins {lock_file}: {e.strerror}") from e
    artifacts = []
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        coords = parts[0].split(":")
        if len(parts) != 2 or len(coords) != 3 or len(parts[1]) != 64:
            raise ConfigError(f"{lock_file}:{n}: expected 'group:artifact:version sha256', got {line!r}")
        artifacts.append(Artifact(coords[0], coords[1], coords[2], parts[1].lower()))
    return artifacts


def jar_folder(settings: Settings, jar_set: JarSet = "spark") -> Path:
    """Where ``jar_set`` lives: ``FEATURELAKE_JARS`` (Spark's) or its ``kafka/`` subfolder (the broker's)."""
    return settings.jars_dir if jar_set == "spark" else settings.jars_dir / "kafka"


def _lock(jar_set: JarSet) -> Path:
    try:
        return _LOCKS[jar_set]
    except KeyError:
        raise ValueError(f"unknown JAR set {jar_set!r}; use one of: {', '.join(_LOCKS)}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(settings: Settings | None = None, *, quiet: bool = False, jar_set: JarSet = "spark") -> list[Path]:
    """Download every pinned JAR of ``jar_set`` that is missing or damaged, and check every sum.

    Args:
        settings: where to put the JARs and which repository to use.
        quiet: print nothing for JARs already in place.
        jar_set: ``spark`` (``infra/jars.lock``) or ``kafka`` (``infra/kafka.lock``).

    Returns:
        The local JAR paths, in the lock file's order.

    Raises:
        ConfigError: a download failed or a file does not match its pinned sum.
        ValueError: an unknown ``jar_set``.
    """
    settings = settings or get_settings()
    lock = _lock(jar_set)
    folder = jar_folder(settings, jar_set)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for art in pinned(lock):
        path = folder / art.file_name
        if path.exists() and _sha256(path) == art.sha256:
            paths.append(path)
            continue
        url = art.url(settings.maven_repo)
        if not quiet:
            print(f"fetching {art.group}:{art.artifact}:{art.version}", file=sys.stderr)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=120) as resp:
                while block := resp.read(1 << 20):
                    out.write(block)
            got = _sha256(Path(tmp))
            if got != art.sha256:
                raise ConfigError(f"{url} has SHA-256 {got}; infra/{lock.name} pins {art.sha256}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as e:
            raise ConfigError(
                f"cannot fetch {url}: {e}; set FEATURELAKE_MAVEN_REPO to a reachable Maven mirror"
            ) from e
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        paths.append(path)
    return paths


def classpath(settings: Settings | None = None, *, check: bool = True) -> list[Path]:
    """The local paths of every pinned JAR, without touching the network.

    Args:
        settings: where the JARs are.
        check: fail when one is missing (off where a DAG is parsed: spark-submit says it then).

    Raises:
        ConfigError: a JAR is missing (``make setup`` fetches them).
    """
    settings = settings or get_settings()
    paths = [settings.jars_dir / art.file_name for art in pinned()]
    missing = [p.name for p in paths if check and not p.exists()]
    if missing:
        raise ConfigError(
            f"{len(missing)} Spark JAR(s) missing from {settings.jars_dir} ({missing[0]}, ...): "
            "run `make setup` (python -m featurelake.jars fetch) once with Maven Central reachable"
        )
    return paths


def kafka_classpath(settings: Settings | None = None) -> list[Path]:
    """The local paths of the Kafka broker's pinned JARs, without touching the network.

    Raises:
        ConfigError: a JAR is missing (``make setup`` fetches them).
    """
    settings = settings or get_settings()
    folder = jar_folder(settings, "kafka")
    paths = [folder / art.file_name for art in pinned(KAFKA_LOCK_FILE)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise ConfigError(
            f"{len(missing)} Kafka broker JAR(s) missing from {folder} ({missing[0]}, ...): "
            "run `make setup` (python -m featurelake.jars fetch) once with Maven Central reachable"
        )
    return paths


if __name__ == "__main__":
    if sys.argv[1:] != ["fetch"]:
        sys.exit("usage: python -m featurelake.jars fetch")
    try:
        spark_jars = fetch()
        kafka_jars = fetch(jar_set="kafka")
    except ConfigError as e:
        sys.exit(f"error: {e}")
    print(f"{len(spark_jars)} Spark JARs in {spark_jars[0].parent}")
    print(f"{len(kafka_jars)} Kafka broker JARs in {kafka_jars[0].parent}")
