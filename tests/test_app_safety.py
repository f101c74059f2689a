"""The page boundary: malformed links fall back with a notice, no page shows a traceback or a
server path (AppTest runs app.py itself on the tiny store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import COUNTY_A, write_tiny_store
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers.errors import StoreError, public_message
from views import state, widgets

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = (
    "views/overview.py",
    "views/library.py",
    "views/roadmap.py",
    "views/village.py",
    "views/zones.py",
    "views/quality.py",
    "views/import_data.py",
    "views/export.py",
)
BAD_LINK = {"years": "9999999999999999999,1", "region": "abc", "metric": "x", "year": "99999"}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tiny.gpkg"
    return write_tiny_store(path, demo=True, seed=0, scale=0)


def _run(store_path: Path, page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    return at


def _page_text(at: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "warning", "error", "info", "exception")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


@pytest.mark.parametrize(
    ("query", "ignored"),
    [
        ({"years": "9999999999999999999,1"}, ("years",)),
        ({"years": "2016,2035"}, ("years",)),
        ({"years": "2016,2018"}, ()),
        ({"region": "abc"}, ("region",)),
        ({"region": COUNTY_A}, ()),
        ({"metric": "x", "basemap": "google", "lang": "fr"}, ("metric", "basemap", "lang")),
        ({"metric": S.COVERAGE}, ()),
        ({"sectors": "nope", "statuses": ",", "zones": "maybe"}, ("sectors", "zones")),
        ({"year": "99999999999999999999"}, ("year",)),
        ({"year": "2018", "unknown": "x"}, ()),
        ({"region": "5" * 500}, ("region",)),
    ],
)
def test_bad_parameters_fall_back_to_defaults_and_are_named(
    query: dict[str, str], ignored: tuple[str, ...]
) -> None:
    view, got = state.parse_query_params(query)
    assert got == ignored
    if "years" in ignored:
        assert view.years is None
    if "region" in ignored:
        assert view.region == S.PROVINCE_CODE
    if "metric" in ignored:
        assert view.metric == S.COMPLETION


@pytest.mark.parametrize("page", PAGES)
def test_a_bad_link_opens_every_page_with_a_notice(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    at = _run(tiny_store, page, **BAD_LINK)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    notices = [w.value for w in at.warning if "链接中的参数" in str(w.value)]
    assert notices == ["链接中的参数 years、region、metric、year 无效或超出范围，已按默认值显示。"]


def test_an_unexpected_error_is_logged_not_shown(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))

    def boom() -> None:
        raise KeyError("/srv/onemap/secret/layers/view.py line 12")

    monkeypatch.setattr(widgets, "demo_banner", boom)
    at = _run(tiny_store, "views/overview.py")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "页面出错了，已记录在服务器日志中。请刷新页面或换一个视图；如反复出现，请联系管理员。"
    ]
    assert "/srv/onemap" not in _page_text(at) and "Traceback" not in _page_text(at)
    assert "secret" in caplog.text and "Traceback" in caplog.text


def test_a_onemap_error_shows_one_line_without_the_server_path(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))

    def fail() -> None:
        raise StoreError("could not read store /srv/onemap/data/onemap.gpkg: disk I/O error")

    monkeypatch.setattr(widgets, "demo_banner", fail)
    at = _run(tiny_store, "views/library.py")
    assert not at.exception
    assert [e.value for e in at.error] == ["could not read store onemap.gpkg: disk I/O error"]


def test_public_message_cuts_directories_only() -> None:
    e = ValueError("bad file C:\\Users\\x\\ledger.xlsx and /tmp/a/b.csv; see https://x.org/a/b")
    assert public_message(e) == "bad file ledger.xlsx and b.csv; see https://x.org/a/b"
    assert public_message(RuntimeError("")) == "RuntimeError"
    assert public_message(OSError("one\ntwo /x/y")) == "one"
