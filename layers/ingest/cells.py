"""Read cell values a column at a time: text, codes, numbers, years, categories and dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers import schema as S
from layers.ingest.columns import normalise_label

__all__ = [
    "MAX_COUNT",
    "Codes",
    "as_text",
    "cell_texts",
    "code_level",
    "date_input",
    "first_text",
    "fullwidth",
    "is_number",
    "nonempty",
    "parse_category",
    "parse_codes",
    "parse_numbers",
    "parse_year",
]

#: the largest head count a ledger or registry cell may give for one village or project
#: (Yunnan has 47 million people: a bigger number is a typing error, not a count)
MAX_COUNT = 1_000_000

_SCI = r"^(?P<a>\d)(?:\.(?P<b>\d+))?[eE]\+?(?P<e>\d{1,2})$"


def is_number(values: pd.Series) -> pd.Series:
    """True where a cell holds a number (int or float), not text."""
    kinds = values.map(type)
    return kinds.isin([int, float, np.int64, np.float64, np.int32, np.float32])


def as_text(values: pd.Series) -> pd.Series:
    """Cell values as stripped NFKC text (numbers without a trailing ``.0``); NaN where empty."""
    out = pd.Series(np.nan, index=values.index, dtype=object)
    num = is_number(values)
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


def fullwidth(values: pd.Series) -> pd.Series:
    """True where a text cell held full-width digits or letters (changed by NFKC)."""
    s = values.where(values.map(type).eq(str).to_numpy())
    raw = s.dropna().astype(str)
    changed = raw.str.contains(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff0e]", regex=True)
    return changed.reindex(values.index, fill_value=False)


@dataclass
class Codes:
    """Administrative codes read from a column, with masks of what went wrong."""

    codes: pd.Series  # 12-digit strings, NaN where empty or invalid
    sci_fixed: pd.Series
    sci_lost: pd.Series
    invalid: pd.Series


def parse_codes(values: pd.Series, *, lengths: tuple[int, ...]) -> Codes:
    """Read administrative codes: numbers, digit text, ``'``-prefixed text, scientific notation.

    A scientific-notation text keeps the code only when it spells every digit
    (``5.33321100201E+11``); ``5.33E+11`` has lost digits and is flagged ``sci_lost``.

    Parameters
    ----------
    values
        The column's cells.
    lengths
        Digit counts accepted (e.g. ``(6, 12)`` for counties); codes are right-padded to 12.

    Returns
    -------
    Codes
        The 12-digit codes and the ``sci_fixed``, ``sci_lost`` and ``invalid`` masks.
    """
    text = as_text(values)
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
    return Codes(codes, sci_fixed, sci_lost, invalid)


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Read amounts/counts typed as numbers or text (``1,234.5``, ``12万元``, ``3500元``).

    Returns (numbers, unit named in the cell or NaN, bad mask).
    """
    text = as_text(values)
    t = text.dropna().astype(str).str.replace(r"[,\s]", "", regex=True)
    unit = t.str.extract(r"(万元|元)$")[0]
    t = t.str.replace(r"(万元|元|户|人|个)$", "", regex=True)
    n = pd.to_numeric(t.where(t.str.fullmatch(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")), "coerce")
    nums = pd.Series(np.nan, index=values.index, dtype="float64")
    nums[n.index] = n
    bad = (n.isna()).reindex(values.index, fill_value=False)
    return nums, unit.reindex(values.index), bad


def parse_year(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read years (``2019``, ``2019年``, ``2019年度``). Returns (years, bad mask)."""
    text = as_text(values)
    t = text.dropna().astype(str)
    y = pd.to_numeric(t.str.extract(r"^((?:19|20)\d\d)(?:年度?|年)?$")[0], errors="coerce")
    years = pd.Series(np.nan, index=values.index, dtype="float64")
    years[y.index] = y
    bad = y.isna().reindex(values.index, fill_value=False)
    return years, bad


def parse_category(values: pd.Series, lookup: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Map category texts through ``lookup`` (normalised variants → codes).

    Parameters
    ----------
    values
        The column's cells.
    lookup
        Normalised variants → schema values (a ``ColumnMap.values`` entry).

    Returns
    -------
    tuple of Series
        The schema values (NaN where empty or unknown) and the mask of unknown texts.
    """
    text = as_text(values).dropna()
    uniques = pd.unique(text.to_numpy())  # few distinct categories: normalise each once
    table = {u: lookup.get(normalise_label(u)) for u in uniques}
    mapped = text.map(table)
    out = pd.Series(np.nan, index=values.index, dtype=object)
    out[mapped.index] = mapped
    bad = mapped.isna().reindex(values.index, fill_value=False)
    return out, bad


def date_input(values: pd.Series) -> pd.Series:
    """Dates as typed: datetimes and serial numbers kept, text NFKC-normalised."""
    is_text = values.map(type).eq(str)
    out = values.copy().astype(object)
    if is_text.any():
        out[is_text] = values[is_text].astype(str).str.normalize("NFKC").str.strip()
    return out


def code_level(codes: pd.Series) -> pd.Series:
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


# --- whole grids of cells -----------------------------------------------------------------------


def _cell_filled(v: object) -> bool:
    if v is None or (isinstance(v, float) and v != v):
        return False
    return not isinstance(v, str) or v.strip() != ""


def _cell_str(v: object) -> str:
    return v.strip() if isinstance(v, str) else "" if not _cell_filled(v) else str(v)


#: elementwise over object arrays (one C-level pass; a sheet has a few thousand cells)
_FILLED = np.frompyfunc(_cell_filled, 1, 1)
_STR = np.frompyfunc(_cell_str, 1, 1)


def cell_texts(arr: np.ndarray) -> np.ndarray:
    """Each cell of an object array as stripped text, "" where blank (an object array)."""
    return _STR(arr)


def nonempty(data: pd.DataFrame) -> np.ndarray:
    """Boolean array: True where a cell holds something other than blanks."""
    arr = data.to_numpy(dtype=object)
    return _FILLED(arr).astype(bool) if arr.size else np.zeros(arr.shape, dtype=bool)


def first_text(arr: np.ndarray) -> np.ndarray:
    """The first non-blank cell of each row of an object array, as text ("" if none)."""
    if arr.size == 0:
        return np.full(arr.shape[0], "", dtype=object)
    text = _STR(arr).astype(object)
    filled = text != ""
    first = filled.argmax(axis=1)
    out = text[np.arange(len(text)), first]
    return np.where(filled.any(axis=1), out, "")
