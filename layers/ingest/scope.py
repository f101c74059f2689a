"""Regional scope of an import: ledger rows of counties outside the account's region are refused.

Used by ``prepare.prepare_import`` (the 数据导入 page passes the signed-in account's scope; the
command line runs with province rights). Refused rows leave the table and become report rows
(action ``rejected``, problem “超出账户权限范围”), and the per-file counts move from accepted to
rejected, so rows in = accepted + rejected still holds.
"""

from __future__ import annotations

import pandas as pd

from layers import schema as S
from layers.access import Scope, in_scope
from layers.errors import AccessError
from layers.ingest.report import (
    ACTION,
    COLUMN,
    FILE,
    PROBLEM,
    REPORT_COLUMNS,
    ROW,
    SHEET,
    VALUE,
    ImportResult,
    ValidationReport,
    empty_problems,
)

__all__ = ["OUT_OF_SCOPE", "check_request", "refuse_outside"]

#: the report's problem text of a row refused for scope
OUT_OF_SCOPE = "超出账户权限范围：该行的县不在本账户辖区（{region}）内，未导入"


def check_request(scope: Scope, *, registry: bool, boundaries: bool, replace_all: bool) -> None:
    """Refuse the parts of an import only province rights may make.

    Parameters
    ----------
    scope
        The importing account's scope.
    registry, boundaries
        Whether a registry / boundary files are imported (they span counties: province only).
    replace_all
        Whether the ledgers replace the whole ledger (province only).

    Raises
    ------
    AccessError
        The account may not import at all, or not this part.
    """
    if not scope.write:
        raise AccessError("无权导入：只读账户不能修改数据 (a viewer account changes nothing)")
    if scope.everything:
        return
    if replace_all:
        raise AccessError(
            "无权替换全部项目：只有省级账户可以替换全省项目库 (province accounts only)"
        )
    if registry or boundaries:
        raise AccessError(
            "无权导入建档立卡名册或行政区划边界：只有省级账户可以导入 (province accounts only)"
        )


def refuse_outside(res: ImportResult, scope: Scope, region_name: str = "") -> ImportResult:
    """Drop the ledger rows whose county lies outside ``scope`` and report each of them.

    Parameters
    ----------
    res
        Ledger rows read (``table`` with ``county_code``, ``origin`` aligned with it).
    scope
        The importing account's scope.
    region_name
        The scope's region as the report names it (default: its code).

    Returns
    -------
    ImportResult
        The rows inside the scope, with the refused rows added to the report.
    """
    table = res.table
    if scope.everything or table.empty:
        return res
    county = table[S.COUNTY_CODE] if S.COUNTY_CODE in table else pd.Series(pd.NA, index=table.index)
    keep = in_scope(county.reset_index(drop=True), scope)
    if keep.all():
        return res
    origin = (
        res.origin
        if res.origin is not None
        else pd.DataFrame(
            {FILE: [""] * len(table), SHEET: [""] * len(table), ROW: pd.array([pd.NA] * len(table))}
        )
    )
    gone = origin[~keep].reset_index(drop=True)
    problems = pd.DataFrame(
        {
            FILE: gone[FILE].astype(str).to_numpy(),
            SHEET: gone[SHEET].astype(str).to_numpy(),
            ROW: pd.array(gone[ROW].to_numpy(), dtype="Int64"),
            COLUMN: S.COUNTY_CODE,
            VALUE: county.reset_index(drop=True)[~keep].astype("string").fillna("").to_numpy(),
            PROBLEM: OUT_OF_SCOPE.format(region=region_name or scope.region),
            ACTION: "rejected",
        }
    )
    problems = problems[list(REPORT_COLUMNS)] if len(problems) else empty_problems()
    sources = _move_counts(res.report.sources, gone)
    report = ValidationReport(
        pd.concat([res.report.problems, problems], ignore_index=True), sources
    )
    kept_origin = origin[keep].reset_index(drop=True)
    return ImportResult(table[keep].reset_index(drop=True), report, kept_origin)


def _move_counts(sources: pd.DataFrame, gone: pd.DataFrame) -> pd.DataFrame:
    """Per file and sheet, move the refused rows from ``accepted`` to ``rejected``."""
    out = sources.copy()
    counts = gone.groupby([FILE, SHEET], dropna=False).size()
    for (file, sheet), n in counts.items():
        hit = (out[FILE].astype(str) == str(file)) & (out[SHEET].astype(str) == str(sheet))
        if not hit.any():
            hit = out[FILE].astype(str) == str(file)
        if not hit.any():
            continue
        i = out.index[hit][0]
        out.loc[i, "accepted"] = int(out.loc[i, "accepted"]) - int(n)
        out.loc[i, "rejected"] = int(out.loc[i, "rejected"]) + int(n)
    return out
