"""The column map: header and category variants → schema names, and how labels are matched."""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    "nearest_fields",
    "normalise_label",
    "office_name",
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
    #: section → schema name → the header names it accepts, as written (for messages)
    accepted: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def names(self, section: str, field_name: str) -> tuple[str, ...]:
        """The header names ``field_name`` accepts in ``section``, as written in the map."""
        return tuple(self.accepted.get(section, {}).get(field_name, ()))


def office_name(field_name: str, cmap: ColumnMap | None = None, section: str = "projects") -> str:
    """The header an office gives ``field_name`` (``funds_planned`` → ``计划投资``).

    Parameters
    ----------
    field_name
        A schema name.
    cmap
        A column map (default the shipped one): its first accepted name is used for fields
        offices have no usual header for (registry, boundaries), from ``section`` or else the
        first section that has the field.
    section
        The map's section of ``field_name``.

    Returns
    -------
    str
        The office's header, else the first name the map accepts, else ``field_name``.
    """
    if field_name in FIELD_ZH:
        return FIELD_ZH[field_name]
    cmap = cmap if cmap is not None else _shipped_map()
    names = cmap.names(section, field_name) or next(
        (tuple(n[field_name]) for n in cmap.accepted.values() if n.get(field_name)), ()
    )
    return names[0] if names else field_name


@functools.cache
def _shipped_map() -> ColumnMap:
    return load_column_map()


def nearest_fields(
    label: str, cmap: ColumnMap, section: str = "projects", n: int = 3
) -> list[tuple[str, tuple[str, ...]]]:
    """The fields whose accepted header names are nearest to ``label`` (by characters).

    Parameters
    ----------
    label
        A header the map does not know, as written.
    cmap
        The column map.
    section
        The map's section (``projects``, ``registry``, ...).
    n
        At most this many fields.

    Returns
    -------
    list of (str, tuple of str)
        ``(schema name, accepted names)``, nearest first; empty when nothing is near.
    """
    accepted = cmap.accepted.get(section, {})
    by_variant = {
        normalise_label(v): f for f, names in accepted.items() for v in names if v.strip()
    }
    wanted = label_candidates(normalise_label(label))[-1]
    close = difflib.get_close_matches(wanted, list(by_variant), n=4 * n, cutoff=0.5)
    fields: list[str] = []
    for variant in close:
        if by_variant[variant] not in fields:
            fields.append(by_variant[variant])
    return [(f, tuple(accepted[f])) for f in fields[:n]]


def load_column_map(
    path: str | os.PathLike[str] | None = None,
    *,
    aliases: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> ColumnMap:
    """Read the header mapping file (default ``data/column_map.toml``), with ``aliases`` on top.

    Parameters
    ----------
    path
        The TOML file (default ``data/column_map.toml``).
    aliases
        Section → schema name → header names added by the province (``layers.ingest.aliases``,
        kept next to the store); a name the file already gives another field stays with it.

    Returns
    -------
    ColumnMap
        The normalised lookups and the accepted names as written.

    Raises
    ------
    LedgerError
        The file cannot be read, or lists a variant twice in a section (naming both entries).
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
    accepted: dict[str, dict[str, tuple[str, ...]]] = {}
    for section, entries in raw.items():
        if section == "values":
            continue
        sections[section] = _invert(path, section, entries)
        accepted[section] = {
            name: (variants,) if isinstance(variants, str) else tuple(variants)
            for name, variants in entries.items()
        }
        for name in entries:  # the schema name itself always maps
            sections[section].setdefault(normalise_label(name), name)
    for section, entries in (aliases or {}).items():
        lookup = sections.setdefault(section, {})
        names = accepted.setdefault(section, {})
        for name, headers in entries.items():
            for header in headers:
                if lookup.setdefault(normalise_label(header), name) == name:
                    names[name] = (*names.get(name, ()), header)
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
    return ColumnMap(sections, values, str(path), accepted)


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
