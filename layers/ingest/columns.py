"""The column map: header and category variants → schema names, and how labels are matched."""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layers import schema as S
from layers.errors import LedgerError
from layers.settings import DATA_DIR

__all__ = [
    "DEFAULT_COLUMN_MAP",
    "FIELD_ZH",
    "OFFICE_COLUMNS",
    "ColumnMap",
    "label_candidates",
    "load_column_map",
    "match_label",
    "normalise_label",
    "unit_of",
]

DEFAULT_COLUMN_MAP: Path = DATA_DIR / "column_map.toml"

#: the columns of a county office's ledger, in their usual order: header text → schema field
OFFICE_COLUMNS: tuple[tuple[str, str | None], ...] = (
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
#: schema field → the header offices usually give it (names a column a sheet lacks)
FIELD_ZH: dict[str, str] = {f: zh for zh, f in OFFICE_COLUMNS if f is not None}

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")


def normalise_label(value: object) -> str:
    """Normalise a header or category text: NFKC (full-width → half-width), no spaces, lower."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    s = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"[\s*※]+", "", s).lower()


def label_candidates(label: str) -> list[str]:
    """The label, then the label without bracketed parts (units such as ``(万元)``)."""
    out = [label]
    bare = _BRACKETS.sub("", label)
    if bare and bare != label:
        out.append(bare)
    return out


def unit_of(text: str) -> str | None:
    """The amount unit (``"万元"`` or ``"元"``) a normalised header text names, else None."""
    if "万元" in text:
        return "万元"
    if re.search(r"(?<!万)元", text):
        return "元"
    return None


def match_label(label: str, lookup: Mapping[str, str]) -> str | None:
    """Return the schema name ``lookup`` gives a header text (as written), or None.

    Parameters
    ----------
    label
        Header text as the file has it; normalised here, then tried without brackets.
    lookup
        Normalised variants → schema names (a section of a ``ColumnMap``).

    Returns
    -------
    str or None
        The schema name, or None when no variant matches.
    """
    for cand in label_candidates(normalise_label(label)):
        if cand in lookup:
            return lookup[cand]
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
