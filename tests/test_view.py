"""The numbers of a map view (``layers.view``) on the tiny province, counted by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import (
    COUNTY_A,
    COUNTY_B,
    COUNTY_C,
    PREF_A,
    PREF_B,
    PROVINCE,
    TOWN_B1,
    TOWN_C1,
    V1,
    make_projects,
    make_registry,
    make_units,
    make_zone_members,
)

from geo import classify
from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import locate_projects
from layers.errors import OneMapError
from layers.present import query as Q
from layers.present import view as V

WATER = Q.ProjectFilter(sectors=("water",))


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    units = make_units()
    located = locate_projects(units, make_projects())[0]
    summary = M.aggregate(units, make_registry(), located)
    return summary, M.prepare_projects(located)


def codes(rows: pd.DataFrame) -> list[str]:
    return sorted(rows[S.CODE])


@pytest.mark.parametrize(
    ("region", "zone", "level", "expected"),
    [
        (PROVINCE, None, None, "prefecture"),
        (PROVINCE, "边境地区", None, "county"),
        (PREF_A, "边境地区", None, "county"),
        (COUNTY_A, "边境地区", None, "township"),  # zones narrow province/prefecture views only
        (PROVINCE, "边境地区", "township", "township"),
        (V1, None, None, "village"),
    ],
)
def test_unit_level(region: str, zone: str | None, level: str | None, expected: str) -> None:
    assert V.unit_level(region, zone=zone, level=level) == expected


def test_rows_are_the_children_of_the_region(world) -> None:
    summary, _ = world
    assert codes(V.view_rows(summary, None, PROVINCE)) == [PREF_A, PREF_B]
    assert codes(V.view_rows(summary, None, PREF_A)) == [COUNTY_A, COUNTY_B]
    assert V.view_rows(summary, None, V1)[S.CODE].tolist() == [V1]


def test_zone_keeps_its_counties_inside_the_region(world) -> None:
    summary, _ = world
    members = make_zone_members()
    both = V.view_rows(summary, None, PROVINCE, zone="边境地区", zone_members=members)
    assert codes(both) == [COUNTY_B, COUNTY_C]
    inside = V.view_rows(summary, None, PREF_A, zone="边境地区", zone_members=members)
    assert codes(inside) == [COUNTY_B]
    towns = V.view_rows(
        summary, None, PROVINCE, zone="边境地区", zone_members=members, level="township"
    )
    assert codes(towns) == [TOWN_B1, TOWN_C1]  # townships of the zone's counties, not none


def test_unknown_zone_is_named(world) -> None:
    summary, _ = world
    with pytest.raises(OneMapError, match="zone '无此区' is unknown; known zones: "):
        V.view_rows(summary, None, PROVINCE, zone="无此区", zone_members=make_zone_members())


def test_filters_recount_the_rows(world) -> None:
    summary, projects = world
    rows = V.view_rows(summary, projects, PREF_A, WATER).set_index(S.CODE)
    # water projects: P02 accepted (甲县), P10 approved (乙县)
    assert rows.loc[COUNTY_A, S.N_PROJECTS] == 1 and rows.loc[COUNTY_A, S.COMPLETION] == 1.0
    assert rows.loc[COUNTY_B, S.N_PROJECTS] == 1 and rows.loc[COUNTY_B, S.COMPLETION] == 0.0
    with pytest.raises(OneMapError, match="`projects` is None but the filter needs them"):
        V.view_rows(summary, None, PREF_A, WATER)


def test_zone_kpi_sums_the_zone_counties(world) -> None:
    summary, projects = world
    members = make_zone_members()
    rows = V.view_rows(summary, projects, PROVINCE, zone="边境地区", zone_members=members)
    kpi = V.view_kpi(summary, projects, PROVINCE, None, rows, zone="边境地区")
    # 乙县: P09 completed, P10 approved, P12 completed; 丙区: none
    assert kpi[S.N_PROJECTS] == 3 and kpi[S.COMPLETION] == pytest.approx(2 / 3)
    region = V.view_kpi(summary, projects, PROVINCE, None, rows)
    assert region[S.N_PROJECTS] == 13 and region[S.COMPLETION] == pytest.approx(10 / 13)


def test_province_breaks_ignore_the_filter_and_the_zone(world) -> None:
    summary, projects = world
    rows = V.view_rows(summary, projects, PREF_A, WATER)
    fixed = V.break_values(summary, rows, S.COMPLETION, level="county", source=V.BREAKS_PROVINCE)
    # every county of the province, unfiltered: 甲县 8/10, 乙县 2/3, 丙区 no project (NaN)
    assert fixed.isna().sum() == 1
    assert sorted(fixed.dropna()) == pytest.approx([2 / 3, 0.8])
    assert V.legend_lower(fixed) == pytest.approx(2 / 3)
    np.testing.assert_allclose(V.class_breaks(fixed), classify.class_breaks(fixed))
    own = V.break_values(summary, rows, S.COMPLETION, level="county", source=V.BREAKS_FILTERED)
    assert sorted(own) == [0.0, 1.0] and V.legend_lower(own) == 0.0


def test_view_breaks_are_the_view_units_unfiltered(world) -> None:
    summary, projects = world
    members = make_zone_members()
    # 边境地区 at province level: 乙县 2/3 and 丙区 (no project); not 甲县 of the province
    rows = V.view_rows(summary, projects, PROVINCE, WATER, zone="边境地区", zone_members=members)
    values = V.break_values(summary, rows, S.COMPLETION, level="county")
    assert values.isna().sum() == 1 and values.dropna().tolist() == pytest.approx([2 / 3])
    assert V.all_equal(values)
    # PREF_A's counties, unfiltered (8/10, 2/3), whatever the filter says (water: 1.0, 0.0)
    for flt in (None, WATER):
        rows = V.view_rows(summary, projects, PREF_A, flt)
        values = V.break_values(summary, rows, S.COMPLETION, level="county", source="view")
        assert sorted(values) == pytest.approx([2 / 3, 0.8]) and not V.all_equal(values)
        assert len(V.class_breaks(values)) == 2


def test_unknown_break_source_is_named(world) -> None:
    summary, _ = world
    rows = V.view_rows(summary, None, PREF_A)
    with pytest.raises(OneMapError, match="class breaks from 'nation': expected one of"):
        V.break_values(summary, rows, S.COMPLETION, level="county", source="nation")
    assert V.break_source(None) == V.BREAKS_VIEW


def test_no_value_means_no_breaks() -> None:
    empty = pd.Series([np.nan, np.nan])
    assert V.class_breaks(empty) is None and V.legend_lower(empty) is None


def test_bad_metric_is_named(world) -> None:
    summary, _ = world
    with pytest.raises(OneMapError, match="`metric` was 'speed'"):
        V.break_values(summary, summary, "speed", level="county")


def test_inputs_are_not_mutated(world) -> None:
    summary, projects = world
    before_s, before_p = summary.copy(), projects.copy()
    members = make_zone_members()
    rows = V.view_rows(summary, projects, PROVINCE, WATER, zone="边境地区", zone_members=members)
    V.view_kpi(summary, projects, PROVINCE, WATER, rows, zone="边境地区")
    V.break_values(summary, rows, S.COVERAGE, level="county")
    pd.testing.assert_frame_equal(summary, before_s)
    pd.testing.assert_frame_equal(projects, before_p)
