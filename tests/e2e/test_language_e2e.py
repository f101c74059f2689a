"""Every page in English in a real browser (issue #12): the visible text of the page and of its
map iframe shows no Chinese but place names, the store's own words and the language switch; the
route map's tooltip on a village reads in English. Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from layers import schema as S
from layers import store
from layers.present import i18n

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
CJK = re.compile(r"[\u3400-\u9fff]+")
NUJIANG, LUSHUI, LUZHANG = "533300000000", "533301000000", "533301100000"


@pytest.fixture(scope="module")
def allowed(demo_store: Path) -> set[str]:
    """Place names, the projects' own texts and the language switch (both languages)."""
    units = store.read_layer(demo_store, S.LAYER_ADMIN_UNITS, columns=[S.NAME])
    projects = store.read_layer(
        demo_store, S.LAYER_PROJECTS, columns=[S.PROJECT_NAME, S.RESPONSIBLE_UNIT]
    )
    values = set(units[S.NAME].astype(str))
    for col in (S.PROJECT_NAME, S.RESPONSIBLE_UNIT):
        values.update(projects[col].dropna().astype(str))
    values.update(i18n.t(k) for k in ("language", "lang_zh", "lang_en"))
    return values


def _village(demo_store: Path) -> str:
    plans = store.read_layer(demo_store, S.LAYER_VILLAGE_PLAN, columns=[S.CODE, S.PARENT_CODE])
    return str(plans.loc[plans[S.PARENT_CODE] == LUZHANG, S.CODE].iloc[0])


def _visible_text(page: Page) -> str:
    texts = [page.locator("body").inner_text()]
    for frame in page.frames[1:]:
        try:
            texts.append(frame.locator("body").inner_text(timeout=5_000))
        except Exception:  # a frame that went away holds no text
            continue
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("page_name", "region"),
    [
        ("", NUJIANG),
        ("library", LUSHUI),
        ("roadmap", LUZHANG),
        ("village", "village"),
        ("zones", None),
        ("quality", NUJIANG),
        ("import_data", None),
        ("export", NUJIANG),
    ],
)
def test_english_page_in_the_browser_shows_no_chinese_but_names(
    page: Page, server: str, demo_store: Path, allowed: set[str], page_name: str, region: str | None
) -> None:
    region = _village(demo_store) if region == "village" else region
    query = "lang=en" + (f"&region={region}" if region else "")
    page.goto(f"{server}/{page_name}?{query}")
    expect(page.locator("h1").first).to_be_visible(timeout=120_000)
    if page_name in ("", "roadmap", "village", "quality"):
        frame = page.frame_locator(MAP_IFRAME).last
        expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=120_000)
    page.wait_for_timeout(3_000)
    # the whole page drawn: the script finished and no spinner (the export preview) is left
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=180_000)
    expect(page.get_by_test_id("stSpinner")).to_have_count(0, timeout=180_000)
    page.wait_for_timeout(1_000)
    text = _visible_text(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"english_{page_name or 'overview'}.png", full_page=True)
    found = sorted({r for r in CJK.findall(text) if not any(r in v for v in allowed)})
    assert not found, found


def test_route_map_tooltip_in_english(page: Page, server: str, demo_store: Path) -> None:
    plans = store.read_layer(demo_store, S.LAYER_VILLAGE_PLAN, columns=[S.CODE, S.PARENT_CODE])
    point = plans[plans[S.PARENT_CODE] == LUZHANG].geometry.iloc[0].representative_point()
    page.goto(f"{server}/roadmap?lang=en&region={LUZHANG}")
    frame_loc = page.frame_locator(MAP_IFRAME).last
    expect(frame_loc.locator("path.leaflet-interactive").first).to_be_attached(timeout=120_000)
    page.wait_for_timeout(2_000)
    frame = page.locator(MAP_IFRAME).last.element_handle().content_frame()
    assert frame is not None
    x, y = frame.evaluate(
        """([lat, lng]) => {
            const p = window.map.latLngToContainerPoint([lat, lng]);
            const r = window.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [point.y, point.x],
    )
    box = page.locator(MAP_IFRAME).last.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = frame_loc.locator(".leaflet-tooltip")
    expect(tooltip).to_be_visible(timeout=10_000)
    text = tooltip.inner_text()
    assert "Village" in text and "Exit" in text and "Poor population" in text, text
    assert "年计划" not in text and "出列" not in text, text
