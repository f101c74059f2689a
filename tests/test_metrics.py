"""Metrics of DESIGN §4 against the hand-counted tiny province (see conftest's docstring)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, PREF_A, PREF_B, TOWN_A1, TOWN_A2, V1, V3, V5

from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import locate_projects
from layers.errors import LedgerError


@pytest.fixture
def located(tiny_units, tiny_projects):
    return locate_projects(tiny_units, tiny_projects)[0]


@pytest.fixture
def summary(tiny_units, tiny_registry, located):
    return M.aggregate(tiny_units, tiny_registry, located).set_index(S.CODE)


def test_project_counts_by_level(located):
    county = M.project_counts(located, level="county")
    assert county.loc[COUNTY_A, S.N_PROJECTS] == 10  # 9 village projects + county-wide P11
    assert county.loc[COUNTY_A, S.N_COMPLETED] == 8
    assert county.loc[COUNTY_B, S.N_PROJECTS] == 3  # P12 located by its point
    town = M.project_counts(located, level="township")
    # the county-wide project counts for its county, never for a township
    assert town.loc[[TOWN_A1, TOWN_A2], S.N_PROJECTS].sum() == 9
    village = M.project_counts(located, level="village")
    assert village.loc[V1].tolist() == [3, 2, 2, 180.0, 170.0, 150.0]
    province = M.project_counts(located, level="province").iloc[0]
    assert province[S.N_PROJECTS] == 13
    assert province[S.N_COMPLETED] == 10
    assert province[S.N_SIX_FIXES] == 10
    assert province[[S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT]].tolist() == [
        1175.0,
        1040.0,
        955.0,
    ]


def test_project_counts_rejects_unknown_level(located):
    with pytest.raises(LedgerError, match="level was 'city'"):
        M.project_counts(located, level="city")


def test_registry_counts_cap_coverage_and_count_exits(tiny_registry, located):
    village = M.registry_counts(tiny_registry, level="village", projects=located)
    assert village.loc[V3, S.COVERED_CAPPED] == 20  # 25 covered, capped at 20 poor
    county = M.registry_counts(tiny_registry, level="county", projects=located)
    assert county.loc[COUNTY_A, S.POOR_POPULATION] == 120
    assert county.loc[COUNTY_A, S.COVERED_CAPPED] == 110
    assert county.loc[COUNTY_A, S.POVERTY_VILLAGES] == 3
    assert county.loc[COUNTY_A, S.VILLAGES_EXITED] == 2
    early = M.registry_counts(tiny_registry, level="province", exit_by=2018)
    assert early.iloc[0][S.VILLAGES_EXITED] == 1
    assert math.isnan(early.iloc[0][S.MATCHED_HOUSEHOLDS])  # no projects given


def test_matched_households_need_the_located_project(tiny_registry, tiny_projects, located):
    raw = M.matched_households(tiny_registry, tiny_projects)
    after = M.matched_households(tiny_registry, located)
    assert raw.sum() == 48
    assert after.sum() == 58  # 五村's "other" households matched by P12 (ecology) once located
    by_village = dict(zip(tiny_registry[S.VILLAGE_CODE], after, strict=True))
    assert by_village[V3] == 3  # schooling matched by education; water households are not
    assert by_village[V5] == 25


def test_six_fixes_missing_flags_each_field(tiny_projects):
    missing = M.six_fixes_missing(tiny_projects).set_index(tiny_projects[S.PROJECT_ID])
    assert missing.loc["P03"].tolist() == [False, False, False, False, False, True]
    assert missing.loc["P05", ["approval", "public_notice", "inspection"]].all()
    assert missing.sum().sum() == 7
    blank = tiny_projects.assign(**{S.RESPONSIBLE_UNIT: "  ", S.FUNDS_PLANNED: 0.0})
    assert M.six_fixes_missing(blank)[["responsibility", "funds"]].all().all()


def test_add_rates_zero_denominators_give_nan():
    df = pd.DataFrame(
        {
            S.N_PROJECTS: [0, 4],
            S.N_COMPLETED: [0, 3],
            S.N_SIX_FIXES: [0, 2],
            S.FUNDS_PLANNED: [0.0, 200.0],
            S.FUNDS_SPENT: [0.0, 50.0],
            S.POOR_POPULATION: [0, 10],
            S.COVERED_CAPPED: [0, 9],
            S.POVERTY_VILLAGES: [0, 2],
            S.VILLAGES_EXITED: [0, 1],
            S.POOR_HOUSEHOLDS: [0, 4],
            S.MATCHED_HOUSEHOLDS: [0, 1],
        }
    )
    out = M.add_rates(df)
    assert out.loc[0, list(M.RATE_DEFINITIONS)].isna().all()
    assert out.loc[1, list(M.RATE_DEFINITIONS)].tolist() == [0.75, 0.25, 0.9, 0.5, 0.5, 0.25]
    assert S.COMPLETION not in df.columns  # input untouched


def test_aggregate_hand_counted(summary):
    province = summary.loc[S.PROVINCE_CODE]
    assert province[S.COMPLETION] == pytest.approx(10 / 13)
    assert province[S.COVERAGE] == pytest.approx(200 / 220)
    assert province[S.FUNDS_EXECUTION] == pytest.approx(955 / 1175)
    assert province[S.SIX_FIXES_RATE] == pytest.approx(10 / 13)
    assert province[S.EXIT_PROGRESS] == pytest.approx(3 / 4)
    assert province[S.MATCHED_REMEDY] == pytest.approx(58 / 60)
    assert province[[S.COUNTY_LIBRARIES, S.TOWNSHIP_ROUTE_MAPS, S.VILLAGE_PLANS]].tolist() == [
        2,
        3,
        5,
    ]
    assert summary.loc[COUNTY_A, S.VILLAGE_PLANS] == 4
    assert summary.loc[V1, S.VILLAGE_PLANS] == 1
    assert len(summary) == 17  # every unit of every level, province included
    # 乙市 has no projects and no poor: every rate is NaN, every count 0
    assert summary.loc[PREF_B, list(M.RATE_DEFINITIONS)].isna().all()
    assert summary.loc[PREF_B, S.N_PROJECTS] == 0


def test_aggregate_sums_children_and_never_averages_rates(summary):
    counties = summary[summary[S.LEVEL] == "county"]
    # counts add up level by level
    assert counties[S.N_PROJECTS].sum() == summary.loc[S.PROVINCE_CODE, S.N_PROJECTS]
    assert counties[S.POOR_POPULATION].sum() == summary.loc[PREF_A, S.POOR_POPULATION]
    # the average of the counties' completion (0.8 and 2/3) is not the province's 10/13
    mean_of_rates = counties[S.COMPLETION].mean()
    assert mean_of_rates == pytest.approx((0.8 + 2 / 3) / 2)
    assert summary.loc[S.PROVINCE_CODE, S.COMPLETION] == pytest.approx(10 / 13)
    assert not np.isclose(mean_of_rates, summary.loc[S.PROVINCE_CODE, S.COMPLETION])


def test_aggregate_exit_by_changes_only_exits(tiny_units, tiny_registry, located):
    late = M.aggregate(tiny_units, tiny_registry, located, exit_by=2020).set_index(S.CODE)
    early = M.aggregate(tiny_units, tiny_registry, located, exit_by=2018).set_index(S.CODE)
    assert early.loc[S.PROVINCE_CODE, S.EXIT_PROGRESS] == pytest.approx(1 / 4)
    assert late.loc[S.PROVINCE_CODE, S.EXIT_PROGRESS] == pytest.approx(3 / 4)
    assert (early[S.N_PROJECTS] == late[S.N_PROJECTS]).all()


def test_aggregate_zones_from_county_sums(summary, tiny_zone_members):
    zones = M.aggregate_zones(summary.reset_index(), tiny_zone_members).set_index(S.ZONE)
    border = zones.loc["边境地区"]
    assert border["counties"] == 2
    assert border[S.N_PROJECTS] == 3
    assert border[S.COVERAGE] == pytest.approx(90 / 100)
    assert border[S.COUNTY_LIBRARIES] == 1
    assert zones.loc["深度区", S.COMPLETION] == pytest.approx(8 / 10)


def test_aggregate_zones_rejects_non_county_codes(summary):
    members = pd.DataFrame({S.ZONE: ["怒江州"], S.CODE: [V1]})
    with pytest.raises(LedgerError, match="no county of region_summary"):
        M.aggregate_zones(summary.reset_index(), members)


def test_kpis_are_plain_values_with_none_for_nan(summary):
    province = M.kpis(summary.loc[S.PROVINCE_CODE])
    assert province["projects"] == 13
    assert isinstance(province["projects"], int)
    assert province["completion"] == pytest.approx(10 / 13)
    assert province["village_plans"] == 5
    empty = M.kpis(summary.loc[PREF_B])
    assert empty["completion"] is None
    assert empty["projects"] == 0


def test_kpis_compute_missing_rates():
    row = {S.N_PROJECTS: 4, S.N_COMPLETED: 1, S.POOR_POPULATION: 0, S.COVERED_CAPPED: 0}
    out = M.kpis(row)
    assert out["completion"] == 0.25
    assert out["coverage"] is None


def test_prepare_projects_does_not_mutate(tiny_projects):
    before = tiny_projects.copy()
    prepared = M.prepare_projects(tiny_projects)
    assert M.is_prepared(prepared)
    assert M.prepare_projects(prepared) is prepared
    pd.testing.assert_frame_equal(tiny_projects, before)


def test_prepare_projects_names_missing_column(tiny_projects):
    with pytest.raises(LedgerError, match="lack column 'status'"):
        M.prepare_projects(tiny_projects.drop(columns=S.STATUS))


@pytest.mark.parametrize("as_category", [False, True])
def test_crosstab_counts_and_ignores_unknown(as_category):
    rows = pd.Series(["a", "b", "a", None, "z", "a"])
    cols = pd.Series(["x", "y", "x", "x", "x", "q"])
    if as_category:
        rows, cols = rows.astype("category"), cols.astype("category")
    out = M.crosstab(rows, cols, index=["a", "b", "c"], columns=["x", "y"])
    assert out.to_numpy().tolist() == [[2, 0], [0, 1], [0, 0]]
    weighted = M.crosstab(rows, cols, index=["a"], columns=["x"], weights=np.arange(6.0))
    assert weighted.iloc[0, 0] == 0.0 + 2.0


def test_crosstab_of_empty_categorical():
    rows = pd.Series([None, None], dtype="str").astype("category")
    out = M.crosstab(rows, pd.Series(["x", "x"]), index=["a"], columns=["x"])
    assert out.iloc[0, 0] == 0


def test_missing_inputs_are_named(tiny_units, tiny_registry, located):
    with pytest.raises(LedgerError, match=r"registry lacks cause columns \['cause_water'\]"):
        M.matched_households(tiny_registry.drop(columns="cause_water"), located)
    with pytest.raises(LedgerError, match="admin_units lack column 'has_tasks'"):
        M.aggregate(tiny_units.drop(columns=S.HAS_TASKS), tiny_registry, located)


def test_fund_sums_are_project_counts_bit_for_bit(tiny_projects):
    """The prefecture and province funds from the fund columns alone equal those of the
    prepared projects exactly (same float summation), at a size where the order matters."""
    rng = np.random.default_rng(7)
    many = pd.concat([tiny_projects] * 400, ignore_index=True)
    counties = np.array([COUNTY_A, COUNTY_B, "530201000000", None], dtype=object)
    many[S.COUNTY_CODE] = pd.array(counties[rng.integers(0, 4, len(many))], dtype="str")
    for col in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
        values = rng.random(len(many)) * 10.0 ** rng.integers(-3, 6, len(many))
        values[rng.random(len(many)) < 0.05] = np.nan
        many[col] = values
    funds = [S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT]
    for level in ("prefecture", "province"):
        expected = M.project_counts(M.prepare_projects(many), level=level)[funds]
        got = M.fund_sums(many, level=level)
        assert list(got.index) == list(expected.index)
        assert np.array_equal(got.to_numpy(), expected.to_numpy())
    assert sorted(M.fund_sums(many, level="prefecture").index) == [PREF_A, PREF_B]
