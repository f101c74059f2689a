"""The validation report: one row per problem found, one row per file and sheet read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.escape import escape_formulas
from layers.errors import LedgerError
from layers.ingest.columns import FIELD_ZH, office_name
from layers.ingest.excel import RawSheet
from layers.ingest.header import Header

__all__ = [
    "ACTION",
    "ACTIONS",
    "COLUMN",
    "FILE",
    "MASK",
    "PROBLEM",
    "REPORT_COLUMNS",
    "REPORT_LABELS_ZH",
    "REPORT_WORDS_ZH",
    "ROW",
    "SHEET",
    "SOURCE_COLUMNS",
    "SOURCE_LABELS_ZH",
    "VALUE",
    "BatchRows",
    "ImportResult",
    "SheetRows",
    "ValidationReport",
    "absent_label",
    "empty_problems",
    "escape_formulas",
    "no_sources",
    "shown",
    "source_row",
]

FILE, SHEET, ROW, COLUMN, VALUE, PROBLEM, ACTION = (
    "file",
    "sheet",
    "row",
    "column",
    "value",
    "problem",
    "action",
)
REPORT_COLUMNS: tuple[str, ...] = (FILE, SHEET, ROW, COLUMN, VALUE, PROBLEM, ACTION)
REPORT_LABELS_ZH: dict[str, str] = {
    FILE: "文件",
    SHEET: "工作表",
    ROW: "行",
    COLUMN: "列",
    VALUE: "值",
    PROBLEM: "问题",
    ACTION: "处理",
}
#: what was done about a problem
ACTIONS: dict[str, str] = {
    "fixed": "已修正",
    "cleared": "已置空",
    "rejected": "已拒收",
    "warning": "提示",
}
SOURCE_COLUMNS: tuple[str, ...] = (
    FILE,
    SHEET,
    "kind",
    "header_rows",
    "encoding",
    "unit",
    "columns",
    "rows_in",
    "accepted",
    "rejected",
    "notes",
)
SOURCE_LABELS_ZH: dict[str, str] = {
    FILE: "文件",
    SHEET: "工作表",
    "kind": "类型",
    "header_rows": "表头行",
    "encoding": "编码",
    "unit": "金额单位",
    "columns": "列映射",
    "rows_in": "读入行数",
    "accepted": "接收",
    "rejected": "拒收",
    "notes": "说明",
}
#: every word of the report's files in Chinese: headers, actions, sheet names, the total row
REPORT_WORDS_ZH: dict[str, str] = {
    **REPORT_LABELS_ZH,
    **SOURCE_LABELS_ZH,
    **ACTIONS,
    "total": "合计",
    "summary_sheet": "概况",
    "problems_sheet": "问题",
}
_VALUE_MAX = 60
#: shown instead of a value that may be personal
MASK = "***"


def empty_problems() -> pd.DataFrame:
    """A problems table without rows (``REPORT_COLUMNS``, ``row`` as Int64)."""
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in REPORT_COLUMNS})
    df[ROW] = df[ROW].astype("Int64")
    return df


def no_sources() -> pd.DataFrame:
    """A per-file summary without rows (``SOURCE_COLUMNS``)."""
    return pd.DataFrame(columns=list(SOURCE_COLUMNS))


@dataclass
class ValidationReport:
    """What an import understood and every problem it found.

    ``problems`` has one row per problem (``REPORT_COLUMNS``); ``sources`` one row per file and
    sheet read, with the header rows, encoding, amount unit, column mapping and row counts.
    """

    problems: pd.DataFrame = field(default_factory=empty_problems)
    sources: pd.DataFrame = field(default_factory=no_sources)
    #: headers the column map does not know (``ingest.unknown.UNKNOWN_COLUMNS``), per sheet
    unknown: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rows_in(self) -> int:
        """Data rows read (blank rows excluded; totals and note rows included, as rejected)."""
        return int(pd.to_numeric(self.sources["rows_in"]).sum())

    @property
    def accepted(self) -> int:
        """Rows imported."""
        return int(pd.to_numeric(self.sources["accepted"]).sum())

    @property
    def rejected(self) -> int:
        """Rows not imported (each named in ``problems`` with action ``rejected``)."""
        return int(pd.to_numeric(self.sources["rejected"]).sum())

    def counts(self) -> dict[str, int]:
        """Rows read, accepted and rejected; problems in all and per action."""
        return {
            "rows_in": self.rows_in,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "problems": len(self.problems),
            **{a: self._count(a) for a in ACTIONS},
        }

    def summary(self) -> str:
        """One line in Chinese: rows in = accepted + rejected, and the problem count."""
        return (
            f"读入 {self.rows_in} 行 = 接收 {self.accepted} 行 + 拒收 {self.rejected} 行；"
            f"问题 {len(self.problems)} 条"
            f"（修正 {self._count('fixed')}，置空 {self._count('cleared')}，"
            f"拒收 {self._count('rejected')}，提示 {self._count('warning')}）"
        )

    def _count(self, action: str) -> int:
        return int((self.problems[ACTION] == action).sum())

    def extend(self, other: ValidationReport) -> ValidationReport:
        """Return a report holding this report's rows followed by ``other``'s."""
        frames = [f for f in (self.problems, other.problems) if len(f)]
        problems = pd.concat(frames, ignore_index=True) if frames else empty_problems()
        srcs = [f for f in (self.sources, other.sources) if len(f)]
        sources = pd.concat(srcs, ignore_index=True) if srcs else no_sources()
        unknown = [f for f in (self.unknown, other.unknown) if len(f)]
        return ValidationReport(
            problems, sources, pd.concat(unknown, ignore_index=True) if unknown else pd.DataFrame()
        )

    def table_zh(self, words: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The problems with the headers and actions of ``words`` (default Chinese), as shown.

        ``words`` maps each of ``REPORT_COLUMNS`` and ``ACTIONS`` to its text (see
        :data:`REPORT_WORDS_ZH`); the page passes the interface language's.
        """
        w = words if words is not None else REPORT_WORDS_ZH
        out = self.problems.copy()
        out[ACTION] = out[ACTION].map({a: w[a] for a in ACTIONS}).fillna(out[ACTION])
        return out.rename(columns={c: w[c] for c in REPORT_COLUMNS})

    def sources_zh(self, words: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The per-file summary with the headers of ``words`` (default Chinese)."""
        w = words if words is not None else REPORT_WORDS_ZH
        return self.sources.rename(columns={c: w[c] for c in SOURCE_COLUMNS})

    def write(
        self, path: str | os.PathLike[str], words: Mapping[str, str] | None = None
    ) -> list[Path]:
        """Write the report as XLSX (sheets 概况, 问题) and CSV (UTF-8 with BOM, opens in Excel).

        ``path`` may end in ``.xlsx`` or ``.csv`` or have no suffix; both files are written next
        to each other (``report.xlsx``, ``report.csv``; the summary goes to ``report_概况.csv``).
        Cells starting with ``= + - @`` are escaped so spreadsheets do not run them. ``words``
        (default :data:`REPORT_WORDS_ZH`) gives the headers, actions, sheet names, the total
        row's label and its summary line, so the page writes the report in its language.
        """
        w = words if words is not None else {**REPORT_WORDS_ZH, "summary_line": self.summary()}
        base = Path(path)
        if base.suffix.lower() in (".xlsx", ".csv"):
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        total = pd.DataFrame(
            {
                FILE: [w["total"]],
                "rows_in": [self.rows_in],
                "accepted": [self.accepted],
                "rejected": [self.rejected],
                "notes": [w.get("summary_line", self.summary())],
            }
        )
        sources = pd.concat([self.sources, total], ignore_index=True)
        sources = escape_formulas(sources.rename(columns={c: w[c] for c in SOURCE_COLUMNS}))
        problems = escape_formulas(self.table_zh(w))
        xlsx = base.with_suffix(".xlsx")
        csv = base.with_suffix(".csv")
        summary_csv = base.with_name(f"{base.name}_{w['summary_sheet']}.csv")
        try:
            with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
                sources.to_excel(writer, sheet_name=w["summary_sheet"], index=False)
                problems.to_excel(writer, sheet_name=w["problems_sheet"], index=False)
            problems.to_csv(csv, index=False, encoding="utf-8-sig")
            sources.to_csv(summary_csv, index=False, encoding="utf-8-sig")
        except OSError as e:
            raise LedgerError(
                f"cannot write the validation report to {base}: {e.strerror}; "
                "choose another --report path"
            ) from e
        return [xlsx, csv, summary_csv]


@dataclass(frozen=True)
class ImportResult:
    """Accepted rows (``table``) and the report of how they were read.

    ``origin`` (ledgers) gives each table row's file, sheet and Excel row, aligned with ``table``.
    """

    table: pd.DataFrame
    report: ValidationReport
    origin: pd.DataFrame | None = None


def shown(values: pd.Series) -> pd.Series:
    """Cell values as the report shows them: text, cut to 60 characters."""
    t = values.map(lambda v: "" if v is None else str(v))
    return t.str.slice(0, _VALUE_MAX)


def absent_label(field_name: str) -> str:
    """Report label for a column the sheet does not have."""
    return f"（无此列：{FIELD_ZH.get(field_name, field_name)}）"


def _as_problems(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return empty_problems()
    out = pd.concat(frames, ignore_index=True)
    out[ROW] = out[ROW].astype("Int64")
    return out.astype({c: "str" for c in REPORT_COLUMNS if c != ROW})


class SheetRows:
    """Collects report rows for one sheet, vectorised over masks."""

    def __init__(self, sheet: RawSheet, header: Header, data: pd.DataFrame) -> None:
        self.sheet = sheet
        self.header = header
        self.data = data
        self.frames: list[pd.DataFrame] = []
        self.reject = pd.Series(False, index=data.index)
        self.col_of = {f: c for c, f in header.fields.items()}

    def add(
        self,
        mask: pd.Series,
        field_or_col: str | int | None,
        problem: str | pd.Series,
        action: str,
        *,
        value: pd.Series | str | None = None,
    ) -> None:
        """Add one row per row of ``mask``; ``rejected`` rows are remembered in ``reject``.

        Parameters
        ----------
        mask
            The rows with the problem.
        field_or_col
            The schema field or column number the problem is in (None: the whole row).
        problem
            The problem, one text or one per row.
        action
            ``fixed``, ``cleared``, ``rejected`` or ``warning``.
        value
            What to show as the value (default: the cell).
        """
        mask = mask.reindex(self.data.index, fill_value=False).astype(bool)
        if not mask.any():
            return
        idx = self.data.index[mask.to_numpy()]
        if isinstance(field_or_col, int | np.integer):
            col: int | None = int(field_or_col)
        elif field_or_col is None:
            col = None
        else:
            col = self.col_of.get(field_or_col)
        column = self.header.label(col) if col is not None else ""
        if value is None:
            text = shown(self.data.loc[idx, col]) if col is not None else ""
        elif isinstance(value, str):
            text = value
        else:
            text = value.loc[idx].astype(str).str.slice(0, _VALUE_MAX)
        frame = pd.DataFrame(
            {
                FILE: self.sheet.file,
                SHEET: self.sheet.sheet,
                ROW: pd.array(idx, dtype="Int64"),
                COLUMN: column,
                VALUE: text,
                PROBLEM: problem.loc[idx] if isinstance(problem, pd.Series) else problem,
                ACTION: action,
            }
        )
        self.frames.append(frame)
        if action == "rejected":
            self.reject |= mask

    def problems(self) -> pd.DataFrame:
        """The rows collected, as a problems table."""
        return _as_problems(self.frames)


class BatchRows:
    """Collects report rows for a batch of sheets stacked into one frame (vectorised).

    The batch has ``_file``, ``_sheet`` and ``_row`` columns; ``labels`` gives each field's
    column label per row (sheets differ).
    """

    def __init__(self, batch: pd.DataFrame, labels: Mapping[str, pd.Series]) -> None:
        self.batch = batch
        self.labels = labels
        self.frames: list[pd.DataFrame] = []
        self.reject = pd.Series(False, index=batch.index)

    def add(
        self,
        mask: pd.Series,
        field_name: str,
        problem: str | pd.Series,
        action: str,
        *,
        value: pd.Series | None = None,
    ) -> None:
        """Add one row per row of ``mask``; ``rejected`` rows are remembered in ``reject``.

        Parameters
        ----------
        mask
            The rows with the problem.
        field_name
            The schema field the problem is in (``_first``: the sheet's first column).
        problem
            The problem, one text or one per row.
        action
            ``fixed``, ``cleared``, ``rejected`` or ``warning``.
        value
            What to show as the value (default: the field's cell).
        """
        mask = mask.reindex(self.batch.index, fill_value=False).astype(bool)
        if not mask.any():
            return
        m = mask.to_numpy()
        sub = self.batch[m]
        if value is None:
            value = self.batch.get(field_name)
        text = shown(value[m]) if value is not None else ""
        if field_name in self.labels:
            column = self.labels[field_name][m]
        else:
            column = absent_label(field_name)
        self.frames.append(
            pd.DataFrame(
                {
                    FILE: sub["_file"].to_numpy(),
                    SHEET: sub["_sheet"].to_numpy(),
                    ROW: pd.array(sub["_row"].to_numpy(), dtype="Int64"),
                    COLUMN: np.asarray(column, dtype=object)
                    if not isinstance(column, str)
                    else column,
                    VALUE: np.asarray(text, dtype=object) if not isinstance(text, str) else "",
                    PROBLEM: problem.reindex(self.batch.index)[m].to_numpy()
                    if isinstance(problem, pd.Series)
                    else problem,
                    ACTION: action,
                }
            )
        )
        if action == "rejected":
            self.reject |= mask

    def problems(self) -> pd.DataFrame:
        """The rows collected, as a problems table."""
        return _as_problems(self.frames)


def source_row(
    sheet: RawSheet,
    header: Header,
    kind: str,
    notes: Mapping[str, str],
    counts: tuple[int, int, int],
) -> pd.DataFrame:
    """One ``sources`` row: what was understood of a sheet and how many rows it gave.

    Parameters
    ----------
    sheet
        The sheet read.
    header
        Its header (rows, and the column → field mapping shown).
    kind
        What the sheet is, in Chinese (项目库, 贫困村台账, …).
    notes
        ``unit`` (the amount units understood) and any other notes to show.
    counts
        Rows read, accepted and rejected.

    Returns
    -------
    DataFrame
        One row with ``SOURCE_COLUMNS``.
    """
    rows_in, accepted, rejected = counts
    mapping = "; ".join(
        f"{header.label(c)}→{office_name(f)}" for c, f in sorted(header.fields.items())
    )
    ignored = [header.label(c) for c in sorted(header.labels) if c not in header.fields]
    if ignored:
        mapping += "; 未使用: " + ", ".join(ignored)
    return pd.DataFrame(
        {
            FILE: [sheet.file],
            SHEET: [sheet.sheet],
            "kind": [kind],
            "header_rows": [
                "-".join(map(str, (header.rows[0], header.rows[-1])))
                if len(header.rows) > 1
                else str(header.rows[0])
            ],
            "encoding": [sheet.encoding or ("xlsx" if sheet.sheet else "")],
            "unit": [notes.get("unit", "")],
            "columns": [mapping],
            "rows_in": [rows_in],
            "accepted": [accepted],
            "rejected": [rejected],
            "notes": ["; ".join(v for k, v in notes.items() if k != "unit")],
        }
    )
