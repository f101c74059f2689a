"""Generate the demo registry (one row per plan village) and project ledger, calibrated to Yunnan.

At ``scale=1`` the province totals are exactly the published ones: 192,000 projects, 187,584
completed or accepted (97.7%), coverage Σ min(covered, poor) ÷ Σ poor = 98.9%. At ``scale < 1``
the project count is ``round(192000 * scale)`` and both rates keep their calibrated value at one
decimal. Everything is drawn from one ``numpy.random.default_rng`` per function, vectorised over
villages and projects (no per-row Python loop), so the same seed gives the same frames.

Assumptions (demo data, not sources): 6.6 million registered poor over 2014–2020 spread over the
plan villages; 3.5–4 people per household; 怒江州, 迪庆州 and 镇彝威 (镇雄, 彝良, 威信) are the
lagging, mountainous areas (more poverty, more transport/water causes, later exits, most of the
unfinished projects).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import partition
from layers import schema as S
from layers.errors import BoundaryError, LedgerError, OneMapError
from layers.settings import EXIT_YEAR_RANGE, STORAGE_CRS

__all__ = [
    "ANOMALY_COUNTS",
    "COUNTY_WIDE_SHARE",
    "LAGGING_COUNTIES",
    "LAGGING_PREFECTURES",
    "MOUNTAIN_PREFECTURES",
    "POOR_POPULATION_TOTAL",
    "PUBLISHED_COMPLETION",
    "PUBLISHED_COVERAGE",
    "PUBLISHED_PROJECTS",
    "SNAPSHOT_DATE",
    "anomaly_counts",
    "expected_totals",
    "generate_projects",
    "generate_registry",
]


# --- published totals and calibration assumptions ------------------------------------------
PUBLISHED_PROJECTS: int = 192_000
PUBLISHED_COMPLETION: float = 0.977  # → 187,584 of 192,000 at scale 1
PUBLISHED_COVERAGE: float = 0.989
#: registered poor population 2014–2020 (assumption: ≈ 6.6 million), at scale 1
POOR_POPULATION_TOTAL: int = 6_600_000
#: the ledger is a snapshot taken at the end of the campaign
SNAPSHOT_DATE = np.datetime64("2020-12-31", "D")
#: share of projects that serve a whole county (only ``county_code`` set, no geometry)
COUNTY_WIDE_SHARE: float = 0.05
#: 怒江州 and 迪庆州 (prefectures), 镇彝威 (counties): lagging, deep-poverty mountain areas
LAGGING_PREFECTURES: tuple[str, ...] = ("5333", "5334")
LAGGING_COUNTIES: tuple[str, ...] = ("530627", "530628", "530629")
MOUNTAIN_PREFECTURES: tuple[str, ...] = ("5333", "5334")

#: deliberate data-quality anomalies at scale 1 (scaled, at least 1 each, at scale < 1)
ANOMALY_COUNTS: dict[str, int] = {
    # one of approval_ref / public_notice_date / responsible_unit / inspection_result blanked
    # on a completed project (1.2%); with the not-yet-started projects, which lack approval,
    # notice or inspection by nature, about 2% of projects miss a six-fixes field
    "six_fixes_missing": 2_304,
    # point placed in a neighbouring village, not the declared one
    "point_outside_village": 36,
    # village_code (and township_code) blank, point inside the true village
    "codeless_point": 36,
    # funds_spent > funds_allocated
    "spent_over_allocated": 24,
    # completed/accepted with no completion_date
    "completed_without_date": 24,
    # not completed but with a completion_date
    "date_without_completion": 12,
    # beneficiary_poor_population > the village's poor_population
    "beneficiaries_over_poor": 24,
}

# --- mixes -----------------------------------------------------------------------------------
# main cause of poverty, shares of poor households (order of schema.CAUSES)
_CAUSE_BASE = np.array([0.22, 0.07, 0.08, 0.20, 0.14, 0.10, 0.06, 0.05, 0.04, 0.04])
# mountain areas: transport ×2.5, water ×2.2, housing ×1.6, skills ×1.2
_CAUSE_MOUNTAIN = np.array([1.0, 1.0, 1.0, 1.2, 1.0, 1.0, 2.5, 1.6, 2.2, 1.0])
# sectors (order of schema.SECTORS) in a village, before its causes are taken into account
_SECTOR_BASE = np.array([0.27, 0.07, 0.05, 0.05, 0.12, 0.08, 0.03, 0.23, 0.05, 0.05])
_SECTOR_MOUNTAIN = np.array([0.9, 1.0, 1.0, 1.0, 1.2, 1.3, 2.5, 1.4, 1.2, 1.0])
_SECTOR_COUNTY_WIDE = np.array([0.10, 0.15, 0.12, 0.12, 0.0, 0.04, 0.12, 0.25, 0.05, 0.05])
_CAUSE_SHARE_OF_SECTOR_MIX = 0.45
#: share of a village's projects planned after its exit year (consolidation), where possible
_CONSOLIDATION_SHARE = 0.15
# median funds per project in 万元 by sector (log-normal, sigma below)
_FUNDS_MEDIAN = np.array([45.0, 12.0, 60.0, 25.0, 30.0, 35.0, 450.0, 120.0, 25.0, 10.0])
_FUNDS_SIGMA = 0.9
_COUNTY_WIDE_FUNDS_FACTOR = 2.5
# construction time in days by sector (median; log-normal sigma 0.4)
_DURATION_MEDIAN = np.array([150, 60, 150, 120, 120, 120, 300, 180, 150, 60], dtype=float)
# fund source mix by sector (rows: sectors; columns: schema.FUND_SOURCES)
_FUND_SOURCE_MIX = np.array(
    [
        # central prov  pref   integ  credit social east_west
        [0.20, 0.10, 0.08, 0.35, 0.15, 0.05, 0.07],  # industry
        [0.25, 0.15, 0.10, 0.30, 0.00, 0.05, 0.15],  # employment
        [0.35, 0.20, 0.15, 0.20, 0.00, 0.05, 0.05],  # education
        [0.35, 0.20, 0.15, 0.20, 0.00, 0.05, 0.05],  # health
        [0.40, 0.20, 0.10, 0.25, 0.00, 0.03, 0.02],  # housing
        [0.30, 0.15, 0.10, 0.40, 0.00, 0.03, 0.02],  # water
        [0.30, 0.20, 0.05, 0.10, 0.35, 0.00, 0.00],  # relocation
        [0.30, 0.15, 0.10, 0.40, 0.03, 0.01, 0.01],  # infrastructure
        [0.40, 0.15, 0.10, 0.30, 0.00, 0.03, 0.02],  # ecology
        [0.20, 0.15, 0.20, 0.25, 0.00, 0.15, 0.05],  # other
    ]
)
_BUREAU = np.array(
    [
        "农业农村局",
        "人力资源和社会保障局",
        "教育体育局",
        "卫生健康局",
        "住房和城乡建设局",
        "水务局",
        "发展和改革局",
        "交通运输局",
        "林业和草原局",
        "民政局",
    ],
    dtype=object,
)
# project name templates by sector (village or county name is prefixed)
_NAME_TEMPLATES: tuple[tuple[str, ...], ...] = (
    (
        "特色产业（核桃）提质增效项目",
        "高原特色蔬菜种植基地建设项目",
        "肉牛养殖小区建设项目",
        "茶叶初制所建设项目",
    ),
    ("劳动力转移就业培训项目", "扶贫车间建设项目", "公益性岗位开发项目"),
    ("小学校舍改造项目", "幼儿园建设项目", "控辍保学专项行动"),
    ("卫生室标准化建设项目", "家庭医生签约服务项目", "大病专项救治项目"),
    ("4类重点对象危房改造项目", "农房抗震改造项目"),
    ("农村饮水安全巩固提升工程", "人畜饮水管网建设项目", "小水窖建设项目"),
    ("易地扶贫搬迁安置点建设项目", "搬迁后续扶持项目"),
    ("通村硬化路建设项目", "村组道路硬化项目", "人居环境提升项目", "农网改造项目"),
    ("生态护林员聘用项目", "退耕还林补助项目", "陡坡地生态治理项目"),
    ("村级活动场所建设项目", "兜底保障综合项目", "扶贫扶志宣讲项目"),
)
_INSPECTION_RESULTS = np.array(["合格", "基本合格", "整改后合格"], dtype=object)
_INSPECTION_WEIGHTS = np.array([0.92, 0.05, 0.03])

_YEARS = np.arange(EXIT_YEAR_RANGE[0], EXIT_YEAR_RANGE[1] + 1)  # 2016..2020
_FIRST, _LAST = int(_YEARS[0]), int(_YEARS[-1])


def anomaly_counts(scale: float = 1.0) -> dict[str, int]:
    """Return how many rows of each deliberate anomaly ``generate_projects`` plants at ``scale``."""
    _check_scale(scale)
    return {k: max(1, round(v * scale)) for k, v in ANOMALY_COUNTS.items()}


def expected_totals(n_poor_population: int, scale: float = 1.0) -> dict[str, int]:
    """Return the calibrated integer totals: projects, completed, covered (capped) population."""
    _check_scale(scale)
    n = max(1, round(PUBLISHED_PROJECTS * scale))
    return {
        "projects": n,
        "projects_completed": round(PUBLISHED_COMPLETION * n),
        "covered_population_capped": round(PUBLISHED_COVERAGE * n_poor_population),
    }


# --- registry --------------------------------------------------------------------------------
def generate_registry(
    admin_units: gpd.GeoDataFrame, *, seed: int, scale: float = 1.0
) -> pd.DataFrame:
    """Generate the poverty registry: one row per plan village, no personal data.

    Poor population totals ``round(6.6 million * scale)`` (log-normal by village, more in poverty
    villages, deep-poverty counties and lagging areas; at least 10 per village when the total
    allows); households ≈ population / 3.5–4; household counts by main cause (``cause_*``, summing
    to ``poor_households``; illness and lack of skills dominant, transport/water/housing higher in
    怒江/迪庆); ``covered_population`` ≤ ``poor_population`` with Σ covered = round(98.9% · Σ poor),
    the uncovered concentrated in lagging areas and, elsewhere, in villages that are not poverty
    villages (scattered poor households that village projects reach less). Poverty villages get
    ``planned_exit_year`` ≤ the county's exit year (2016–2019 in non-poverty counties; lagging
    areas exit late) and an ``exit_year`` (all by 2020, ~3% one year after plan); villages that are
    not poverty villages have neither (null). ``relocated_population`` ≤ poor population.

    Parameters
    ----------
    admin_units
        All levels (``schema.ADMIN_COLUMNS`` + geometry); the registry covers the villages with
        ``has_tasks``.
    seed
        Seed of the random generator.
    scale
        Fraction of the province's poor population to distribute (1 = 6.6 million).
    """
    _check_scale(scale)
    v = _village_frame(admin_units)
    rng = np.random.default_rng([seed, 1])
    n = len(v)
    lag = v["_lagging"].to_numpy()
    mountain = v["_mountain"].to_numpy()
    poverty_village = v[S.POVERTY_VILLAGE].to_numpy(bool)
    deep = v[S.DEEP_POVERTY].to_numpy(bool)

    # poor population: log-normal weights, apportioned to an exact integer total
    mu = 0.7 * poverty_village + 0.3 * deep + 0.3 * lag
    weights = rng.lognormal(mu, 0.6)
    total_poor = round(POOR_POPULATION_TOTAL * scale)
    floor = 10 if total_poor >= 10 * n else (1 if total_poor >= n else 0)
    poor = floor + _apportion(weights, total_poor - floor * n)
    households = np.minimum(poor, np.maximum(np.rint(poor / rng.uniform(3.5, 4.0, n)), 1))
    households = np.where(poor > 0, households, 0).astype(np.int64)

    # households by main cause: Dirichlet mix per village (via gamma draws), then multinomial
    alpha = _CAUSE_BASE * np.where(mountain[:, None], _CAUSE_MOUNTAIN, 1.0) * 40.0
    mix = rng.gamma(alpha)
    mix /= mix.sum(axis=1, keepdims=True)
    causes = rng.multinomial(households, mix)

    covered = poor - _uncovered(rng, poor, lag, poverty_village)

    # exit years (poverty villages only)
    county_exit = v[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    non_poverty_county_year = rng.choice(_YEARS[:-1], size=n, p=[0.1, 0.2, 0.35, 0.35])
    anchor = np.where(np.isnan(county_exit), non_poverty_county_year, county_exit).astype(int)
    ratio = np.where(lag, 0.2, np.where(deep, 0.3, 0.4))
    probs = np.where(_YEARS[None, :] <= anchor[:, None], 1.0, 0.0)
    probs *= ratio[:, None] ** np.clip(anchor[:, None] - _YEARS[None, :], 0, None)
    # the last batch (2020) held few villages: most of its counties' villages left in 2019
    probs[:, -1] *= np.where(anchor == _LAST, 0.5, 1.0)
    planned = _draw_categorical(rng, probs, _YEARS)
    late = (rng.random(n) < 0.03) & (planned < _LAST)
    exited = planned + late
    planned_col = pd.array(np.where(poverty_village, planned, 0), dtype="Int64")
    exit_col = pd.array(np.where(poverty_village, exited, 0), dtype="Int64")
    planned_col[~poverty_village] = pd.NA
    exit_col[~poverty_village] = pd.NA

    # relocation (易地扶贫搬迁): some villages, more in the mountains
    has_relocation = rng.random(n) < np.where(mountain, 0.8, np.where(deep | lag, 0.6, 0.5))
    share = rng.uniform(0.02, np.where(mountain, 0.6, 0.45))
    relocated = np.where(has_relocation, rng.binomial(poor, share), 0)

    out = pd.DataFrame(
        {
            S.VILLAGE_CODE: v[S.CODE].to_numpy(),
            S.POOR_HOUSEHOLDS: households,
            S.POOR_POPULATION: poor.astype(np.int64),
            S.COVERED_POPULATION: covered.astype(np.int64),
            S.PLANNED_EXIT_YEAR: planned_col,
            S.EXIT_YEAR: exit_col,
            S.RELOCATED_POPULATION: relocated.astype(np.int64),
        }
    )
    for i, col in enumerate(S.CAUSE_COLUMNS):
        out[col] = causes[:, i].astype(np.int64)
    return out[list(S.REGISTRY_COLUMNS)]


def _uncovered(
    rng: np.random.Generator, poor: np.ndarray, lag: np.ndarray, poverty_village: np.ndarray
) -> np.ndarray:
    """Return per-village uncovered poor people summing to poor − round(98.9% · Σ poor)."""
    total = int(poor.sum())
    target = total - round(PUBLISHED_COVERAGE * total)
    if target == 0:
        return np.zeros_like(poor)
    p_select = np.where(lag, 0.5, np.where(poverty_village, 0.12, 0.2))
    w = np.where(rng.random(len(poor)) < p_select, np.where(lag, 2.5, 1.0), 0.0)
    w *= rng.uniform(0.5, 1.5, len(poor))
    base = poor * w
    if base.sum() == 0 or target / base.sum() * w.max() > 0.8:
        base = poor.astype(float)  # too few villages selected: spread over all
    short = _apportion(base, target)
    # largest-remainder rounding can exceed a tiny village by one: move the excess elsewhere
    excess = np.maximum(short - poor, 0)
    short = short - excess
    while excess.sum():
        room = poor - short
        short += _apportion(room.astype(float), int(excess.sum()))
        excess = np.maximum(short - poor, 0)
        short -= excess
    return short


# --- projects --------------------------------------------------------------------------------
def generate_projects(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    *,
    seed: int,
    scale: float = 1.0,
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

    Deliberate anomalies (counts at scale 1, see ``ANOMALY_COUNTS`` / ``anomaly_counts(scale)``):
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
    """
    _check_scale(scale)
    v = _village_frame(admin_units)
    reg = _aligned_registry(registry, v)
    counties = _task_counties(admin_units)
    rng = np.random.default_rng([seed, 2])

    n_total = max(1, round(PUBLISHED_PROJECTS * scale))
    n_villages = len(v)
    n_county_wide = min(round(COUNTY_WIDE_SHARE * n_total), n_total - min(n_villages, n_total))
    n_village = n_total - n_county_wide
    poor = reg[S.POOR_POPULATION].to_numpy(np.int64)
    poverty_village = v[S.POVERTY_VILLAGE].to_numpy(bool)
    lag_v = v["_lagging"].to_numpy()

    # projects per village: one each, the rest multinomial by need
    w = np.sqrt(poor + 1.0) * np.where(poverty_village, 1.4, 1.0) * np.where(lag_v, 1.2, 1.0)
    base_count = 1 if n_village >= n_villages else 0
    per_village = base_count + rng.multinomial(n_village - base_count * n_villages, w / w.sum())
    vi = np.repeat(np.arange(n_villages), per_village)  # village index per village-level project

    # county-wide projects by county (weighted by plan villages + 1)
    county_codes = counties[S.CODE].to_numpy()
    villages_per_county = (
        v["_county"].value_counts().reindex(county_codes, fill_value=0).to_numpy(float)
    )
    cw = rng.multinomial(n_county_wide, (villages_per_county + 1) / (villages_per_county + 1).sum())
    ci_cw = np.repeat(np.arange(len(counties)), cw)
    county_index = pd.Index(county_codes)

    is_cw = np.r_[np.zeros(len(vi), bool), np.ones(len(ci_cw), bool)]
    n = len(is_cw)
    ci_all = np.r_[county_index.get_indexer(v["_county"].to_numpy()[vi]), ci_cw]
    if (ci_all < 0).any():
        raise BoundaryError(
            "admin_units: a village with has_tasks lies in a county without has_tasks; "
            "set has_tasks on its county or clear it on the village"
        )
    lag = np.r_[lag_v[vi], counties["_lagging"].to_numpy()[ci_cw]]

    # sectors: base mix by area blended with the village's cause mix
    sector = np.empty(n, dtype=np.int64)
    sector[:n_village] = _draw_categorical(rng, _village_sector_probs(v, reg)[vi], None)
    sector[n_village:] = rng.choice(
        len(S.SECTORS), size=len(ci_cw), p=_SECTOR_COUNTY_WIDE / _SECTOR_COUNTY_WIDE.sum()
    )

    plan_year = _plan_years(rng, v, reg, counties, vi, ci_cw, lag)
    status = _statuses(rng, plan_year, lag, is_cw, n_total)
    done = np.isin(status, [S.STATUSES.index(s) for s in S.COMPLETED_STATUSES])

    # dates (days)
    started = status >= S.STATUSES.index("in_progress")
    year_start = (plan_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    start = year_start + rng.integers(30, 330, n).astype("timedelta64[D]")
    duration = rng.lognormal(np.log(_DURATION_MEDIAN[sector]), 0.4)
    room = (SNAPSHOT_DATE - start).astype(float)
    duration = np.where(duration > room, room * rng.uniform(0.5, 1.0, n), duration)
    completion = start + duration.astype(int).astype("timedelta64[D]")
    notice = np.where(
        started,
        start - rng.integers(7, 60, n).astype("timedelta64[D]"),
        year_start + rng.integers(0, 200, n).astype("timedelta64[D]"),
    )
    nat = np.datetime64("NaT", "D")
    start = np.where(started, start, nat)
    completion = np.where(done, completion, nat)
    notice = np.where(status == S.STATUSES.index("planned"), nat, notice)

    # funds (万元)
    planned_funds = rng.lognormal(np.log(_FUNDS_MEDIAN[sector]), _FUNDS_SIGMA)
    planned_funds *= np.where(is_cw, _COUNTY_WIDE_FUNDS_FACTOR, 1.0)
    planned_funds = np.maximum(np.round(planned_funds, 2), 0.5)
    alloc_lo = np.array([0.0, 0.2, 0.5, 0.92, 0.95])[status]
    alloc_hi = np.array([0.0, 0.8, 1.0, 1.0, 1.0])[status]
    allocated = np.round(planned_funds * rng.uniform(alloc_lo, alloc_hi), 2)
    spent_lo = np.array([0.0, 0.0, 0.2, 0.9, 0.97])[status]
    spent_hi = np.array([0.0, 0.0, 0.9, 1.0, 1.0])[status]
    spent = np.floor(allocated * rng.uniform(spent_lo, spent_hi) * 100) / 100

    fund_source = _draw_categorical(rng, _FUND_SOURCE_MIX[sector], None)

    # beneficiaries
    county_poor = (
        pd.Series(poor).groupby(v["_county"].to_numpy()).sum().reindex(county_codes, fill_value=0)
    ).to_numpy()
    unit_poor = np.r_[poor[vi], county_poor[ci_cw]]
    share = np.where(is_cw, rng.uniform(0.02, 0.3, n), rng.uniform(0.05, 0.9, n))
    ben_poor = np.where(unit_poor > 0, np.maximum(np.rint(unit_poor * share), 1), 0)
    ben_households = np.rint(ben_poor / rng.uniform(3.5, 4.0, n) * rng.uniform(1.0, 1.8, n))
    ben_households = np.where(ben_poor > 0, np.maximum(ben_households, 1), 0)

    # names, units, references
    county_name = counties[S.NAME].to_numpy(object)[ci_all]
    village_name = v[S.NAME].to_numpy(object)
    township_name = v["_township_name"].to_numpy(object)
    place = np.r_[village_name[vi], county_name[n_village:]]
    name = place + _pick_templates(rng, sector)
    by_township = (~is_cw) & (rng.random(n) < 0.3)
    responsible = np.where(
        by_township,
        np.r_[township_name[vi], county_name[n_village:]] + "人民政府",
        county_name + _BUREAU[sector],
    )
    approval_year = plan_year - (rng.random(n) < 0.3)
    county_prefix = np.array([f"{c[:2]}扶办〔" for c in counties[S.NAME]], dtype=object)
    approval = (
        county_prefix[ci_all]
        + _int_strings(approval_year)
        + "〕"
        + _int_strings(rng.integers(1, 400, n))
        + "号"
    )
    approval = np.where(status == S.STATUSES.index("planned"), None, approval)
    inspection = np.where(
        done,
        _INSPECTION_RESULTS[_draw_categorical(rng, np.broadcast_to(_INSPECTION_WEIGHTS, (n, 3)))],
        np.where(started, "中期检查合格", None),  # under construction: mid-term inspection
    )

    # points inside the village polygons (vi is grouped by village, as sample_points returns)
    xy, _owner = partition.sample_points(v.geometry.to_numpy(), per_village, rng)
    x = np.r_[xy[:, 0], np.full(len(ci_cw), np.nan)]
    y = np.r_[xy[:, 1], np.full(len(ci_cw), np.nan)]

    county_code = county_codes[ci_all]
    township_code = np.r_[v["_township"].to_numpy(object)[vi], np.full(len(ci_cw), None)]
    village_code = np.r_[v[S.CODE].to_numpy(object)[vi], np.full(len(ci_cw), None)]

    # --- deliberate anomalies (disjoint sets) -------------------------------------------------
    counts = anomaly_counts(scale)
    used = np.zeros(n, bool)
    order = rng.permutation(n)
    vl_done = (~is_cw) & done

    def take(eligible: np.ndarray, k: int) -> np.ndarray:
        cand = order[eligible[order] & ~used[order]][:k]
        used[cand] = True
        return cand

    a = take(vl_done & (allocated > 0), counts["spent_over_allocated"])
    spent[a] = np.round(allocated[a] * rng.uniform(1.05, 1.3, len(a)), 2)
    a = take(vl_done, counts["completed_without_date"])
    completion[a] = nat
    a = take(started & ~done, counts["date_without_completion"])
    completion[a] = np.minimum(
        start[a] + rng.integers(30, 200, len(a)).astype("timedelta64[D]"), SNAPSHOT_DATE
    )
    a = take(vl_done & (unit_poor > 0), counts["beneficiaries_over_poor"])
    ben_poor[a] = unit_poor[a] + 1 + np.floor(unit_poor[a] * rng.uniform(0.1, 1.0, len(a)))
    a = take(~is_cw, counts["codeless_point"])
    village_code[a] = None
    township_code[a] = None
    if n_villages > 1:
        a = take(~is_cw, counts["point_outside_village"])
        x[a], y[a] = _neighbour_points(vi, x, y, a, n_villages)
    a = take(done, counts["six_fixes_missing"])
    field = rng.integers(0, 4, len(a))
    approval[a[field == 0]] = None
    notice[a[field == 1]] = nat
    responsible[a[field == 2]] = None
    inspection[a[field == 3]] = None

    geometry = np.full(n, None, dtype=object)  # county-wide projects have no point
    geometry[~is_cw] = shapely.points(x[~is_cw], y[~is_cw])
    columns = {
        S.COUNTY_CODE: county_code,
        S.TOWNSHIP_CODE: township_code,
        S.VILLAGE_CODE: village_code,
        S.PROJECT_NAME: name,
        S.SECTOR: np.asarray(S.SECTORS, dtype=object)[sector],
        S.PLAN_YEAR: plan_year.astype(np.int64),
        S.STATUS: np.asarray(S.STATUSES, dtype=object)[status],
        S.START_DATE: start.astype("datetime64[ns]"),
        S.COMPLETION_DATE: completion.astype("datetime64[ns]"),
        S.FUNDS_PLANNED: planned_funds,
        S.FUNDS_ALLOCATED: allocated,
        S.FUNDS_SPENT: spent,
        S.FUND_SOURCE: np.asarray(S.FUND_SOURCES, dtype=object)[fund_source],
        S.BENEFICIARY_HOUSEHOLDS: ben_households.astype(np.int64),
        S.BENEFICIARY_POOR_POPULATION: ben_poor.astype(np.int64),
        S.RESPONSIBLE_UNIT: responsible,
        S.APPROVAL_REF: approval,
        S.PUBLIC_NOTICE_DATE: notice.astype("datetime64[ns]"),
        S.INSPECTION_RESULT: inspection,
    }
    # rows ordered by county, then plan year; ids number the projects of a county-year
    order = np.lexsort((plan_year, ci_all))
    columns = {k: col[order] for k, col in columns.items()}
    key = ci_all[order] * 10_000 + plan_year[order]
    first = np.r_[True, key[1:] != key[:-1]]
    seq = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0)) + 1
    county6 = np.array([c[:6] + "-" for c in county_codes], dtype=object)
    project_id = (
        county6[ci_all[order]] + _int_strings(plan_year[order]) + "-" + _int_strings(seq, 5)
    )
    frame = pd.DataFrame({S.PROJECT_ID: project_id, **columns})
    gdf = gpd.GeoDataFrame(
        frame[list(S.PROJECT_COLUMNS)], geometry=geometry[order], crs=STORAGE_CRS
    )
    return gdf


# --- helpers ---------------------------------------------------------------------------------
def _int_strings(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Decimal strings of non-negative integers (zero-padded to ``width``) via a lookup table."""
    values = np.asarray(values, dtype=np.int64)
    table = np.array([str(i).zfill(width) for i in range(int(values.max(initial=0)) + 1)], object)
    return table[values]


def _check_scale(scale: float) -> None:
    if not (isinstance(scale, int | float) and 0 < scale <= 1):
        raise OneMapError(
            f"scale must be a number in (0, 1], got {scale!r}: 1 reproduces the published "
            "totals, e.g. 0.05 makes a small province for tests"
        )


def _village_frame(admin_units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the plan villages sorted by code, with township/county context and area flags."""
    missing = [c for c in (*S.ADMIN_COLUMNS, "geometry") if c not in admin_units.columns]
    if missing:
        raise BoundaryError(
            f"admin_units: missing column(s) {missing}; pass the output of "
            "layers.demo_units.generate_units (schema.ADMIN_COLUMNS + geometry)"
        )
    if admin_units.crs is None or not admin_units.crs.equals(STORAGE_CRS):
        raise BoundaryError(
            f"admin_units: CRS is {admin_units.crs}, expected {STORAGE_CRS}; "
            "reproject with .to_crs('EPSG:4326') first"
        )
    dup = admin_units[S.CODE].duplicated()
    if dup.any():
        raise BoundaryError(
            f"admin_units: code {admin_units.loc[dup, S.CODE].iloc[0]!r} appears more than once; "
            "every unit needs a unique 12-digit code"
        )
    units = admin_units.set_index(S.CODE, drop=False)
    plan = (admin_units[S.LEVEL] == "village") & admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    v = admin_units.loc[plan, [S.CODE, S.NAME, S.PARENT_CODE, S.POVERTY_VILLAGE, "geometry"]]
    if v.empty:
        raise BoundaryError(
            "admin_units: no village has has_tasks=True; the registry needs plan villages"
        )
    v = v.sort_values(S.CODE, ignore_index=True)
    v[S.POVERTY_VILLAGE] = v[S.POVERTY_VILLAGE].fillna(False).astype(bool)
    township = v[S.PARENT_CODE]
    unknown = ~township.isin(units.index)
    if unknown.any():
        bad = v.loc[unknown, S.CODE].iloc[0]
        raise BoundaryError(
            f"admin_units: village {bad} has parent_code {township[unknown].iloc[0]!r}, "
            "which is not a unit code; fix parent_code so every village has its township"
        )
    county = township.map(units[S.PARENT_CODE])
    prefecture = county.map(units[S.PARENT_CODE])
    if county.isna().any() or prefecture.isna().any():
        raise BoundaryError(
            "admin_units: a plan village's township or county has no parent_code; "
            "every township needs its county and every county its prefecture"
        )
    v["_township"] = township.to_numpy()
    v["_township_name"] = township.map(units[S.NAME]).to_numpy()
    v["_county"] = county.to_numpy()
    for col in (S.DEEP_POVERTY, S.POVERTY_COUNTY, S.BORDER):
        v[col] = county.map(units[col]).fillna(False).astype(bool).to_numpy()
    v[S.COUNTY_EXIT_YEAR] = county.map(units[S.COUNTY_EXIT_YEAR]).astype("Int64")
    v["_lagging"] = _lagging(county).to_numpy()
    v["_mountain"] = county.str.slice(0, 4).isin(MOUNTAIN_PREFECTURES).to_numpy()
    return v


def _lagging(county_codes: pd.Series) -> pd.Series:
    return county_codes.str.slice(0, 4).isin(LAGGING_PREFECTURES) | county_codes.str.slice(
        0, 6
    ).isin(LAGGING_COUNTIES)


def _task_counties(admin_units: gpd.GeoDataFrame) -> pd.DataFrame:
    is_county = admin_units[S.LEVEL] == "county"
    tasks = admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    c = admin_units.loc[is_county & tasks, [S.CODE, S.NAME, S.COUNTY_EXIT_YEAR]]
    c = c.sort_values(S.CODE, ignore_index=True)
    c["_lagging"] = _lagging(c[S.CODE]).to_numpy()
    return c


def _aligned_registry(registry: pd.DataFrame, v: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in S.REGISTRY_COLUMNS if c not in registry.columns]
    if missing:
        raise LedgerError(
            f"registry: missing column(s) {missing}; pass the output of generate_registry"
        )
    reg = registry.drop_duplicates(S.VILLAGE_CODE).set_index(S.VILLAGE_CODE)
    absent = ~v[S.CODE].isin(reg.index)
    if absent.any():
        raise LedgerError(
            f"registry: {int(absent.sum())} plan village(s) have no row, e.g. "
            f"{v.loc[absent, S.CODE].iloc[0]}; generate the registry from the same admin_units"
        )
    return reg.loc[v[S.CODE].to_numpy()].reset_index()


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Split the integer ``total`` proportionally to ``weights`` (largest remainder, exact sum)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    if rest:
        top = np.argsort(-(quota - base), kind="stable")[:rest]
        base[top] += 1
    return base


def _draw_categorical(
    rng: np.random.Generator, probs: np.ndarray, values: np.ndarray | None = None
) -> np.ndarray:
    """Draw one category per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    idx = np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)
    return idx if values is None else np.asarray(values)[idx]


def _village_sector_probs(v: pd.DataFrame, reg: pd.DataFrame) -> np.ndarray:
    """Sector probabilities per village: area base mix blended with its cause-remedy mix."""
    remedy = np.zeros((len(S.CAUSES), len(S.SECTORS)))
    for i, cause in enumerate(S.CAUSES):  # 10 × 10 table, not per row
        for sector in S.CAUSE_REMEDY_SECTORS[cause]:
            remedy[i, S.SECTORS.index(sector)] = 1 / len(S.CAUSE_REMEDY_SECTORS[cause])
    causes = reg[list(S.CAUSE_COLUMNS)].to_numpy(float)
    hh = causes.sum(axis=1, keepdims=True)
    cause_mix = np.divide(causes, hh, out=np.full_like(causes, 0.1), where=hh > 0) @ remedy
    base = _SECTOR_BASE * np.where(v["_mountain"].to_numpy()[:, None], _SECTOR_MOUNTAIN, 1.0)
    relocating = reg[S.RELOCATED_POPULATION].to_numpy() > 0
    base[:, S.SECTORS.index("relocation")] *= np.where(relocating, 1.0, 0.1)
    base /= base.sum(axis=1, keepdims=True)
    return (1 - _CAUSE_SHARE_OF_SECTOR_MIX) * base + _CAUSE_SHARE_OF_SECTOR_MIX * cause_mix


def _plan_years(
    rng: np.random.Generator,
    v: pd.DataFrame,
    reg: pd.DataFrame,
    counties: pd.DataFrame,
    vi: np.ndarray,
    ci_cw: np.ndarray,
    lag: np.ndarray,
) -> np.ndarray:
    """Plan years 2016–2020: mostly at or before the anchor exit year, 15% consolidation after."""
    county_exit = v[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    village_exit = reg[S.PLANNED_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    anchor_v = np.where(np.isnan(village_exit), county_exit, village_exit)
    anchor_v = np.where(np.isnan(anchor_v), 2019, anchor_v)
    anchor_c = counties[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    anchor_c = np.where(np.isnan(anchor_c), 2019, anchor_c)
    anchor = np.r_[anchor_v[vi], anchor_c[ci_cw]].astype(int)[:, None]
    ratio = np.where(lag, 0.45, 0.7)[:, None]
    years = _YEARS[None, :]
    before = np.where(years <= anchor, ratio ** np.clip(anchor - years, 0, None), 0.0)
    before /= before.sum(axis=1, keepdims=True)
    after = np.where(years > anchor, 0.7 ** np.clip(years - anchor - 1, 0, None), 0.0)
    after_sum = after.sum(axis=1, keepdims=True)
    after = np.divide(after, after_sum, out=np.zeros_like(after), where=after_sum > 0)
    tail = np.where(after_sum > 0, _CONSOLIDATION_SHARE, 0.0)
    return _draw_categorical(rng, (1 - tail) * before + tail * after, _YEARS)


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
    year_factor = np.array([0.03, 0.08, 0.3, 1.0, 4.0])[plan_year - _FIRST]
    w = year_factor * np.where(lag, 3.0, 1.0) * np.where(is_cw, 1.5, 1.0)
    # weighted sampling without replacement: the n_open smallest exponential keys (Efraimidis)
    keys = rng.exponential(size=n) / w
    open_ = np.zeros(n, bool)
    if n_open:
        open_[np.argpartition(keys, n_open - 1)[:n_open]] = True
    late = plan_year == _LAST
    # unfinished: planned / approved / in_progress
    p_open = np.where(late[:, None], [0.15, 0.25, 0.6], [0.05, 0.15, 0.8])
    open_status = _draw_categorical(rng, p_open)
    # finished: completed (not yet accepted) / accepted; recent projects less often accepted
    accepted_p = np.array([0.97, 0.95, 0.9, 0.8, 0.55])[plan_year - _FIRST]
    done_status = np.where(rng.random(n) < accepted_p, 4, 3)
    return np.where(open_, open_status, done_status)


def _pick_templates(rng: np.random.Generator, sector: np.ndarray) -> np.ndarray:
    sizes = np.array([len(t) for t in _NAME_TEMPLATES])
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    flat = np.array([t for group in _NAME_TEMPLATES for t in group], dtype=object)
    pick = offsets[sector] + np.floor(rng.random(len(sector)) * sizes[sector]).astype(int)
    return flat[pick]


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
