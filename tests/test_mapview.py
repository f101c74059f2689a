"""The map component shared across sessions (views/mapview.py) and the overview's cache key.

``component_args`` + ``show`` must hand the st_folium component exactly what ``st_folium`` hands
it (the helpers used are streamlit_folium internals: this test is their guard); a click must
land in ``st.session_state[key]`` before the callback runs; the overview renders a map once per
key for every session, and its key separates scopes, views, selections and store revisions.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import streamlit as st
import streamlit_folium as stf
from streamlit.testing.v1 import AppTest
from streamlit_folium import st_folium

from geo import webmap
from layers import access
from layers.present import view
from tests.conftest import COUNTY_A, write_tiny_store
from views import auth, mapview, overview, selection
from views.state import ViewState

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
KEY = "overview_map"


def _map() -> Any:
    shapes = gpd.GeoDataFrame(
        {"code": ["530100000000", "530200000000"], "name": ["甲<b>", "乙"]},
        geometry=[shapely.box(100, 24, 101, 25), shapely.box(101, 24, 102, 25)],
        crs=4326,
    )
    m = webmap.make_map(shapes.total_bounds, asset_base_url="/app/static/leaflet/")
    webmap.choropleth_layer(
        shapes, fill_colors=["#ffffcc", "#006837"], tooltip={"name": "名称"}, properties=["code"]
    ).add_to(m)
    return m


@pytest.fixture
def component(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(stf, "_component_func", lambda **kw: calls.append(kw))
    return calls


def test_component_receives_what_st_folium_sends(component: list[dict[str, Any]]) -> None:
    st_folium(
        _map(),
        key=KEY,
        height=560,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        render=False,
    )
    args = mapview.component_args(_map(), key=KEY, extra=3)
    mapview.show(args, key=KEY, height=560)
    theirs, ours = component
    assert set(theirs) == set(ours)
    differ = [k for k in theirs if k != "on_change" and theirs[k] != ours[k]]
    assert differ == []
    assert "530200000000" in ours["script"] and "<b>" not in ours["script"]  # escaped
    assert ours["js_links"] == ["/app/static/leaflet/leaflet.js"]
    assert args.extra == 3


def test_click_reaches_session_state_then_callback(
    component: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    state: dict[str, Any] = {}
    monkeypatch.setattr(st, "session_state", state)
    seen: list[Any] = []
    args = mapview.component_args(_map(), key=KEY)
    mapview.show(args, key=KEY, height=560, on_change=lambda: seen.append(state.get(KEY)))
    feature = {"properties": {"code": "530200000000"}}
    state[args.hash_key] = {"last_active_drawing": feature}  # what the frontend posts back
    component[0]["on_change"]()
    assert seen == [{"last_active_drawing": feature}]
    assert overview.clicked_code(state[KEY], "530000000000") == "530200000000"


def test_cached_args_build_once_per_key() -> None:
    mapview._cached.clear()
    built: list[int] = []

    def build() -> tuple[Any, int]:
        built.append(1)
        return _map(), len(built)

    first = mapview.cached_args(("a", 1), build, key=KEY)
    again = mapview.cached_args(("a", 1), build, key=KEY)
    other = mapview.cached_args(("b", 1), build, key=KEY)
    assert again is first and first.extra == 1
    assert other.extra == 2 and len(built) == 2
    assert other.hash_key == first.hash_key  # the same map: the component is not remounted


def test_overview_key_separates_scope_view_selection_and_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.gpkg"
    path.write_bytes(b"x")
    monkeypatch.setenv("ONEMAP_STORE", str(path))
    state: dict[str, Any] = {auth._SCOPE_KEY: access.FULL}
    monkeypatch.setattr(st, "session_state", state)
    county = ViewState(region=COUNTY_A)
    base = overview.map_cache_key(county, ("none", None))
    numbers = overview.numbers_cache_key(county)
    assert overview.map_cache_key(county, ("none", None)) == base
    # the URL's page and the roadmap's year do not change the map
    assert overview.map_cache_key(dataclasses.replace(county, year=2019), ("none", None)) == base
    changed = [
        overview.map_cache_key(dataclasses.replace(county, sectors=("industry",)), ("none", None)),
        overview.map_cache_key(dataclasses.replace(county, lang="en"), ("none", None)),
        overview.map_cache_key(dataclasses.replace(county, metric="coverage"), ("none", None)),
        overview.map_cache_key(county, ("osm", None)),
    ]
    assert overview.numbers_cache_key(dataclasses.replace(county, metric="coverage")) == numbers
    assert overview.numbers_cache_key(dataclasses.replace(county, years=(2019, 2020))) != numbers
    state[auth._SCOPE_KEY] = access.Scope(region=COUNTY_A, write=False, admin=False)
    changed.append(overview.map_cache_key(county, ("none", None)))  # a clerk: never shared
    assert overview.numbers_cache_key(county) != numbers
    state[auth._SCOPE_KEY] = access.FULL
    state[selection._SELECTED.format(overview.TABLE_KEY)] = "530102001000"
    changed.append(overview.map_cache_key(county, ("none", None)))
    state.clear()
    state[auth._SCOPE_KEY] = access.FULL
    os.utime(path, (1, 1))  # a new revision of the store
    changed.append(overview.map_cache_key(county, ("none", None)))
    assert overview.numbers_cache_key(county) != numbers
    assert len({base, *changed}) == len(changed) + 1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("store") / "tiny.gpkg", demo=True, seed=0)


def _session(store_path: Path, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def test_sessions_share_the_overview_map(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny))
    mapview._cached.clear()
    renders: list[str] = []
    real = mapview.component_args

    def counting(m: Any, **kw: Any) -> mapview.MapArgs:
        args = real(m, **kw)
        renders.append(args.script)
        return args

    monkeypatch.setattr(mapview, "component_args", counting)
    numbers: list[str] = []
    real_rows = view.view_rows

    def counting_rows(*a: Any, **kw: Any) -> Any:
        numbers.append("rows")
        return real_rows(*a, **kw)

    monkeypatch.setattr(view, "view_rows", counting_rows)
    first = _session(tiny)
    _session(tiny)  # a second session, the same view: no render, no recount
    assert len(renders) == 1 and len(numbers) == 1
    filtered = _session(tiny, sectors="industry")  # another view: rendered and counted once
    _session(tiny, sectors="industry")
    assert len(renders) == 2 and len(numbers) == 2
    kpis = [
        [h.proto.body for h in at.get("html") if 'class="om-kpis"' in h.proto.body]
        for at in (first, filtered)
    ]
    assert len(kpis[0]) == len(kpis[1]) == 1
    assert kpis[0] != kpis[1]  # the cards follow the filter
    assert renders[0] != renders[1]
    assert "530100000000" in renders[0] and "530200000000" in renders[0]  # prefectures
