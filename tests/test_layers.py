"""The three layers (village plans, township route maps, county libraries) on the tiny province."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, TOWN_A1, TOWN_A2, TOWN_B1, V1, V3, V4, V5, V6

from layers import schema as S
from layers.build import metrics as M
from layers.build.county_library import build_county_library, sector_column
from layers.build.locate import locate_projects
from layers.build.township_roadmap import build_township_roadmap
from layers.build.village_plan import build_village_plan
from layers.errors import LedgerError


@pytest.fixture
def located(tiny_units, tiny_projects):
    return locate_projects(tiny_units, tiny_projects)[0]


def test_village_plan_rows_and_figures(tiny_units, tiny_registry, located):
    plan = build_village_plan(tiny_units, tiny_registry, located)
    assert isinstance(plan, gpd.GeoDataFrame)
    assert plan.crs == tiny_units.crs
    assert plan[S.CODE].tolist() == sorted(plan[S.CODE])
    assert len(plan) == 5  # 六村 and 七村 carry no plan
    assert V6 not in set(plan[S.CODE])
    p = plan.set_index(S.CODE)
    assert p.loc[V1, "county_code"] == COUNTY_A
    assert p.loc[V1, "prefecture_code"] == "530100000000"
    assert p.loc[V1, S.POOR_POPULATION] == 40
    assert p.loc[V1, S.N_PROJECTS] == 3
    assert p.loc[V1, S.COMPLETION] == pytest.approx(2 / 3)
    assert p.loc[V1, "sectors"] == "industry:1;health:1;water:1"
    assert p.loc[V3, S.COVERAGE] == 1.0  # capped
    assert p.loc[V3, S.EXIT_PROGRESS] == 0.0
    assert pd.isna(p.loc[V4, S.COVERAGE])  # no poor people
    assert p.loc[V5, S.N_PROJECTS] == 3  # P12 located by its point
    assert pd.isna(p.loc[V3, S.EXIT_YEAR])
    assert str(plan[S.EXIT_YEAR].dtype) == "Int64"
    assert plan.geometry.equals(
        tiny_units.set_index(S.CODE).loc[plan[S.CODE]].geometry.reset_index(drop=True)
    )


def test_village_plan_sectors_sorted_by_count(tiny_units, tiny_registry, located):
    extra = located.iloc[[0, 0]].assign(**{S.PROJECT_ID: ["X1", "X2"], S.SECTOR: "water"})
    plan = build_village_plan(tiny_units, tiny_registry, pd.concat([located, extra]))
    assert plan.set_index(S.CODE).loc[V1, "sectors"] == "water:3;industry:1;health:1"


def test_township_roadmap(tiny_units, tiny_registry, located):
    towns, years = build_township_roadmap(tiny_units, tiny_registry, located)
    t = towns.set_index(S.CODE)
    assert list(t.index) == [TOWN_A1, TOWN_A2, TOWN_B1]
    assert t.loc[TOWN_A1, "villages"] == 2
    assert t.loc[TOWN_A1, S.POVERTY_VILLAGES] == 2
    assert t.loc[TOWN_A1, S.VILLAGES_EXITED] == 2
    assert (t.loc[TOWN_A1, "first_exit_year"], t.loc[TOWN_A1, "last_exit_year"]) == (2017, 2019)
    assert pd.isna(t.loc[TOWN_A2, "first_exit_year"])
    assert t.loc[TOWN_A2, S.N_PROJECTS] == 4
    assert t.loc[TOWN_B1, S.N_PROJECTS] == 3
    # the long table: every township × 2016..2020
    assert len(years) == 15
    y = years.set_index([S.CODE, S.YEAR])
    assert y.loc[(TOWN_A1, 2017)].tolist() == [1, 1, 2, 1, 250.0, 240.0]
    # P04 planned 2017, completed 2018 → completed in 2018
    assert y.loc[(TOWN_A1, 2018), "projects_completed"] == 1
    # P06 completed without a date → counted in its plan year 2018
    assert y.loc[(TOWN_A2, 2018), "projects_completed"] == 1
    assert y.loc[(TOWN_A2, 2019), S.VILLAGES_PLANNED_EXIT] == 1
    assert y.loc[(TOWN_A2, 2019), S.VILLAGES_ACTUAL_EXIT] == 0
    # years add up to the layer's totals (county-wide P11 belongs to no township)
    assert years[S.PROJECTS_PLANNED].sum() == towns[S.N_PROJECTS].sum() == 12
    assert years["funds_planned"].sum() == pytest.approx(towns[S.FUNDS_PLANNED].sum())


def test_county_library(tiny_units, tiny_registry, located):
    lib = build_county_library(tiny_units, tiny_registry, located)
    c = lib.set_index(S.CODE)
    assert list(c.index) == [COUNTY_A, COUNTY_B]  # 丙区 has no tasks
    assert c.loc[COUNTY_A, S.N_PROJECTS] == 10  # county-wide P11 included
    assert c.loc[COUNTY_A, sector_column("employment")] == 1
    assert c.loc[COUNTY_A, sector_column("infrastructure")] == 2
    assert c.loc[COUNTY_B, sector_column("ecology")] == 1
    sector_cols = [sector_column(s) for s in S.SECTORS]
    assert (c[sector_cols].sum(axis=1) == c[S.N_PROJECTS]).all()
    assert c.loc[COUNTY_A, S.DEEP_POVERTY]
    assert c.loc[COUNTY_A, S.COUNTY_EXIT_YEAR] == 2019
    assert pd.isna(c.loc[COUNTY_B, S.COUNTY_EXIT_YEAR])
    assert c.loc[COUNTY_B, S.COVERAGE] == pytest.approx(0.9)


@pytest.mark.parametrize(
    "builder", [build_village_plan, build_township_roadmap, build_county_library]
)
def test_builders_do_not_mutate_inputs(builder, tiny_units, tiny_registry, located):
    before = (tiny_units.copy(), tiny_registry.copy(), located.copy())
    builder(tiny_units, tiny_registry, located)
    pd.testing.assert_frame_equal(tiny_units, before[0])
    pd.testing.assert_frame_equal(tiny_registry, before[1])
    pd.testing.assert_frame_equal(located, before[2])


@pytest.mark.parametrize(
    "builder", [build_village_plan, build_township_roadmap, build_county_library]
)
def test_builder_names_missing_column(builder, tiny_units, tiny_registry, located):
    with pytest.raises(LedgerError, match=r"admin_units lack columns \['has_tasks'\]"):
        builder(tiny_units.drop(columns=S.HAS_TASKS), tiny_registry, located)


def test_county_library_names_every_missing_flag(tiny_units, tiny_registry, located):
    with pytest.raises(LedgerError, match=r"lack columns \['border', 'county_exit_year'\]"):
        build_county_library(
            tiny_units.drop(columns=[S.BORDER, S.COUNTY_EXIT_YEAR]), tiny_registry, located
        )


@pytest.mark.parametrize(
    "builder", [build_village_plan, build_township_roadmap, build_county_library]
)
def test_builders_reuse_the_summary_exactly(builder, tiny_units, tiny_registry, located):
    summary = M.aggregate(tiny_units, tiny_registry, located)
    alone = builder(tiny_units, tiny_registry, located)
    shared = builder(tiny_units, tiny_registry, located, summary=summary)
    if isinstance(alone, tuple):
        alone, shared = alone[0], shared[0]
    assert alone.columns[-1] == "geometry"
    pd.testing.assert_frame_equal(pd.DataFrame(alone), pd.DataFrame(shared))
