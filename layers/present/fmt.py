"""Chinese number formatting for the interface: 万 and 亿, percentages, funds in 万元.

Plain functions on scalars (for KPI cards and captions) and vectorised ``*_series`` twins
(for chart labels and display tables), and the charts' axis label expressions. Missing values
(None, NaN, NA) format as ``"—"``. In English (``lang="en"``) counts carry thousands separators
and money is in million yuan instead of 万 and 亿.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from layers.present import i18n

__all__ = [
    "COUNT_AXIS",
    "FUNDS_AXIS",
    "MISSING",
    "WAN",
    "YI",
    "axis_labels",
    "fmt_count",
    "fmt_count_series",
    "fmt_int",
    "fmt_pct",
    "fmt_pct_series",
    "fmt_wan_yuan",
    "fmt_wan_yuan_series",
]

MISSING = "—"
WAN = 1e4
YI = 1e8


def _is_missing(x: object) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _trim(s: str) -> str:
    """Drop trailing zeros after a decimal point (``"19.20"`` → ``"19.2"``, ``"3.0"`` → ``"3"``)."""
    return s.rstrip("0").rstrip(".") if "." in s else s


def _trim_series(s: pd.Series) -> pd.Series:
    """Vectorised :func:`_trim`."""
    text = s.astype("object")  # an empty Series maps to float64, which has no .str
    return text.str.replace(r"(\.\d*?)0+$", r"\1", regex=True).str.replace(r"\.$", "", regex=True)


def fmt_int(x: Real | None) -> str:
    """Format a count with thousands separators: ``12137`` → ``"12,137"``."""
    if _is_missing(x):
        return MISSING
    return f"{round(float(x)):,}"


def fmt_count(x: Real | None, *, unit: str = "", digits: int = 2, lang: str = "zh") -> str:
    """Format a count the Chinese way: below 1万 as is, then 万, then 亿 (in English: with
    thousands separators, and the unit after a space).

    ``fmt_count(8500)`` → ``"8,500"``, ``fmt_count(192000)`` → ``"19.2万"``,
    ``fmt_count(1.84122e11, unit="元")`` → ``"1,841.22亿元"``. Trailing zeros are dropped.

    Parameters
    ----------
    x
        The count; None or NaN gives ``"—"``.
    unit
        Text appended to the number (e.g. ``"元"``).
    digits
        Decimals at most, trailing zeros dropped.
    lang
        ``"zh"`` (万/亿) or ``"en"`` (``192,000 people``).

    Returns
    -------
    str
        The formatted count.
    """
    if _is_missing(x):
        return MISSING
    v = float(x)
    a = abs(v)
    if lang == "en":
        body = f"{v:,.0f}" if v == round(v) else _trim(f"{v:,.{digits}f}")
        return f"{body} {unit}" if unit else body
    if a < WAN:
        body = f"{v:,.0f}" if v == round(v) else _trim(f"{v:,.{digits}f}")
    elif a < YI:
        body = _trim(f"{v / WAN:,.{digits}f}") + "万"
    else:
        body = _trim(f"{v / YI:,.{digits}f}") + "亿"
    return body + unit


def fmt_pct(x: Real | None, *, digits: int = 1) -> str:
    """Format a fraction as a percentage: ``0.977`` → ``"97.7%"`` (the fraction, not ×100).

    Parameters
    ----------
    x
        Fraction 0–1; None or NaN gives ``"—"``.
    digits
        Decimals of the percentage.

    Returns
    -------
    str
        The percentage text.
    """
    if _is_missing(x):
        return MISSING
    return f"{float(x) * 100:.{digits}f}%"


def fmt_wan_yuan(x: Real | None, *, digits: int = 2, lang: str = "zh") -> str:
    """Format funds given in 万元: ``1234.5`` → ``"1,234.5万元"``, ``184122`` → ``"18.41亿元"``.

    Amounts of 1亿元 (= 10,000 万元) or more are shown in 亿元; in English every amount is in
    million yuan: ``184122`` → ``"1,841.22M yuan"``.

    Parameters
    ----------
    x
        Amount in 万元; None or NaN gives ``"—"``.
    digits
        Decimals at most, trailing zeros dropped.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The amount with its unit.
    """
    if _is_missing(x):
        return MISSING
    v = float(x)
    if lang == "en":
        return _trim(f"{v / 100:,.{digits}f}") + i18n.t("unit_million_yuan", lang)
    if abs(v) >= WAN:
        return _trim(f"{v / WAN:,.{digits}f}") + i18n.t("unit_yi_yuan", lang)
    return _trim(f"{v:,.{digits}f}") + i18n.t("unit_wan_yuan", lang)


def fmt_pct_series(s: pd.Series, *, digits: int = 1) -> pd.Series:
    """Vectorised :func:`fmt_pct`: a string Series on the same index.

    Parameters
    ----------
    s
        Fractions 0–1; missing values give ``"—"``.
    digits
        Decimals of the percentage.
    """
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    out = (v * 100).map(("{:." + str(digits) + "f}%").format)  # format rounds like the scalar
    return out.where(v.notna(), MISSING).astype("object")


def fmt_count_series(
    s: pd.Series, *, unit: str = "", digits: int = 2, lang: str = "zh"
) -> pd.Series:
    """Vectorised :func:`fmt_count`: a string Series on the same index.

    Parameters
    ----------
    s
        Counts; missing values give ``"—"``.
    unit
        Text appended to each number (e.g. ``"户"``).
    digits
        Decimals at most, trailing zeros dropped.
    lang
        ``"zh"`` (万/亿) or ``"en"`` (thousands separators, the unit after a space).
    """
    if lang == "en":
        return s.map(lambda x: fmt_count(x, unit=unit, digits=digits, lang="en")).astype("object")
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    a = v.abs()
    scale = np.select([a >= YI, a >= WAN], [YI, WAN], 1.0)
    suffix = np.select([a >= YI, a >= WAN], ["亿", "万"], "")
    scaled = pd.Series(v.to_numpy() / scale, index=s.index)
    body = scaled.map(("{:,." + str(digits) + "f}").format).pipe(_trim_series)
    out = body + pd.Series(suffix, index=s.index) + unit
    return out.where(v.notna(), MISSING).astype("object")


def fmt_wan_yuan_series(s: pd.Series, *, digits: int = 2, lang: str = "zh") -> pd.Series:
    """Vectorised :func:`fmt_wan_yuan`: a string Series on the same index.

    Parameters
    ----------
    s
        Amounts in 万元; missing values give ``"—"``.
    digits
        Decimals at most, trailing zeros dropped.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    big = v.abs() >= WAN
    scaled = pd.Series(np.where(big, v / WAN, v), index=s.index)
    units = np.where(big, i18n.t("unit_yi_yuan", lang), i18n.t("unit_wan_yuan", lang))
    if lang == "en":
        scaled = v / 100
        units = np.full(len(v), i18n.t("unit_million_yuan", lang), dtype=object)
    body = scaled.map(("{:,." + str(digits) + "f}").format).pipe(_trim_series)
    out = body + pd.Series(units, index=s.index)
    return out.where(v.notna(), MISSING).astype("object")


#: axis label expression: counts below 1万 with separators, then 万 and 亿
COUNT_AXIS = (
    "abs(datum.value) >= 1e8 ? format(datum.value / 1e8, '.2~f') + '亿' : "
    "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.1~f') + '万' : format(datum.value, ',')"
)
#: same for funds given in 万元 (1亿元 = 1万 万元)
FUNDS_AXIS = (
    "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.2~f') + '亿' : "
    "format(datum.value, ',') + '万'"
)
#: in English: counts with separators; funds (万元) in million yuan
_AXES_EN = {
    "count": "format(datum.value, ',')",
    "funds": "format(datum.value / 100, ',.2~f') + 'M'",
}


def axis_labels(kind: str, lang: str = "zh") -> str:
    """The axis label expression of ``kind`` (``count`` or ``funds``) in ``lang``.

    Parameters
    ----------
    kind
        ``"count"`` (:data:`COUNT_AXIS`) or ``"funds"`` (:data:`FUNDS_AXIS`, values in 万元).
    lang
        ``"zh"`` (万, 亿) or ``"en"`` (separators; funds in million yuan, ``M``).

    Returns
    -------
    str
        A Vega expression for ``alt.Axis(labelExpr=...)``.
    """
    if lang == "en":
        return _AXES_EN[kind]
    return COUNT_AXIS if kind == "count" else FUNDS_AXIS
