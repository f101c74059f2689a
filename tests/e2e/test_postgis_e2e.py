"""Two dashboard processes on one PostGIS store in a real browser (issue #11 "Done when").

A PostGIS cluster of its own (``pg_server``), the 5 % demo copied into it with
``onemap store copy``, and two ``streamlit run app.py`` processes on the same postgresql://
URL. Both overviews show the province's project count; ``onemap import`` of 福贡县's ledger
(five projects fewer) changes it, and each process shows the new count after a reload,
without a restart. The 福贡县 clerk signed in on process 2 is refused 泸水市's project library;
as the dashboard's database role (``onemap_app``) with the clerk's region set, SQL returns
none of 泸水市's projects either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from layers import pgstore, store
from layers import schema as S
from layers.accounts import Accounts
from layers.ingest.template import office_ledger_workbook
from tests.e2e.conftest import ARTIFACTS, ROOT, serve, sign_in

pytestmark = pytest.mark.e2e

FUGONG = "533323000000"
LUSHUI = "533301000000"
ADMIN, ADMIN_PW = "admin", "province-admin-1"
CLERK, CLERK_PW = "fugong", "fugong-clerk-2020"
DROPPED = 5  # projects left out of 福贡县's new ledger


def _onemap(cwd: Path, *argv: str) -> str:
    """Run the ``onemap`` CLI of this checkout in a child process in ``cwd`` (its reports go
    there), as an operator would."""
    run = subprocess.run(
        [sys.executable, "-m", "layers.cli.main", *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"onemap {argv[0]} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture
def pg_store(
    pg_server: str, demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The demo store copied into a fresh schema, with a province admin and the 福贡县 clerk
    (``$ONEMAP_USERS``, ``$ONEMAP_STATE_DIR`` set for the servers this test starts)."""
    monkeypatch.setenv("ONEMAP_STATE_DIR", str(tmp_path / "state"))
    users = tmp_path / "users.sqlite"
    monkeypatch.setenv("ONEMAP_USERS", str(users))
    book = Accounts(users)
    book.add(ADMIN, ADMIN_PW, "province", by="e2e")
    book.add(CLERK, CLERK_PW, "county", FUGONG, by="e2e")
    url = f"{pg_server}?schema=e2e_two_processes"
    _onemap(tmp_path, "store", "copy", str(demo_store), url, "--replace")
    return url


def _project_card(page: Page) -> str:
    """The number on the overview's 项目数 card."""
    card = page.locator(".om-label", has_text="项目数").first.locator("xpath=..")
    number = card.locator(".om-num")
    expect(number).to_be_visible(timeout=90_000)
    return number.inner_text().strip()


def _open_overview(page: Page, url: str, name: str, password: str) -> str:
    page.goto(url)
    sign_in(page, name, password)
    expect(page.get_by_role("heading", name="总览 · 云南省")).to_be_visible(timeout=90_000)
    return _project_card(page)


def test_two_processes_on_one_postgis_store(
    browser: Browser, pg_store: str, pg_server: str, tmp_path: Path
) -> None:
    projects = store.read_layer(pg_store, S.LAYER_PROJECTS, geometry=False)
    total = len(projects)
    fugong = projects[projects[S.COUNTY_CODE] == FUGONG]
    assert len(fugong) > DROPPED and (projects[S.COUNTY_CODE] == LUSHUI).any()
    ledger = tmp_path / "福贡县台账.xlsx"
    ledger.write_bytes(office_ledger_workbook(pd.DataFrame(fugong.iloc[DROPPED:])))

    one = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    two = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    with (
        serve(pg_store, log_name="streamlit_pg_1.log") as url1,
        serve(pg_store, log_name="streamlit_pg_2.log") as url2,
    ):
        p1, p2 = one.new_page(), two.new_page()
        assert _open_overview(p1, url1, ADMIN, ADMIN_PW) == f"{total:,}"
        assert _open_overview(p2, url2, ADMIN, ADMIN_PW) == f"{total:,}"

        # an import through the CLI into the store both processes serve
        _onemap(tmp_path, "import", "--store", pg_store, "--ledger", str(ledger))
        assert len(store.read_layer(pg_store, S.LAYER_PROJECTS, geometry=False)) == total - DROPPED

        # each process shows the new count after a reload (a new session), no restart
        assert _open_overview(p2, url2, ADMIN, ADMIN_PW) == f"{total - DROPPED:,}"
        assert _open_overview(p1, url1, ADMIN, ADMIN_PW) == f"{total - DROPPED:,}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        p2.screenshot(path=str(ARTIFACTS / "pg_process2_after_import.png"), full_page=True)

        # the 福贡县 clerk on process 2: 泸水市's library is refused, the own one opens
        p2.goto(f"{url2}/library?region={LUSHUI}")
        sign_in(p2, CLERK, CLERK_PW)
        expect(p2.get_by_text("无权查看").first).to_be_visible(timeout=90_000)
        p2.wait_for_timeout(1500)  # let any late element arrive
        main = p2.get_by_test_id("stMain").inner_text()
        assert not any(
            str(pid) in main
            for pid in projects.loc[projects[S.COUNTY_CODE] == LUSHUI, S.PROJECT_ID].head(20)
        )
        p2.screenshot(path=str(ARTIFACTS / "pg_clerk_refused_library.png"), full_page=True)
        own = two.new_page()
        own.goto(f"{url2}/library?region={FUGONG}")
        sign_in(own, CLERK, CLERK_PW)
        expect(own.get_by_role("heading", name="县级项目库")).to_be_visible(timeout=90_000)
        expect(own.get_by_text(f"共 {len(fugong) - DROPPED:,} 个项目").first).to_be_visible(
            timeout=90_000
        )
    one.close()
    two.close()

    # and through SQL: the dashboard's role with the clerk's region reads none of 泸水市
    schema = pgstore.parse(pg_store).schema
    app = pgstore.engine(pg_server.replace("//onemap@", "//onemap_app@"))
    count = sa.text(
        f"SELECT count(*) FILTER (WHERE county_code = :other), "
        f'count(*) FILTER (WHERE county_code = :own) FROM "{schema}".projects'
    )
    try:
        with app.begin() as conn:
            conn.execute(sa.text("SELECT set_config('onemap.region', :r, true)"), {"r": FUGONG[:6]})
            other, own = conn.execute(count, {"other": LUSHUI, "own": FUGONG}).one()
    finally:
        app.dispose()
    assert (other, own) == (0, len(fugong) - DROPPED)
