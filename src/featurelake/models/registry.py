"""Versioned model artifacts under ``<lake>/models/<name>/<version>/``, with their lineage.

A version folder holds the weights, the preprocessing state, the metrics and
``lineage.json``: the feature service, the feature list and the Delta version
of every table the training set was built from, so a model can be traced
back to (and rebuilt from) exact table snapshots.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError

__all__ = ["ModelVersion", "list_models", "load_version", "models_root", "new_version_dir"]

_VERSION = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class ModelVersion:
    """One trained version of a model."""

    name: str
    version: str
    path: Path
    metrics: dict[str, Any]
    lineage: dict[str, Any]


def models_root(settings: Settings | None = None) -> Path:
    """``<lake>/models``."""
    return (settings or get_settings()).lake / "models"


def new_version_dir(name: str, settings: Settings | None = None) -> tuple[str, Path]:
    """Reserve the next version folder (``v1``, ``v2``, ...) of model ``name``, atomically."""
    root = models_root(settings) / name
    root.mkdir(parents=True, exist_ok=True)
    while True:
        numbers = [int(m.group(1)) for d in os.listdir(root) if (m := _VERSION.match(d))]
        version = f"v{max(numbers, default=0) + 1}"
        try:
            (root / version).mkdir()
        except FileExistsError:  # another trainer took it; take the next
            continue
        return version, root / version


def load_version(name: str, version: str | None = None, settings: Settings | None = None) -> ModelVersion:
    """A model version (the latest complete one when ``version`` is None).

    Raises:
        FeaturelakeError: no such model or version.
    """
    versions = [v for v in list_models(settings) if v.name == name]
    if version is not None:
        versions = [v for v in versions if v.version == version]
    if not versions:
        known = sorted({v.name for v in list_models(settings)})
        raise FeaturelakeError(
            f"no trained model {name!r}{' version ' + version if version else ''}; "
            f"trained models: {', '.join(known) or 'none (run featurelake train delay)'}"
        )
    return versions[-1]


def list_models(settings: Settings | None = None) -> list[ModelVersion]:
    """Every complete model version (one with metrics and lineage), oldest first per model."""
    root = models_root(settings)
    out: list[ModelVersion] = []
    if not root.is_dir():
        return out
    for name in sorted(os.listdir(root)):
        folder = root / name
        if not folder.is_dir():
            continue
        for version in sorted((d for d in os.listdir(folder) if _VERSION.match(d)), key=lambda d: int(d[1:])):
            path = folder / version
            try:
                metrics = json.loads((path / "metrics.json").read_text())
                lineage = json.loads((path / "lineage.json").read_text())
            except FileNotFoundError:
                continue  # still training, or failed before it finished
            out.append(ModelVersion(name, version, path, metrics, lineage))
    return out
