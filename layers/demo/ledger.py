"""Generate the demo project ledger: projects of the plan villages and counties, Yunnan-calibrated.

``generate_projects`` draws the ledger in steps, all from one ``numpy.random.default_rng([seed,
2])`` and vectorised over projects (no per-row Python loop): projects allocated to villages and
counties, sectors, plan years, statuses, dates, funds, beneficiaries, names/units/references,
points and codes, then the planted anomalies. The steps run in a fixed order, because the
generator's sequence of draws defines the ledger: the same seed gives the same frame. Totals and
assumptions are in ``layers.demo.calibration``.
"""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import partition
from layers import schema as S
from layers.demo.calibration import (
    BUREAUS,
    CAUSE_SHARE_OF_SECTOR_MIX,
    CONSOLIDATION_SHARE,
    COUNTY_WIDE_FUNDS_FACTOR,
    COUNTY_WIDE_SHARE,
    DURATION_MEDIAN,
    FIRST_YEAR,
    FUND_SOURCE_MIX,
    FUNDS_MEDIAN,
    FUNDS_SIGMA,
    INSPECTION_RESULTS,
    INSPECTION_WEIGHTS,
    LAST_YEAR,
    NAME_TEMPLATES,
    PUBLISHED_COMPLETION,
    PUBLISHED_PROJECTS,
    SECTOR_BASE,
    SECTOR_COUNTY_WIDE,
    SECTOR_MOUNTAIN,
    SNAPSHOT_DATE,
    YEARS,
    anomaly_counts,
    check_scale,
)
from layers.demo.frames import (
    aligned_registry,
    draw_categorical,
    int_strings,
    task_counties,
    village_frame,
)
from layers.errors import BoundaryError
from layers.settings import STORAGE_CRS

__all__ = ["generate_projects"]


_NAT = np.datetime64("NaT", "D")


class _Area(NamedTuple):
    """The units that receive projects: plan villages, their registry rows, task counties."""

    v: pd.DataFrame  # village_frame
    reg: pd.DataFrame  # registry aligned with v
    counties: pd.DataFrame  # task_counties


class _Allocation(NamedTuple):
    """Where each project lies: village-level projects first, then the county-wide ones."""

    per_village: np.ndarray  # projects per plan village
    vi: np.ndarray  # village index of each village-level project (grouped by village)
    ci_cw: np.ndarray  # county index of each county-wide project
    ci_all: np.ndarray  # county index of every project
    is_cw: np.ndarray  # county-wide flag of every project
    lag: np.ndarray  # lagging-area flag of every project
    n_village: int  # number of village-level projects


class _Dates(NamedTuple):
    start: np.ndarray
    completion: np.ndarray
    notice: np.ndarray


class _Funds(NamedTuple):
    planned: np.ndarray
    allocated: np.ndarray
    spent: np.ndarray
    source: np.ndarray  # index into schema.FUND_SOURCES


class _Beneficiaries(NamedTuple):
    unit_poor: np.ndarray  # poor population of the project's village (county if county-wide)
    poor: np.ndarray
    households: np.ndarray


class _Texts(NamedTuple):
    name: np.ndarray
    responsible: np.ndarray
    approval: np.ndarray
    inspection: np.ndarray


class _Places(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    county_code: np.ndarray
    township_code: np.ndarray
    village_code: np.ndarray


class _Ledger(NamedTuple):
    """Every drawn column; the anomaly steps edit the arrays in place."""

    sector: np.ndarray  # index into schema.SECTORS
    plan_year: np.ndarray
    status: np.ndarray  # index into schema.STATUSES
    dates: _Dates
    funds: _Funds
    beneficiaries: _Beneficiaries
    texts: _Texts
    places: _Places


def generate_projects(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    *,
    seed: int,
    scale: float = 1.0,
    replica: int = 0,
) -> gpd.GeoDataFrame:
    """Generate the project ledger (``schema.PROJECT_COLUMNS`` + Point geometry, EPSG:4326).

    ``round(192000 * scale)`` projects, of which exactly ``round(0.977 * n)`` are completed or
    accepted; the unfinished ones concentrate in plan years 2019–2020 and in 怒江/迪庆/镇彝威.
    About 5% are county-wide (``county_code`` only, township/village null, no geometry); every other
    project has a point inside its village polygon and every plan village has at least one project.
    Sectors mix a base by area with the village's causes of poverty (high, not total, matched
    remedy); ``plan_year`` 2016–2020 mostly at or before the village's (or county's) exit year,
    with a tail of consolidation projects after; funds in 万元 log-normal by sector, allocated and
    spent consistent with status; dates up to 2020-12-31.

    Deliberate anomalies (counts at scale 1, see ``calibration.anomaly_counts(scale)``):
    2,304 completed projects (1.2%) miss one six-fixes field (with the planned/approved projects,
    which lack approval, notice or inspection by nature, ≈2% of all projects); 36 points lie in
    a neighbouring village; 36 rows have no village/township code but a point inside their
    village; 24 spent > allocated; 24 completed without completion_date; 12 unfinished with a
    completion_date; 24 beneficiary_poor_population > the village's poor population. The
    anomaly sets are disjoint. The registry carries no planted anomaly.

    Parameters
    ----------
    admin_units
        All levels; villages with ``has_tasks`` receive projects, counties with ``has_tasks``
        receive the county-wide ones.
    registry
        ``generate_registry`` output (or any registry with one row per plan village).
    seed
        Seed of the random generator.
    scale
        Fraction of the 192,000 projects to generate.
    replica
        0 for the ledger; k > 0 draws the k-th further ledger of ``--scale N`` (its own stream).

    Returns
    -------
    geopandas.GeoDataFrame
        ``schema.PROJECT_COLUMNS`` + geometry, ordered by county and plan year.
    """
    check_scale(scale)
    v = village_frame(admin_units)
    area = _Area(v, aligned_registry(registry, v), task_counties(admin_units))
    rng = np.random.default_rng([seed, 2, replica] if replica else [seed, 2])
    n_total = max(1, round(PUBLISHED_PROJECTS * scale))

    # the order of these steps is the order of the generator's draws: do not reorder
    alloc = _allocate(rng, area, n_total)
    sector = _sectors(rng, area, alloc)
    plan_year = _plan_years(rng, area, alloc)
    status = _statuses(rng, plan_year, alloc.lag, alloc.is_cw, n_total)
    dates = _dates(rng, plan_year, sector, status)
    funds = _funds(rng, sector, status, alloc.is_cw)
    beneficiaries = _beneficiaries(rng, area, alloc)
    name, responsible = _names_and_units(rng, area, alloc, sector)
    approval = _approval_refs(rng, area.counties, alloc.ci_all, plan_year, status)
    texts = _Texts(name, responsible, approval, _inspections(rng, status))
    places = _places(rng, area, alloc)
    ledger = _Ledger(sector, plan_year, status, dates, funds, beneficiaries, texts, places)
    _plant_anomalies(rng, ledger, alloc, anomaly_counts(scale), len(v))
    return _frame(ledger, alloc, area.counties)


# --- steps, in draw order --------------------------------------------------------------------
def _allocate(rng: np.random.Generator, area: _Area, n_total: int) -> _Allocation:
    """Projects per village (one each, the rest multinomial by need) and county-wide ones."""
    v, reg, counties = area
    n_villages = len(v)
    n_county_wide = min(round(COUNTY_WIDE_SHARE * n_total), n_total - min(n_villages, n_total))
    n_village = n_total - n_county_wide
    poor = reg[S.POOR_POPULATION].to_numpy(np.int64)
    poverty_village = v[S.POVERTY_VILLAGE].to_numpy(bool)
    lag_v = v["_lagging"].to_numpy()

    w = np.sqrt(poor + 1.0) * np.where(poverty_village, 1.4, 1.0) * np.where(lag_v, 1.2, 1.0)
    base_count = 1 if n_village >= n_villages else 0
    per_village = base_count + rng.multinomial(n_village - base_count * n_villages, w / w.sum())
    vi = np.repeat(np.arange(n_villages), per_village)

    # county-wide projects by county (weighted by plan villages + 1)
    county_codes = counties[S.CODE].to_numpy()
    villages_per_county = (
        v["_county"].value_counts().reindex(county_codes, fill_value=0).to_numpy(float)
    )
    cw = rng.multinomial(n_county_wide, (villages_per_county + 1) / (villages_per_county + 1).sum())
    ci_cw = np.repeat(np.arange(len(counties)), cw)

    is_cw = np.r_[np.zeros(len(vi), bool), np.ones(len(ci_cw), bool)]
    ci_all = np.r_[pd.Index(county_codes).get_indexer(v["_county"].to_numpy()[vi]), ci_cw]
    if (ci_all < 0).any():
        raise BoundaryError(
            "admin_units: a village with has_tasks lies in a county without has_tasks; "
            "set has_tasks on its county or clear it on the village"
        )
    lag = np.r_[lag_v[vi], counties["_lagging"].to_numpy()[ci_cw]]
    return _Allocation(per_village, vi, ci_cw, ci_all, is_cw, lag, n_village)


def _sectors(rng: np.random.Generator, area: _Area, alloc: _Allocation) -> np.ndarray:
    """Sector index per project: village mix blended with its causes; a county-wide mix."""
    sector = np.empty(len(alloc.is_cw), dtype=np.int64)
    sector[: alloc.n_village] = draw_categorical(
        rng, _village_sector_probs(area.v, area.reg)[alloc.vi], None
    )
    sector[alloc.n_village :] = rng.choice(
        len(S.SECTORS), size=len(alloc.ci_cw), p=SECTOR_COUNTY_WIDE / SECTOR_COUNTY_WIDE.sum()
    )
    return sector


def _village_sector_probs(v: pd.DataFrame, reg: pd.DataFrame) -> np.ndarray:
    """Sector probabilities per village: area base mix blended with its cause-remedy mix."""
    remedy = np.zeros((len(S.CAUSES), len(S.SECTORS)))
    for i, cause in enumerate(S.CAUSES):  # 10 × 10 table, not per row
        for sector in S.CAUSE_REMEDY_SECTORS[cause]:
            remedy[i, S.SECTORS.index(sector)] = 1 / len(S.CAUSE_REMEDY_SECTORS[cause])
    causes = reg[list(S.CAUSE_COLUMNS)].to_numpy(float)
    hh = causes.sum(axis=1, keepdims=True)
    cause_mix = np.divide(causes, hh, out=np.full_like(causes, 0.1), where=hh > 0) @ remedy
    base = SECTOR_BASE * np.where(v["_mountain"].to_numpy()[:, None], SECTOR_MOUNTAIN, 1.0)
    relocating = reg[S.RELOCATED_POPULATION].to_numpy() > 0
    base[:, S.SECTORS.index("relocation")] *= np.where(relocating, 1.0, 0.1)
    base /= base.sum(axis=1, keepdims=True)
    return (1 - CAUSE_SHARE_OF_SECTOR_MIX) * base + CAUSE_SHARE_OF_SECTOR_MIX * cause_mix


def _plan_years(rng: np.random.Generator, area: _Area, alloc: _Allocation) -> np.ndarray:
    """Plan years 2016–2020: mostly at or before the anchor exit year, 15% consolidation after."""
    county_exit = area.v[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    village_exit = area.reg[S.PLANNED_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    anchor_v = np.where(np.isnan(village_exit), county_exit, village_exit)
    anchor_v = np.where(np.isnan(anchor_v), 2019, anchor_v)
    anchor_c = area.counties[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    anchor_c = np.where(np.isnan(anchor_c), 2019, anchor_c)
    anchor = np.r_[anchor_v[alloc.vi], anchor_c[alloc.ci_cw]].astype(int)[:, None]
    ratio = np.where(alloc.lag, 0.45, 0.7)[:, None]
    years = YEARS[None, :]
    before = np.where(years <= anchor, ratio ** np.clip(anchor - years, 0, None), 0.0)
    before /= before.sum(axis=1, keepdims=True)
    after = np.where(years > anchor, 0.7 ** np.clip(years - anchor - 1, 0, None), 0.0)
    after_sum = after.sum(axis=1, keepdims=True)
    after = np.divide(after, after_sum, out=np.zeros_like(after), where=after_sum > 0)
    tail = np.where(after_sum > 0, CONSOLIDATION_SHARE, 0.0)
    return draw_categorical(rng, (1 - tail) * before + tail * after, YEARS)


def _statuses(
    rng: np.random.Generator,
    plan_year: np.ndarray,
    lag: np.ndarray,
    is_cw: np.ndarray,
    n_total: int,
) -> np.ndarray:
    """Status index per project: exactly round(97.7% · n) completed or accepted."""
    n = len(plan_year)
    n_open = n_total - round(PUBLISHED_COMPLETION * n_total)
    year_factor = np.array([0.03, 0.08, 0.3, 1.0, 4.0])[plan_year - FIRST_YEAR]
    w = year_factor * np.where(lag, 3.0, 1.0) * np.where(is_cw, 1.5, 1.0)
    # weighted sampling without replacement: the n_open smallest exponential keys (Efraimidis)
    keys = rng.exponential(size=n) / w
    open_ = np.zeros(n, bool)
    if n_open:
        open_[np.argpartition(keys, n_open - 1)[:n_open]] = True
    late = plan_year == LAST_YEAR
    # unfinished: planned / approved / in_progress
    p_open = np.where(late[:, None], [0.15, 0.25, 0.6], [0.05, 0.15, 0.8])
    open_status = draw_categorical(rng, p_open)
    # finished: completed (not yet accepted) / accepted; recent projects less often accepted
    accepted_p = np.array([0.97, 0.95, 0.9, 0.8, 0.55])[plan_year - FIRST_YEAR]
    done_status = np.where(rng.random(n) < accepted_p, 4, 3)
    return np.where(open_, open_status, done_status)


def _done(status: np.ndarray) -> np.ndarray:
    """Completed or accepted."""
    return np.isin(status, [S.STATUSES.index(s) for s in S.COMPLETED_STATUSES])


def _started(status: np.ndarray) -> np.ndarray:
    """In progress, completed or accepted."""
    return status >= S.STATUSES.index("in_progress")


def _dates(
    rng: np.random.Generator, plan_year: np.ndarray, sector: np.ndarray, status: np.ndarray
) -> _Dates:
    """Start, completion and public-notice dates (days), NaT where the status has none."""
    n = len(status)
    started = _started(status)
    year_start = (plan_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    start = year_start + rng.integers(30, 330, n).astype("timedelta64[D]")
    duration = rng.lognormal(np.log(DURATION_MEDIAN[sector]), 0.4)
    room = (SNAPSHOT_DATE - start).astype(float)
    duration = np.where(duration > room, room * rng.uniform(0.5, 1.0, n), duration)
    completion = start + duration.astype(int).astype("timedelta64[D]")
    notice = np.where(
        started,
        start - rng.integers(7, 60, n).astype("timedelta64[D]"),
        year_start + rng.integers(0, 200, n).astype("timedelta64[D]"),
    )
    start = np.where(started, start, _NAT)
    completion = np.where(_done(status), completion, _NAT)
    notice = np.where(status == S.STATUSES.index("planned"), _NAT, notice)
    return _Dates(start, completion, notice)


def _funds(
    rng: np.random.Generator, sector: np.ndarray, status: np.ndarray, is_cw: np.ndarray
) -> _Funds:
    """Planned, allocated and spent funds (万元) consistent with status; the fund source."""
    planned = rng.lognormal(np.log(FUNDS_MEDIAN[sector]), FUNDS_SIGMA)
    planned *= np.where(is_cw, COUNTY_WIDE_FUNDS_FACTOR, 1.0)
    planned = np.maximum(np.round(planned, 2), 0.5)
    alloc_lo = np.array([0.0, 0.2, 0.5, 0.92, 0.95])[status]
    alloc_hi = np.array([0.0, 0.8, 1.0, 1.0, 1.0])[status]
    allocated = np.round(planned * rng.uniform(alloc_lo, alloc_hi), 2)
    spent_lo = np.array([0.0, 0.0, 0.2, 0.9, 0.97])[status]
    spent_hi = np.array([0.0, 0.0, 0.9, 1.0, 1.0])[status]
    spent = np.floor(allocated * rng.uniform(spent_lo, spent_hi) * 100) / 100
    source = draw_categorical(rng, FUND_SOURCE_MIX[sector], None)
    return _Funds(planned, allocated, spent, source)


def _beneficiaries(rng: np.random.Generator, area: _Area, alloc: _Allocation) -> _Beneficiaries:
    """Beneficiary poor people and households: a share of the village's (county's) poor."""
    n = len(alloc.is_cw)
    poor = area.reg[S.POOR_POPULATION].to_numpy(np.int64)
    county_codes = area.counties[S.CODE].to_numpy()
    by_county = pd.Series(poor).groupby(area.v["_county"].to_numpy()).sum()
    county_poor = by_county.reindex(county_codes, fill_value=0).to_numpy()
    unit_poor = np.r_[poor[alloc.vi], county_poor[alloc.ci_cw]]
    share = np.where(alloc.is_cw, rng.uniform(0.02, 0.3, n), rng.uniform(0.05, 0.9, n))
    ben_poor = np.where(unit_poor > 0, np.maximum(np.rint(unit_poor * share), 1), 0)
    households = np.rint(ben_poor / rng.uniform(3.5, 4.0, n) * rng.uniform(1.0, 1.8, n))
    households = np.where(ben_poor > 0, np.maximum(households, 1), 0)
    return _Beneficiaries(unit_poor, ben_poor, households)


def _names_and_units(
    rng: np.random.Generator, area: _Area, alloc: _Allocation, sector: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Name: place + a sector template; responsible: township government or county bureau."""
    n, vi, n_village = len(alloc.is_cw), alloc.vi, alloc.n_village
    county_name = area.counties[S.NAME].to_numpy(object)[alloc.ci_all]
    village_name = area.v[S.NAME].to_numpy(object)
    township_name = area.v["_township_name"].to_numpy(object)
    place = np.r_[village_name[vi], county_name[n_village:]]
    name = place + _pick_templates(rng, sector)
    by_township = (~alloc.is_cw) & (rng.random(n) < 0.3)
    responsible = np.where(
        by_township,
        np.r_[township_name[vi], county_name[n_village:]] + "人民政府",
        county_name + BUREAUS[sector],
    )
    return name, responsible


def _pick_templates(rng: np.random.Generator, sector: np.ndarray) -> np.ndarray:
    sizes = np.array([len(t) for t in NAME_TEMPLATES])
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    flat = np.array([t for group in NAME_TEMPLATES for t in group], dtype=object)
    pick = offsets[sector] + np.floor(rng.random(len(sector)) * sizes[sector]).astype(int)
    return flat[pick]


def _approval_refs(
    rng: np.random.Generator,
    counties: pd.DataFrame,
    ci_all: np.ndarray,
    plan_year: np.ndarray,
    status: np.ndarray,
) -> np.ndarray:
    """Approval references ``XX扶办〔year〕N号`` (None for planned projects)."""
    n = len(status)
    approval_year = plan_year - (rng.random(n) < 0.3)
    county_prefix = np.array([f"{c[:2]}扶办〔" for c in counties[S.NAME]], dtype=object)
    approval = (
        county_prefix[ci_all]
        + int_strings(approval_year)
        + "〕"
        + int_strings(rng.integers(1, 400, n))
        + "号"
    )
    return np.where(status == S.STATUSES.index("planned"), None, approval)


def _inspections(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """Inspection result: final for finished projects, mid-term under construction, else None."""
    n = len(status)
    return np.where(
        _done(status),
        INSPECTION_RESULTS[draw_categorical(rng, np.broadcast_to(INSPECTION_WEIGHTS, (n, 3)))],
        np.where(_started(status), "中期检查合格", None),  # under construction: mid-term
    )


def _places(rng: np.random.Generator, area: _Area, alloc: _Allocation) -> _Places:
    """Points inside the village polygons (none for county-wide projects) and the unit codes."""
    v, n_cw = area.v, len(alloc.ci_cw)
    # vi is grouped by village, as sample_points returns its points
    xy, _owner = partition.sample_points(v.geometry.to_numpy(), alloc.per_village, rng)
    x = np.r_[xy[:, 0], np.full(n_cw, np.nan)]
    y = np.r_[xy[:, 1], np.full(n_cw, np.nan)]
    county_code = area.counties[S.CODE].to_numpy()[alloc.ci_all]
    township_code = np.r_[v["_township"].to_numpy(object)[alloc.vi], np.full(n_cw, None)]
    village_code = np.r_[v[S.CODE].to_numpy(object)[alloc.vi], np.full(n_cw, None)]
    return _Places(x, y, county_code, township_code, village_code)


# --- deliberate anomalies (disjoint sets) ----------------------------------------------------
class _Picker:
    """Takes disjoint sets of rows for the anomalies, in one random order of all rows."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.used = np.zeros(n, bool)
        self.order = rng.permutation(n)

    def take(self, eligible: np.ndarray, k: int) -> np.ndarray:
        """The first ``k`` rows (in the random order) that are ``eligible`` and not yet taken."""
        cand = self.order[eligible[self.order] & ~self.used[self.order]][:k]
        self.used[cand] = True
        return cand


def _plant_anomalies(
    rng: np.random.Generator,
    ledger: _Ledger,
    alloc: _Allocation,
    counts: dict[str, int],
    n_villages: int,
) -> None:
    """Plant ``counts`` rows of each anomaly into ``ledger``'s arrays (in place)."""
    pick = _Picker(rng, len(alloc.is_cw))
    _plant_value_anomalies(rng, pick, ledger, alloc.is_cw, counts)
    _plant_place_anomalies(pick, ledger.places, alloc, counts, n_villages)
    _plant_six_fixes_gaps(rng, pick, ledger, counts)


def _plant_value_anomalies(
    rng: np.random.Generator,
    pick: _Picker,
    ledger: _Ledger,
    is_cw: np.ndarray,
    counts: dict[str, int],
) -> None:
    """Spent over allocated, completion dates that contradict status, beneficiaries over poor."""
    done, started = _done(ledger.status), _started(ledger.status)
    funds, dates, ben = ledger.funds, ledger.dates, ledger.beneficiaries
    vl_done = (~is_cw) & done
    a = pick.take(vl_done & (funds.allocated > 0), counts["spent_over_allocated"])
    funds.spent[a] = np.round(funds.allocated[a] * rng.uniform(1.05, 1.3, len(a)), 2)
    a = pick.take(vl_done, counts["completed_without_date"])
    dates.completion[a] = _NAT
    a = pick.take(started & ~done, counts["date_without_completion"])
    dates.completion[a] = np.minimum(
        dates.start[a] + rng.integers(30, 200, len(a)).astype("timedelta64[D]"), SNAPSHOT_DATE
    )
    a = pick.take(vl_done & (ben.unit_poor > 0), counts["beneficiaries_over_poor"])
    ben.poor[a] = ben.unit_poor[a] + 1 + np.floor(ben.unit_poor[a] * rng.uniform(0.1, 1.0, len(a)))


def _plant_place_anomalies(
    pick: _Picker,
    places: _Places,
    alloc: _Allocation,
    counts: dict[str, int],
    n_villages: int,
) -> None:
    """Rows without village/township code; points moved into a neighbouring village."""
    a = pick.take(~alloc.is_cw, counts["codeless_point"])
    places.village_code[a] = None
    places.township_code[a] = None
    if n_villages > 1:
        a = pick.take(~alloc.is_cw, counts["point_outside_village"])
        places.x[a], places.y[a] = _neighbour_points(alloc.vi, places.x, places.y, a, n_villages)


def _neighbour_points(
    vi: np.ndarray, x: np.ndarray, y: np.ndarray, rows: np.ndarray, n_villages: int
) -> tuple[np.ndarray, np.ndarray]:
    """Points of the first project of the next village (by code) for the given rows."""
    first = np.full(n_villages, -1)
    uniq, idx = np.unique(vi, return_index=True)
    first[uniq] = idx
    has_project = first >= 0
    candidates = np.flatnonzero(has_project)
    # next village (cyclic) that has a project and is not the row's own village
    pos = np.searchsorted(candidates, vi[rows], side="right") % len(candidates)
    donor = first[candidates[pos]]
    return x[donor].copy(), y[donor].copy()


def _plant_six_fixes_gaps(
    rng: np.random.Generator, pick: _Picker, ledger: _Ledger, counts: dict[str, int]
) -> None:
    """Blank one of approval / notice / responsible unit / inspection on completed projects."""
    a = pick.take(_done(ledger.status), counts["six_fixes_missing"])
    field = rng.integers(0, 4, len(a))
    ledger.texts.approval[a[field == 0]] = None
    ledger.dates.notice[a[field == 1]] = _NAT
    ledger.texts.responsible[a[field == 2]] = None
    ledger.texts.inspection[a[field == 3]] = None


# --- the frame -------------------------------------------------------------------------------
def _frame(ledger: _Ledger, alloc: _Allocation, counties: pd.DataFrame) -> gpd.GeoDataFrame:
    """The ledger as a frame: rows by county then plan year, ids numbering a county-year."""
    dates, funds, ben = ledger.dates, ledger.funds, ledger.beneficiaries
    texts, places = ledger.texts, ledger.places
    is_cw = alloc.is_cw
    geometry = np.full(len(is_cw), None, dtype=object)  # county-wide projects have no point
    geometry[~is_cw] = shapely.points(places.x[~is_cw], places.y[~is_cw])
    columns = {
        S.COUNTY_CODE: places.county_code,
        S.TOWNSHIP_CODE: places.township_code,
        S.VILLAGE_CODE: places.village_code,
        S.PROJECT_NAME: texts.name,
        S.SECTOR: np.asarray(S.SECTORS, dtype=object)[ledger.sector],
        S.PLAN_YEAR: ledger.plan_year.astype(np.int64),
        S.STATUS: np.asarray(S.STATUSES, dtype=object)[ledger.status],
        S.START_DATE: dates.start.astype("datetime64[ns]"),
        S.COMPLETION_DATE: dates.completion.astype("datetime64[ns]"),
        S.FUNDS_PLANNED: funds.planned,
        S.FUNDS_ALLOCATED: funds.allocated,
        S.FUNDS_SPENT: funds.spent,
        S.FUND_SOURCE: np.asarray(S.FUND_SOURCES, dtype=object)[funds.source],
        S.BENEFICIARY_HOUSEHOLDS: ben.households.astype(np.int64),
        S.BENEFICIARY_POOR_POPULATION: ben.poor.astype(np.int64),
        S.RESPONSIBLE_UNIT: texts.responsible,
        S.APPROVAL_REF: texts.approval,
        S.PUBLIC_NOTICE_DATE: dates.notice.astype("datetime64[ns]"),
        S.INSPECTION_RESULT: texts.inspection,
    }
    order = np.lexsort((ledger.plan_year, alloc.ci_all))
    columns = {k: col[order] for k, col in columns.items()}
    project_id = _project_ids(
        counties[S.CODE].to_numpy(), alloc.ci_all[order], ledger.plan_year[order]
    )
    frame = pd.DataFrame({S.PROJECT_ID: project_id, **columns})
    return gpd.GeoDataFrame(
        frame[list(S.PROJECT_COLUMNS)], geometry=geometry[order], crs=STORAGE_CRS
    )


def _project_ids(county_codes: np.ndarray, ci: np.ndarray, plan_year: np.ndarray) -> np.ndarray:
    """``CCCCCC-YYYY-NNNNN``: county, plan year, number within the county-year (rows sorted)."""
    n = len(ci)
    key = ci * 10_000 + plan_year
    first = np.r_[True, key[1:] != key[:-1]]
    seq = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0)) + 1
    county6 = np.array([c[:6] + "-" for c in county_codes], dtype=object)
    return county6[ci] + int_strings(plan_year) + "-" + int_strings(seq, 5)
