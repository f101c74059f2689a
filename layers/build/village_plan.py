"""村级施工图: the village construction plans layer — one row per village with a plan."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.errors import LedgerError

__all__ = [
    "SECTORS_SEPARATOR",
    "build_village_plan",
    "geometry_last",
    "plan_units",
    "sector_mix",
]


#: separator inside the ``sectors`` column, e.g. ``industry:5;water:2``
SECTORS_SEPARATOR = ";"


def plan_units(
    admin_units: gpd.GeoDataFrame, level: str, *, extra: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    """Units of ``level`` that carry a plan (``has_tasks``), sorted by code, with county and
    prefecture codes and the ``extra`` columns of ``admin_units`` (e.g. county flags).

    Parameters
    ----------
    admin_units
        The administrative units with ``has_tasks``.
    level
        ``"county"``, ``"township"`` or ``"village"``.
    extra
        Further columns of ``admin_units`` to carry over.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code, name, parent_code, county_code, prefecture_code``, the ``extra`` columns
        and geometry.
    """
    need = tuple(dict.fromkeys((S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE, S.HAS_TASKS, *extra)))
    missing = [c for c in need if c not in admin_units.columns]
    if missing:
        raise LedgerError(f"admin_units lack columns {missing}; add them (see layers/schema.py)")
    units = admin_units[
        (admin_units[S.LEVEL] == level) & admin_units[S.HAS_TASKS].fillna(False).astype(bool)
    ]
    code = units[S.CODE].astype("str")
    out = gpd.GeoDataFrame(
        {
            S.CODE: code.to_numpy(),
            S.NAME: units[S.NAME].to_numpy(),
            S.PARENT_CODE: units[S.PARENT_CODE].astype("str").to_numpy(),
            S.COUNTY_CODE: M._pad(code, 6).to_numpy(),
            M.PREFECTURE_CODE: M._pad(code, 4).to_numpy(),
            **{c: units[c].to_numpy() for c in extra},
        },
        geometry=units.geometry.to_numpy(),
        crs=admin_units.crs,
    )
    return out.sort_values(S.CODE, ignore_index=True)


def geometry_last(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same frame with its geometry column moved to the end (as GIS tools list it)."""
    name = gdf.geometry.name
    return gdf[[c for c in gdf.columns if c != name] + [name]]


def sector_mix(projects: pd.DataFrame, *, level: str, codes: pd.Index | None = None) -> pd.Series:
    """Per unit of ``level``: ``"sector:n;…"`` by descending count (ties in SECTORS order).

    ``codes`` fixes the units (default: those with projects); units without projects get "".

    Parameters
    ----------
    projects
        The project ledger.
    level
        Unit level the projects are counted at.
    codes
        Unit codes to report, in this order, or None for every unit with projects.

    Returns
    -------
    pandas.Series
        ``sectors`` text indexed by unit code, e.g. ``"industry:3;housing:1"``.
    """
    p = M.prepare_projects(projects)
    key = M.project_key(p, level)
    if codes is None:
        codes = pd.Index(key.dropna().astype("str").unique()).sort_values()
    counts = M.crosstab(key, p[S.SECTOR], index=codes, columns=S.SECTORS).to_numpy()
    # stable sort on the negated counts keeps SECTORS order among ties
    order = np.argsort(-counts, axis=1, kind="stable")
    ranked = np.take_along_axis(counts, order, axis=1)
    names = np.asarray(S.SECTORS, dtype=object)[order]
    text = np.full(len(codes), "", dtype=object)
    for j in range(len(S.SECTORS)):
        n = ranked[:, j]
        sep = SECTORS_SEPARATOR if j else ""
        piece = sep + names[:, j] + ":" + n.astype("str").astype(object)
        text = text + np.where(n > 0, piece, "")
    return pd.Series(text, index=codes, name="sectors")


def build_village_plan(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    exit_by: int = 2020,
    summary: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return ``village_plan``: villages with a plan, their registry figures, project counts,
    rates and ``sectors`` mix. ``projects`` must be located (``build.locate_projects``);
    ``summary`` (``metrics.aggregate`` of the same inputs) saves recounting.

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
        One row per village with a plan, sorted by code; geometry last.
    """
    villages = plan_units(admin_units, "village")
    reg = registry.drop_duplicates(S.VILLAGE_CODE).set_index(
        registry[S.VILLAGE_CODE].drop_duplicates().astype("str")
    )
    reg_cols = [c for c in S.REGISTRY_COLUMNS if c != S.VILLAGE_CODE and c in reg.columns]
    figures = reg[reg_cols].reindex(villages[S.CODE].to_numpy())
    p = M.prepare_projects(projects)
    out = villages.copy()
    for col in reg_cols:
        out[col] = figures[col].array
    out = M.with_unit_counts(
        out, admin_units, registry, p, level="village", exit_by=exit_by, summary=summary
    )
    mix = sector_mix(p, level="village", codes=pd.Index(out[S.CODE].to_numpy()))
    out["sectors"] = mix.to_numpy()
    return geometry_last(out)
