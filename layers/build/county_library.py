"""县级项目库: the county project library layer — the 122 counties with tasks and their projects."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.build.village_plan import geometry_last, plan_units

__all__ = [
    "COUNTY_FLAGS",
    "build_county_library",
    "sector_column",
]


COUNTY_FLAGS: tuple[str, ...] = (
    S.HAS_TASKS,
    S.POVERTY_COUNTY,
    S.DEEP_POVERTY,
    S.BORDER,
    S.COUNTY_EXIT_YEAR,
)


def sector_column(sector: str) -> str:
    """Name of the per-sector project count column (``projects_industry``)."""
    return f"{S.N_PROJECTS}_{sector}"


def build_county_library(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    exit_by: int = 2020,
    summary: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return ``county_library``: counties with tasks, their flags, counts, rates and
    ``projects_<sector>`` counts (county-wide projects included). ``summary``
    (``metrics.aggregate`` of the same inputs) saves recounting.

    Parameters
    ----------
    admin_units
        The administrative units; ``has_tasks`` marks those with a plan.
    registry
        The poverty registry, one row per village.
    projects
        The located project ledger (``build.locate_projects``).
    exit_by
        Year up to which a village's exit counts (``exit_year`` ≤ ``exit_by``).
    summary
        ``metrics.aggregate`` of the same inputs, or None to count afresh.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per county with tasks, sorted by code; geometry last.
    """
    units = plan_units(admin_units, "county", extra=COUNTY_FLAGS).drop(columns=S.COUNTY_CODE)
    units[S.COUNTY_EXIT_YEAR] = pd.array(units[S.COUNTY_EXIT_YEAR], dtype="Int64")
    p = M.prepare_projects(projects)
    out = M.with_unit_counts(
        units, admin_units, registry, p, level="county", exit_by=exit_by, summary=summary
    )
    codes = out[S.CODE].to_numpy()
    by_sector = M.crosstab(p[M._KEY["county"]], p[S.SECTOR], index=codes, columns=S.SECTORS)
    for sector in S.SECTORS:
        out[sector_column(sector)] = by_sector[sector].fillna(0).to_numpy().astype("int64")
    return geometry_last(out)
