"""Lay a projects table out as a county office's ledger workbook (the import page's template)."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from layers import schema as S
from layers.ingest.columns import OFFICE_COLUMNS

__all__ = ["office_ledger_workbook"]

_FUNDS_GROUP = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
_CODES = (S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE)
#: Excel row of the first project (title, unit, two header rows above)
_FIRST_ROW = 5


def office_ledger_workbook(
    projects: pd.DataFrame,
    *,
    title: str = "脱贫攻坚项目库",
    sheet_by: str | None = S.COUNTY_CODE,
    codes_as_numbers: bool = True,
) -> bytes:
    """Lay a projects table out as county offices do and return the XLSX bytes.

    A title row, a "单位：万元" row, a two-row header with 资金（万元） merged over 计划投资 /
    已下达资金 / 已支出资金 (the other headers merged down over both rows), Chinese category
    labels, codes stored as numbers (as Excel makes them), real Excel dates, a 合计 row and a
    填表说明 note at the bottom; one sheet per value of ``sheet_by`` (None: one sheet).
    Used for the import page's template and the round-trip tests.

    Parameters
    ----------
    projects
        Projects with the store's columns (a GeoDataFrame adds 经度/纬度 from its points).
    title
        Title of each sheet (after the ``sheet_by`` value).
    sheet_by
        Column whose values get one sheet each; None: one sheet 项目库.
    codes_as_numbers
        Store codes as numbers (as Excel does when a code column is not formatted as text).

    Returns
    -------
    bytes
        The workbook.
    """
    df = _office_frame(projects)
    groups = [("项目库", df)] if sheet_by is None else list(df.groupby(sheet_by, sort=True))
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for key, part in groups:
        ws = wb.create_sheet(str(key)[:31])
        _write_header(ws, f"{key}{title}" if sheet_by else title)
        values = part.reset_index(drop=True)
        _write_projects(ws, values, codes_as_numbers=codes_as_numbers)
        _write_footer(ws, values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _office_frame(projects: pd.DataFrame) -> pd.DataFrame:
    """The projects with Chinese category labels and, for points, 经度/纬度 columns."""
    labels = {
        S.SECTOR: S.SECTOR_LABELS_ZH,
        S.STATUS: S.STATUS_LABELS_ZH,
        S.FUND_SOURCE: S.FUND_SOURCE_LABELS_ZH,
    }
    df = pd.DataFrame(projects).copy()
    if isinstance(projects, gpd.GeoDataFrame):
        geom = projects.geometry
        pts = geom.notna() & (geom.geom_type == "Point")
        df["lon"] = np.where(pts, geom.x.where(pts), np.nan) if len(df) else []
        df["lat"] = np.where(pts, geom.y.where(pts), np.nan) if len(df) else []
    for f, lab in labels.items():
        df[f] = df[f].map(lab)
    return df


def _write_header(ws: Worksheet, title: str) -> None:
    """Title, unit row and the two-row header (资金（万元） merged over the three amounts)."""
    ncol = len(OFFICE_COLUMNS) + 1
    ws.cell(1, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    ws.cell(2, 1, "单位：万元")
    ws.cell(3, 1, "序号")
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    first_fund = None
    for j, (zh, f) in enumerate(OFFICE_COLUMNS, start=2):
        if f in _FUNDS_GROUP:
            first_fund = first_fund or j
            ws.cell(4, j, zh)
        else:
            ws.cell(3, j, zh)
            ws.merge_cells(start_row=3, start_column=j, end_row=4, end_column=j)
    ws.cell(3, first_fund, "资金（万元）")
    ws.merge_cells(start_row=3, start_column=first_fund, end_row=3, end_column=first_fund + 2)


def _cell_value(v: object, f: str | None, *, codes_as_numbers: bool) -> object:
    """A value as an office would type it: codes as numbers, real dates, plain Python types."""
    if f in _CODES and codes_as_numbers:
        return int(str(v))
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_projects(ws: Worksheet, values: pd.DataFrame, *, codes_as_numbers: bool) -> None:
    """One row per project, numbered in 序号; empty values stay empty cells."""
    for i in range(len(values)):
        r = _FIRST_ROW + i
        ws.cell(r, 1, i + 1)
        for j, (_, f) in enumerate(OFFICE_COLUMNS, start=2):
            v = values.at[i, f] if f in values.columns else None
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                continue
            ws.cell(r, j, _cell_value(v, f, codes_as_numbers=codes_as_numbers))


def _write_footer(ws: Worksheet, values: pd.DataFrame) -> None:
    """The 合计 row (amount sums), a 填表说明 note, and centred header cells."""
    total_row = _FIRST_ROW + len(values)
    ws.cell(total_row, 1, "合计")
    for j, (_, f) in enumerate(OFFICE_COLUMNS, start=2):
        if f in _FUNDS_GROUP:
            ws.cell(total_row, j, float(pd.to_numeric(values[f]).sum()))
    ws.cell(total_row + 2, 1, "填表说明：金额单位为万元；代码为统计用区划代码。")
    for row in ws.iter_rows(min_row=3, max_row=4):
        for cell in row:
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
