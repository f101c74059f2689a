"""Bounded input: a table file is measured before it is parsed, and refused with one line.

An .xlsx is a zip: its central directory gives every member's size before anything is
unpacked, so a zip bomb (2.5 MB that unpacks to 600 MB) is refused from the headers. Each
worksheet's ``<dimension ref="A1:Z900"/>`` (in its first bytes) gives the rows and columns it
claims; the sheet is then scanned in 1 MB pieces counting ``<row>`` and ``<c>`` elements (a
dimension can lie), stopping at the first limit passed. Zip members never yield more than their
declared size, so the scan's work is bounded by the unpacked limit. A CSV is measured in bytes,
the columns of its header line, and its rows (counted by the ``csv`` module, which also finds
broken quoting and line breaks inside unquoted cells). A boundary file is measured before
GDAL opens it or a zip is unpacked: its bytes; a .zip's members (count, unpacked size and
ratio, from the central directory) and its shapefile's record count (the .dbf header, 32
bytes); a GeoPackage's features per layer (SQLite, read-only). The limits are
``layers.settings.INPUT_LIMITS``; the error names the file and the limit passed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sqlite3
import struct
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from layers.errors import BoundaryError, LedgerError
from layers.settings import INPUT_LIMITS

__all__ = [
    "Limits",
    "check_boundary_file",
    "check_csv",
    "check_size",
    "check_xlsx",
    "default_limits",
]

_MB = 1 << 20
_CHUNK = _MB
#: below this many unpacked bytes the compression ratio is not checked (tiny files pack well)
_RATIO_FLOOR = 20 * _MB
_MAX_MEMBERS = 10_000
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?\"")
_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")


@dataclass(frozen=True)
class Limits:
    """The most an imported file may hold (see ``layers.settings.INPUT_LIMITS``)."""

    file_bytes: int
    unpacked_bytes: int
    pack_ratio: float
    rows: int
    columns: int
    cells: int
    boundary_bytes: int = int(INPUT_LIMITS["boundary_mb"] * _MB)
    members: int = int(INPUT_LIMITS["boundary_members"])
    features: int = int(INPUT_LIMITS["features"])

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Limits:
        """Limits from ``INPUT_LIMITS``-style values (sizes in MB)."""
        return cls(
            file_bytes=int(values["file_mb"] * _MB),
            unpacked_bytes=int(values["unpacked_mb"] * _MB),
            pack_ratio=float(values["pack_ratio"]),
            rows=int(values["rows"]),
            columns=int(values["columns"]),
            cells=int(values["cells"]),
            boundary_bytes=int(values["boundary_mb"] * _MB),
            members=int(values["boundary_members"]),
            features=int(values["features"]),
        )


def default_limits() -> Limits:
    """The limits of ``layers.settings.INPUT_LIMITS``."""
    return Limits.from_mapping(INPUT_LIMITS)


def _mb(n: float) -> str:
    return f"{n / _MB:.0f} MB" if n >= _MB else f"{n / 1024:.0f} KB"


def check_size(name: str, size: int, limits: Limits | None = None) -> None:
    """Refuse a file of more than ``limits.file_bytes``.

    Parameters
    ----------
    name
        The file name shown in the message.
    size
        Its size in bytes.
    limits
        The limits (None: :func:`default_limits`).
    """
    lim = limits or default_limits()
    if size > lim.file_bytes:
        raise LedgerError(
            f"{name}: {_mb(size)} is more than the limit of {_mb(lim.file_bytes)} per file "
            "(settings.INPUT_LIMITS['file_mb']); split it by county"
        )


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.decode("ascii"):
        n = n * 26 + ord(ch) - 64
    return n


def _refuse(name: str, what: str, limit: int, key: str) -> LedgerError:
    return LedgerError(
        f"{name}: {what} is more than the limit of {limit:,} (settings.INPUT_LIMITS['{key}']); "
        "split the file by county or remove empty rows and columns"
    )


def _check_members(name: str, infos: list[zipfile.ZipInfo], lim: Limits) -> None:
    if len(infos) > _MAX_MEMBERS:
        raise LedgerError(f"{name}: {len(infos):,} parts is not an Excel workbook; re-save it")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if unpacked > lim.unpacked_bytes:
        raise LedgerError(
            f"{name}: unpacks to {_mb(unpacked)}, more than the limit of "
            f"{_mb(lim.unpacked_bytes)} (settings.INPUT_LIMITS['unpacked_mb']); "
            "split the file by county"
        )
    if unpacked > _RATIO_FLOOR and unpacked > lim.pack_ratio * max(packed, 1):
        raise LedgerError(
            f"{name}: unpacks {unpacked / max(packed, 1):.0f} times its size, more than the "
            f"limit of {lim.pack_ratio:.0f} (settings.INPUT_LIMITS['pack_ratio']); "
            "this is not an ordinary workbook"
        )


def _check_dimension(where: str, head: bytes, lim: Limits) -> None:
    """The rows, columns and cells a sheet's ``<dimension>`` claims."""
    hit = _DIMENSION.search(head)
    if hit is None:
        return
    c1, r1, c2, r2 = hit.groups()
    if c2 is None:  # "A1": one cell (an empty sheet) or the last cell only
        rows, cols = int(r1), _column_number(c1)
    else:
        rows = int(r2) - int(r1) + 1
        cols = _column_number(c2) - _column_number(c1) + 1
    rows, cols = max(rows, 1), max(cols, 1)
    if rows > lim.rows:
        raise _refuse(where, f"its dimension of {rows:,} rows", lim.rows, "rows")
    if cols > lim.columns:
        raise _refuse(where, f"its dimension of {cols:,} columns", lim.columns, "columns")
    if rows * cols > lim.cells:
        raise _refuse(where, f"its dimension of {rows * cols:,} cells", lim.cells, "cells")


def _scan_sheet(where: str, stream: io.BufferedIOBase, lim: Limits) -> None:
    """Count ``<row>`` and ``<c>`` elements in 1 MB pieces; stop at the first limit passed."""
    rows = cells = 0
    tail = b""
    first = True
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        data = tail + chunk
        if first:
            _check_dimension(where, data[:65536], lim)
            first = False
        cut = max(len(data) - 16, 0)  # an element split between pieces is counted next time
        rows += len(_ROW.findall(data, 0, cut))
        cells += len(_CELL.findall(data, 0, cut))
        tail = data[cut:]
        if rows > lim.rows:
            raise _refuse(where, f"more than {lim.rows:,} rows", lim.rows, "rows")
        if cells > lim.cells:
            raise _refuse(where, f"more than {lim.cells:,} cells", lim.cells, "cells")
    rows += len(_ROW.findall(tail))
    cells += len(_CELL.findall(tail))
    if rows > lim.rows:
        raise _refuse(where, f"{rows:,} rows", lim.rows, "rows")
    if cells > lim.cells:
        raise _refuse(where, f"{cells:,} cells", lim.cells, "cells")


def check_xlsx(name: str, data: bytes, limits: Limits | None = None) -> None:
    """Refuse an .xlsx that is no zip, unpacks too large or too far, or has too big a sheet.

    Parameters
    ----------
    name
        The file name shown in the message.
    data
        The file's bytes.
    limits
        The limits (None: :func:`default_limits`).

    Raises
    ------
    LedgerError
        One line naming the file (and sheet) and the limit passed.
    """
    lim = limits or default_limits()
    check_size(name, len(data), lim)
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise LedgerError(
            f"{name}: an old Excel 97–2003 (.xls) or encrypted workbook named .xlsx; "
            "save it as .xlsx (另存为 .xlsx) without a password"
        )
    if data[:2] != b"PK":
        raise LedgerError(f"{name}: not an .xlsx workbook (no zip inside); re-save it as .xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            _check_members(name, infos, lim)
            for info in infos:
                if _SHEET.match(info.filename):
                    where = f"{name} ({info.filename.rsplit('/', 1)[-1]})"
                    with z.open(info) as stream:
                        _scan_sheet(where, stream, lim)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        raise LedgerError(
            f"{name}: not a readable .xlsx workbook ({e}); re-save it as .xlsx"
        ) from e


def check_csv(name: str, text: str, limits: Limits | None = None) -> list[list[str]]:
    """Parse a decoded CSV within the limits and return its rows.

    The header line's columns are checked first, then every row as the ``csv`` module reads it
    (stopping at the first row past a limit); broken quoting or a line break inside an unquoted
    cell is refused naming the line.

    Parameters
    ----------
    name
        The file name shown in the message.
    text
        The decoded text.
    limits
        The limits (None: :func:`default_limits`).

    Returns
    -------
    list of list of str
        The rows.
    """
    lim = limits or default_limits()
    first_line = text[: text.find("\n") if "\n" in text else min(len(text), 1 << 16)]
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    if first_line.count(dialect.delimiter) + 1 > lim.columns:
        raise _refuse(
            name,
            f"its header line of {first_line.count(dialect.delimiter) + 1:,} columns",
            lim.columns,
            "columns",
        )
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[list[str]] = []
    cells = 0
    try:
        for row in reader:
            rows.append(row)
            cells += len(row)
            if len(row) > lim.columns:
                raise _refuse(
                    f"{name} line {reader.line_num}",
                    f"{len(row):,} columns",
                    lim.columns,
                    "columns",
                )
            if len(rows) > lim.rows:
                raise _refuse(name, f"more than {lim.rows:,} rows", lim.rows, "rows")
            if cells > lim.cells:
                raise _refuse(name, f"more than {lim.cells:,} cells", lim.cells, "cells")
    except csv.Error as e:
        raise LedgerError(
            f"{name}: broken CSV at line {reader.line_num} ({e}); a cell with a line break, "
            "quote or delimiter must be in double quotes — export the file again from Excel"
        ) from e
    return rows


# ------------------------------------------------------------------------------ boundary files
def _boundary_limit(name: str, what: str, limit: str, key: str) -> BoundaryError:
    return BoundaryError(
        f"{name}: {what} is more than the limit of {limit} (settings.INPUT_LIMITS['{key}']); "
        "split the boundaries by prefecture or county"
    )


def _check_features(name: str, n: int, lim: Limits) -> None:
    if n > lim.features:
        raise _boundary_limit(name, f"{n:,} features", f"{lim.features:,}", "features")


def _dbf_records(head: bytes) -> int | None:
    """The record count of a dBASE header (bytes 4–8, little-endian), None if too short."""
    return struct.unpack("<I", head[4:8])[0] if len(head) >= 8 else None


def _check_zip(name: str, archive: zipfile.ZipFile, lim: Limits) -> None:
    """Members, unpacked size and ratio from the central directory; the .dbf's record count."""
    infos = archive.infolist()
    if len(infos) > lim.members:
        raise _boundary_limit(
            name, f"an archive of {len(infos):,} files", f"{lim.members:,}", "boundary_members"
        )
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if unpacked > lim.boundary_bytes:
        raise _boundary_limit(
            name, f"unpacking to {_mb(unpacked)}", _mb(lim.boundary_bytes), "boundary_mb"
        )
    if unpacked > _RATIO_FLOOR and unpacked > lim.pack_ratio * max(packed, 1):
        raise BoundaryError(
            f"{name}: unpacks {unpacked / max(packed, 1):.0f} times its size, more than the "
            f"limit of {lim.pack_ratio:.0f} (settings.INPUT_LIMITS['pack_ratio']); "
            "this is not an ordinary zipped shapefile"
        )
    for info in infos:
        if info.filename.lower().endswith(".dbf"):
            with archive.open(info) as f:
                n = _dbf_records(f.read(32))
            if n is not None:
                _check_features(f"{name} ({info.filename})", n, lim)


def _gpkg_features(name: str, path: Path) -> dict[str, int]:
    """Features of each feature table of a GeoPackage, counted by SQLite (read-only)."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        ) as db:
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
                )
            ]
            counts = {}
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                counts[table] = int(db.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
            return counts
    except sqlite3.Error as e:
        raise BoundaryError(f"{name}: not a readable GeoPackage ({e})") from e


def _check_gpkg(name: str, path: Path, lim: Limits) -> None:
    for table, n in _gpkg_features(name, path).items():
        _check_features(f"{name} (layer {table})", n, lim)


def check_boundary_file(
    source: str | Path | tuple[str, bytes], limits: Limits | None = None
) -> None:
    """Refuse a boundary file past a limit before GDAL opens it or a .zip is unpacked.

    Checks its bytes; for a .zip, the number of files, their unpacked size and the packing
    ratio (from the central directory), and the record count of its shapefile's .dbf header;
    for a .gpkg, the features of each layer; for a .shp, its .dbf's record count.

    Parameters
    ----------
    source
        A path, or a ``(file name, bytes)`` upload.
    limits
        The limits (None: :func:`default_limits`).

    Raises
    ------
    BoundaryError
        One line naming the file and the limit passed (or an unreadable .zip / GeoPackage).
    """
    lim = limits or default_limits()
    if isinstance(source, tuple):
        name, data = source
        size = len(data)
    else:
        path = Path(source)
        name, data = path.name, None
        size = path.stat().st_size if path.is_file() else 0
    if size > lim.boundary_bytes:
        raise _boundary_limit(name, _mb(size), _mb(lim.boundary_bytes), "boundary_mb")
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data) if data is not None else path) as z:
                _check_zip(name, z, lim)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
            raise BoundaryError(f"{name}: not a readable .zip archive ({e})") from e
    elif suffix == ".gpkg" and data is not None:
        with tempfile.TemporaryDirectory(prefix="onemap-lim-") as tmp:
            copy = Path(tmp) / "upload.gpkg"
            copy.write_bytes(data)
            _check_gpkg(name, copy, lim)
    elif suffix == ".gpkg" and path.is_file():
        _check_gpkg(name, path, lim)
    elif suffix == ".shp" and data is None and path.with_suffix(".dbf").is_file():
        with path.with_suffix(".dbf").open("rb") as f:
            n = _dbf_records(f.read(32))
        if n is not None:
            _check_features(name, n, lim)
