"""Filters of store reads, evaluated by the database of either backend.

``{column: value}`` (equal), ``{column: [v, …]}`` (one of), ``{column: Prefix("5333")}``
(starts with), ``{column: Between(2016, 2018)}`` (inclusive). :func:`conditions` normalises
them to ``(column, op, value)``; PostGIS binds the values as parameters, a GeoPackage gets them as
quoted SQLite literals in GDAL's WHERE clause (:func:`gdal_where`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from layers.errors import StoreError

__all__ = ["Between", "Prefix", "conditions", "gdal_where"]


class Prefix(str):
    """A filter value: the column starts with this text (e.g. a region's code prefix)."""


class Between(NamedTuple):
    """A filter value: ``low <= column <= high``."""

    low: Any
    high: Any


def conditions(filters: Mapping[str, Any] | None) -> list[tuple[str, str, Any]]:
    """``(column, op, value)`` of ``filters`` (op ``eq``, ``in``, ``prefix``, ``between``).

    Parameters
    ----------
    filters
        ``{column: value}``: a value, a list of values, :class:`Prefix` or :class:`Between`.

    Returns
    -------
    list of tuple
    """
    out: list[tuple[str, str, Any]] = []
    for col, value in (filters or {}).items():
        if isinstance(value, Prefix):
            if not str(value).isalnum():
                raise StoreError(f"prefix filter on {col!r} must be letters or digits: {value!r}")
            out.append((col, "prefix", str(value)))
        elif isinstance(value, Between):
            out.append((col, "between", (value.low, value.high)))
        elif isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Index):
            out.append((col, "in", [v.item() if isinstance(v, np.generic) else v for v in value]))
        else:
            out.append((col, "eq", value.item() if isinstance(value, np.generic) else value))
    return out


def _literal(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "1" if v else "0"
    if isinstance(v, int | float | np.integer | np.floating):
        return repr(float(v)) if isinstance(v, float | np.floating) else str(int(v))
    return "'" + str(v).replace("'", "''") + "'"


def gdal_where(conditions: list[tuple[str, str, Any]]) -> str | None:
    """The conditions as one SQLite WHERE clause for GDAL (values quoted as SQL literals)."""
    parts = []
    for col, op, value in conditions:
        q = '"' + col.replace('"', '""') + '"'
        if op == "prefix":
            parts.append(f"substr({q}, 1, {len(value)}) = {_literal(value)}")
        elif op == "between":
            parts.append(f"{q} BETWEEN {_literal(value[0])} AND {_literal(value[1])}")
        elif op == "in":
            parts.append(f"{q} IN ({', '.join(map(_literal, value))})" if value else "0")
        else:
            parts.append(f"{q} = {_literal(value)}")
    return " AND ".join(parts) or None
