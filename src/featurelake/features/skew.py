"""Online/offline skew: do the online values equal the offline point-in-time values?

For each feature view of the service, sample entity keys from its gold table,
read them online through Feast (``get_online_features``: the path serving
uses) and compute the offline point-in-time values at the view's last
materialization end with the DuckDB join (a different code path from the
materialization query). Online stores keep values past their TTL, so the
offline side ignores TTLs; it looks only at rows since the earliest
materialized start, the rows materialization could have loaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings
from featurelake.features._refs import ViewRequest, resolve
from featurelake.features.latest import duckdb_connection, scan_expression
from featurelake.features.pit import ENTITY_TS, pit_join_duckdb
from featurelake.features.store import using_store

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = ["Mismatch", "SkewReport", "check_skew"]


@dataclass(frozen=True)
class Mismatch:
    """One feature of one entity whose online value differs from the offline one."""

    view: str
    key: dict[str, Any]
    feature: str
    online: Any
    offline: Any


@dataclass
class SkewReport:
    """What ``check_skew`` compared and what differed."""

    checked_entities: int = 0
    checked_values: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    as_of: dict[str, str] = field(default_factory=dict)
    """Per view, the materialization end the offline values were taken at."""

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not self.mismatches


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return bool(a == b)


def _sample_keys(req: ViewRequest, n: int, seed: int) -> list[dict[str, Any]]:
    keys = ", ".join(f'"{k}"' for k in req.join_keys)
    con = duckdb_connection()
    try:
        con.execute(f"SELECT setseed({(seed % 1000) / 1000.0})")
        rows = con.execute(
            f"SELECT DISTINCT {keys} FROM {scan_expression(req.view)} ORDER BY random() LIMIT {int(n)}"
        ).fetchall()
    finally:
        con.close()
    return [dict(zip(req.join_keys, r, strict=True)) for r in rows]


def check_skew(
    sample_size: int = 100,
    features: str | Sequence[str] = "delay_model_v1",
    *,
    seed: int = 0,
    settings: Settings | None = None,
    store: FeatureStore | None = None,
) -> SkewReport:
    """Compare online values with offline point-in-time values for ``sample_size`` keys per view.

    Args:
        sample_size: entity keys sampled per feature view.
        features: a feature service name or ``view:feature`` refs.
        seed: the sampling seed.

    Returns:
        A report; ``report.mismatches`` is empty when online and offline agree.
    """
    import pyarrow as pa

    with using_store(settings, store) as store:
        requests, _ = resolve(store, features)
        report = SkewReport()
        for req in requests:
            view = store.get_feature_view(req.view.name)  # fresh from the registry: intervals included
            intervals = view.materialization_intervals
            if not intervals:
                continue
            as_of = max(end for _, end in intervals)
            since = min(start for start, _ in intervals)
            report.as_of[view.name] = as_of.isoformat()
            keys = _sample_keys(req, sample_size, seed)
            if not keys:
                continue
            entity = pa.Table.from_pylist(
                [{**k, ENTITY_TS: as_of} for k in keys],
            ).cast(
                pa.schema(
                    [pa.field(k, pa.string()) for k in req.join_keys]
                    + [pa.field(ENTITY_TS, pa.timestamp("us", tz="UTC"))]
                )
            )
            offline = pit_join_duckdb(entity, [req], apply_ttl=False).to_pylist()
            ts_col = _offline_ts(req, entity)
            online = store.get_online_features(features=req.refs, entity_rows=keys).to_dict()
            for i, key in enumerate(keys):
                known = ts_col[i] is not None and ts_col[i] >= since
                for f in req.features:
                    expected = offline[i][f] if known else None
                    report.checked_values += 1
                    if not _same(online[f][i], expected):
                        report.mismatches.append(Mismatch(view.name, key, f, online[f][i], expected))
            report.checked_entities += len(keys)
        return report


def _offline_ts(req: ViewRequest, entity: Any) -> list[Any]:
    """The event timestamp of the row the point-in-time join picks (to tell 'never materialized')."""
    source = req.view.batch_source
    assert source is not None
    con = duckdb_connection()
    try:
        con.register("__e", entity)
        on = " AND ".join(f'e."{k}" = f."{k}"' for k in req.join_keys)
        rows = con.execute(
            f"SELECT f.__ts FROM (SELECT *, row_number() OVER () AS __row FROM __e) e "
            f'ASOF LEFT JOIN (SELECT *, CAST("{source.timestamp_field}" AS TIMESTAMPTZ) AS __ts '
            f"FROM {scan_expression(req.view)}) f ON {on} AND e.{ENTITY_TS} >= f.__ts ORDER BY e.__row"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]
