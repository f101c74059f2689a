"""Property tests: mutated ledgers never crash the import and every row is accounted for."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest
from conftest import make_projects
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import schema as S
from layers.ingest.ledger import read_ledger
from layers.ingest.registry import read_registry
from layers.ingest.report import ACTION, ACTIONS, COLUMN, ROW

HEADER = [
    "项目编号",
    "项目名称",
    "县代码",
    "村代码",
    "项目类别",
    "计划年度",
    "项目状态",
    "完工日期",
    "计划投资（万元）",
    "已支出资金",
    "受益户数",
    "经度",
    "纬度",
]


def base_rows() -> list[list[object]]:
    p = make_projects()
    rows = []
    for _, r in p.iterrows():
        rows.append(
            [
                r[S.PROJECT_ID],
                r[S.PROJECT_NAME],
                r[S.COUNTY_CODE][:6],
                r[S.VILLAGE_CODE],
                S.SECTOR_LABELS_ZH[r[S.SECTOR]],
                int(r[S.PLAN_YEAR]),
                S.STATUS_LABELS_ZH[r[S.STATUS]],
                None
                if pd.isna(r[S.COMPLETION_DATE])
                else r[S.COMPLETION_DATE].strftime("%Y.%m.%d"),
                float(r[S.FUNDS_PLANNED]),
                float(r[S.FUNDS_SPENT]),
                int(r[S.BENEFICIARY_HOUSEHOLDS]),
                None if r.geometry is None else r.geometry.x,
                None if r.geometry is None else r.geometry.y,
            ]
        )
    return rows


BASE = base_rows()

cjk = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=6)
junk = st.one_of(
    st.none(),
    st.just(""),
    cjk,
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        [
            "合计",
            "小计",
            "5.33E+11",
            "5.30102001001E+11",
            "５３０１０２００１００１",
            "２０１９",
            "2019年5月3日",
            "2019.5.3",
            "43588",
            "12万元",
            "3500元",
            "=SUM(A1:A3)",
            "已完工",
            "在建",
            "P01",
            "530102",
            "注：本表金额单位为万元",
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> list[list[object]]:
    rows = [list(r) for r in BASE]
    n = draw(st.integers(0, 25))
    for _ in range(n):
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(HEADER) - 1))
        rows[i][j] = draw(junk)
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), ["合计", None, None, None, None, None, None])
    if draw(st.booleans()):
        del rows[draw(st.integers(0, len(rows) - 1))]
    if draw(st.booleans()):
        rows.append([draw(junk)])
    return rows


def as_file(rows: list[list[object]], kind: str) -> tuple[str, bytes]:
    table = [["某县项目库"], HEADER, *rows]
    if kind == "xlsx":
        wb = openpyxl.Workbook()
        for r in table:
            wb.active.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return "m.xlsx", buf.getvalue()
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    return "m.csv", buf.getvalue().encode("gbk" if kind == "gbk" else "utf-8-sig")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=mutated(), kind=st.sampled_from(["xlsx", "gbk", "utf8"]))
def test_mutated_ledgers_are_accounted_for(rows: list[list[object]], kind: str) -> None:
    res = read_ledger(as_file(rows, kind))
    rep = res.report
    assert rep.rows_in == rep.accepted + rep.rejected
    assert len(res.table) == rep.accepted
    assert res.table[S.PROJECT_ID].is_unique
    assert res.table[S.COUNTY_CODE].str.fullmatch(r"\d{12}").all()
    assert res.table[S.STATUS].isin(S.STATUSES).all()
    assert res.table[S.SECTOR].isin(S.SECTORS).all()
    rejected = rep.problems[rep.problems[ACTION] == "rejected"]
    # every rejection names a row and a column, and each rejected row is named at least once
    assert rejected[ROW].notna().all()
    assert (rejected[COLUMN].str.len() > 0).all()
    assert rejected[ROW].nunique() == rep.rejected
    assert set(rep.problems[ACTION]) <= set(ACTIONS)
    # rows named in the report lie in the data area (below the two rows above the data)
    assert (rep.problems[ROW].dropna() >= 3).all()


NAMES = ["张三丰", "李四海", "王五岳", "赵六合"]
IDS = ["530102199001011234", "530102199101011235", "53010219920101123X", "530102199301011237"]
HOUSEHOLD_HEADER = ["户编号", "户主姓名", "身份证号", "行政村代码", "家庭人口数", "主要致贫原因"]
VILLAGES = ["530102001001", "530102001002", "530102002001"]


@st.composite
def households(draw: st.DrawFn) -> list[list[object]]:
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        rows.append(
            [
                f"H{i}",
                NAMES[i % len(NAMES)],
                IDS[i % len(IDS)],
                draw(st.sampled_from(VILLAGES)),
                draw(st.integers(1, 8)),
                draw(st.sampled_from(["因病", "因残", "缺水", "缺资金", "交通条件落后"])),
            ]
        )
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, n - 1))
        j = draw(st.sampled_from([3, 4, 5]))
        rows[i][j] = draw(junk)
    return rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=households())
def test_mutated_household_registries_keep_no_personal_data(rows: list[list[object]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([["花名册"], HOUSEHOLD_HEADER, *rows])
    res = read_registry(("户.csv", buf.getvalue().encode("gb18030")))
    rep = res.report
    assert rep.rows_in == rep.accepted + rep.rejected
    rejected = rep.problems[rep.problems[ACTION] == "rejected"]
    assert rejected[ROW].notna().all() and (rejected[COLUMN].str.len() > 0).all()
    # the village totals add up to the accepted households
    assert res.table[S.POOR_HOUSEHOLDS].sum() == rep.accepted
    text = res.table.to_csv() + rep.problems.to_csv() + rep.sources.to_csv()
    assert not any(secret in text for secret in [*NAMES, *IDS])


@pytest.mark.parametrize("huge", ["2.1e20", "1e308", 10**13, "99999999999"])
def test_absurd_counts_are_reported_not_cast(huge: object) -> None:
    """A count no village could have (hypothesis found 2.1e20 people in one household) is a
    problem in the report, never an overflowing cast (filterwarnings=error makes that fail)."""
    buf = io.StringIO()
    household = [["H1", NAMES[0], IDS[0], VILLAGES[0], huge, "因病"]]
    household.append(["H2", NAMES[1], IDS[1], VILLAGES[0], 3, "因病"])
    csv.writer(buf).writerows([["花名册"], HOUSEHOLD_HEADER, *household])
    res = read_registry(("户.csv", buf.getvalue().encode("gb18030")))
    assert (res.report.rejected, res.table[S.POOR_POPULATION].tolist()) == (1, [3])
    assert res.report.problems[COLUMN].tolist() == ["家庭人口数 (E)"]

    buf = io.StringIO()
    rows = [["行政村代码", "建档立卡贫困人口", "贫困户数"], [VILLAGES[0], huge, 3]]
    csv.writer(buf).writerows(rows)
    res = read_registry(("村.csv", buf.getvalue().encode()))
    assert res.table[S.POOR_POPULATION].isna().all()
    assert res.table[S.POOR_HOUSEHOLDS].tolist() == [3]

    ledger = [list(r) for r in BASE]
    ledger[0][HEADER.index("受益户数")] = huge
    res = read_ledger(as_file(ledger, "csv"))
    assert res.report.accepted == read_ledger(as_file(BASE, "csv")).report.accepted
    assert pd.isna(res.table[S.BENEFICIARY_HOUSEHOLDS].iloc[0])
    problem = res.report.problems[res.report.problems[COLUMN].str.startswith("受益户数")]
    assert len(problem) == 1 and "1,000,000" in problem.iloc[0]["problem"]
