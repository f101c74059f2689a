"""The metrics of DESIGN §4, computed once, from additive counts (never by averaging rates).

Every rate is a ratio of two sums: counts are summed from villages (or projects) up to any
unit or zone, then :func:`add_rates` divides. County-wide projects (no village/township code)
count for their county and above only. Projects are counted through a *prepared* frame
(:func:`prepare_projects`): plain columns with the unit code at every level as categoricals, so
a groupby per level costs milliseconds even at 192,000 projects. Every public function accepts
raw or prepared projects."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from layers import schema as S
from layers.build.rates import RATE_DEFINITIONS, add_rates, rates, set_columns
from layers.errors import LedgerError

__all__ = [
    "COUNT_COLUMNS",
    "PLAN_COUNT_COLUMNS",
    "PREFECTURE_CODE",
    "PROJECT_COUNT_COLUMNS",
    "RATE_DEFINITIONS",
    "REGISTRY_COUNT_COLUMNS",
    "SUMMARY_ID_COLUMNS",
    "add_rates",
    "aggregate",
    "aggregate_zones",
    "crosstab",
    "fund_sums",
    "is_prepared",
    "isin_index",
    "kpis",
    "matched_households",
    "prepare_projects",
    "project_counts",
    "project_key",
    "registry_counts",
    "six_fixes_missing",
    "unit_counts",
    "village_counts",
    "with_unit_counts",
]


#: column of a unit's prefecture code (12-digit), used by layers and prepared projects
PREFECTURE_CODE = "prefecture_code"
#: project count columns (sum over children)
PROJECT_COUNT_COLUMNS: tuple[str, ...] = S.PROJECT_COUNT_COLUMNS
#: registry count columns (sum over villages)
REGISTRY_COUNT_COLUMNS: tuple[str, ...] = (
    S.POOR_HOUSEHOLDS,
    S.POOR_POPULATION,
    S.COVERED_CAPPED,
    S.MATCHED_HOUSEHOLDS,
    S.POVERTY_VILLAGES,
    S.VILLAGES_EXITED,
)
COUNT_COLUMNS: tuple[str, ...] = PROJECT_COUNT_COLUMNS + REGISTRY_COUNT_COLUMNS
_FLOAT_COUNTS = frozenset({S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT, S.MATCHED_HOUSEHOLDS})
PLAN_COUNT_COLUMNS: tuple[str, ...] = (S.COUNTY_LIBRARIES, S.TOWNSHIP_ROUTE_MAPS, S.VILLAGE_PLANS)
SUMMARY_ID_COLUMNS: tuple[str, ...] = (S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE)

# prepared-project columns (private to metrics/query)
_KEY = {
    "prefecture": "_key_prefecture",
    "county": "_key_county",
    "township": "_key_township",
    "village": "_key_village",
}
_DONE = "_completed"
_SIX = "_six_fixes"
_PREPARED_MARK = "_prepared"


def _level_check(level: str, *, allowed: tuple[str, ...] = S.LEVELS) -> None:
    if level not in allowed:
        raise LedgerError(f"level was {level!r} but is expected to be one of {list(allowed)}")


def isin_index(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Elementwise membership in a unique ``index`` (hash lookup; NA is never a member)."""
    return index.get_indexer(pd.Index(values)) >= 0


def _pad(codes: pd.Series, n: int) -> pd.Series:
    """First ``n`` digits of 12-digit codes, right-padded with zeros (NA stays NA)."""
    return codes.str.slice(0, n).str.pad(12, side="right", fillchar="0")


# --- projects ------------------------------------------------------------------------------
def six_fixes_missing(projects: pd.DataFrame) -> pd.DataFrame:
    """Return a boolean frame (one column per fix of ``schema.SIX_FIXES``): True = missing.

    A fix is missing when its field is null or blank; the funds fix also when ``funds_planned``
    is not positive.
    """
    out = {}
    for fix, col in S.SIX_FIXES.items():
        if col not in projects.columns:
            raise LedgerError(f"projects lack column {col!r} (六定 field for {fix!r}); add it")
        s = projects[col]
        missing = s.isna().to_numpy().copy()
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            missing |= s.astype("str").str.strip().eq("").to_numpy() & ~missing
        if col == S.FUNDS_PLANNED:
            missing |= ~(pd.to_numeric(s, errors="coerce").fillna(0).to_numpy() > 0)
        out[fix] = missing
    return pd.DataFrame(out, index=projects.index)


def is_prepared(projects: pd.DataFrame) -> bool:
    """True if ``projects`` came from :func:`prepare_projects`."""
    return _PREPARED_MARK in projects.columns


def prepare_projects(projects: pd.DataFrame) -> pd.DataFrame:
    """Return a light, geometry-free copy of the projects with the unit code of every level.

    Row ``i`` is row ``i`` of the input (the result has a fresh RangeIndex). Adds
    categorical key columns (prefecture, county, township, village codes; township and
    village are NA for county-wide projects) and 0/1 completed and six-fixes flags. Keep the
    result in memory and pass it to :mod:`layers.query` so a filter change is one groupby.
    """
    if is_prepared(projects):
        return projects
    for col in (S.COUNTY_CODE, S.STATUS, *PROJECT_COUNT_COLUMNS[3:]):
        if col not in projects.columns:
            raise LedgerError(f"projects lack column {col!r}; add it (see layers/schema.py)")
    keep = [
        c
        for c in (
            S.PROJECT_ID,
            S.COUNTY_CODE,
            S.TOWNSHIP_CODE,
            S.VILLAGE_CODE,
            S.SECTOR,
            S.PLAN_YEAR,
            S.STATUS,
            S.COMPLETION_DATE,
            S.FUNDS_PLANNED,
            S.FUNDS_ALLOCATED,
            S.FUNDS_SPENT,
            S.FUND_SOURCE,
        )
        if c in projects.columns
    ]
    out = pd.DataFrame(projects[keep]).reset_index(drop=True)  # a copy (copy-on-write)
    county = out[S.COUNTY_CODE].astype("str")
    village = out[S.VILLAGE_CODE].astype("str") if S.VILLAGE_CODE in out else None
    township = out[S.TOWNSHIP_CODE].astype("str") if S.TOWNSHIP_CODE in out else None
    if township is None and village is not None:
        township = _pad(village, 9)
    elif township is not None and village is not None:
        township = township.fillna(_pad(village, 9))
    out[_KEY["prefecture"]] = _pad(county, 4).astype("category")
    out[_KEY["county"]] = _pad(county, 6).astype("category")
    na = pd.Series(pd.NA, index=out.index, dtype="str")
    out[_KEY["township"]] = (township if township is not None else na).astype("category")
    out[_KEY["village"]] = (village if village is not None else na).astype("category")
    for col in (S.SECTOR, S.STATUS, S.FUND_SOURCE):
        if col in out:
            out[col] = out[col].astype("category")
    out[_DONE] = out[S.STATUS].isin(S.COMPLETED_STATUSES).to_numpy().astype("int64")
    out[_SIX] = (~six_fixes_missing(projects).to_numpy().any(axis=1)).astype("int64")
    for col in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out[_PREPARED_MARK] = True
    return out


def project_key(projects: pd.DataFrame, level: str) -> pd.Series:
    """Return each project's unit code at ``level`` (NA where the project is above it)."""
    _level_check(level)
    p = prepare_projects(projects)
    if level == "province":
        return pd.Series(S.PROVINCE_CODE, index=p.index, dtype="str")
    return p[_KEY[level]]


def project_counts(projects: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """Sum the project counts per unit of ``level`` (index: 12-digit code).

    Columns: ``projects, projects_completed, projects_six_fixes, funds_planned,
    funds_allocated, funds_spent``. County-wide projects have no township or village and so are
    left out at those levels.
    """
    _level_check(level)
    p = prepare_projects(projects)
    values = p[[_DONE, _SIX, S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT]]
    if level == "province":
        sums = values.sum().to_frame().T
        sums.insert(0, S.N_PROJECTS, len(p))
        sums.index = pd.Index([S.PROVINCE_CODE], name=S.CODE)
    else:
        key = p[_KEY[level]]
        grouped = values.groupby(key, observed=True, sort=False)
        sums = grouped.sum()
        sums.insert(0, S.N_PROJECTS, grouped.size())
        sums.index = sums.index.astype("str").rename(S.CODE)
    sums = sums.rename(columns={_DONE: S.N_COMPLETED, _SIX: S.N_SIX_FIXES})
    for col in (S.N_PROJECTS, S.N_COMPLETED, S.N_SIX_FIXES):
        sums[col] = sums[col].astype("int64")
    return sums[list(PROJECT_COUNT_COLUMNS)]


def fund_sums(projects: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """The ``funds_*`` of :func:`project_counts` at ``level`` from the county codes and funds
    alone (no :func:`prepare_projects`): the same float summation, so the same numbers.

    Parameters
    ----------
    projects
        Projects with ``county_code`` and the fund columns.
    level
        ``"prefecture"`` or ``"province"``.

    Returns
    -------
    pandas.DataFrame
        ``funds_planned, funds_allocated, funds_spent`` per unit (index: 12-digit code).
    """
    if level not in ("prefecture", "province"):
        raise LedgerError(f"level was {level!r} but is expected to be prefecture or province")
    cols = list(PROJECT_COUNT_COLUMNS[3:])
    # project_counts' float columns, each summed on its own by pandas in ledger order
    funds = pd.DataFrame({c: pd.to_numeric(projects[c], errors="coerce") for c in cols})
    if level == "province":
        return funds.astype("float64").sum().to_frame(S.PROVINCE_CODE).T.rename_axis(S.CODE)
    # the prefecture of each distinct county code (NA stays NA), not of each of 192,000 rows
    at, counties = pd.factorize(projects[S.COUNTY_CODE].astype("str"))
    pref_at, prefectures = pd.factorize(_pad(pd.Series(counties, dtype="str"), 4))
    codes = np.where(at < 0, -1, pref_at[np.maximum(at, 0)] if len(pref_at) else -1)
    key = pd.Categorical.from_codes(codes, categories=pd.Index(prefectures, dtype="str"))
    sums = funds.astype("float64").groupby(key, observed=True, sort=False).sum()
    return sums.set_axis(sums.index.astype("str").rename(S.CODE))[cols]


# --- registry ------------------------------------------------------------------------------
def _positions(values: pd.Series | np.ndarray, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 if absent or NA); fast for categoricals."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        where = index.get_indexer(values.cat.categories.astype(index.dtype, copy=False))
        # code -1 (NA) picks the appended -1
        return np.append(where, -1)[values.cat.codes.to_numpy()].astype("int64")
    return index.get_indexer(pd.Index(values)).astype("int64")


def crosstab(
    rows: pd.Series | np.ndarray,
    cols: pd.Series | np.ndarray,
    *,
    index: pd.Index | list,
    columns: pd.Index | list,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Count (or sum ``weights``) per (row, column) pair into a dense ``index × columns`` frame.

    Values outside ``index``/``columns`` (or NA) are ignored. ``index`` must be unique. One
    ``bincount`` — ``pandas.crosstab`` on string keys is orders of magnitude slower.
    """
    index = pd.Index(index)
    columns = pd.Index(columns)
    r = _positions(rows, index)
    c = _positions(cols, columns)
    ok = (r >= 0) & (c >= 0)
    flat = r[ok] * len(columns) + c[ok]
    w = None if weights is None else np.asarray(weights, dtype="float64")[ok]
    counts = np.bincount(flat, weights=w, minlength=len(index) * len(columns))
    if weights is None:
        counts = counts.astype("int64")
    return pd.DataFrame(counts.reshape(len(index), len(columns)), index=index, columns=columns)


def matched_households(registry: pd.DataFrame, projects: pd.DataFrame) -> pd.Series:
    """Poor households per village whose main cause has a project of a remedying sector there.

    Only village-level projects count (county-wide ones serve no single village). Index: the
    registry's index.
    """
    missing = [c for c in S.CAUSE_COLUMNS if c not in registry.columns]
    if missing:
        raise LedgerError(
            f"registry lacks cause columns {missing}; add them (households per main cause)"
        )
    p = prepare_projects(projects)
    villages = registry[S.VILLAGE_CODE].astype("str")
    unique = pd.Index(villages.dropna().unique())
    present = crosstab(p[_KEY["village"]], p[S.SECTOR], index=unique, columns=S.SECTORS)
    present = present.reindex(villages.to_numpy(), fill_value=0) > 0
    total = np.zeros(len(registry), dtype="int64")
    for cause, sectors in S.CAUSE_REMEDY_SECTORS.items():
        matched = present[sorted(sectors)].to_numpy().any(axis=1)
        hh = pd.to_numeric(registry[f"cause_{cause}"], errors="coerce").fillna(0).to_numpy()
        total += np.where(matched, hh, 0).astype("int64")
    return pd.Series(total, index=registry.index, name=S.MATCHED_HOUSEHOLDS)


def village_counts(
    registry: pd.DataFrame,
    *,
    exit_by: int = 2020,
    projects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the additive registry counts per village (index: village code).

    A village is a poverty village by its ``poverty_village`` column when the registry carries
    one (``aggregate`` adds it from admin_units), else when it has a ``planned_exit_year``.
    ``villages_exited`` counts poverty villages with ``exit_year <= exit_by``.
    ``matched_households`` needs ``projects`` (else it is NaN).
    """
    for col in (S.VILLAGE_CODE, S.POOR_HOUSEHOLDS, S.POOR_POPULATION, S.COVERED_POPULATION):
        if col not in registry.columns:
            raise LedgerError(f"registry lacks column {col!r}; add it (see layers/schema.py)")
    poor = pd.to_numeric(registry[S.POOR_POPULATION], errors="coerce").fillna(0)
    covered = pd.to_numeric(registry[S.COVERED_POPULATION], errors="coerce").fillna(0)
    if S.POVERTY_VILLAGE in registry.columns:
        poverty = registry[S.POVERTY_VILLAGE].fillna(False).astype(bool)
    else:
        poverty = registry[S.PLANNED_EXIT_YEAR].notna()
    exit_year = pd.to_numeric(registry[S.EXIT_YEAR], errors="coerce")
    out = pd.DataFrame(
        {
            S.POOR_HOUSEHOLDS: pd.to_numeric(registry[S.POOR_HOUSEHOLDS], errors="coerce")
            .fillna(0)
            .astype("int64"),
            S.POOR_POPULATION: poor.astype("int64"),
            S.COVERED_CAPPED: np.minimum(covered, poor).astype("int64"),
            S.MATCHED_HOUSEHOLDS: (
                matched_households(registry, projects).astype("float64")
                if projects is not None
                else np.nan
            ),
            S.POVERTY_VILLAGES: poverty.astype("int64"),
            S.VILLAGES_EXITED: (poverty & (exit_year <= exit_by).fillna(False)).astype("int64"),
        },
        index=registry.index,
    )
    out.index = pd.Index(registry[S.VILLAGE_CODE].astype("str"), name=S.CODE)
    return out


def registry_counts(
    registry: pd.DataFrame,
    *,
    level: str,
    exit_by: int = 2020,
    projects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sum the registry counts of :func:`village_counts` per unit of ``level``.

    Columns: ``poor_households, poor_population, covered_population_capped,
    matched_households, poverty_villages, villages_exited``; index: 12-digit code.
    """
    _level_check(level)
    return _group_villages(village_counts(registry, exit_by=exit_by, projects=projects), level)


def _group_villages(v: pd.DataFrame, level: str) -> pd.DataFrame:
    """Sum per-village counts (index: village code) per unit of ``level``."""
    matched_known = v[S.MATCHED_HOUSEHOLDS].notna().all()
    key = pd.Series(v.index, index=v.index).str.slice(0, S.LEVEL_DIGITS[level])
    key = key.str.pad(12, side="right", fillchar="0")
    out = v.groupby(key.to_numpy(), sort=True).sum()
    out.index = out.index.astype("str").rename(S.CODE)
    if not matched_known:
        out[S.MATCHED_HOUSEHOLDS] = np.nan
    return out


def _plan_counts(admin_units: pd.DataFrame) -> pd.DataFrame:
    """Counties with libraries, townships with route maps, villages with plans, per unit."""
    if S.HAS_TASKS not in admin_units.columns:
        raise LedgerError(
            f"admin_units lack column {S.HAS_TASKS!r}; mark the units that carry a library or plan"
        )
    units = admin_units[[S.CODE, S.LEVEL, S.HAS_TASKS]]
    tasks = units[units[S.HAS_TASKS].fillna(False).astype(bool)]
    out = pd.DataFrame(0, index=pd.Index(units[S.CODE].astype("str"), name=S.CODE), columns=[])
    for level, col in zip(("county", "township", "village"), PLAN_COUNT_COLUMNS, strict=True):
        codes = tasks.loc[tasks[S.LEVEL] == level, S.CODE].astype("str")
        counts = pd.Series(0, index=out.index, dtype="int64")
        for anc in S.LEVELS[: S.LEVELS.index(level) + 1]:
            vc = _pad(codes, S.LEVEL_DIGITS[anc]).value_counts()
            counts = counts.add(vc.reindex(out.index, fill_value=0), fill_value=0)
        # a unit is counted at its own level and by each ancestor, never twice
        out[col] = counts.astype("int64")
    return out


def aggregate(
    admin_units: pd.DataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    exit_by: int = 2020,
) -> pd.DataFrame:
    """Return ``region_summary``: every unit of every level (province included) with counts,
    rates and ``county_libraries, township_route_maps, village_plans``.

    ``projects`` must be located (their codes are trusted); counts are summed per level from
    the projects and registry directly, so every level sums exactly from its children.
    """
    for col in SUMMARY_ID_COLUMNS:
        if col not in admin_units.columns:
            raise LedgerError(f"admin_units lack column {col!r}; add it (see layers/schema.py)")
    units = pd.DataFrame(
        {c: admin_units[c].to_numpy() for c in SUMMARY_ID_COLUMNS}, index=admin_units.index
    )
    units[S.CODE] = units[S.CODE].astype("str")
    reg = _with_poverty_flag(registry, admin_units)
    p = prepare_projects(projects)
    villages = village_counts(reg, exit_by=exit_by, projects=p)
    parts = []
    for level in S.LEVELS:
        codes = units.loc[units[S.LEVEL] == level, S.CODE]
        pc = project_counts(p, level=level)
        rc = _group_villages(villages, level)
        block = pd.concat([pc, rc], axis=1).reindex(codes.to_numpy())
        parts.append(block)
    counts = pd.concat(parts)
    counts = counts[~counts.index.duplicated()]
    out = units.join(counts, on=S.CODE)
    for col in COUNT_COLUMNS:
        if col == S.MATCHED_HOUSEHOLDS:
            out[col] = out[col].fillna(0).astype("float64")
        elif col in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT):
            out[col] = out[col].fillna(0.0).astype("float64")
        else:
            out[col] = out[col].fillna(0).astype("int64")
    out = out.join(_plan_counts(admin_units), on=S.CODE)
    out = add_rates(out)
    order = pd.Categorical(out[S.LEVEL], categories=list(S.LEVELS), ordered=True)
    out = out.assign(_order=order).sort_values(["_order", S.CODE]).drop(columns="_order")
    return out.reset_index(drop=True)


def unit_counts(
    admin_units: pd.DataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    level: str,
    codes: pd.Index | np.ndarray,
    exit_by: int = 2020,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return ``COUNT_COLUMNS`` for the units ``codes`` of ``level`` (0 where nothing counts).

    With ``summary`` (the ``region_summary`` of :func:`aggregate` for the same inputs) the
    counts are looked up there instead of being recomputed — the layer builders share one pass.
    """
    codes = pd.Index(np.asarray(codes, dtype=object)).astype("str")
    if summary is not None:
        found = summary.drop_duplicates(S.CODE).set_index(S.CODE)
        counts = found.reindex(codes)[list(COUNT_COLUMNS)]
    else:
        p = prepare_projects(projects)
        reg = _with_poverty_flag(registry, admin_units)
        counts = pd.concat(
            [
                project_counts(p, level=level),
                registry_counts(reg, level=level, exit_by=exit_by, projects=p),
            ],
            axis=1,
        ).reindex(codes)
    return pd.DataFrame(
        {
            col: pd.to_numeric(counts[col])
            .fillna(0)
            .to_numpy()
            .astype("float64" if col in _FLOAT_COUNTS else "int64")
            for col in COUNT_COLUMNS
        },
        index=codes,
    )


def with_unit_counts(
    frame: pd.DataFrame,
    admin_units: pd.DataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    level: str,
    exit_by: int = 2020,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Copy of ``frame`` (one row per unit of ``level``, keyed by ``code``) with the
    ``COUNT_COLUMNS`` of :func:`unit_counts` and the rates of :func:`add_rates` appended.

    The step every layer builder (county library, route map, village plan) shares.
    """
    counts = unit_counts(
        admin_units,
        registry,
        projects,
        level=level,
        codes=frame[S.CODE].to_numpy(),
        exit_by=exit_by,
        summary=summary,
    )
    values = {col: counts[col].to_numpy() for col in COUNT_COLUMNS}
    return set_columns(set_columns(frame, values), rates(values))


def _with_poverty_flag(registry: pd.DataFrame, admin_units: pd.DataFrame) -> pd.DataFrame:
    """Registry with the ``poverty_village`` flag of admin_units (False if the unit is unknown)."""
    if S.POVERTY_VILLAGE not in admin_units.columns:
        return registry
    villages = admin_units.loc[admin_units[S.LEVEL] == "village", [S.CODE, S.POVERTY_VILLAGE]]
    flag = pd.Series(
        villages[S.POVERTY_VILLAGE].fillna(False).astype(bool).to_numpy(),
        index=villages[S.CODE].astype("str").to_numpy(),
    )
    flag = flag[~flag.index.duplicated()]
    out = registry.copy()
    out[S.POVERTY_VILLAGE] = (
        registry[S.VILLAGE_CODE].astype("str").map(flag).fillna(False).astype(bool)
    )
    return out


def aggregate_zones(region_summary: pd.DataFrame, zone_members: pd.DataFrame) -> pd.DataFrame:
    """Return ``zone_summary``: one row per zone, counts summed over its member counties.

    ``zone_members`` is ``layers.zones.zone_members`` output (``zone, code`` with county codes);
    a code listed twice in a zone counts once. Rates come from the summed counts.
    """
    for col in (S.ZONE, S.CODE):
        if col not in zone_members.columns:
            raise LedgerError(f"zone_members lack column {col!r}; expected columns zone, code")
    members = zone_members[[S.ZONE, S.CODE]].astype({S.CODE: "str"}).drop_duplicates()
    cols = [c for c in (*COUNT_COLUMNS, *PLAN_COUNT_COLUMNS) if c in region_summary.columns]
    counties = region_summary.loc[region_summary[S.LEVEL] == "county", [S.CODE, *cols]]
    unknown = members.loc[~members[S.CODE].isin(counties[S.CODE]), S.CODE]
    if len(unknown):
        raise LedgerError(
            f"zone_members name codes that are no county of region_summary: "
            f"{sorted(unknown.unique())[:5]}; zone members must be 12-digit county codes"
        )
    merged = members.merge(counties, on=S.CODE, how="left")
    zones = pd.unique(members[S.ZONE])
    out = merged.groupby(S.ZONE, sort=False)[cols].sum().reindex(zones)
    out.insert(0, "counties", members.groupby(S.ZONE, sort=False).size().reindex(zones))
    return add_rates(out.reset_index())


def _native(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    return None if value is None or value is pd.NA else value


def kpis(row: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    """Return the headline KPIs of one summary row as plain Python values (NaN → None).

    Keys: projects, completion, coverage (fractions 0..1), funds_planned, funds_allocated,
    funds_spent, funds_execution, poor_population, poor_households, six_fixes,
    exit_progress, matched_remedy, county_libraries, township_route_maps, village_plans.
    """
    data = dict(row)
    if not all(r in data for r in RATE_DEFINITIONS):
        data = dict(add_rates(pd.DataFrame([data])).iloc[0])
    keys = (
        *(S.N_PROJECTS, S.COMPLETION, S.COVERAGE, S.FUNDS_PLANNED, S.FUNDS_ALLOCATED),
        *(S.FUNDS_SPENT, S.FUNDS_EXECUTION, S.POOR_POPULATION, S.POOR_HOUSEHOLDS),
        *(S.SIX_FIXES_RATE, S.EXIT_PROGRESS, S.MATCHED_REMEDY, *PLAN_COUNT_COLUMNS),
    )
    return {k: _native(data.get(k)) for k in keys}
