"""Project counts per unit, summed by the store's database: a GROUP BY, never the projects.

:func:`project_counts` returns what ``layers.build.metrics.project_counts`` computes from the
prepared projects (projects, completed, with all six fixes, planned / allocated / spent funds per
unit of a level), but asks the database for them: one ``SELECT … GROUP BY`` on the unit's code
prefix, the filters (sector, years, status, fund source, region) as bound parameters, a few
hundred rows back. The same SQLAlchemy Core query runs on both backends:

- a PostGIS store (:mod:`layers.pgstore`): in a transaction under the session's region
  (row-level security: a county account's session counts only its own projects);
- a GeoPackage store: the GeoPackage is an SQLite database, read-only; its ``projects`` table
  holds the attributes as plain columns.

The unit keys are those of ``metrics.prepare_projects``: prefecture and county from the first 4 / 6
digits of ``county_code``, township from ``township_code`` or else the first 9 digits of
``village_code``, village from ``village_code``; short keys are padded with zeros to 12 digits.
Projects without a key at the level (county-wide projects at township or village level) are
left out.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from layers import pgstore
from layers import schema as S
from layers.errors import StoreError
from layers.storefilter import conditions

__all__ = ["COUNT_COLUMNS", "project_counts"]

#: the columns returned (the same as ``metrics.project_counts``)
COUNT_COLUMNS: tuple[str, ...] = S.PROJECT_COUNT_COLUMNS
_INT_COLUMNS = (S.N_PROJECTS, S.N_COMPLETED, S.N_SIX_FIXES)
_FUNDS = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
_KEY = "_key"
_COLUMNS = (
    S.COUNTY_CODE,
    S.TOWNSHIP_CODE,
    S.VILLAGE_CODE,
    S.STATUS,
    *_FUNDS,
    *S.SIX_FIXES.values(),
)


def _projects_table(schema: str | None, filters: list[tuple[str, str, Any]]) -> sa.TableClause:
    names = dict.fromkeys([*_COLUMNS, *(c for c, _, _ in filters)])
    return sa.table(S.LAYER_PROJECTS, *(sa.column(c) for c in names), schema=schema)


def _raw_key(c: Any, level: str) -> sa.ColumnElement[Any]:
    """The unit code of a project at ``level`` before padding (NULL: no unit at that level)."""
    if level in ("prefecture", "county"):
        return sa.func.substr(c[S.COUNTY_CODE], 1, S.LEVEL_DIGITS[level])
    if level == "township":
        return sa.func.coalesce(c[S.TOWNSHIP_CODE], sa.func.substr(c[S.VILLAGE_CODE], 1, 9))
    return c[S.VILLAGE_CODE]


def _within(c: Any, region: str) -> sa.ColumnElement[bool] | None:
    """Projects whose unit at the region's level is ``region`` (None: the province, all)."""
    level = S.level_of(region)
    if level == "province":
        return None
    if level in ("prefecture", "county"):
        digits = S.LEVEL_DIGITS[level]
        return sa.func.substr(c[S.COUNTY_CODE], 1, digits) == region[:digits]
    if level == "township":
        return _raw_key(c, level).in_([region, region[:9]])
    return c[S.VILLAGE_CODE] == region


def _condition(col: Any, op: str, value: Any) -> sa.ColumnElement[bool]:
    if op == "eq":
        return col == value
    if op == "in":
        return col.in_(list(value)) if value else sa.false()
    if op == "prefix":
        return sa.func.substr(col, 1, len(value)) == str(value)
    if op == "between":
        return col.between(value[0], value[1])
    raise StoreError(f"unknown filter {op!r}")


def _present(col: Any) -> sa.ColumnElement[bool]:
    """The field is filled in: not NULL and not blank (``metrics.six_fixes_missing``)."""
    return sa.and_(col.is_not(None), sa.func.trim(sa.cast(col, sa.Text)) != "")


def _select(
    schema: str | None, level: str, region: str | None, filters: list[tuple[str, str, Any]]
) -> sa.Select[Any]:
    t = _projects_table(schema, filters)
    c = t.c
    done = sa.case((c[S.STATUS].in_(sorted(S.COMPLETED_STATUSES)), 1), else_=0)
    fixes = [_present(c[col]) for col in S.SIX_FIXES.values()]
    six = sa.case((sa.and_(*fixes, c[S.FUNDS_PLANNED] > 0), 1), else_=0)
    sums = [
        sa.func.count().label(S.N_PROJECTS),
        sa.func.sum(done).label(S.N_COMPLETED),
        sa.func.sum(six).label(S.N_SIX_FIXES),
        *(sa.func.sum(c[f]).label(f) for f in _FUNDS),
    ]
    where = [_condition(c[col], op, value) for col, op, value in filters]
    if region is not None and (inside := _within(c, region)) is not None:
        where.append(inside)
    if level == "province":
        return sa.select(*sums).where(*where)
    key = _raw_key(c, level)
    return sa.select(key.label(_KEY), *sums).where(*where, key.is_not(None)).group_by(key)


@contextlib.contextmanager
def _sqlite(path: str | os.PathLike[str]) -> Iterator[sa.Connection]:
    """A read-only connection to the GeoPackage (an SQLite database)."""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"no store at {p}; create it with `onemap demo` or `onemap import`")
    uri = p.resolve().as_uri() + "?mode=ro"
    eng = sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=sa.NullPool
    )
    try:
        with eng.connect() as conn:
            yield conn
    except sa.exc.DBAPIError as e:
        detail = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise StoreError(f"cannot count the projects of {p}: {detail}") from e
    finally:
        eng.dispose()


def _run(path: str | os.PathLike[str], build: Any) -> pd.DataFrame:
    if pgstore.is_url(path):
        url = str(path)
        with pgstore.connect(url) as conn:
            return pd.DataFrame(conn.execute(build(pgstore.parse(url).schema)).mappings().all())
    with _sqlite(path) as conn:
        return pd.DataFrame(conn.execute(build(None)).mappings().all())


def _padded(keys: pd.Series) -> pd.Series:
    keys = keys.astype("str")
    short = keys.str.len() < 12
    return keys.where(~short, keys.str.pad(12, side="right", fillchar="0"))


def project_counts(
    path: str | os.PathLike[str],
    level: str,
    *,
    region: str | None = None,
    filters: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Project counts per unit of ``level``, summed by the store's database.

    Parameters
    ----------
    path
        The store: a GeoPackage or a ``postgresql://`` URL (read under the session's region).
    level
        ``province``, ``prefecture``, ``county``, ``township`` or ``village``.
    region
        Only the projects of this unit (12-digit code, at its own level), or None for all.
    filters
        Filters on the projects' columns (``layers.storefilter``: a value, a list of values,
        ``Prefix``, ``Between``), all of which must hold.

    Returns
    -------
    pandas.DataFrame
        Index ``code`` (12-digit units that have projects; the province always), columns
        ``COUNT_COLUMNS``: counts as int64, funds in 万元 as float64.
    """
    if level not in S.LEVELS:
        raise StoreError(f"level was {level!r} but is expected to be one of {list(S.LEVELS)}")
    if region is not None and (len(str(region)) != 12 or not str(region).isdigit()):
        raise StoreError(f"region {region!r} is not a 12-digit unit code")
    conds = conditions(filters)
    df = _run(path, lambda schema: _select(schema, level, region, conds))
    if df.empty:
        df = pd.DataFrame(columns=[_KEY, *COUNT_COLUMNS])
    for col in COUNT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64").fillna(0.0)
    if level == "province":
        df[_KEY] = S.PROVINCE_CODE
    else:
        df[_KEY] = _padded(df[_KEY])
        df = df.groupby(_KEY, sort=True)[list(COUNT_COLUMNS)].sum().reset_index()
    for col in _INT_COLUMNS:
        df[col] = df[col].astype("int64")
    out = df.set_index(_KEY)[list(COUNT_COLUMNS)]
    out.index = pd.Index(out.index.astype("str"), name=S.CODE)
    return out
