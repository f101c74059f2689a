"""AppTests of the 县级项目库, 乡级路线图, 村级施工图 and 重点区域 pages on the tiny store.

The store is built from the hand-countable fixture province of ``conftest.py`` by the real
pipeline (``pipeline.build_tables`` → ``store.write_store``), so the figures below are checked
against the counts in the conftest docstring.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import (
    COUNTY_A,
    TOWN_A1,
    V1,
    V3,
    write_tiny_store,
)
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import pipeline
from layers.present import charts, exits, fmt

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ("views/library.py", "views/roadmap.py", "views/village.py", "views/zones.py")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tiny.gpkg"
    return write_tiny_store(path, demo=True, seed=0, scale=0)


def _opener(store_path: Path, monkeypatch: pytest.MonkeyPatch, *, timeout: float):
    """A function that runs ``app.py`` on ``store_path`` at ``page`` with ``query`` in the URL
    and returns the AppTest (no exception, no error shown).

    ``switch_page`` before the first run names the page by its file, which is the page's
    ``url_path`` in ``app.py``'s navigation: ``app.py`` runs, draws the sidebar, opens the page.
    """
    monkeypatch.setenv("ONEMAP_STORE", str(store_path))

    def _open(page: str, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=timeout)
        at.switch_page(page)  # query params set before switching would be lost
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return _open


@pytest.fixture
def open_page(tiny_store: Path, monkeypatch: pytest.MonkeyPatch):
    """Open a page on the tiny store."""
    return _opener(tiny_store, monkeypatch, timeout=60)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.main.metric}


def _text(at: AppTest) -> str:
    parts = [
        e.value for kind in ("title", "subheader", "markdown", "caption") for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_a_region(open_page, page: str) -> None:
    at = open_page(page)
    assert at.title[0].value in {"县级项目库", "乡级路线图", "村级施工图", "重点区域"}


@pytest.mark.parametrize(
    ("page", "region", "label"),
    [
        ("views/library.py", COUNTY_A, "甲县"),
        ("views/roadmap.py", TOWN_A1, "一乡"),
        ("views/village.py", V1, "一村"),
    ],
)
def test_region_in_query_string_opens_it(open_page, page: str, region: str, label: str) -> None:
    at = open_page(page, region=region)
    assert label in at.main.subheader[0].value
    assert _metrics(at)  # the unit's figures are shown, not the picker
    assert not [s for s in at.main.selectbox if s.label.startswith("选择")]


def test_library_figures_and_downloads(open_page) -> None:
    at = open_page("views/library.py", region=COUNTY_A)
    kpis = _metrics(at)
    # 甲县: P01–P08, county-wide P11 and P13 → 10 projects, 8 completed, planned 780万元
    assert kpis["项目数"] == "10个"
    assert kpis["完工率"] == "80.0%"
    assert kpis["计划资金"] == "780万元"
    table = at.main.dataframe[0].value
    assert len(table) == 10 and "六定缺项" in table.columns
    labels = [b.label for b in at.get("download_button")]
    assert any("XLSX" in lab for lab in labels) and any("CSV" in lab for lab in labels)


def test_library_search_narrows_the_table(open_page) -> None:
    at = open_page("views/library.py", region=COUNTY_A)
    at.text_input(key="library_search").input("饮水").run()
    table = at.main.dataframe[0].value
    assert set(table["项目编号"]) == {"P02"}  # P10 (饮水) lies in 乙县
    assert "共 1 个项目" in _text(at)


def test_sector_filter_changes_the_figures(open_page) -> None:
    # the filter comes through the URL, exactly as a copied link carries it
    plain = open_page("views/library.py", region=COUNTY_A)
    at = open_page("views/library.py", region=COUNTY_A, sectors="industry")
    assert _metrics(plain)["项目数"] == "10个"
    kpis = _metrics(at)
    assert kpis["项目数"] == "2个"  # P01, P07
    assert kpis["计划资金"] == "160万元"
    assert "行业：特色产业" in at.main.subheader[0].value
    assert set(at.main.dataframe[0].value["项目编号"]) == {"P01", "P07"}


def test_sidebar_filter_changes_the_figures_and_the_url(open_page) -> None:
    at = open_page("views/library.py", region=COUNTY_A)
    at.sidebar.multiselect(key="sb_sectors").select("water").run()
    assert not at.exception
    kpis = _metrics(at)
    assert kpis["项目数"] == "1个"  # P02
    assert kpis["完工率"] == "100.0%"
    assert at.query_params["sectors"] == "water"
    assert at.query_params["region"] == COUNTY_A


def test_sector_filter_in_url_changes_the_zone_ranking(open_page) -> None:
    plain = open_page("views/zones.py")
    filtered = open_page("views/zones.py", sectors="water")
    before = plain.main.dataframe[-2].value.set_index("名称")
    after = filtered.main.dataframe[-2].value.set_index("名称")
    assert before.loc["甲县", "项目数"] == 10
    assert after.loc["甲县", "项目数"] == 1  # P02 is 甲县's only water project
    assert after.loc["乙县", "项目数"] == 1  # P10


def test_picker_opens_the_county_and_writes_the_url(open_page) -> None:
    at = open_page("views/library.py")
    assert not _metrics(at)
    at.selectbox(key="library_pick").select(COUNTY_A).run()
    assert "甲县" in at.main.subheader[0].value
    assert _metrics(at)["项目数"] == "10个"
    assert at.query_params["region"] == COUNTY_A  # a copied link reopens the county


def test_roadmap_year_slider_plays_forward(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1)
    kpis = _metrics(at)
    assert kpis["至2020年已出列"] == "2 / 2"  # 一村 2017, 二村 2019
    assert kpis["至2020年完工项目"] == "3 / 5"  # P01 2016, P02 2017, P04 2018
    at.slider(key="roadmap_year").set_value(2017).run()
    kpis = _metrics(at)
    assert kpis["至2017年已出列"] == "1 / 2"
    assert kpis["至2017年完工项目"] == "2 / 5"
    assert at.query_params["year"] == "2017"  # a copied link reopens the same year
    at.button(key="roadmap_play").click().run()
    assert at.slider(key="roadmap_year").value == 2018
    assert _metrics(at)["至2018年完工项目"] == "3 / 5"
    assert at.query_params["year"] == "2018"


def test_roadmap_year_from_the_url(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1, year="2016")
    assert at.slider(key="roadmap_year").value == 2016
    assert _metrics(at)["至2016年已出列"] == "0 / 2"
    assert _metrics(at)["至2016年完工项目"] == "1 / 5"  # P01


def test_village_plan_shows_registry_and_missing_fixes(open_page) -> None:
    at = open_page("views/village.py", region=V3)
    kpis = _metrics(at)
    assert kpis["贫困人口"] == "20人"
    assert kpis["覆盖率"] == "100.0%"  # covered 25 is capped at the 20 poor
    assert kpis["实际出列"] == "未出列"
    table = at.main.dataframe[0].value
    by_id = dict(zip(table["项目编号"], table["六定缺项"], strict=True))
    assert by_id["P06"] == ""  # only completion_date missing: not one of the six fixes
    assert "项目 " in _text(at)


def test_zones_page_compares_zones_and_ranks_laggards(open_page) -> None:
    at = open_page("views/zones.py")
    frames = [d.value for d in at.main.dataframe]
    zones = frames[0]
    assert set(zones["区域"]) == {"深度区", "边境地区", "全省"}
    ranking = frames[-2]  # 完工率最低 tab: 乙县 2/3 completed, 甲县 8/10
    assert ranking["名称"].tolist() == ["乙县", "甲县"]
    assert ranking["排名"].tolist() == [1, 2]


def test_roadmap_follows_the_sector_filter(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1, sectors="industry")
    kpis = _metrics(at)
    assert kpis["至2020年完工项目"] == "1 / 1"  # P01 is 一乡's only industry project
    assert kpis["至2020年已出列"] == "2 / 2"  # village exits do not depend on project filters
    assert kpis["计划资金"] == "100万元"


@pytest.mark.parametrize(
    ("page", "region", "title", "metric"),
    [
        ("views/library.py", COUNTY_A, "County project library", "Projects"),
        ("views/roadmap.py", TOWN_A1, "Township route map", "Exited by 2020"),
        ("views/village.py", V1, "Village construction plan", "Poor population"),
        ("views/zones.py", None, "Priority zones", "Lowest completion"),
    ],
)
def test_english_switch_translates_the_page(
    open_page, page: str, region: str | None, title: str, metric: str
) -> None:
    query = {"lang": "en", **({"region": region} if region else {})}
    at = open_page(page, **query)
    assert at.title[0].value == title
    shown = set(_metrics(at)) | {tab.label for tab in at.tabs}
    assert metric in shown
    for chart in at.get("vega_lite_chart"):  # figure titles and labels follow the language
        spec = chart.proto.spec
        assert "计划资金" not in spec and "完工率" not in spec and "年度" not in spec


def test_library_tabs_compute_only_the_open_one(open_page) -> None:
    at = open_page("views/library.py", region=COUNTY_A)
    assert not at.get("vega_lite_chart")  # the project list is open: no chart built
    at.session_state["library_tab"] = "乡镇完工率与覆盖率"
    at.run()
    assert len(at.get("vega_lite_chart")) == 2  # completion and coverage by township
    towns = at.main.dataframe[0].value.set_index("名称")
    assert towns.loc["一乡", "完工率(%)"] == 60.0  # P01, P02, P04 of P01–P05
    assert towns.loc["二乡", "完工率(%)"] == 100.0  # P06, P07, P08, P13
    at.session_state["library_tab"] = "行业与资金来源"
    at.run()
    assert len(at.get("vega_lite_chart")) == 2  # sectors and fund sources


# --- on the generated demo province (slow: builds a 5% demo store) ---------------------------
@pytest.fixture(scope="module")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo_small.gpkg"
    pipeline.run_demo(path, scale=0.05)
    return path


@pytest.fixture
def open_demo(demo_small: Path, monkeypatch: pytest.MonkeyPatch):
    """Open a page on the 5% demo store."""
    return _opener(demo_small, monkeypatch, timeout=120)


@pytest.mark.slow
def test_demo_nujiang_pages_open_from_the_url(open_demo, demo_small: Path) -> None:
    """泸水's library, one of its route maps and one of its village plans open from a link."""
    towns = store.read_layer(demo_small, S.LAYER_TOWNSHIP_ROADMAP)
    town = towns[towns[S.CODE].str.startswith("533301")].iloc[0]
    plans = store.read_layer(demo_small, S.LAYER_VILLAGE_PLAN)
    village = plans[plans[S.PARENT_CODE] == town[S.CODE]].iloc[0]
    library = open_demo("views/library.py", region="533301000000")
    assert "泸水市" in library.main.subheader[0].value
    assert len(library.main.dataframe[0].value) > 0
    roadmap = open_demo("views/roadmap.py", region=town[S.CODE])
    assert town[S.NAME] in roadmap.main.subheader[0].value
    assert roadmap.get("component_instance")  # the route map is drawn
    plan = open_demo("views/village.py", region=village[S.CODE])
    assert village[S.NAME] in plan.main.subheader[0].value
    assert _metrics(plan)["贫困人口"].endswith("人")


@pytest.mark.slow
def test_demo_zones_spotlight_nujiang_and_diqing(open_demo, demo_small: Path) -> None:
    zones = store.read_layer(demo_small, S.TABLE_ZONE_SUMMARY).set_index(S.ZONE)
    at = open_demo("views/zones.py")
    cards = [m.value for m in at.main.metric]
    assert fmt.fmt_pct(zones.loc["怒江州", S.COMPLETION]) in cards
    assert fmt.fmt_pct(zones.loc["迪庆州", S.COVERAGE]) in cards
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    assert "在地图上打开怒江州" in links and "在地图上打开迪庆州" in links


@pytest.mark.slow
def test_demo_zone_filter_limits_the_county_picker(open_demo) -> None:
    at = open_demo("views/library.py", zone="怒江州")
    options = at.selectbox(key="library_pick").options
    assert len(options) == 5  # "— 请选择 —" + 怒江州's 4 counties
    assert all("怒江" in o for o in options[1:])


def _map_fills(at: AppTest) -> list[str]:
    """Fill colours of the map's features in drawing order (villages, then project points)."""
    maps = at.get("component_instance")
    assert maps, "no st_folium map on the page"
    return re.findall(r'"_fill": "(#[0-9a-f]{6})"', json.loads(maps[0].proto.json_args)["script"])


def test_route_map_colours_play_forward(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1, year="2017")
    exit_2017, exit_2018 = exits.EXIT_YEAR_COLOURS[2017], exits.EXIT_YEAR_COLOURS[2018]
    industry, water = charts.SECTOR_COLOURS["industry"], charts.SECTOR_COLOURS["water"]
    # 一村 (exit 2017) in the exited layer, 二村 (plan 2018) faded; P01, P02 done, P03–P05 not
    assert _map_fills(at) == [exit_2017, exit_2018, industry, water, *["#ffffff"] * 3]
    at.button(key="roadmap_play").click().run()  # 2018: P04 (infrastructure) completes
    fills = _map_fills(at)
    assert fills[3:] == [water, "#ffffff", charts.SECTOR_COLOURS["infrastructure"], "#ffffff"]


def test_village_map_colours_projects_by_sector(open_page) -> None:
    at = open_page("views/village.py", region=V1)
    sectors = [charts.SECTOR_COLOURS[k] for k in ("industry", "water", "health")]  # P01–P03
    assert _map_fills(at)[1:] == sectors


@pytest.mark.parametrize("page", PAGES)
def test_pages_survive_a_filter_that_keeps_no_project(open_page, page: str) -> None:
    region = {"views/library.py": COUNTY_A, "views/roadmap.py": TOWN_A1, "views/village.py": V1}
    at = open_page(
        page, sectors="relocation", **({"region": region[page]} if page in region else {})
    )
    kpis = _metrics(at)
    if page == "views/library.py":
        assert kpis["项目数"] == "0个" and kpis["完工率"] == "—"
        for tab in ("行业与资金来源", "乡镇完工率与覆盖率", "年度项目与资金"):
            at.session_state["library_tab"] = tab
            at.run()
            assert not at.exception and not at.error, tab
    if page == "views/roadmap.py":
        assert kpis["至2020年完工项目"] == "0 / 0"


@pytest.mark.parametrize(
    ("page", "region", "key"),
    [("views/roadmap.py", TOWN_A1, "roadmap_export"), ("views/village.py", V1, "village_export")],
)
def test_map_pages_offer_an_export_on_demand(open_page, page: str, region: str, key: str) -> None:
    at = open_page(page, region=region)
    assert f"{key}_go" in [b.key for b in at.button]
    assert not [d for d in at.get("download_button") if d.proto.label == "下载 PNG"]
    at.button(key=f"{key}_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "下载 PNG" in [d.proto.label for d in at.get("download_button")]
