"""Names full of payloads run nothing in real Chromium: every page of the dashboard and the
exported HTML map, on a store whose unit and project names are scripts and templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from layers import schema as S
from layers.export import maps, snapshot, web
from layers.export.snapshot import MapRequest
from tests.conftest import COUNTY_A, PREF_A, TOWN_A1, V1
from tests.e2e.conftest import serve
from tests.test_escape import _payload_store

pytestmark = pytest.mark.e2e

PAGES = (
    ("", ""),
    ("", f"?region={PREF_A}"),
    ("", f"?region={COUNTY_A}"),
    ("", f"?region={TOWN_A1}"),
    ("library", f"?region={COUNTY_A}"),
    ("roadmap", f"?region={TOWN_A1}"),
    ("village", f"?region={V1}"),
    ("zones", ""),
    ("quality", ""),
    ("import_data", ""),
    ("export", f"?region={PREF_A}"),
)


@pytest.fixture(scope="module")
def payload_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _payload_store(tmp_path_factory.mktemp("payload") / "payload.gpkg")


def _nothing_ran(page: Page, dialogs: list[str]) -> None:
    # a click on a shape drills down: the map iframe is rebuilt, so let the rerun settle and
    # check the frames that are there now (a detached frame's window is gone with it)
    page.wait_for_timeout(1500)
    for frame in page.frames:
        try:
            pwned = frame.evaluate("() => typeof window.__pwned")
        except PlaywrightError as e:
            if frame.is_detached() or "detached" in str(e):
                continue
            raise
        assert pwned == "undefined", frame.url
    assert dialogs == []


def _hover_shapes(page: Page) -> None:
    """Open tooltips and popups: hover every drawn shape, click the points."""
    for frame in page.frames:
        if frame.is_detached():
            continue
        for shape in frame.query_selector_all("path.leaflet-interactive")[:12]:
            try:
                shape.hover(force=True)
                page.wait_for_timeout(100)
                shape.click(force=True)
                page.wait_for_timeout(100)
            except PlaywrightError:  # a click drilled down: this map (and its shapes) is gone
                break


def test_every_page_runs_no_payload(page: Page, payload_store: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with serve(payload_store, "streamlit_payload.log") as url:
        for path, query in PAGES:
            page.goto(f"{url}/{path}{query}", timeout=120_000)
            page.get_by_text("数据导入").first.wait_for(timeout=120_000)
            page.wait_for_timeout(4000)
            _hover_shapes(page)
            body = page.inner_text("body")
            assert "Traceback" not in body and "TemplateSyntaxError" not in body, path
            _nothing_ran(page, dialogs)


def test_exported_html_runs_no_payload(page: Page, payload_store: Path, tmp_path: Path) -> None:
    snap = snapshot.read_snapshot(payload_store, levels=S.LEVELS, with_projects=True)
    out = web.write_html(maps.prepare_map(snap, MapRequest(region=PREF_A)), tmp_path / "m.html")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(out.as_uri())
    page.wait_for_selector("path.leaflet-interactive")
    _hover_shapes(page)
    assert "1337" not in page.inner_text("body")
    _nothing_ran(page, dialogs)
