"""Display/download tables: Chinese headers, search, six-fixes gaps, laggards, XLSX/CSV bytes."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from layers import schema as S
from layers.errors import ExportError, OneMapError
from layers.export import tables, xlsx
from layers.present import i18n


def test_six_fixes_matrix_counts_the_hand_total(tiny_projects: pd.DataFrame) -> None:
    has = tables.six_fixes_matrix(tiny_projects)
    assert list(has.columns) == list(S.SIX_FIXES)
    assert int(has.all(axis=1).sum()) == 10  # conftest: 10 projects with all six fixes


def test_missing_six_fixes_names_the_gaps(tiny_projects: pd.DataFrame) -> None:
    gaps = tables.missing_six_fixes(tiny_projects)
    by_id = dict(zip(tiny_projects[S.PROJECT_ID], gaps, strict=True))
    assert by_id["P01"] == ""
    assert by_id["P03"] == "定检查"
    assert by_id["P05"] == "一次性审批、定公告、定检查"
    assert gaps.index.equals(tiny_projects.index)


def test_blank_text_counts_as_missing() -> None:
    df = pd.DataFrame(
        {
            S.FUNDS_PLANNED: [1.0, np.nan],
            S.PLAN_YEAR: [2017, 2018],
            S.APPROVAL_REF: ["  ", "批复"],
            S.PUBLIC_NOTICE_DATE: pd.to_datetime(["2017-01-01", None]),
            S.RESPONSIBLE_UNIT: ["局", None],
            S.INSPECTION_RESULT: ["合格", "合格"],
        }
    )
    assert tables.missing_six_fixes(df).tolist() == ["一次性审批", "定资金、定公告、定责任"]


def test_project_table_has_chinese_headers_labels_and_names(
    tiny_projects: pd.DataFrame, tiny_units: pd.DataFrame
) -> None:
    before = tiny_projects.copy()
    names = tiny_units.set_index(S.CODE)[S.NAME]
    out = tables.project_table(tiny_projects, names=names, with_missing_fixes=True)
    pd.testing.assert_frame_equal(tiny_projects, before)  # input untouched
    assert "geometry" not in out.columns
    assert out.columns[:3].tolist() == ["项目编号", "项目名称", "县/市/区"]
    assert "六定缺项" in out.columns and "计划资金(万元)" in out.columns
    row = out[out["项目编号"] == "P01"].iloc[0]
    assert row["县/市/区"] == "甲县"
    assert row["行政村"] == "一村"
    assert row["行业"] == "特色产业"
    assert row["状态"] == "已完工"
    assert row["资金来源"] == "中央财政专项"
    assert row["开工日期"] == "2016-03-01"
    assert out["计划资金(万元)"].sum() == pytest.approx(1175)
    county_wide = out[out["项目编号"] == "P11"].iloc[0]
    assert (county_wide["乡/镇"], county_wide["行政村"]) == ("—", "—")


def test_project_table_names_the_missing_columns() -> None:
    with pytest.raises(OneMapError, match=r"project_table\(projects\).*project_id"):
        tables.project_table(pd.DataFrame({"x": [1]}))


def test_search_matches_every_term_in_any_column(tiny_projects: pd.DataFrame) -> None:
    out = tables.project_table(tiny_projects)
    assert tables.search(out, "").equals(out)
    water = tables.search(out, "饮水")
    assert set(water["项目编号"]) == {"P02", "P10"}
    assert set(tables.search(out, "饮水 2020")["项目编号"]) == {"P10"}
    assert set(tables.search(out, "p0")["项目编号"]) == {f"P0{i}" for i in range(1, 10)}
    assert tables.search(out, "不存在的词").empty


def _summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.CODE: ["1", "2", "3", "4"],
            S.NAME: ["甲县", "乙县", "丙县", "丁县"],
            S.N_PROJECTS: [10, 10, 10, 0],
            S.COMPLETION: [0.9, 0.5, 0.5, np.nan],
            S.COVERAGE: [0.99, 0.8, 0.95, 1.0],
            S.POOR_POPULATION: [100, 100, 1000, 10],
            S.COVERED_CAPPED: [99, 80, 950, 10],
        }
    )


def test_laggards_lowest_completion_ties_on_uncovered() -> None:
    summary = _summary()
    before = summary.copy()
    out = tables.laggards(summary, by=S.COMPLETION, n=3)
    assert out[S.NAME].tolist() == ["丙县", "乙县", "甲县"]  # NaN dropped; tie → more uncovered
    assert out[i18n.UNCOVERED].tolist() == [50, 20, 1]
    pd.testing.assert_frame_equal(summary, before)


def test_laggards_most_uncovered() -> None:
    out = tables.laggards(_summary(), by=i18n.UNCOVERED, n=2)
    assert out[S.NAME].tolist() == ["丙县", "乙县"]


def test_laggards_rejects_unknown_key() -> None:
    with pytest.raises(OneMapError, match=r"`by` was 'funds'"):
        tables.laggards(_summary(), by="funds")
    with pytest.raises(OneMapError, match=r"`n` was 0"):
        tables.laggards(_summary(), n=0)


def test_summary_table_percentages_and_headers() -> None:
    out = tables.summary_table(_summary())
    assert out.columns.tolist()[:4] == ["名称", "项目数", "完工率(%)", "覆盖率(%)"]
    assert out["完工率(%)"].tolist()[:3] == [90.0, 50.0, 50.0]
    assert out["未覆盖贫困人口"].tolist() == [1, 20, 50, 0]


def test_escape_formulas_prefixes_risky_text_only() -> None:
    df = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "普通", None, "\t=1"],
            "n": [-1, 2, 3, 4, 5, 6, 7],
        }
    )
    out = tables.escape_formulas(df)
    assert out["name"].tolist()[:5] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "普通",
    ]
    assert pd.isna(out["name"].iloc[5])
    assert out["name"].iloc[6] == "'\t=1"
    assert out["n"].tolist() == df["n"].tolist()  # numbers untouched (negative stays numeric)
    assert df["name"].iloc[0].startswith("=")  # input not mutated


def test_xlsx_bytes_round_trip_without_formulas(tiny_projects: pd.DataFrame) -> None:
    table = tables.project_table(tiny_projects)
    table.loc[0, "项目名称"] = "=1+2"
    data = tables.to_xlsx_bytes(table, sheet_name="县级项目库")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["县级项目库"]
    assert [c.value for c in ws[1]][:2] == ["项目编号", "项目名称"]
    assert ws.max_row == len(table) + 1
    assert ws["B2"].value == "'=1+2" and ws["B2"].data_type == "s"
    formulas = [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_xlsx_rejects_bad_sheet_name() -> None:
    with pytest.raises(ExportError, match=r"sheet_name.*not a valid Excel sheet name"):
        tables.to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet_name="a/b")


def test_csv_bytes_are_utf8_bom_and_escaped(tiny_projects: pd.DataFrame) -> None:
    table = tables.project_table(tiny_projects)
    table.loc[1, "项目名称"] = "@cmd"
    data = tables.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert back.columns[0] == "项目编号"
    assert back.loc[1, "项目名称"] == "'@cmd"
    assert len(back) == len(table)


def test_unit_options_label_with_ancestors(tiny_units: pd.DataFrame) -> None:
    out = tables.unit_options(tiny_units, level="township")
    assert out[S.CODE].tolist() == ["530102001000", "530102002000", "530103001000", "530201001000"]
    assert out["label"].iloc[0] == "甲市 · 甲县 · 一乡"
    inside = tables.unit_options(tiny_units, level="village", within="530102000000")
    assert inside["label"].iloc[0] == "一乡 · 一村"
    assert len(inside) == 4


def test_unit_options_only_and_counties(tiny_units: pd.DataFrame) -> None:
    plans = ["530102001001", "530102002001", "530103001001"]
    out = tables.unit_options(tiny_units, level="village", only=plans, counties=["530103000000"])
    assert out[S.CODE].tolist() == ["530103001001"]
    assert tables.unit_options(tiny_units, level="county", counties=[]).empty


def test_unit_options_rejects_a_level_above_the_region(tiny_units: pd.DataFrame) -> None:
    with pytest.raises(OneMapError, match=r"`level` 'county' must lie below"):
        tables.unit_options(tiny_units, level="county", within="530102000000")


def _mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "名称": ["A & B <x>", "  前后空格 ", None, "=cmd", "控制\x01符", "普通"],
            "n": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
            "资金": [1.5, np.nan, 0.1, -2.25, np.inf, 1e-7],
            "ok": [True, False, True, True, False, True],
        }
    )


def test_xlsx_keeps_values_types_and_blanks() -> None:
    data = tables.to_xlsx_bytes(_mixed(), sheet_name="A&B")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["A&B"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["名称", "n", "资金", "ok"]
    assert [r[0] for r in rows[1:]] == [
        "A & B <x>",
        "  前后空格 ",
        None,
        "'=cmd",
        "控制符",  # a character XML cannot hold is dropped
        "普通",
    ]
    assert [r[1] for r in rows[1:]] == [1, 2, None, 4, 5, 6]
    assert [r[2] for r in rows[1:]] == [1.5, None, 0.1, -2.25, None, 1e-7]  # NaN/inf → blank
    assert [r[3] for r in rows[1:]] == [True, False, True, True, False, True]
    assert ws.column_dimensions["A"].width == 8 and ws.column_dimensions["C"].width == 8


def test_xlsx_rows_continue_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "XLSX_CHUNK_ROWS", 3)
    table = pd.DataFrame({"id": [f"P{i:02d}" for i in range(10)], "v": np.arange(10) * 1.5})
    wb = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(table)))
    ws = wb.active
    assert ws.max_row == 11
    assert [c.value for c in ws["A"]][1:] == table["id"].tolist()
    assert [c.value for c in ws["B"]][1:] == table["v"].tolist()
    assert ws.calculate_dimension() == "A1:B11"


def test_xlsx_rejects_text_longer_than_an_excel_cell() -> None:
    table = pd.DataFrame({"说明": ["x" * (xlsx.XLSX_MAX_TEXT + 1)]})
    with pytest.raises(ExportError, match=r"column '说明' holds a text of 32,768 characters"):
        tables.to_xlsx_bytes(table)


def test_csv_quotes_separators_and_keeps_blanks() -> None:
    table = _mixed()
    table["名称"] = ["a,b", 'say "hi"', None, "=cmd", "two\nlines", "普通"]
    data = tables.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["名称"].tolist() == ["a,b", 'say "hi"', "", "'=cmd", "two\nlines", "普通"]
    assert back["n"].tolist() == ["1", "2", "", "4", "5", "6"]
    assert pd.to_numeric(back["资金"]).tolist()[:4] == pytest.approx(
        [1.5, np.nan, 0.1, -2.25], nan_ok=True
    )


def test_csv_falls_back_for_mixed_object_columns() -> None:
    table = pd.DataFrame({"混合": pd.Series([1, "-x", None], dtype=object), "n": [1, 2, 3]})
    data = tables.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["混合"].tolist() == ["1", "'-x", ""]


def test_xlsx_of_an_empty_view_has_the_header_only() -> None:
    table = pd.DataFrame(
        {"项目编号": pd.Series([], dtype="str"), "资金": pd.Series([], dtype="float64")}
    )
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(table))).active
    assert [[c.value for c in row] for row in ws.iter_rows()] == [["项目编号", "资金"]]
    blank = pd.DataFrame({"备注": [None, None]}, dtype=object)
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(blank))).active
    assert [c.value for c in ws["A"]] == ["备注"]  # no value cells, the header stays


def test_dates_download_as_iso_text_in_both_formats() -> None:
    when = pd.to_datetime(["2020-01-02", None, "2019-12-31 08:30"], format="ISO8601")
    table = pd.DataFrame({"完工日期": when, "n": [1, 2, 3]})
    before = table.copy()
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(table))).active
    assert [c.value for c in ws["A"]] == ["完工日期", "2020-01-02", None, "2019-12-31 08:30:00"]
    back = pd.read_csv(
        io.BytesIO(tables.to_csv_bytes(table)),
        encoding="utf-8-sig",
        dtype=str,
        keep_default_na=False,
    )
    assert back["完工日期"].tolist() == ["2020-01-02", "", "2019-12-31 08:30:00"]
    pd.testing.assert_frame_equal(table, before)
