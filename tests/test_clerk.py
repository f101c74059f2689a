"""The clerk (issue #12): an unknown column is named in Chinese (English on the English page) with
the accepted names of the nearest fields; a province user adds a header alias from the 数据导入
page (a file next to the store, read on top of data/column_map.toml, also by ``onemap import``);
the validation report speaks the office's column names, in the page's language."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import zones
from layers.errors import LedgerError
from layers.ingest import aliases
from layers.ingest.columns import load_column_map, nearest_fields
from layers.ingest.ledger import read_ledger
from layers.ingest.prepare import prepare_import
from layers.ingest.report import ACTION, COLUMN, PROBLEM
from layers.ingest.unknown import HeaderNotFound
from tests.conftest import V1, write_tiny_store
from views.import_data import report_words

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


#: a ledger whose office calls 计划投资 「投资金额」 and keeps a column nobody imports
LEDGER = [
    ["项目编号", "项目名称", "村代码", "项目状态", "计划年度", "投资金额", "经办人"],
    ["P-1", "甲村道路", V1, "已完工", "2019", "12.5", "张三"],
]


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_tiny_store(tmp_path / "tiny.gpkg", demo=False)
    monkeypatch.setenv("ONEMAP_STORE", str(path))
    zpath = tmp_path / "zones.toml"
    zpath.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n', encoding="utf-8"
    )
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    return path


def test_nearest_fields_name_the_accepted_headers() -> None:
    cmap = load_column_map()
    near = dict(nearest_fields("投资金额", cmap))
    assert "funds_planned" in near
    assert {"计划投资", "总投资"} <= set(near["funds_planned"])
    assert nearest_fields("经办人", cmap) == []


def test_unknown_column_is_reported_in_chinese_with_the_accepted_names() -> None:
    res = read_ledger(("台账.csv", _csv(LEDGER)))
    assert len(res.table) == 1 and res.table[S.FUNDS_PLANNED].isna().all()
    warned = res.report.problems[res.report.problems[ACTION] == "warning"]
    by_column = dict(zip(warned[COLUMN], warned[PROBLEM], strict=True))
    text = by_column["投资金额 (F)"]
    assert text.startswith("未识别的列「投资金额」，未导入。相近的字段：计划投资（可写作：计划投资")
    assert "「数据导入」页添加表头别名" in text
    assert by_column["经办人 (G)"].startswith("未识别的列「经办人」，未导入。没有相近的字段")
    unknown = res.report.unknown
    assert list(unknown["header"]) == ["投资金额", "经办人"]
    assert unknown["nearest"].iloc[0].split(",")[0] == "funds_planned"


def test_report_speaks_the_office_column_names() -> None:
    rows = [["项目编号", "村代码", "计划年度", "总投资（元）"], ["P-1", V1, "2019", "125000"]]
    res = read_ledger(("台账.csv", _csv(rows)))
    src = res.report.sources.iloc[0]
    assert "总投资（元） (D)→计划投资" in src["columns"]
    assert src["unit"] == "总投资（元） (D)=元（表头）"
    assert "funds_planned" not in src["columns"] + src["unit"]


def test_alias_file_next_to_the_store_makes_the_header_read(tmp_path: Path) -> None:
    store_path = tmp_path / "onemap.gpkg"
    cmap = aliases.column_map_for(store_path)
    added = aliases.add_alias(
        store_path, cmap, aliases.Alias("projects", S.FUNDS_PLANNED, "投资金额", "admin（账户）")
    )
    path = aliases.aliases_path(store_path)
    assert path == tmp_path / "onemap.gpkg.column_map.toml"
    assert aliases.read_aliases(path) == [added]
    assert added.user == "admin（账户）" and added.time.endswith("Z")
    res = read_ledger(("台账.csv", _csv(LEDGER)), column_map=aliases.column_map_for(store_path))
    assert res.table[S.FUNDS_PLANNED].tolist() == [12.5]
    assert "投资金额 (F)→计划投资" in res.report.sources.iloc[0]["columns"]
    assert list(res.report.unknown["header"]) == ["经办人"]
    # the shipped map stays as it was; a header already taken is refused
    assert "投资金额" not in load_column_map().sections["projects"]
    with pytest.raises(LedgerError, match="already reads as funds_planned"):
        aliases.add_alias(
            store_path,
            aliases.column_map_for(store_path),
            aliases.Alias("projects", S.FUNDS_SPENT, "投资 金额"),
        )
    with pytest.raises(LedgerError, match="not a field of the column map"):
        aliases.add_alias(store_path, cmap, aliases.Alias("projects", "nonsense", "某列"))


def test_alias_with_quotes_and_backslashes_round_trips(tmp_path: Path) -> None:
    store_path = tmp_path / "s.gpkg"
    header = 'a "b" \\c\n'
    aliases.add_alias(
        store_path,
        aliases.column_map_for(store_path),
        aliases.Alias("projects", S.APPROVAL_REF, header),
    )
    got = aliases.read_aliases(aliases.aliases_path(store_path))
    assert [a.header for a in got] == [header.strip()]


def test_report_files_in_english(tmp_path: Path, tiny_store: Path) -> None:
    prepared = prepare_import(store.read_inputs(tiny_store), ledgers=[("台账.csv", _csv(LEDGER))])
    words = report_words(prepared.report, "en")
    paths = prepared.report.write(tmp_path / "report", words)
    book = openpyxl.load_workbook(paths[0])
    assert book.sheetnames == ["Summary", "Problems"]
    problems = [c.value for c in book["Problems"][1]]
    assert problems == ["File", "Sheet", "Row", "Column", "Value", "Problem", "Action"]
    assert book["Problems"]["G2"].value == "warning"
    summary = [c.value for c in book["Summary"][1]]
    assert summary[:3] == ["File", "Sheet", "Kind"] and "Columns read" in summary
    last = book["Summary"].max_row
    assert book["Summary"][f"A{last}"].value == "Total"
    assert paths[2].name == "report_Summary.csv"


def _open_import(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("views/import_data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("zh", "「投资金额」（F列）未识别，未导入。 相近的字段：计划投资（可写作：计划投资、"),
        ("en", '"投资金额" (column F) is not recognised and was not imported. Nearest fields: '),
    ],
)
def test_import_page_names_unknown_columns_and_adds_an_alias(
    tiny_store: Path, lang: str, said: str
) -> None:
    prepared = prepare_import(store.read_inputs(tiny_store), ledgers=[("台账.csv", _csv(LEDGER))])
    at = _open_import(lang)
    at.session_state["import_prepared"] = prepared
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(w.value.startswith(said) for w in at.warning), [w.value for w in at.warning]
    # the province user says 投资金额 is 计划投资 (the nearest field is offered first)
    at.selectbox(key="imp_alias_hdr").set_value("投资金额").run()
    assert at.selectbox(key="imp_alias_field_投资金额").value == S.FUNDS_PLANNED
    at.button(key="imp_alias_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success, [e.value for e in at.error]
    added = aliases.read_aliases(aliases.aliases_path(tiny_store))
    assert [(a.field, a.header) for a in added] == [(S.FUNDS_PLANNED, "投资金额")]
    assert "投资金额" in at.success[0].value and "计划投资" in at.success[0].value


def test_import_page_without_a_ledger_header_says_why_in_english(tiny_store: Path) -> None:
    with pytest.raises(HeaderNotFound) as e:
        prepare_import(
            store.read_inputs(tiny_store), ledgers=[("x.csv", _csv([["编码", "工程名称"]]))]
        )
    at = _open_import("en")
    at.session_state["import_no_header"] = e.value
    at.run()
    text = at.error[0].value
    assert text.startswith("x.csv: no project ledger header found")
    assert 'No "项目编号" column; accepted headers: 项目编号、项目编码' in text
    assert '"工程名称" (column B) is not recognised' in text and "项目名称 (accepted: " in text
    assert "column_map.toml" not in text
