"""Navigation in a real browser: the browser's Back and Forward buttons follow drill-downs.

Province → click 怒江州 on the map (selects it: outlined, the URL stays) → "进入 怒江州 →" →
the same for 泸水市 → Back shows 怒江州 again (title, breadcrumb, sidebar, map), Back again the
province, Forward 怒江州. Run: ``python3 -m pytest -q tests/e2e``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, expect

from layers import schema as S
from layers import store

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
SHAPES = "path.leaflet-interactive"
NUJIANG = "533300000000"
LUSHUI = "533301000000"


def _map_frame(page: Page) -> Frame:
    handle = page.locator(MAP_IFRAME).last.element_handle()
    frame = handle.content_frame()
    assert frame is not None
    return frame


def _unit(store_path: Path, code: str) -> tuple[float, float, str]:
    """An interior point (lat, lon) of unit ``code`` and its name."""
    units = store.read_layer(store_path, S.LAYER_ADMIN_UNITS, where=f"code = '{code}'")
    assert len(units) == 1, f"{code} not in {store_path}"
    p = units.geometry.iloc[0].representative_point()
    return p.y, p.x, str(units[S.NAME].iloc[0])


def _click_unit(page: Page, lat: float, lng: float) -> None:
    """Hover, wait for the tooltip, click the map at (lat, lng) like a user."""
    frame = _map_frame(page)
    x, y = frame.evaluate(
        """([lat, lng]) => {
            const p = window.map.latLngToContainerPoint([lat, lng]);
            const r = window.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lng],
    )
    box = page.locator(MAP_IFRAME).last.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(frame.locator(".leaflet-tooltip")).to_be_visible(timeout=10_000)
    page.mouse.click(box["x"] + x, box["y"] + y)


def _select_and_drill(page: Page, here: str, lat: float, lng: float, name: str) -> None:
    """Click the unit at (lat, lng): it is outlined and the URL stays at ``here``; then its
    "进入 … →" button under the map drills down."""
    _click_unit(page, lat, lng)
    drill = page.get_by_role("button", name=f"进入 {name} →")
    expect(drill).to_be_visible(timeout=60_000)
    ring = page.frame_locator(MAP_IFRAME).last.locator('path[stroke="#e6550d"]')
    expect(ring).to_have_count(1, timeout=60_000)
    expect(page).to_have_url(here)
    drill.click()


def _expect_view(page: Page, name: str, shapes: int) -> None:
    """The page shows ``name``'s view: title, current breadcrumb, ``shapes`` units on the map."""
    expect(page.get_by_role("heading", name=f"总览 · {name}")).to_be_visible(timeout=60_000)
    crumb = page.get_by_role("button", name=name, exact=True)
    expect(crumb).to_be_disabled(timeout=30_000)  # the breadcrumb's current level
    expect(page.frame_locator(MAP_IFRAME).last.locator(SHAPES)).to_have_count(
        shapes, timeout=60_000
    )


def test_back_and_forward_follow_drill_downs(page: Page, server: str, demo_store: Path) -> None:
    counties = store.read_layer(
        demo_store, S.LAYER_ADMIN_UNITS, where=f"parent_code = '{NUJIANG}'", columns=[S.CODE]
    )
    townships = store.read_layer(
        demo_store, S.LAYER_ADMIN_UNITS, where=f"parent_code = '{LUSHUI}'", columns=[S.CODE]
    )
    lat, lng, nujiang = _unit(demo_store, NUJIANG)
    province = "云南省"
    page.goto(server + "/")
    _expect_view(page, province, 16)

    _select_and_drill(page, f"{server}/", lat, lng, nujiang)
    expect(page).to_have_url(f"{server}/?region={NUJIANG}", timeout=60_000)
    _expect_view(page, nujiang, len(counties))
    lat, lng, lushui = _unit(demo_store, LUSHUI)
    _select_and_drill(page, f"{server}/?region={NUJIANG}", lat, lng, lushui)
    expect(page).to_have_url(f"{server}/?region={LUSHUI}", timeout=60_000)
    _expect_view(page, lushui, len(townships))

    page.go_back()
    expect(page).to_have_url(f"{server}/?region={NUJIANG}", timeout=60_000)
    _expect_view(page, nujiang, len(counties))
    # the sidebar follows: the prefecture selector shows 怒江州, the county one 全部
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="州/市")).to_have_value(nujiang)
    expect(sidebar.get_by_role("combobox", name="县/市/区")).to_have_value("全部")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "e2e_back_to_nujiang.png", full_page=True)

    page.go_back()
    expect(page).to_have_url(f"{server}/", timeout=60_000)
    _expect_view(page, province, 16)

    page.go_forward()
    expect(page).to_have_url(f"{server}/?region={NUJIANG}", timeout=60_000)
    _expect_view(page, nujiang, len(counties))
    page.go_forward()
    expect(page).to_have_url(f"{server}/?region={LUSHUI}", timeout=60_000)
    _expect_view(page, lushui, len(townships))


_RING_JS = """(pid) => {
    const layers = Object.values(window.map._layers);
    const rings = layers.filter(l => l.options && l.options.color === '#e6550d' && l.getLatLng);
    const pt = layers.find(l => l.feature && l.feature.properties.project_id === pid);
    return rings.length === 1 && pt ? rings[0].getLatLng().distanceTo(pt.getLatLng()) : -1;
}"""


def _ring_distance(page: Page, pid: str, timeout_s: float = 60) -> float:
    """Metres from the map's one highlight ring to project ``pid``'s point, once the map
    (redrawn after the pick) shows the ring there; the last distance seen on timeout."""
    deadline = time.monotonic() + timeout_s
    distance = -1.0
    while time.monotonic() < deadline:
        try:
            distance = float(_map_frame(page).evaluate(_RING_JS, pid))
        except (AssertionError, PlaywrightError):  # the map iframe is being replaced
            distance = -1.0
        if 0 <= distance < 1:
            return distance
        page.wait_for_timeout(500)
    return distance


def _busiest_village(store_path: Path, most: int = 60) -> tuple[str, int]:
    """The village with the most projects placed on the map, up to ``most`` (unclustered)."""
    projects = store.read_layer(store_path, S.LAYER_PROJECTS, columns=[S.VILLAGE_CODE])
    placed = projects[~(projects.geometry.is_empty | projects.geometry.isna())]
    counts = placed[S.VILLAGE_CODE].dropna().value_counts()
    counts = counts[counts <= most]
    if counts.empty:
        pytest.skip(f"{store_path} has no village with placed projects")
    return str(counts.index[0]), int(counts.iloc[0])


def test_map_point_selects_its_row_and_a_row_rings_its_point(
    page: Page, server: str, demo_store: Path
) -> None:
    village, n = _busiest_village(demo_store)
    page.goto(f"{server}/village?region={village}")
    frame_loc = page.frame_locator(MAP_IFRAME).last
    expect(frame_loc.locator(SHAPES)).to_have_count(n + 1, timeout=120_000)  # outline + points
    frame = _map_frame(page)
    points = frame.evaluate(
        """() => Object.values(window.map._layers)
            .filter(l => l.feature && l.feature.properties.project_id && l.getLatLng)
            .map(l => {
                const p = window.map.latLngToContainerPoint(l.getLatLng());
                const r = window.map.getContainer().getBoundingClientRect();
                return [l.feature.properties.project_id, r.left + p.x, r.top + p.y];
            })"""
    )
    assert len(points) == n
    pid, x, y = points[len(points) // 2]
    box = page.locator(MAP_IFRAME).last.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    # map → table: the clicked project's row is selected and moved to the top
    picked = page.locator('tr[role="row"][aria-selected="true"]')
    expect(picked).to_have_count(1, timeout=60_000)
    expect(picked).to_contain_text(pid)
    expect(picked).to_have_attribute("aria-rowindex", "2")
    # and it is ringed on the map
    ring = page.frame_locator(MAP_IFRAME).last.locator('path[stroke="#e6550d"]')
    expect(ring).to_have_count(1, timeout=60_000)

    # table → map: pick the third row (its checkbox column) and the ring moves to that point
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    third = page.locator('tr[role="row"][aria-rowindex="4"] td').first.inner_text()
    gbox = grid.bounding_box()
    assert gbox is not None
    page.mouse.click(gbox["x"] + 15, gbox["y"] + 35 + 2 * 35 + 17)
    expect(picked).to_contain_text(third, timeout=60_000)
    expect(picked).to_have_attribute("aria-rowindex", "4")
    assert _ring_distance(page, third) < 1  # metres from the ring to the picked project
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "e2e_village_row_on_map.png", full_page=True)
