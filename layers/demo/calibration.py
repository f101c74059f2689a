"""Demo calibration: published Yunnan totals, assumptions and the mixes the generators draw from.

At ``scale=1`` the province totals are exactly the published ones: 192,000 projects, 187,584
completed or accepted (97.7%), coverage Σ min(covered, poor) ÷ Σ poor = 98.9%. At ``scale < 1``
the project count is ``round(192000 * scale)`` and both rates keep their calibrated value at one
decimal.

Assumptions (demo data, not sources): 6.6 million registered poor over 2014–2020 spread over the
plan villages; 3.5–4 people per household; 怒江州, 迪庆州 and 镇彝威 (镇雄, 彝良, 威信) are the
lagging, mountainous areas (more poverty, more transport/water causes, later exits, most of the
unfinished projects).
"""

from __future__ import annotations

import numpy as np

from layers.errors import OneMapError
from layers.settings import EXIT_YEAR_RANGE

__all__ = [
    "ANOMALY_COUNTS",
    "BUREAUS",
    "CAUSE_BASE",
    "CAUSE_MOUNTAIN",
    "CAUSE_SHARE_OF_SECTOR_MIX",
    "CONSOLIDATION_SHARE",
    "COUNTY_WIDE_FUNDS_FACTOR",
    "COUNTY_WIDE_SHARE",
    "DURATION_MEDIAN",
    "FIRST_YEAR",
    "FUNDS_MEDIAN",
    "FUNDS_SIGMA",
    "FUND_SOURCE_MIX",
    "INSPECTION_RESULTS",
    "INSPECTION_WEIGHTS",
    "LAGGING_COUNTIES",
    "LAGGING_PREFECTURES",
    "LAST_YEAR",
    "MAX_SCALE",
    "MOUNTAIN_PREFECTURES",
    "NAME_TEMPLATES",
    "POOR_POPULATION_TOTAL",
    "PUBLISHED_COMPLETION",
    "PUBLISHED_COVERAGE",
    "PUBLISHED_PROJECTS",
    "SECTOR_BASE",
    "SECTOR_COUNTY_WIDE",
    "SECTOR_MOUNTAIN",
    "SNAPSHOT_DATE",
    "YEARS",
    "anomaly_counts",
    "check_scale",
    "expected_totals",
]


# --- published totals and calibration assumptions ------------------------------------------
PUBLISHED_PROJECTS: int = 192_000
PUBLISHED_COMPLETION: float = 0.977  # → 187,584 of 192,000 at scale 1
PUBLISHED_COVERAGE: float = 0.989
#: the largest ``--scale``: above 1 the same villages carry ``scale`` times the projects and poor
#: (at 40× the busiest county-year numbers ~90,000 projects, within the ids' five digits)
MAX_SCALE: int = 40
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
    # beneficiary_poor_population > the village's poor population
    "beneficiaries_over_poor": 24,
}

#: the campaign's exit and plan years (2016..2020)
YEARS = np.arange(EXIT_YEAR_RANGE[0], EXIT_YEAR_RANGE[1] + 1)
FIRST_YEAR, LAST_YEAR = int(YEARS[0]), int(YEARS[-1])

# --- mixes -----------------------------------------------------------------------------------
#: main cause of poverty, shares of poor households (order of schema.CAUSES)
CAUSE_BASE = np.array([0.22, 0.07, 0.08, 0.20, 0.14, 0.10, 0.06, 0.05, 0.04, 0.04])
#: mountain areas: transport ×2.5, water ×2.2, housing ×1.6, skills ×1.2
CAUSE_MOUNTAIN = np.array([1.0, 1.0, 1.0, 1.2, 1.0, 1.0, 2.5, 1.6, 2.2, 1.0])
#: sectors (order of schema.SECTORS) in a village, before its causes are taken into account
SECTOR_BASE = np.array([0.27, 0.07, 0.05, 0.05, 0.12, 0.08, 0.03, 0.23, 0.05, 0.05])
SECTOR_MOUNTAIN = np.array([0.9, 1.0, 1.0, 1.0, 1.2, 1.3, 2.5, 1.4, 1.2, 1.0])
SECTOR_COUNTY_WIDE = np.array([0.10, 0.15, 0.12, 0.12, 0.0, 0.04, 0.12, 0.25, 0.05, 0.05])
#: weight of the village's cause-remedy mix in its sector mix
CAUSE_SHARE_OF_SECTOR_MIX = 0.45
#: share of a village's projects planned after its exit year (consolidation), where possible
CONSOLIDATION_SHARE = 0.15
#: median funds per project in 万元 by sector (log-normal, sigma below)
FUNDS_MEDIAN = np.array([45.0, 12.0, 60.0, 25.0, 30.0, 35.0, 450.0, 120.0, 25.0, 10.0])
FUNDS_SIGMA = 0.9
COUNTY_WIDE_FUNDS_FACTOR = 2.5
#: construction time in days by sector (median; log-normal sigma 0.4)
DURATION_MEDIAN = np.array([150, 60, 150, 120, 120, 120, 300, 180, 150, 60], dtype=float)
#: fund source mix by sector (rows: sectors; columns: schema.FUND_SOURCES)
FUND_SOURCE_MIX = np.array(
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


# --- wording --------------------------------------------------------------------------------
#: the county bureau responsible for a project, by sector (order of schema.SECTORS)
BUREAUS = np.array(
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
#: project name templates by sector (village or county name is prefixed)
NAME_TEMPLATES: tuple[tuple[str, ...], ...] = (
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
#: final inspection results of finished projects and their weights
INSPECTION_RESULTS = np.array(["合格", "基本合格", "整改后合格"], dtype=object)
INSPECTION_WEIGHTS = np.array([0.92, 0.05, 0.03])


def check_scale(scale: float, upper: float = 1.0) -> None:
    """Raise ``OneMapError`` unless ``scale`` is a number in (0, ``upper``].

    Parameters
    ----------
    scale
        The value to check.
    upper
        The largest scale allowed: 1 for units and one ledger draw, ``MAX_SCALE`` for the registry.
    """
    if not (isinstance(scale, int | float) and 0 < scale <= upper):
        raise OneMapError(
            f"scale must be a number in (0, {upper:g}], got {scale!r}: 1 reproduces the published "
            "totals, e.g. 0.05 makes a small province for tests"
        )


def anomaly_counts(scale: float = 1.0) -> dict[str, int]:
    """Return how many rows of each deliberate anomaly ``generate_projects`` plants at ``scale``."""
    check_scale(scale)
    return {k: max(1, round(v * scale)) for k, v in ANOMALY_COUNTS.items()}


def expected_totals(n_poor_population: int, scale: float = 1.0) -> dict[str, int]:
    """Return the calibrated integer totals: projects, completed, covered (capped) population.

    Parameters
    ----------
    n_poor_population
        Σ ``poor_population`` of the registry the ledger was generated with.
    scale
        The ``scale`` the registry and ledger were generated at, in (0, 1].

    Returns
    -------
    dict
        ``projects``, ``projects_completed`` and ``covered_population_capped``.
    """
    check_scale(scale)
    n = max(1, round(PUBLISHED_PROJECTS * scale))
    return {
        "projects": n,
        "projects_completed": round(PUBLISHED_COMPLETION * n),
        "covered_population_capped": round(PUBLISHED_COVERAGE * n_poor_population),
    }
