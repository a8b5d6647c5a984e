"""`featurelake --spark-ui`: Spark's web UI while a command runs, in Chromium, nothing fetched.

Also what a continuous ingest says before its first batch."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import ARTIFACTS, chromium, offline_page

from benchmarks._common import clean_environ
from featurelake.config import Settings
from featurelake.ingest.synthetic import produce_synthetic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEATURELAKE = str(Path(sys.executable).parent / "featurelake")


def test_spark_ui_of_a_running_ingest(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium()  # fails or skips before the ingest starts
    lake, log = tmp_path / "lake", tmp_path / "ingest.log"
    produce_synthetic("flights", 1_000, seed=5, records_per_file=250, settings=Settings(lake=lake))
    env = clean_environ()
    env |= {"FEATURELAKE_LAKE": str(lake), "FEATURELAKE_SPARK_MASTER": "local[2]", "PYTHONUNBUFFERED": "1"}
    args = ["--spark-ui", "ingest", "flights", "--continuous", "--interval", "1"]
    args += ["--max-files-per-batch", "1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [FEATURELAKE, *args, "--no-online-features"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600  # a loaded CI machine took minutes for a first batch
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text()
            if "Spark UI: " in text and "batch " in text:  # the address, and a query with progress
                break
            time.sleep(0.5)
        found = re.search(r"Spark UI: (http://\S+)", text)
        assert found is not None, text[-3000:]
        assert "batch " in text, text[-3000:]
        # the continuous ingest says what it watches and when its query runs, before any batch
        assert f"watching {lake / 'landing' / 'flights'} every 1 s" in text
        assert text.index("flights: query ingest_flights started") < text.index("batch ")
        base = found.group(1)
        refused: list[str] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p, offline_page(p, base, refused) as page:
            page.goto(f"{base}/StreamingQuery/", timeout=120_000)
            page.get_by_text("Active Streaming Queries").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "spark-ui-streaming.png"), full_page=True)
            page.goto(f"{base}/jobs/", timeout=120_000)
            page.get_by_text("Completed Jobs").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "spark-ui-jobs.png"), full_page=True)
        assert refused == [], refused
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
