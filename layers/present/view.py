"""The numbers of one map view: its units, their values under the filters, its class breaks.

The overview page and the exports (``layers/export.py``, hence ``onemap export`` and the 导出
page) call these functions, so a map on screen and its export cannot drift apart. The rules:

- the units are the children of the region one level down (or ``level``); at province or
  prefecture level a chosen zone replaces them with the zone's counties inside the region;
  a village shows itself;
- counts and rates are recounted under the project filter (``layers.query``);
- class breaks come, by default (``BREAKS_VIEW``), from the *unfiltered* values of the view's own
  units (the siblings on screen), so the classes discriminate where one looks and stay fixed
  while filters change within the view (comparing years or sectors stays honest);
  ``BREAKS_PROVINCE`` takes every unfiltered unit of the level in the province (a colour means
  the same across drill-down), ``BREAKS_FILTERED`` the view's rows under the filters;
- the legend's first class starts at the lowest value the breaks come from; a view whose values
  are all equal gets one class (``all_equal`` says so: the legend says it instead of classes).

Typical use::

    rows = view_rows(summary, projects, region, flt, zone=zone, zone_members=members)
    values = break_values(summary, rows, metric, level=unit_level(region, zone=zone))  # view
    breaks, lower = class_breaks(values), legend_lower(values)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo import classify
from layers import schema as S
from layers.build import metrics as M
from layers.errors import OneMapError
from layers.present import query

__all__ = [
    "BREAKS_FILTERED",
    "BREAKS_PROVINCE",
    "BREAKS_VIEW",
    "BREAK_SOURCES",
    "ZONE_LEVELS",
    "all_equal",
    "break_source",
    "break_values",
    "child_level",
    "class_breaks",
    "legend_lower",
    "unit_level",
    "view_kpi",
    "view_rows",
    "zone_applies",
    "zone_codes",
]


#: region levels at which a zone replaces the region's children with the zone's counties
ZONE_LEVELS: tuple[str, ...] = ("province", "prefecture")
#: where class breaks come from: the view's own units unfiltered (default), every unit of the
#: level in the province unfiltered, or the view's units under the filters
BREAKS_VIEW, BREAKS_PROVINCE, BREAKS_FILTERED = "view", "province", "filtered"
BREAK_SOURCES: tuple[str, ...] = (BREAKS_VIEW, BREAKS_PROVINCE, BREAKS_FILTERED)


def break_source(value: str | None) -> str:
    """``value`` checked against ``BREAK_SOURCES`` (None gives the default, ``BREAKS_VIEW``)."""
    if value is None:
        return BREAKS_VIEW
    if value not in BREAK_SOURCES:
        raise OneMapError(f"class breaks from {value!r}: expected one of {list(BREAK_SOURCES)}")
    return value


def child_level(region: str) -> str | None:
    """The level one below ``region`` (None for a village)."""
    i = S.LEVELS.index(S.level_of(region))
    return S.LEVELS[i + 1] if i + 1 < len(S.LEVELS) else None


def zone_applies(region: str, zone: str | None) -> bool:
    """True when ``zone`` narrows a view of ``region`` (province or prefecture level).

    Parameters
    ----------
    region
        12-digit code of the view's region.
    zone
        Name of the chosen zone, or None.
    """
    return bool(zone) and S.level_of(region) in ZONE_LEVELS


def unit_level(region: str, *, zone: str | None = None, level: str | None = None) -> str:
    """Level of the coloured units: ``level`` if given; a zone's counties at province or
    prefecture level; else one level below ``region`` (a village view shows the village).

    Parameters
    ----------
    region
        12-digit code of the view's region.
    zone
        Name of the chosen zone, or None.
    level
        Level asked for, or None to derive it.

    Returns
    -------
    str
        The level, e.g. ``"county"``.
    """
    if level is not None:
        return level
    if zone_applies(region, zone):
        return "county"
    return child_level(region) or "village"


def zone_codes(zone_members: pd.DataFrame, zone: str) -> pd.Series:
    """County codes of ``zone`` (``zone_members`` has columns ``zone, code``).

    Raises ``OneMapError`` naming the known zones when ``zone`` has no member in the table.

    Parameters
    ----------
    zone_members
        Zone members (``zone``, ``code``).
    zone
        Name of the zone.

    Returns
    -------
    pandas.Series
        The zone's 12-digit county codes as strings.
    """
    hit = zone_members[S.ZONE] == zone
    if not hit.any():
        known = list(pd.unique(zone_members[S.ZONE]))
        raise OneMapError(
            f"zone {zone!r} is unknown; known zones: {known} (zones the store holds only in "
            "part are left out); pick one of them or none"
        )
    return zone_members.loc[hit, S.CODE].astype(str)


def view_rows(
    region_summary: pd.DataFrame,
    projects: query.Projects | None,
    region: str,
    flt: query.ProjectFilter | None = None,
    *,
    zone: str | None = None,
    zone_members: pd.DataFrame | None = None,
    level: str | None = None,
) -> pd.DataFrame:
    """Summary rows of a view's map units with counts and rates under ``flt``.

    ``projects`` (prepared or raw ledger) may be None when ``flt`` is empty. With a zone at
    province/prefecture level only units inside the zone's counties remain.

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, or None when ``flt`` is empty (stored counts are used).
    region
        12-digit code of the view's region.
    flt
        Project filter; None or an empty filter keeps every project.
    zone
        Name of the chosen zone, or None.
    zone_members
        Zone members (``zone``, ``code``); needed when a zone applies.
    level
        Level of the map units, or None for :func:`unit_level`'s choice.

    Returns
    -------
    pandas.DataFrame
        One summary row per map unit (a village view: the village itself).
    """
    if projects is None and flt is not None and not flt.is_empty:
        raise OneMapError(
            "`projects` is None but the filter needs them; pass the projects table "
            f"to recount the view of {region} under: {flt.describe_zh()}"
        )
    if S.level_of(region) == "village":
        row = query.summarise_region(region_summary, projects, region, flt)
        return row.to_frame().T.reset_index(drop=True).infer_objects()
    lv = unit_level(region, zone=zone, level=level)
    rows = query.summarise_children(region_summary, projects, region, flt, level=lv)
    if zone_applies(region, zone):
        if zone_members is None:
            raise OneMapError(f"zone {zone!r} was given without `zone_members` (zone, code)")
        counties = zone_codes(zone_members, str(zone))
        county_digits = S.LEVEL_DIGITS["county"]
        in_zone = rows[S.CODE].str[:county_digits].isin(counties.str[:county_digits])
        rows = rows[in_zone.to_numpy()]
    return rows.reset_index(drop=True)


def view_kpi(
    region_summary: pd.DataFrame,
    projects: query.Projects | None,
    region: str,
    flt: query.ProjectFilter | None,
    rows: pd.DataFrame,
    *,
    zone: str | None = None,
) -> pd.Series:
    """The view's totals: the region's row, or (zone view) the sums of the zone's county rows
    with rates recomputed from the sums (never averaged).

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, or None when ``flt`` is empty (stored counts are used).
    region
        12-digit code of the view's region.
    flt
        Project filter; None or an empty filter keeps every project.
    rows
        The view's map units (:func:`view_rows`); summed for a zone view.
    zone
        Name of the chosen zone, or None.

    Returns
    -------
    pandas.Series
        One summary row: counts, funds in 万元 and rates (fractions 0–1).
    """
    if zone_applies(region, zone):
        sums = rows[[*M.COUNT_COLUMNS, *M.PLAN_COUNT_COLUMNS]].sum().to_frame().T
        if rows[S.N_PROJECTS].isna().any():  # a county the session does not see whole
            sums[list(M.PROJECT_COUNT_COLUMNS)] = np.nan
        return M.add_rates(sums).iloc[0]
    return query.summarise_region(region_summary, projects, region, flt)


def break_values(
    region_summary: pd.DataFrame,
    rows: pd.DataFrame,
    metric: str,
    *,
    level: str,
    source: str = BREAKS_VIEW,
) -> pd.Series:
    """The values class breaks come from, as floats (NaN where a rate has no denominator).

    Parameters
    ----------
    region_summary
        Every unit of every level, unfiltered (the store's ``region_summary``).
    rows
        The view's units (``view_rows``), possibly under a filter.
    metric
        One of ``schema.METRICS``.
    level
        Level of the view's units (``unit_level``).
    source
        ``BREAKS_VIEW`` (default): the unfiltered values of the units in ``rows``, so breaks
        discriminate within the view and stay fixed while its filters change;
        ``BREAKS_PROVINCE``: every unfiltered unit of ``level``; ``BREAKS_FILTERED``: ``rows``.

    Returns
    -------
    pandas.Series
        The values (one per unit).
    """
    if metric not in S.METRICS:
        raise OneMapError(f"`metric` was {metric!r}; expected one of {list(S.METRICS)}")
    source = break_source(source)
    if source == BREAKS_FILTERED:
        values = rows[metric]
    elif source == BREAKS_PROVINCE:
        values = region_summary.loc[region_summary[S.LEVEL] == level, metric]
    else:
        mine = region_summary[S.CODE].isin(rows[S.CODE].astype(str))
        values = region_summary.loc[mine & (region_summary[S.LEVEL] == level), metric]
    return pd.to_numeric(values, errors="coerce").astype(float)


def all_equal(values: pd.Series) -> bool:
    """True when the known values are all the same (one class: the legend says so)."""
    known = values.dropna()
    return len(known) > 0 and bool(np.isclose(known.min(), known.max()))


def class_breaks(values: pd.Series, *, k: int = 5, scheme: str = "quantiles") -> np.ndarray | None:
    """Upper bounds of the classes of ``values`` (None when no value is known).

    Parameters
    ----------
    values
        The values to classify (NaN ignored).
    k
        Number of classes wanted.
    scheme
        One of ``geo.classify.SCHEMES``.
    """
    if values.notna().sum() == 0:
        return None
    return classify.class_breaks(values, k=k, scheme=scheme)


def legend_lower(values: pd.Series) -> float | None:
    """Where the legend's first class starts: the lowest known value (None if none)."""
    return None if values.notna().sum() == 0 else float(values.min())
