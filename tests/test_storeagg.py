"""Project counts summed by the store's database (``layers.storeagg``): the same figures from a
GeoPackage (SQLite), from PostGIS and from the projects in memory (``metrics.project_counts``),
for every level, several filters and regions; a county session on PostGIS counts only its own
projects and the summaries say "unknown" (NaN) for the regions it does not see whole."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    COUNTY_A,
    COUNTY_B,
    PREF_A,
    V1,
    make_projects,
    make_registry,
    make_units,
    make_zone_members,
)
from streamlit.testing.v1 import AppTest

from layers import pgstore, store, storeagg
from layers import schema as S
from layers.accounts import Accounts
from layers.build import metrics as M
from layers.build import pipeline
from layers.errors import StoreError
from layers.present import query, view

TOWN_A1, TOWN_B1 = "530102001000", "530103001000"
FILTERS = [
    query.NO_FILTER,
    query.ProjectFilter(sectors=("industry",)),
    query.ProjectFilter(years=(2017, 2019), statuses=("completed", "accepted")),
    query.ProjectFilter(fund_sources=("central", "provincial"), sectors=("industry", "water")),
    query.ProjectFilter(sectors=("housing",), years=(2016, 2016)),  # nothing passes
]
REGIONS = [None, COUNTY_A, TOWN_A1, V1]


def _odd_store(path: str | Path) -> None:
    """The tiny province with ledger oddities: a blank responsible unit (no six fixes), unknown
    planned funds (not summed, no six fixes) and a project without township or village."""
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    tables = pipeline.build_tables(inputs, zone_members=make_zone_members())
    p = tables[S.LAYER_PROJECTS].copy()
    p.loc[p[S.PROJECT_ID] == "P01", S.RESPONSIBLE_UNIT] = "  "
    p.loc[p[S.PROJECT_ID] == "P02", S.FUNDS_PLANNED] = np.nan
    p.loc[p[S.PROJECT_ID] == "P09", [S.TOWNSHIP_CODE, S.VILLAGE_CODE]] = None
    tables[S.LAYER_PROJECTS] = p
    store.write_store(path, tables, pipeline.make_build_info(inputs, source="odd"))


def _in_memory(p: pd.DataFrame, level: str, region: str | None, flt: query.ProjectFilter):
    if region is not None and S.level_of(region) != "province":
        p = p[M.project_key(p, S.level_of(region)) == region]
    counts = M.project_counts(query.filter_projects(p, flt), level=level)
    return counts if level == "province" else counts[counts[S.N_PROJECTS] > 0].sort_index()


def _same(a: pd.DataFrame, b: pd.DataFrame, what: object) -> None:
    pd.testing.assert_frame_equal(a, b, check_index_type=False, obj=str(what))


def _check_against_memory(path: str | Path, reference: str | Path) -> int:
    prepared = M.prepare_projects(store.read_layer(reference, S.LAYER_PROJECTS))
    compared = 0
    for flt in FILTERS:
        for region in REGIONS:
            for level in S.LEVELS:
                if region is not None and S.LEVELS.index(level) < S.LEVELS.index(
                    S.level_of(region)
                ):
                    continue
                got = storeagg.project_counts(
                    path, level, region=region, filters=flt.store_filters()
                )
                _same(got, _in_memory(prepared, level, region, flt), (flt, region, level))
                compared += 1
    return compared


def test_geopackage_counts_in_sql_equal_the_counts_in_memory(tmp_path: Path) -> None:
    gpkg = tmp_path / "odd.gpkg"
    _odd_store(gpkg)
    assert _check_against_memory(gpkg, gpkg) > 50
    province = storeagg.project_counts(gpkg, "province")
    # by hand: 13 projects, 10 completed; P01 (blank unit) and P02 (no funds) lose six fixes
    assert province.loc[S.PROVINCE_CODE].tolist() == [13, 10, 8, 1125.0, 1040.0, 955.0]
    towns = storeagg.project_counts(gpkg, "township")
    assert towns[S.N_PROJECTS].to_dict() == {TOWN_A1: 5, "530102002000": 4, TOWN_B1: 2}


def test_counts_of_a_missing_store_or_a_bad_level_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no store at .*nothing\.gpkg"):
        storeagg.project_counts(tmp_path / "nothing.gpkg", "county")
    gpkg = tmp_path / "odd.gpkg"
    _odd_store(gpkg)
    with pytest.raises(StoreError, match="level was 'hamlet'"):
        storeagg.project_counts(gpkg, "hamlet")
    with pytest.raises(StoreError, match="region '5301' is not a 12-digit unit code"):
        storeagg.project_counts(gpkg, "county", region="5301")
    quoted = storeagg.project_counts(gpkg, "county", filters={S.SECTOR: "x' OR '1'='1"})
    assert quoted.empty  # a value is a bound parameter, never SQL


def test_postgis_counts_equal_the_geopackage_and_memory(tmp_path: Path, pg_url: str) -> None:
    gpkg = tmp_path / "odd.gpkg"
    _odd_store(gpkg)
    _odd_store(pg_url)
    assert _check_against_memory(pg_url, gpkg) > 50
    for flt in FILTERS[:3]:
        for level in S.LEVELS:
            a = storeagg.project_counts(gpkg, level, filters=flt.store_filters())
            b = storeagg.project_counts(pg_url, level, filters=flt.store_filters())
            _same(a, b, (flt, level))


def test_summaries_from_sql_equal_the_summaries_from_the_projects(
    tmp_path: Path, pg_url: str
) -> None:
    gpkg = tmp_path / "odd.gpkg"
    _odd_store(gpkg)
    _odd_store(pg_url)
    summary = store.read_layer(gpkg, S.TABLE_REGION_SUMMARY)
    projects = store.read_layer(gpkg, S.LAYER_PROJECTS)
    members = make_zone_members()
    for path in (gpkg, pg_url):
        sql = query.StoreCounts(
            lambda level, region, flt, path=path: storeagg.project_counts(
                path, level, region=region, filters=flt.store_filters()
            )
        )
        for flt in FILTERS[1:4]:
            for region in (S.PROVINCE_CODE, PREF_A):
                a = view.view_rows(summary, sql, region, flt)
                b = view.view_rows(summary, projects, region, flt)
                pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=f"{path} {flt}")
                ka = view.view_kpi(summary, sql, region, flt, a)
                kb = view.view_kpi(summary, projects, region, flt, b)
                pd.testing.assert_series_equal(ka, kb, check_dtype=False)
            za = query.summarise_zones(summary, sql, members, flt)
            zb = query.summarise_zones(summary, projects, members, flt)
            pd.testing.assert_frame_equal(za, zb, check_dtype=False)


def test_a_county_session_counts_its_own_projects_and_others_are_unknown(
    tmp_path: Path, pg_url: str
) -> None:
    _odd_store(pg_url)
    summary = store.read_layer(pg_url, S.TABLE_REGION_SUMMARY)
    flt = query.ProjectFilter(statuses=("completed", "accepted"))
    with pgstore.use_region(COUNTY_B[:6]):
        # the database gives this session 乙县's projects only, even for the whole province
        own = storeagg.project_counts(pg_url, "county", filters=flt.store_filters())
        assert own[S.N_PROJECTS].to_dict() == {COUNTY_B: 2}  # P09 (odd: no village), P12
        sql = query.StoreCounts(
            lambda level, region, f: storeagg.project_counts(
                pg_url, level, region=region, filters=f.store_filters()
            ),
            visible=COUNTY_B[:6],
        )
        counties = view.view_rows(summary, sql, PREF_A, flt)
        kpi = view.view_kpi(summary, sql, PREF_A, flt, counties)
        mine = view.view_kpi(summary, sql, COUNTY_B, flt, view.view_rows(summary, sql, COUNTY_B))
        zones = query.summarise_zones(summary, sql, make_zone_members(), flt)
    by_code = counties.set_index(S.CODE)
    assert by_code.loc[COUNTY_B, S.N_PROJECTS] == 2 and by_code.loc[COUNTY_B, S.COMPLETION] == 1
    assert np.isnan(by_code.loc[COUNTY_A, S.N_PROJECTS])  # not 0: unknown to this session
    assert np.isnan(kpi[S.N_PROJECTS]) and np.isnan(kpi[S.COMPLETION])  # 甲市 holds 甲县 too
    assert kpi[S.POOR_POPULATION] == 220  # registry figures are stored, not recounted
    assert mine[S.N_PROJECTS] == 2 and mine[S.FUNDS_PLANNED] == 325.0
    zones = zones.set_index(S.ZONE)
    assert zones[S.N_PROJECTS].isna().all()  # 深度区 is 甲县; 边境地区 holds 丙区 too


# --- the pages of a county account on PostGIS ----------------------------------------------------

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse battery staple"


@pytest.mark.slow  # the dashboard twice on the server
def test_a_county_account_sees_its_own_figures_and_the_page_says_what_it_sees(
    pg_url: str, tiny_zones: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _odd_store(pg_url)
    monkeypatch.setenv("ONEMAP_STORE", pg_url)
    monkeypatch.chdir(Path(APP).parent)  # .streamlit/config.toml: a local address
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "users.sqlite"))
    Accounts(tmp_path / "users.sqlite").add("clerk_b", PASSWORD, "county", COUNTY_B, by="test")
    note = "本账户只能读取乙县的项目（数据库行级权限）"
    for page, region in (
        ("views/overview.py", PREF_A),
        ("views/zones.py", PREF_A),
        ("views/overview.py", COUNTY_B),
    ):
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page)
        at.query_params["region"] = region
        at.query_params["sectors"] = "industry"
        at.run()
        at.text_input(key="signin_name").input("clerk_b")
        at.text_input(key="signin_password").input(PASSWORD)
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        captions = " ".join(c.value for c in at.main.caption)
        cards = re.sub(r"<[^>]+>", " ", " ".join(h.body for h in at.main.get("html")))
        if region == COUNTY_B:  # its own county: every figure exact, nothing to explain
            assert note not in captions
            assert re.search(r"项目数\s+1\s+完工率\s+100.0%", cards), cards  # P09
            continue
        assert note in captions, page
        if page == "views/overview.py":
            # 甲市 holds 甲县, whose projects this session cannot read: its count is unknown
            assert re.search(r"项目数\s+—", cards), cards
            table = at.main.dataframe[0].value.set_index("名称")
            assert table.loc["乙县", "项目数"] == 1  # P09, industry, read from the database
            assert pd.isna(table.loc["甲县", "项目数"])  # not 0
