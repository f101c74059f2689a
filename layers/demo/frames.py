"""Sampling frames and draws shared by the demo generators: plan villages, task counties, helpers.

``village_frame`` and ``task_counties`` check ``admin_units`` and return the units that receive a
registry row or projects, sorted by code, with their area flags; ``aligned_registry`` lines a
registry up with the village frame. ``apportion``, ``draw_categorical`` and ``int_strings`` are
the vectorised integer split, categorical draw and integer formatting the generators share.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import schema as S
from layers.demo.calibration import LAGGING_COUNTIES, LAGGING_PREFECTURES, MOUNTAIN_PREFECTURES
from layers.errors import BoundaryError, LedgerError
from layers.settings import STORAGE_CRS

__all__ = [
    "aligned_registry",
    "apportion",
    "draw_categorical",
    "int_strings",
    "task_counties",
    "village_frame",
]


def int_strings(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Decimal strings of non-negative integers (zero-padded to ``width``) via a lookup table.

    Parameters
    ----------
    values
        Non-negative integers.
    width
        Minimum number of digits (zero-padded); 0 pads nothing.

    Returns
    -------
    numpy.ndarray
        Object array of strings, the shape of ``values``.
    """
    values = np.asarray(values, dtype=np.int64)
    table = np.array([str(i).zfill(width) for i in range(int(values.max(initial=0)) + 1)], object)
    return table[values]


def _check_admin_units(admin_units: gpd.GeoDataFrame) -> None:
    """Raise ``BoundaryError`` on missing columns, a CRS other than storage's or repeated codes."""
    missing = [c for c in (*S.ADMIN_COLUMNS, "geometry") if c not in admin_units.columns]
    if missing:
        raise BoundaryError(
            f"admin_units: missing column(s) {missing}; pass the output of "
            "layers.demo.units.generate_units (schema.ADMIN_COLUMNS + geometry)"
        )
    if admin_units.crs is None or not admin_units.crs.equals(STORAGE_CRS):
        raise BoundaryError(
            f"admin_units: CRS is {admin_units.crs}, expected {STORAGE_CRS}; "
            "reproject with .to_crs('EPSG:4326') first"
        )
    dup = admin_units[S.CODE].duplicated()
    if dup.any():
        raise BoundaryError(
            f"admin_units: code {admin_units.loc[dup, S.CODE].iloc[0]!r} appears more than once; "
            "every unit needs a unique 12-digit code"
        )


def village_frame(admin_units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the plan villages sorted by code, with township/county context and area flags."""
    _check_admin_units(admin_units)
    units = admin_units.set_index(S.CODE, drop=False)
    plan = (admin_units[S.LEVEL] == "village") & admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    v = admin_units.loc[plan, [S.CODE, S.NAME, S.PARENT_CODE, S.POVERTY_VILLAGE, "geometry"]]
    if v.empty:
        raise BoundaryError(
            "admin_units: no village has has_tasks=True; the registry needs plan villages"
        )
    v = v.sort_values(S.CODE, ignore_index=True)
    v[S.POVERTY_VILLAGE] = v[S.POVERTY_VILLAGE].fillna(False).astype(bool)
    township = v[S.PARENT_CODE]
    unknown = ~township.isin(units.index)
    if unknown.any():
        bad = v.loc[unknown, S.CODE].iloc[0]
        raise BoundaryError(
            f"admin_units: village {bad} has parent_code {township[unknown].iloc[0]!r}, "
            "which is not a unit code; fix parent_code so every village has its township"
        )
    county = township.map(units[S.PARENT_CODE])
    prefecture = county.map(units[S.PARENT_CODE])
    if county.isna().any() or prefecture.isna().any():
        raise BoundaryError(
            "admin_units: a plan village's township or county has no parent_code; "
            "every township needs its county and every county its prefecture"
        )
    v["_township"] = township.to_numpy()
    v["_township_name"] = township.map(units[S.NAME]).to_numpy()
    v["_county"] = county.to_numpy()
    for col in (S.DEEP_POVERTY, S.POVERTY_COUNTY, S.BORDER):
        v[col] = county.map(units[col]).fillna(False).astype(bool).to_numpy()
    v[S.COUNTY_EXIT_YEAR] = county.map(units[S.COUNTY_EXIT_YEAR]).astype("Int64")
    v["_lagging"] = _lagging(county).to_numpy()
    v["_mountain"] = county.str.slice(0, 4).isin(MOUNTAIN_PREFECTURES).to_numpy()
    return v


def _lagging(county_codes: pd.Series) -> pd.Series:
    return county_codes.str.slice(0, 4).isin(LAGGING_PREFECTURES) | county_codes.str.slice(
        0, 6
    ).isin(LAGGING_COUNTIES)


def task_counties(admin_units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the counties with ``has_tasks`` sorted by code, with a ``_lagging`` flag."""
    is_county = admin_units[S.LEVEL] == "county"
    tasks = admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    c = admin_units.loc[is_county & tasks, [S.CODE, S.NAME, S.COUNTY_EXIT_YEAR]]
    c = c.sort_values(S.CODE, ignore_index=True)
    c["_lagging"] = _lagging(c[S.CODE]).to_numpy()
    return c


def aligned_registry(registry: pd.DataFrame, v: pd.DataFrame) -> pd.DataFrame:
    """Return the registry's rows in the order of the village frame ``v`` (one per village).

    Parameters
    ----------
    registry
        A registry with ``schema.REGISTRY_COLUMNS`` covering every plan village.
    v
        ``village_frame`` output.

    Returns
    -------
    pandas.DataFrame
        One registry row per row of ``v``, same order, default index.
    """
    missing = [c for c in S.REGISTRY_COLUMNS if c not in registry.columns]
    if missing:
        raise LedgerError(
            f"registry: missing column(s) {missing}; pass the output of generate_registry"
        )
    reg = registry.drop_duplicates(S.VILLAGE_CODE).set_index(S.VILLAGE_CODE)
    absent = ~v[S.CODE].isin(reg.index)
    if absent.any():
        raise LedgerError(
            f"registry: {int(absent.sum())} plan village(s) have no row, e.g. "
            f"{v.loc[absent, S.CODE].iloc[0]}; generate the registry from the same admin_units"
        )
    return reg.loc[v[S.CODE].to_numpy()].reset_index()


def apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Split the integer ``total`` proportionally to ``weights`` (largest remainder, exact sum).

    Parameters
    ----------
    weights
        Non-negative weights, one per share.
    total
        The integer to split; 0 (or all-zero weights) gives zeros.

    Returns
    -------
    numpy.ndarray
        int64 shares summing to ``total``.
    """
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    if rest:
        top = np.argsort(-(quota - base), kind="stable")[:rest]
        base[top] += 1
    return base


def draw_categorical(
    rng: np.random.Generator, probs: np.ndarray, values: np.ndarray | None = None
) -> np.ndarray:
    """Draw one category per row of ``probs`` (rows need not be normalised).

    Parameters
    ----------
    rng
        The generator; one ``rng.random(len(probs))`` call per draw.
    probs
        Weights, one row per draw and one column per category.
    values
        The categories; ``None`` returns column indices.

    Returns
    -------
    numpy.ndarray
        One category (or index) per row of ``probs``.
    """
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    idx = np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)
    return idx if values is None else np.asarray(values)[idx]
