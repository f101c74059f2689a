"""Tables shaped for display and download: Chinese headers, labels, search, XLSX/CSV files.

Display tables keep numbers numeric (so they sort); rates become percentages (×100) under a
header ending in ``(%)``. Downloads escape text cells that a spreadsheet would run as a formula
(``geo.escape.escape_formulas``: leading ``= + - @``, full-width too, also after blanks, tab or
line breaks) and CSV is UTF-8 with a BOM so Excel reads Chinese.
XLSX is written by the fast sheet writer of ``layers.export.xlsx``. ``view_table`` and
``write_table`` are the table export of one view (``onemap export table``, the 导出 page).
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from geo.escape import escape_formulas
from layers import schema as s
from layers.build import metrics
from layers.errors import ExportError, OneMapError
from layers.export import xlsx
from layers.export.snapshot import MapRequest, Snapshot, format_of, view_projects, view_rows
from layers.present import i18n

__all__ = [
    "TABLE_FORMATS",
    "TABLE_KINDS",
    "escape_formulas",
    "laggards",
    "missing_six_fixes",
    "project_table",
    "search",
    "six_fixes_matrix",
    "summary_table",
    "table_bytes",
    "to_csv_bytes",
    "to_xlsx_bytes",
    "unit_options",
    "view_table",
    "write_table",
]

TABLE_FORMATS: tuple[str, ...] = ("xlsx", "csv")
TABLE_KINDS: tuple[str, ...] = ("summary", "projects")
_RATES: tuple[str, ...] = s.METRICS


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
    """The Chinese names of the fixes each project lacks, joined by ``sep`` ("" when complete).

    Parameters
    ----------
    projects
        Rows of the ``projects`` store layer.
    sep
        The separator between names.

    Returns
    -------
    pandas.Series
        ``missing_six_fixes`` on the input index.
    """
    has = six_fixes_matrix(projects)
    out = pd.Series("", index=projects.index, dtype="object")
    for fix in s.SIX_FIXES:  # six columns, vectorised over rows
        label = s.SIX_FIXES_LABELS_ZH[fix]
        add = ~has[fix]
        out = out.where(~add, out + np.where(out.eq(""), "", sep) + label)
    return out.rename(i18n.MISSING_FIXES)


def project_table(
    projects: pd.DataFrame,
    *,
    names: Mapping[str, str] | pd.Series | None = None,
    with_missing_fixes: bool = False,
    lang: str = "zh",
) -> pd.DataFrame:
    """Projects for display/download: headers and labels in ``lang`` (default Chinese), region
    names for codes.

    Parameters
    ----------
    projects
        Rows of the ``projects`` store layer (geometry, if any, is dropped).
    names
        Code → name of admin units; region code columns show the name when known and
        "—" where a county-wide project has no township or village.
    with_missing_fixes
        Add a ``六定缺项`` column listing the six fixes each project lacks.
    lang
        Language of the headers and of the sector, status and fund source labels.

    Returns
    -------
    pandas.DataFrame
        The display table, numbered from 0.
    """
    _require(projects, [s.PROJECT_ID, s.PROJECT_NAME], "project_table(projects)")
    cols = [c for c in s.PROJECT_COLUMNS if c in projects.columns]
    out = pd.DataFrame(projects[cols]).copy()
    for kind in (s.SECTOR, s.STATUS, s.FUND_SOURCE):
        if kind in out:
            out[kind] = _labelled(out[kind], i18n.labels(kind, lang))
    if names is not None:
        lookup = pd.Series(names, dtype="object") if not isinstance(names, pd.Series) else names
        for col in (s.COUNTY_CODE, s.TOWNSHIP_CODE, s.VILLAGE_CODE):
            if col in out:
                out[col] = out[col].map(lookup).fillna(out[col]).fillna("—")
    for col in (s.START_DATE, s.COMPLETION_DATE, s.PUBLIC_NOTICE_DATE):
        if col in out and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype("object")
    if with_missing_fixes:
        out[i18n.MISSING_FIXES] = missing_six_fixes(projects)
    return out.rename(columns=i18n.headers(lang)).reset_index(drop=True)


def search(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows where every whitespace-separated term of ``query`` occurs in some column (any case).

    Parameters
    ----------
    table
        The table to search.
    query
        Whitespace-separated terms (blank: every row).

    Returns
    -------
    pandas.DataFrame
        The matching rows of ``table``.
    """
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


def summary_table(
    summary: pd.DataFrame, *, extra: tuple[str, ...] = (), lang: str = "zh"
) -> pd.DataFrame:
    """Region or zone summary rows for display: name, counts, rates in % (headers in ``lang``).

    Parameters
    ----------
    summary
        Rows of ``region_summary`` or zone summaries (``zone`` column).
    extra
        Further columns to keep after the name.
    lang
        Language of the headers (Chinese by default, as the exported tables).

    Returns
    -------
    pandas.DataFrame
        The display table, numbered from 0.
    """
    key = s.ZONE if s.ZONE in summary.columns else s.NAME
    _require(summary, [key, s.N_PROJECTS], "summary_table(summary)")
    out = pd.DataFrame(summary).copy()
    if s.POOR_POPULATION in out and s.COVERED_CAPPED in out:
        out[i18n.UNCOVERED] = out[s.POOR_POPULATION] - out[s.COVERED_CAPPED]
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
        i18n.UNCOVERED,
        s.EXIT_PROGRESS,
        s.SIX_FIXES_RATE,
    ]
    out = out[[c for c in cols if c in out.columns]]
    for rate in _RATES:
        if rate in out:
            out[rate] = (out[rate].astype("float64") * 100).round(1)
    names = {**i18n.headers(lang), s.NAME: i18n.t("name", lang)}
    return out.rename(columns=names).reset_index(drop=True)


def laggards(summary: pd.DataFrame, *, by: str = s.COMPLETION, n: int = 10) -> pd.DataFrame:
    """The ``n`` worst units: lowest ``completion``/``coverage``/… or most ``uncovered_population``.

    Ties break on more uncovered poor population, then on name; the input is not modified.

    Parameters
    ----------
    summary
        Summary rows (with poor population and covered population).
    by
        A rate of ``schema.METRICS`` (lowest first) or ``uncovered_population`` (most first).
    n
        How many units, at least 1.

    Returns
    -------
    pandas.DataFrame
        The ``n`` rows with an ``uncovered_population`` column, numbered from 0.
    """
    _require(summary, [s.POOR_POPULATION, s.COVERED_CAPPED], "laggards(summary)")
    if n < 1:
        raise OneMapError(f"laggards: `n` was {n} but must be at least 1")
    out = pd.DataFrame(summary).copy()
    out[i18n.UNCOVERED] = out[s.POOR_POPULATION] - out[s.COVERED_CAPPED]
    if by == i18n.UNCOVERED:
        order, ascending = [i18n.UNCOVERED, s.NAME], [False, True]
    elif by in _RATES:
        _require(out, [by], "laggards(summary)")
        order, ascending = [by, i18n.UNCOVERED, s.NAME], [True, False, True]
    else:
        raise OneMapError(
            f"laggards: `by` was {by!r} but must be one of {[*_RATES, i18n.UNCOVERED]}"
        )
    out = out[out[by].notna()] if by in _RATES else out
    return out.sort_values(order, ascending=ascending, kind="stable").head(n).reset_index(drop=True)


def _dates_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with datetime columns as ISO text (``2020-01-02``, time only when not midnight)."""
    dates = [c for c in table.columns if pd.api.types.is_datetime64_any_dtype(table[c])]
    if not dates:
        return table
    out = table.copy()
    for col in dates:
        text = out[col].dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "")
        out[col] = text.astype("object").where(out[col].notna(), None)
    return out


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """CSV as UTF-8 with BOM (Excel opens Chinese correctly), formulas escaped, no index.

    Written by pyarrow's C++ CSV writer (every text value quoted, missing values empty); a
    column pyarrow cannot type (e.g. text mixed with numbers) falls back to pandas.
    """
    safe = _dates_as_text(escape_formulas(table))
    safe.columns = [str(c) for c in safe.columns]
    buf = io.BytesIO()
    buf.write(codecs.BOM_UTF8)
    try:
        arrow = pa.Table.from_pandas(safe, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return codecs.BOM_UTF8 + safe.to_csv(index=False).encode("utf-8")
    pa_csv.write_csv(arrow, buf, pa_csv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()


def to_xlsx_bytes(table: pd.DataFrame, *, sheet_name: str = "项目库") -> bytes:
    """An XLSX workbook with one sheet holding ``table`` (formulas escaped, no index).

    Written by :func:`layers.export.xlsx.workbook_bytes` (streamed, column-wise): text is
    stored inline, numbers stay numbers, dates become ISO text.

    Parameters
    ----------
    table
        The table to write.
    sheet_name
        The sheet's name (1 to 31 characters, none of ``[]:*?/\\``).

    Returns
    -------
    bytes
        The workbook.
    """
    xlsx.check_sheet(table, sheet_name)  # before escaping a table Excel cannot hold
    return xlsx.workbook_bytes(_dates_as_text(escape_formulas(table)), sheet_name=sheet_name)


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

    Parameters
    ----------
    units
        Admin units (``code``, ``name``, ``level``).
    level
        The level to pick from.
    within
        The region to pick inside (its level must be above ``level``).
    only
        Codes to keep, or None.
    counties
        County codes whose units to keep, or None.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` and ``label``, sorted by code.
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


# --------------------------------------------------------------------------------------
# the table of one view, and its file
# --------------------------------------------------------------------------------------
def view_table(snap: Snapshot, request: MapRequest, *, kind: str = "summary") -> pd.DataFrame:
    """The view's table, headers and labels in ``request.lang``: unit summaries or projects.

    Parameters
    ----------
    snap
        The store snapshot (read ``with_projects=True`` for ``kind="projects"``).
    request
        The view.
    kind
        summary (one row per unit of the view) or projects (the view's project rows).

    Returns
    -------
    pandas.DataFrame
        The display table (``summary_table`` or ``project_table`` with missing fixes).
    """
    if kind == "summary":
        return summary_table(view_rows(snap, request), lang=request.lang)
    if kind == "projects":
        p = view_projects(snap, request)
        names = snap.region_summary.set_index(s.CODE)[s.NAME]
        return project_table(p, names=names, with_missing_fixes=True, lang=request.lang)
    raise ExportError(f"`kind` was {kind!r}; expected one of {list(TABLE_KINDS)}")


def table_bytes(table: pd.DataFrame, *, fmt: str) -> bytes:
    """XLSX or CSV (UTF-8 with BOM) bytes; cells starting with = + - @ are escaped.

    Parameters
    ----------
    table
        The table to write.
    fmt
        xlsx or csv.

    Returns
    -------
    bytes
        The file's content.
    """
    if fmt == "xlsx":
        return to_xlsx_bytes(table, sheet_name="OneMap")
    if fmt == "csv":
        return to_csv_bytes(table)
    raise ExportError(f"table format {fmt!r} is not one of {list(TABLE_FORMATS)}")


def write_table(
    table: pd.DataFrame, out: str | os.PathLike[str], *, fmt: str | None = None
) -> Path:
    """Write ``table`` as XLSX or CSV (format from ``fmt`` or the suffix).

    Parameters
    ----------
    table
        The table to write.
    out
        The file to write.
    fmt
        xlsx or csv (default: the suffix of ``out``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    f = format_of(out, fmt, TABLE_FORMATS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(table_bytes(table, fmt=f))
    return out
