"""Read office spreadsheets (XLSX, CSV in UTF-8/BOM/GBK) into grids keyed as Excel shows them.

Rows and columns are numbered as the user sees them in Excel (1-based), so every report row can
name the cell the user has to fix.
"""

from __future__ import annotations

import codecs
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import python_calamine
from openpyxl.utils import get_column_letter
from python_calamine import SheetVisibleEnum

from layers.errors import LedgerError
from layers.ingest import limits

__all__ = ["CSV_ENCODINGS", "RawSheet", "Source", "column_letter", "read_sheets", "source_name"]

#: a file given by path, or by name and content (an upload)
Source = str | os.PathLike[str] | tuple[str, bytes]

#: encodings tried in order when none is given; GB18030 is a superset of GBK and GB2312
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class RawSheet:
    """One sheet (or CSV file) as a grid of cell values.

    ``cells`` has the Excel row numbers (1-based) as index and column numbers (1-based) as
    columns; values are the Python objects openpyxl returns (str, int, float, datetime) or None.
    Merged cells carry the merged value in every cell they cover.
    """

    file: str
    sheet: str
    cells: pd.DataFrame
    encoding: str | None = None


def column_letter(col: int) -> str:
    """Return the Excel letter of a 1-based column number (1 → A, 28 → AB)."""
    return get_column_letter(int(col))


def source_name(source: Source) -> str:
    """Return the file name a user would recognise for ``source``."""
    if isinstance(source, tuple):
        return Path(source[0]).name
    return Path(source).name


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, tuple):
        return source[1]
    path = Path(source)
    if not path.is_file():
        raise LedgerError(f"{path}: file not found; check the path passed to the import")
    limits.check_size(path.name, path.stat().st_size)  # before reading it into memory
    try:
        return path.read_bytes()
    except OSError as e:
        raise LedgerError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e


def read_sheets(source: Source, *, encoding: str | None = None) -> list[RawSheet]:
    """Read every sheet of an XLSX workbook, or the one table of a CSV file.

    Parameters
    ----------
    source
        A path, or ``(file name, content)`` for an upload.
    encoding
        CSV only: the text encoding; ``None`` detects UTF-8 (with or without BOM) or GB18030/GBK.

    Returns
    -------
    list of RawSheet
        One grid per visible sheet (one for a CSV file).
    """
    name = source_name(source)
    suffix = Path(name).suffix.lower()
    data = _read_bytes(source)
    limits.check_size(name, len(data))
    if suffix in (".xlsx", ".xlsm"):
        limits.check_xlsx(name, data)  # from the zip's headers, before anything is unpacked
        return _read_xlsx(name, data)
    if suffix in (".csv", ".txt"):
        return [_read_csv(name, data, encoding)]
    if suffix == ".xls":
        raise LedgerError(
            f"{name}: old Excel 97–2003 (.xls) workbooks are not read; open it in Excel or WPS "
            "and save as .xlsx (或另存为 .xlsx)"
        )
    raise LedgerError(f"{name}: unsupported file type {suffix!r}; give an .xlsx or .csv file")


def _read_xlsx(name: str, data: bytes) -> list[RawSheet]:
    """Every visible sheet, read with calamine (about 10x faster than openpyxl); merged
    ranges carry their top-left value into every cell they cover."""
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = {m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible}
        sheets = []
        for title in wb.sheet_names:
            if title not in visible:
                continue
            ws = wb.get_sheet_by_name(title)
            rows = ws.to_python(skip_empty_area=False)
            width = max((len(r) for r in rows), default=0)
            cells = pd.DataFrame(
                rows, index=range(1, len(rows) + 1), columns=range(1, width + 1), dtype=object
            )
            cells = cells.where(cells != "", None)
            for (r1, c1), (r2, c2) in ws.merged_cell_ranges or []:
                if r1 < len(rows) and c1 < width:
                    cells.loc[r1 + 1 : r2 + 1, c1 + 1 : c2 + 1] = cells.at[r1 + 1, c1 + 1]
            sheets.append(RawSheet(name, title, cells))
    except (python_calamine.CalamineError, ValueError, OSError) as e:
        raise LedgerError(
            f"{name}: not a readable .xlsx workbook ({type(e).__name__}: {e}); "
            "re-save it from Excel or WPS as .xlsx"
        ) from e
    return sheets


def _decode(name: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as e:
            raise LedgerError(
                f"--encoding {encoding!r} is not a known encoding; use utf-8, gbk or gb18030"
            ) from e
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            raise LedgerError(
                f"{name}: not valid {encoding} at byte {e.start}; "
                "leave --encoding out to detect it, or give the right one"
            ) from e
    for enc in CSV_ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig":
            enc = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        return text, enc
    raise LedgerError(
        f"{name}: text is neither UTF-8 nor GBK/GB18030; pass --encoding with the file's encoding"
    )


def _read_csv(name: str, data: bytes, encoding: str | None) -> RawSheet:
    text, enc = _decode(name, data, encoding)
    if "\x00" in text:
        raise LedgerError(f"{name}: contains NUL bytes, so it is not a text CSV; export it again")
    rows = limits.check_csv(name, text)  # columns, rows, cells and broken quoting
    width = max((len(r) for r in rows), default=0)
    padded = [[c if c.strip() != "" else None for c in r] + [None] * (width - len(r)) for r in rows]
    cells = pd.DataFrame(
        padded, index=range(1, len(rows) + 1), columns=range(1, width + 1), dtype=object
    )
    return RawSheet(name, "", cells, enc)
