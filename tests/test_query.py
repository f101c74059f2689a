"""View queries: filters, children/region/zone summaries, agreement with a full re-aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import (
    COUNTY_A,
    PREF_A,
    PREF_B,
    make_projects,
    make_registry,
    make_units,
    make_zone_members,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import locate_projects
from layers.errors import OneMapError
from layers.present import query as Q


@pytest.fixture(scope="module")
def world():
    units, registry = make_units(), make_registry()
    located = locate_projects(units, make_projects())[0]
    summary = M.aggregate(units, registry, located)
    return units, registry, located, M.prepare_projects(located), summary


def test_filter_normalises_and_hashes():
    flt = Q.ProjectFilter(sectors=["water", "industry", "water"], years=[2016, 2018], statuses=())
    assert flt.sectors == ("water", "industry")
    assert flt.years == (2016, 2018)
    assert flt.statuses is None
    assert hash(flt) == hash(Q.ProjectFilter(sectors=("water", "industry"), years=(2016, 2018)))
    assert Q.ProjectFilter(sectors=(), years=None).is_empty


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sectors": ["mining"]}, r"sectors got \['mining'\]"),
        ({"statuses": "done"}, r"statuses got \['done'\]"),
        ({"years": (2020, 2016)}, "first year must not be after the last"),
        ({"years": (2016,)}, r"expected \(first, last\) integers"),
    ],
)
def test_filter_rejects_bad_values(kwargs, match):
    with pytest.raises(OneMapError, match=match):
        Q.ProjectFilter(**kwargs)


def test_describe_zh():
    flt = Q.ProjectFilter(
        sectors=("industry", "water"),
        years=(2016, 2020),
        statuses=("completed",),
        fund_sources=("central",),
    )
    assert flt.describe_zh() == (
        "行业：特色产业、饮水安全；年度：2016–2020；状态：已完工；资金来源：中央财政专项"
    )
    assert Q.ProjectFilter(years=(2019, 2019)).describe_zh() == "年度：2019"
    assert Q.NO_FILTER.describe_zh() == "全部项目"


def test_filter_projects(world):
    prepared = world[3]
    assert Q.filter_projects(prepared, Q.NO_FILTER) is prepared
    industry = Q.filter_projects(prepared, Q.ProjectFilter(sectors=("industry",)))
    assert sorted(industry[S.PROJECT_ID]) == ["P01", "P07", "P09"]
    late = Q.filter_projects(
        prepared, Q.ProjectFilter(years=(2019, 2020), fund_sources=("central", "integrated"))
    )
    assert sorted(late[S.PROJECT_ID]) == ["P05", "P10", "P13"]


def test_children_without_filter_are_the_summary_rows(world):
    summary = world[4]
    kids = Q.summarise_children(summary, world[3], S.PROVINCE_CODE, Q.NO_FILTER)
    assert kids[S.CODE].tolist() == [PREF_A, PREF_B]
    counties = Q.summarise_children(summary, None, S.PROVINCE_CODE, level="county")
    assert len(counties) == 3


def test_children_under_filter_keep_registry_metrics(world):
    summary, prepared = world[4], world[3]
    flt = Q.ProjectFilter(sectors=("industry",))
    kids = Q.summarise_children(summary, prepared, PREF_A, flt).set_index(S.CODE)
    assert kids.loc[COUNTY_A, S.N_PROJECTS] == 2  # P01, P07
    assert kids.loc[COUNTY_A, S.COMPLETION] == 1.0
    # the poor population and coverage do not depend on project filters
    full = summary.set_index(S.CODE)
    assert kids.loc[COUNTY_A, S.POOR_POPULATION] == full.loc[COUNTY_A, S.POOR_POPULATION]
    assert kids.loc[COUNTY_A, S.COVERAGE] == full.loc[COUNTY_A, S.COVERAGE]
    # the summary itself is untouched
    assert full.loc[COUNTY_A, S.N_PROJECTS] == 10


def test_children_level_must_be_below(world):
    with pytest.raises(OneMapError, match="expected a level below 'county'"):
        Q.summarise_children(world[4], None, COUNTY_A, level="prefecture")
    with pytest.raises(OneMapError, match="not in region_summary"):
        Q.summarise_children(world[4], None, "539900000000")


def test_region_under_filter(world):
    summary, prepared = world[4], world[3]
    row = Q.summarise_region(
        summary, prepared, S.PROVINCE_CODE, Q.ProjectFilter(years=(2019, 2020))
    )
    kpis = M.kpis(row)
    assert kpis["projects"] == 6  # P05, P07, P08, P09, P10, P13
    assert kpis["completion"] == pytest.approx(4 / 6)
    assert kpis["coverage"] == pytest.approx(200 / 220)


def test_zones_under_filter(world):
    summary, prepared = world[4], world[3]
    zones = Q.summarise_zones(
        summary, prepared, make_zone_members(), Q.ProjectFilter(statuses=("completed",))
    ).set_index(S.ZONE)
    assert zones.loc["深度区", S.N_PROJECTS] == 6  # P01 P04 P06 P08 P11 P13
    assert zones.loc["边境地区", S.N_PROJECTS] == 2  # P09 P12
    one = Q.summarise_zone(summary, prepared, make_zone_members(), "边境地区")
    assert one[S.N_PROJECTS] == 3
    with pytest.raises(OneMapError, match="zone '怒江州' is unknown"):
        Q.summarise_zone(summary, prepared, make_zone_members(), "怒江州")


filters = st.builds(
    Q.ProjectFilter,
    sectors=st.none() | st.lists(st.sampled_from(S.SECTORS), max_size=3),
    years=st.none() | st.tuples(st.integers(2016, 2018), st.integers(2018, 2020)),
    statuses=st.none() | st.lists(st.sampled_from(S.STATUSES), max_size=3),
    fund_sources=st.none() | st.lists(st.sampled_from(S.FUND_SOURCES), max_size=3),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flt=filters)
def test_query_matches_full_reaggregation(world, flt):
    units, registry, located, prepared, summary = world
    expected = M.aggregate(units, registry, Q.filter_projects(located, flt)).set_index(S.CODE)
    for region, level in ((S.PROVINCE_CODE, "prefecture"), (PREF_A, "township")):
        got = Q.summarise_children(summary, prepared, region, flt, level=level).set_index(S.CODE)
        cols = [*M.PROJECT_COUNT_COLUMNS, S.COMPLETION, S.FUNDS_EXECUTION, S.SIX_FIXES_RATE]
        pd.testing.assert_frame_equal(
            got[cols], expected.loc[got.index, cols], check_dtype=False, check_names=False
        )
        # registry-based figures stay those of the unfiltered summary
        fixed = [*M.REGISTRY_COUNT_COLUMNS, S.COVERAGE, S.EXIT_PROGRESS, S.MATCHED_REMEDY]
        pd.testing.assert_frame_equal(
            got[fixed], summary.set_index(S.CODE).loc[got.index, fixed], check_names=False
        )


def _synthetic_projects(n: int, seed: int = 1) -> pd.DataFrame:
    """n projects spread over 16 × 8 counties × 10 townships × 10 villages (no geometry)."""
    rng = np.random.default_rng(seed)
    pref = rng.integers(1, 17, n)
    county = rng.integers(1, 9, n)
    town = rng.integers(1, 11, n)
    village = rng.integers(1, 11, n)
    c = pd.Series([f"53{p:02d}{q:02d}" for p, q in zip(pref, county, strict=True)])
    t = c + pd.Series([f"{x:03d}" for x in town])
    v = t + pd.Series([f"{x:03d}" for x in village])
    wide = rng.random(n) < 0.02
    return pd.DataFrame(
        {
            S.PROJECT_ID: [f"P{i:06d}" for i in range(n)],
            S.COUNTY_CODE: c.str.ljust(12, "0"),
            S.TOWNSHIP_CODE: t.str.ljust(12, "0").where(~wide),
            S.VILLAGE_CODE: v.where(~wide),
            S.SECTOR: rng.choice(S.SECTORS, n),
            S.PLAN_YEAR: rng.integers(2016, 2021, n),
            S.STATUS: rng.choice(S.STATUSES, n, p=[0.01, 0.005, 0.008, 0.5, 0.477]),
            S.FUNDS_PLANNED: rng.gamma(2, 30, n),
            S.FUNDS_ALLOCATED: rng.gamma(2, 30, n),
            S.FUNDS_SPENT: rng.gamma(2, 28, n),
            S.FUND_SOURCE: rng.choice(S.FUND_SOURCES, n),
            S.PLAN_YEAR + "_": 0,
            S.APPROVAL_REF: "x",
            S.PUBLIC_NOTICE_DATE: pd.Timestamp("2018-01-01"),
            S.RESPONSIBLE_UNIT: "y",
            S.INSPECTION_RESULT: "合格",
        }
    ).drop(columns=S.PLAN_YEAR + "_")


def test_filter_change_at_full_scale_counts_every_project():
    """192,000 projects: a filter change re-summarises every county (its time is in
    benchmarks/bench_dashboard.py, not asserted here)."""
    projects = M.prepare_projects(_synthetic_projects(192_000))
    codes = pd.unique(projects[M._KEY["county"]].astype("str"))
    rows = pd.DataFrame(
        {
            S.CODE: [S.PROVINCE_CODE, *sorted({c[:4] + "0" * 8 for c in codes}), *sorted(codes)],
        }
    )
    rows[S.LEVEL] = rows[S.CODE].map(S.level_of)
    rows[S.NAME] = rows[S.CODE]
    rows[S.PARENT_CODE] = rows[S.CODE].map(S.parent_of)
    for col in M.COUNT_COLUMNS:
        rows[col] = 0
    summary = M.add_rates(rows)
    flt = Q.ProjectFilter(sectors=("industry", "water"), years=(2017, 2019))
    kids = Q.summarise_children(summary, projects, S.PROVINCE_CODE, flt, level="county")
    region = Q.summarise_region(summary, projects, S.PROVINCE_CODE, flt)
    assert len(kids) == 128
    assert kids[S.N_PROJECTS].sum() == flt.mask(projects).sum()
    assert int(region[S.N_PROJECTS]) == int(flt.mask(projects).sum())
