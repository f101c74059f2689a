"""Stored messages in the reader's language (issue #12): the quality checks' notes and the
import report's problems are stored in Chinese as written; the 数据质量 and 数据导入 pages and
``onemap import --lang en`` show them in English through ``data/messages.toml``."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from conftest import TOWN_A1, V1, V2
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.cli import main as cli
from layers.ingest.boundaries import read_boundary_units
from layers.ingest.ledger import read_ledger
from layers.ingest.registry import read_registry
from layers.ingest.report import PROBLEM
from layers.present import messages

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CJK = re.compile(r"[\u3400-\u9fff]+")
#: Chinese an English message may quote: the words a ledger must carry, a date as written
QUOTED = {"计划", "已批复", "在建", "已完工", "已验收", "年", "月", "日"}


def _english(message: str) -> str:
    text = messages.render(message, "en")
    assert text != message, f"no template for {message!r}"
    left = set(CJK.findall(text)) - QUOTED
    assert not left, (message, text)
    return text


def test_every_template_reads_back_with_its_values() -> None:
    raw = tomllib.loads(messages.MESSAGES_FILE.read_text(encoding="utf-8"))["templates"]
    assert len(raw) == len(messages.templates()) > 50
    for zh, en in raw.items():
        names = re.findall(r"\{(\w+)\}", zh)
        values = {n: f"V{i}x" for i, n in enumerate(names)}
        stored = zh.format(**values)
        assert messages.render(stored, "zh") == stored
        assert messages.render(stored, "en") == en.format(**values), zh


def test_values_keep_their_words_translated_and_unknown_messages_stay() -> None:
    assert messages.render("项目 P05 六定缺项：一次性审批、定公告", "en") == (
        "Project P05 misses some of the six fixes: one-off approval, public notice"
    )
    stored = "项目 P02 状态为在建，却有完工日期 2019-01-01；请更正状态或删去 completion_date"
    assert messages.render(stored, "en").startswith("Project P02 has status in progress")
    assert messages.render("某县扶贫办的备注", "en") == "某县扶贫办的备注"
    series = pd.Series(["缺少项目编号", None, "缺少项目编号"])
    shown = messages.render_series(series, "en")
    assert shown[0] == shown[2] == "No project ID" and pd.isna(shown[1])


def test_quality_notes_of_the_tiny_store_all_read_in_english(tiny_store: Path) -> None:
    issues = store.read_layer(tiny_store, S.TABLE_QUALITY_ISSUES)
    assert len(issues) >= 5
    texts = [_english(m) for m in issues[S.QI_MESSAGE]]
    assert "Project P07: spent 55.00 10k yuan, above the 50.00 10k yuan allocated" in texts[
        0
    ] or any(t.startswith("Project P07: spent 55.00") for t in texts)


def _csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


N = None
HEAD = ["项目编号", "项目名称", "县代码", "乡镇代码", "村代码", "项目类别", "计划年度", "项目状态"]
HEAD += ["计划投资", "已支出资金", "开工日期", "完工日期", "受益户数", "经度", "纬度", "资金来源"]
MESSY_LEDGER = [
    HEAD,
    [
        "P1",
        "一",
        "530102",
        N,
        V1,
        "产业",
        2019,
        "已完工",
        *[10, 5, "2019-01-01", "2019-12-01"],
        *[3, 101, 25, "财政"],
    ],
    [
        "Ｐ2",
        N,
        N,
        N,
        "5.30102E+11",
        "？？",
        2030,
        "奇怪",
        *["abc", -5, "2019-13-45", "昨天"],
        *[-1, 500, 95, "天上"],
    ],
    [N, "无编号", N, N, V2, "产业", 2010, "在建", 1, 1, N, N, N, N, N, N],
    [
        "P4",
        "四",
        "530103",
        TOWN_A1,
        V1,
        "产业",
        2019,
        "已完工",
        1,
        2,
        "2019-05-01",
        N,
        1.5,
        N,
        N,
        N,
    ],
    ["P5", "五", N, "530102002000", V1, "产业", "二〇一九", "计划", 1, N, N, N, N, N, N, N],
    ["P6", "六", N, N, "53010200100", "产业", N, "计划", N, N, N, N, N, N, N, N],
    ["P7", "七", N, N, V1, "产业", N, N, N, N, "2018-03-01", N, N, 25, 101, N],
    ["小计", N, N, N, N, N, N, N, 10, N, N, N, N, N, N, N],
    ["填表人：某某"],
]
REGISTRY = [
    ["村代码", "贫困户数", "贫困人口", "出列年度", "主要致贫原因"],
    [V1, 10, 30, 2018, "因病"],
    [V1, 11, 31, 2018, "因病"],
    ["5.30102E+11", 1, 2, "明年", "天灾"],
    [N, 1, 1, 2019, N],
    ["合计", 22, 62, N, N],
]


def test_every_problem_of_a_messy_ledger_and_registry_reads_in_english() -> None:
    ledger = read_ledger(("台账.csv", _csv(MESSY_LEDGER)))
    registry = read_registry(("名册.csv", _csv(REGISTRY)))
    problems = pd.concat([ledger.report.problems, registry.report.problems])
    found = set(problems[PROBLEM])
    assert len(found) >= 20, sorted(found)
    english = {m: _english(m) for m in found}
    assert english["合计/小计行，不是项目"] == "Total or subtotal row, not a project"
    assert english["经纬度填反，已交换"] == "Longitude and latitude swapped; put back"


def test_onemap_import_lang_en_writes_the_report_in_english(
    tiny_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "台账.csv"
    ledger.write_bytes(_csv(MESSY_LEDGER))
    report = tmp_path / "r" / "check"
    argv = ["import", "--ledger", str(ledger), "--store", str(tiny_store), "--dry-run"]
    assert cli.main([*argv, "--report", str(report), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\d+ rows read = \d+ accepted \+ \d+ refused", out)
    sheet = openpyxl.load_workbook(tmp_path / "r" / "check.xlsx").worksheets[1]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["File", "Sheet", "Row"] or "Problem" in header
    cells = [str(c.value) for row in sheet.iter_rows(min_row=2) for c in row[5:6]]
    assert "No project ID" in cells and "Total or subtotal row, not a project" in cells
    assert not any(CJK.search(c) and not set(CJK.findall(c)) <= QUOTED for c in cells)
    # Chinese stays the default
    assert cli.main([*argv, "--report", str(tmp_path / "zh")]) == 0
    assert "读入" in capsys.readouterr().out
    zh = openpyxl.load_workbook(tmp_path / "zh.xlsx").worksheets[1]
    assert "缺少项目编号" in [str(c.value) for row in zh.iter_rows(min_row=2) for c in row]


def test_quality_page_shows_the_notes_in_english(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/quality.py")
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    (table,) = [d.value for d in at.dataframe if "Note" in d.value.columns]
    notes = table["Note"].astype(str).tolist()
    assert notes and all(not CJK.search(n) for n in notes), notes
    assert any(n.startswith("Project P07: spent 55.00 10k yuan") for n in notes)


def test_the_report_summary_of_each_file_reads_in_english(tmp_path: Path) -> None:
    """The summary sheet's per-file rows (what the file is, how its CRS, encoding and personal
    columns were handled) in English, beside the office's own column names."""
    households = [
        ["户编号", "户主姓名", "身份证号", "行政村代码", "家庭人口数", "主要致贫原因"],
        ["H1", "张三", "530102199001011234", V1, 3, "因病"],
        ["H2", "李四", "530102199101011235", V1, "2.1e20", "因残"],
    ]
    registry = read_registry(("户.csv", _csv(households)))
    path = tmp_path / "村界.geojson"
    frame = gpd.GeoDataFrame(
        {"code": [V1, V2], "name": ["一村", "二村"]},
        geometry=[box(102.0, 25.0, 102.1, 25.1), None],
        crs="EPSG:4490",
    )
    frame.to_file(path, driver="GeoJSON")
    boundary = read_boundary_units(path, level="village")
    for report in (registry.report, boundary.report):
        shown = messages.report_in(report, "en").sources
        text = " ".join(shown[["kind", "notes", "columns"]].astype(str).agg(" ".join, axis=1))
        left = set(CJK.findall(text)) - {"户编号", "户主姓名", "身份证号", "行政村代码"}
        left -= {"家庭人口数", "主要致贫原因", "一村", "二村"}
        assert not left, text
    notes = " ".join(messages.report_in(registry.report, "en").sources["notes"])
    assert "columns of personal data not imported" in notes
    problems = messages.report_in(registry.report, "en").problems[PROBLEM].tolist()
    assert problems == ["Household size is not a whole number from 1 to 99"]
    kinds = messages.report_in(boundary.report, "en").sources["kind"].tolist()
    assert kinds == ["Boundaries (village)"]
