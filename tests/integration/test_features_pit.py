"""Point-in-time correctness on a hand-made fixture: DuckDB join == Feast's historical retrieval == Spark."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurelake import features
from featurelake.catalog import Catalog
from featurelake.config import Settings
from featurelake.features.testing import tiny_gold

pytestmark = pytest.mark.integration

D = datetime(2013, 3, 1, tzinfo=UTC)  # tiny_gold starts here


def day(n: float) -> datetime:
    return D + timedelta(days=n)


# (carrier, origin, dest, tailnum, time) -> the values the contract says, by hand
CASES = [
    # before every feature row: nothing
    ("UA", "EWR", "IAH", "N1", day(-1), {"flights_7d": None, "flights_30d": None, "temp": None, "seats": 55}),
    # exactly at a feature timestamp: that row (<= is inclusive)
    (
        "UA",
        "EWR",
        "IAH",
        "N1",
        day(1),
        {"flights_7d": 11, "dep_delay_avg_7d": None, "flights_30d": 31, "temp": 30.0},
    ),
    # between rows: the newest before
    (
        "UA",
        "EWR",
        "IAH",
        "N2",
        day(1) + timedelta(hours=1, minutes=30),
        {"flights_7d": 11, "cancel_rate_7d": 0.0, "temp": 31.0, "plane_age_years": None, "seats": 100},
    ),
    # weather TTL 3h: 10:00 row gone, 02:00 row is 4h old at 06:00 -> null
    ("UA", "EWR", "IAH", "N1", day(1) + timedelta(hours=6), {"temp": None, "flights_7d": 11}),
    # exactly at the TTL edge (ts + ttl == T) still counts
    ("UA", "EWR", "IAH", "N1", day(1) + timedelta(hours=5), {"temp": 32.0}),
    ("UA", "EWR", "IAH", "N1", day(2), {"flights_7d": 11, "flights_30d": 31}),
    # daily TTL 1 day: the day(1) row has expired at day(2.5)
    ("UA", "EWR", "IAH", "N1", day(2.5), {"flights_7d": None, "flights_30d": None, "seats": 55}),
    # after the last row, within the TTL
    (
        "UA",
        "JFK",
        "IAH",
        None,
        day(4.5),
        {"flights_7d": 14, "dep_delay_avg_7d": 4.5, "flights_30d": None, "seats": None},
    ),
    ("AA", "JFK", "IAH", "N9", day(1.5), {"flights_7d": None, "flights_30d": 5, "arr_delay_avg_30d": -2.0}),
    (
        "ZZ",
        "LGA",
        "IAH",
        "N1",
        day(0.5),
        {"flights_7d": None, "flights_30d": None, "temp": None, "engines": 2},
    ),
]


@pytest.fixture
def lake(settings: Settings, catalog: Catalog) -> Settings:
    tiny_gold(catalog)
    features.apply(settings)
    return settings


def entity_df() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"carrier": c, "origin": o, "dest": d, "tailnum": t, "event_timestamp": ts, "row": i}
            for i, (c, o, d, t, ts, _) in enumerate(CASES)
        ]
    )


def same(a: object, b: object) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    return na == nb and (na or a == b)


def test_duckdb_join_matches_the_contract_by_hand(lake: Settings) -> None:
    out = features.training_set(entity_df(), "delay_model_v1", settings=lake)
    assert list(out["row"]) == list(range(len(CASES)))
    assert list(out.columns[:6]) == ["carrier", "origin", "dest", "tailnum", "event_timestamp", "row"]
    for i, (*_, expected) in enumerate(CASES):
        for col, value in expected.items():
            assert same(out.loc[i, col], value), (i, col, out.loc[i, col], value)


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    df = df.sort_values("row").reset_index(drop=True)
    cols = [c for c in df.columns if c != "event_timestamp"]
    return [{c: (None if same(r[c], None) else r[c]) for c in cols} for r in df.to_dict("records")]


def test_duckdb_join_equals_feast_get_historical_features(lake: Settings) -> None:
    ours = features.training_set(entity_df(), "delay_model_v1", settings=lake)
    feast = features.training_set(entity_df(), "delay_model_v1", settings=lake, engine="feast")
    assert sorted(feast.columns) == sorted(ours.columns)
    assert records(ours[feast.columns]) == records(feast)


def test_spark_join_equals_duckdb(lake: Settings, spark: object) -> None:
    ours = features.training_set(entity_df(), "delay_model_v1", settings=lake)
    sdf = features.training_set(entity_df(), "delay_model_v1", settings=lake, output="spark", spark=spark)
    theirs = sdf.toPandas()  # type: ignore[union-attr]
    assert list(theirs.columns) == list(ours.columns)
    assert records(theirs) == records(ours)


def test_feature_refs_and_errors(lake: Settings) -> None:
    out = features.training_set(entity_df(), ["plane:seats", "carrier_delay_7d:flights_7d"], settings=lake)
    assert list(out.columns[-2:]) == ["seats", "flights_7d"]
    with pytest.raises(ValueError, match="no feature service"):
        features.training_set(entity_df(), "nope", settings=lake)
    with pytest.raises(ValueError, match="has no feature"):
        features.training_set(entity_df(), ["plane:wings"], settings=lake)


def test_the_parquet_writer_gives_the_in_memory_rows_in_their_order(lake: Settings, tmp_path: Path) -> None:
    """``write_training_set`` (what ``features training-set --output`` runs) streams the same table."""
    in_memory = features.training_set(entity_df(), "delay_model_v1", settings=lake, output="arrow")
    target = tmp_path / "set.parquet"
    assert features.write_training_set(target, entity_df(), "delay_model_v1", settings=lake) == len(CASES)
    written = pq.read_table(target)
    assert written.column_names == in_memory.column_names
    assert written.to_pylist() == in_memory.to_pylist()


@pytest.mark.parametrize("slice_rows", [1, 4])
def test_a_set_joined_in_slices_is_the_set_joined_at_once(
    lake: Settings, tmp_path: Path, slice_rows: int
) -> None:
    """Slices of consecutive rows (here out of time order, so each reads its own views' span) give
    the whole join's rows in the caller's order; a stream of record batches is cut the same way."""
    whole = features.training_set(entity_df(), "delay_model_v1", settings=lake, output="arrow")
    target = tmp_path / "set.parquet"
    rows = features.write_training_set(target, entity_df(), settings=lake, slice_rows=slice_rows)
    assert rows == whole.num_rows == len(CASES)
    assert pq.read_table(target).to_pylist() == whole.to_pylist()

    from featurelake.features._refs import resolve
    from featurelake.features.pit import pit_join_to_parquet
    from featurelake.features.store import using_store

    batches = pa.Table.from_pandas(entity_df(), preserve_index=False).to_batches(max_chunksize=3)
    with using_store(lake, None) as store:
        requests, _ = resolve(store, "delay_model_v1")
        streamed = tmp_path / "streamed.parquet"
        assert pit_join_to_parquet(iter(batches), requests, streamed, slice_rows=slice_rows) == len(CASES)
        assert pq.read_table(streamed).to_pylist() == whole.to_pylist()

        # a slice that fails (its rows lack the timestamp) leaves no file, whole or partial
        broken = [batches[0], batches[1].drop_columns(["event_timestamp"])]
        failed = tmp_path / "failed.parquet"
        with pytest.raises(ValueError, match="event_timestamp"):
            pit_join_to_parquet(iter(broken), requests, failed, slice_rows=3)
    assert sorted(p.name for p in tmp_path.glob("*parquet*")) == ["set.parquet", "streamed.parquet"]


def test_an_empty_set_is_written_with_its_columns(lake: Settings, tmp_path: Path) -> None:
    target = tmp_path / "empty.parquet"
    assert features.write_training_set(target, entity_df().iloc[[]], settings=lake, slice_rows=2) == 0
    written = pq.read_table(target)
    assert written.num_rows == 0
    assert {"carrier", "flights_7d", "temp", "seats"} <= set(written.column_names)


def test_entity_rows_inside_one_ttl_read_only_the_feature_rows_that_can_count(lake: Settings) -> None:
    """The views are read between the first entity time less the TTL and the last entity time:
    each row still gets what Feast gives it, one at a time as well as all together."""
    together = records(features.training_set(entity_df(), "delay_model_v1", settings=lake))
    alone = [
        records(features.training_set(entity_df().iloc[[i]], "delay_model_v1", settings=lake))[0]
        for i in range(len(CASES))
    ]
    assert alone == together
    empty = features.training_set(entity_df().iloc[[]], "delay_model_v1", settings=lake, output="arrow")
    assert empty.num_rows == 0
    assert "flights_7d" in empty.column_names
