"""``onemap audit`` on the tiny province, and 账账相符 against a county funds table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, make_projects

from layers import schema as S
from layers import store
from layers.cli import main as cli
from layers.errors import LedgerError
from layers.ingest import reconcile


def funds_csv(rows: list[list[object]], encoding: str = "gbk") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


# tiny ledger per county (万元): 甲县 planned 780, allocated 680, spent 650 (P01–P08, P11, P13)
# 乙县 planned 395, allocated 360, spent 305 (P09, P10, P12)
FUNDS = [
    ["2020年各县扶贫资金表"],
    ["单位：元"],
    ["县(市、区)", "县代码", "计划投资", "已下达资金", "已支出资金"],
    ["甲县", "530102", 7_800_000, 6_800_000, 6_500_000],
    ["乙县", "530103", 3_950_000, 3_600_000, 3_000_000],  # spent differs by 5 万元
    ["丙区", "530201", 100_000, 0, 0],
    ["合计", None, 11_050_000, 9_900_000, 8_800_000],
]


def test_ledger_totals_match_by_hand() -> None:
    p = make_projects()
    sums = p.groupby(S.COUNTY_CODE)[[S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT]].sum()
    assert sums.loc[COUNTY_A].tolist() == [780.0, 680.0, 650.0]
    assert sums.loc[COUNTY_B].tolist() == [395.0, 360.0, 305.0]


def test_reconcile_finds_the_difference() -> None:
    funds = reconcile.read_funds_table(("资金表.csv", funds_csv(FUNDS)))
    assert funds.set_index(S.COUNTY_CODE).loc[COUNTY_B, S.FUNDS_SPENT] == pytest.approx(300.0)
    issues = reconcile.reconcile_funds(make_projects(), funds)
    bad = issues[issues[S.QI_CHECK] == "ledger_vs_funds"]
    assert bad[S.QI_ENTITY_ID].tolist() == [COUNTY_B]
    assert (
        "已支出资金合计 305.00 万元，资金表为 300.00 万元，相差 +5.00 万元"
        in bad[S.QI_MESSAGE].iloc[0]
    )
    assert bad[S.QI_SEVERITY].tolist() == ["error"]
    only = issues[issues[S.QI_CHECK] == "funds_table_county_without_projects"]
    assert only[S.QI_CODE].tolist() == ["530201000000"]


def test_reconcile_by_county_name_and_tolerance(tiny_units) -> None:
    rows = [["县名", "计划投资（万元）"], ["甲县", 780.001], ["乙县", 395]]
    funds = reconcile.read_funds_table(("n.csv", funds_csv(rows)), admin_units=tiny_units)
    assert reconcile.reconcile_funds(make_projects(), funds).empty


def test_funds_table_without_header_names_fix() -> None:
    with pytest.raises(LedgerError, match=r"x\.csv: no sheet has a funds table header.*\[funds\]"):
        reconcile.read_funds_table(("x.csv", funds_csv([["a", "b"], [1, 2]])))


def test_audit_cli_counts_filters_and_writes(tiny_store: Path, tmp_path: Path, capsys) -> None:
    code = cli.main(["audit", "--store", str(tiny_store), "--out", str(tmp_path / "q.csv")])
    out = capsys.readouterr().out
    assert code == 0
    issues = store.read_layer(tiny_store, S.TABLE_QUALITY_ISSUES)
    assert out.splitlines()[0] == f"全省: {len(issues)} 个问题 issues"
    assert "支出超过下达资金 (spent_over_allocated): 1" in out  # P07
    assert "已完工但无完工日期 (completed_without_date): 1" in out  # P06
    assert "坐标不在所填村内（账实不符） (point_outside_village): 1" in out  # P13
    written = pd.read_csv(tmp_path / "q.csv", encoding="utf-8-sig", dtype=str)
    assert len(written) == len(issues) and "说明" in written.columns

    code = cli.main(["audit", "--store", str(tiny_store), "--region", "530103"])
    out = capsys.readouterr().out
    region = issues[issues[S.QI_CODE].str.startswith("530103")]
    assert out.splitlines()[0] == f"区域 530103: {len(region)} 个问题 issues"
    assert "P07" not in out  # 甲县's project


def test_audit_cli_funds_table_and_fail_on(tiny_store: Path, tmp_path: Path, capsys) -> None:
    table = tmp_path / "funds.csv"
    table.write_bytes(funds_csv(FUNDS))
    code = cli.main(
        [
            "audit",
            "--store",
            str(tiny_store),
            "--funds-table",
            str(table),
            "--region",
            "530103",
            "--fail-on",
            "error",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "项目库与资金表不符（账账不符） (ledger_vs_funds): 1" in out
    assert "已支出资金合计 305.00 万元，资金表为 300.00 万元" in out


def test_audit_cli_bad_region(tiny_store: Path, capsys) -> None:
    code = cli.main(["audit", "--store", str(tiny_store), "--region", "怒江"])
    assert code == 2
    assert "--region '怒江' is not a 2–12 digit code" in capsys.readouterr().err
