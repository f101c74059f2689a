"""Tables shaped for display and download: Chinese headers, labels, search, XLSX/CSV bytes.

Display tables keep numbers numeric (so they sort); rates become percentages (×100) under a
header ending in ``(%)``. Downloads escape text cells that a spreadsheet would run as a formula
(leading ``= + - @``, tab or carriage return) and CSV is UTF-8 with a BOM so Excel reads Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from layers import metrics
from layers import schema as s
from layers.errors import ExportError, OneMapError

#: Chinese display headers for store columns (projects, summaries, registry)
HEADERS_ZH: dict[str, str] = {
    s.PROJECT_ID: "项目编号",
    s.PROJECT_NAME: "项目名称",
    s.COUNTY_CODE: "县/市/区",
    s.TOWNSHIP_CODE: "乡/镇",
    s.VILLAGE_CODE: "行政村",
    s.SECTOR: "行业",
    s.PLAN_YEAR: "计划年度",
    s.STATUS: "状态",
    s.START_DATE: "开工日期",
    s.COMPLETION_DATE: "完工日期",
    s.FUNDS_PLANNED: "计划资金(万元)",
    s.FUNDS_ALLOCATED: "到位资金(万元)",
    s.FUNDS_SPENT: "已支付资金(万元)",
    s.FUND_SOURCE: "资金来源",
    s.BENEFICIARY_HOUSEHOLDS: "受益户数",
    s.BENEFICIARY_POOR_POPULATION: "受益贫困人口",
    s.RESPONSIBLE_UNIT: "责任单位",
    s.APPROVAL_REF: "批复文号",
    s.PUBLIC_NOTICE_DATE: "公告日期",
    s.INSPECTION_RESULT: "验收结果",
    s.CODE: "区划代码",
    s.LEVEL: "级别",
    s.N_PROJECTS: "项目数",
    s.N_COMPLETED: "已完工项目",
    s.N_SIX_FIXES: "六定齐全项目",
    s.POOR_HOUSEHOLDS: "贫困户数",
    s.POOR_POPULATION: "贫困人口",
    s.COVERED_CAPPED: "覆盖贫困人口",
    s.POVERTY_VILLAGES: "贫困村",
    s.VILLAGES_EXITED: "已出列村",
    s.COMPLETION: "完工率(%)",
    s.COVERAGE: "覆盖率(%)",
    s.FUNDS_EXECUTION: "资金执行率(%)",
    s.SIX_FIXES_RATE: "六定完整率(%)",
    s.EXIT_PROGRESS: "出列进度(%)",
    s.MATCHED_REMEDY: "对症施策率(%)",
    s.ZONE: "区域",
}
UNCOVERED = "uncovered_population"
MISSING_FIXES = "missing_six_fixes"
HEADERS_ZH[UNCOVERED] = "未覆盖贫困人口"
HEADERS_ZH[MISSING_FIXES] = "六定缺项"

_RATES: tuple[str, ...] = s.METRICS
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _require(df: pd.DataFrame, columns: tuple[str, ...] | list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise OneMapError(
            f"{what}: columns {missing} are missing (has {list(df.columns)[:12]}…); "
            "rebuild the store with `onemap build` so it matches docs/ARCHITECTURE.md"
        )


def _labelled(values: pd.Series, labels: Mapping[str, str]) -> pd.Series:
    """Map codes to labels, keeping unknown values as they are."""
    return values.map(labels).fillna(values)


def six_fixes_matrix(projects: pd.DataFrame) -> pd.DataFrame:
    """One bool column per fix of :data:`schema.SIX_FIXES` (True = present), on the input index.

    Uses the one definition in :func:`layers.metrics.six_fixes_missing` (null, blank, or for
    funds not positive = missing).
    """
    _require(projects, list(s.SIX_FIXES.values()), "six_fixes_matrix(projects)")
    return ~metrics.six_fixes_missing(projects)


def missing_six_fixes(projects: pd.DataFrame, *, sep: str = "、") -> pd.Series:
    """The Chinese names of the fixes each project lacks, joined by ``sep`` ("" when complete)."""
    has = six_fixes_matrix(projects)
    out = pd.Series("", index=projects.index, dtype="object")
    for fix in s.SIX_FIXES:  # six columns, vectorised over rows
        label = s.SIX_FIXES_LABELS_ZH[fix]
        add = ~has[fix]
        out = out.where(~add, out + np.where(out.eq(""), "", sep) + label)
    return out.rename(MISSING_FIXES)


def project_table(
    projects: pd.DataFrame,
    *,
    names: Mapping[str, str] | pd.Series | None = None,
    with_missing_fixes: bool = False,
) -> pd.DataFrame:
    """Projects for display/download: Chinese headers and labels, region names for codes.

    Parameters
    ----------
    projects
        Rows of the ``projects`` store layer (geometry, if any, is dropped).
    names
        Code → name of admin units; region code columns show the name when known and
        "—" where a county-wide project has no township or village.
    with_missing_fixes
        Add a ``六定缺项`` column listing the six fixes each project lacks.
    """
    _require(projects, [s.PROJECT_ID, s.PROJECT_NAME], "project_table(projects)")
    cols = [c for c in s.PROJECT_COLUMNS if c in projects.columns]
    out = pd.DataFrame(projects[cols]).copy()
    if s.SECTOR in out:
        out[s.SECTOR] = _labelled(out[s.SECTOR], s.SECTOR_LABELS_ZH)
    if s.STATUS in out:
        out[s.STATUS] = _labelled(out[s.STATUS], s.STATUS_LABELS_ZH)
    if s.FUND_SOURCE in out:
        out[s.FUND_SOURCE] = _labelled(out[s.FUND_SOURCE], s.FUND_SOURCE_LABELS_ZH)
    if names is not None:
        lookup = pd.Series(names, dtype="object") if not isinstance(names, pd.Series) else names
        for col in (s.COUNTY_CODE, s.TOWNSHIP_CODE, s.VILLAGE_CODE):
            if col in out:
                out[col] = out[col].map(lookup).fillna(out[col]).fillna("—")
    for col in (s.START_DATE, s.COMPLETION_DATE, s.PUBLIC_NOTICE_DATE):
        if col in out and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype("object")
    if with_missing_fixes:
        out[MISSING_FIXES] = missing_six_fixes(projects)
    return out.rename(columns=HEADERS_ZH).reset_index(drop=True)


def search(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows where every whitespace-separated term of ``query`` occurs in some column (any case)."""
    terms = [t for t in str(query or "").split() if t]
    if not terms or table.empty:
        return table
    text = table.astype("string").fillna("")
    joined = text.iloc[:, 0]
    for col in text.columns[1:]:
        joined = joined + "\x1f" + text[col]
    joined = joined.str.lower()
    keep = pd.Series(True, index=table.index)
    for term in terms:
        keep &= joined.str.contains(term.lower(), regex=False)
    return table[keep]


def summary_table(summary: pd.DataFrame, *, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Region or zone summary rows for display: name, counts, rates in % (Chinese headers)."""
    key = s.ZONE if s.ZONE in summary.columns else s.NAME
    _require(summary, [key, s.N_PROJECTS], "summary_table(summary)")
    out = pd.DataFrame(summary).copy()
    if s.POOR_POPULATION in out and s.COVERED_CAPPED in out:
        out[UNCOVERED] = out[s.POOR_POPULATION] - out[s.COVERED_CAPPED]
    cols = [
        key,
        *extra,
        s.N_PROJECTS,
        s.COMPLETION,
        s.COVERAGE,
        s.FUNDS_PLANNED,
        s.FUNDS_SPENT,
        s.FUNDS_EXECUTION,
        s.POOR_POPULATION,
        UNCOVERED,
        s.EXIT_PROGRESS,
        s.SIX_FIXES_RATE,
    ]
    out = out[[c for c in cols if c in out.columns]]
    for rate in _RATES:
        if rate in out:
            out[rate] = (out[rate].astype("float64") * 100).round(1)
    return out.rename(columns={**HEADERS_ZH, s.NAME: "名称"}).reset_index(drop=True)


def laggards(summary: pd.DataFrame, *, by: str = s.COMPLETION, n: int = 10) -> pd.DataFrame:
    """The ``n`` worst units: lowest ``completion``/``coverage``/… or most ``uncovered_population``.

    Ties break on more uncovered poor population, then on name; the input is not modified.
    """
    _require(summary, [s.POOR_POPULATION, s.COVERED_CAPPED], "laggards(summary)")
    if n < 1:
        raise OneMapError(f"laggards: `n` was {n} but must be at least 1")
    out = pd.DataFrame(summary).copy()
    out[UNCOVERED] = out[s.POOR_POPULATION] - out[s.COVERED_CAPPED]
    if by == UNCOVERED:
        order, ascending = [UNCOVERED, s.NAME], [False, True]
    elif by in _RATES:
        _require(out, [by], "laggards(summary)")
        order, ascending = [by, UNCOVERED, s.NAME], [True, False, True]
    else:
        raise OneMapError(f"laggards: `by` was {by!r} but must be one of {[*_RATES, UNCOVERED]}")
    out = out[out[by].notna()] if by in _RATES else out
    return out.sort_values(order, ascending=ascending, kind="stable").head(n).reset_index(drop=True)


def escape_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` whose text cells starting with ``= + - @`` (or tab/CR) get a ``'`` prefix.

    Stops a spreadsheet from running a downloaded cell as a formula (CSV/formula injection).
    Numbers stay numbers; headers are escaped too.
    """
    out = table.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                out[col] = values.astype("object").where(~risky, "'" + text.astype("object"))
    out.columns = [
        "'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in out.columns
    ]
    return out


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """CSV as UTF-8 with BOM (Excel opens Chinese correctly), formulas escaped, no index."""
    return escape_formulas(table).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(table: pd.DataFrame, *, sheet_name: str = "项目库") -> bytes:
    """An XLSX workbook with one sheet holding ``table`` (formulas escaped, no index)."""
    if len(sheet_name) > 31 or any(ch in sheet_name for ch in "[]:*?/\\"):
        raise ExportError(
            f"to_xlsx_bytes: `sheet_name` {sheet_name!r} is not a valid Excel sheet name "
            "(at most 31 characters, none of []:*?/\\)"
        )
    buf = io.BytesIO()
    safe = escape_formulas(table)
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        safe.to_excel(writer, sheet_name=sheet_name, index=False)
        sheet = writer.sheets[sheet_name]
        for i, col in enumerate(safe.columns, start=1):
            width = min(40, max(8, len(str(col)) * 2 + 2))
            sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
    return buf.getvalue()


def unit_options(
    units: pd.DataFrame,
    *,
    level: str,
    within: str = s.PROVINCE_CODE,
    only: pd.Series | list[str] | None = None,
    counties: pd.Series | list[str] | None = None,
) -> pd.DataFrame:
    """Units of ``level`` inside region ``within`` for a picker: ``code`` and a ``label``.

    The label names the unit after its ancestors below ``within`` (``怒江州 · 泸水市 · 六库镇``
    when picking a township from the province), so same-named units stay distinguishable.
    ``only`` keeps the listed codes (e.g. the units that carry a plan); ``counties`` keeps the
    units inside the listed county codes (e.g. a zone's members). Sorted by code.
    """
    _require(units, [s.CODE, s.NAME, s.LEVEL], "unit_options(units)")
    if level not in s.LEVELS:
        raise OneMapError(f"unit_options: `level` was {level!r} but must be one of {s.LEVELS}")
    top = s.level_of(within)
    if s.LEVELS.index(level) <= s.LEVELS.index(top):
        raise OneMapError(
            f"unit_options: `level` {level!r} must lie below the level of `within` "
            f"{within} ({top!r})"
        )
    codes = units[s.CODE].astype("string")
    prefix = within[: s.LEVEL_DIGITS[top]]
    keep = units[s.LEVEL].eq(level) & codes.str.startswith(prefix).fillna(False)
    if only is not None:
        keep &= codes.isin(pd.Series(only, dtype="string"))
    if counties is not None and s.LEVELS.index(level) >= s.LEVELS.index("county"):
        county = codes.str[: s.LEVEL_DIGITS["county"]].str.ljust(12, "0")
        keep &= county.isin(pd.Series(counties, dtype="string")).fillna(False)
    picked = pd.DataFrame({s.CODE: codes[keep].astype("object")}).sort_values(s.CODE)
    names = pd.Series(units[s.NAME].to_numpy(), index=codes.to_numpy())
    names = names[~names.index.duplicated()]
    parts = []
    for lv in s.LEVELS[s.LEVELS.index(top) + 1 : s.LEVELS.index(level) + 1]:
        n = s.LEVEL_DIGITS[lv]
        anc = picked[s.CODE].str[:n].str.ljust(12, "0")
        parts.append(anc.map(names).fillna(anc))
    label = parts[0].astype("object")
    for part in parts[1:]:
        label = label + " · " + part
    picked["label"] = label
    return picked.reset_index(drop=True)
