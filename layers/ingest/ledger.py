"""Read county project ledgers (XLSX/CSV, any number of sheets) into the store's projects."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import gcj02_to_wgs84
from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.cells import cell_texts
from layers.ingest.columns import ColumnMap, load_column_map, office_name
from layers.ingest.excel import RawSheet, Source, read_sheets
from layers.ingest.header import Header, data_rows, find_header, row_gist, special_rows
from layers.ingest.project_rows import FUNDS, project_rows
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
    absent_label,
    source_row,
)
from layers.ingest.unknown import (
    header_not_found,
    unknown_columns,
    unknown_frame,
    unknown_text_zh,
)
from layers.settings import STORAGE_CRS

__all__ = ["read_ledger"]


def read_ledger(
    sources: Source | Sequence[Source],
    *,
    encoding: str | None = None,
    unit: str | None = None,
    gcj02: bool = False,
    column_map: ColumnMap | None = None,
    admin_units: pd.DataFrame | None = None,
    allow_later_years: bool = False,
) -> ImportResult:
    """Read project ledgers (XLSX/CSV, one or more files, every sheet with a ledger header).

    Parameters
    ----------
    sources
        Paths, or ``(file name, bytes)`` uploads.
    encoding
        CSV text encoding; None detects UTF-8 (with or without BOM) or GBK/GB18030.
    unit
        ``"元"`` or ``"万元"`` for amount columns whose header and title name no unit
        (default 万元). Amounts are stored in 万元.
    gcj02
        Longitude/latitude columns are GCJ-02 (高德/腾讯 maps) and are converted to WGS84.
    column_map
        Header mapping (default ``data/column_map.toml``).
    admin_units
        When given, rows without codes get them from their county/township/village names
        (the county may also come from the sheet name or title, e.g. 「泸水市项目库」).
    allow_later_years
        Accept (with a warning) plan years after the campaign (``settings.CAMPAIGN_YEARS``);
        by default those rows are refused and reported.

    Returns
    -------
    ImportResult
        ``table``: a GeoDataFrame (EPSG:4326, Point or empty geometry) with ``PROJECT_COLUMNS``;
        ``report``: the problems and what was understood of each sheet.

    Raises
    ------
    LedgerError
        A file cannot be read at all, or no sheet of a file has a recognisable ledger header.
    """
    if unit not in (None, "元", "万元"):
        raise LedgerError(f"unit {unit!r} is not understood; use '元' or '万元'")
    cmap = column_map if column_map is not None else load_column_map()
    srcs = [sources] if isinstance(sources, str | os.PathLike | tuple) else list(sources)
    if not srcs:
        raise LedgerError("no ledger file given; pass at least one .xlsx or .csv file")
    parts: list[tuple[RawSheet, Header]] = []
    for src in srcs:
        parts.extend(_ledger_sheets(src, cmap, encoding))
    batch, labels, sheet_problems = _stack_sheets(parts, unit)
    table, problems, per = project_rows(
        batch, labels, cmap, admin_units=admin_units, allow_later_years=allow_later_years
    )
    unknown = [_unknown(sheet, header, cmap) for sheet, header in parts]
    problems = pd.concat([problems, *sheet_problems, *(p for p, _ in unknown)], ignore_index=True)
    sources_read = [_sheet_source(sheet, header, per, unit) for sheet, header in parts]
    report = ValidationReport(
        _in_sheet_order(problems, parts),
        pd.concat(sources_read, ignore_index=True),
        pd.concat([u for _, u in unknown], ignore_index=True),
    )
    origin = pd.DataFrame(
        {
            FILE: table.get("_file", pd.Series(dtype="str")).to_numpy(),
            SHEET: table.get("_sheet", pd.Series(dtype="str")).to_numpy(),
            ROW: pd.array(table.get("_row", pd.Series(dtype="Int64")).to_numpy(), dtype="Int64"),
        }
    )
    return ImportResult(_to_projects(table, gcj02=gcj02), report, origin)


def _ledger_sheets(
    src: Source, cmap: ColumnMap, encoding: str | None
) -> list[tuple[RawSheet, Header]]:
    """The sheets of one file that have a ledger header (with 项目编号), with their headers."""
    sheets = read_sheets(src, encoding=encoding)
    found = [
        (sheet, header)
        for sheet in sheets
        if (header := find_header(sheet.cells, cmap.sections["projects"])) is not None
        and S.PROJECT_ID in header.fields.values()
    ]
    if not found:
        if not sheets:
            raise LedgerError(f"{src}: the file holds no sheet")
        raise header_not_found(sheets[0].file, sheets[0], cmap, (S.PROJECT_ID,))
    return found


def _unknown(sheet: RawSheet, header: Header, cmap: ColumnMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A warning per header the column map does not know, and the sheet's ``unknown`` rows."""
    found = unknown_columns(header, cmap)
    problems = pd.DataFrame(
        {
            FILE: [sheet.file] * len(found),
            SHEET: [sheet.sheet] * len(found),
            ROW: pd.array([header.rows[-1]] * len(found), dtype="Int64"),
            COLUMN: [f"{c.header} ({c.letter})" for c in found],
            VALUE: [""] * len(found),
            PROBLEM: [unknown_text_zh(c, cmap) for c in found],
            ACTION: ["warning"] * len(found),
        }
    )
    return problems, unknown_frame(sheet, found)


def _sheet_source(
    sheet: RawSheet, header: Header, per: pd.DataFrame, unit: str | None
) -> pd.DataFrame:
    """The ``sources`` row of one ledger sheet: counts and what was understood."""
    key = (sheet.file, sheet.sheet)
    if key not in per.index:  # a header and no data rows
        return source_row(sheet, header, "项目库", {}, (0, 0, 0))
    n = per.loc[key]
    rows_in, rejected = int(n["rows_in"]), int(n["rejected"])
    notes = {"unit": _units_understood(header, unit)}
    if n["numeric_codes"]:
        notes["codes"] = f"{int(n['numeric_codes'])} 个以数字保存的代码已按文本读取"
    if n["derived"]:
        notes["county_code"] = f"{int(n['derived'])} 行的县代码由村/乡镇代码推出"
    if n["by_name"]:
        notes["by_name"] = f"{int(n['by_name'])} 行的代码由县/乡镇/村名称匹配得到"
    return source_row(sheet, header, "项目库", notes, (rows_in, rows_in - rejected, rejected))


def _in_sheet_order(
    problems: pd.DataFrame, parts: Sequence[tuple[RawSheet, Header]]
) -> pd.DataFrame:
    """Problems sorted by sheet (in reading order), then Excel row (stable within a row)."""
    order = {(sh.file, sh.sheet): i for i, (sh, _) in enumerate(parts)}
    pos = pd.Series(list(zip(problems[FILE], problems[SHEET], strict=True))).map(order)
    return (
        problems.assign(_pos=pos.to_numpy(), _r=problems[ROW].fillna(0).to_numpy())
        .sort_values(["_pos", "_r"], kind="stable")
        .drop(columns=["_pos", "_r"])
        .reset_index(drop=True)
    )


def _units_understood(header: Header, unit: str | None) -> str:
    """Which unit each funds column was read in, and where that came from."""
    out = []
    for c, f in sorted(header.fields.items()):
        if f in FUNDS:
            col_unit = header.units.get(c)
            u = col_unit or header.title_unit or unit or "万元"
            out.append(
                f"{header.label(c)}={u}"
                + ("（表头）" if col_unit else "（标题）" if header.title_unit else "（默认）")
            )
    return "; ".join(out)


# --- the stacked rows of every sheet ------------------------------------------------------------


def _stack_sheets(
    parts: Sequence[tuple[RawSheet, Header]], unit: str | None
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[pd.DataFrame]]:
    """Stack the data rows of every ledger sheet into one frame keyed by schema field.

    Per sheet: blank rows dropped, totals/notes rows flagged, header labels and the amount
    unit of each funds column resolved. Returns (batch, labels per field, sheet-level problems).
    """
    frames, label_parts, sheet_problems = [], [], []
    for sheet, header in parts:
        data = data_rows(sheet, header)
        col = {f: c for c, f in header.fields.items()}
        frames.append(_sheet_frame(sheet, header, data, unit).reset_index(drop=True))
        labels = {f: header.label(c) for f, c in col.items()}
        labels["_first"] = header.label(data.columns[0]) if len(data.columns) else ""
        label_parts.append((len(frames[-1]), labels))
        sheet_problems.extend(_duplicate_columns(sheet, header))
    batch = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    fields = {f for _, labels in label_parts for f in labels}
    labels_out: dict[str, pd.Series] = {}
    for f in fields:
        pieces = [
            np.full(n, labels.get(f, absent_label(f)), dtype=object) for n, labels in label_parts
        ]
        labels_out[f] = pd.Series(np.concatenate(pieces), index=batch.index)
    return batch, labels_out, sheet_problems


def _sheet_frame(
    sheet: RawSheet, header: Header, data: pd.DataFrame, unit: str | None
) -> pd.DataFrame:
    """One sheet's rows keyed by field, with where they come from and each amount's unit."""
    col = {f: c for c, f in header.fields.items()}
    key_cols = [col[f] for f in (S.PROJECT_ID, S.PROJECT_NAME) if f in col]
    totals, notes = special_rows(data, key_cols)
    frame = pd.DataFrame({f: data[c] for f, c in col.items()}, index=data.index)
    frame["_totals"], frame["_notes"] = totals, notes
    frame["_gist"] = row_gist(data, totals | notes)
    frame["_file"], frame["_sheet"], frame["_row"] = sheet.file, sheet.sheet, data.index
    above = sheet.cells.loc[: header.rows[0] - 1]
    title = " ".join(t for t in cell_texts(above.to_numpy(dtype=object)).ravel() if t)
    frame["_hint"] = f"{sheet.sheet} {title} {Path(sheet.file).stem}"
    for f in FUNDS:
        col_unit = header.units.get(col[f]) if f in col else None
        frame[f"_unit_{f}"] = col_unit or header.title_unit or unit or "万元"
    return frame


def _duplicate_columns(sheet: RawSheet, header: Header) -> list[pd.DataFrame]:
    """Warnings for columns that map to a field an earlier column already gives."""
    col = {f: c for c, f in header.fields.items()}
    return [
        pd.DataFrame(
            {
                FILE: [sheet.file],
                SHEET: [sheet.sheet],
                ROW: pd.array([header.rows[0]], dtype="Int64"),
                COLUMN: [header.label(c)],
                VALUE: [""],
                PROBLEM: [
                    f"第二个对应「{office_name(f)}」的列，已忽略（使用 {header.label(col[f])}）"
                ],
                ACTION: ["warning"],
            }
        )
        for c, f in header.duplicates.items()
    ]


# --- the store's schema -------------------------------------------------------------------------
_TEXT_FIELDS = (
    S.PROJECT_ID,
    S.PROJECT_NAME,
    S.COUNTY_CODE,
    S.TOWNSHIP_CODE,
    S.VILLAGE_CODE,
    S.SECTOR,
    S.STATUS,
    S.FUND_SOURCE,
    S.RESPONSIBLE_UNIT,
    S.APPROVAL_REF,
    S.INSPECTION_RESULT,
)


def _to_projects(table: pd.DataFrame, *, gcj02: bool) -> gpd.GeoDataFrame:
    """Accepted rows → the store's projects schema (types as the store keeps them)."""
    out = pd.DataFrame(index=range(len(table)))
    t = table.reset_index(drop=True)
    for c in S.PROJECT_COLUMNS:
        out[c] = t[c] if c in t.columns else np.nan
    for c in _TEXT_FIELDS:
        out[c] = (
            out[c].astype("str").where(out[c].notna(), None) if len(out) else out[c].astype("str")
        )
    for c in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        out[c] = pd.to_datetime(out[c])
    out[S.PLAN_YEAR] = pd.to_numeric(out[S.PLAN_YEAR]).astype("int64")
    for c in FUNDS:
        out[c] = pd.to_numeric(out[c]).astype("float64")
    for c in (S.BENEFICIARY_HOUSEHOLDS, S.BENEFICIARY_POOR_POPULATION):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    lon = pd.to_numeric(t.get("lon", pd.Series(np.nan, index=t.index)))
    lat = pd.to_numeric(t.get("lat", pd.Series(np.nan, index=t.index)))
    has = lon.notna() & lat.notna()
    geom = gpd.GeoSeries(gpd.points_from_xy(lon.fillna(0), lat.fillna(0)), crs=STORAGE_CRS).where(
        has.to_numpy(), None
    )
    gdf = gpd.GeoDataFrame(out, geometry=geom.values, crs=STORAGE_CRS)
    if gcj02 and has.any():
        gdf = gcj02_to_wgs84(gdf)
    return gdf
