"""AppTests of navigation and honest numbers: Back/Forward runs take the view from the URL,
a table row picked is outlined on the map (and a shape picked on the map comes first in the
table), "—" for no value and one number format per measure in the tables.

The store is the hand-countable tiny province of ``conftest.py``. A real Back/Forward in
Chromium is ``tests/e2e/test_navigation_e2e.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers.present import cards, fmt, i18n
from tests.conftest import COUNTY_A, COUNTY_B, PREF_A, TOWN_A1, TOWN_A2, V1, V2, write_tiny_store
from views import selection, state, widgets

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
HIGHLIGHT = '"color": "#e6550d"'


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tiny.gpkg"
    return write_tiny_store(path, demo=True, seed=0, scale=0)


@pytest.fixture
def open_page(tiny_store: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``app.py`` at ``page`` with ``query`` in the URL (no exception, no error)."""
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))

    def _open(page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        if page:
            at.switch_page(page)
        for key, value in query.items():
            at.query_params[key] = value
        return _run(at)

    return _open


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _map_script(at: AppTest) -> str:
    maps = at.get("component_instance")
    assert maps, "no st_folium map on the page"
    return json.loads(maps[0].proto.json_args)["script"]


# --------------------------------------------------------------------------------------
# Back / Forward
# --------------------------------------------------------------------------------------
def test_back_run_takes_the_view_from_the_url(open_page) -> None:
    """Back reruns the app with the previous entry's query string: its view replaces the
    session's (title, breadcrumb, sidebar), as does Back again."""
    at = open_page(region=PREF_A)
    at.selectbox(key=state.SIDEBAR_KEYS["county"]).set_value(COUNTY_A)
    _run(at)  # drill down: the session's view is 甲县, the URL follows it
    assert at.title[0].value == "总览 · 甲县"
    assert at.query_params["region"] == COUNTY_A

    at.query_params["region"] = PREF_A  # the browser went back to the previous entry
    _run(at)
    assert at.title[0].value == "总览 · 甲市"
    assert at.selectbox(key=state.SIDEBAR_KEYS["prefecture"]).value == PREF_A
    assert at.selectbox(key=state.SIDEBAR_KEYS["county"]).value == state.NONE
    crumbs = [b.label for b in at.main.button if b.key and b.key.startswith("crumb_")]
    assert crumbs == ["云南省 ›", "甲市"]

    del at.query_params["region"]  # back again: the province
    _run(at)
    assert at.title[0].value == "总览 · 云南省"
    assert at.selectbox(key=state.SIDEBAR_KEYS["prefecture"]).value == state.NONE


def test_back_run_restores_filters_and_keeps_the_page(open_page) -> None:
    at = open_page("views/library.py", region=COUNTY_A, sectors="water")
    assert at.multiselect(key=state.SIDEBAR_KEYS["sectors"]).value == ["water"]
    assert "饮水安全" in at.subheader[0].value
    del at.query_params["sectors"]  # the entry before the sector filter
    _run(at)
    assert at.multiselect(key=state.SIDEBAR_KEYS["sectors"]).value == []
    assert "甲县" in at.subheader[0].value and "全部项目" in at.subheader[0].value
    assert at.query_params.get("sectors") is None


def test_widget_reruns_and_page_switches_keep_the_view(open_page) -> None:
    """A rerun whose URL is the one the sidebar wrote keeps the session's view."""
    at = open_page(region=COUNTY_A)
    at.selectbox(key=state.SIDEBAR_KEYS["metric"]).set_value(S.COVERAGE)
    _run(at)
    assert at.title[0].value == "总览 · 甲县"
    assert at.query_params["metric"] == S.COVERAGE
    at.switch_page("views/library.py")
    _run(at)
    assert "甲县" in at.subheader[0].value
    assert at.query_params["region"] == COUNTY_A


# --------------------------------------------------------------------------------------
# table row ↔ map
# --------------------------------------------------------------------------------------
def test_clicked_property_reads_the_feature_st_folium_returns() -> None:
    value = {"last_active_drawing": {"properties": {S.CODE: V2, S.NAME: "二村"}}}
    assert selection.clicked_property(value, S.CODE) == V2
    assert selection.clicked_property(value, S.PROJECT_ID) is None
    assert selection.clicked_property({"last_active_drawing": None}, S.CODE) is None
    assert selection.clicked_property(None, S.CODE) is None


def test_roadmap_row_picked_is_outlined_on_the_map(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1)
    assert HIGHLIGHT not in _map_script(at)
    table = at.main.dataframe[0]
    assert table.proto.selection_mode  # rows can be picked
    assert list(table.value["行政村"]) == ["一村", "二村"]

    at.session_state["roadmap_villages_selected"] = V2  # what picking 二村's row stores
    _run(at)
    script = _map_script(at)
    assert script.count(HIGHLIGHT) == 1
    # the map zooms to 二村: box(100, 25.5, 100.5, 26)
    assert '[[25.5, 100.0], [26.0, 100.5]],\n                {"maxZoom": 15' in script
    assert list(at.main.dataframe[0].value["行政村"]) == ["一村", "二村"]  # order kept


def test_village_clicked_on_the_map_comes_first_selected(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A1)
    at.session_state["roadmap_villages_selected"] = V2  # what clicking 二村 on the map stores
    at.session_state["roadmap_villages_top"] = V2
    _run(at)
    table = at.main.dataframe[0]
    assert list(table.value["行政村"]) == ["二村", "一村"]
    assert json.loads(table.proto.selection_default)["selection"]["rows"] == [0]


def test_overview_row_picked_is_outlined_and_its_table_open(open_page) -> None:
    at = open_page(region=PREF_A)
    assert HIGHLIGHT not in _map_script(at)
    at.session_state["overview_units_selected"] = COUNTY_A
    _run(at)
    assert _map_script(at).count(HIGHLIGHT) == 1
    assert at.expander[0].proto.expanded


def test_overview_unit_clicked_is_selected_and_its_button_drills_down(open_page) -> None:
    """A click on a unit selects it (outline, its row first, the map keeps its view); the
    "进入 … →" button under the map is the drill-down; the breadcrumb back up selects the
    unit one came from."""
    at = open_page(region=PREF_A)
    assert not [b for b in at.main.button if b.key == "overview_drill"]
    fits = _map_script(at).count("fitBounds")
    at.session_state["overview_units_selected"] = COUNTY_B  # what clicking 乙县 on the map stores
    at.session_state["overview_units_top"] = COUNTY_B
    _run(at)
    script = _map_script(at)
    assert script.count(HIGHLIGHT) == 1 and script.count("fitBounds") == fits  # no zoom
    assert at.title[0].value == "总览 · 甲市" and at.query_params["region"] == PREF_A
    table = at.main.dataframe[0]
    assert table.value.iloc[0, 0] == "乙县"
    assert json.loads(table.proto.selection_default)["selection"]["rows"] == [0]
    drill = at.button(key="overview_drill")
    assert drill.label == "进入 乙县 →"
    drill.click()
    _run(at)
    assert at.title[0].value == "总览 · 乙县" and at.query_params["region"] == COUNTY_B
    assert not [b for b in at.main.button if b.key == "overview_drill"]

    at.button(key=f"crumb_{PREF_A}").click()  # back up: 乙县 is selected, outlined
    _run(at)
    assert at.title[0].value == "总览 · 甲市"
    assert _map_script(at).count(HIGHLIGHT) == 1
    assert at.button(key="overview_drill").label == "进入 乙县 →"


def test_library_projects_on_the_map_and_a_row_picked_is_ringed(open_page) -> None:
    """县级项目库: the county's projects with a point are on the map (P11 is county-wide,
    no point), the search narrows map and table alike; a row picked is ringed, a point
    clicked on the map comes first in the table."""
    at = open_page("views/library.py", region=COUNTY_A)
    script = _map_script(at)
    points = set(re.findall(r'"project_id": "(P\d+)"', script))
    assert points == {"P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P13"}
    assert HIGHLIGHT not in script and "onemap-legend" in script  # the sector key
    at.session_state["library_projects_selected"] = "P04"  # what clicking P04's point stores
    at.session_state["library_projects_top"] = "P04"
    _run(at)
    assert _map_script(at).count(HIGHLIGHT) == 1
    table = at.main.dataframe[0]
    assert table.value["项目编号"].iloc[0] == "P04"
    assert json.loads(table.proto.selection_default)["selection"]["rows"] == [0]
    at.text_input(key="library_search").input("饮水")
    _run(at)
    assert set(re.findall(r'"project_id": "(P\d+)"', _map_script(at))) == {"P02"}
    assert list(at.main.dataframe[0].value["项目编号"]) == ["P02"]


def test_village_project_row_picked_is_ringed(open_page) -> None:
    at = open_page("views/village.py", region=V1)
    assert HIGHLIGHT not in _map_script(at)
    at.session_state["village_projects_selected"] = "P02"
    _run(at)
    script = _map_script(at)
    assert script.count(HIGHLIGHT) == 1 and "circleMarker" in script
    assert i18n.t("map_pick_hint", "zh") in " ".join(c.value for c in at.caption)


# --------------------------------------------------------------------------------------
# honest numbers
# --------------------------------------------------------------------------------------
def test_route_map_years_show_a_dash_not_none(open_page) -> None:
    at = open_page("views/roadmap.py", region=TOWN_A2)
    table = at.main.dataframe[0]
    assert table.proto.placeholder == fmt.MISSING
    values = table.value.set_index("行政村")
    assert values.loc["三村", "计划出列"] == 2019 and pd.isna(values.loc["三村", "实际出列"])
    config = json.loads(table.proto.columns)
    assert config["计划出列"]["type_config"]["format"] == "%d"  # 2019, not 2,019
    assert config["实际出列"]["type_config"]["format"] == "%d"


def test_zones_tables_use_one_format_per_measure(open_page) -> None:
    at = open_page("views/zones.py")
    for table in at.main.dataframe:
        config = json.loads(table.proto.columns)
        assert table.proto.placeholder == fmt.MISSING
        formats = {k: v.get("type_config", {}) for k, v in config.items()}
        assert formats["完工率(%)"]["format"] == "%.1f"  # 88.0 beside 86.4, never 88
        assert formats["贫困人口"] == {"type": "number", "format": "localized", "step": 1}
        assert formats["项目数"]["step"] == 1
        assert formats["计划资金(万元)"]["format"] == "localized"


def test_number_columns_format_each_measure() -> None:
    table = pd.DataFrame(
        {
            "名称": ["a"],
            "完工率(%)": [88.0],
            "贫困人口": pd.array([6_600_000], dtype="Int64"),
            "计划资金(万元)": [1234.56],
            "计划年度": [2016],
            "出列": pd.array([None], dtype="Int64"),
            "flag": [True],
        }
    )
    config = widgets.number_columns(table, years=("出列",))
    assert set(config) == {"完工率(%)", "贫困人口", "计划资金(万元)", "计划年度", "出列"}
    assert config["完工率(%)"]["type_config"]["format"] == "%.1f"
    assert config["贫困人口"]["type_config"]["format"] == "localized"
    assert config["贫困人口"]["type_config"]["step"] == 1
    assert config["计划资金(万元)"]["type_config"]["step"] == 0.1
    assert config["计划年度"]["type_config"]["format"] == "%d"
    assert config["出列"]["type_config"]["format"] == "%d"


def test_long_money_cards_draw_a_smaller_number_never_a_cut_one() -> None:
    html = cards.cards_html(
        [
            cards.KpiCard("计划资金", "1,921.64", "亿元"),
            cards.KpiCard("完工率", "97.7%"),
        ]
    )
    assert '<div class="om-kpi om-long"><div class="om-label">计划资金' in html
    assert '<div class="om-kpi"><div class="om-label">完工率' in html
    assert '<span class="om-num">1,921.64</span><span class="om-unit">亿元</span>' in html
    assert ".om-long .om-value" in cards.PAGE_CSS
    assert "text-overflow" not in cards.PAGE_CSS.split(".om-value")[1]  # values never ellipsised


def test_overview_unit_table_uses_the_same_formats(open_page) -> None:
    at = open_page(region=PREF_A)
    table = at.main.dataframe[0]
    values = table.value.set_index("名称")
    # 甲县: 8 of 10 projects done (P11 county-wide counts), 乙县 2 of 3 (conftest)
    assert values.loc["甲县", "完工率(%)"] == 80.0 and values.loc["乙县", "完工率(%)"] == 66.7
    assert list(values.index) == ["乙县", "甲县"]  # lowest first
    config = json.loads(table.proto.columns)
    assert config["完工率(%)"]["type_config"]["format"] == "%.1f"
    assert config["计划资金(万元)"]["type_config"]["step"] == 0.1
    assert config["项目数"]["type_config"]["step"] == 1
    assert table.proto.placeholder == fmt.MISSING
