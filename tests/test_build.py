"""Locating projects and building every layer from the tiny province."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from layers import metrics as M
from layers import schema as S
from layers.build import build_layers, code_ints, code_strings, locate_projects
from layers.errors import LedgerError
from tests.conftest import COUNTY_A, COUNTY_B, TOWN_A2, TOWN_B1, V3, V4, V5


def _by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index(S.PROJECT_ID)


def test_locate_by_code_point_and_county(tiny_units, tiny_projects):
    located, issues = locate_projects(tiny_units, tiny_projects)
    p = _by_id(located)
    assert p.loc["P01", S.LOCATED_BY] == "code"
    assert p.loc["P11", S.LOCATED_BY] == "county"
    assert pd.isna(p.loc["P11", S.VILLAGE_CODE]) and pd.isna(p.loc["P11", S.TOWNSHIP_CODE])
    # codeless with a point: found in its county's villages, township filled in
    assert p.loc["P12", S.LOCATED_BY] == "point"
    assert (p.loc["P12", S.VILLAGE_CODE], p.loc["P12", S.TOWNSHIP_CODE]) == (V5, TOWN_B1)
    # both code and point, disagreeing: the code wins, the distance is reported in metres
    assert p.loc["P13", S.VILLAGE_CODE] == V3
    assert p.loc["P13", S.LOCATED_BY] == "code"
    far = issues.set_index(S.QI_ENTITY_ID).loc["P13"]
    assert far[S.QI_CHECK] == "point_outside_village"
    assert float(far[S.QI_VALUE]) == pytest.approx(27_700, rel=0.01)
    assert len(issues) == 1
    assert located.crs == tiny_projects.crs
    assert located.geometry.equals(tiny_projects.geometry)


def test_locate_searches_only_the_projects_own_county(tiny_units, tiny_projects):
    moved = tiny_projects.copy()
    # P12 claims 甲县 but its point lies in 乙县's 五村: not located, reported
    moved.loc[moved[S.PROJECT_ID] == "P12", S.COUNTY_CODE] = COUNTY_A
    located, issues = locate_projects(tiny_units, moved)
    p = _by_id(located)
    assert p.loc["P12", S.LOCATED_BY] == "county"
    assert pd.isna(p.loc["P12", S.VILLAGE_CODE])
    row = issues.set_index(S.QI_ENTITY_ID).loc["P12"]
    assert row[S.QI_CHECK] == "point_outside_county"


def test_locate_repairs_from_valid_codes_and_points(tiny_units, tiny_projects):
    bad = tiny_projects.copy()
    ids = bad[S.PROJECT_ID]
    bad.loc[ids == "P08", S.VILLAGE_CODE] = "530102002099"  # unknown; its point lies in 四村
    bad.loc[ids == "P06", S.TOWNSHIP_CODE] = None  # township filled from the village
    bad.loc[ids == "P10", "geometry"] = None
    located, issues = locate_projects(tiny_units, bad)
    p = _by_id(located)
    assert (p.loc["P08", S.VILLAGE_CODE], p.loc["P08", S.LOCATED_BY]) == (V4, "point")
    assert (p.loc["P06", S.TOWNSHIP_CODE], p.loc["P06", S.LOCATED_BY]) == (TOWN_A2, "code")
    assert p.loc["P10", S.LOCATED_BY] == "code"
    assert ("unknown_village_code", "P08") in set(
        zip(issues[S.QI_CHECK], issues[S.QI_ENTITY_ID], strict=True)
    )


def test_locate_projects_in_another_crs(tiny_units, tiny_projects):
    metric = tiny_projects.to_crs(3857)
    located, issues = locate_projects(tiny_units, metric)
    assert _by_id(located).loc["P12", S.VILLAGE_CODE] == V5
    assert set(issues[S.QI_ENTITY_ID]) == {"P13"}


def test_locate_requires_code_columns(tiny_units, tiny_projects):
    with pytest.raises(LedgerError, match="lack column 'village_code'"):
        locate_projects(tiny_units, tiny_projects.drop(columns=S.VILLAGE_CODE))


def test_locate_without_geometry(tiny_units, tiny_projects):
    table = pd.DataFrame(tiny_projects.drop(columns="geometry"))
    located, issues = locate_projects(tiny_units, table)
    assert pd.isna(_by_id(located).loc["P12", S.VILLAGE_CODE])
    assert issues.empty


def test_build_layers_end_to_end(tiny_inputs):
    before = tiny_inputs.projects.copy()
    out = build_layers(*tiny_inputs)
    assert set(out) == {
        S.LAYER_PROJECTS,
        S.LAYER_VILLAGE_PLAN,
        S.LAYER_TOWNSHIP_ROADMAP,
        S.TABLE_ROADMAP_YEARS,
        S.LAYER_COUNTY_LIBRARY,
        S.TABLE_REGION_SUMMARY,
        S.TABLE_ZONE_SUMMARY,
        S.TABLE_QUALITY_ISSUES,
    }
    pd.testing.assert_frame_equal(tiny_inputs.projects, before)
    for name in (S.LAYER_VILLAGE_PLAN, S.LAYER_TOWNSHIP_ROADMAP, S.LAYER_COUNTY_LIBRARY):
        assert isinstance(out[name], gpd.GeoDataFrame)
        assert out[name].crs == tiny_inputs.admin_units.crs
    summary = out[S.TABLE_REGION_SUMMARY].set_index(S.CODE)
    kpis = M.kpis(summary.loc[S.PROVINCE_CODE])
    assert kpis["projects"] == 13
    assert kpis["completion"] == pytest.approx(10 / 13)
    assert kpis["coverage"] == pytest.approx(200 / 220)
    assert kpis["matched_remedy"] == pytest.approx(58 / 60)
    assert (kpis["county_libraries"], kpis["township_route_maps"], kpis["village_plans"]) == (
        2,
        3,
        5,
    )
    # the layers agree with the summary: villages + county-wide projects = province
    plans = out[S.LAYER_VILLAGE_PLAN]
    assert plans[S.N_PROJECTS].sum() + 1 == kpis["projects"]
    assert len(out[S.LAYER_COUNTY_LIBRARY]) == kpis["county_libraries"]
    assert len(out[S.LAYER_TOWNSHIP_ROADMAP]) == kpis["township_route_maps"]
    assert len(plans) == kpis["village_plans"]
    zones = out[S.TABLE_ZONE_SUMMARY].set_index(S.ZONE)
    assert zones.loc["边境地区", S.N_PROJECTS] == summary.loc[COUNTY_B, S.N_PROJECTS]
    checks = set(out[S.TABLE_QUALITY_ISSUES][S.QI_CHECK])
    assert {"point_outside_village", "six_fixes_missing", "spent_over_allocated"} <= checks
    assert (out[S.LAYER_PROJECTS][S.LOCATED_BY] == "point").sum() == 1


def test_build_layers_tolerates_a_point_on_a_shared_border(tiny_inputs):
    """A codeless point on the border of two villages is assigned once, to one of them."""
    projects = tiny_inputs.projects.copy()
    row = projects[S.PROJECT_ID] == "P12"
    projects.loc[row, "geometry"] = Point(101.5, 25.5)  # between 五村 and 六村
    out = build_layers(
        tiny_inputs.admin_units, tiny_inputs.registry, projects, tiny_inputs.zone_members
    )
    p = _by_id(out[S.LAYER_PROJECTS])
    assert len(out[S.LAYER_PROJECTS]) == 13
    assert p.loc["P12", S.VILLAGE_CODE] in {V5, "530103001002"}


def test_locate_reports_malformed_codes(tiny_units, tiny_projects):
    bad = tiny_projects.copy()
    ids = bad[S.PROJECT_ID]
    bad.loc[ids == "P01", S.VILLAGE_CODE] = "5301O2001001"  # letter O, not zero
    bad.loc[ids == "P02", S.TOWNSHIP_CODE] = "530102-001"
    located, issues = locate_projects(tiny_units, bad)
    found = set(zip(issues[S.QI_CHECK], issues[S.QI_ENTITY_ID], strict=True))
    assert {("unknown_village_code", "P01"), ("unknown_township_code", "P02")} <= found
    p = _by_id(located)
    # P01's point lies in 一村, so it is located by its point after the bad code is dropped
    assert (p.loc["P01", S.VILLAGE_CODE], p.loc["P01", S.LOCATED_BY]) == ("530102001001", "point")
    # P02's valid village code still places it, and its township comes from the village
    assert p.loc["P02", S.TOWNSHIP_CODE] == "530102001000"


def test_code_ints_round_trip():
    codes = pd.Series(["530102001001", None, "53x", "530000000000"], dtype="str")
    ints = code_ints(codes)
    assert ints.tolist() == [530102001001, -1, -2, 530000000000]
    back = code_strings(ints)
    assert back.tolist()[0] == "530102001001" and back.tolist()[3] == "530000000000"
    assert back.isna().tolist() == [False, True, True, False]
