"""A data steward in a real browser: upload a county workbook, read the report, confirm, and
see the county's numbers; then the 数据质量 map of where the problems are.

Runs on a copy of the demo store (the shared one is never changed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from layers import schema as S
from layers import store
from layers.ingest.template import office_ledger_workbook
from tests.e2e.conftest import ARTIFACTS, serve

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture
def steward_store(demo_store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "steward.gpkg"
    shutil.copyfile(demo_store, path)
    return path


def test_steward_imports_a_county_workbook(page: Page, steward_store: Path, tmp_path: Path) -> None:
    projects = store.read_layer(steward_store, S.LAYER_PROJECTS)
    county = projects[S.COUNTY_CODE].value_counts().index[0]
    mine = projects[projects[S.COUNTY_CODE] == county].copy()
    mine[S.FUNDS_PLANNED] = mine[S.FUNDS_PLANNED] + 1.0  # this month's figures: +1 万元 each
    book = tmp_path / "县项目库.xlsx"
    book.write_bytes(office_ledger_workbook(mine))
    before = store.read_layer(steward_store, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    with serve(steward_store, log_name="streamlit_ingest_e2e.log") as url:
        page.goto(f"{url}/import_data")
        expect(page.get_by_text("检查文件并预览验证报告")).to_be_visible(timeout=60_000)
        # the ledger uploader by its label, not "the first file input": on a fresh server the
        # first uploader's <input> can mount after the later ones, and the file then went to
        # the registry uploader
        ledgers = page.get_by_test_id("stFileUploader").filter(
            has=page.get_by_text("项目库台账", exact=True)
        )
        ledgers.locator("input[type=file]").set_input_files(str(book))
        expect(ledgers.get_by_text("县项目库.xlsx")).to_be_visible(timeout=30_000)
        page.get_by_text("检查文件并预览验证报告").click()
        info = page.locator("[data-testid='stAlertContentInfo']")
        expect(info).to_contain_text(
            f"读入 {len(mine) + 2} 行 = 接收 {len(mine)} 行 + 拒收 2 行", timeout=120_000
        )
        page.get_by_text("确认导入并重建图层").click()
        expect(page.get_by_text("导入完成")).to_be_visible(timeout=300_000)
        page.screenshot(path=str(ARTIFACTS / "ingest_done.png"), full_page=True)

        page.goto(f"{url}/quality?region={county}")
        expect(page.get_by_text("数据质量").first).to_be_visible(timeout=60_000)
        frame = page.frame_locator(MAP_IFRAME).last
        expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "quality_county.png"), full_page=True)
    after = store.read_layer(steward_store, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    assert after.loc[county, S.FUNDS_PLANNED] == pytest.approx(
        before.loc[county, S.FUNDS_PLANNED] + len(mine)
    )
    assert after.loc[county, S.N_PROJECTS] == before.loc[county, S.N_PROJECTS]
