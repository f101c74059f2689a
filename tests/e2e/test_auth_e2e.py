"""Sign-in and regional permissions in a real browser (issue #9): an anonymous visitor sees only
the sign-in form; the county clerk of 福贡县 (533323) sees the province map and its own villages,
and is refused another county's village by URL and another county's rows by upload.

Runs on a copy of the demo store with accounts in a temporary ``$ONEMAP_USERS`` file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from layers import schema as S
from layers import store
from layers.accounts import Accounts
from layers.ingest.template import office_ledger_workbook
from tests.e2e.conftest import ARTIFACTS, serve, sign_in

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
FUGONG = "533323000000"
PASSWORD = "fugong-clerk-2020"


@pytest.fixture
def secured(demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo store with two accounts: a province admin and the 福贡县 clerk."""
    path = tmp_path / "secured.gpkg"
    shutil.copyfile(demo_store, path)
    users = tmp_path / "users.sqlite"
    monkeypatch.setenv("ONEMAP_USERS", str(users))
    book = Accounts(users)
    book.add("admin", "province-admin-1", "province", by="e2e")
    book.add("fugong", PASSWORD, "county", FUGONG, by="e2e")
    return path


def test_anonymous_visitor_sees_only_the_sign_in_form(page: Page, secured: Path) -> None:
    units = store.read_layer(secured, S.LAYER_ADMIN_UNITS, columns=[S.CODE, S.NAME, S.LEVEL])
    village = units[units[S.LEVEL] == "village"].iloc[0]
    with serve(secured, log_name="streamlit_auth_anon.log") as url:
        for path in ("", f"village?region={village[S.CODE]}", "import_data", "export"):
            page.goto(f"{url}/{path}")
            expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
            expect(page.get_by_label("密码")).to_be_visible()
            expect(page.get_by_role("button", name="登录")).to_be_visible()
            page.wait_for_timeout(1500)  # let any late element arrive
            assert page.locator(MAP_IFRAME).count() == 0
            assert page.locator("[data-testid='stDataFrame']").count() == 0
            assert (
                page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").count() == 0
            )
            body = page.locator("body").inner_text()
            assert str(village[S.NAME]) not in body and "怒江" not in body
        page.screenshot(path=str(ARTIFACTS / "auth_anonymous.png"), full_page=True)


def test_fugong_clerk_sees_province_and_own_villages_only(
    page: Page, secured: Path, tmp_path: Path
) -> None:
    units = store.read_layer(secured, S.LAYER_ADMIN_UNITS, columns=[S.CODE, S.NAME, S.LEVEL])
    villages = units[units[S.LEVEL] == "village"]
    own = villages[villages[S.CODE].str.startswith(FUGONG[:6])].iloc[0]
    other = villages[~villages[S.CODE].str.startswith("5333")].iloc[0]  # another prefecture
    projects = store.read_layer(secured, S.LAYER_PROJECTS)
    before = len(projects)
    with serve(secured, log_name="streamlit_auth_clerk.log") as url:
        page.goto(url)
        sign_in(page, "fugong", PASSWORD)
        expect(page.get_by_text("fugong").first).to_be_visible()
        frame = page.frame_locator(MAP_IFRAME).first
        expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=60_000)
        assert frame.locator("path.leaflet-interactive").count() >= 16  # the prefectures
        page.screenshot(path=str(ARTIFACTS / "auth_clerk_province.png"), full_page=True)

        page.goto(f"{url}/village?region={own[S.CODE]}")
        sign_in(page, "fugong", PASSWORD)  # a new page load is a new session
        expect(page.get_by_text(str(own[S.NAME])).first).to_be_visible(timeout=60_000)
        expect(page.locator(MAP_IFRAME).first).to_be_attached(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "auth_clerk_own_village.png"), full_page=True)

        page.goto(f"{url}/village?region={other[S.CODE]}")
        sign_in(page, "fugong", PASSWORD)
        expect(page.get_by_text("无权查看").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        assert page.locator(MAP_IFRAME).count() == 0
        assert str(other[S.NAME]) not in page.locator("[data-testid='stMain']").inner_text()
        page.screenshot(path=str(ARTIFACTS / "auth_clerk_refused_village.png"), full_page=True)

        # an upload with rows of 福贡县 and of another county: the others are refused for scope
        other_county = projects.loc[projects[S.COUNTY_CODE] != FUGONG, S.COUNTY_CODE].iloc[0]
        mine = projects[projects[S.COUNTY_CODE] == FUGONG].head(5)
        theirs = projects[projects[S.COUNTY_CODE] == other_county].head(3)
        book = tmp_path / "两县台账.xlsx"
        book.write_bytes(office_ledger_workbook(pd.concat([mine, theirs]), sheet_by=None))
        page.goto(f"{url}/import_data")
        sign_in(page, "fugong", PASSWORD)
        expect(page.get_by_text("检查文件并预览验证报告")).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").first.set_input_files(str(book))
        expect(page.get_by_text("两县台账.xlsx")).to_be_visible(timeout=30_000)
        page.get_by_text("检查文件并预览验证报告").click()
        expect(page.get_by_text("验证报告").first).to_be_visible(timeout=120_000)
        info = page.locator("[data-testid='stAlertContentInfo']").last
        # 5 rows of 福贡县 accepted; 3 of the other county refused (+ the total and note rows)
        expect(info).to_contain_text("接收 5 行 + 拒收 5 行", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "auth_clerk_upload_refused.png"), full_page=True)
    assert len(store.read_layer(secured, S.LAYER_PROJECTS)) == before  # nothing written
