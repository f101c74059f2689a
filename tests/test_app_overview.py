"""AppTests of the dashboard shell (app.py, views/state.py, views/sidebar.py) and the 总览
overview page.

The store is the hand-countable tiny province of ``conftest.py`` built by the real pipeline;
the expected figures are the conftest hand totals. A second, slow test opens 怒江州 on the
generated demo province.

AppTest runs ``app.py`` itself, as ``streamlit run app.py`` does: its ``st.navigation`` opens the
overview (the default page) with the URL's query string.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import pipeline
from tests.conftest import (
    COUNTY_A,
    COUNTY_B,
    TOWN_A1,
    write_tiny_store,
)
from views.state import ViewState

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PREF_A = "530100000000"
PREF_B = "530200000000"


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tiny.gpkg"
    return write_tiny_store(path, demo=True, seed=0, scale=0)


def open_app(store_path: Path, monkeypatch: pytest.MonkeyPatch, **query: str) -> AppTest:
    """Run ``app.py`` on ``store_path`` with ``query`` in the URL (no exception, no error)."""
    monkeypatch.setenv("ONEMAP_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def query(at: AppTest) -> dict[str, str]:
    """The URL query string after the run, one value per key."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


KPI_CARD = re.compile(
    r'om-label">([^<]*)(?:<sup>\*</sup>)?</div><div class="om-value"><span class="om-num">'
    r'([^<]*)</span>(?:<span class="om-unit">([^<]*)</span>)?'
)


def kpis(at: AppTest) -> dict[str, str]:
    """The KPI cards (HTML) as label → number + unit."""
    bodies = [e.proto.body for e in at.get("html")]
    return {
        html.unescape(label): html.unescape(num + unit)
        for body in bodies
        for label, num, unit in KPI_CARD.findall(body)
    }


def kpi_note(at: AppTest) -> str:
    return " ".join(e.proto.body for e in at.get("html") if 'class="om-note"' in e.proto.body)


def map_script(at: AppTest) -> str:
    maps = at.get("component_instance")
    assert len(maps) == 1, "the overview draws exactly one map"
    return json.loads(maps[0].proto.json_args)["script"]


def feature_codes(script: str) -> set[str]:
    """Codes of the choropleth features in the Leaflet script (``"code": "53..."``)."""
    import re

    return set(re.findall(r'"code": "(\d{12})"', script))


@pytest.fixture
def app(tiny_store: Path, monkeypatch: pytest.MonkeyPatch):
    def _open(**query: str) -> AppTest:
        return open_app(tiny_store, monkeypatch, **query)

    return _open


def test_overview_renders_province_with_hand_totals(app) -> None:
    at = app()
    assert at.title[0].value == "总览 · 云南省"
    k = kpis(at)
    assert k["项目数"] == "13"
    assert k["完工率"] == "76.9%"  # 10 / 13
    assert k["覆盖率"] == "90.9%"  # 200 / 220
    assert k["计划资金"] == "1,175万元"
    assert k["已支出资金"] == "955万元"
    assert k["建档立卡贫困人口"] == "220人"
    assert k["项目库/路线图/施工图"] == "2 / 3 / 5"
    assert kpi_note(at) == ""  # no filters: every card is the unfiltered figure
    assert feature_codes(map_script(at)) == {PREF_A, PREF_B}
    # the demo store says so on the page
    assert any("演示数据" in w.value for w in at.warning)


def test_map_script_loads_leaflet_locally_not_from_a_cdn(app) -> None:
    at = app()
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    links = args["js_links"] + args["css_links"]
    assert links and all(link.startswith("/app/static/leaflet/") for link in links)
    assert (ROOT / "static" / "leaflet" / "leaflet.js").stat().st_size > 100_000


def test_filters_change_the_kpis_and_the_url(app) -> None:
    at = app()
    at.sidebar.multiselect(key="sb_sectors").set_value(["industry"]).run()
    _ok(at)
    k = kpis(at)
    assert k["项目数"] == "3"  # P01, P07, P09
    assert k["完工率"] == "100.0%"
    assert k["覆盖率"] == "90.9%"  # project filters do not change who is poor
    # … and the page says so, marking the cards that do not follow the filters
    assert "不随项目筛选变化" in kpi_note(at)
    assert query(at)["sectors"] == "industry"
    at.sidebar.multiselect(key="sb_statuses").set_value(["completed"]).run()
    assert kpis(at)["项目数"] == "2"  # P01, P09 (P07 is accepted)


def test_region_in_the_query_string_opens_that_region(app) -> None:
    at = app(region=PREF_A)
    assert at.title[0].value == "总览 · 甲市"
    assert at.sidebar.selectbox(key="sb_prefecture").value == PREF_A
    assert feature_codes(map_script(at)) == {COUNTY_A, COUNTY_B}
    assert kpis(at)["项目数"] == "13"


def test_copied_link_reopens_the_same_view(app) -> None:
    at = app(region=COUNTY_A)
    at.sidebar.multiselect(key="sb_sectors").set_value(["industry", "water"]).run()
    at.sidebar.selectbox(key="sb_metric").set_value(S.COVERAGE).run()
    link = query(at)
    assert link == {"region": COUNTY_A, "sectors": "industry,water", "metric": "coverage"}
    again = app(**link)
    assert kpis(again) == kpis(at)
    assert map_script(again) and feature_codes(map_script(again)) == feature_codes(map_script(at))
    assert again.sidebar.selectbox(key="sb_metric").value == S.COVERAGE


def test_breadcrumb_goes_back_up_and_syncs_the_sidebar(app) -> None:
    at = app(region=TOWN_A1)
    assert at.title[0].value == "总览 · 一乡"
    at.button(key=f"crumb_{PREF_A}").click().run()
    _ok(at)
    assert at.title[0].value == "总览 · 甲市"
    assert at.sidebar.selectbox(key="sb_prefecture").value == PREF_A
    assert at.sidebar.selectbox(key="sb_county").value == ""
    assert query(at)["region"] == PREF_A


def test_sidebar_selectors_cascade(app) -> None:
    at = app()
    at.sidebar.selectbox(key="sb_prefecture").set_value(PREF_A).run()
    at.sidebar.selectbox(key="sb_county").set_value(COUNTY_A).run()
    _ok(at)
    assert at.title[0].value == "总览 · 甲县"
    # changing the prefecture clears the county below it
    at.sidebar.selectbox(key="sb_prefecture").set_value(PREF_B).run()
    assert at.title[0].value == "总览 · 乙市"
    assert at.sidebar.selectbox(key="sb_county").value == ""


def test_township_shows_clustered_project_points(app) -> None:
    at = app(region=TOWN_A1)
    script = map_script(at)
    assert "markerClusterGroup" in script
    assert (
        "/app/static/leaflet/leaflet.markercluster.js"
        in json.loads(at.get("component_instance")[0].proto.json_args)["js_links"]
    )
    # P01..P03 (一村) and P04, P05 (二村) are in 一乡
    assert script.count('"_status": "') == 5


def test_language_switch(app) -> None:
    at = app()
    at.sidebar.radio(key="sb_lang").set_value("en").run()
    _ok(at)
    assert at.title[0].value == "Overview · Yunnan"
    assert "Projects" in kpis(at)
    assert query(at)["lang"] == "en"


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ({"last_active_drawing": {"properties": {"code": COUNTY_A}}}, PREF_A, COUNTY_A),
        ({"last_active_drawing": {"properties": {"code": COUNTY_A}}}, PREF_B, None),  # outside
        ({"last_active_drawing": {"properties": {"code": PREF_A}}}, PREF_A, None),  # not deeper
        ({"last_active_drawing": {"properties": {"name": "x"}}}, S.PROVINCE_CODE, None),
        ({"last_active_drawing": None}, S.PROVINCE_CODE, None),
        (None, S.PROVINCE_CODE, None),
    ],
)
def test_clicked_code(value, region: str, expected: str | None) -> None:
    from views.overview import clicked_code

    assert clicked_code(value, region) == expected


def test_view_state_round_trips_and_tolerates_bad_links() -> None:
    v = ViewState(region=COUNTY_A, sectors=("water",), years=(2016, 2018), lang="en")
    assert ViewState.from_query_params(v.to_query_params()) == v
    bad = ViewState.from_query_params(
        {"region": "abc", "sectors": "water,nonsense", "years": "x,2", "metric": "nope"}
    )
    assert bad == ViewState(sectors=("water",))
    assert ViewState.from_query_params({"region": "5333"}).region == "533300000000"


@pytest.fixture(scope="module")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data/demo_small.gpkg``, else a 5 % demo built once per test session."""
    path = ROOT / "data" / "demo_small.gpkg"
    if path.exists():
        return path
    shared = tmp_path_factory.getbasetemp() / "demo_small.gpkg"
    if not shared.exists():
        try:
            pipeline.run_demo(shared, scale=0.05)
        except ImportError as e:  # the demo generator is not in this checkout yet
            pytest.skip(f"demo generator unavailable: {e}")
    return shared


@pytest.mark.slow
def test_nujiang_link_opens_its_four_counties(
    demo_small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_app(demo_small, monkeypatch, region="533300000000")
    assert at.title[0].value == "总览 · 怒江傈僳族自治州"
    codes = feature_codes(map_script(at))
    assert len(codes) == 4 and all(c.startswith("5333") for c in codes)
    assert at.sidebar.selectbox(key="sb_prefecture").value == "533300000000"


@pytest.mark.slow
def test_zone_filter_shows_the_zone_counties_and_its_kpis(
    demo_small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = store.read_layer(demo_small, S.TABLE_ZONE_SUMMARY).set_index(S.ZONE)
    at = open_app(demo_small, monkeypatch)
    province = kpis(at)["项目数"]
    at.sidebar.selectbox(key="sb_zone").set_value("迪庆州").run()
    _ok(at)
    codes = feature_codes(map_script(at))
    assert len(codes) == int(zones.loc["迪庆州", "counties"])
    assert all(c.startswith("5334") for c in codes)
    assert kpis(at)["项目数"] == f"{int(zones.loc['迪庆州', S.N_PROJECTS]):,}" != province
    assert query(at)["zone"] == "迪庆州"


def _legend(script: str) -> str:
    import re

    found = re.findall(r"div\.innerHTML = (\".*?\");", script)
    assert len(found) == 1, "one legend on the map"
    return json.loads(found[0])


def test_class_breaks_stay_fixed_across_filters_unless_asked(app) -> None:
    at = app()
    fixed = _legend(map_script(at))
    assert "完工率" in fixed and "分级：本图单元" in fixed
    at.sidebar.multiselect(key="sb_sectors").set_value(["industry"]).run()
    assert _legend(map_script(at)) == fixed  # same classes under a filter
    at.sidebar.selectbox(key="sb_breaks_from").set_value("filtered").run()
    _ok(at)
    assert query(at)["breaks"] == "filtered"
    follow = _legend(map_script(at))
    assert follow != fixed and "分级：随筛选" in follow  # classes now follow the filtered values
    at.sidebar.selectbox(key="sb_breaks_from").set_value("province").run()
    assert query(at)["breaks"] == "province" and "分级：全省同级" in _legend(map_script(at))


def test_view_breaks_discriminate_where_one_looks(app) -> None:
    """甲州's two counties (80 % and 66.7 %) get two classes of their own; province-wide
    county breaks (an old link's ``fixed=1``) are the province's three counties'."""
    legend = _legend(map_script(app(region=PREF_A)))
    assert "66.7%" in legend and "80.0%" in legend
    at = app(region=PREF_B)  # one county with no project: nothing to class
    assert "无数据" in _legend(map_script(at))
    old = app(region=PREF_A, fixed="1")
    assert query(old).get("breaks") == "province" and "分级：全省同级" in _legend(map_script(old))


def test_unreachable_basemap_falls_back_to_offline(app, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import webmap

    monkeypatch.setattr(webmap, "probe_tiles", lambda *a, **k: False)
    at = app(basemap="osm")
    assert any("底图服务器无响应" in w.value for w in at.warning)
    assert "openstreetmap" not in map_script(at)


def test_amap_basemap_draws_tiles_and_shifts_overlays(app, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import webmap

    monkeypatch.setattr(webmap, "probe_tiles", lambda *a, **k: True)
    plain = map_script(app(region=PREF_A))
    amap = map_script(app(region=PREF_A, basemap="amap"))
    assert "autonavi.com" in amap and "autonavi.com" not in plain
    # 甲县 is box(100, 25, 101, 26) in WGS84; on 高德 tiles it is drawn in GCJ-02
    assert "[100.0, 25.0]" in plain and "[100.0, 25.0]" not in amap


def test_tianditu_without_a_token_says_so(app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    at = app(basemap="tianditu")
    assert any("TIANDITU_TOKEN" in w.value for w in at.warning)
    assert "tianditu" not in map_script(at)


@pytest.mark.slow
def test_first_start_builds_the_demo_store_then_opens_the_overview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "fresh" / "onemap.gpkg"
    monkeypatch.setenv("ONEMAP_DEMO_SCALE", "0.02")
    at = open_app(target, monkeypatch)
    assert target.exists()
    # the "store not found" notice and its progress bar are cleared once the store is built
    assert not any("未找到数据库" in i.value for i in at.info)
    assert at.title[0].value == "总览 · 云南省"
    assert feature_codes(map_script(at)) and len(feature_codes(map_script(at))) == 16
    assert any("演示数据" in w.value for w in at.warning)


def test_village_view_shows_the_village_and_its_projects(app) -> None:
    from tests.conftest import V1

    at = app(region=V1)
    assert at.title[0].value == "总览 · 一村"
    script = map_script(at)
    assert feature_codes(script) == {V1}
    assert script.count('"_status": "') == 3  # P01, P02, P03
    assert kpis(at)["项目数"] == "3"


def test_map_and_its_export_show_the_same_units_and_classes(app, tiny_store: Path) -> None:
    """The overview and ``layers.export`` draw one view from ``layers.view``: same units, same
    legend classes (here under a filter with breaks following it)."""
    from geo import classify
    from layers.export import snapshot
    from views import export_widget

    at = app(region=PREF_A, sectors="water", breaks="filtered")
    state = ViewState(region=PREF_A, sectors=("water",), breaks_from="filtered")
    req = export_widget.request_from_view(state)
    snap = snapshot.read_snapshot(tiny_store, levels=snapshot.levels_for(req), with_projects=True)
    rows = snapshot.view_rows(snap, req)
    script = map_script(at)
    assert feature_codes(script) == set(rows[S.CODE]) == {COUNTY_A, COUNTY_B}
    labels = classify.class_labels(
        snapshot.view_breaks(snap, req, rows), lower=snapshot.view_lower(snap, req, rows)
    )
    legend = _legend(script)
    assert all(label in legend for label in labels), (labels, legend)


def test_overview_export_button_makes_the_png_only_when_asked(app) -> None:
    at = app(region=PREF_A)
    assert not at.get("download_button")  # nothing drawn before the user asks
    at.button(key="overview_export_go").click().run()
    _ok(at)
    assert [d.proto.label for d in at.get("download_button")] == ["下载 PNG"]
