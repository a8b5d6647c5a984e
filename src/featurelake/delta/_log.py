"""Reading raw commits from a Delta log, for conflict checks between two versions.

delta-rs exposes snapshots and history, not the actions of one commit; the
commit files themselves are plain JSON lines defined by the Delta protocol.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Commit", "read_commit"]


@dataclass
class Commit:
    """The actions of one Delta commit that matter to a concurrent writer."""

    version: int
    operation: str = "?"
    adds: list[dict[str, Any]] = field(default_factory=list)
    removes: list[dict[str, Any]] = field(default_factory=list)
    metadata_changed: bool = False
    txns: dict[str, int] = field(default_factory=dict)

    @property
    def data_changes(self) -> list[dict[str, Any]]:
        """Adds and removes that change data (not compaction rewrites)."""
        return [a for a in self.adds + self.removes if a.get("dataChange", True)]


def read_commit(table_path: str, version: int) -> Commit:
    """Parse ``_delta_log/<version>.json`` of the table at ``table_path``."""
    commit = Commit(version)
    path = os.path.join(table_path, "_delta_log", f"{version:020d}.json")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            action = json.loads(line)
            if "add" in action:
                commit.adds.append(action["add"])
            elif "remove" in action:
                commit.removes.append(action["remove"])
            elif "metaData" in action or "protocol" in action:
                commit.metadata_changed = True
            elif "txn" in action:
                commit.txns[action["txn"]["appId"]] = int(action["txn"]["version"])
            elif "commitInfo" in action:
                commit.operation = str(action["commitInfo"].get("operation", "?"))
    return commit
