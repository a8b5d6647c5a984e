"""The local Apache Kafka broker: KRaft, one node, run the way Kafka's distribution runs it.

``start_kafka`` writes ``server.properties`` (broker and controller in one
process, ``node.id=1``, topics never created on first use) and a log4j2
configuration into ``<project>/.services/kafka/``, formats the storage once
(``kafka.tools.StorageTool format --standalone``, as ``kafka-storage.sh`` does),
then starts ``java -cp <infra/kafka.lock's JARs> kafka.Kafka server.properties``
in a session of its own, so that it outlives the command that started it,
and waits until it answers. The folder keeps the data (``data/``), the logs
(``logs/server.log``, and ``logs/kafka.out`` for the JVM's own output) and
the PID; it survives restarts, and deleting it (broker stopped) starts over.

The broker listens on ``FEATURELAKE_KAFKA_BOOTSTRAP`` when that is one
loopback address (127.0.0.1:9092 by default), its controller on the next
port. Any other bootstrap is a broker featurelake does not run. Each port has
a broker and a folder of its own (``.services/kafka`` for 9092,
``.services/kafka-<port>`` otherwise), so a test can start, stop and restart
a private broker while others use the shared one. Runs on the driver machine only.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

# The Spark daemons' process helpers (PID checks through /proc, a process group's SIGTERM then
# SIGKILL) fit any JVM daemon started in a session of its own: one implementation for both.
from featurelake.cluster._process import is_running, log_tail, stop
from featurelake.config import PROJECT_ROOT, Settings, get_settings
from featurelake.errors import ServiceError

__all__ = [
    "KAFKA_MAIN",
    "STORAGE_TOOL",
    "broker_properties",
    "kafka_home",
    "kafka_pid",
    "local_listener",
    "start_kafka",
    "stop_kafka",
]

KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"

# Kafka's kafka-run-class.sh defaults, with a smaller heap: one laptop broker, a few topics.
_JVM_OPTS = [
    "-Xms512m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]

_LOG4J2 = """\
# Written by featurelake (services/kafka.py) at each start: the broker logs to logs/server.log.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


DEFAULT_PORT = 9092
"""The port of the default bootstrap, whose broker lives in ``.services/kafka``."""


def kafka_home(port: int = DEFAULT_PORT) -> Path:
    """Configuration, data, logs and PID of the local broker on ``port`` (git-ignored):
    ``<project>/.services/kafka`` for the default port, ``.services/kafka-<port>`` for another."""
    root = PROJECT_ROOT / ".services"
    return root / "kafka" if port == DEFAULT_PORT else root / f"kafka-{port}"


def local_listener(bootstrap: str) -> int | None:
    """The port of ``bootstrap`` when it is one address on this machine's loopback; None otherwise."""
    entries = [e.strip() for e in bootstrap.split(",") if e.strip()]
    if len(entries) != 1:
        return None
    host, _, port = entries[0].rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit() or not 0 < int(port) < 65535:
        return None
    return int(port)


def broker_properties(port: int, data_dir: Path) -> str:
    """``server.properties`` of a one-node KRaft broker on 127.0.0.1:``port`` (controller on port + 1)."""
    controller = f"127.0.0.1:{port + 1}"
    return f"""\
# Written by featurelake (services/kafka.py) at each start; the data in log.dirs is kept.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={controller}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://{controller}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
# Topics come from featurelake (ingest/topics.py) with their partition count, never from a first use.
auto.create.topics.enable=false
num.partitions=4
default.replication.factor=1
# One node: every internal topic has one replica; a few partitions are plenty on a laptop.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
"""


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ServiceError(
            "the Kafka broker needs Java 17+: no java found (apt-get install openjdk-17-jre-headless)"
        )
    return found


def _cluster_id() -> str:
    # Kafka's Uuid: 16 random bytes in URL-safe base64 without padding; never starting with '-'
    # (a command line would read it as an option), as Uuid.randomUuid() guarantees too.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _read_pid(home: Path) -> tuple[int, int] | None:
    """(PID, port) of the broker last started from ``home``."""
    try:
        pid, port = (home / "kafka.pid").read_text().split()
        return int(pid), int(port)
    except (FileNotFoundError, ValueError):
        return None


# The brokers this process started. They outlive their Popen handle on purpose; holding it keeps
# Python from warning that a child is still running when the handle is collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _running(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:  # started here: /proc/<pid>/cmdline is empty for a moment after exec
        return child.poll() is None
    return is_running(pid, KAFKA_MAIN)


def kafka_pid(port: int = DEFAULT_PORT) -> int | None:
    """The PID of the local broker on ``port`` when it is running, else None."""
    found = _read_pid(kafka_home(port))
    if found is None or not _running(found[0]) or found[1] != port:
        return None
    return found[0]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _jvm(java: str, classpath: list[Path], home: Path) -> list[str]:
    return [
        java,
        *_JVM_OPTS,
        f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={home / 'logs'}",
        "-cp",
        os.pathsep.join(str(p) for p in classpath),
    ]


def _format(jvm: list[str], home: Path) -> None:
    """Format the storage once, as ``kafka-storage.sh format --standalone`` does."""
    props = str(home / "server.properties")
    command = [*jvm, STORAGE_TOOL, "format", "--standalone", "-t", _cluster_id(), "-c", props]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        out = " ".join((done.stderr or done.stdout).split())[-400:]
        raise ServiceError(f"formatting the Kafka storage in {home / 'data'} failed: {out}")


def _launch(jvm: list[str], home: Path, port: int) -> int:
    log = home / "logs" / "kafka.out"
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {KAFKA_MAIN}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [*jvm, KAFKA_MAIN, str(home / "server.properties")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    (home / "kafka.pid").write_text(f"{proc.pid} {port}\n")
    return proc.pid


def _wait_until_up(settings: Settings, pid: int, port: int, timeout_s: float) -> None:
    from featurelake.ingest.topics import check_broker

    home = kafka_home(port)
    deadline = time.monotonic() + timeout_s
    last = "not listening yet"
    while time.monotonic() < deadline:
        if not _running(pid):
            tail = log_tail(home / "logs" / "server.log", 5) + "\n" + log_tail(home / "logs" / "kafka.out", 5)
            raise ServiceError(f"the Kafka broker exited while starting: {' '.join(tail.split())[-500:]}")
        if _listening(port):
            try:
                if check_broker(settings, timeout_s=2.0).brokers:
                    return
            except ServiceError as e:
                last = str(e)
        time.sleep(0.5)
    raise ServiceError(
        f"the Kafka broker (pid {pid}) did not answer at {settings.kafka_bootstrap} within {timeout_s:.0f} s "
        f"({last}); see {home / 'logs' / 'server.log'}"
    )


def start_kafka(settings: Settings | None = None, *, timeout_s: float = 180.0) -> bool:
    """Start the local broker unless it is running, wait until it answers, and create the topics.

    Args:
        settings: ``kafka_bootstrap`` says where it listens; ``jars_dir`` where its JARs are.
        timeout_s: how long to wait for it to answer.

    Returns:
        True when this call started it, False when a broker already answered.

    Raises:
        ServiceError: no Java, the start failed, or the bootstrap is not on this machine and
            nothing answers there.
        ConfigError: the broker's JARs are not fetched (``make setup``).
    """
    from featurelake.ingest.topics import check_broker, ensure_topics
    from featurelake.jars import kafka_classpath

    settings = settings or get_settings()
    port = local_listener(settings.kafka_bootstrap)
    if port is None:
        check_broker(settings)  # featurelake runs no broker elsewhere: it can only be there already
        ensure_topics(settings)
        return False
    home = kafka_home(port)
    pid = kafka_pid(port)
    started = False
    if pid is None:
        if _listening(port):
            # Something else serves this port: fine when it is a Kafka broker, refused otherwise.
            check_broker(settings)
            ensure_topics(settings)
            return False
        classpath = kafka_classpath(settings)
        (home / "logs").mkdir(parents=True, exist_ok=True)
        (home / "server.properties").write_text(broker_properties(port, home / "data"))
        (home / "log4j2.properties").write_text(_LOG4J2)
        jvm = _jvm(_java(), classpath, home)
        if not (home / "data" / "meta.properties").exists():
            _format(jvm, home)
        pid = _launch(jvm, home, port)
        started = True
    _wait_until_up(settings, pid, port, timeout_s)
    ensure_topics(settings)
    return started


def stop_kafka(settings: Settings | None = None, *, timeout_s: float = 60.0) -> bool:
    """Stop the local broker of ``settings``' bootstrap (SIGTERM: a controlled shutdown; SIGKILL
    after ``timeout_s``).

    Returns:
        False when it was not running.
    """
    port = local_listener((settings or get_settings()).kafka_bootstrap)
    if port is None:  # a broker featurelake does not run
        return False
    home = kafka_home(port)
    found = _read_pid(home)
    if found is None:
        return False
    pid = found[0]
    try:
        return stop(pid, KAFKA_MAIN, timeout=timeout_s)
    finally:
        (home / "kafka.pid").unlink(missing_ok=True)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            # Reap it: /proc/<pid>/cmdline empties a moment before the exit completes, so the
            # check above can see it gone while poll() would still find it running.
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
