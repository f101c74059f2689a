"""Issue #9's "Done when", tried as a user would: a ledger and boundaries full of payloads go in
through ``onemap import`` (the import path, not a store built from fixtures) into a copy of the
demo store; then every page of the dashboard and the ``onemap export html`` file are opened in
real Chromium. Nothing runs (no dialog, no ``window.__pwned``), a payload with a side effect
creates no file, no page shows a traceback or logs one on the server, and ``{{ 7*191 }}`` is
shown verbatim, never as 1337.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from layers import schema as S
from layers import store
from layers.cli import main as cli
from layers.ingest.template import office_ledger_workbook
from tests.e2e.conftest import ARTIFACTS, serve
from tests.test_escape import PAYLOADS, SIDE_EFFECT

pytestmark = pytest.mark.e2e

FUGONG = "533323000000"  # 福贡县: its ledger and boundaries are the payload files
PREFECTURE = "533300000000"
TOWN_NAME = "{{ 7*191 }}上帕镇"
LOG = "streamlit_payload.log"


@dataclass(frozen=True)
class PayloadStore:
    path: Path
    touched: Path  # the file the side-effect payload would create
    township: str
    villages: tuple[str, ...]
    names: dict[str, str]  # code → the payload name it was imported with (trimmed)


def _boundary_file(units, level: str, names: list[str], out: Path) -> Path:
    """The store's own shapes of ``level`` in 福贡县, renamed, as a GeoPackage to import."""
    mine = units[(units[S.LEVEL] == level) & units[S.CODE].str.startswith(FUGONG[:6])]
    mine = mine[[S.CODE, S.NAME, "geometry"]].copy()
    mine[S.NAME] = [names[i % len(names)] for i in range(len(mine))]
    mine.to_file(out, driver="GPKG")
    return out


@pytest.fixture(scope="module")
def payload_store(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> PayloadStore:
    """A copy of the demo store into which ``onemap import`` brought a payload ledger of 福贡县
    (project names and responsible units) and payload county/township/village boundaries."""
    tmp = tmp_path_factory.mktemp("payload")
    path = tmp / "payload.gpkg"
    shutil.copyfile(demo_store, path)
    touched = tmp / "pwned"
    payloads = (*PAYLOADS, SIDE_EFFECT % touched)
    units = store.read_layer(path, S.LAYER_ADMIN_UNITS)
    projects = store.read_layer(path, S.LAYER_PROJECTS)
    mine = projects[projects[S.COUNTY_CODE] == FUGONG].copy()
    assert len(mine) >= len(payloads), "the demo's 福贡县 has too few projects for the ledger"
    names = itertools.cycle(payloads)
    mine[S.PROJECT_NAME] = [next(names) for _ in range(len(mine))]
    mine[S.RESPONSIBLE_UNIT] = [next(names) for _ in range(len(mine))]
    ledger = tmp / "福贡县项目库.xlsx"
    ledger.write_bytes(office_ledger_workbook(mine))
    towns = [TOWN_NAME, SIDE_EFFECT % touched]
    villages = [p for p in payloads if p != TOWN_NAME]
    argv = ["import", "--store", str(path), "--ledger", str(ledger)]
    for level, level_names in (
        ("county", ["\"'><svg onload=window.__pwned=1>福贡县"]),
        ("township", towns),
        ("village", villages),
    ):
        out = _boundary_file(units, level, level_names, tmp / f"{level}.gpkg")
        argv += ["--boundaries", str(out), "--level", level]
    assert cli.main(argv) == 0
    after = store.read_layer(path, S.LAYER_ADMIN_UNITS)
    after = after[after[S.CODE].str.startswith(FUGONG[:6])]
    imported = store.read_layer(path, S.LAYER_PROJECTS)
    imported = imported[imported[S.COUNTY_CODE] == FUGONG]
    # the payloads really are in the store, through the import path, and nothing ran on the way
    assert TOWN_NAME in set(after[S.NAME])
    kept = set(imported[S.PROJECT_NAME]) | set(imported[S.RESPONSIBLE_UNIT])
    assert {p.strip() for p in payloads} <= kept  # cells are trimmed, nothing else changed
    assert not touched.exists()
    township = after.loc[after[S.NAME] == TOWN_NAME, S.CODE].iloc[0]
    village_codes = tuple(after.loc[after[S.LEVEL] == "village", S.CODE])
    names = dict(zip(after[S.CODE], after[S.NAME], strict=True))
    return PayloadStore(path, touched, township, village_codes, names)


def _pages(ps: PayloadStore) -> list[tuple[str, str]]:
    """(page, query) of every page of the dashboard at the payload units."""
    return [
        ("", ""),
        ("", f"?region={PREFECTURE}"),
        ("", f"?region={FUGONG}"),
        ("", f"?region={ps.township}"),
        ("library", f"?region={FUGONG}"),
        ("roadmap", f"?region={ps.township}"),
        *[("village", f"?region={v}") for v in ps.villages],
        ("zones", ""),
        ("quality", f"?region={FUGONG}"),
        ("import_data", ""),
        ("export", f"?region={FUGONG}"),
    ]


def _nothing_ran(page: Page, dialogs: list[str], errors: list[str]) -> None:
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
    assert errors == []


def _hover_shapes(page: Page) -> str:
    """Open tooltips and popups: hover every drawn shape, click the points; return the text
    the map frames showed (tooltips and popups included)."""
    shown = []
    for frame in page.frames:
        if frame.is_detached():
            continue
        for shape in frame.query_selector_all("path.leaflet-interactive")[:12]:
            try:
                shape.hover(force=True)
                page.wait_for_timeout(100)
                shown.append(frame.inner_text("body"))
                shape.click(force=True)
                page.wait_for_timeout(100)
                shown.append(frame.inner_text("body"))
            except PlaywrightError:  # a click drilled down: this map (and its shapes) is gone
                break
    return "\n".join(shown)


def _watch(page: Page) -> tuple[list[str], list[str]]:
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return dialogs, errors


def test_every_page_runs_no_payload(page: Page, payload_store: PayloadStore) -> None:
    dialogs, errors = _watch(page)
    with serve(payload_store.path, LOG) as url:
        for path, query in _pages(payload_store):
            page.goto(f"{url}/{path}{query}", timeout=120_000)
            page.get_by_text("数据导入").first.wait_for(timeout=120_000)
            page.wait_for_timeout(4000)
            name = (path or "overview") + query.replace("?region=", "_")
            if path in ("roadmap", "village"):
                page.screenshot(path=str(ARTIFACTS / f"payload_{name}.png"), full_page=True)
            body = page.inner_text("body")
            shown = body + _hover_shapes(page)
            assert "Traceback" not in body and "TemplateSyntaxError" not in body, name
            assert "1337上帕镇" not in shown and "循环循环" not in shown, name
            code = query.removeprefix("?region=")
            if path in ("roadmap", "village"):  # the unit's payload name, verbatim, in the title
                assert payload_store.names[code] in body, name
            _nothing_ran(page, dialogs, errors)
    log = (ARTIFACTS / LOG).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "TemplateSyntaxError" not in log
    assert not payload_store.touched.exists()


def test_exported_html_runs_no_payload(
    page: Page, payload_store: PayloadStore, tmp_path: Path
) -> None:
    out = tmp_path / "福贡县.html"
    argv = ["export", "html", "--store", str(payload_store.path), "--region", FUGONG]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert not payload_store.touched.exists()
    dialogs, errors = _watch(page)
    page.goto(out.as_uri())
    page.wait_for_selector("path.leaflet-interactive")
    shown = page.inner_text("body") + _hover_shapes(page)
    page.screenshot(path=str(ARTIFACTS / "payload_export_html.png"), full_page=True)
    assert "1337上帕镇" not in shown and "循环循环" not in shown
    assert TOWN_NAME in shown  # a tooltip or label of the township shows it verbatim
    _nothing_ran(page, dialogs, errors)
    assert not payload_store.touched.exists()
