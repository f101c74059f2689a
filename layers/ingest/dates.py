"""Parse the date forms people type into ledgers, vectorised over a column."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["EXCEL_EPOCH", "SERIAL_RANGE", "parse_dates"]

#: Excel's day zero for serial dates (the 1900 leap-year bug is folded in)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: serials accepted as dates: 1982-10-… to 2064-…; outside, a number is not a date
SERIAL_RANGE: tuple[int, int] = (30000, 60000)

_YMD = (
    r"^\s*(?P<y>(?:19|20)\d\d)\s*(?:[-/.年]\s*)(?P<m>\d{1,2})\s*(?:[-/.月]\s*)(?P<d>\d{1,2})"
    r"\s*日?(?:[ T]\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?)?\s*$"
)
_COMPACT = r"^\s*(?P<y>(?:19|20)\d\d)(?P<m>\d\d)(?P<d>\d\d)\s*$"
_SERIAL = r"^\s*(?P<n>\d{5})(?:\.0+)?\s*$"


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of typed dates.

    Accepts ``datetime``/``date`` objects, Excel serial numbers (as numbers or digit strings),
    ``2019-05-03``, ``2019/5/3``, ``2019.5.3``, ``2019年5月3日``, ``20190503`` (full-width digits
    are expected to be normalised by the caller).

    Returns
    -------
    (dates, bad)
        ``dates`` is ``datetime64[ns]`` normalised to midnight (NaT where empty or unreadable);
        ``bad`` is a boolean Series, True where a non-empty value could not be read as a date.
    """
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_ts = values.map(lambda v: isinstance(v, dt.date | pd.Timestamp | np.datetime64))
    if is_ts.any():
        out[is_ts] = pd.to_datetime(values[is_ts].astype(object), errors="coerce")
    is_num = values.map(lambda v: isinstance(v, int | float | np.integer | np.floating))
    is_num &= ~values.map(lambda v: isinstance(v, bool))
    if is_num.any():
        num = pd.to_numeric(values[is_num], errors="coerce")
        ok = num.between(*SERIAL_RANGE) & (num == np.floor(num))
        out[num[ok].index] = EXCEL_EPOCH + pd.to_timedelta(num[ok], unit="D")
    rest = ~is_ts & ~is_num & values.notna()
    text = values[rest].astype(str).str.strip()
    text = text[text != ""]
    if len(text):
        for pattern in (_YMD, _COMPACT):
            parts = text.str.extract(pattern)
            hit = parts["y"].notna() & out[text.index].isna()
            if hit.any():
                frame = (
                    parts[hit].astype(int).rename(columns={"y": "year", "m": "month", "d": "day"})
                )
                out[frame.index] = pd.to_datetime(frame, errors="coerce")
        serial = pd.to_numeric(text.str.extract(_SERIAL)["n"], errors="coerce")
        ok = serial.between(*SERIAL_RANGE) & out[text.index].isna()
        if ok.any():
            out[serial[ok].index] = EXCEL_EPOCH + pd.to_timedelta(serial[ok], unit="D")
    nonempty = values.notna() & (values.astype(str).str.strip() != "")
    bad = nonempty & out.isna()
    return out.dt.normalize(), bad
