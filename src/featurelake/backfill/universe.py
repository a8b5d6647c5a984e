"""The entity universe of the daily feature tables: every carrier and route in ``silver.flights``.

The contract gives a row to every carrier (route) in all of F for every day,
including days before the entity first flew. A gold job reads only silver
days [D - 30, D), so the universe comes from ``silver.flight_entities``, which
the silver flights job keeps per day; it is read once per backfill on the
driver and handed to the gold jobs as a small DataFrame.

When the universe changes (a carrier flies for the first time, or the only
flights of a route are rebuilt away), every existing day of the daily tables
is out of date, not just the days after the change: the planner compares the
universe fingerprint each gold partition was built with (``ops.backfill_log``)
with the current one and rebuilds the partitions that differ.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from featurelake.catalog import Catalog

__all__ = ["EntityKind", "Universe", "load_universe"]

EntityKind = Literal["carrier", "route"]

ENTITY_TABLE = "silver.flight_entities"


@dataclass(frozen=True)
class Universe:
    """Every carrier and every (origin, dest) route in ``silver.flights``, sorted."""

    carriers: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]

    def keys(self, kind: EntityKind) -> list[tuple[str, ...]]:
        """The entity keys of one kind, as tuples."""
        return [(c,) for c in self.carriers] if kind == "carrier" else [tuple(r) for r in self.routes]

    def fingerprint(self, kind: EntityKind) -> str:
        """A short digest of the entities of one kind; it changes when an entity comes or goes."""
        text = "\n".join("\t".join(k) for k in self.keys(kind))
        return hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()[:16]

    def frame(self, spark: SparkSession, kind: EntityKind) -> DataFrame:
        """The entities of one kind as a DataFrame (``carrier``, or ``origin`` and ``dest``)."""
        ddl = "carrier string" if kind == "carrier" else "origin string, dest string"
        return spark.createDataFrame(self.keys(kind), ddl)


def load_universe(catalog: Catalog) -> Universe:
    """Read the universe from ``silver.flight_entities`` (delta-rs on the driver; no Spark job)."""
    if not catalog.exists(ENTITY_TABLE):
        return Universe((), ())
    from deltalake import DeltaTable

    table = DeltaTable(catalog.path(ENTITY_TABLE)).to_pyarrow_table(columns=["carrier", "origin", "dest"])
    carriers = sorted(set(table.column("carrier").to_pylist()))
    origins, dests = table.column("origin").to_pylist(), table.column("dest").to_pylist()
    routes = sorted(set(zip(origins, dests, strict=True)))
    return Universe(tuple(carriers), tuple(routes))
