"""Where a JVM ``delta`` source is on the classpath, it keeps the name; ours steps aside.

Delta's real JARs cannot be downloaded here, so the test compiles a stand-in:
a JVM class registered under the short name ``delta`` exactly as Delta's
``DeltaDataSource`` is (``META-INF/services/...DataSourceRegister``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pyspark
import pytest

JAVA = """
package featurelake.testing;

public class StandInDelta implements org.apache.spark.sql.sources.DataSourceRegister {
    public String shortName() { return "delta"; }
}
"""

PROBE = textwrap.dedent(
    """
    import sys
    from featurelake.config import Settings
    from featurelake.spark import delta_provider, get_spark
    conf = {"spark.jars": sys.argv[1]} if sys.argv[1] else {}
    spark = get_spark("probe", settings=Settings(lake=sys.argv[2], spark_master="local[1]"), conf=conf)
    registered = spark._jsparkSession.sessionState().dataSourceManager().dataSourceExists("delta")
    print(delta_provider(spark), registered)
    """
)


@pytest.fixture(scope="module")
def stand_in_jar(tmp_path_factory: pytest.TempPathFactory) -> str:
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("javac (a JDK) is needed to build the stand-in JAR; a JRE alone cannot")
    work = tmp_path_factory.mktemp("jar")
    src = work / "featurelake" / "testing" / "StandInDelta.java"
    src.parent.mkdir(parents=True)
    src.write_text(JAVA)
    jars = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    subprocess.run(
        [javac, "-cp", jars, "-d", str(work / "classes"), str(src)], check=True, capture_output=True
    )
    jar = work / "stand-in-delta.jar"
    with zipfile.ZipFile(jar, "w") as zf:
        for cls in glob.glob(str(work / "classes" / "**" / "*.class"), recursive=True):
            zf.write(cls, os.path.relpath(cls, work / "classes"))
        zf.writestr(
            "META-INF/services/org.apache.spark.sql.sources.DataSourceRegister",
            "featurelake.testing.StandInDelta\n",
        )
    return str(jar)


def probe(jar: str, home: Path) -> str:
    res = subprocess.run(
        [sys.executable, "-c", PROBE, jar, str(home)], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout.strip().splitlines()[-1]


def test_jvm_delta_source_wins_and_python_source_is_not_registered(stand_in_jar: str, tmp_path: Path) -> None:
    assert probe(stand_in_jar, tmp_path / "a") == "native False"


def test_python_source_serves_delta_without_jars(tmp_path: Path) -> None:
    assert probe("", tmp_path / "b") == "python True"
