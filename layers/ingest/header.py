"""Find a sheet's header (one row, or a merged parent row over sub headers) and its data rows."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.ingest.cells import cell_texts, first_text, nonempty
from layers.ingest.columns import match_label, normalise_label, unit_of
from layers.ingest.excel import RawSheet, column_letter

__all__ = ["Header", "data_rows", "find_header", "header_col", "row_gist", "special_rows"]

_HEADER_SCAN_ROWS = 20
_TOTALS = re.compile(r"^(?:合计|小计|总计|共计|累计|总合计)|合计|小计")
_NOTE = re.compile(r"^(?:注|备注|说明|填表|制表|审核|负责人|联系|单位负责人|分管领导|数据来源)")


@dataclass(frozen=True)
class Header:
    """Where the header is and what each column means."""

    rows: tuple[int, ...]  # Excel row numbers of the header (one or two)
    fields: dict[int, str]  # column number → schema field
    labels: dict[int, str]  # column number → header text as written
    units: dict[int, str | None]  # column number → unit named in its header
    duplicates: dict[int, str]  # columns that repeat an already-mapped field
    title_unit: str | None  # "单位：万元" above the header

    @property
    def data_start(self) -> int:
        """Excel row number of the first row below the header."""
        return self.rows[-1] + 1

    def label(self, col: int) -> str:
        """The header text of column ``col`` with its letter, e.g. ``项目编号 (B)``."""
        return f"{self.labels.get(col, '')} ({column_letter(col)})"


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


class _Lookup:
    """A hashable wrapper so a lookup table can key a cache."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = table

    def __hash__(self) -> int:
        return id(self.table)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Lookup) and other.table is self.table


@functools.lru_cache(maxsize=65536)
def _match_cached(label: str, lookup: _Lookup) -> str | None:
    return match_label(label, lookup.table)


def find_header(cells: pd.DataFrame, lookup: Mapping[str, str]) -> Header | None:
    """Find the header row(s) of a sheet: the one row, or two rows (a merged parent over sub
    headers), among the first 20 whose labels map to the most distinct schema fields.

    Two rows win a tie only when the upper row is itself header-like (maps two fields), so a
    title row is never taken for a parent header. Units (元/万元) are read from the parent and
    sub header text together. Returns None when no candidate maps at least two fields.

    Parameters
    ----------
    cells
        The sheet's grid (``RawSheet.cells``).
    lookup
        Normalised header variants → schema names (a ``ColumnMap`` section).

    Returns
    -------
    Header or None
        The header found, or None.
    """
    best: tuple | None = None
    top = cells.iloc[: _HEADER_SCAN_ROWS + 1]
    index = list(top.index)
    col_ids = list(top.columns)
    grid = cell_texts(top.to_numpy(dtype=object)) if top.size else np.empty((0, 0), object)
    match = functools.partial(_match_cached, lookup=_Lookup(lookup))
    for i, r in enumerate(index[:_HEADER_SCAN_ROWS]):
        single = dict(zip(col_ids, grid[i], strict=True))
        single_mapped = {c: f for c, lab in single.items() if lab and (f := match(lab))}
        options = [((r,), single, single_mapped, 0)]
        if i + 1 < len(index):
            parent = list(itertools.accumulate(grid[i], lambda prev, v: v or prev))
            combined: dict[int, str] = {}
            full: dict[int, str] = {}
            from_lower = 0  # columns whose meaning comes from the lower row
            for c, sub, par in zip(col_ids, grid[i + 1], parent, strict=True):
                cands = [sub, par + sub, par] if sub and sub != par else [par]
                combined[c] = next((x for x in cands if x and match(x)), cands[0])
                from_lower += combined[c] != par and match(combined[c]) is not None
                full[c] = f"{par}/{sub}" if sub and par and sub != par else (sub or par)
            mapped = {c: f for c, lab in combined.items() if lab and (f := match(lab))}
            header_like = len(set(single_mapped.values())) >= 2 and from_lower > 0
            options.append(((r, index[i + 1]), full, mapped, 1 if header_like else -1))
        for rows, full_labels, mapped, tie in options:
            score = len(set(mapped.values()))
            if best is None or (score, tie) > best[:2]:
                best = (score, tie, rows, full_labels, mapped)
    if best is None or best[0] < 2:
        return None
    _, _, rows, labels, mapped = best
    return _header(cells, rows, labels, mapped)


def _header(
    cells: pd.DataFrame, rows: tuple[int, ...], labels: dict[int, str], mapped: dict[int, str]
) -> Header:
    """The ``Header`` of the chosen rows: first column per field wins, units from the texts."""
    fields: dict[int, str] = {}
    duplicates: dict[int, str] = {}
    for c in sorted(mapped):
        if mapped[c] in fields.values():
            duplicates[c] = mapped[c]
        else:
            fields[c] = mapped[c]
    units = {c: unit_of(normalise_label(labels[c])) for c in fields}
    above = cells.loc[: rows[0] - 1]
    title_text = " ".join(_text(v) for v in above.to_numpy().ravel() if _text(v))
    m = re.search(r"单位\s*[:：]?\s*(万元|元)", unicodedata.normalize("NFKC", title_text))
    return Header(
        rows=rows,
        fields=fields,
        labels={c: labels[c] for c in labels if labels[c]},
        units=units,
        duplicates=duplicates,
        title_unit=m.group(1) if m else None,
    )


def header_col(header: Header, field_name: str) -> int | None:
    """Column number mapped to ``field_name`` in ``header`` (None if absent).

    Parameters
    ----------
    header
        A sheet's header.
    field_name
        A schema field.

    Returns
    -------
    int or None
        The column number, or None when no column maps to the field.
    """
    return next((c for c, f in header.fields.items() if f == field_name), None)


def data_rows(sheet: RawSheet, header: Header) -> pd.DataFrame:
    """The rows below ``header`` that hold anything (blank rows dropped).

    Parameters
    ----------
    sheet
        The sheet.
    header
        Its header (``find_header``).

    Returns
    -------
    DataFrame
        The data rows, indexed by Excel row number.
    """
    data = sheet.cells.loc[header.data_start :]
    return data[nonempty(data).any(axis=1)]


def row_gist(data: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """The first non-empty text of the ``rows`` (a mask) — to show totals and note rows.

    Parameters
    ----------
    data
        A sheet's data rows.
    rows
        The rows to describe (a boolean mask on ``data``).

    Returns
    -------
    Series
        The text for each masked row, "" elsewhere.
    """
    out = pd.Series("", index=data.index, dtype=object)
    m = rows.to_numpy()
    if m.any():
        out[m] = first_text(data.to_numpy(dtype=object)[m])
    return out


def special_rows(data: pd.DataFrame, key_cols: Sequence[int]) -> tuple[pd.Series, pd.Series]:
    """Totals rows (合计/小计 in any of the first columns or the key columns) and note rows.

    Parameters
    ----------
    data
        The sheet's data rows (``data_rows``).
    key_cols
        Columns every real row fills (e.g. the project id and name).

    Returns
    -------
    tuple of Series
        Masks of the totals rows and of the note rows.
    """
    cols = list(data.columns)
    arr = data.to_numpy(dtype=object)
    filled = nonempty(data)
    look = sorted({*range(min(4, len(cols))), *(cols.index(c) for c in key_cols)})
    text = cell_texts(arr[:, look]).astype(object) if arr.size else np.empty((len(arr), 0), object)
    flat = pd.Series(text.ravel(), dtype=object).str.replace(r"\s", "", regex=True)
    totals = flat.str.contains(_TOTALS).to_numpy(bool).reshape(text.shape).any(axis=1)
    nonempty_count = filled.sum(axis=1)
    key_idx = [cols.index(c) for c in key_cols]
    keys_empty = ~filled[:, key_idx].any(axis=1) if key_idx else np.ones(len(arr), dtype=bool)
    first = pd.Series(first_text(arr[:, : min(4, len(cols))]), dtype=object)
    noted = first.str.replace(r"\s", "", regex=True).str.match(_NOTE).to_numpy(bool)
    notes = ~totals & ((keys_empty & (nonempty_count <= 2)) | (noted & (nonempty_count <= 3)))
    return pd.Series(totals, index=data.index), pd.Series(notes, index=data.index)
