"""Bounded input: files past a limit are refused before parsing, with one line naming the file
and the limit, fast and in little memory; files within the limits read as before."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.errors import LedgerError
from layers.ingest import limits
from layers.ingest.excel import read_sheets
from layers.ingest.limits import Limits
from layers.ingest.template import office_ledger_workbook
from tests.conftest import make_projects

SMALL = Limits(
    file_bytes=1 << 20, unpacked_bytes=4 << 20, pack_ratio=100, rows=50, columns=10, cells=200
)


def bomb_xlsx(rows: int, *, dimension: str = "A1") -> bytes:
    """A workbook whose one sheet claims ``dimension`` and holds ``rows`` one-cell rows."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        body = b"<row><c><v>0</v></c></row>" * rows
        z.writestr(
            "xl/worksheets/sheet1.xml",
            b'<worksheet><dimension ref="%s"/><sheetData>' % dimension.encode()
            + body
            + b"</sheetData></worksheet>",
        )
    return buf.getvalue()


def test_a_zip_bomb_is_refused_from_the_headers_in_little_memory() -> None:
    data = bomb_xlsx(20_000_000)  # ~1 MB that unpacks to ~500 MB
    assert len(data) < 3 << 20
    tracemalloc.start()
    with pytest.raises(
        LedgerError,
        match=r"^bomb\.xlsx: unpacks to \d+ MB, more than the limit "
        r"of 200 MB \(settings\.INPUT_LIMITS\['unpacked_mb'\]\)",
    ):
        read_sheets(("bomb.xlsx", data))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 << 20


def test_a_sheet_past_the_row_limit_is_refused_by_scanning_it() -> None:
    data = bomb_xlsx(60)  # the dimension says one cell: the scan counts the rows
    with pytest.raises(
        LedgerError,
        match=r"^t\.xlsx \(sheet1\.xml\): .*rows is more than the "
        r"limit of 50 \(settings\.INPUT_LIMITS\['rows'\]\)",
    ):
        limits.check_xlsx("t.xlsx", data, SMALL)
    limits.check_xlsx("t.xlsx", bomb_xlsx(40), SMALL)


@pytest.mark.parametrize(
    ("dimension", "what"),
    [
        ("A1:A51", "51 rows"),
        ("A1:K2", "11 columns"),
        ("A1:J21", "210 cells"),
        ("B2:XFD1048576", "rows"),
    ],
)
def test_the_sheet_dimension_is_checked_first(dimension: str, what: str) -> None:
    with pytest.raises(LedgerError, match=rf"dimension of .*{what}"):
        limits.check_xlsx("d.xlsx", bomb_xlsx(1, dimension=dimension), SMALL)


def test_a_high_compression_ratio_is_refused() -> None:
    lim = Limits(
        file_bytes=1 << 30,
        unpacked_bytes=1 << 30,
        pack_ratio=100,
        rows=10**9,
        columns=10**6,
        cells=10**12,
    )
    with pytest.raises(
        LedgerError, match=r"unpacks \d+ times its size, more than the limit of 100"
    ):
        limits.check_xlsx("r.xlsx", bomb_xlsx(1_000_000), lim)


def test_a_wide_csv_and_a_broken_csv_get_one_line() -> None:
    wide = (",".join(f"c{i}" for i in range(50_000)) + "\n1,2\n").encode()
    with pytest.raises(
        LedgerError,
        match=r"^wide\.csv: its header line of 50,000 columns is more "
        r"than the limit of 256",
    ):
        read_sheets(("wide.csv", wide))
    broken = "项目编号,项目名称\nP1,一\r二\n".encode()
    with pytest.raises(LedgerError, match=r"^broken\.csv: broken CSV at line 2"):
        read_sheets(("broken.csv", broken))
    with pytest.raises(LedgerError, match=r"^rows\.csv: more than 50 rows"):
        limits.check_csv("rows.csv", "a,b\n" * 60, SMALL)
    with pytest.raises(LedgerError, match=r"^ragged\.csv line 2: 11 columns"):
        limits.check_csv("ragged.csv", "a,b\n" + ",".join("x" * 11) + "\n", SMALL)


def test_files_of_the_wrong_kind_and_size(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"^p\.xlsx: not an \.xlsx workbook \(no zip inside\)"):
        read_sheets(("p.xlsx", b"\x89PNG\r\n\x1a\n" + b"0" * 100))
    with pytest.raises(LedgerError, match=r"^o\.xlsx: an old Excel 97–2003"):
        read_sheets(("o.xlsx", b"\xd0\xcf\x11\xe0" + b"0" * 100))
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate((50 << 20) + 1)  # sparse: checked from the file's size, never read
    with pytest.raises(LedgerError, match=r"^big\.csv: 50 MB is more than the limit of 50 MB"):
        read_sheets(big)


def test_a_real_ledger_reads_within_the_default_limits(tmp_path: Path) -> None:
    data = office_ledger_workbook(make_projects())
    limits.check_xlsx("ledger.xlsx", data)
    assert read_sheets(("ledger.xlsx", data))


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 80), cols=st.integers(1, 14))
def test_csv_limits_hold_exactly(rows: int, cols: int) -> None:
    text = "\n".join(",".join(["x"] * cols) for _ in range(rows)) + "\n"
    ok = rows <= SMALL.rows and cols <= SMALL.columns and rows * cols <= SMALL.cells
    if ok:
        assert len(limits.check_csv("p.csv", text, SMALL)) == rows
    else:
        with pytest.raises(LedgerError, match=r"^p\.csv.*is more than the limit of"):
            limits.check_csv("p.csv", text, SMALL)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 120))
def test_xlsx_row_limit_holds_exactly(rows: int) -> None:
    data = bomb_xlsx(rows)
    if rows <= SMALL.rows:
        limits.check_xlsx("p.xlsx", data, SMALL)
    else:
        with pytest.raises(LedgerError, match=r"rows is more than the limit of 50"):
            limits.check_xlsx("p.xlsx", data, SMALL)


def test_streamlit_upload_limit_matches_the_file_limit() -> None:
    config = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {limits.default_limits().file_bytes >> 20}" in config
