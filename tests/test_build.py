"""Locating projects and building every layer from the tiny province."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import COUNTY_A, COUNTY_B, TOWN_A2, TOWN_B1, V3, V4, V5
from shapely.geometry import Point

from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import code_ints, code_strings, locate_projects
from layers.build.pipeline import build_layers
from layers.errors import LedgerError


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


def _grid_province(n_projects: int, seed: int = 7):
    """A full-size province of grid squares: 129 counties (122 with tasks), 1,312 townships and
    12,137 villages with plans, ``n_projects`` points (2% county-wide, 1% codeless)."""
    rng = np.random.default_rng(seed)
    rows, boxes = [], []

    def add(code, level, parent, bounds, tasks):
        rows.append((code, code, level, parent, tasks))
        boxes.append(bounds)

    add(S.PROVINCE_CODE, "province", None, (97, 21, 107, 29), True)
    for p in range(1, 16):
        add(f"53{p:02d}00000000", "prefecture", S.PROVINCE_CODE, (97, 21, 107, 29), True)
    towns_per = np.full(122, 1312 // 122)
    towns_per[: 1312 - towns_per.sum()] += 1
    vills_per = np.full(1312, 12137 // 1312)
    vills_per[: 12137 - vills_per.sum()] += 1
    k = 0
    for i in range(129):
        county = f"53{i // 9 + 1:02d}{i % 9 + 1:02d}"
        x0, y0 = 97 + (i % 13) * 0.75, 21 + (i // 13) * 0.75
        tasks = i < 122
        add(
            county + "000000",
            "county",
            f"53{i // 9 + 1:02d}00000000",
            (x0, y0, x0 + 0.75, y0 + 0.75),
            tasks,
        )
        n_towns = towns_per[i] if tasks else 1
        w = 0.75 / n_towns
        for t in range(n_towns):
            town = f"{county}{t + 1:03d}"
            add(
                town + "000",
                "township",
                county + "000000",
                (x0 + t * w, y0, x0 + (t + 1) * w, y0 + 0.75),
                tasks,
            )
            n_vills = vills_per[k] if tasks else 1
            k += tasks
            h = 0.75 / n_vills
            for v in range(n_vills):
                add(
                    f"{town}{v + 1:03d}",
                    "village",
                    town + "000",
                    (x0 + t * w, y0 + v * h, x0 + (t + 1) * w, y0 + (v + 1) * h),
                    tasks,
                )
    b = np.asarray(boxes)
    units = gpd.GeoDataFrame(
        rows,
        columns=[S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE, S.HAS_TASKS],
        geometry=shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]),
        crs="EPSG:4326",
    )
    for flag in (S.POVERTY_COUNTY, S.DEEP_POVERTY, S.BORDER):
        units[flag] = False
    units[S.POVERTY_VILLAGE] = units[S.LEVEL].eq("village") & units[S.HAS_TASKS]
    units[S.COUNTY_EXIT_YEAR] = pd.array([None] * len(units), dtype="Int64")
    villages = units[units[S.POVERTY_VILLAGE]].reset_index(drop=True)
    hh = rng.integers(5, 100, len(villages))
    registry = pd.DataFrame(
        {
            S.VILLAGE_CODE: villages[S.CODE],
            S.POOR_HOUSEHOLDS: hh,
            S.POOR_POPULATION: hh * 4,
            S.COVERED_POPULATION: hh * 4 - 1,
            S.PLANNED_EXIT_YEAR: pd.array(rng.integers(2016, 2021, len(hh)), dtype="Int64"),
            S.EXIT_YEAR: pd.array(rng.integers(2016, 2021, len(hh)), dtype="Int64"),
            S.RELOCATED_POPULATION: 0,
            **{c: hh // 10 for c in S.CAUSE_COLUMNS},
        }
    )
    pick = rng.integers(0, len(villages), n_projects)
    vb = villages.geometry.bounds.to_numpy()[pick]
    x = vb[:, 0] + (vb[:, 2] - vb[:, 0]) * rng.uniform(0.1, 0.9, n_projects)
    y = vb[:, 1] + (vb[:, 3] - vb[:, 1]) * rng.uniform(0.1, 0.9, n_projects)
    code = pd.Series(villages[S.CODE].to_numpy()[pick], dtype="str")
    wide = rng.random(n_projects) < 0.02
    codeless = ~wide & (rng.random(n_projects) < 0.01)
    points = shapely.points(x, y)
    points[wide] = None
    year = rng.integers(2016, 2021, n_projects)
    projects = gpd.GeoDataFrame(
        {
            S.PROJECT_ID: pd.Series(np.arange(n_projects)).astype("str"),
            S.COUNTY_CODE: code.str.slice(0, 6).str.pad(12, side="right", fillchar="0"),
            S.TOWNSHIP_CODE: code.str.slice(0, 9).str.pad(12, "right", "0").where(~wide),
            S.VILLAGE_CODE: code.where(~(wide | codeless)),
            S.SECTOR: rng.choice(S.SECTORS, n_projects),
            S.PLAN_YEAR: year,
            S.STATUS: rng.choice(S.STATUSES, n_projects),
            S.COMPLETION_DATE: pd.to_datetime(pd.Series(year).astype("str") + "-11-01"),
            S.FUNDS_PLANNED: rng.gamma(2, 30, n_projects),
            S.FUNDS_ALLOCATED: rng.gamma(2, 30, n_projects),
            S.FUNDS_SPENT: rng.gamma(2, 28, n_projects),
            S.FUND_SOURCE: rng.choice(S.FUND_SOURCES, n_projects),
            S.BENEFICIARY_POOR_POPULATION: rng.integers(1, 30, n_projects),
            S.RESPONSIBLE_UNIT: "扶贫办",
            S.APPROVAL_REF: "文号",
            S.PUBLIC_NOTICE_DATE: pd.Timestamp("2018-01-01"),
            S.INSPECTION_RESULT: "合格",
        },
        geometry=points,
        crs="EPSG:4326",
    )
    counties = units.loc[units[S.LEVEL] == "county", S.CODE].to_numpy()
    members = pd.DataFrame({S.ZONE: ["甲", "甲", "乙"], S.CODE: counties[:3]})
    return units, registry, projects, members


def test_build_at_full_scale_is_vectorised():
    """192,000 projects and 12,137 villages build in a few CPU seconds (no per-row loops)."""
    units, registry, projects, members = _grid_province(192_000)
    start = time.process_time()
    out = build_layers(units, registry, projects, members)
    cpu = time.process_time() - start
    kpis = M.kpis(out[S.TABLE_REGION_SUMMARY].iloc[0])
    assert kpis["projects"] == 192_000
    assert (kpis["county_libraries"], kpis["township_route_maps"], kpis["village_plans"]) == (
        122,
        1312,
        12137,
    )
    located_by = out[S.LAYER_PROJECTS][S.LOCATED_BY].value_counts()
    assert (
        located_by["point"] == (projects[S.VILLAGE_CODE].isna() & projects.geometry.notna()).sum()
    )
    assert out[S.TABLE_QUALITY_ISSUES].empty or "point_outside_village" not in set(
        out[S.TABLE_QUALITY_ISSUES][S.QI_CHECK]
    )
    assert cpu < 6, f"build_layers used {cpu:.1f} CPU s at full scale (about 1.5 s expected)"
