"""Headers the column map does not know: what they are, which fields they are nearest to.

A clerk whose ledger says 「投资金额」 where the map expects 计划投资 gets, in the report (or in
the error when no ledger header is found at all), the column as written, its letter and the
accepted names of the nearest fields; the 数据导入 page offers to add the header as an alias
(``layers.ingest.aliases``). The messages here are Chinese, the report's language; the page
renders the same facts in the interface language from :class:`UnknownColumn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from layers.errors import LedgerError
from layers.ingest.cells import cell_texts
from layers.ingest.columns import (
    ColumnMap,
    match_label,
    nearest_fields,
    normalise_label,
    office_name,
)
from layers.ingest.excel import RawSheet, column_letter
from layers.ingest.header import Header

__all__ = [
    "NOT_DATA",
    "UNKNOWN_COLUMNS",
    "HeaderNotFound",
    "UnknownColumn",
    "header_not_found",
    "likely_header",
    "unknown_columns",
    "unknown_frame",
    "unknown_text_zh",
]

_SCAN_ROWS = 20
#: headers of columns that never hold data to import (a running number, remarks): not reported
NOT_DATA: frozenset[str] = frozenset({"序号", "序", "no", "no.", "备注", "说明", "附注"})
_SHOWN_NAMES = 6
#: columns of ``ValidationReport.unknown``
UNKNOWN_COLUMNS: tuple[str, ...] = ("file", "sheet", "letter", "header", "section", "nearest")


@dataclass(frozen=True)
class UnknownColumn:
    """A header the column map does not know: as written, its letter, the nearest fields
    (schema name, accepted names), in the map's ``section``."""

    header: str
    letter: str
    nearest: tuple[tuple[str, tuple[str, ...]], ...]
    section: str = "projects"


class HeaderNotFound(LedgerError):
    """No sheet of a file has a ledger header: ``unknown`` lists the headers of the likeliest
    row that the map does not know, ``missing`` the required fields with their accepted names."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        unknown: Sequence[UnknownColumn],
        missing: Sequence[tuple[str, tuple[str, ...]]],
    ) -> None:
        super().__init__(message)
        self.file = file
        self.unknown = list(unknown)
        self.missing = list(missing)


def _names(field: str, names: tuple[str, ...], cmap: ColumnMap, section: str) -> str:
    names = tuple(n for n in names if n != field)  # the schema name is for programmers
    shown = "、".join(names[:_SHOWN_NAMES]) + ("等" if len(names) > _SHOWN_NAMES else "")
    return f"{office_name(field, cmap, section)}（可写作：{shown}）"


def unknown_text_zh(col: UnknownColumn, cmap: ColumnMap) -> str:
    """The report's problem text for ``col``: not imported, and the nearest fields' names.

    Parameters
    ----------
    col
        The unknown column.
    cmap
        The column map (office names of the fields).

    Returns
    -------
    str
        E.g. ``未识别的列「投资金额」，未导入。相近的字段：计划投资（可写作：计划投资、…）``.
    """
    near = "；".join(_names(f, names, cmap, col.section) for f, names in col.nearest)
    tail = f"相近的字段：{near}" if near else "没有相近的字段"
    return (
        f"未识别的列「{col.header}」，未导入。{tail}。如这一列就是其中之一，"
        "请在「数据导入」页添加表头别名后重新检查。"
    )


def unknown_columns(
    header: Header, cmap: ColumnMap, section: str = "projects"
) -> list[UnknownColumn]:
    """The columns of ``header`` the map does not know (duplicates of known fields excluded).

    Parameters
    ----------
    header
        A sheet's header (``find_header``).
    cmap
        The column map.
    section
        Its section.

    Returns
    -------
    list of UnknownColumn
        In column order.
    """
    return [
        UnknownColumn(text, column_letter(c), tuple(nearest_fields(text, cmap, section)), section)
        for c, text in sorted(header.labels.items())
        if c not in header.fields
        and c not in header.duplicates
        and text.strip()
        and normalise_label(text) not in NOT_DATA
    ]


def unknown_frame(sheet: RawSheet, found: Sequence[UnknownColumn]) -> pd.DataFrame:
    """``ValidationReport.unknown`` rows for one sheet (``nearest``: schema names, comma-joined).

    Parameters
    ----------
    sheet
        The sheet read.
    found
        Its unknown columns.

    Returns
    -------
    DataFrame
        One row per column with :data:`UNKNOWN_COLUMNS`.
    """
    return pd.DataFrame(
        {
            "file": [sheet.file] * len(found),
            "sheet": [sheet.sheet] * len(found),
            "letter": [c.letter for c in found],
            "header": [c.header for c in found],
            "section": [c.section for c in found],
            "nearest": [",".join(f for f, _ in c.nearest) for c in found],
        },
        columns=list(UNKNOWN_COLUMNS),
    )


def likely_header(sheet: RawSheet) -> dict[int, str]:
    """The row of the first 20 with the most filled cells: where a header most likely is.

    Parameters
    ----------
    sheet
        The sheet.

    Returns
    -------
    dict of int to str
        Column number → text of that row (filled cells only); empty for an empty sheet.
    """
    top = sheet.cells.iloc[:_SCAN_ROWS]
    if top.empty:
        return {}
    grid = cell_texts(top.to_numpy(dtype=object))
    filled = (grid != "").sum(axis=1)
    i = int(filled.argmax())
    return {c: t for c, t in zip(top.columns, grid[i], strict=True) if t}


def header_not_found(
    file: str, sheet: RawSheet, cmap: ColumnMap, required: Sequence[str]
) -> HeaderNotFound:
    """The error for a file none of whose sheets has a ledger header (raise it).

    Parameters
    ----------
    file
        The file's name.
    sheet
        Its first sheet (whose likeliest header row is described).
    cmap
        The column map.
    required
        Schema names a ledger header must have (``project_id``).

    Returns
    -------
    HeaderNotFound
        With a Chinese message naming the unknown headers and the accepted names.
    """
    lookup = cmap.sections["projects"]
    labels = likely_header(sheet)
    known = {c: f for c, t in labels.items() if (f := match_label(t, lookup))}
    unknown = [
        UnknownColumn(t, column_letter(c), tuple(nearest_fields(t, cmap)))
        for c, t in sorted(labels.items())
        if c not in known
    ]
    missing = [(f, cmap.names("projects", f)) for f in required if f not in known.values()]
    parts = [f"{file}：没有找到项目库表头（需要「项目编号」列和至少一个其他已知列）。"]
    if missing:
        parts.append(
            "缺少：" + "；".join(_names(f, n, cmap, "projects") for f, n in missing) + "。"
        )
    for col in unknown[:8]:
        near = "；".join(_names(f, n, cmap, "projects") for f, n in col.nearest)
        parts.append(
            f"未识别的列「{col.header}」（{col.letter}列）"
            + (f"，相近：{near}" if near else "")
            + "。"
        )
    parts.append("可在「数据导入」页为这些列添加表头别名，或按模板修改表头。")
    return HeaderNotFound("".join(parts), file=file, unknown=unknown, missing=missing)
