"""AppTests of sign-in and regional permissions (views/auth.py wired in app.py): an anonymous
visitor gets only the sign-in form; a county clerk signs in, sees the province, its county, and
is refused another prefecture's village by URL; single-user mode and the non-local default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import COUNTY_A, COUNTY_B, PREF_A, TOWN_A1, V1, V5, V7, write_tiny_store
from streamlit import config
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers.accounts import Accounts

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("auth") / "tiny.gpkg", demo=True)


@pytest.fixture
def users(tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "users.sqlite"))
    book = Accounts(tmp_path / "users.sqlite")
    book.add("admin", PASSWORD, "province", by="test")
    book.add("clerk_b", PASSWORD, "county", COUNTY_B, by="test")  # 乙县 of 甲市
    return book


def _app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "subheader", "markdown", "caption", "info", "error")
        for e in getattr(at, kind)
    ]
    return "\n".join(map(str, parts))


def _maps(at: AppTest) -> list[str]:
    return [json.loads(m.proto.json_args)["script"] for m in at.get("component_instance")]


def test_anonymous_visitor_sees_only_the_form(users: Accounts) -> None:
    for page, query in [
        (None, {}),
        ("views/village.py", {"region": V1}),
        ("views/import_data.py", {}),
    ]:
        at = _app(page, **query)
        labels = [t.label for t in at.text_input]
        assert labels == ["用户名", "密码"]
        assert [b.label for b in at.button] == ["登录"]
        assert not _maps(at)  # no map, no table, no metric, no sidebar widget
        assert not at.dataframe and not at.metric and not at.sidebar.selectbox
        assert "一村" not in _text(at) and "甲市" not in _text(at)


def test_wrong_password_is_refused(users: Accounts) -> None:
    at = _sign_in(_app(), "clerk_b", "wrong password")
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert not at.sidebar.selectbox


def test_county_clerk_sees_the_province_and_its_county(users: Accounts) -> None:
    at = _sign_in(_app(), "clerk_b")
    assert not at.error, [e.value for e in at.error]
    assert any("clerk_b" in c.value and "乙县" in c.value for c in at.sidebar.caption)
    assert [b.label for b in at.sidebar.button] == ["退出"]
    assert _maps(at)  # the province map
    # the township selector lists nothing outside its county
    at.sidebar.selectbox(key="sb_prefecture").set_value(PREF_A).run()
    at.sidebar.selectbox(key="sb_county").set_value(COUNTY_A).run()
    assert at.sidebar.selectbox(key="sb_township").options == ["全部"]
    assert any("无权查看" in e.value for e in at.error)  # county A's townships: refused
    assert not _maps(at)
    at.sidebar.button(key="signout").click().run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_county_clerk_is_refused_another_prefectures_village_by_url(users: Accounts) -> None:
    at = _app("views/village.py", region=V7)
    at = _sign_in(at, "clerk_b")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "无权查看" in errors[0], errors
    assert not _maps(at) and not at.dataframe
    assert "七村" not in _text(at)
    # the button goes back to its county, where its own village opens
    at.button(key="scope_back").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox(key="sb_county").value == COUNTY_B
    at.sidebar.selectbox(key="sb_township").set_value(V5[:9] + "000").run()
    at.sidebar.selectbox(key="sb_village").set_value(V5).run()
    assert not at.error, [e.value for e in at.error]
    assert "五村" in _text(at) and _maps(at)


def test_detail_page_above_the_scope_is_narrowed(users: Accounts) -> None:
    at = _sign_in(_app("views/library.py"), "clerk_b")
    assert not at.error, [e.value for e in at.error]
    assert any("乙县" in i.value for i in at.info)
    assert at.sidebar.selectbox(key="sb_county").value == COUNTY_B
    assert "乙县" in _text(at) and "甲县" not in "\n".join(s.value for s in at.subheader)


def test_province_account_sees_any_village(users: Accounts) -> None:
    at = _sign_in(_app("views/village.py", region=V1), "admin")
    assert not at.error, [e.value for e in at.error]
    assert "一村" in _text(at)
    assert S.level_of(TOWN_A1) == "township"


def test_session_expires(users: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _sign_in(_app(), "clerk_b")
    assert _maps(at)
    at.session_state["auth_seen"] = 0.0  # last activity long ago
    at.run()
    assert any("登录已超时" in i.value for i in at.info)
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_single_user_mode_without_accounts(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "none.sqlite"))
    at = _app()
    assert any(c.value == "单用户模式（仅本机）" for c in at.sidebar.caption)
    assert _maps(at) and not at.error


def test_no_data_on_another_address_without_accounts(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "none.sqlite"))
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = _app()
    finally:
        config.set_option("server.address", before)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "onemap user add admin --role province" in errors[0]
    assert not _maps(at) and not at.sidebar.selectbox and not at.text_input
