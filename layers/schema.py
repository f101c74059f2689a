"""Column names, enumerations and store layer names, declared once (DESIGN §3).

Every module uses these constants; the Chinese labels for the interface live here too.
The Chinese ↔ English mapping for *imported* ledger headers is ``data/column_map.toml``
(extendable by users) and is read by ``layers/ingest.py``.
"""

from __future__ import annotations

import itertools

__all__ = [
    "ADMIN_COLUMNS",
    "APPROVAL_REF",
    "BENEFICIARY_HOUSEHOLDS",
    "BENEFICIARY_POOR_POPULATION",
    "BORDER",
    "CAUSES",
    "CAUSE_COLUMNS",
    "CAUSE_LABELS_ZH",
    "CAUSE_REMEDY_SECTORS",
    "CODE",
    "COMPLETED_STATUSES",
    "COMPLETION",
    "COMPLETION_DATE",
    "COUNTY_CODE",
    "COUNTY_EXIT_YEAR",
    "COUNTY_LIBRARIES",
    "COVERAGE",
    "COVERED_CAPPED",
    "COVERED_POPULATION",
    "DEEP_POVERTY",
    "ELEVATION_MEAN",
    "EXIT_PROGRESS",
    "EXIT_YEAR",
    "FUNDS_ALLOCATED",
    "FUNDS_EXECUTION",
    "FUNDS_PLANNED",
    "FUNDS_PLANNED_YEAR",
    "FUNDS_SPENT",
    "FUNDS_SPENT_YEAR",
    "FUND_SOURCE",
    "FUND_SOURCES",
    "FUND_SOURCE_LABELS_ZH",
    "HAS_TASKS",
    "INPUT_LAYERS",
    "INSPECTION_RESULT",
    "LAYER_ADMIN_UNITS",
    "LAYER_COUNTY_LIBRARY",
    "LAYER_PROJECTS",
    "LAYER_REGISTRY",
    "LAYER_TOWNSHIP_ROADMAP",
    "LAYER_VILLAGE_PLAN",
    "LEVEL",
    "LEVELS",
    "LEVEL_DIGITS",
    "LEVEL_LABELS_ZH",
    "LOCATED_BY",
    "MATCHED_HOUSEHOLDS",
    "MATCHED_REMEDY",
    "METRICS",
    "METRIC_LABELS_EN",
    "METRIC_LABELS_ZH",
    "NAME",
    "N_COMPLETED",
    "N_PROJECTS",
    "N_SIX_FIXES",
    "OUTPUT_LAYERS",
    "PARENT_CODE",
    "PLANNED_EXIT_YEAR",
    "PLAN_YEAR",
    "POOR_HOUSEHOLDS",
    "POOR_POPULATION",
    "POVERTY_COUNTY",
    "POVERTY_VILLAGE",
    "POVERTY_VILLAGES",
    "PROJECTS_PLANNED",
    "PROJECT_COLUMNS",
    "PROJECT_COUNT_COLUMNS",
    "PROJECT_ID",
    "PROJECT_NAME",
    "PROVINCE_CODE",
    "PUBLIC_NOTICE_DATE",
    "QI_CHECK",
    "QI_CODE",
    "QI_ENTITY",
    "QI_ENTITY_ID",
    "QI_MESSAGE",
    "QI_SEVERITY",
    "QI_VALUE",
    "REGISTRY_COLUMNS",
    "RELOCATED_POPULATION",
    "RESPONSIBLE_UNIT",
    "SECTOR",
    "SECTORS",
    "SECTOR_LABELS_ZH",
    "SIX_FIXES",
    "SIX_FIXES_LABELS_ZH",
    "SIX_FIXES_RATE",
    "SLOPE_MEAN",
    "START_DATE",
    "STATUS",
    "STATUSES",
    "STATUS_LABELS_ZH",
    "TABLE_BUILD_INFO",
    "TABLE_QUALITY_ISSUES",
    "TABLE_REGION_SUMMARY",
    "TABLE_ROADMAP_YEARS",
    "TABLE_ZONE_SUMMARY",
    "TOWNSHIP_CODE",
    "TOWNSHIP_ROUTE_MAPS",
    "VILLAGES_ACTUAL_EXIT",
    "VILLAGES_EXITED",
    "VILLAGES_PLANNED_EXIT",
    "VILLAGE_CODE",
    "VILLAGE_PLANS",
    "YEAR",
    "ZONE",
    "level_of",
    "pad_code",
    "parent_of",
    "truncate",
]


# --- administrative levels -------------------------------------------------------------
LEVELS: tuple[str, ...] = ("province", "prefecture", "county", "township", "village")
#: digits of the 12-digit code that identify a unit of each level
LEVEL_DIGITS: dict[str, int] = {
    "province": 2,
    "prefecture": 4,
    "county": 6,
    "township": 9,
    "village": 12,
}
PROVINCE_CODE = "530000000000"
LEVEL_LABELS_ZH: dict[str, str] = {
    "province": "省",
    "prefecture": "州/市",
    "county": "县/市/区",
    "township": "乡/镇",
    "village": "行政村",
}

# --- admin_units (polygons) ------------------------------------------------------------
CODE = "code"  # 12-digit string, right-padded with zeros
NAME = "name"
LEVEL = "level"
PARENT_CODE = "parent_code"
HAS_TASKS = "has_tasks"  # county with a project library (122); township/village: carries a plan
POVERTY_COUNTY = "poverty_county"
DEEP_POVERTY = "deep_poverty"
BORDER = "border"
POVERTY_VILLAGE = "poverty_village"
COUNTY_EXIT_YEAR = "county_exit_year"  # poverty counties: year of the exit batch (2017..2020)
ADMIN_COLUMNS: tuple[str, ...] = (
    CODE,
    NAME,
    LEVEL,
    PARENT_CODE,
    HAS_TASKS,
    POVERTY_COUNTY,
    DEEP_POVERTY,
    BORDER,
    POVERTY_VILLAGE,
    COUNTY_EXIT_YEAR,
)

# --- registry (one row per village; no personal data) ----------------------------------
VILLAGE_CODE = "village_code"
POOR_HOUSEHOLDS = "poor_households"
POOR_POPULATION = "poor_population"
COVERED_POPULATION = "covered_population"
PLANNED_EXIT_YEAR = "planned_exit_year"
EXIT_YEAR = "exit_year"  # nullable Int64: empty until the village exits
RELOCATED_POPULATION = "relocated_population"
CAUSES: tuple[str, ...] = (
    "illness",
    "disability",
    "schooling",
    "skills",
    "funds",
    "labour",
    "transport",
    "housing",
    "water",
    "other",
)
CAUSE_COLUMNS: tuple[str, ...] = tuple(f"cause_{c}" for c in CAUSES)
CAUSE_LABELS_ZH: dict[str, str] = {
    "illness": "因病",
    "disability": "因残",
    "schooling": "因学",
    "skills": "缺技术",
    "funds": "缺资金",
    "labour": "缺劳力",
    "transport": "交通条件落后",
    "housing": "住房",
    "water": "缺水",
    "other": "其他",
}
REGISTRY_COLUMNS: tuple[str, ...] = (
    VILLAGE_CODE,
    POOR_HOUSEHOLDS,
    POOR_POPULATION,
    COVERED_POPULATION,
    PLANNED_EXIT_YEAR,
    EXIT_YEAR,
    RELOCATED_POPULATION,
    *CAUSE_COLUMNS,
)

# --- projects (the ledger) ---------------------------------------------------------------
PROJECT_ID = "project_id"
PROJECT_NAME = "name"
COUNTY_CODE = "county_code"
TOWNSHIP_CODE = "township_code"
# VILLAGE_CODE reused: the smallest unit served; empty for county-wide projects
SECTOR = "sector"
PLAN_YEAR = "plan_year"
STATUS = "status"
START_DATE = "start_date"
COMPLETION_DATE = "completion_date"
FUNDS_PLANNED = "funds_planned"  # 万元
FUNDS_ALLOCATED = "funds_allocated"
FUNDS_SPENT = "funds_spent"
FUND_SOURCE = "fund_source"
BENEFICIARY_HOUSEHOLDS = "beneficiary_households"
BENEFICIARY_POOR_POPULATION = "beneficiary_poor_population"
RESPONSIBLE_UNIT = "responsible_unit"
APPROVAL_REF = "approval_ref"
PUBLIC_NOTICE_DATE = "public_notice_date"
INSPECTION_RESULT = "inspection_result"
PROJECT_COLUMNS: tuple[str, ...] = (
    PROJECT_ID,
    PROJECT_NAME,
    COUNTY_CODE,
    TOWNSHIP_CODE,
    VILLAGE_CODE,
    SECTOR,
    PLAN_YEAR,
    STATUS,
    START_DATE,
    COMPLETION_DATE,
    FUNDS_PLANNED,
    FUNDS_ALLOCATED,
    FUNDS_SPENT,
    FUND_SOURCE,
    BENEFICIARY_HOUSEHOLDS,
    BENEFICIARY_POOR_POPULATION,
    RESPONSIBLE_UNIT,
    APPROVAL_REF,
    PUBLIC_NOTICE_DATE,
    INSPECTION_RESULT,
)
#: set by the pipeline when locating projects (DESIGN §5)
LOCATED_BY = "located_by"  # "code" | "point" | "county" (county-wide, no village)

SECTORS: tuple[str, ...] = (
    "industry",
    "employment",
    "education",
    "health",
    "housing",
    "water",
    "relocation",
    "infrastructure",
    "ecology",
    "other",
)
SECTOR_LABELS_ZH: dict[str, str] = {
    "industry": "特色产业",
    "employment": "就业扶贫",
    "education": "教育扶贫",
    "health": "健康扶贫",
    "housing": "农村危房改造",
    "water": "饮水安全",
    "relocation": "易地扶贫搬迁",
    "infrastructure": "基础设施",
    "ecology": "生态扶贫",
    "other": "综合保障及其他",
}
STATUSES: tuple[str, ...] = ("planned", "approved", "in_progress", "completed", "accepted")
COMPLETED_STATUSES: frozenset[str] = frozenset({"completed", "accepted"})
STATUS_LABELS_ZH: dict[str, str] = {
    "planned": "计划",
    "approved": "已批复",
    "in_progress": "在建",
    "completed": "已完工",
    "accepted": "已验收",
}
FUND_SOURCES: tuple[str, ...] = (
    "central",
    "provincial",
    "prefecture_county",
    "integrated",
    "credit",
    "social",
    "east_west",
)
FUND_SOURCE_LABELS_ZH: dict[str, str] = {
    "central": "中央财政专项",
    "provincial": "省级财政",
    "prefecture_county": "州市县财政",
    "integrated": "统筹整合资金",
    "credit": "金融信贷",
    "social": "社会帮扶",
    "east_west": "东西部协作",
}
#: a household's main cause of poverty → project sectors that remedy it (对症下药)
CAUSE_REMEDY_SECTORS: dict[str, frozenset[str]] = {
    "illness": frozenset({"health"}),
    "disability": frozenset({"health", "other"}),
    "schooling": frozenset({"education"}),
    "skills": frozenset({"employment", "education"}),
    "funds": frozenset({"industry"}),
    "labour": frozenset({"industry", "employment"}),
    "transport": frozenset({"infrastructure"}),
    "housing": frozenset({"housing", "relocation"}),
    "water": frozenset({"water"}),
    "other": frozenset({"other", "ecology"}),
}
#: 六定 — the six fixes and the project field that evidences each
SIX_FIXES: dict[str, str] = {
    "funds": FUNDS_PLANNED,
    "plan": PLAN_YEAR,
    "approval": APPROVAL_REF,
    "public_notice": PUBLIC_NOTICE_DATE,
    "responsibility": RESPONSIBLE_UNIT,
    "inspection": INSPECTION_RESULT,
}
SIX_FIXES_LABELS_ZH: dict[str, str] = {
    "funds": "定资金",
    "plan": "定计划",
    "approval": "一次性审批",
    "public_notice": "定公告",
    "responsibility": "定责任",
    "inspection": "定检查",
}

# --- metrics (DESIGN §4): additive counts kept beside every rate -------------------------
N_PROJECTS = "projects"
N_COMPLETED = "projects_completed"
N_SIX_FIXES = "projects_six_fixes"
COVERED_CAPPED = "covered_population_capped"  # Σ min(covered, poor)
MATCHED_HOUSEHOLDS = "matched_households"
POVERTY_VILLAGES = "poverty_villages"
VILLAGES_EXITED = "villages_exited"
COUNTY_LIBRARIES = "county_libraries"
TOWNSHIP_ROUTE_MAPS = "township_route_maps"
VILLAGE_PLANS = "village_plans"
#: the project counts summed over children (``metrics.project_counts``, ``storeagg``)
PROJECT_COUNT_COLUMNS: tuple[str, ...] = (
    N_PROJECTS,
    N_COMPLETED,
    N_SIX_FIXES,
    FUNDS_PLANNED,
    FUNDS_ALLOCATED,
    FUNDS_SPENT,
)
# rates (fractions 0..1, NaN where the denominator is 0)
COMPLETION = "completion"
FUNDS_EXECUTION = "funds_execution"  # funds_spent / funds_planned
COVERAGE = "coverage"
EXIT_PROGRESS = "exit_progress"
SIX_FIXES_RATE = "six_fixes"
MATCHED_REMEDY = "matched_remedy"
METRICS: tuple[str, ...] = (
    COMPLETION,
    COVERAGE,
    FUNDS_EXECUTION,
    SIX_FIXES_RATE,
    EXIT_PROGRESS,
    MATCHED_REMEDY,
)
METRIC_LABELS_ZH: dict[str, str] = {
    COMPLETION: "完工率",
    COVERAGE: "覆盖率",
    FUNDS_EXECUTION: "资金执行率",
    SIX_FIXES_RATE: "六定完整率",
    EXIT_PROGRESS: "出列进度",
    MATCHED_REMEDY: "对症施策率",
}
METRIC_LABELS_EN: dict[str, str] = {
    COMPLETION: "Completion",
    COVERAGE: "Coverage",
    FUNDS_EXECUTION: "Funds executed",
    SIX_FIXES_RATE: "Six-fixes completeness",
    EXIT_PROGRESS: "Exit progress",
    MATCHED_REMEDY: "Matched-remedy rate",
}

# terrain columns added by the build from a DEM (layers/terrain.py)
ELEVATION_MEAN = "elevation_mean"  # m (DEM units), coverage-weighted
SLOPE_MEAN = "slope_mean"  # degrees; NaN where the DEM is too coarse

# --- store (DESIGN §5): one GeoPackage ---------------------------------------------------
LAYER_ADMIN_UNITS = "admin_units"
LAYER_PROJECTS = "projects"
LAYER_REGISTRY = "registry"
LAYER_VILLAGE_PLAN = "village_plan"
LAYER_TOWNSHIP_ROADMAP = "township_roadmap"
TABLE_ROADMAP_YEARS = "roadmap_years"
LAYER_COUNTY_LIBRARY = "county_library"
TABLE_REGION_SUMMARY = "region_summary"
TABLE_ZONE_SUMMARY = "zone_summary"
TABLE_QUALITY_ISSUES = "quality_issues"
TABLE_BUILD_INFO = "build_info"
INPUT_LAYERS: tuple[str, ...] = (LAYER_ADMIN_UNITS, LAYER_PROJECTS, LAYER_REGISTRY)
OUTPUT_LAYERS: tuple[str, ...] = (
    LAYER_VILLAGE_PLAN,
    LAYER_TOWNSHIP_ROADMAP,
    TABLE_ROADMAP_YEARS,
    LAYER_COUNTY_LIBRARY,
    TABLE_REGION_SUMMARY,
    TABLE_ZONE_SUMMARY,
    TABLE_QUALITY_ISSUES,
)
# quality_issues columns
QI_CHECK = "check"
QI_SEVERITY = "severity"  # "error" | "warning" | "info"
QI_ENTITY = "entity"  # "project" | "village" | "county" | ...
QI_ENTITY_ID = "entity_id"
QI_CODE = "code"  # the unit where the problem is (12-digit), for mapping
QI_MESSAGE = "message"
QI_VALUE = "value"
# roadmap_years columns
YEAR = "year"
VILLAGES_PLANNED_EXIT = "villages_planned_exit"
VILLAGES_ACTUAL_EXIT = "villages_actual_exit"
PROJECTS_PLANNED = "projects_planned"
# projects completed per year are counted by completion_date year, else plan_year
FUNDS_PLANNED_YEAR = "funds_planned"
FUNDS_SPENT_YEAR = "funds_spent"
# zone_summary key
ZONE = "zone"


def pad_code(code: str | int) -> str:
    """Right-pad an administrative code to the 12-digit form (``533321`` → ``533321000000``)."""
    s = str(code).strip()
    if not s.isdigit() or len(s) > 12:
        raise ValueError(f"administrative code {code!r} is not 1–12 digits")
    return s.ljust(12, "0")


def level_of(code: str) -> str:
    """Return the level of a code: the deepest level whose digits are not all zero."""
    code = pad_code(code)
    found = "province"
    for prev, level in itertools.pairwise(LEVELS):
        if code[LEVEL_DIGITS[prev] : LEVEL_DIGITS[level]].strip("0"):
            found = level
    return found


def _previous(level: str) -> str:
    i = LEVELS.index(level)
    return LEVELS[max(i - 1, 0)]


def parent_of(code: str) -> str | None:
    """Return the 12-digit code of the parent unit (None for the province)."""
    level = level_of(code)
    if level == "province":
        return None
    n = LEVEL_DIGITS[_previous(level)]
    return pad_code(code)[:n].ljust(12, "0")


def truncate(code: str, level: str) -> str:
    """Return the code of ``code``'s ancestor at ``level`` (12-digit).

    Parameters
    ----------
    code
        A unit code (padded to 12 digits).
    level
        The ancestor's level.
    """
    return pad_code(code)[: LEVEL_DIGITS[level]].ljust(12, "0")
