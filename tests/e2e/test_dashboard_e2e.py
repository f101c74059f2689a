"""The dashboard in a real browser: 16 prefectures, click 怒江州 → 4 counties, fully offline.

Run: ``python3 -m pytest -q tests/e2e`` (Debian chromium + pytest-playwright). Screenshots and
the server log are written to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from layers import schema as S
from layers import store

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
SHAPES = "path.leaflet-interactive"
NUJIANG = "533300000000"


def _map_frame(page: Page) -> Frame:
    handle = page.locator(MAP_IFRAME).last.element_handle()
    frame = handle.content_frame()
    assert frame is not None
    return frame


def _interior_point(store_path: Path, code: str) -> tuple[float, float]:
    units = store.read_layer(store_path, S.LAYER_ADMIN_UNITS, where=f"code = '{code}'")
    assert len(units) == 1, f"{code} not in {store_path}"
    p = units.geometry.iloc[0].representative_point()
    return p.y, p.x


def _click_latlng(page: Page, lat: float, lng: float) -> str:
    """Hover then click the map at (lat, lng) like a user; returns the tooltip text."""
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
    tooltip = frame.locator(".leaflet-tooltip")
    expect(tooltip).to_be_visible(timeout=10_000)
    text = tooltip.inner_text()
    page.mouse.click(box["x"] + x, box["y"] + y)
    return text


def test_overview_draws_prefectures_drills_into_nujiang_offline(
    page: Page, server: str, demo_store: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(server + "/")
    shapes = page.frame_locator(MAP_IFRAME).last.locator(SHAPES)
    expect(shapes).to_have_count(16, timeout=120_000)
    expect(page.get_by_text("演示数据").first).to_be_visible()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "e2e_overview_province.png", full_page=True)

    tooltip = _click_latlng(page, *_interior_point(demo_store, NUJIANG))
    assert "怒江" in tooltip
    # a click selects the unit; its "进入 … →" button under the map drills down
    drill = page.get_by_role("button", name=re.compile(r"^进入 怒江\S* →$"))
    expect(drill).to_be_visible(timeout=60_000)
    drill.click()

    expect(page).to_have_url(f"{server}/?region={NUJIANG}", timeout=60_000)
    expect(page.get_by_role("heading", name="总览 · 怒江")).to_be_visible(timeout=60_000)
    expect(page.frame_locator(MAP_IFRAME).last.locator(SHAPES)).to_have_count(4, timeout=60_000)
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "e2e_overview_nujiang.png", full_page=True)

    offsite = [u for u in requests if not u.startswith((server, "data:", "blob:", "about:"))]
    assert requests and offsite == [], offsite


def test_copied_link_reopens_nujiang(page: Page, server: str) -> None:
    page.goto(f"{server}/?region={NUJIANG}&metric=coverage")
    expect(page.frame_locator(MAP_IFRAME).last.locator(SHAPES)).to_have_count(4, timeout=120_000)
    expect(page.get_by_role("heading", name="总览 · 怒江")).to_be_visible()


def test_township_map_shows_clustered_projects(page: Page, server: str, demo_store: Path) -> None:
    projects = store.read_layer(demo_store, S.LAYER_PROJECTS, columns=[S.TOWNSHIP_CODE])
    counts = projects[S.TOWNSHIP_CODE].dropna().value_counts()
    if counts.empty:
        pytest.skip(f"{demo_store} has no township projects")
    township = str(counts.index[0])
    page.goto(f"{server}/?region={township}")
    frame = page.frame_locator(MAP_IFRAME).last
    expect(frame.locator(SHAPES).first).to_be_attached(timeout=120_000)
    # villages as polygons, projects as clusters (numbers) or single circle markers
    expect(frame.locator(".marker-cluster").first).to_be_visible(timeout=30_000)
    total = sum(
        int(t) for t in frame.locator(".marker-cluster span").all_inner_texts() if t.isdigit()
    )
    singles = frame.locator("path.leaflet-interactive").count()
    assert total + singles >= int(counts.iloc[0])
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "e2e_township_projects.png", full_page=True)


def test_fresh_server_opens_a_copied_page_link(page: Page, demo_store: Path) -> None:
    """A link to another page, opened first on a just-started server, opens that page."""
    from tests.e2e.conftest import serve

    with serve(demo_store, "streamlit_e2e_fresh.log") as url:
        page.goto(f"{url}/roadmap?region={NUJIANG}")
        expect(page.get_by_role("heading", name="乡级路线图")).to_be_visible(timeout=120_000)
        nav = page.locator('[data-testid="stSidebarNav"] a')
        expect(nav.first).to_be_visible()
        labels = " ".join(nav.all_inner_texts())
        assert "总览" in labels and "common" not in labels  # the app's navigation, not pages/
        assert f"region={NUJIANG}" in page.url


def test_library_numbers_are_never_cut_off(page: Page, server: str) -> None:
    """Streamlit's st.metric cuts a long value to "24.37…" and loses its unit; the page's
    stylesheet lets it shrink and wrap: every label and value is whole at 1100 px."""
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(server + "/library?region=533301000000")
    values = page.locator('[data-testid="stMetricValue"] p')
    expect(values).to_have_count(6, timeout=120_000)
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "e2e_library_numbers_1100.png")
    texts = values.all_inner_texts()
    assert texts[3].endswith("元") and texts[4].endswith("元"), texts
    boxes = '[data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] div > div'
    for cell in page.locator(boxes).all():  # the blocks that clip ("…"), not the inline text
        cut = cell.evaluate("e => e.scrollWidth > e.clientWidth + 1")
        assert not cut, f"{cell.inner_text()!r} is cut off at 1100 px"
