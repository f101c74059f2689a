"""Import administrative boundaries of one level: read, check against the hierarchy, merge."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import to_metric
from geo.errors import GeoError
from geo.io import read_boundaries
from layers import schema as S
from layers.errors import BoundaryError, LedgerError
from layers.ingest.cells import as_text, code_level, parse_codes
from layers.ingest.columns import ColumnMap, load_column_map, match_label
from layers.ingest.excel import Source
from layers.ingest.limits import check_boundary_file
from layers.ingest.report import (
    ACTION,
    COLUMN,
    FILE,
    PROBLEM,
    REPORT_COLUMNS,
    ROW,
    SHEET,
    VALUE,
    ImportResult,
    ValidationReport,
    empty_problems,
)
from layers.settings import METRIC_CRS, STORAGE_CRS

__all__ = [
    "HIERARCHY_MAX_OUTSIDE",
    "HIERARCHY_TOLERANCE_M",
    "check_boundaries",
    "merge_units",
    "read_boundary_units",
]

#: a child may stick out of its parent by this much (digitising differences between departments)
HIERARCHY_TOLERANCE_M = 100.0
#: share of a child's area allowed outside its (buffered) parent before it is reported
HIERARCHY_MAX_OUTSIDE = 0.01
#: the flags a unit carries in the store (kept when an import replaces the unit)
_FLAGS = (
    S.HAS_TASKS,
    S.POVERTY_COUNTY,
    S.DEEP_POVERTY,
    S.BORDER,
    S.POVERTY_VILLAGE,
    S.COUNTY_EXIT_YEAR,
)


def read_boundary_units(
    source: Source,
    *,
    level: str,
    crs: str | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
    layer: str | None = None,
    column_map: ColumnMap | None = None,
) -> ImportResult:
    """Read administrative boundaries of one ``level`` from a file in any CRS.

    The code and name attributes are found through ``[boundaries]`` of the column map
    (``XZQDM``/``XZQMC``, ``code``/``name``, 区划代码/名称 …). Codes are right-padded to 12
    digits and must be of ``level``; features with an unusable code are rejected, invalid
    geometries repaired (both reported by feature number). ``table`` has ``ADMIN_COLUMNS`` +
    geometry (EPSG:4326, MultiPolygon); flags are False until merged with the store's units.

    Parameters
    ----------
    source
        A path, or a ``(file name, bytes)`` upload (.gpkg, .geojson, .shp or a zipped shapefile).
    level
        The level of every unit in the file (``S.LEVELS``).
    crs
        CRS to use when the file has none or a wrong one (e.g. ``EPSG:4543``, ``GK3:34``).
    gcj02
        The coordinates are GCJ-02 (高德/腾讯 maps) and are converted to WGS84.
    encoding
        Attribute encoding (default: detect UTF-8 or GBK).
    layer
        Layer of a multi-layer file (default: the first).
    column_map
        Header mapping (default ``data/column_map.toml``).

    Returns
    -------
    ImportResult
        The units and the report of how they were read.

    Raises
    ------
    BoundaryError
        The file cannot be read, is past a limit of ``settings.INPUT_LIMITS`` (bytes, a zip's
        files or unpacked size, features), or its CRS is missing or wrong.
    LedgerError
        ``level`` is unknown, or no attribute holds the codes.
    """
    if level not in S.LEVELS:
        raise LedgerError(f"--level {level!r} is not a level; use one of {', '.join(S.LEVELS)}")
    cmap = column_map if column_map is not None else load_column_map()
    check_boundary_file(source)  # size, zip members, features: before unpacking or reading
    try:
        bf = read_boundaries(source, layer=layer, crs=crs, gcj02=gcj02, encoding=encoding)
    except GeoError as e:
        raise BoundaryError(str(e)) from e
    gdf = bf.gdf
    name = source[0] if isinstance(source, tuple) else Path(source).name
    attrs = {c: match_label(c, cmap.sections["boundaries"]) for c in gdf.columns if c != "geometry"}
    code_col = next((c for c, f in attrs.items() if f == S.CODE), None)
    name_col = next((c for c, f in attrs.items() if f == S.NAME), None)
    if code_col is None:
        raise LedgerError(
            f"{name}: no code attribute among {', '.join(map(str, attrs)) or 'none'}; "
            f"name it XZQDM/code/区划代码 or add it to [boundaries] in {cmap.path}"
        )
    rows = pd.Series(np.arange(1, len(gdf) + 1), index=gdf.index)
    parsed = parse_codes(gdf[code_col], lengths=(S.LEVEL_DIGITS[level], 12))
    codes = parsed.codes
    wrong = codes.notna() & (code_level(codes) != level)
    problems = []

    def add(mask: np.ndarray | pd.Series, column: str, value: pd.Series, problem: str, action: str):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append(
                pd.DataFrame(
                    {
                        FILE: name,
                        SHEET: layer or "",
                        ROW: pd.array(rows[mask].to_numpy(), dtype="Int64"),
                        COLUMN: column,
                        VALUE: value[mask].astype(str).to_numpy(),
                        PROBLEM: problem,
                        ACTION: action,
                    }
                )
            )

    lvl = S.LEVEL_LABELS_ZH[level]
    add(
        parsed.invalid | parsed.sci_lost,
        code_col,
        gdf[code_col],
        f"不是有效的{lvl}代码",
        "rejected",
    )
    add(wrong, code_col, gdf[code_col], f"代码层级不是{lvl}（--level {level}）", "rejected")
    dup = codes.notna() & codes.duplicated(keep=False)
    add(dup, code_col, gdf[code_col], "代码重复：同一单位的多个要素已合并", "fixed")
    repaired = np.zeros(len(gdf), dtype=bool)
    repaired[bf.repaired] = True
    add(
        repaired,
        "geometry",
        pd.Series("", index=gdf.index),
        "无效几何，已修复（make_valid）",
        "fixed",
    )
    ok = (codes.notna() & ~wrong).to_numpy()
    units = gpd.GeoDataFrame(
        {
            S.CODE: codes[ok].astype(str).to_numpy(),
            S.NAME: as_text(gdf[name_col])[ok].to_numpy() if name_col else codes[ok].to_numpy(),
            "_row": rows[ok].to_numpy(),
        },
        geometry=gdf.geometry[ok].to_numpy(),
        crs=gdf.crs,
    )
    units = units.dissolve(by=S.CODE, aggfunc="first", as_index=False)
    units = _admin_frame(units, level)
    units["_file"], units["_row"] = name, units["_row"]
    problems_df = (
        pd.concat(problems, ignore_index=True).astype(
            {c: "str" for c in REPORT_COLUMNS if c != ROW}
        )
        if problems
        else empty_problems()
    )
    sources = pd.DataFrame(
        {
            FILE: [name],
            SHEET: [layer or ""],
            "kind": [f"边界（{lvl}）"],
            "header_rows": [""],
            "encoding": [bf.encoding or ""],
            "unit": [""],
            "columns": [f"{code_col}→code; {name_col}→name; 坐标系 {bf.source_crs}"],
            "rows_in": [len(gdf)],
            "accepted": [int(ok.sum())],
            "rejected": [int((~ok).sum())],
            "notes": ["; ".join(bf.notes)],
        }
    )
    return ImportResult(units, ValidationReport(problems_df, sources))


def _admin_frame(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Units with ``ADMIN_COLUMNS``: parent codes from the code, flags False, MultiPolygons."""
    out = gpd.GeoDataFrame(
        {
            S.CODE: units[S.CODE].astype("str"),
            S.NAME: units[S.NAME].astype("str"),
            S.LEVEL: level,
            S.PARENT_CODE: _parent_codes(units[S.CODE], level),
            S.HAS_TASKS: False,
            S.POVERTY_COUNTY: False,
            S.DEEP_POVERTY: False,
            S.BORDER: False,
            S.POVERTY_VILLAGE: False,
            S.COUNTY_EXIT_YEAR: pd.array([pd.NA] * len(units), dtype="Int64"),
            "_row": units["_row"].to_numpy() if "_row" in units else np.nan,
        },
        geometry=_multi(units.geometry.to_numpy()),
        crs=units.crs,
    )
    return out


def _multi(geoms: np.ndarray) -> np.ndarray:
    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    if single.any():
        out[single] = shapely.multipolygons(shapely.get_parts(geoms[single]).reshape(-1, 1))
    return out


def _parent_codes(codes: pd.Series, level: str) -> pd.Series:
    if level == "province":
        return pd.Series(None, index=codes.index, dtype="str")
    prev = S.LEVELS[S.LEVELS.index(level) - 1]
    return codes.astype(str).str.slice(0, S.LEVEL_DIGITS[prev]).str.ljust(12, "0")


def check_boundaries(
    imported: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame, *, tolerance_m: float | None = None
) -> pd.DataFrame:
    """Report problems of imported units against the (merged) hierarchy.

    Each unit's parent (by code prefix) must exist, the unit must lie inside its parent within
    ``tolerance_m`` (default ``HIERARCHY_TOLERANCE_M``; at most 1% of its area outside), and
    the parent whose polygon holds the unit must be the one its code names.

    Parameters
    ----------
    imported
        Units of one level as ``read_boundary_units`` returns them (with ``_file``/``_row``).
    admin_units
        The whole hierarchy, ``imported`` merged in (``merge_units``).
    tolerance_m
        How far (metres) a unit may stick out of its parent.

    Returns
    -------
    DataFrame
        Report rows (``REPORT_COLUMNS``), all warnings.
    """
    tol = HIERARCHY_TOLERANCE_M if tolerance_m is None else tolerance_m
    if imported.empty:
        return empty_problems()
    parents = admin_units.set_index(S.CODE)
    has_parent = imported[S.PARENT_CODE].notna().to_numpy()
    known = imported[S.PARENT_CODE].isin(parents.index).to_numpy()
    frames: list[pd.DataFrame] = []
    frames += _warnings(
        imported, has_parent & ~known, "上级单位不在边界库中（代码前缀对应的上级不存在）"
    )
    sel = has_parent & known
    if sel.any():
        frames += _outside_parents(imported, parents, sel, tol, admin_units.crs)
        frames += _in_other_parents(imported, admin_units, sel)
    return (
        pd.concat(frames, ignore_index=True).astype({c: "str" for c in REPORT_COLUMNS if c != ROW})
        if frames
        else empty_problems()
    )


def _warnings(
    imported: gpd.GeoDataFrame, mask: np.ndarray, problem: str | np.ndarray
) -> list[pd.DataFrame]:
    """Warning rows on the code of each ``mask`` unit (none if the mask is empty)."""
    if not mask.any():
        return []
    sub = imported[mask]
    return [
        pd.DataFrame(
            {
                FILE: sub["_file"].astype(str).to_numpy(),
                SHEET: "",
                ROW: pd.array(sub["_row"].to_numpy(), dtype="Int64"),
                COLUMN: S.CODE,
                VALUE: sub[S.CODE].to_numpy(),
                PROBLEM: problem,
                ACTION: "warning",
            }
        )
    ]


def _outside_parents(
    imported: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, sel: np.ndarray, tol: float, crs: object
) -> list[pd.DataFrame]:
    """Units (of ``sel``) with more than 1% of their area outside their buffered parent."""
    child = to_metric(imported[sel].geometry, METRIC_CRS).to_numpy()
    parent_geoms = gpd.GeoSeries(
        parents.loc[imported[S.PARENT_CODE][sel], "geometry"].to_numpy(), crs=crs
    )
    parent = to_metric(parent_geoms, METRIC_CRS).to_numpy()
    outside = shapely.area(shapely.difference(child, shapely.buffer(parent, tol)))
    share = np.divide(
        outside, shapely.area(child), where=shapely.area(child) > 0, out=np.zeros(len(child))
    )
    bad = share > HIERARCHY_MAX_OUTSIDE
    full = np.zeros(len(imported), dtype=bool)
    full[np.flatnonzero(sel)[bad]] = True
    msg = np.array([f"有 {s:.1%} 的面积在上级单位边界之外（容差 {tol:g} 米）" for s in share[bad]])
    return _warnings(imported, full, msg if bad.any() else "")


def _in_other_parents(
    imported: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame, sel: np.ndarray
) -> list[pd.DataFrame]:
    """Units (of ``sel``) whose interior point lies in another parent than their code names."""
    level = imported[S.LEVEL].iloc[0]
    plevel = S.LEVELS[S.LEVELS.index(level) - 1]
    cands = admin_units[admin_units[S.LEVEL] == plevel]
    pts = gpd.GeoDataFrame(
        {"i": np.flatnonzero(sel)},
        geometry=imported[sel].geometry.representative_point().to_numpy(),
        crs=imported.crs,
    )
    hit = gpd.sjoin(pts, cands[[S.CODE, "geometry"]], predicate="within", how="inner")
    hit = hit.drop_duplicates("i")
    named = imported[S.PARENT_CODE].to_numpy()[hit["i"].to_numpy()]
    wrong = hit[S.CODE].to_numpy() != named
    mask = np.zeros(len(imported), dtype=bool)
    mask[hit["i"].to_numpy()[wrong]] = True
    where = hit[S.CODE].to_numpy()[wrong]
    return _warnings(
        imported, mask, np.array([f"位于上级 {w} 的范围内，但代码前缀指向另一上级" for w in where])
    )


def merge_units(
    admin_units: gpd.GeoDataFrame | None, imported: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Put imported units of one level into ``admin_units`` (returns a new frame).

    Province/prefecture/county units replace the units with the same code (keeping their flags).
    Township/village units replace *all* units of that level in the counties they cover — a
    county's boundary file is that county's complete set — and keep the flags of units whose code
    is unchanged.

    Parameters
    ----------
    admin_units
        The current units (None: none yet).
    imported
        Units of one level (``read_boundary_units``).

    Returns
    -------
    GeoDataFrame
        The merged units, ordered by level then code.
    """
    imported = imported.drop(columns=[c for c in ("_file", "_row") if c in imported.columns])
    if admin_units is None or admin_units.empty:
        return gpd.GeoDataFrame(imported, geometry="geometry", crs=STORAGE_CRS)
    level = imported[S.LEVEL].iloc[0]
    old = admin_units
    same = old[S.CODE].isin(imported[S.CODE])
    keep_flags = old.loc[same].set_index(S.CODE)[list(_FLAGS)]
    new = imported.copy()
    for f in _FLAGS:
        known = new[S.CODE].map(keep_flags[f])
        new[f] = known.where(new[S.CODE].isin(keep_flags.index), new[f]).astype(old[f].dtype)
    drop = same
    if level in ("township", "village"):
        counties = imported[S.CODE].str.slice(0, 6)
        drop = drop | ((old[S.LEVEL] == level) & old[S.CODE].str.slice(0, 6).isin(counties))
    merged = pd.concat([old[~drop], new[list(old.columns)]], ignore_index=True)
    order = merged[S.LEVEL].map(S.LEVELS.index)
    merged = merged.assign(_o=order).sort_values(["_o", S.CODE]).drop(columns="_o")
    return gpd.GeoDataFrame(merged.reset_index(drop=True), geometry="geometry", crs=old.crs)
