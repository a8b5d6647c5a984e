"""A corpus of bad invocations, run as a user runs them: each fails in one line, with no traceback.

Every case runs the installed ``featurelake`` command in a subprocess, so what is checked is what a
terminal shows: stderr (the JVM's included) and stdout. A case passes when the command exits 2,
stderr is the single line ``error: ...`` naming the cause, and nothing anywhere looks like a Python
traceback, a Java stack frame or a Spark log line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._common import clean_environ

FEATURELAKE = shutil.which("featurelake", path=str(Path(sys.executable).parent)) or "featurelake"

NOBODY = "127.0.0.1:9"  # the discard port: no Kafka broker answers there

# (id, arguments, extra environment, text the error line must hold). In the environment, {lake}
# is a fresh empty lake, {damaged} a lake whose gold.plane log is cut mid-line, {file} a plain file.
CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("unknown-command", ["nope"], {}, "No such command 'nope'"),
    ("backfill-missing-from", ["backfill"], {}, "Missing option '--from'"),
    ("backfill-bad-date", ["backfill", "--from", "2013-13-01", "--to", "2013-12-31"], {}, "is not a UTC day"),
    ("backfill-empty-range", ["backfill", "--from", "2013-03-02", "--to", "2013-03-02"], {}, "must be after"),
    (
        "backfill-bad-layer",
        ["backfill", "--from", "2013-03-01", "--to", "2013-03-02", "--layers", "bronze"],
        {},
        "--layers 'bronze'",
    ),
    (
        "backfill-parallel-0",
        ["backfill", "--from", "2013-03-01", "--to", "2013-03-02", "--parallel", "0"],
        {},
        "--parallel must be >= 1",
    ),
    (
        "backfill-lake-under-a-file",
        ["backfill", "--from", "2013-03-01", "--to", "2013-03-02"],
        {"FEATURELAKE_LAKE": "{file}/lake"},
        "is a file, not a folder",
    ),
    ("produce-bad-time", ["produce", "flights", "--from", "March"], {}, "'March' is not a UTC day or time"),
    ("produce-bad-sink", ["produce", "flights", "--sink", "nowhere"], {}, "'nowhere' is not one of"),
    (
        "produce-bad-rate-landing",
        ["produce", "flights", "--bad-rate", "0.1"],
        {},
        "--bad-rate needs --sink kafka",
    ),
    (
        "produce-bad-rate-over-1",
        ["produce", "flights", "--sink", "kafka", "--bad-rate", "2"],
        {},
        "--bad-rate",
    ),
    (
        "synthetic-unknown-dataset",
        ["produce", "synthetic", "--dataset", "planes", "--events", "5"],
        {},
        "'planes' is not one of",
    ),
    (
        "synthetic-no-events",
        ["produce", "synthetic", "--dataset", "flights", "--events", "0"],
        {},
        "--events",
    ),
    (
        "synthetic-rate-landing",
        ["produce", "synthetic", "--dataset", "flights", "--events", "5", "--rate", "9"],
        {},
        "--rate needs --sink kafka",
    ),
    (
        "produce-no-broker",
        ["produce", "weather", "--sink", "kafka", "--to", "2013-01-02"],
        {"FEATURELAKE_KAFKA_BOOTSTRAP": NOBODY},
        f"no Kafka broker answered at {NOBODY}",
    ),
    (
        "produce-lake-under-a-file",
        ["produce", "flights", "--to", "2013-01-02"],
        {"FEATURELAKE_LAKE": "{file}/lake"},
        "is a file, not a folder",
    ),
    (
        "produce-landing-is-a-file",
        ["produce", "synthetic", "--dataset", "flights", "--events", "10"],
        {"FEATURELAKE_LANDING": "{file}"},
        "FEATURELAKE_LANDING",
    ),
    ("ingest-unknown-dataset", ["ingest", "planes"], {}, "'planes' is not one of"),
    ("ingest-once-and-continuous", ["ingest", "flights", "--once", "--continuous"], {}, "exclude each other"),
    (
        "ingest-files-per-batch-from-kafka",
        ["ingest", "flights", "--source", "kafka", "--max-files-per-batch", "3"],
        {},
        "--max-files-per-batch is for --source landing",
    ),
    ("ingest-topic-from-landing", ["ingest", "flights", "--topic", "x"], {}, "are for --source kafka"),
    ("sql-syntax", ["sql", "selec 1"], {}, "syntax error"),
    ("sql-unknown-table", ["sql", "select * from gold.nope"], {}, "Table with name nope does not exist"),
    ("sql-bad-output", ["sql", "select 1", "--output", "x.txt"], {}, "must end in .parquet or .csv"),
    (
        "sql-no-lake",
        ["sql", "select count(*) from silver.flights"],
        {"FEATURELAKE_LAKE": "{lake}-missing"},
        "-missing: set FEATURELAKE_LAKE",
    ),
    ("sql-bad-format", ["sql", "select 1", "--format", "xml"], {}, "'xml' is not one of"),
    (
        "sql-damaged-table",
        ["sql", "select count(*) from gold.plane"],
        {"FEATURELAKE_LAKE": "{damaged}"},
        "table gold.plane cannot be read",
    ),
    ("maintain-unknown-table", ["maintain", "--table", "gold.nope"], {}, "unknown table 'gold.nope'"),
    ("maintain-vacuum-guard", ["maintain", "--vacuum-hours", "1"], {}, "below the 168 h guard"),
    (
        "materialize-reversed",
        ["features", "materialize", "--from", "2013-03-02", "--to", "2013-03-01"],
        {},
        "must be after --from",
    ),
    ("materialize-incremental-no-to", ["features", "materialize-incremental"], {}, "Missing option '--to'"),
    (
        "training-set-no-service",
        ["features", "training-set", "--output", "x.parquet"],
        {},
        "no feature service",
    ),
    ("skew-sample-0", ["features", "skew", "--sample", "0"], {}, "--sample"),
    (
        "train-valid-from-outside",
        ["train", "delay", "--from", "2013-01-01", "--to", "2013-02-01", "--valid-from", "2013-03-01"],
        {},
        "must lie inside",
    ),
    (
        "train-epochs-0",
        ["train", "delay", "--from", "2013-01-01", "--to", "2013-02-01", "--epochs", "0"],
        {},
        "--epochs",
    ),
    ("score-bad-date", ["score", "delay", "--date", "2013-02-30"], {}, "is not a UTC day"),
    ("score-no-model", ["score", "delay", "--date", "2013-03-01"], {}, "no trained model 'delay'"),
    ("models-bad-format", ["models", "--format", "xml"], {}, "'xml' is not one of"),
    ("quarantine-unknown-dataset", ["quarantine", "--dataset", "planes"], {}, "'planes' is not one of"),
    ("replay-no-reason", ["quarantine", "replay", "--dataset", "flights"], {}, "Missing option '--reason'"),
    ("docs-negative-sample", ["quality", "docs", "--dataset", "flights", "--sample", "-1"], {}, "--sample"),
    ("docs-no-batch", ["quality", "docs", "--dataset", "flights"], {}, "no ingest batch of flights yet"),
    ("verify-negative-sample", ["verify-features", "--sample", "-1"], {}, "--sample must be >= 0"),
    ("services-unknown", ["services", "start", "nope"], {}, "'nope' is not one of"),
    ("serve-bad-port", ["serve", "--port", "70000"], {}, "--port"),
    ("cluster-status-bad-format", ["cluster", "status", "--format", "csv"], {}, "'csv' is not one of"),
    (
        "bad-profile",
        ["tables"],
        {"FEATURELAKE_PROFILE": "nope"},
        "FEATURELAKE_PROFILE='nope' is not a profile",
    ),
    (
        "bad-number-setting",
        ["tables"],
        {"FEATURELAKE_SHUFFLE_PARTITIONS": "abc"},
        "FEATURELAKE_SHUFFLE_PARTITIONS",
    ),
    ("spark-sql-unknown-table", ["spark-sql", "select * from gold.nope"], {}, "[TABLE_OR_VIEW_NOT_FOUND]"),
    ("forget-nobody", ["forget"], {}, "exactly one of --passenger-id and --email"),
    (
        "forget-both",
        ["forget", "--passenger-id", "P0000001", "--email", "a@b.com"],
        {},
        "exactly one of --passenger-id and --email",
    ),
    ("forget-empty", ["forget", "--email", "  "], {}, "the passenger id or e-mail address is empty"),
    (
        "forget-as-analyst",
        ["forget", "--role", "analyst", "--email", "a@b.com"],
        {},
        "role analyst may not erase data",
    ),
    (
        "sql-analyst-bronze-bookings",
        ["sql", "--role", "analyst", "select * from bronze.bookings"],
        {},
        "may not read",
    ),
]

# What must never reach a user's terminal.
DUMPS = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w$.]+\(|^\s*File \".*\", line \d+|"
    r"^\d\d:\d\d:\d\d (?:WARN|ERROR|INFO) |^(?:WARN|ERROR)\b|Stack backtrace:|JVM stacktrace",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad-invocations")
    afile = root / "a-file"
    afile.write_text("not a folder\n")
    damaged = root / "damaged"
    log = damaged / "gold" / "plane" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json").write_text('{"protocol": {"minReaderVersion": 1}}\n{"metaD')
    (root / "lake").mkdir()
    return {"lake": str(root / "lake"), "damaged": str(damaged), "file": str(afile)}


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("args", "env", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_invocation_fails_in_one_line(
    args: list[str], env: dict[str, str], needle: str, places: dict[str, str], tmp_path: Path
) -> None:
    environ = clean_environ()
    environ |= {"FEATURELAKE_LAKE": places["lake"], "FEATURELAKE_KAFKA_BOOTSTRAP": NOBODY}
    environ |= {k: v.format(**places) for k, v in env.items()}
    done = subprocess.run(
        [FEATURELAKE, *args], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=300
    )
    shown = done.stdout + done.stderr
    assert not DUMPS.search(shown), shown
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    assert needle in lines[0], lines[0]
    assert done.returncode == 2, shown
