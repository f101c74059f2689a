"""Read a poverty registry: village rows, or household/person rows aggregated to villages."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.cells import (
    MAX_COUNT,
    as_text,
    code_level,
    parse_category,
    parse_codes,
    parse_numbers,
    parse_year,
)
from layers.ingest.columns import ColumnMap, load_column_map, match_label, normalise_label
from layers.ingest.excel import RawSheet, Source, read_sheets
from layers.ingest.header import Header, data_rows, find_header, header_col, row_gist, special_rows
from layers.ingest.report import MASK, ImportResult, SheetRows, ValidationReport, source_row

__all__ = ["read_registry"]

_ID_NUMBER = r"^\d{17}[\dXx]$"
#: the largest household a registry row may give (a bigger number is a typing error)
MAX_HOUSEHOLD_SIZE = 99
_YES = {"是", "y", "yes", "1", "true", "√", "搬迁", "已搬迁"}
_COUNT_FIELDS = (
    S.POOR_HOUSEHOLDS,
    S.POOR_POPULATION,
    S.COVERED_POPULATION,
    S.RELOCATED_POPULATION,
    *S.CAUSE_COLUMNS,
)

#: what one sheet gave: (villages, problems, notes, rows read, rows rejected, rows accepted)
_SheetResult = tuple[pd.DataFrame, pd.DataFrame, dict[str, str], int, int, int]


def read_registry(
    sources: Source | Sequence[Source],
    *,
    encoding: str | None = None,
    column_map: ColumnMap | None = None,
) -> ImportResult:
    """Read a poverty registry: one row per village, or household/person rows (建档立卡户).

    Household rows are aggregated to villages (households, people, households by main cause,
    relocated people); names, ID numbers, phones and similar columns are dropped on reading and
    never appear in the result or the report (their header is listed as 个人信息，未导入).

    Parameters
    ----------
    sources
        Paths, or ``(file name, bytes)`` uploads.
    encoding
        CSV text encoding; None detects UTF-8 (with or without BOM) or GBK/GB18030.
    column_map
        Header mapping (default ``data/column_map.toml``).

    Returns
    -------
    ImportResult
        ``table`` has ``REGISTRY_COLUMNS``; a column the file does not give is all-null so that
        merging keeps the store's values for it.
    """
    cmap = column_map if column_map is not None else load_column_map()
    srcs = [sources] if isinstance(sources, str | os.PathLike | tuple) else list(sources)
    if not srcs:
        raise LedgerError("no registry file given; pass an .xlsx or .csv file")
    household_lookup = {**cmap.sections["household"], **cmap.sections["personal"]}
    report = ValidationReport()
    frames: list[pd.DataFrame] = []
    for src in srcs:
        sheets = read_sheets(src, encoding=encoding)
        found = False
        for sheet in sheets:
            read = _registry_sheet(sheet, cmap, household_lookup)
            if read is None:
                continue
            found = True
            frames.append(read.table)
            report = report.extend(read.report)
        if not found:
            raise LedgerError(
                f"{sheets[0].file if sheets else src}: no sheet has a registry header with a "
                f"village code column (行政村代码/村代码) in its first 20 rows; "
                f"add your header names to {cmap.path}"
            )
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(table) and table[S.VILLAGE_CODE].duplicated().any():
        # the same village in several sheets/files: household counts add up
        # a column no file gives stays absent here (all-null after _to_registry)
        counts = [c for c in _COUNT_FIELDS if c in table.columns]
        years = [c for c in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR) if c in table.columns]
        groups = table.groupby(S.VILLAGE_CODE, sort=False)
        table = groups[counts].sum(min_count=1).join(groups[years].first()).reset_index()
    return ImportResult(_to_registry(table), report)


def _registry_sheet(
    sheet: RawSheet, cmap: ColumnMap, household_lookup: Mapping[str, str]
) -> ImportResult | None:
    """Read one sheet as household rows or village rows, whichever header it has (else None).

    A household header (``household_lookup``: household and personal columns) wins when it maps
    personal columns or more fields than a village header.
    """
    hv = find_header(sheet.cells, cmap.sections["registry"])
    hh = find_header(sheet.cells, household_lookup)
    sv = len(set(hv.fields.values())) if hv else 0
    sh = len(set(hh.fields.values())) if hh else 0
    personal_hit = hh is not None and any(
        f in cmap.sections["personal"].values() for f in hh.fields.values()
    )
    if hh is not None and S.VILLAGE_CODE in hh.fields.values() and (personal_hit or sh > sv):
        table, problems, notes, n_in, n_rej, n_acc = _household_rows(sheet, hh, cmap)
        kind = "建档立卡户（已汇总到村）"
        hidden = set(cmap.sections["personal"].values())
        shown = replace(
            hh,
            fields={c: "个人信息(未导入)" if f in hidden else f for c, f in hh.fields.items()},
        )
    elif hv is not None and S.VILLAGE_CODE in hv.fields.values():
        table, problems, notes, n_in, n_rej, n_acc = _village_rows(sheet, hv)
        kind = "贫困村台账"
        shown = hv
    else:
        return None
    source = source_row(sheet, shown, kind, notes, (n_in, n_acc, n_rej))
    return ImportResult(table, ValidationReport(problems, source))


def _to_registry(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(table)))
    t = table.reset_index(drop=True)
    out[S.VILLAGE_CODE] = t[S.VILLAGE_CODE].astype("str") if len(t) else pd.Series(dtype="str")
    for c in S.REGISTRY_COLUMNS[1:]:
        vals = pd.to_numeric(t[c]) if c in t.columns else pd.Series(np.nan, index=out.index)
        out[c] = vals.round().astype("Int64")
    return out


def _village_codes(
    rep: SheetRows, raw: pd.Series, special: pd.Series, *, note_sci_fixed: bool
) -> tuple[pd.Series, pd.Series]:
    """Parse a village-code column, report its problems, return ``(codes, bad)``.

    Rows in ``special`` (totals, notes) are left out of the report; ``bad`` marks codes that are
    not 12-digit village codes. ``note_sci_fixed`` also reports codes recovered from scientific
    notation (as fixed).
    """
    parsed = parse_codes(raw, lengths=(12,))
    codes = parsed.codes
    if note_sci_fixed:
        rep.add(
            parsed.sci_fixed & ~special,
            S.VILLAGE_CODE,
            "科学计数法显示的代码，位数完整，已转为文本",
            "fixed",
        )
    rep.add(
        parsed.sci_lost & ~special,
        S.VILLAGE_CODE,
        "代码被 Excel 存成科学计数法，位数已丢失；请把该列设为文本格式后重新导出",
        "rejected",
    )
    bad = (parsed.invalid | (codes.notna() & (code_level(codes) != "village"))) & ~special
    empty = codes.isna() & ~parsed.invalid & ~parsed.sci_lost & ~special
    rep.add(empty, S.VILLAGE_CODE, "缺少行政村代码", "rejected")
    rep.add(
        bad & ~parsed.sci_lost, S.VILLAGE_CODE, "不是有效的行政村代码（应为 12 位数字）", "rejected"
    )
    return codes, bad


def _village_rows(sheet: RawSheet, header: Header) -> _SheetResult:
    """Village rows: counts (non-negative integers) and exit years per village."""
    data = data_rows(sheet, header)
    rep = SheetRows(sheet, header, data)
    col = rep.col_of
    totals, notes_rows = special_rows(data, [col[S.VILLAGE_CODE]])
    first = data.columns[0]
    gist = row_gist(data, totals | notes_rows)
    rep.add(totals, first, "合计/小计行，不是村", "rejected", value=gist)
    rep.add(notes_rows, first, "表尾说明或备注行，不是村", "rejected", value=gist)
    special = totals | notes_rows
    codes, bad = _village_codes(rep, data[col[S.VILLAGE_CODE]], special, note_sci_fixed=True)
    out = pd.DataFrame({S.VILLAGE_CODE: codes.where(~bad)}, index=data.index)
    for f in (*_COUNT_FIELDS,):
        if f not in col:
            continue
        nums, _, badn = parse_numbers(data[col[f]])
        badn = badn | (nums < 0) | (nums > MAX_COUNT)
        badn = badn | (nums.notna() & (nums != np.floor(nums)))
        rep.add(badn & ~special, f, f"不是 0–{MAX_COUNT:,} 的整数，已置空", "cleared")
        out[f] = nums.where(~badn)
    for f in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR):
        if f not in col:
            continue
        years, bady = parse_year(data[col[f]])
        rep.add(bady & ~special, f, "无法识别的年度，已置空", "cleared")
        out[f] = years
    dup = out[S.VILLAGE_CODE].notna() & out[S.VILLAGE_CODE].duplicated() & ~rep.reject
    rep.add(dup & ~special, S.VILLAGE_CODE, "同一村重复出现，保留第一行", "rejected")
    rejected = rep.reject | special
    return (
        out[~rejected],
        rep.problems(),
        {},
        len(data),
        int(rejected.sum()),
        int((~rejected).sum()),
    )


# --- household rows ------------------------------------------------------------------------------


def _personal_columns(data: pd.DataFrame, header: Header, personal: Mapping[str, str]) -> set[int]:
    """Columns holding personal data: mapped by the [personal] list, or mostly ID numbers."""
    cols = {c for c, lab in header.labels.items() if match_label(lab, personal) is not None}
    for c in data.columns:
        text = as_text(data[c]).dropna().astype(str)
        if len(text) and text.str.fullmatch(_ID_NUMBER).mean() >= 0.5:
            cols.add(c)
    return cols


def _household_rows(sheet: RawSheet, header: Header, cmap: ColumnMap) -> _SheetResult:
    """Aggregate household (or person) rows to villages; personal columns are never read out."""
    data = data_rows(sheet, header)
    personal = _personal_columns(data, header, cmap.sections["personal"])
    # personal values never leave this function: drop them from the frame the report reads
    visible = data.drop(columns=[c for c in personal if c != header_col(header, "relationship")])
    rep = SheetRows(sheet, header, visible)
    col = rep.col_of
    totals, notes_rows = special_rows(data, [col[S.VILLAGE_CODE]])
    first = visible.columns[0]
    rep.add(totals, first, "合计/小计行，不是农户", "rejected", value=MASK)
    rep.add(notes_rows, first, "表尾说明或备注行，不是农户", "rejected", value=MASK)
    special = totals | notes_rows
    codes, _ = _village_codes(rep, data[col[S.VILLAGE_CODE]], special, note_sci_fixed=False)
    ok = ~(rep.reject | special)
    rel_col = header_col(header, "relationship")
    hid = as_text(data[col["household_id"]]) if "household_id" in col else None
    person_rows = rel_col is not None or (hid is not None and hid[ok].duplicated().any())
    if person_rows:
        head = _household_heads(data, rel_col, hid)
        size = pd.Series(1.0, index=data.index)
    else:
        head = pd.Series(True, index=data.index)
        size, ok = _household_sizes(data, rep, ok)
    frame = pd.DataFrame({S.VILLAGE_CODE: codes, "size": size, "head": head}, index=data.index)
    if "main_cause" in col:
        frame["cause"] = _main_causes(data[col["main_cause"]], rep, cmap, ok & head)
    if "relocated" in col:
        moved = as_text(data[col["relocated"]]).map(normalise_label).isin(_YES)
        if person_rows and hid is not None:  # the household's answer applies to its members
            moved = moved.groupby(hid.fillna("")).transform("max")
        frame["relocated"] = moved
    out = _villages_of(frame[ok])
    notes = {
        "privacy": f"个人信息列 {len(personal)} 列未导入；"
        f"{'人员' if person_rows else '农户'}行已汇总为 {len(out)} 个村"
    }
    rejected = ~ok
    return (
        out.reset_index(),
        rep.problems(),
        notes,
        len(data),
        int(rejected.sum()),
        int(ok.sum()),
    )


def _household_heads(data: pd.DataFrame, rel_col: int | None, hid: pd.Series | None) -> pd.Series:
    """Person rows: the head of each household (户主/本人, else its first row)."""
    if rel_col is not None:
        return as_text(data[rel_col]).fillna("").str.contains("户主|本人")
    return ~hid.duplicated()


def _household_sizes(
    data: pd.DataFrame, rep: SheetRows, ok: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Household rows: each household's size (1 without the column); rows with a size that is
    not a positive integer are rejected. Returns (sizes, rows still accepted)."""
    if "household_size" not in rep.col_of:
        return pd.Series(1.0, index=data.index), ok
    size, _, bads = parse_numbers(data[rep.col_of["household_size"]])
    bads = bads | size.isna() | (size < 1) | (size > MAX_HOUSEHOLD_SIZE) | (size != np.floor(size))
    message = f"家庭人口数不是 1–{MAX_HOUSEHOLD_SIZE} 的整数"
    rep.add(bads & ok, "household_size", message, "rejected")
    return size, ok & ~bads


def _main_causes(
    values: pd.Series, rep: SheetRows, cmap: ColumnMap, reported: pd.Series
) -> pd.Series:
    """Each household's main cause as a ``cause_*`` column name (unknown → ``cause_other``);
    unknown causes are reported on the ``reported`` rows."""
    cause_lookup = {
        k: v for k, v in cmap.sections["registry"].items() if v.startswith("cause_")
    } | {normalise_label(zh): f"cause_{c}" for c, zh in S.CAUSE_LABELS_ZH.items()}
    cause, badc = parse_category(values, cause_lookup)
    rep.add(badc & reported, "main_cause", "无法识别的致贫原因，已计入“其他”", "fixed")
    return cause.where(~badc, "cause_other")


def _villages_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum accepted household rows per village: people, households, households by cause,
    relocated people (exit years unknown)."""
    g = frame.groupby(S.VILLAGE_CODE, sort=True)
    out = pd.DataFrame({S.POOR_POPULATION: g["size"].sum()})
    out[S.POOR_HOUSEHOLDS] = g["head"].sum()
    heads = frame[frame["head"]]
    if "cause" in frame.columns:
        counts = heads.groupby([S.VILLAGE_CODE, "cause"]).size().unstack(fill_value=0)
        for c in S.CAUSE_COLUMNS:
            out[c] = counts[c].reindex(out.index).fillna(0) if c in counts else 0
    if "relocated" in frame.columns:
        out[S.RELOCATED_POPULATION] = (
            frame["size"].where(frame["relocated"], 0).groupby(frame[S.VILLAGE_CODE]).sum()
        )
    out[S.PLANNED_EXIT_YEAR] = np.nan
    out[S.EXIT_YEAR] = np.nan
    return out
