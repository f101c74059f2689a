"""View queries for the dashboard and exports: filter projects, re-summarise regions and zones.

The dashboard keeps two frames in memory: ``region_summary`` (from the store) and the projects
prepared once with :func:`layers.metrics.prepare_projects`. A filter change is then one boolean
mask and one groupby on a categorical code column — registry-based counts (poor population,
coverage, exits, matched remedy) come from ``region_summary`` unchanged, because project filters
do not change who is poor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.errors import OneMapError
from layers.storefilter import Between

__all__ = [
    "NO_FILTER",
    "ProjectFilter",
    "Projects",
    "StoreCounts",
    "filter_projects",
    "summarise_children",
    "summarise_region",
    "summarise_zone",
    "summarise_zones",
]


def _as_tuple(name: str, value: Iterable[str] | str | None, allowed: tuple[str, ...]) -> tuple:
    if value is None:
        return ()
    values = (value,) if isinstance(value, str) else tuple(value)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise OneMapError(f"ProjectFilter {name} got {bad}; expected values among {list(allowed)}")
    return tuple(dict.fromkeys(values))


@dataclasses.dataclass(frozen=True)
class ProjectFilter:
    """Project filters of a view; ``None`` or empty means "no filter" for that field.

    ``years`` is the inclusive plan-year range ``(first, last)``. Hashable, so it can key a cache.
    """

    sectors: tuple[str, ...] | None = None
    years: tuple[int, int] | None = None
    statuses: tuple[str, ...] | None = None
    fund_sources: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sectors", _as_tuple("sectors", self.sectors, S.SECTORS) or None)
        set_(self, "statuses", _as_tuple("statuses", self.statuses, S.STATUSES) or None)
        set_(
            self,
            "fund_sources",
            _as_tuple("fund_sources", self.fund_sources, S.FUND_SOURCES) or None,
        )
        if self.years is not None:
            years = tuple(self.years)
            if len(years) == 0:
                set_(self, "years", None)
                return
            if len(years) != 2 or not all(isinstance(y, (int, np.integer)) for y in years):
                raise OneMapError(
                    f"ProjectFilter years got {self.years!r}; expected (first, last) integers"
                )
            if years[0] > years[1]:
                raise OneMapError(
                    f"ProjectFilter years got {years[0]}–{years[1]}; the first year must not "
                    "be after the last"
                )
            set_(self, "years", (int(years[0]), int(years[1])))

    @property
    def is_empty(self) -> bool:
        """True when no field narrows the projects."""
        return not (self.sectors or self.years or self.statuses or self.fund_sources)

    def describe_zh(self) -> str:
        """Chinese one-line description for map footers (``行业：特色产业；年度：2016–2020``)."""
        parts = []
        if self.sectors:
            parts.append("行业：" + "、".join(S.SECTOR_LABELS_ZH[s] for s in self.sectors))
        if self.years:
            first, last = self.years
            parts.append(f"年度：{first}" if first == last else f"年度：{first}–{last}")
        if self.statuses:
            parts.append("状态：" + "、".join(S.STATUS_LABELS_ZH[s] for s in self.statuses))
        if self.fund_sources:
            labels = (S.FUND_SOURCE_LABELS_ZH[s] for s in self.fund_sources)
            parts.append("资金来源：" + "、".join(labels))
        return "；".join(parts) if parts else "全部项目"

    def store_filters(self) -> dict[str, Any]:
        """The filter as ``store.read_layer`` / ``storeagg`` filters (evaluated by the database)."""
        filters: dict[str, Any] = {}
        for col, values in (
            (S.SECTOR, self.sectors),
            (S.STATUS, self.statuses),
            (S.FUND_SOURCE, self.fund_sources),
        ):
            if values:
                filters[col] = list(values)
        if self.years:
            filters[S.PLAN_YEAR] = Between(*self.years)
        return filters

    def mask(self, projects: pd.DataFrame) -> np.ndarray:
        """Boolean array: True for the projects the filter keeps."""
        keep = np.ones(len(projects), dtype=bool)
        for col, values in (
            (S.SECTOR, self.sectors),
            (S.STATUS, self.statuses),
            (S.FUND_SOURCE, self.fund_sources),
        ):
            if values:
                if col not in projects.columns:
                    raise OneMapError(f"projects lack column {col!r} needed by the filter")
                keep &= projects[col].isin(values).to_numpy()
        if self.years:
            if S.PLAN_YEAR not in projects.columns:
                raise OneMapError(f"projects lack column {S.PLAN_YEAR!r} needed by the filter")
            year = projects[S.PLAN_YEAR].to_numpy()
            keep &= (year >= self.years[0]) & (year <= self.years[1])
        return keep


NO_FILTER = ProjectFilter()


@dataclasses.dataclass(frozen=True)
class StoreCounts:
    """Project counts summed by the store's database instead of a projects frame in memory.

    ``count(level, region, flt)`` returns ``metrics.project_counts``'s frame for the projects of
    ``region`` (a 12-digit code, None for all) that pass ``flt`` (``layers.storeagg``).
    ``visible`` is the code prefix of the projects the database lets the session see (row-level
    security; ``""``: every project): filtered counts of units that do not lie inside it would
    count only the session's own projects, so they are unknown (NaN) instead.
    """

    count: Callable[[str, str | None, ProjectFilter], pd.DataFrame]
    visible: str = ""

    def knows(self, codes: pd.Series) -> np.ndarray:
        """True for the units (12-digit codes) whose filtered counts the session sees whole."""
        codes = codes.astype("str")
        if not self.visible:
            return np.ones(len(codes), dtype=bool)
        depth = len(self.visible)
        deep = np.array([S.LEVEL_DIGITS[S.level_of(c)] >= depth for c in codes], dtype=bool)
        return codes.str.startswith(self.visible).to_numpy(dtype=bool) & deep


#: what the summaries recount from: the projects (raw or prepared), or the store's database
Projects = pd.DataFrame | StoreCounts


def filter_projects(projects: pd.DataFrame, flt: ProjectFilter | None) -> pd.DataFrame:
    """Return the projects the filter keeps (the input itself when the filter is empty).

    Parameters
    ----------
    projects
        The project ledger.
    flt
        Project filter; None or an empty filter keeps every project.
    """
    if flt is None or flt.is_empty:
        return projects
    return projects[flt.mask(projects)]


def _region_row(region_summary: pd.DataFrame, region_code: str) -> pd.Series:
    hit = region_summary[region_summary[S.CODE] == region_code]
    if hit.empty:
        raise OneMapError(
            f"region {region_code!r} is not in region_summary; pass a 12-digit unit code "
            "(e.g. 530000000000 for the province)"
        )
    return hit.iloc[0]


def _replace_project_counts(
    rows: pd.DataFrame,
    projects: Projects,
    flt: ProjectFilter | None,
    level: str,
    region: str | None = None,
) -> pd.DataFrame:
    """Recompute the project counts of ``rows`` (all at ``level``, inside ``region``) from the
    filtered projects; with :class:`StoreCounts`, units the session does not see whole get NaN."""
    known = np.ones(len(rows), dtype=bool)
    if isinstance(projects, StoreCounts):
        counts = projects.count(level, region, flt or NO_FILTER)
        known = projects.knows(rows[S.CODE])
    else:
        p = M.prepare_projects(projects)
        if region is not None and S.level_of(region) != "province":
            p = p[M.project_key(p, S.level_of(region)) == region]
        counts = M.project_counts(filter_projects(p, flt), level=level)
    out = rows.copy()
    fresh = counts.reindex(out[S.CODE].to_numpy())
    for col in M.PROJECT_COUNT_COLUMNS:
        values = fresh[col].fillna(0).to_numpy()
        if known.all():
            out[col] = values.astype(rows[col].dtype if col in rows else values.dtype)
        else:
            out[col] = np.where(known, values.astype("float64"), np.nan)
    return M.add_rates(out)


def summarise_children(
    region_summary: pd.DataFrame,
    projects: Projects | None,
    region_code: str,
    flt: ProjectFilter | None = None,
    *,
    level: str | None = None,
) -> pd.DataFrame:
    """Return the units below ``region_code`` with counts and rates under the filter.

    ``level`` picks the descendants' level (default: one level below the region). Without a
    filter (or without ``projects``) the rows of ``region_summary`` are returned as they are.

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, :class:`StoreCounts`, or None to keep the stored counts.
    region_code
        12-digit code of the region.
    flt
        Project filter; None or an empty filter keeps every project.
    level
        Level of the units returned, or None for one level below the region.
    """
    region = _region_row(region_summary, region_code)
    region_level = region[S.LEVEL]
    i = S.LEVELS.index(region_level)
    if level is None:
        if region_level == "village":
            raise OneMapError(f"region {region_code} is a village and has no children")
        level = S.LEVELS[i + 1]
    if level not in S.LEVELS or S.LEVELS.index(level) <= i:
        raise OneMapError(
            f"level was {level!r}; expected a level below {region_level!r}: "
            f"{list(S.LEVELS[i + 1 :])}"
        )
    prefix = region_code[: S.LEVEL_DIGITS[region_level]]
    rows = region_summary[
        (region_summary[S.LEVEL] == level) & region_summary[S.CODE].str.startswith(prefix)
    ]
    if projects is None or flt is None or flt.is_empty:
        return rows.reset_index(drop=True)
    out = _replace_project_counts(rows, projects, flt, level, region_code)
    return out.reset_index(drop=True)


def summarise_region(
    region_summary: pd.DataFrame,
    projects: Projects | None,
    region_code: str,
    flt: ProjectFilter | None = None,
) -> pd.Series:
    """Return the region's summary row under the filter (pass it to ``metrics.kpis``).

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, :class:`StoreCounts`, or None to keep the stored counts.
    region_code
        12-digit code of the region.
    flt
        Project filter; None or an empty filter keeps every project.
    """
    row = _region_row(region_summary, region_code)
    if projects is None or flt is None or flt.is_empty:
        return row
    out = _replace_project_counts(row.to_frame().T, projects, flt, row[S.LEVEL], region_code)
    return out.iloc[0]


def summarise_zones(
    region_summary: pd.DataFrame,
    projects: Projects | None,
    zone_members: pd.DataFrame,
    flt: ProjectFilter | None = None,
) -> pd.DataFrame:
    """Return one row per zone with counts and rates under the filter (zone_summary columns).

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, :class:`StoreCounts`, or None to keep the stored counts.
    zone_members
        Zone members (``zone``, ``code`` with county codes).
    flt
        Project filter; None or an empty filter keeps every project.
    """
    counties = region_summary[region_summary[S.LEVEL] == "county"]
    if projects is None or flt is None or flt.is_empty:
        return M.aggregate_zones(counties, zone_members)
    counties = _replace_project_counts(counties, projects, flt, "county")
    zones = M.aggregate_zones(counties, zone_members)
    unknown = counties.loc[counties[S.N_PROJECTS].isna(), S.CODE]
    if len(unknown):  # a zone with a county the session does not see whole: unknown (NaN)
        partial = zone_members.loc[zone_members[S.CODE].isin(unknown), S.ZONE].unique()
        hit = zones[S.ZONE].isin(partial).to_numpy()
        zones.loc[hit, list(M.PROJECT_COUNT_COLUMNS)] = np.nan
        zones = M.add_rates(zones)
    return zones


def summarise_zone(
    region_summary: pd.DataFrame,
    projects: Projects | None,
    zone_members: pd.DataFrame,
    zone: str,
    flt: ProjectFilter | None = None,
) -> pd.Series:
    """Return one zone's row under the filter (pass it to ``metrics.kpis``).

    Parameters
    ----------
    region_summary
        The store's ``region_summary`` table.
    projects
        The project ledger, :class:`StoreCounts`, or None to keep the stored counts.
    zone_members
        Zone members (``zone``, ``code`` with county codes).
    zone
        Name of the zone.
    flt
        Project filter; None or an empty filter keeps every project.
    """
    names = pd.unique(zone_members[S.ZONE])
    if zone not in names:
        raise OneMapError(f"zone {zone!r} is unknown; known zones: {list(names)}")
    members = zone_members[zone_members[S.ZONE] == zone]
    return summarise_zones(region_summary, projects, members, flt).iloc[0]
