"""Training-set rows -> model-ready tensors: featurelake's Arrow path against plain pandas.

Both produce identical tensors (checked) from the same Arrow table shaped like
a ``delay_model_v1`` training set: standardised numerics with missing flags,
and vocabulary indices for carrier, origin and dest.

    python -m benchmarks.feed [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow as pa

from benchmarks._common import emit, median, timed


def training_like(n: int, seed: int = 0) -> pa.Table:
    """A synthetic training set with the delay model's columns and ~5% nulls per feature."""
    import datetime as dt

    from featurelake.models.delay.features import NUMERIC, add_context

    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    for name in NUMERIC:
        values = rng.normal(10, 5, n)
        cols[name] = pa.array(np.where(rng.random(n) < 0.05, np.nan, values), from_pandas=True)
    start = np.datetime64(dt.datetime(2013, 1, 1), "us")
    stamps = start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    return add_context(
        pa.table(
            {
                "carrier": pa.array(rng.choice([f"C{i}" for i in range(16)], n)),
                "origin": pa.array(rng.choice(["EWR", "JFK", "LGA"], n)),
                "dest": pa.array(rng.choice([f"D{i:03d}" for i in range(105)], n)),
                "event_timestamp": pa.array(stamps).cast(pa.timestamp("us", tz="UTC")),
                **cols,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    from featurelake.models.delay.features import CATEGORICAL, Preprocessor

    table = training_like(args.rows)
    pre = Preprocessor().fit(table)
    out: dict[str, object] = {}

    def arrow_path() -> None:
        numeric, cats = pre.transform(table)
        out["arrow"] = (torch.from_numpy(numeric), torch.from_numpy(cats))

    def pandas_path() -> None:
        df = table.to_pandas()
        parts = []
        for col, mean, std in zip(pre.columns, pre.means, pre.stds, strict=True):
            values = df[col].astype("float64")
            missing = values.isna()
            parts.append(((values.fillna(mean) - mean) / std).astype("float32"))
            parts.append(missing.astype("float32"))
        numeric = torch.tensor(np.stack([p.to_numpy() for p in parts], axis=1))
        cats = torch.tensor(
            np.stack(
                [
                    df[c]
                    .map({v: i + 1 for i, v in enumerate(pre.vocab[c])})
                    .fillna(0)
                    .astype("int64")
                    .to_numpy()
                    for c in CATEGORICAL
                ],
                axis=1,
            )
        )
        out["pandas"] = (numeric, cats)

    arrow_s = timed(arrow_path, repeats=args.repeats, warmup=1)
    pandas_s = timed(pandas_path, repeats=args.repeats, warmup=1)
    a, p = out["arrow"], out["pandas"]
    if not (torch.equal(a[1], p[1]) and torch.allclose(a[0], p[0], atol=1e-6)):  # type: ignore[index]
        raise RuntimeError("the Arrow and pandas paths disagree: the benchmark would compare different work")
    arrow_rps, pandas_rps = args.rows / median(arrow_s), args.rows / median(pandas_s)
    emit(
        "feed",
        {
            "rows": args.rows,
            "repeats": args.repeats,
            "seconds": {"arrow": arrow_s, "pandas": pandas_s},
            "rows_per_s": {"arrow_to_tensors": round(arrow_rps), "pandas_to_tensors": round(pandas_rps)},
            "speedup": round(arrow_rps / pandas_rps, 2),
            "tensors_identical": True,
        },
    )


if __name__ == "__main__":
    main()
