"""Spark's class archive (featurelake.cds): ``make setup`` writes it and every driver maps it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from featurelake.cds import DRIVER, archive_path, driver_options
from featurelake.config import Settings, get_settings
from featurelake.spark import _conf

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def archive() -> Path:
    path = archive_path(get_settings())
    assert path is not None, "no java found"
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(
                f"no Spark class archive at {path}: `make setup` writes it (python -m featurelake.cds build)"
            )
        pytest.skip(f"no Spark class archive at {path}: run python -m featurelake.cds build")
    return path


def test_a_driver_started_the_way_featurelake_starts_one_maps_the_archive(
    archive: Path, tmp_path: Path
) -> None:
    # -Xshare:on: the JVM refuses to start unless it maps the archive, so a classpath or a Java
    # that differs from the one it was written for fails here instead of silently starting slower
    env = {
        **os.environ,
        "FEATURELAKE_LAKE": str(tmp_path / "lake"),
        "FEATURELAKE_SPARK_LOG": str(tmp_path / "jvm.log"),
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, f"-Xshare:on -XX:SharedArchiveFile={archive}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (tmp_path / "jvm.log").read_text()[-2000:]


def test_only_the_driver_is_given_the_archive(archive: Path) -> None:
    conf = _conf(get_settings(), "x")
    assert f"-XX:SharedArchiveFile={archive}" in conf["spark.driver.extraJavaOptions"]
    # a cluster's executors run another classpath: the archive is never theirs
    assert "SharedArchiveFile" not in conf["spark.executor.extraJavaOptions"]


def test_without_an_archive_drivers_start_as_before(tmp_path: Path) -> None:
    settings = Settings(lake=tmp_path / "lake", jars=tmp_path / "jars")
    assert driver_options(settings) == ""
    made = archive_path(settings)
    assert made is not None
    assert made.parent == tmp_path / "jars" / "cds"
    made.parent.mkdir(parents=True)
    made.write_bytes(b"")
    assert driver_options(settings) == f"-XX:SharedArchiveFile={made} -Xlog:cds=off -Xlog:cds+dynamic=off"


def test_another_java_finds_no_archive(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    others = [
        p
        for p in Path("/usr/lib/jvm").glob("*/bin/java")
        if p.resolve() != Path(os.path.realpath(archive_java()))
    ]
    if not others:
        pytest.skip("only one Java on this machine")
    monkeypatch.setenv("JAVA_HOME", str(others[0].parent.parent))
    assert archive_path(get_settings()) != archive


def archive_java() -> str:
    from featurelake.cds import _java

    java = _java()
    assert java is not None
    return str(java)


def test_a_driver_spark_submit_launches_finds_the_same_archive(archive: Path) -> None:
    # spark-submit (Airflow's tasks) puts pyspark.zip first on the path and sets SPARK_HOME;
    # pyspark then imports from the zip, which holds no JARs to key on
    import pyspark.find_spark_home

    home = pyspark.find_spark_home._find_spark_home()
    zipped = Path(home) / "python" / "lib" / "pyspark.zip"
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pyspark; from featurelake.cds import archive_path; print(archive_path())",
        ],
        env={**os.environ, "SPARK_HOME": home, "PYTHONPATH": f"{zipped}:{src}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(archive)
