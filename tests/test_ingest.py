"""Ledger and registry import: one fixture per awkward office form, built here in code."""

from __future__ import annotations

import csv
import datetime as dt
import io

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, TOWN_A1, V1, V2, V3, V5, make_projects, make_units
from geopandas.testing import assert_geodataframe_equal

from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.columns import DEFAULT_COLUMN_MAP, load_column_map
from layers.ingest.ledger import read_ledger
from layers.ingest.merge import merge_projects, merge_registry, unknown_units
from layers.ingest.registry import read_registry
from layers.ingest.report import (
    ACTION,
    COLUMN,
    FILE,
    PROBLEM,
    ROW,
    SHEET,
    VALUE,
    ImportResult,
    ValidationReport,
)
from layers.ingest.template import office_ledger_workbook

HEADER = ["项目编号", "项目名称", "村代码", "项目类别", "计划年度", "项目状态", "计划投资"]


def csv_bytes(rows: list[list[object]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]], merges: dict[str, list[str]] | None = None):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def problems_at(result: ImportResult, row: int) -> pd.DataFrame:
    p = result.report.problems
    return p[p[ROW] == row]


def balanced(report: ValidationReport) -> None:
    assert report.rows_in == report.accepted + report.rejected
    rejected_rows = report.problems[report.problems[ACTION] == "rejected"]
    assert rejected_rows[ROW].notna().all()
    assert (rejected_rows[COLUMN].str.len() > 0).all()


# --- encodings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_detected(encoding: str) -> None:
    rows = [
        ["某县2019年项目库"],
        HEADER,
        ["P1", "村道硬化", V1, "基础设施", "2019", "已完工", "12.5"],
    ]
    res = read_ledger(("台账.csv", csv_bytes(rows, encoding)))
    assert res.table[S.PROJECT_NAME].tolist() == ["村道硬化"]
    assert res.table[S.SECTOR].tolist() == ["infrastructure"]
    src = res.report.sources.iloc[0]
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030"}
    assert src["encoding"] == expected[encoding]
    assert src["header_rows"] == "2"  # the title row above is skipped and said so


def test_explicit_wrong_encoding_names_file_and_fix() -> None:
    data = csv_bytes([HEADER, ["P1", "村道", V1, "基础设施", "2019", "已完工", "1"]], "gbk")
    with pytest.raises(LedgerError, match=r"台账\.csv: not valid utf-8 .*leave --encoding out"):
        read_ledger(("台账.csv", data), encoding="utf-8")


# --- header forms -----------------------------------------------------------------------------
def test_merged_two_row_header_with_units_in_parent() -> None:
    rows = [
        ["甲县脱贫攻坚项目库（2019年）"],
        ["项目编号", "项目名称", "村代码", "项目状态", "计划年度", "资金（元）", None, None],
        [None, None, None, None, None, "计划投资", "已下达资金", "已支出资金"],
        ["P1", "产业", V1, "在建", 2019, 1_000_000, 500_000, 250_000],
    ]
    merges = {"s": ["A1:H1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:H2"]}
    res = read_ledger(("book.xlsx", xlsx_bytes({"s": rows}, merges)))
    t = res.table.iloc[0]
    assert (t[S.FUNDS_PLANNED], t[S.FUNDS_ALLOCATED], t[S.FUNDS_SPENT]) == (100.0, 50.0, 25.0)
    src = res.report.sources.iloc[0]
    assert src["header_rows"] == "2-3"
    # the report speaks the office's column names, not the store's
    assert "资金（元）/计划投资 (F)→计划投资" in src["columns"]
    assert "资金（元）/计划投资 (F)=元（表头）" in src["unit"]
    assert "funds_planned" not in src["columns"] + src["unit"]


def test_unit_from_title_row_option_and_cell() -> None:
    title = [["单位：元"], ["项目编号", "村代码", "项目状态", "计划年度", "计划投资"]]
    data = [["P1", V1, "已完工", 2019, 20000], ["P2", V1, "已完工", 2019, "3万元"]]
    res = read_ledger(("a.csv", csv_bytes(title + data, "utf-8")))
    assert res.table[S.FUNDS_PLANNED].tolist() == [2.0, 3.0]
    fixed = problems_at(res, 4)
    assert fixed[PROBLEM].str.contains("单元格写明的单位").all()
    plain = [
        ["项目编号", "村代码", "项目状态", "计划年度", "计划投资"],
        ["P1", V1, "已完工", 2019, 20000],
    ]
    assert read_ledger(("b.csv", csv_bytes(plain, "utf-8")), unit="元").table[
        S.FUNDS_PLANNED
    ].tolist() == [2.0]
    assert read_ledger(("b.csv", csv_bytes(plain, "utf-8"))).table[S.FUNDS_PLANNED].tolist() == [
        20000.0
    ]


def test_unknown_unit_option_rejected() -> None:
    with pytest.raises(LedgerError, match=r"unit '千元' is not understood; use '元' or '万元'"):
        read_ledger(("a.csv", b"x"), unit="千元")


def test_no_header_names_file_columns_and_the_import_page() -> None:
    """The clerk reads, in Chinese, the file, the missing 项目编号 with the names it accepts and
    each column not recognised; no server file to edit."""
    data = csv_bytes([["甲", "乙"], ["1", "2"]], "utf-8")
    with pytest.raises(
        LedgerError,
        match=r"x\.csv：没有找到项目库表头.*缺少：项目编号（可写作：项目编号、项目编码.*"
        r"未识别的列「甲」（A列）.*「乙」（B列）.*「数据导入」页.*表头别名",
    ) as e:
        read_ledger(("x.csv", data))
    assert "column_map.toml" not in str(e.value)


def test_user_extended_column_map(tmp_path) -> None:
    text = DEFAULT_COLUMN_MAP.read_text(encoding="utf-8")
    extended = text.replace('project_id = ["项目编号"', 'project_id = ["库内序列号", "项目编号"')
    path = tmp_path / "map.toml"
    path.write_text(extended, encoding="utf-8")
    rows = [["库内序列号", "村代码", "项目状态", "计划年度"], ["K9", V1, "已完工", "2019"]]
    with pytest.raises(LedgerError, match="没有找到项目库表头"):
        read_ledger(("k.csv", csv_bytes(rows, "utf-8")))
    res = read_ledger(("k.csv", csv_bytes(rows, "utf-8")), column_map=load_column_map(path))
    assert res.table[S.PROJECT_ID].tolist() == ["K9"]


def test_column_map_duplicate_variant_named(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[projects]\nname = ["名称"]\nsector = ["名称"]\n', encoding="utf-8")
    with pytest.raises(LedgerError, match=r"bad\.toml: \[projects\] lists '名称' under both"):
        load_column_map(path)


# --- rows that are not projects ---------------------------------------------------------------
def test_totals_subtotals_and_notes_rows_rejected_by_row() -> None:
    rows = [
        HEADER,
        ["P1", "一", V1, "产业", 2019, "已完工", 10],
        ["小计", None, None, None, None, None, 10],
        ["P2", "二", V2, "产业", 2019, "已完工", 5],
        [None, "合 计", None, None, None, None, 15],
        [],
        ["填表人：某某    审核：某某"],
    ]
    res = read_ledger(("t.csv", csv_bytes(rows, "utf-8")))
    assert res.table[S.PROJECT_ID].tolist() == ["P1", "P2"]
    rej = res.report.problems.set_index(ROW)
    assert rej.loc[3, PROBLEM] == "合计/小计行，不是项目"
    assert rej.loc[5, PROBLEM] == "合计/小计行，不是项目"
    assert rej.loc[7, PROBLEM] == "表尾说明或备注行，不是项目"
    assert res.report.rows_in == 5  # the blank row is not a row in
    assert (res.report.accepted, res.report.rejected) == (2, 3)
    balanced(res.report)


# --- codes ----------------------------------------------------------------------------------------
def test_codes_as_numbers_scientific_and_fullwidth() -> None:
    rows = [
        ["项目编号", "村代码", "县代码", "项目状态", "计划年度"],
        ["P1", int(V1), 530102, "已完工", 2019],  # numbers (Excel)
        ["P2", "5.30102001002E+11", None, "已完工", 2019],  # all 12 digits: recoverable
        ["P3", "5.30102E+11", None, "已完工", 2019],  # digits lost
        ["P4", "５３０１０２００２００１", None, "已完工", "２０１９"],  # full-width
        ["P5", "53010200100", None, "已完工", 2019],  # 11 digits
        ["P6", float(V3), None, "已完工", 2019.0],
    ]
    res = read_ledger(("c.xlsx", xlsx_bytes({"库": rows})))
    t = res.table.set_index(S.PROJECT_ID)
    assert t.loc["P1", S.VILLAGE_CODE] == V1 and t.loc["P1", S.COUNTY_CODE] == COUNTY_A
    assert t.loc["P2", S.VILLAGE_CODE] == V2
    assert t.loc["P4", S.VILLAGE_CODE] == V3 and t.loc["P4", S.PLAN_YEAR] == 2019
    assert t.loc["P6", S.VILLAGE_CODE] == V3
    assert t.loc["P6", S.TOWNSHIP_CODE] == V3[:9] + "000"
    assert "P3" not in t.index and "P5" not in t.index
    p3 = problems_at(res, 4)
    assert p3[ACTION].tolist() == ["rejected"]
    assert "科学计数法" in p3[PROBLEM].iloc[0] and p3[COLUMN].iloc[0] == "村代码 (B)"
    assert (problems_at(res, 3)[ACTION] == "fixed").all()
    assert "全角" in problems_at(res, 5)[PROBLEM].iloc[0]
    assert "不是有效的行政村代码" in problems_at(res, 6)[PROBLEM].iloc[0]
    balanced(res.report)


def test_inconsistent_codes_rejected() -> None:
    rows = [
        ["项目编号", "县代码", "乡镇代码", "村代码", "项目状态", "计划年度"],
        ["P1", "530103", TOWN_A1, V1, "已完工", 2019],  # village in 甲县, county says 乙县
        ["P2", "530102", "530102002000", V1, "已完工", 2019],  # village not in that township
        ["P3", "530103", None, None, "已完工", 2019],  # county-wide: fine
    ]
    res = read_ledger(("d.csv", csv_bytes(rows, "utf-8")))
    assert res.table[S.PROJECT_ID].tolist() == ["P3"]
    assert res.table[S.VILLAGE_CODE].isna().all()
    assert "不属于所填县代码" in problems_at(res, 2)[PROBLEM].iloc[0]
    assert "不属于所填乡镇代码" in problems_at(res, 3)[PROBLEM].iloc[0]


# --- dates --------------------------------------------------------------------------------------
def test_date_forms() -> None:
    day = pd.Timestamp("2019-05-03")
    forms = ["2019-05-03", "2019.5.3", "2019年5月3日", 43588, dt.datetime(2019, 5, 3), "2019/5/3"]
    rows = [["项目编号", "村代码", "项目状态", "计划年度", "完工日期"]]
    rows += [[f"P{i}", V1, "已完工", 2019, f] for i, f in enumerate(forms)]
    rows.append(["PX", V1, "已完工", 2019, "五月初"])
    res = read_ledger(("dates.xlsx", xlsx_bytes({"s": rows})))
    t = res.table.set_index(S.PROJECT_ID)
    assert (t.loc[[f"P{i}" for i in range(len(forms))], S.COMPLETION_DATE] == day).all()
    assert pd.isna(t.loc["PX", S.COMPLETION_DATE])
    bad = problems_at(res, len(forms) + 2)
    assert bad[ACTION].tolist() == ["cleared"]
    assert bad[COLUMN].tolist() == ["完工日期 (E)"] and bad[VALUE].tolist() == ["五月初"]


def test_plan_year_from_start_date_when_missing() -> None:
    rows = [
        ["项目编号", "村代码", "项目状态", "计划年度", "开工日期"],
        ["P1", V1, "在建", None, "2018年3月1日"],
        ["P2", V1, "在建", None, None],
    ]
    res = read_ledger(("y.csv", csv_bytes(rows, "utf-8")))
    assert res.table[S.PLAN_YEAR].tolist() == [2018]
    assert problems_at(res, 2)[ACTION].tolist() == ["fixed"]
    assert problems_at(res, 3)[ACTION].tolist() == ["rejected"]


def test_plan_years_outside_the_campaign_are_refused_and_reported() -> None:
    rows = [
        HEADER,
        ["P1", "一", V1, "产业", 2019, "在建", 1],
        ["P2", "二", V1, "产业", 2035, "在建", 1],
        ["P3", "三", V1, "产业", 2009, "在建", 1],
        ["P4", "四", V1, "产业", 2021, "计划", 1],
    ]
    res = read_ledger(("年度.csv", csv_bytes(rows, "utf-8")))
    assert res.table[S.PROJECT_ID].tolist() == ["P1"]
    for row, value in ((3, "2035"), (4, "2009"), (5, "2021")):
        bad = problems_at(res, row)
        assert bad[ACTION].tolist() == ["rejected"] and bad[VALUE].tolist() == [value]
        assert bad[COLUMN].tolist() == ["计划年度 (E)"] and bad[FILE].tolist() == ["年度.csv"]
        assert "攻坚期 2014–2020" in bad[PROBLEM].iloc[0]
    assert "--allow-later-years" in problems_at(res, 3)[PROBLEM].iloc[0]
    assert "早于" in problems_at(res, 4)[PROBLEM].iloc[0]


def test_later_plan_years_pass_with_a_warning_when_allowed() -> None:
    rows = [
        HEADER,
        ["P1", "一", V1, "产业", 2035, "在建", 1],
        ["P2", "二", V1, "产业", 2009, "在建", 1],
    ]
    res = read_ledger(("年度.csv", csv_bytes(rows, "utf-8")), allow_later_years=True)
    assert res.table[S.PROJECT_ID].tolist() == ["P1"] and res.table[S.PLAN_YEAR].tolist() == [2035]
    assert problems_at(res, 2)[ACTION].tolist() == ["warning"]
    assert problems_at(res, 3)[ACTION].tolist() == ["rejected"]


# --- several sheets and files ---------------------------------------------------------------
def test_several_sheets_and_files_and_cross_sheet_duplicates() -> None:
    a = [
        HEADER,
        ["A1", "一", V1, "产业", 2019, "已完工", 1],
        ["A2", "二", V2, "产业", 2019, "在建", 2],
    ]
    b = [
        ["乙县项目库"],
        HEADER,
        ["B1", "五", V5, "饮水", 2020, "已验收", 3],
        ["A1", "重", V5, "饮水", 2020, "计划", 4],
    ]
    book = xlsx_bytes({"说明": [["本表由县扶贫办填报"]], "甲县": a, "乙县": b})
    extra = csv_bytes([HEADER, ["C1", "三", V3, "教育", 2018, "已完工", 5]], "gbk")
    res = read_ledger([("book.xlsx", book), ("more.csv", extra)])
    assert sorted(res.table[S.PROJECT_ID]) == ["A1", "A2", "B1", "C1"]
    assert set(res.report.sources[SHEET]) == {"甲县", "乙县", ""}
    dup = res.report.problems[res.report.problems[PROBLEM].str.contains("重复")]
    assert dup[[SHEET, ROW]].values.tolist() == [["乙县", 4]]
    assert "甲县 第 2 行" in dup[PROBLEM].iloc[0]
    assert (res.report.rows_in, res.report.accepted, res.report.rejected) == (5, 4, 1)
    assert res.origin is not None and len(res.origin) == len(res.table)
    balanced(res.report)


def test_unreadable_files_one_line() -> None:
    with pytest.raises(LedgerError, match=r"bad\.xlsx: not a readable \.xlsx workbook"):
        read_ledger(("bad.xlsx", b"PK\x03\x04 not really a zip"))
    with pytest.raises(LedgerError, match=r"old\.xls: old Excel 97–2003"):
        read_ledger(("old.xls", b"\xd0\xcf\x11\xe0"))
    with pytest.raises(LedgerError, match=r"missing\.xlsx: file not found"):
        read_ledger("/nonexistent/missing.xlsx")


# --- categories and amounts -------------------------------------------------------------------
def test_categories_amounts_and_points() -> None:
    rows = [
        [
            "项目编号",
            "村代码",
            "项目类别",
            "项目状态",
            "计划年度",
            "资金来源",
            "计划投资",
            "经度",
            "纬度",
        ],
        ["P1", V1, "养殖", "竣工", 2019, "沪滇协作", "1,234.5", 100.2, 25.2],
        ["P2", V1, "火箭", "在建", 2019, "不明", "-5", 25.2, 100.2],  # lon/lat swapped
        ["P3", V1, "产业", "烂尾", 2019, "中央", "x", None, None],
    ]
    res = read_ledger(("cat.csv", csv_bytes(rows, "utf-8")))
    t = res.table.set_index(S.PROJECT_ID)
    assert t.loc["P1", S.SECTOR] == "industry" and t.loc["P1", S.STATUS] == "completed"
    assert t.loc["P1", S.FUND_SOURCE] == "east_west" and t.loc["P1", S.FUNDS_PLANNED] == 1234.5
    assert t.loc["P2", S.SECTOR] == "other" and pd.isna(t.loc["P2", S.FUND_SOURCE])
    assert np.isnan(t.loc["P2", S.FUNDS_PLANNED])
    assert t.loc["P2", "geometry"].x == pytest.approx(100.2)
    assert "P3" not in t.index  # unknown status: completion would be wrong
    assert res.table.crs == "EPSG:4326"
    actions = problems_at(res, 3).set_index(COLUMN)[ACTION].to_dict()
    assert actions["项目类别 (C)"] == "fixed" and actions["资金来源 (F)"] == "cleared"
    assert actions["计划投资 (G)"] == "cleared" and actions["经度 (H)"] == "fixed"


def test_gcj02_points_converted() -> None:
    from geo.crs import wgs84_to_gcj02

    true = gpd.GeoSeries.from_xy([100.25], [25.25], crs="EPSG:4326")
    shown = wgs84_to_gcj02(true).iloc[0]
    rows = [
        ["项目编号", "村代码", "项目状态", "计划年度", "经度", "纬度"],
        ["P1", V1, "在建", 2019, shown.x, shown.y],
    ]
    data = csv_bytes(rows, "utf-8")
    plain = read_ledger(("g.csv", data)).table.geometry.iloc[0]
    fixed = read_ledger(("g.csv", data), gcj02=True).table.geometry.iloc[0]
    assert plain.distance(true.iloc[0]) > 0.002  # ≈ 300–500 m off before
    assert fixed.distance(true.iloc[0]) < 1e-7


# --- round trip ---------------------------------------------------------------------------------
def test_round_trip_office_workbook_gives_the_same_ledger() -> None:
    projects = make_projects()
    book = office_ledger_workbook(projects)
    res = read_ledger(("office.xlsx", book))
    got = res.table.sort_values(S.PROJECT_ID).reset_index(drop=True)
    want = projects.sort_values(S.PROJECT_ID).reset_index(drop=True)
    for c in (S.BENEFICIARY_HOUSEHOLDS, S.BENEFICIARY_POOR_POPULATION):
        want[c] = want[c].astype("Int64")
    for c in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        want[c] = want[c].astype("datetime64[ns]")
    for c in want.columns:
        if want[c].dtype == object or pd.api.types.is_string_dtype(want[c]):
            want[c] = want[c].astype("str").where(want[c].notna(), None)
    assert_geodataframe_equal(got, want[got.columns], check_dtype=False, check_less_precise=True)
    # the 合计 and 填表说明 rows of both county sheets are the only rejections
    assert (res.report.accepted, res.report.rejected) == (13, 4)
    assert set(res.report.problems[PROBLEM]) == {
        "合计/小计行，不是项目",
        "表尾说明或备注行，不是项目",
    }


def test_round_trip_same_metrics(tiny_inputs) -> None:
    from layers.build import metrics as M
    from layers.build.locate import locate_projects

    book = office_ledger_workbook(tiny_inputs.projects, sheet_by=None)
    imported = read_ledger(("office.xlsx", book)).table

    def province(projects):
        located, _ = locate_projects(tiny_inputs.admin_units, projects)
        summary = M.aggregate(
            tiny_inputs.admin_units, tiny_inputs.registry, M.prepare_projects(located)
        )
        return summary[summary[S.CODE] == S.PROVINCE_CODE].iloc[0]

    a, b = province(tiny_inputs.projects), province(imported)
    for col in (
        S.N_PROJECTS,
        S.N_COMPLETED,
        S.N_SIX_FIXES,
        S.FUNDS_PLANNED,
        S.FUNDS_SPENT,
        S.COMPLETION,
        S.COVERAGE,
        S.MATCHED_HOUSEHOLDS,
    ):
        assert a[col] == pytest.approx(b[col]), col


# --- registry and privacy ------------------------------------------------------------------------
NAMES = ["张三丰", "李四海", "王五岳", "赵六合", "钱七星"]
IDS = [
    "530102199001011234",
    "530102199101011235",
    "53010219920101123X",
    "530102199301011237",
    "530102199401011238",
]


def household_book() -> bytes:
    rows = [
        ["甲县建档立卡贫困户花名册"],
        [
            "户编号",
            "户主姓名",
            "身份证号",
            "行政村代码",
            "家庭人口数",
            "主要致贫原因",
            "是否易地搬迁",
            "联系电话",
        ],
        ["H1", NAMES[0], IDS[0], V1, 4, "因病", "否", "13800000001"],
        ["H2", NAMES[1], IDS[1], V1, 3, "缺水", "是", "13800000002"],
        ["H3", NAMES[2], IDS[2], V2, 5, "交通条件落后", "否", "13800000003"],
        ["H4", NAMES[3], IDS[3], "5.30102E+11", 2, "因学", "否", "13800000004"],
        ["H5", NAMES[4], IDS[4], V2, "两口", "缺资金", "否", "13800000005"],
        ["合计", None, None, None, 14, None, None, None],
    ]
    return xlsx_bytes({"花名册": rows}, {"花名册": ["A1:H1"]})


def test_household_registry_aggregated_without_personal_data() -> None:
    res = read_registry(("花名册.xlsx", household_book()))
    t = res.table.set_index(S.VILLAGE_CODE)
    assert t.loc[V1, S.POOR_HOUSEHOLDS] == 2 and t.loc[V1, S.POOR_POPULATION] == 7
    assert t.loc[V1, "cause_illness"] == 1 and t.loc[V1, "cause_water"] == 1
    assert t.loc[V1, S.RELOCATED_POPULATION] == 3
    assert t.loc[V2, S.POOR_HOUSEHOLDS] == 1 and t.loc[V2, "cause_transport"] == 1
    assert list(res.table.columns) == list(S.REGISTRY_COLUMNS)
    assert (res.report.rows_in, res.report.accepted, res.report.rejected) == (6, 3, 3)
    everything = res.table.to_csv() + res.report.problems.to_csv() + res.report.sources.to_csv()
    for secret in [*NAMES, *IDS, "13800000001"]:
        assert secret not in everything
    assert "个人信息(未导入)" in res.report.sources["columns"].iloc[0]


def test_person_rows_counted_by_household() -> None:
    rows = [
        ["户编号", "姓名", "与户主关系", "村代码", "主要致贫原因"],
        ["H1", "甲", "户主", V1, "因残"],
        ["H1", "乙", "配偶", V1, None],
        ["H2", "丙", "户主", V1, "缺劳力"],
    ]
    res = read_registry(("p.csv", csv_bytes(rows, "gbk")))
    row = res.table.iloc[0]
    assert (row[S.POOR_HOUSEHOLDS], row[S.POOR_POPULATION]) == (2, 3)
    assert (row["cause_disability"], row["cause_labour"]) == (1, 1)


def test_village_registry_rows() -> None:
    rows = [
        ["行政村代码", "建档立卡贫困户数", "贫困人口", "计划出列年度", "出列年度"],
        [V1, 10, 40, "2017年", 2017],
        [V5, "二十", 100, 2020, None],
        [V1, 1, 1, 2017, 2017],
        [None, 7, 30, 2019, None],
    ]
    res = read_registry(("v.csv", csv_bytes(rows, "utf-8")))
    assert res.table[S.VILLAGE_CODE].notna().all() and len(res.table) == 2
    assert problems_at(res, 5)[PROBLEM].tolist() == ["缺少行政村代码"]
    t = res.table.set_index(S.VILLAGE_CODE)
    assert t.loc[V1, S.POOR_POPULATION] == 40 and t.loc[V1, S.PLANNED_EXIT_YEAR] == 2017
    assert pd.isna(t.loc[V5, S.POOR_HOUSEHOLDS]) and pd.isna(t.loc[V5, S.EXIT_YEAR])
    assert "重复" in problems_at(res, 4)[PROBLEM].iloc[0]
    balanced(res.report)


def test_same_village_in_two_files_with_different_columns() -> None:
    """Counts add up over files; a column no file gives stays empty (was a KeyError)."""
    a = csv_bytes([["村代码", "贫困人口"], [V1, 40], [V5, 10]], "utf-8")
    b = csv_bytes([["村代码", "贫困人口", "建档立卡贫困户数"], [V1, 4, 1]], "utf-8")
    res = read_registry([("a.csv", a), ("b.csv", b)])
    t = res.table.set_index(S.VILLAGE_CODE)
    assert len(t) == 2
    assert t.loc[V1, S.POOR_POPULATION] == 44 and t.loc[V1, S.POOR_HOUSEHOLDS] == 1
    assert t.loc[V5, S.POOR_POPULATION] == 10 and pd.isna(t.loc[V5, S.POOR_HOUSEHOLDS])
    assert t[S.RELOCATED_POPULATION].isna().all() and t[S.EXIT_YEAR].isna().all()
    assert list(res.table.columns) == list(S.REGISTRY_COLUMNS)


def test_merge_registry_keeps_figures_the_file_lacks(tiny_registry) -> None:
    imported = read_registry(
        ("v.csv", csv_bytes([["村代码", "贫困人口"], [V1, 44]], "utf-8"))
    ).table
    merged = merge_registry(tiny_registry, imported).set_index(S.VILLAGE_CODE)
    assert merged.loc[V1, S.POOR_POPULATION] == 44
    assert merged.loc[V1, S.POOR_HOUSEHOLDS] == 10  # kept
    assert len(merged) == len(tiny_registry)


def test_merge_projects_replaces_only_covered_counties(tiny_projects) -> None:
    new = read_ledger(
        ("b.csv", csv_bytes([HEADER, ["N1", "新", V5, "产业", 2020, "在建", 9]], "utf-8"))
    ).table
    merged, counties = merge_projects(tiny_projects, new)
    assert counties == [COUNTY_B]
    assert sorted(merged.loc[merged[S.COUNTY_CODE] == COUNTY_B, S.PROJECT_ID]) == ["N1"]
    kept = merged[merged[S.COUNTY_CODE] == COUNTY_A].reset_index(drop=True)
    orig = tiny_projects[tiny_projects[S.COUNTY_CODE] == COUNTY_A].reset_index(drop=True)
    assert_geodataframe_equal(kept, orig, check_dtype=False)
    all_new, _ = merge_projects(tiny_projects, new, replace_all=True)
    assert all_new[S.PROJECT_ID].tolist() == ["N1"]


def test_unknown_units_reported(tiny_units) -> None:
    res = read_ledger(
        (
            "u.csv",
            csv_bytes([HEADER, ["N1", "新", "530102009001", "产业", 2020, "在建", 9]], "utf-8"),
        )
    )
    rows = unknown_units(res.table, res.origin, tiny_units)
    assert set(rows[COLUMN]) == {S.VILLAGE_CODE, S.TOWNSHIP_CODE}
    assert (rows[ROW] == 2).all() and (rows[ACTION] == "warning").all()


def test_report_files_escape_formulas(tmp_path) -> None:
    rows = [HEADER, ["P1", "=HYPERLINK(1)", V1, "产业", 2019, "已完工", "=1+1"]]
    res = read_ledger(("f.csv", csv_bytes(rows, "utf-8")))
    paths = res.report.write(tmp_path / "r")
    assert [p.name for p in paths] == ["r.xlsx", "r.csv", "r_概况.csv"]
    text = paths[1].read_text(encoding="utf-8-sig")
    assert "'=1+1" in text
    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames == ["概况", "问题"]
    summary = [c.value for c in wb["概况"]["K"]]
    assert any(
        isinstance(v, str) and v.startswith("读入 1 行 = 接收 1 行 + 拒收 0 行") for v in summary
    )


def test_inputs_not_mutated(tiny_projects, tiny_registry) -> None:
    before_p, before_r = tiny_projects.copy(), tiny_registry.copy()
    new = read_ledger(
        ("b.csv", csv_bytes([HEADER, ["N1", "新", V5, "产业", 2020, "在建", 9]], "utf-8"))
    ).table
    merge_projects(tiny_projects, new)
    merge_registry(
        tiny_registry,
        read_registry(("v.csv", csv_bytes([["村代码", "贫困人口"], [V1, 44]], "utf-8"))).table,
    )
    assert_geodataframe_equal(tiny_projects, before_p)
    pd.testing.assert_frame_equal(tiny_registry, before_r)


def test_units_fixture_has_codes(tiny_units) -> None:
    assert set(make_units()[S.CODE]) == set(tiny_units[S.CODE])


# --- names instead of codes ------------------------------------------------------------------
def test_codes_from_names_with_county_from_sheet_title(tiny_units) -> None:
    rows = [
        ["甲县2019年脱贫攻坚项目库"],
        ["项目编号", "乡(镇)", "行政村", "项目状态", "计划年度"],
        ["P1", "一乡", "一村", "已完工", 2019],
        ["P2", "二乡", "四村", "在建", 2019],
        ["P3", None, "三村", "在建", 2019],  # village found within the county
        ["P4", "一乡", "火星村", "在建", 2019],  # unknown village: kept for the township
        ["P5", "九乡", None, "在建", 2019],  # unknown township: county-wide
    ]
    data = csv_bytes(rows, "gbk")
    res = read_ledger(("ledger.csv", data), admin_units=tiny_units)
    t = res.table.set_index(S.PROJECT_ID)
    assert t.loc["P1", S.VILLAGE_CODE] == V1 and t.loc["P1", S.COUNTY_CODE] == COUNTY_A
    assert t.loc["P2", S.VILLAGE_CODE] == "530102002002"
    assert t.loc["P3", S.VILLAGE_CODE] == V3 and t.loc["P3", S.TOWNSHIP_CODE] == "530102002000"
    assert pd.isna(t.loc["P4", S.VILLAGE_CODE]) and t.loc["P4", S.TOWNSHIP_CODE] == TOWN_A1
    assert pd.isna(t.loc["P5", S.TOWNSHIP_CODE]) and t.loc["P5", S.COUNTY_CODE] == COUNTY_A
    warn = res.report.problems[res.report.problems[ACTION] == "warning"]
    assert warn[[ROW, COLUMN]].values.tolist() == [
        [6, "行政村 (C)"],
        [7, "乡(镇) (B)"],
    ]
    assert "5 行的代码由县/乡镇/村名称匹配得到" in res.report.sources["notes"].iloc[0]
    # without boundaries the names cannot be used and the rows say why
    plain = read_ledger(("ledger.csv", data))
    assert plain.report.accepted == 0
    assert "没有县、乡镇或村代码" in plain.report.problems[PROBLEM].iloc[0]


def test_grand_total_row_checked_against_detail_rows() -> None:
    rows = [
        ["单位：元"],
        ["项目编号", "村代码", "项目状态", "计划年度", "计划投资", "已支出资金"],
        ["P1", V1, "已完工", 2019, 100_000, 50_000],
        ["P2", V1, "已完工", 2019, 200_000, 50_000],
        ["合计", None, None, None, 300_000, 120_000],  # spent: 10 万元 typed, details say 10
    ]
    res = read_ledger(("t.csv", csv_bytes(rows, "utf-8")))
    p = problems_at(res, 5)
    warn = p[p[ACTION] == "warning"]
    assert warn[COLUMN].tolist() == ["已支出资金 (F)"]
    assert warn[PROBLEM].tolist() == ["合计行为 12.00 万元，明细行合计 10.00 万元，相差 +2.00 万元"]
    rows[4][5] = 100_000
    ok = read_ledger(("t.csv", csv_bytes(rows, "utf-8")))
    assert (ok.report.problems[ACTION] != "warning").all()
