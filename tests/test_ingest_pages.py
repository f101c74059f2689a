"""AppTests of the 数据导入 and 数据质量 pages on the tiny store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.accounts import writer
from layers.build import pipeline, revisions, zones
from layers.ingest import reconcile
from layers.ingest.prepare import ReadOptions, prepare_import
from layers.ingest.template import office_ledger_workbook
from tests.conftest import (
    COUNTY_A,
    COUNTY_B,
    make_projects,
    write_tiny_store,
)

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_tiny_store(tmp_path / "tiny.gpkg", demo=False)
    monkeypatch.setenv("ONEMAP_STORE", str(path))
    zpath = tmp_path / "zones.toml"  # the tiny province's zones, for rebuilds after an import
    zpath.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n', encoding="utf-8"
    )
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    return path


def open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_quality_page_counts_and_region(tiny_store: Path) -> None:
    issues = store.read_layer(tiny_store, S.TABLE_QUALITY_ISSUES)
    at = open_page("views/quality.py")
    assert at.title[0].value == "数据质量"
    assert at.subheader[0].value == f"云南省 · 共 {len(issues):,} 个问题"
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["错误"] == f"{int((issues[S.QI_SEVERITY] == 'error').sum()):,}"
    table = at.dataframe[-1].value
    assert len(table) == len(issues)
    assert "支出超过下达资金" in set(table["检查项"])
    # the map of where the problems are: a choropleth of the two prefectures
    maps = at.get("component_instance")
    assert len(maps) == 1
    script = json.loads(maps[0].proto.json_args)["script"]

    def drawn(name: str) -> bool:
        return name in script or json.dumps(name)[1:-1] in script

    assert drawn("甲市") and drawn("乙市") and not drawn("云南省")


def test_issues_per_unit_and_region_filter(tiny_store: Path) -> None:
    issues = store.read_layer(tiny_store, S.TABLE_QUALITY_ISSUES)
    units = store.read_layer(tiny_store, S.LAYER_ADMIN_UNITS)
    counties = units[units[S.LEVEL] == "county"]
    per = reconcile.issues_per_unit(issues, counties, "county").set_index(S.CODE)
    in_b = reconcile.filter_region(issues, COUNTY_B[:6])
    assert per.loc[COUNTY_B, "issues"] == len(in_b) > 0
    assert per.loc[COUNTY_B, "errors"] == int((in_b[S.QI_SEVERITY] == "error").sum())
    assert (
        per["issues"].sum()
        == issues[S.QI_CODE].str.slice(0, 6).isin(counties[S.CODE].str.slice(0, 6)).sum()
    )


def test_import_page_preview_and_confirm(tiny_store: Path) -> None:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == COUNTY_B].copy()
    part.loc[part.index[0], S.FUNDS_PLANNED] = 999.0
    book = office_ledger_workbook(part)
    prepared = prepare_import(store.read_inputs(tiny_store), ledgers=[("乙县.xlsx", book)])
    at = open_page("views/import_data.py")
    assert at.title[0].value == "数据导入"
    at.session_state["import_prepared"] = prepared
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.info[0].value.startswith("读入 5 行 = 接收 3 行 + 拒收 2 行")
    assert "乙县" in at.warning[0].value
    before = store.read_layer(tiny_store, S.TABLE_REGION_SUMMARY)
    assert before.set_index(S.CODE).loc[S.PROVINCE_CODE, S.FUNDS_PLANNED] == pytest.approx(1175)
    at.button(key="imp_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("导入完成")
    after = store.read_layer(tiny_store, S.TABLE_REGION_SUMMARY)
    assert after.set_index(S.CODE).loc[S.PROVINCE_CODE, S.FUNDS_PLANNED] == pytest.approx(1874)


def test_import_landing_between_check_and_confirm_is_kept(tiny_store: Path) -> None:
    """检查 (county 乙), another import (county 甲) lands, 确认: 甲's import is kept, 乙's is
    checked again and written only on the next 确认, on top of 甲's."""
    p = make_projects()
    part_b = p[p[S.COUNTY_CODE] == COUNTY_B].copy()
    part_b.loc[part_b.index[0], S.FUNDS_PLANNED] = 999.0
    book_b = office_ledger_workbook(part_b)
    options = {
        "ledgers": [("乙县.xlsx", book_b)],
        "registry": None,
        "boundaries": [],
        "options": ReadOptions(),
        "replace_all": False,
    }
    at = open_page("views/import_data.py")
    at.session_state["import_prepared"] = prepare_import(store.read_inputs(tiny_store), **options)
    at.session_state["import_base_rev"] = revisions.head(tiny_store)
    at.session_state["import_request"] = options
    at.run()
    # another steward imports county 甲 between the two clicks
    part_a = p[p[S.COUNTY_CODE] == COUNTY_A].copy()
    part_a[S.FUNDS_PLANNED] = 1.0
    other = prepare_import(
        store.read_inputs(tiny_store), ledgers=[("甲县.xlsx", office_ledger_workbook(part_a))]
    )
    pipeline.commit_import(tiny_store, other, user="other", expected_rev=0)
    a_after = store.read_inputs(tiny_store).projects
    a_after = a_after[a_after[S.COUNTY_CODE] == COUNTY_A]
    at.button(key="imp_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("检查之后数据库已写入新的修订" in w.value and "other" in w.value for w in at.warning)
    assert revisions.head(tiny_store) == 1  # nothing written over 甲's import
    at.button(key="imp_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value.startswith("导入完成")
    log = revisions.read_log(tiny_store)
    assert log["user"].tolist() == ["other", writer()]
    now = store.read_inputs(tiny_store).projects
    a_now = now[now[S.COUNTY_CODE] == COUNTY_A]
    assert (a_now[S.FUNDS_PLANNED] == 1.0).all() and len(a_now) == len(a_after)
    b_now = now[now[S.COUNTY_CODE] == COUNTY_B]
    assert (b_now[S.FUNDS_PLANNED] == 999.0).any()
    # the history on the page lists both revisions, latest first
    table = at.dataframe[-1].value
    assert table["修订"].tolist() == [2, 1] and table["用户"].tolist()[1] == "other"
