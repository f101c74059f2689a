"""Locate projects: by administrative code first, then point-in-polygon within the county."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from layers import schema as S
from layers.errors import BoundaryError, LedgerError
from layers.issues import empty_issues, issues_frame
from layers.settings import METRIC_CRS

__all__ = [
    "BY_CODE",
    "BY_COUNTY",
    "BY_POINT",
    "code_ints",
    "code_strings",
    "locate_projects",
]


#: located_by values
BY_CODE, BY_POINT, BY_COUNTY = "code", "point", "county"


def code_ints(codes: pd.Series | np.ndarray) -> np.ndarray:
    """12-digit codes as int64 (one Arrow cast): -1 where missing, -2 where not 1–12 digits."""
    arr = pa.array(pd.Series(codes).astype("str").array)
    valid = pc.fill_null(pc.match_substring_regex(arr, r"^[0-9]{1,12}$"), False)
    ints = pc.cast(pc.if_else(valid, arr, pa.scalar(None, pa.string())), pa.int64())
    out = pc.fill_null(ints, -1).to_numpy(zero_copy_only=False).astype("int64")
    out[~valid.to_numpy(zero_copy_only=False) & arr.is_valid().to_numpy(zero_copy_only=False)] = -2
    return out


def code_strings(ints: np.ndarray) -> pd.Series:
    """Inverse of :func:`code_ints` for valid codes (negative → NA); 12-digit strings."""
    ints = np.asarray(ints, dtype="int64")
    arr = pc.utf8_lpad(pc.cast(pa.array(ints, mask=ints < 0), pa.string()), 12, "0")
    return pd.Series(pd.array(arr, dtype="str"))


def _members(values: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """Elementwise membership of int codes in ``universe`` (negative values never belong)."""
    universe = np.unique(universe[universe >= 0])
    if not len(universe):
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(universe, values).clip(0, len(universe) - 1)
    return (universe[pos] == values) & (values >= 0)


def _units_of(admin_units: pd.DataFrame, level: str) -> np.ndarray:
    return code_ints(admin_units.loc[admin_units[S.LEVEL] == level, S.CODE])


class _Codes(NamedTuple):
    """The ledger's codes as strings and ints, and what the code checks found."""

    pid: pd.Series
    county: pd.Series
    town: pd.Series
    village: pd.Series
    county_i: np.ndarray
    town_i: np.ndarray
    village_i: np.ndarray
    c_ok: np.ndarray  # the county exists
    t_given: np.ndarray
    t_known: np.ndarray
    t_ok: np.ndarray  # the township exists and lies in the county
    v_given: np.ndarray
    v_known: np.ndarray
    v_in_place: np.ndarray  # the village lies in the county and the township given
    v_ok: np.ndarray


#: the last 6 digits of a code are township + village
_COUNTY_OF = 10**6


def _check_codes(admin_units: pd.DataFrame, out: pd.DataFrame) -> _Codes:
    """Step 1: every code checked against the units and against its parent codes."""
    pid = out[S.PROJECT_ID].astype("str")
    county = out[S.COUNTY_CODE].astype("str")
    town = out[S.TOWNSHIP_CODE].astype("str")
    village = out[S.VILLAGE_CODE].astype("str")
    county_i, town_i, village_i = code_ints(county), code_ints(town), code_ints(village)
    t_given = town_i != -1
    t_known = _members(town_i, _units_of(admin_units, "township"))
    t_ok = t_known & (town_i // _COUNTY_OF == county_i // _COUNTY_OF)
    v_given = village_i != -1
    v_known = _members(village_i, _units_of(admin_units, "village"))
    v_in_county = village_i // _COUNTY_OF == county_i // _COUNTY_OF
    v_in_town = ~t_given | (village_i // 1000 == town_i // 1000)
    v_in_place = v_in_county & v_in_town
    return _Codes(
        pid,
        county,
        town,
        village,
        county_i,
        town_i,
        village_i,
        c_ok=_members(county_i, _units_of(admin_units, "county")),
        t_given=t_given,
        t_known=t_known,
        t_ok=t_ok,
        v_given=v_given,
        v_known=v_known,
        v_in_place=v_in_place,
        v_ok=v_known & v_in_place,
    )


def _code_issues(c: _Codes) -> list[pd.DataFrame]:
    """The error rows of step 1: unknown codes and codes outside their parent."""
    pid, county, town, village = c.pid, c.county, c.town, c.village
    bad = ~c.c_ok
    unknown_county = issues_frame(
        "unknown_county_code",
        "error",
        "project",
        pid[bad],
        county[bad].fillna(""),
        "项目 "
        + pid[bad]
        + " 的县级代码 "
        + county[bad].fillna("（空）")
        + " 不存在；请更正 county_code",
        county[bad].fillna(""),
    )
    bad = c.t_given & ~c.t_known
    unknown_town = issues_frame(
        "unknown_township_code",
        "error",
        "project",
        pid[bad],
        county[bad].fillna(""),
        "项目 " + pid[bad] + " 的乡级代码 " + town[bad] + " 不存在；请更正 township_code",
        town[bad],
    )
    bad = c.t_given & c.t_known & ~c.t_ok
    wrong_town = issues_frame(
        "inconsistent_township_code",
        "error",
        "project",
        pid[bad],
        town[bad],
        "项目 "
        + pid[bad]
        + " 的乡镇 "
        + town[bad]
        + " 不属于县 "
        + county[bad].fillna("")
        + "；请核对 township_code 与 county_code",
        town[bad],
    )
    bad = c.v_given & ~c.v_known
    unknown_village = issues_frame(
        "unknown_village_code",
        "error",
        "project",
        pid[bad],
        np.where(c.t_ok[bad], town[bad], county[bad].fillna("")),
        "项目 " + pid[bad] + " 的村级代码 " + village[bad] + " 不存在；请更正 village_code",
        village[bad],
    )
    bad = c.v_given & c.v_known & ~c.v_in_place
    wrong_village = issues_frame(
        "inconsistent_village_code",
        "error",
        "project",
        pid[bad],
        village[bad],
        "项目 "
        + pid[bad]
        + " 的行政村 "
        + village[bad]
        + " 不属于所填乡镇或县"
        + "；请核对 village_code、township_code 与 county_code",
        village[bad],
    )
    return [unknown_county, unknown_town, wrong_town, unknown_village, wrong_village]


class _Located(NamedTuple):
    """Where each project ends up: village and township codes (ints, -1 none) and how."""

    village: np.ndarray
    town: np.ndarray
    by: np.ndarray


def _locate_by_point(
    c: _Codes, located: _Located, geom: gpd.GeoSeries, vill_units: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Step 2: rows without a valid village but with a point get the village of their own
    county (and township) that holds the point; ``located`` is updated in place. Returns the
    warnings for points in none of their county's villages."""
    has_point = (~geom.isna() & ~geom.is_empty).to_numpy()
    need = has_point & ~c.v_ok & c.c_ok
    if not need.any():
        return empty_issues()
    pts = gpd.GeoDataFrame(
        {
            "_row": np.flatnonzero(need),
            "_county": c.county_i[need] // _COUNTY_OF,
            "_town": located.town[need] // 1000,
        },
        geometry=geom[need].to_numpy(),
        crs=geom.crs,
    )
    polys = gpd.GeoDataFrame(
        {"_vcode": code_ints(vill_units[S.CODE])},
        geometry=vill_units.geometry.to_numpy(),
        crs=vill_units.crs,
    )
    hit = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    vcode = hit["_vcode"].to_numpy()
    hit_town = hit["_town"].to_numpy()
    same = (vcode // _COUNTY_OF == hit["_county"].to_numpy()) & (
        (hit_town < 0) | (vcode // 1000 == hit_town)
    )
    hit = hit[same].sort_values(["_row", "_vcode"]).drop_duplicates("_row")
    rows = hit["_row"].to_numpy()
    located.village[rows] = hit["_vcode"].to_numpy()
    located.town[rows] = hit["_vcode"].to_numpy() // 1000 * 1000
    located.by[rows] = BY_POINT
    missed = need.copy()
    missed[rows] = False
    pid, county = c.pid, c.county
    return issues_frame(
        "point_outside_county",
        "warning",
        "project",
        pid[missed],
        county[missed],
        "项目 "
        + pid[missed]
        + " 没有村级代码，其坐标也不在县 "
        + county[missed]
        + " 的任何行政村内；请补填 village_code 或更正坐标",
        "",
    )


def _check_declared_points(
    c: _Codes, geom: gpd.GeoSeries, vill_units: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Step 3: a point must lie in the village its code names; if not, the code wins and the
    distance in metres is reported (contains, elementwise after a code join)."""
    has_point = (~geom.isna() & ~geom.is_empty).to_numpy()
    check = has_point & c.v_ok
    if not check.any():
        return empty_issues()
    vill_i = code_ints(vill_units[S.CODE])
    order = np.argsort(vill_i)
    polys = vill_units.geometry.to_numpy()[order]
    shapely.prepare(polys)  # the taken array shares these objects
    declared = polys[np.searchsorted(vill_i[order], c.village_i[check])]
    points = geom[check].to_numpy()
    inside = shapely.covers(declared, points)
    if inside.all():
        return empty_issues()
    rows = np.flatnonzero(check)[~inside]
    far_pts = gpd.GeoSeries(points[~inside], crs=geom.crs).to_crs(METRIC_CRS)
    far_polys = gpd.GeoSeries(declared[~inside], crs=vill_units.crs).to_crs(METRIC_CRS)
    dist = np.round(shapely.distance(far_polys.to_numpy(), far_pts.to_numpy()), 1)
    sel = np.zeros(len(geom), dtype=bool)
    sel[rows] = True
    pid, village = c.pid, c.village
    return issues_frame(
        "point_outside_village",
        "warning",
        "project",
        pid[sel],
        village[sel],
        "项目 "
        + pid[sel]
        + " 的坐标不在所填行政村 "
        + village[sel]
        + " 内，相距 "
        + pd.Series(dist, index=pid[sel].index).map("{:,.0f}".format)
        + " 米；请核对坐标或 village_code",
        dist,
    )


def _village_polygons(admin_units: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """The village units, one row per code, in ``crs``."""
    vill_units = admin_units[admin_units[S.LEVEL] == "village"].drop_duplicates(S.CODE)
    if vill_units.crs is not None and crs is not None and vill_units.crs != crs:
        vill_units = vill_units.to_crs(crs)
    return vill_units


def locate_projects(
    admin_units: gpd.GeoDataFrame, projects: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return ``(projects, issues)``: projects with checked codes and ``located_by`` set.

    1. Codes first: the county must exist; a township must exist and lie in the county; a
       village must exist and lie in the township (or county). Failing codes are reported
       (error) and dropped, the township is filled from a valid village.
    2. Rows still without a village but with a point get one by point-in-polygon against the
       villages of their own county (and township, if known) only.
    3. Rows with a village code and a point: the point must lie in that village; if not, the
       code wins and the distance in metres is reported (warning).
    ``located_by`` is ``point`` (2), ``code`` (a valid village or township code) or ``county``.
    The input is not modified.

    Parameters
    ----------
    admin_units
        Units of every level with ``code``, ``level`` and polygons.
    projects
        The ledger: ``project_id``, ``county_code``, ``township_code``, ``village_code`` and
        optionally point geometry.

    Returns
    -------
    tuple
        The located projects (a copy) and the ``quality_issues`` rows of the checks.
    """
    for col in (S.PROJECT_ID, S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE):
        if col not in projects.columns:
            raise LedgerError(f"projects lack column {col!r}; add it (see layers/schema.py)")
    if S.LEVEL not in admin_units.columns or S.CODE not in admin_units.columns:
        raise BoundaryError("admin_units lack the columns 'code' and 'level'")
    out = projects.copy()
    c = _check_codes(admin_units, out)
    issues = _code_issues(c)
    located = _Located(
        village=np.where(c.v_ok, c.village_i, -1),
        town=np.where(c.v_ok, c.village_i // 1000 * 1000, np.where(c.t_ok, c.town_i, -1)),
        by=np.where(c.v_ok | c.t_ok, BY_CODE, BY_COUNTY).astype(object),
    )
    if isinstance(out, gpd.GeoDataFrame) and out.active_geometry_name in out.columns and len(out):
        vill_units = _village_polygons(admin_units, out.crs)
        issues.append(_locate_by_point(c, located, out.geometry, vill_units))
        issues.append(_check_declared_points(c, out.geometry, vill_units))
    # keep the input's strings where they stand; write codes found by point or repaired
    same_t = located.town == c.town_i
    same_v = located.village == c.village_i
    town, village = c.town, c.village
    out[S.TOWNSHIP_CODE] = town.where(same_t, code_strings(located.town).set_axis(out.index)).array
    out[S.VILLAGE_CODE] = village.where(
        same_v, code_strings(located.village).set_axis(out.index)
    ).array
    out[S.LOCATED_BY] = located.by.astype("str")
    return out, pd.concat(issues, ignore_index=True)
