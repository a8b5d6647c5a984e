"""``training_set`` (DuckDB ASOF join) against Feast's ``get_historical_features``, same run.

Gold tables with the contract's shapes (16 carriers and 224 routes x 367 days,
hourly weather at 3 origins, 3,322 planes; random values) and N random entity
rows (carrier, origin, dest, tailnum, event_timestamp in 2013) are joined with
the ``delay_model_v1`` service (15 features, 4 views with TTLs) by both
engines. Reports median seconds, rows/s, the speed-up, and whether the two
results are equal (sorted, every value).

    python -m benchmarks.training_set [--rows 100000,1000000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import emit, median


def _equal(a: Any, b: Any) -> bool:
    import pandas as pd

    cols = list(a.columns)
    keys = ["carrier", "origin", "dest", "tailnum", "event_timestamp"]
    x = a[cols].sort_values(keys).reset_index(drop=True)
    y = b[cols].sort_values(keys).reset_index(drop=True)
    for c in cols:
        if c == "event_timestamp":
            continue
        for u, v in zip(x[c].tolist(), y[c].tolist(), strict=True):
            nu = u is None or u is pd.NA or (isinstance(u, float) and math.isnan(u))
            nv = v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            if nu != nv or (not nu and u != v):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from featurelake import features
    from featurelake.catalog import Catalog
    from featurelake.config import Settings
    from featurelake.features.store import close_store, feature_store
    from featurelake.features.testing import synthetic_entities, synthetic_gold

    work = Path(tempfile.mkdtemp(prefix="bench-training-set-"))
    try:
        settings = Settings(lake=work / "lake")
        shapes = synthetic_gold(Catalog(settings=settings))
        store = feature_store(settings)
        features.apply(settings, store=store)
        results = []
        for n in [int(x) for x in args.rows.split(",")]:
            entities = synthetic_entities(n)
            times: dict[str, list[float]] = {"featurelake": [], "feast": []}
            out: dict[str, Any] = {}
            for _ in range(args.repeats):
                for engine in ("featurelake", "feast"):
                    t0 = time.perf_counter()
                    with contextlib.redirect_stdout(sys.stderr):
                        out[engine] = features.training_set(
                            entities,
                            "delay_model_v1",
                            engine="duckdb" if engine == "featurelake" else "feast",
                            store=store,
                        )
                    times[engine].append(time.perf_counter() - t0)
            ours, theirs = median(times["featurelake"]), median(times["feast"])
            results.append(
                {
                    "entity_rows": n,
                    "featurelake_s": round(ours, 3),
                    "feast_s": round(theirs, 3),
                    "featurelake_rows_per_s": round(n / ours),
                    "feast_rows_per_s": round(n / theirs),
                    "speedup": round(theirs / ours, 2),
                    "equal": _equal(out["featurelake"], out["feast"]),
                }
            )
        close_store(store)
        emit(
            "training_set",
            {
                "gold_rows": shapes,
                "features": 15,
                "note": "2 cores shared with other work; DuckDB ASOF join vs Feast 0.67 DuckDB offline store",
                "results": results,
            },
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
