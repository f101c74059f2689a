"""The rates of DESIGN §4: each a ratio of two summed counts (``RATE_DEFINITIONS``), NaN
where the denominator is 0; and the one-step column setting the layer builders share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from layers import schema as S

__all__ = ["RATE_DEFINITIONS", "add_rates", "rates", "set_columns"]

#: rate → (numerator, denominator)
RATE_DEFINITIONS: dict[str, tuple[str, str]] = {
    S.COMPLETION: (S.N_COMPLETED, S.N_PROJECTS),
    S.FUNDS_EXECUTION: (S.FUNDS_SPENT, S.FUNDS_PLANNED),
    S.COVERAGE: (S.COVERED_CAPPED, S.POOR_POPULATION),
    S.SIX_FIXES_RATE: (S.N_SIX_FIXES, S.N_PROJECTS),
    S.EXIT_PROGRESS: (S.VILLAGES_EXITED, S.POVERTY_VILLAGES),
    S.MATCHED_REMEDY: (S.MATCHED_HOUSEHOLDS, S.POOR_HOUSEHOLDS),
}


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` with every rate of ``RATE_DEFINITIONS`` computed from its counts.

    Rates are fractions 0..1, NaN where the denominator is 0 (or a count column is absent).
    """
    return set_columns(df, rates({c: df[c] for c in df.columns}))


def _floats(values: Any) -> np.ndarray:
    """``pd.to_numeric(values, errors="coerce").astype("float64")`` as an array, without the
    Series for numeric arrays."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype("float64")
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def rates(counts: Mapping[str, Any]) -> dict[str, Any]:
    """Every rate of ``RATE_DEFINITIONS`` from count columns.

    Parameters
    ----------
    counts
        Column name → values (arrays or Series of one length); a rate whose numerator or
        denominator is missing is NaN.

    Returns
    -------
    dict
        Rate name → float array (or NaN), in ``RATE_DEFINITIONS`` order.
    """
    out: dict[str, Any] = {}
    for rate, (num, den) in RATE_DEFINITIONS.items():
        if num in counts and den in counts:
            d = _floats(counts[den])
            out[rate] = _floats(counts[num]) / np.where(d != 0, d, np.nan)
        else:
            out[rate] = np.nan
    return out


def set_columns(df: pd.DataFrame, values: Mapping[str, Any]) -> pd.DataFrame:
    """A copy of ``df`` with ``values`` set as ``df[c] = v`` one by one would, in one step
    (a GeoDataFrame's ``__setitem__`` costs about a millisecond a column).

    Parameters
    ----------
    df
        A DataFrame or GeoDataFrame.
    values
        Column name → values (arrays of ``len(df)`` or scalars): a column of ``df`` is replaced
        in place, the others are appended in this order.

    Returns
    -------
    pandas.DataFrame
        Of ``df``'s type.
    """
    out = df.copy()
    for c in [c for c in values if c in df.columns]:
        out[c] = values[c]
    new = {c: v for c, v in values.items() if c not in df.columns}
    if not new:
        return out
    return pd.concat([out, pd.DataFrame(new, index=df.index)], axis=1)
