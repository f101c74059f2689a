"""The 数据导入 page's 修订记录 respects the account's scope (issue #9): a county clerk is shown
only revisions touching its county, gets another county's files and reports refused on the
server, and may roll back only what touched its own county alone; the province sees all."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import COUNTY_A, COUNTY_B, make_projects, write_tiny_store
from streamlit.testing.v1 import AppTest

from layers import access, store
from layers import schema as S
from layers.accounts import Accounts, writer
from layers.build import pipeline, revisions, zones
from layers.ingest.prepare import prepare_import
from layers.ingest.template import office_ledger_workbook

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse 1"
CLERK_B = access.Scope(region=COUNTY_B, write=True, admin=False)


@pytest.mark.parametrize(
    ("scope", "counties", "replace_all", "shared", "expected"),
    [
        (access.FULL, [COUNTY_A, COUNTY_B], False, True, (True, True, True)),
        (access.FULL, [], True, True, (True, True, True)),
        (CLERK_B, [COUNTY_B], False, False, (True, True, True)),
        (CLERK_B, [COUNTY_A], False, False, (False, False, False)),
        (CLERK_B, [COUNTY_A, COUNTY_B], False, False, (True, False, False)),
        (CLERK_B, [COUNTY_B], False, True, (True, False, False)),  # units or registry changed
        (CLERK_B, [], True, True, (True, False, False)),  # a replace-all touched its county too
        (CLERK_B, [], False, True, (False, False, False)),  # a rebuild touched no county
        (
            access.Scope(region=COUNTY_B, write=False, admin=False),  # a viewer of 乙县
            [COUNTY_B],
            False,
            False,
            (True, True, False),
        ),
        (
            access.Scope(region=COUNTY_A[:4] + "00000000", write=True, admin=False),  # 甲市
            [COUNTY_A, COUNTY_B],
            False,
            False,
            (True, True, True),
        ),
    ],
)
def test_revision_rights(scope, counties, replace_all, shared, expected) -> None:
    got = access.revision_rights(scope, counties, replace_all=replace_all, shared=shared)
    assert (got.listed, got.download, got.rollback) == expected


def _ledger(counties: list[str], delta: float) -> bytes:
    p = make_projects()
    part = p[p[S.COUNTY_CODE].isin(counties)].copy()
    part[S.FUNDS_PLANNED] = part[S.FUNDS_PLANNED] + delta
    return office_ledger_workbook(part)


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny province after three imports: 甲县 (rev 1), 乙县 (rev 2), both (rev 3)."""
    path = write_tiny_store(tmp_path / "tiny.gpkg", demo=False)
    zpath = tmp_path / "zones.toml"
    zpath.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n', encoding="utf-8"
    )
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    for i, counties in enumerate(([COUNTY_A], [COUNTY_B], [COUNTY_A, COUNTY_B]), start=1):
        upload = (f"ledger{i}.xlsx", _ledger(counties, float(i)))
        prepared = prepare_import(store.read_inputs(path), ledgers=[upload])
        pipeline.commit_import(path, prepared, user="admin（账户）", uploads=[upload])
    assert revisions.read_log(path)["rev"].tolist() == [1, 2, 3]
    monkeypatch.setenv("ONEMAP_STORE", str(path))
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "users.sqlite"))
    book = Accounts(tmp_path / "users.sqlite")
    book.add("admin", PASSWORD, "province", by="test")
    book.add("clerk_b", PASSWORD, "county", COUNTY_B, by="test")  # 乙县
    return path


def _import_page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/import_data.py")
    at.run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _downloads(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button") if "模板" not in b.proto.label]


def test_county_clerk_sees_and_undoes_only_its_own_revisions(logged: Path) -> None:
    at = _import_page("clerk_b")
    assert at.dataframe[-1].value["修订"].tolist() == [3, 2]  # 甲县's own import is not listed
    assert at.selectbox(key="hist_rev").options == ["3", "2"]
    # rev 3 also replaced 甲县: its files and report are not sent, it cannot be rolled back
    assert at.selectbox(key="hist_rev").value == 3
    assert _downloads(at) == []
    assert any("不能下载" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "hist_rollback_3"]
    # rev 2 touched 乙县 alone: its ledger and report download, and it can be rolled back
    at.selectbox(key="hist_rev").set_value(2).run()
    assert _downloads(at) == ["下载 ledger2.xlsx", "下载验证报告（XLSX）"]
    at.checkbox(key="hist_sure_2_0").check().run()
    at.button(key="hist_rollback_2").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("已撤销修订 2") for s in at.success)
    last = revisions.read_log(logged).iloc[-1]
    assert (last["kind"], int(last["rollback_of"])) == ("rollback", 2)
    assert last["user"] == writer("clerk_b") == "clerk_b（账户）"


def test_province_sees_every_revision(logged: Path) -> None:
    at = _import_page("admin")
    assert at.dataframe[-1].value["修订"].tolist() == [3, 2, 1]
    at.selectbox(key="hist_rev").set_value(1).run()
    assert _downloads(at) == ["下载 ledger1.xlsx", "下载验证报告（XLSX）"]
    assert [b for b in at.button if b.key == "hist_rollback_1"]
