"""How the ``featurelake`` program ends: with its command's status, never with a native library's crash.

A C++ thread pool torn down by the C runtime's exit handlers aborts a process that has already
done its work ("terminate called without an active exception", apache/arrow#34314). These tests
stand such a handler in with the C library's own ``abort`` registered as C exit handler.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ABORT_AT_EXIT = (
    "import ctypes; libc = ctypes.CDLL(None); "
    "libc.__cxa_atexit(ctypes.c_void_p(ctypes.cast(libc.abort, ctypes.c_void_p).value), None, None); "
)
"""Registers ``abort`` as a C exit handler, the way a C++ static object's destructor is registered
(``__cxa_atexit``): what a joinable ``std::thread`` destroyed at exit does."""


def _program(entry: str, *args: str, before: str = ABORT_AT_EXIT) -> subprocess.CompletedProcess[str]:
    argv = ["featurelake", *args]
    code = f"{before}import sys; sys.argv = {argv!r}; from featurelake.cli import {entry}; {entry}()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_stand_in_aborts_a_program_that_exits_as_python_does() -> None:
    # the guard on the test itself: the handler does abort the old way out (``main()``)
    old = _program("main", "--help")
    assert "Usage:" in old.stdout
    assert old.returncode == -6


@pytest.mark.parametrize(("args", "status"), [(["--help"], 0), (["no-such-command"], 2), (["sql"], 2)])
def test_the_program_ends_with_its_commands_status_past_a_crashing_exit_handler(
    args: list[str], status: int
) -> None:
    done = _program("run", *args)
    assert done.returncode == status, done.stderr
    if status == 0:
        assert "Usage:" in done.stdout
    else:
        assert done.stderr.startswith("error: "), done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr


def test_atexit_handlers_and_unflushed_output_still_run(tmp_path: Path) -> None:
    marker = tmp_path / "atexit"
    before = (
        f"{ABORT_AT_EXIT}import atexit, pathlib, sys; "
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran'); "
        "sys.stdout.write('buffered, no newline'); "
    )
    done = _program("run", "--help", before=before)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("buffered, no newline")
    assert marker.read_text() == "ran"


def test_the_installed_script_is_the_program() -> None:
    script = Path(sys.executable).parent / "featurelake"
    assert "from featurelake.cli import run" in script.read_text()
