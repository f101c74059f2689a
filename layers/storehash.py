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

__all__ = ["table_sha256", "table_sha256_by"]


def _text_buffers(values: pd.Series) -> tuple[np.ndarray, np.ndarray, Any]:
    """A text column's missing mask, Arrow offsets (one more than rows) and data buffer."""
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
    return missing, offsets, buffers[2]


def _update_text(h: Any, missing: np.ndarray, offsets: np.ndarray, data: Any) -> None:
    h.update(np.packbits(missing).tobytes())
    h.update((offsets - offsets[0]).tobytes())
    if len(offsets) and data is not None:
        h.update(memoryview(data)[offsets[0] : offsets[-1]])


def _hash_text(values: pd.Series, h: Any) -> None:
    """Hash a text column through its Arrow buffers (zero-copy for pandas' ``str`` dtype)."""
    _update_text(h, *_text_buffers(values))


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


def table_sha256_by(df: pd.DataFrame, key: str) -> dict[str, str]:
    """:func:`table_sha256` of each group of rows with the same ``key`` value (missing: ``""``),
    in one pass over each column: ``table_sha256_by(df, k)[v] == table_sha256(df[df[k] == v])``.

    Parameters
    ----------
    df
        A table (GeoDataFrame or DataFrame).
    key
        The column to group by (e.g. the county code: a county's projects, in their order).

    Returns
    -------
    dict
        Key value (text) → hex digest of its rows, in row order.
    """
    codes, uniques = pd.factorize(df[key].astype("str").fillna(""), sort=True)
    order = np.argsort(codes, kind="stable")
    ordered = df.take(order)
    sizes = np.bincount(codes, minlength=len(uniques))
    values = np.asarray(uniques, dtype=object)[sizes > 0]
    ends = np.cumsum(sizes)[sizes > 0]
    starts = ends - sizes[sizes > 0]
    spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
    hashers = [hashlib.sha256(f"rows={e - s}".encode()) for s, e in spans]
    geom = ordered.geometry.name if isinstance(ordered, gpd.GeoDataFrame) else None
    for col in ordered.columns:
        column = ordered[col]
        header = f"|{col}:{column.dtype}".encode()
        for h in hashers:
            h.update(header)
        if col == geom:
            _hash_geometry_spans(column.values, spans, hashers)
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            missing, offsets, data = _text_buffers(column)
            for (s, e), h in zip(spans, hashers, strict=True):
                _update_text(h, missing[s:e], offsets[s : e + 1], data)
        else:
            hashed = pd.util.hash_pandas_object(column, index=False).to_numpy()
            for (s, e), h in zip(spans, hashers, strict=True):
                h.update(hashed[s:e].tobytes())
    return {str(v): h.hexdigest() for v, h in zip(values, hashers, strict=True)}


def _hash_geometry_spans(values: Any, spans: list[tuple[int, int]], hashers: list[Any]) -> None:
    """:func:`_hash_geometry` of each span of ``values``; points (the projects') in one pass:
    as Shapely's ragged array has them, one coordinate pair each, NaN when missing or empty."""
    geoms = np.asarray(values)
    missing = shapely.is_missing(geoms)
    points = bool((shapely.get_type_id(geoms[~missing]) == 0).all())
    coords = None
    if points:
        coords = np.full((len(geoms), 2), np.nan)
        solid = ~missing & ~shapely.is_empty(geoms)
        coords[solid] = shapely.get_coordinates(geoms[solid])
    for (s, e), h in zip(spans, hashers, strict=True):
        if coords is None or missing[s:e].all():  # as a span alone hashes (WKB when no type)
            _hash_geometry(geoms[s:e], h)
            continue
        h.update(np.packbits(missing[s:e]).tobytes())
        h.update(str(shapely.GeometryType.POINT).encode())
        h.update(coords[s:e].tobytes())
