"""Shared helpers for benchmarks: timing with repeats, medians, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["emit", "machine", "timed"]


JVM_SETTINGS = ("FEATURELAKE_SPARK_JAVA_OPTIONS",)
"""Settings of how JVMs start, not of what they do: kept where a run clears the others."""


def clean_environ() -> dict[str, str]:
    """This process's environment without its ``FEATURELAKE_*`` settings (but :data:`JVM_SETTINGS`),
    for a child that must see only the settings it is given."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FEATURELAKE_") or k in JVM_SETTINGS}


def timed(fn: Callable[[], Any], *, repeats: int, warmup: int = 0) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(values: list[float]) -> float:
    """The median (machines are noisy: quote medians, not means)."""
    return statistics.median(values)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def emit(name: str, result: dict[str, Any]) -> None:
    """Print the result as one JSON document on stdout (and a readable summary on stderr)."""
    doc = {"benchmark": name, "machine": machine(), **result}
    print(json.dumps(doc, indent=2, default=str))
    sys.stdout.flush()
