"""县级项目库: the county project library layer — the 122 counties with tasks and their projects."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers import metrics as M
from layers import schema as S
from layers.errors import LedgerError
from layers.village_plan import geometry_last

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
    """
    missing = [
        c
        for c in (S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE, *COUNTY_FLAGS)
        if c not in admin_units.columns
    ]
    if missing:
        raise LedgerError(f"admin_units lack columns {missing}; add them (see layers/schema.py)")
    sel = (admin_units[S.LEVEL] == "county") & admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    units = admin_units.loc[sel].sort_values(S.CODE)
    codes = units[S.CODE].astype("str").to_numpy()
    out = gpd.GeoDataFrame(
        {
            S.CODE: codes,
            S.NAME: units[S.NAME].to_numpy(),
            S.PARENT_CODE: units[S.PARENT_CODE].astype("str").to_numpy(),
            M.PREFECTURE_CODE: M._pad(units[S.CODE].astype("str"), 4).to_numpy(),
            **{c: units[c].to_numpy() for c in COUNTY_FLAGS},
        },
        geometry=units.geometry.to_numpy(),
        crs=admin_units.crs,
    )
    out[S.COUNTY_EXIT_YEAR] = pd.array(out[S.COUNTY_EXIT_YEAR], dtype="Int64")
    p = M.prepare_projects(projects)
    counts = M.unit_counts(
        admin_units,
        registry,
        p,
        level="county",
        codes=codes,
        exit_by=exit_by,
        summary=summary,
    )
    for col in M.COUNT_COLUMNS:
        out[col] = counts[col].to_numpy()
    out = M.add_rates(out)
    by_sector = M.crosstab(p[M._KEY["county"]], p[S.SECTOR], index=codes, columns=S.SECTORS)
    for sector in S.SECTORS:
        out[sector_column(sector)] = by_sector[sector].fillna(0).to_numpy().astype("int64")
    return geometry_last(out)
