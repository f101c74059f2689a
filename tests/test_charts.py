"""Chart data (hand-countable on the tiny province) and the Altair specs built from it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TOWN_A1, TOWN_A2, TOWN_B1

from layers import schema as S
from layers.errors import OneMapError
from layers.present import charts, exits


def _spec(chart) -> str:
    return json.dumps(chart.to_dict(), ensure_ascii=False)


def test_rate_by_region_sorted_low_to_high_and_drops_undefined() -> None:
    summary = pd.DataFrame(
        {
            S.NAME: ["甲县", "乙县", "丙区"],
            S.COMPLETION: [0.9, 0.5, np.nan],
            S.N_PROJECTS: [9, 2, 0],
        }
    )
    data = charts.rate_by_region_data(summary, S.COMPLETION)
    assert data[S.NAME].tolist() == ["乙县", "甲县"]
    assert data[charts.TEXT].tolist() == ["50.0%", "90.0%"]
    spec = _spec(charts.rate_by_region_chart(summary, S.COMPLETION))
    assert "完工率" in spec and "乙县" in spec


def test_rate_by_region_rejects_unknown_metric() -> None:
    with pytest.raises(OneMapError, match=r"`metric` was 'speed'"):
        charts.rate_by_region_data(pd.DataFrame({S.NAME: ["a"]}), "speed")


def test_breakdown_by_sector_counts_and_funds(tiny_projects: pd.DataFrame) -> None:
    before = tiny_projects.copy()
    data = charts.breakdown_data(tiny_projects, S.SECTOR)
    pd.testing.assert_frame_equal(tiny_projects, before)
    row = data.set_index(S.SECTOR).loc["industry"]
    assert row[S.N_PROJECTS] == 3  # P01, P07, P09
    assert row[S.N_COMPLETED] == 3
    assert row[S.FUNDS_PLANNED] == pytest.approx(460)
    assert row[charts.LABEL] == "特色产业"
    assert data[S.N_PROJECTS].sum() == 13
    assert data[S.N_PROJECTS].is_monotonic_decreasing
    assert data[charts.SHARE].sum() == pytest.approx(1.0)
    assert row[charts.TEXT] == "3个（23.1%）"


def test_breakdown_by_fund_source_and_bad_key(tiny_projects: pd.DataFrame) -> None:
    data = charts.breakdown_data(tiny_projects, S.FUND_SOURCE)
    assert data[S.N_PROJECTS].sum() == 13
    assert set(data[charts.LABEL]) <= set(S.FUND_SOURCE_LABELS_ZH.values())
    assert "资金来源" in _spec(charts.breakdown_chart(tiny_projects, S.FUND_SOURCE))
    with pytest.raises(OneMapError, match=r"`by` was 'colour'"):
        charts.breakdown_data(tiny_projects, "colour")


def test_by_year_matches_the_ledger(tiny_projects: pd.DataFrame) -> None:
    data = charts.by_year_data(tiny_projects).set_index(S.YEAR)
    assert data.index.tolist() == [2016, 2017, 2018, 2019, 2020]
    assert data[S.N_PROJECTS].sum() == 13
    assert data.loc[2019, S.N_PROJECTS] == 4  # P05, P07, P08, P09
    assert data.loc[2019, S.N_COMPLETED] == 3
    assert data[S.FUNDS_PLANNED].sum() == pytest.approx(1175)
    assert data[S.FUNDS_SPENT].sum() == pytest.approx(955)
    spec = _spec(charts.by_year_chart(tiny_projects))
    assert "计划资金" in spec and "已支付资金" in spec and "亿" in spec  # 万/亿 axis labels


def _roadmap_years() -> pd.DataFrame:
    rows = []
    for code, planned, actual in (
        (TOWN_A1, {2017: 1, 2018: 1}, {2017: 1, 2019: 1}),
        (TOWN_A2, {2019: 1}, {}),
        (TOWN_B1, {2020: 1}, {2020: 1}),
    ):
        for year in range(2016, 2021):
            rows.append(
                {
                    S.CODE: code,
                    S.YEAR: year,
                    S.VILLAGES_PLANNED_EXIT: planned.get(year, 0),
                    S.VILLAGES_ACTUAL_EXIT: actual.get(year, 0),
                    S.PROJECTS_PLANNED: 1,
                    S.N_COMPLETED: 1 if year < 2019 else 0,
                    S.FUNDS_PLANNED_YEAR: 10.0,
                    S.FUNDS_SPENT_YEAR: 5.0,
                }
            )
    return pd.DataFrame(rows)


def test_roadmap_years_long_sums_selected_townships() -> None:
    long = exits.roadmap_years_long(_roadmap_years(), [TOWN_A1, TOWN_A2])
    wide = long.pivot(index=S.YEAR, columns=charts.SERIES, values=charts.VALUE)
    assert wide["计划出列村"].tolist() == [0, 1, 1, 1, 0]
    assert wide["实际出列村"].tolist() == [0, 1, 0, 1, 0]
    assert wide["计划项目"].tolist() == [2] * 5
    assert set(long["kind"]) == {"出列村", "项目"}
    everything = exits.roadmap_years_long(_roadmap_years())
    assert everything[charts.VALUE].sum() > long[charts.VALUE].sum()


def test_roadmap_years_chart_marks_the_slider_year() -> None:
    spec = _spec(exits.roadmap_years_chart(_roadmap_years(), [TOWN_A1], year=2018))
    assert "datum.year <= 2018" in spec
    assert "计划出列村" in spec and "完工项目" in spec


def test_causes_from_registry(tiny_registry: pd.DataFrame) -> None:
    data = charts.causes_data(tiny_registry)
    by = data.set_index("cause")[charts.VALUE]
    assert by["water"] == 6 and by["illness"] == 6 and by["funds"] == 15
    assert data[charts.VALUE].sum() == 60  # every poor household has one main cause
    assert data[charts.LABEL].iloc[0] == "缺资金"
    spec = _spec(charts.causes_chart(tiny_registry))
    assert "因病" in spec and "缺技术" not in spec  # zero causes are left out of the figure


def test_zones_against_the_province() -> None:
    zones = pd.DataFrame(
        {
            S.ZONE: ["怒江州", "迪庆州"],
            S.COMPLETION: [0.9, 0.95],
            S.COVERAGE: [0.97, 0.99],
            S.FUNDS_EXECUTION: [0.8, np.nan],
        }
    )
    province = pd.Series({S.COMPLETION: 0.977, S.COVERAGE: 0.989, S.FUNDS_EXECUTION: 0.9})
    data = charts.zones_compare_data(zones, province, (S.COMPLETION, S.FUNDS_EXECUTION))
    assert len(data) == 6
    prov = data[data["group"] == charts.PROVINCE_LABEL].set_index("metric")
    assert prov.loc[S.COMPLETION, charts.TEXT] == "97.7%"
    assert (
        data[(data["group"] == "迪庆州") & (data["metric"] == S.FUNDS_EXECUTION)][
            charts.TEXT
        ].item()
        == "—"
    )
    spec = _spec(charts.zones_compare_chart(zones, province))
    assert "怒江州" in spec and "全省" in spec and "覆盖率" in spec


def test_exit_timeline_is_cumulative_per_zone(tiny_zone_members: pd.DataFrame) -> None:
    data = exits.exit_timeline_data(_roadmap_years(), tiny_zone_members)
    deep = data[data["group"] == "深度区"].set_index(S.YEAR)  # 甲县: 一乡 + 二乡, 3 planned
    assert deep["exited"].tolist() == [0, 1, 1, 2, 2]
    assert deep[charts.VALUE].iloc[-1] == pytest.approx(2 / 3)
    prov = data[data["group"] == charts.PROVINCE_LABEL].set_index(S.YEAR)
    assert prov[charts.VALUE].iloc[-1] == pytest.approx(3 / 4)
    assert prov[charts.VALUE].is_monotonic_increasing
    spec = _spec(
        exits.exit_timeline_chart(_roadmap_years(), tiny_zone_members, highlight=("深度区",))
    )
    assert "累计出列比例" in spec
    assert set(data["group"]) == {"深度区", "边境地区", charts.PROVINCE_LABEL}


def test_refilter_roadmap_years_recounts_projects_only(tiny_projects: pd.DataFrame) -> None:
    ry = _roadmap_years()
    town = tiny_projects[tiny_projects[S.TOWNSHIP_CODE].eq(TOWN_A1).fillna(False)]
    industry = town[town[S.SECTOR] == "industry"]  # P01: planned and completed in 2016
    out = exits.refilter_roadmap_years(ry, TOWN_A1, industry).set_index(S.YEAR)
    assert out[S.PROJECTS_PLANNED].tolist() == [1, 0, 0, 0, 0]
    assert out[S.N_COMPLETED].tolist() == [1, 0, 0, 0, 0]
    stored = ry[ry[S.CODE] == TOWN_A1].set_index(S.YEAR)
    assert out[S.VILLAGES_ACTUAL_EXIT].tolist() == stored[S.VILLAGES_ACTUAL_EXIT].tolist()
    everything = exits.refilter_roadmap_years(ry, TOWN_A1, town).set_index(S.YEAR)
    assert everything[S.PROJECTS_PLANNED].sum() == 5  # P01–P05
    assert everything[S.N_COMPLETED].tolist() == [1, 1, 1, 0, 0]  # P01 2016, P02 2017, P04 2018


def test_completion_year_uses_the_date_else_the_plan_year(tiny_projects: pd.DataFrame) -> None:
    done = exits.completion_year(tiny_projects)
    years = dict(zip(tiny_projects[S.PROJECT_ID], done, strict=True))
    assert years["P04"] == 2018  # planned 2017, completed 2018-06
    assert years["P06"] == 2018  # completed, no completion_date: plan year
    assert pd.isna(years["P03"])  # in progress


def test_villages_at_year_marks_exits_and_colours(tiny_registry: pd.DataFrame) -> None:
    before = tiny_registry.copy()
    out = exits.villages_at_year(tiny_registry, 2018).set_index(S.VILLAGE_CODE)
    pd.testing.assert_frame_equal(tiny_registry, before)
    assert out["exited_by"].tolist() == [True, False, False, False, False]
    assert out["due_by"].tolist() == [True, True, False, False, False]
    assert out["exit_text"].iloc[1] == "2018年计划 · 应出列未出列"
    en = exits.villages_at_year(tiny_registry, 2018, "en").set_index(S.VILLAGE_CODE)
    assert en["exit_text"].iloc[1] == "planned 2018 · due, not exited"
    assert en["exit_text"].iloc[4] == "planned 2020 · not yet due"
    assert out["exit_colour"].iloc[0] == exits.EXIT_YEAR_COLOURS[2017]
    assert out["exit_colour"].iloc[3] == exits.NOT_PLANNED_COLOUR


def test_data_functions_accept_no_projects(tiny_projects: pd.DataFrame) -> None:
    none = tiny_projects.iloc[0:0]
    assert charts.by_year_data(none).empty
    assert charts.breakdown_data(none, S.SECTOR).empty
    assert charts.by_year_chart(none).to_dict()  # an empty figure, not an error


def test_english_figures_translate_titles_labels_and_expressions(tiny_projects) -> None:
    zones = pd.DataFrame(
        {S.ZONE: ["怒江州"], S.COMPLETION: [0.9], S.COVERAGE: [0.97], S.FUNDS_EXECUTION: [0.8]}
    )
    province = pd.Series({S.COMPLETION: 0.977, S.COVERAGE: 0.989, S.FUNDS_EXECUTION: 0.9})
    spec = charts.zones_compare_chart(zones, province).to_dict()
    en = json.dumps(
        charts.zones_compare_chart(zones, province, lang="en").to_dict(), ensure_ascii=False
    )
    assert "'Province'" in en and '"Province"' in en and "全省" not in en
    assert "Completion" in en and "完工率" not in en
    assert "怒江州" in en  # place names stay
    assert charts.zones_compare_chart(zones, province, lang="zh").to_dict() == spec
    sectors = json.dumps(
        charts.breakdown_chart(tiny_projects, S.SECTOR, lang="en").to_dict(), ensure_ascii=False
    )
    assert "Industry" in sectors and "特色产业" not in sectors and "3 (23.1%)" in sectors
    years = json.dumps(charts.by_year_chart(tiny_projects, lang="en").to_dict())
    assert '"2016"' in years and "Funds planned" in years
