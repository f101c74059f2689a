"""Locate projects and build every output layer of the store from the three inputs (DESIGN §5)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import audit as audit_mod
from layers import metrics as M
from layers import schema as S
from layers.audit import empty_issues, issues_frame
from layers.county_library import build_county_library
from layers.errors import BoundaryError, LedgerError
from layers.settings import METRIC_CRS
from layers.township_roadmap import build_township_roadmap
from layers.village_plan import build_village_plan

#: located_by values
BY_CODE, BY_POINT, BY_COUNTY = "code", "point", "county"


def _units_of(admin_units: pd.DataFrame, level: str) -> pd.Index:
    codes = admin_units.loc[admin_units[S.LEVEL] == level, S.CODE].astype("str")
    return pd.Index(codes.unique())


def _prefix_eq(a: pd.Series, b: pd.Series, n: int) -> np.ndarray:
    """Elementwise: first ``n`` digits equal (False where either is NA)."""
    return (a.str.slice(0, n) == b.str.slice(0, n)).fillna(False).to_numpy(dtype=bool)


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
    """
    for col in (S.PROJECT_ID, S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE):
        if col not in projects.columns:
            raise LedgerError(f"projects lack column {col!r}; add it (see layers/schema.py)")
    if S.LEVEL not in admin_units.columns or S.CODE not in admin_units.columns:
        raise BoundaryError("admin_units lack the columns 'code' and 'level'")
    out = projects.copy()
    pid = out[S.PROJECT_ID].astype("str")
    county = out[S.COUNTY_CODE].astype("str")
    town = out[S.TOWNSHIP_CODE].astype("str")
    village = out[S.VILLAGE_CODE].astype("str")
    counties = _units_of(admin_units, "county")
    towns = _units_of(admin_units, "township")
    villages = _units_of(admin_units, "village")
    issues = []

    c_ok = M.isin_index(county, counties)
    t_given = town.notna().to_numpy()
    t_known = M.isin_index(town, towns)
    t_ok = t_given & t_known & _prefix_eq(town, county, 6)
    v_given = village.notna().to_numpy()
    v_known = M.isin_index(village, villages)
    v_in_county = _prefix_eq(village, county, 6)
    v_in_town = ~t_given | _prefix_eq(village, town, 9)
    v_ok = v_given & v_known & v_in_county & v_in_town

    bad = ~c_ok
    issues.append(
        issues_frame(
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
    )
    bad = t_given & ~t_known
    issues.append(
        issues_frame(
            "unknown_township_code",
            "error",
            "project",
            pid[bad],
            county[bad].fillna(""),
            "项目 " + pid[bad] + " 的乡级代码 " + town[bad] + " 不存在；请更正 township_code",
            town[bad],
        )
    )
    bad = t_given & t_known & ~t_ok
    issues.append(
        issues_frame(
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
    )
    bad = v_given & ~v_known
    issues.append(
        issues_frame(
            "unknown_village_code",
            "error",
            "project",
            pid[bad],
            np.where(t_ok[bad], town[bad], county[bad].fillna("")),
            "项目 " + pid[bad] + " 的村级代码 " + village[bad] + " 不存在；请更正 village_code",
            village[bad],
        )
    )
    bad = v_given & v_known & ~(v_in_county & v_in_town)
    issues.append(
        issues_frame(
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
    )

    new_village = village.where(v_ok)
    new_town = M._pad(village, 9).where(v_ok, town.where(t_ok))
    located_by = np.where(v_ok | t_ok, BY_CODE, BY_COUNTY).astype(object)

    geom = None
    if isinstance(out, gpd.GeoDataFrame) and out.active_geometry_name in out.columns:
        geom = out.geometry
    if geom is not None and len(out):
        has_point = (~geom.isna() & ~geom.is_empty).to_numpy()
        vill_units = admin_units[admin_units[S.LEVEL] == "village"]
        vill_units = vill_units.drop_duplicates(S.CODE)
        if vill_units.crs is not None and out.crs is not None and vill_units.crs != out.crs:
            vill_units = vill_units.to_crs(out.crs)

        # 2. point-in-polygon for codeless rows, against their own county's villages only
        need = has_point & ~v_ok & c_ok
        if need.any():
            pts = gpd.GeoDataFrame(
                {
                    "_row": np.flatnonzero(need),
                    "_county": county[need].to_numpy(),
                    "_town": new_town[need].to_numpy(),
                },
                geometry=geom[need].to_numpy(),
                crs=out.crs,
            )
            polys = gpd.GeoDataFrame(
                {"_vcode": vill_units[S.CODE].astype("str").to_numpy()},
                geometry=vill_units.geometry.to_numpy(),
                crs=vill_units.crs,
            )
            hit = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
            vcode = hit["_vcode"].astype("str")
            same = (vcode.str.slice(0, 6) == hit["_county"].str.slice(0, 6)).to_numpy().copy()
            town_known = hit["_town"].notna().to_numpy()
            same &= (
                ~town_known
                | (vcode.str.slice(0, 9) == hit["_town"].str.slice(0, 9)).fillna(False).to_numpy()
            )
            hit = hit[same].sort_values(["_row", "_vcode"]).drop_duplicates("_row")
            rows = hit["_row"].to_numpy()
            nv = new_village.to_numpy(dtype=object, na_value=None)
            nt = new_town.to_numpy(dtype=object, na_value=None)
            nv[rows] = hit["_vcode"].to_numpy()
            nt[rows] = M._pad(hit["_vcode"].astype("str"), 9).to_numpy()
            new_village = pd.Series(nv, index=out.index, dtype="str")
            new_town = pd.Series(nt, index=out.index, dtype="str")
            located_by[rows] = BY_POINT
            missed = need.copy()
            missed[rows] = False
            issues.append(
                issues_frame(
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
            )

        # 3. declared village vs point: contains, elementwise after a code join
        check = has_point & v_ok
        if check.any():
            polys = vill_units.set_index(vill_units[S.CODE].astype("str")).geometry
            shapely.prepare(polys.to_numpy())  # the reindexed array shares these objects
            declared = polys.reindex(village[check].to_numpy())
            points = geom[check].to_numpy()
            inside = shapely.covers(declared.to_numpy(), points)
            if (~inside).any():
                rows = np.flatnonzero(check)[~inside]
                far_pts = gpd.GeoSeries(points[~inside], crs=out.crs).to_crs(METRIC_CRS)
                far_polys = gpd.GeoSeries(declared.to_numpy()[~inside], crs=vill_units.crs).to_crs(
                    METRIC_CRS
                )
                dist = np.round(shapely.distance(far_polys.to_numpy(), far_pts.to_numpy()), 1)
                sel = np.zeros(len(out), dtype=bool)
                sel[rows] = True
                issues.append(
                    issues_frame(
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
                )

    out[S.TOWNSHIP_CODE] = new_town.astype("str").to_numpy()
    out[S.VILLAGE_CODE] = new_village.astype("str").to_numpy()
    out[S.LOCATED_BY] = located_by.astype("str")
    return out, pd.concat(issues, ignore_index=True) if issues else empty_issues()


def build_layers(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: gpd.GeoDataFrame,
    zone_members: pd.DataFrame,
    *,
    exit_by: int = 2020,
) -> dict[str, pd.DataFrame]:
    """Locate the projects and build every output layer.

    Returns a dict with keys ``projects`` (located), ``village_plan``, ``township_roadmap``,
    ``roadmap_years``, ``county_library``, ``region_summary``, ``zone_summary`` and
    ``quality_issues``.
    """
    located, locate_issues = locate_projects(admin_units, projects)
    prepared = M.prepare_projects(located)
    summary = M.aggregate(admin_units, registry, prepared, exit_by=exit_by)
    shared = {"exit_by": exit_by, "summary": summary}
    roadmap, years = build_township_roadmap(admin_units, registry, prepared, **shared)
    return {
        S.LAYER_PROJECTS: located,
        S.LAYER_VILLAGE_PLAN: build_village_plan(admin_units, registry, prepared, **shared),
        S.LAYER_TOWNSHIP_ROADMAP: roadmap,
        S.TABLE_ROADMAP_YEARS: years,
        S.LAYER_COUNTY_LIBRARY: build_county_library(admin_units, registry, prepared, **shared),
        S.TABLE_REGION_SUMMARY: summary,
        S.TABLE_ZONE_SUMMARY: M.aggregate_zones(summary, zone_members),
        S.TABLE_QUALITY_ISSUES: audit_mod.audit(
            admin_units, registry, located, locate_issues=locate_issues
        ),
    }
