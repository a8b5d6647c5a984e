"""What the browser tests share: Debian's Chromium, a network that answers one place only."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(
    os.environ.get("FEATURELAKE_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")
)
"""Screenshots the browser tests keep (git-ignored; FEATURELAKE_TEST_ARTIFACTS moves them)."""


def chromium() -> str:
    """Chromium's path; the test fails under CI without it and skips elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (infra/browser.sh installs Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def only(prefix: str, refused: list[str]) -> Callable[[Any], None]:
    """A ``page.route`` handler that lets through URLs starting with ``prefix`` and aborts the
    rest, noting them in ``refused``: the page must work with nothing from elsewhere."""

    def route(r: Any) -> None:
        if r.request.url.startswith(prefix):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    return route


@contextmanager
def offline_page(playwright: Any, prefix: str, refused: list[str], *, width: int = 1400) -> Iterator[Any]:
    """A Chromium page (``width`` x 900) that may only load URLs starting with ``prefix``;
    the browser closes when the block ends."""
    browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
    try:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.route("**/*", only(prefix, refused))
        yield page
    finally:
        browser.close()


@contextmanager
def served(command: list[str], lake: Path, path: str, what: str) -> Iterator[str]:
    """Run ``featurelake`` server ``command`` (``--port`` is added) over ``lake`` until the block
    ends; yields its base URL once ``<base><path>`` answers 200. The process group is killed after."""
    import signal

    from featurelake.features.server_process import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, "FEATURELAKE_LAKE": str(lake)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_up(base + path, proc, what)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)  # reaps it and closes its pipe


def wait_up(url: str, proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    """Wait until ``url`` answers 200 (no proxy); fail with ``proc``'s output if it exits or
    ``timeout`` seconds pass first."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if opener.open(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"{what} did not come up at {url}:\n{proc.communicate()[0][-3000:]}")
