"""The landing zone: Avro files appear atomically, written aside and then renamed.

Spark's file source lists ``landing/<dataset>/`` and ignores names that start
with ``.`` or ``_``, so a file being written (``.name.tmp``) is never seen
half-written; ``os.replace`` within one folder is atomic on POSIX.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from featurelake.config import Settings, get_settings

__all__ = ["avro_bytes", "land_bytes", "landing_folder", "new_run_id"]


def landing_folder(dataset: str, settings: Settings | None = None) -> Path:
    """``<landing>/<dataset>/``, created if missing."""
    folder = (settings or get_settings()).landing_dir / dataset
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_run_id() -> str:
    """A short id that keeps the file names of one producer run apart from every other run."""
    return uuid.uuid4().hex[:8]


def land_bytes(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` atomically: aside, fsync, rename.

    Raises:
        ValueError: ``name`` is hidden or has a folder in it.
    """
    if name.startswith((".", "_")) or os.sep in name:
        raise ValueError(f"landing file name {name!r} must be a plain name not starting with '.' or '_'")
    tmp = folder / f".{name}.{uuid.uuid4().hex[:6]}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = folder / name
    os.replace(tmp, final)
    return final


def avro_bytes(
    schema: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    *,
    codec: str = "deflate",
    sync_marker: bytes | None = None,
) -> bytes:
    """An Avro container file holding ``records`` written with ``schema``.

    ``sync_marker`` (16 bytes) makes the bytes reproducible; fastavro picks a random one otherwise.
    """
    import fastavro

    buf = io.BytesIO()
    extra: dict[str, Any] = {"sync_marker": sync_marker} if sync_marker is not None else {}
    parsed = _sorted_keys(fastavro.parse_schema(dict(schema)))
    fastavro.writer(buf, parsed, records, codec=codec, **extra)
    return buf.getvalue()


def _sorted_keys(value: Any) -> Any:
    """``value`` with every mapping's keys in sorted order (lists keep theirs).

    fastavro's parsed schema orders some keys by set iteration, which changes with the
    interpreter's hash seed; the header's schema JSON, and so the file's bytes, must not.
    """
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value
