"""Merge imported projects and registry rows into the store's inputs."""

from __future__ import annotations

import contextlib

import geopandas as gpd
import pandas as pd

from layers import schema as S
from layers.ingest.report import (
    ACTION,
    COLUMN,
    FILE,
    PROBLEM,
    REPORT_COLUMNS,
    ROW,
    SHEET,
    VALUE,
    empty_problems,
)
from layers.settings import STORAGE_CRS

__all__ = ["merge_projects", "merge_registry", "unknown_units"]


def merge_projects(
    current: gpd.GeoDataFrame | None, imported: gpd.GeoDataFrame, *, replace_all: bool = False
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Replace the projects of the counties ``imported`` covers (or all, ``replace_all``).

    Parameters
    ----------
    current
        The store's projects (None: none yet).
    imported
        Projects read from ledgers (``read_ledger``).
    replace_all
        Replace the whole ledger, not only the counties ``imported`` covers.

    Returns
    -------
    tuple
        The new ledger (columns and dtypes of ``current``) and the 12-digit codes of the
        counties whose libraries were replaced.
    """
    counties = sorted(imported[S.COUNTY_CODE].dropna().unique().tolist())
    if current is None or replace_all or current.empty:
        return gpd.GeoDataFrame(imported.reset_index(drop=True), crs=STORAGE_CRS), counties
    keep = current[~current[S.COUNTY_CODE].isin(counties)]
    new = imported.to_crs(current.crs) if current.crs is not None else imported
    new = new[[c for c in current.columns if c in new.columns]]
    for c in new.columns:
        if c != new.geometry.name and new[c].dtype != current[c].dtype:
            with contextlib.suppress(TypeError, ValueError):
                new[c] = new[c].astype(current[c].dtype)
    merged = pd.concat([keep, new], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=current.geometry.name, crs=current.crs), counties


def merge_registry(current: pd.DataFrame | None, imported: pd.DataFrame) -> pd.DataFrame:
    """Update the registry: imported villages' given figures replace the current ones; figures
    the file does not give are kept (new villages: counts 0, years empty).

    Parameters
    ----------
    current
        The store's registry (None: none yet).
    imported
        Villages read from a registry file (``read_registry``).

    Returns
    -------
    DataFrame
        The registry with ``REGISTRY_COLUMNS``.
    """
    imp = imported.set_index(S.VILLAGE_CODE)
    if current is None or current.empty:
        out = imp.copy()
    else:
        cur = current.set_index(S.VILLAGE_CODE)
        out = imp.combine_first(cur)[list(cur.columns)]
    for c in S.REGISTRY_COLUMNS[1:]:
        if c in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR):
            out[c] = out[c].astype("Int64")
        else:
            out[c] = (
                out[c]
                .fillna(0)
                .astype(current[c].dtype if current is not None and c in current else "int64")
            )
    out = out.reset_index()
    if current is not None and not current.empty:
        out[S.VILLAGE_CODE] = out[S.VILLAGE_CODE].astype(current[S.VILLAGE_CODE].dtype)
    return out[list(S.REGISTRY_COLUMNS)]


def unknown_units(
    projects: pd.DataFrame, origin: pd.DataFrame | None, admin_units: pd.DataFrame
) -> pd.DataFrame:
    """Report rows for ledger codes that the boundaries lack (warnings: the project is kept and
    located by its point or county).

    Parameters
    ----------
    projects
        Projects read from ledgers.
    origin
        Each project's file, sheet and row (``ImportResult.origin``).
    admin_units
        The units the store will hold.

    Returns
    -------
    DataFrame
        Report rows (``REPORT_COLUMNS``).
    """
    if projects.empty or origin is None:
        return empty_problems()
    known = set(admin_units[S.CODE].astype(str))
    frames = []
    for f, label in ((S.VILLAGE_CODE, "村"), (S.TOWNSHIP_CODE, "乡镇"), (S.COUNTY_CODE, "县")):
        codes = projects[f].reset_index(drop=True)
        missing = (codes.notna() & ~codes.astype(str).isin(known)).to_numpy()
        if missing.any():
            o = origin[missing]
            frames.append(
                pd.DataFrame(
                    {
                        FILE: o[FILE].to_numpy(),
                        SHEET: o[SHEET].to_numpy(),
                        ROW: o[ROW].to_numpy(),
                        COLUMN: f,
                        VALUE: codes[missing].astype(str).to_numpy(),
                        PROBLEM: f"台账中的{label}代码在边界中不存在（项目按坐标或县定位）",
                        ACTION: "warning",
                    }
                )
            )
    if not frames:
        return empty_problems()
    out = pd.concat(frames, ignore_index=True)
    out[ROW] = out[ROW].astype("Int64")
    return out.astype({c: "str" for c in REPORT_COLUMNS if c != ROW})
