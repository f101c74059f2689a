"""账账相符: ledger totals per county against a county funds table, as quality issues.

A county finance or poverty-alleviation office keeps its own table of funds planned, allocated
and spent per county. ``reconcile_funds`` compares the ledger's sums with it and returns
``quality_issues`` rows (check ``ledger_vs_funds``) that ``onemap audit --funds-table`` and the
数据质量 page show beside the audit's own checks. Also holds the Chinese labels of every check.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.cells import as_text, code_level, parse_codes, parse_numbers
from layers.ingest.columns import load_column_map
from layers.ingest.excel import read_sheets, source_name
from layers.ingest.header import data_rows, find_header
from layers.issues import empty_issues, issues_frame

__all__ = [
    "CHECK_LABELS_ZH",
    "FUND_COLUMNS",
    "filter_region",
    "issues_per_unit",
    "read_funds_table",
    "reconcile_funds",
]

FUND_COLUMNS: tuple[str, ...] = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
FUND_LABELS_ZH: dict[str, str] = {
    S.FUNDS_PLANNED: "计划投资",
    S.FUNDS_ALLOCATED: "已下达资金",
    S.FUNDS_SPENT: "已支出资金",
}
#: Chinese names of the quality checks (audit, locating, reconciliation)
CHECK_LABELS_ZH: dict[str, str] = {
    "duplicate_project_id": "项目编号重复",
    "six_fixes_missing": "六定不全",
    "completed_without_date": "已完工但无完工日期",
    "date_without_completion": "未完工却有完工日期",
    "spent_over_allocated": "支出超过下达资金",
    "beneficiaries_over_poor": "受益贫困人口超过村贫困人口",
    "unknown_registry_village": "名册中的村不在区划中",
    "duplicate_registry_village": "名册中村重复",
    "covered_over_poor": "覆盖人口超过贫困人口",
    "unknown_county_code": "县代码不存在",
    "unknown_township_code": "乡镇代码不存在",
    "inconsistent_township_code": "乡镇代码与县不符",
    "unknown_village_code": "村代码不存在",
    "inconsistent_village_code": "村代码与乡镇不符",
    "point_outside_county": "坐标不在县内任何村",
    "point_outside_village": "坐标不在所填村内（账实不符）",
    "ledger_vs_funds": "项目库与资金表不符（账账不符）",
    "funds_table_county_without_projects": "资金表中的县在项目库中没有项目",
    "county_missing_from_funds_table": "项目库中的县不在资金表中",
}
#: differences up to this share of the funds table's figure (or 0.01 万元) are rounding
DEFAULT_TOLERANCE = 0.005


def read_funds_table(
    source: str | os.PathLike[str] | tuple[str, bytes],
    *,
    encoding: str | None = None,
    unit: str | None = None,
    admin_units: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Read a county funds table (XLSX/CSV; title rows, merged headers, 合计 rows as in ledgers).

    Counties are identified by a code column, or by name when ``admin_units`` is given.
    Amounts are converted to 万元 (unit from the header, the title, or ``unit``).

    Parameters
    ----------
    source
        A path, or a ``(file name, bytes)`` upload.
    encoding
        CSV text encoding; None detects UTF-8 (with or without BOM) or GBK/GB18030.
    unit
        ``"元"`` or ``"万元"`` for amounts whose header and title name no unit (default 万元).
    admin_units
        The store's units, to find counties given by name.

    Returns
    -------
    DataFrame
        ``county_code`` (12 digits) and the fund columns the table has (万元), one row per
        county.

    Raises
    ------
    LedgerError
        No sheet has a funds table header.
    """
    cmap = load_column_map()
    lookup = cmap.sections.get("funds", {})
    sheets = read_sheets(source, encoding=encoding)
    frames = []
    name = source_name(source)
    for sheet in sheets:
        header = find_header(sheet.cells, lookup)
        if header is None:
            continue
        fields = set(header.fields.values())
        if not fields & set(FUND_COLUMNS) or not fields & {S.COUNTY_CODE, "county_name"}:
            continue
        data = data_rows(sheet, header)
        col = {f: c for c, f in header.fields.items()}
        out = pd.DataFrame(index=data.index)
        if S.COUNTY_CODE in col:
            codes = parse_codes(data[col[S.COUNTY_CODE]], lengths=(6, 12)).codes
            out[S.COUNTY_CODE] = codes.where(code_level(codes) == "county")
        else:
            out[S.COUNTY_CODE] = pd.Series(np.nan, index=data.index, dtype=object)
        if "county_name" in col and admin_units is not None:
            counties = admin_units[admin_units[S.LEVEL] == "county"]
            by_name = dict(zip(counties[S.NAME], counties[S.CODE], strict=True))
            names = as_text(data[col["county_name"]])
            out[S.COUNTY_CODE] = out[S.COUNTY_CODE].astype(object).fillna(names.map(by_name))
        for f in FUND_COLUMNS:
            if f in col:
                nums, cell_unit, _ = parse_numbers(data[col[f]])
                u = header.units.get(col[f]) or header.title_unit or unit or "万元"
                cu = cell_unit.astype(object)
                default = 1e-4 if u == "元" else 1.0
                factor = np.where(cu == "元", 1e-4, np.where(cu == "万元", 1.0, default))
                out[f] = nums * factor
        frames.append(out[out[S.COUNTY_CODE].notna()])
    if not frames:
        raise LedgerError(
            f"{name}: no sheet has a funds table header (县代码 or 县名 and 计划投资/已下达资金/"
            f"已支出资金) in its first 20 rows; add your header names to [funds] in {cmap.path}"
        )
    table = pd.concat(frames, ignore_index=True)
    return table.groupby(S.COUNTY_CODE, as_index=False).sum(min_count=1)


def reconcile_funds(
    projects: pd.DataFrame,
    funds: pd.DataFrame,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    counties: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compare the ledger's fund totals per county with ``funds`` (from ``read_funds_table``).

    Parameters
    ----------
    projects
        The ledger (``county_code`` and fund columns).
    funds
        The county funds table.
    tolerance
        Share of the table's figure a difference may reach (at least 0.01 万元) as rounding.
    counties
        Limit the check to these county codes (None: all).

    Returns
    -------
    DataFrame
        ``quality_issues`` rows: ``ledger_vs_funds`` (error) per county and fund column whose
        totals differ by more than ``tolerance``, and warnings for counties present on one side
        only.
    """
    present = [f for f in FUND_COLUMNS if f in funds.columns]
    ledger = projects.groupby(S.COUNTY_CODE)[present].sum(min_count=1)
    table = funds.set_index(S.COUNTY_CODE)[present]
    if counties is not None:
        keep = set(counties)
        ledger = ledger[ledger.index.isin(keep)]
        table = table[table.index.isin(keep)]
    frames = []
    both = ledger.index.intersection(table.index)
    for f in present:
        a = ledger.loc[both, f].fillna(0.0)
        b = table.loc[both, f]
        b_ok = b.notna()
        diff = (a - b)[b_ok]
        bad = diff.abs() > np.maximum(tolerance * b[b_ok].abs(), 0.01)
        if bad.any():
            codes = diff.index[bad]
            label = FUND_LABELS_ZH[f]
            msg = (
                "县 "
                + codes.str.slice(0, 6)
                + f" 项目库{label}合计 "
                + a[codes].map("{:,.2f}".format)
                + " 万元，资金表为 "
                + b[codes].map("{:,.2f}".format)
                + " 万元，相差 "
                + diff[codes].map("{:+,.2f}".format)
                + " 万元"
            )
            frames.append(
                issues_frame(
                    "ledger_vs_funds",
                    "error",
                    "county",
                    codes.to_numpy(),
                    codes.to_numpy(),
                    msg.to_numpy(),
                    diff[codes].round(2).astype(str).to_numpy(),
                )
            )
    one_side = (
        (
            "funds_table_county_without_projects",
            table.index.difference(ledger.index),
            "资金表列出县 {}，但项目库中没有它的项目",
        ),
        (
            "county_missing_from_funds_table",
            ledger.index.difference(table.index),
            "项目库中的县 {} 不在资金表中",
        ),
    )
    for check, codes, template in one_side:
        if len(codes):
            before, after = template.split("{}")
            message = before + codes.str.slice(0, 6) + after
            ids = codes.to_numpy()
            frames.append(issues_frame(check, "warning", "county", ids, ids, message.to_numpy()))
    if not frames:
        return empty_issues()
    return pd.concat(frames, ignore_index=True)


def filter_region(issues: pd.DataFrame, region: str | None) -> pd.DataFrame:
    """Issues whose unit lies in ``region`` (a 2–12 digit code; None: all).

    Parameters
    ----------
    issues
        ``quality_issues`` rows.
    region
        A 2–12 digit code, or None for every issue.

    Returns
    -------
    DataFrame
        The issues whose code starts with the region's prefix.
    """
    if region is None:
        return issues
    code = S.pad_code(region)
    level = S.level_of(code)
    prefix = code[: S.LEVEL_DIGITS[level]]
    return issues[issues[S.QI_CODE].astype(str).str.startswith(prefix)]


def issues_per_unit(issues: pd.DataFrame, units: pd.DataFrame, level: str) -> pd.DataFrame:
    """Count issues (and errors) per unit of ``level``, by the prefix of each issue's code.

    Parameters
    ----------
    issues
        ``quality_issues`` rows.
    units
        The units to count for (code and name).
    level
        Their level.

    Returns
    -------
    DataFrame
        ``units``' code and name with ``issues`` and ``errors`` columns (0 where none).
    """
    digits = S.LEVEL_DIGITS[level]
    codes = issues[S.QI_CODE].astype(str)
    valid = codes.str.fullmatch(r"\d{12}").to_numpy()
    key = codes[valid].str.slice(0, digits).str.ljust(12, "0")
    errors = issues[S.QI_SEVERITY].to_numpy()[valid] == "error"
    counts = pd.DataFrame({"issues": key.value_counts(), "errors": key[errors].value_counts()})
    out = pd.DataFrame(units[[S.CODE, S.NAME]]).merge(
        counts, left_on=S.CODE, right_index=True, how="left"
    )
    out[["issues", "errors"]] = out[["issues", "errors"]].fillna(0).astype("int64")
    return out.reset_index(drop=True)
