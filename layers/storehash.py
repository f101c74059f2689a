"""Content hashes of store tables: the same table read back from either backend hashes equally."""

from __future__ import annotations

import hashlib
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

__all__ = ["table_sha256"]


def _hash_text(values: pd.Series, h: Any) -> None:
    """Hash a text column through its Arrow buffers (zero-copy for pandas' ``str`` dtype)."""
    missing = values.isna().to_numpy()
    try:  # missing values hash as "" (filled by Arrow: pandas' fillna costs 10x more)
        arr = pc.fill_null(pa.array(values, type=pa.large_string(), from_pandas=True), "")
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # an object column holding non-text values
        filled = values.fillna("") if missing.any() else values
        arr = pa.array(filled.astype(str), type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    h.update(np.packbits(missing).tobytes())
    h.update((offsets - offsets[0]).tobytes())
    if len(offsets) and buffers[2] is not None:
        h.update(memoryview(buffers[2])[offsets[0] : offsets[-1]])


def _hash_geometry(values: Any, h: Any) -> None:
    geoms = np.asarray(values)
    h.update(np.packbits(shapely.is_missing(geoms)).tobytes())
    try:
        gtype, coords, offsets = shapely.to_ragged_array(geoms, include_z=False)
    except (ValueError, NotImplementedError):  # e.g. mixed families: fall back to WKB
        wkb = shapely.to_wkb(geoms, hex=True, output_dimension=2)
        h.update(pd.util.hash_array(wkb.astype(object)).tobytes())
        return
    h.update(str(gtype).encode())
    h.update(np.ascontiguousarray(coords).tobytes())
    for part in offsets:
        h.update(np.asarray(part, dtype=np.int64).tobytes())


def table_sha256(df: pd.DataFrame) -> str:
    """Return a SHA-256 of a table's content: column names, dtypes, values and geometry.

    Row order matters, the index does not; equal tables read back from the store hash equally.
    """
    h = hashlib.sha256()
    h.update(f"rows={len(df)}".encode())
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    for col in df.columns:
        values = df[col]
        h.update(f"|{col}:{values.dtype}".encode())
        if col == geom:
            _hash_geometry(values.values, h)
        elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            _hash_text(values, h)
        else:
            h.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    return h.hexdigest()
