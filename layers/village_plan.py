"""村级施工图: the village construction plans layer — one row per village with a plan."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers import metrics as M
from layers import schema as S
from layers.errors import LedgerError

#: separator inside the ``sectors`` column, e.g. ``industry:5;water:2``
SECTORS_SEPARATOR = ";"


def plan_units(admin_units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Units of ``level`` that carry a plan (``has_tasks``), with county and prefecture codes."""
    for col in (S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE, S.HAS_TASKS):
        if col not in admin_units.columns:
            raise LedgerError(f"admin_units lack column {col!r}; add it (see layers/schema.py)")
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
        },
        geometry=units.geometry.to_numpy(),
        crs=admin_units.crs,
    )
    return out.sort_values(S.CODE, ignore_index=True)


def sector_mix(projects: pd.DataFrame, *, level: str) -> pd.Series:
    """Per unit of ``level``: ``"sector:n;…"`` by descending count (ties in SECTORS order)."""
    p = M.prepare_projects(projects)
    key = M.project_key(p, level)
    has = key.notna().to_numpy()
    counts = (
        pd.DataFrame(
            {
                "k": key.astype("str").to_numpy()[has],
                "s": p[S.SECTOR].astype("str").to_numpy()[has],
            }
        )
        .value_counts()
        .rename("n")
        .reset_index()
    )
    order = {s: i for i, s in enumerate(S.SECTORS)}
    counts["o"] = counts["s"].map(order).fillna(len(order))
    counts = counts.sort_values(["k", "n", "o"], ascending=[True, False, True])
    label = counts["s"] + ":" + counts["n"].astype("str")
    return label.groupby(counts["k"].to_numpy(), sort=True).agg(SECTORS_SEPARATOR.join)


def build_village_plan(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    exit_by: int = 2020,
) -> gpd.GeoDataFrame:
    """Return ``village_plan``: villages with a plan, their registry figures, project counts,
    rates and ``sectors`` mix. ``projects`` must be located (``build.locate_projects``).
    """
    villages = plan_units(admin_units, "village")
    reg = registry.drop_duplicates(S.VILLAGE_CODE).set_index(
        registry[S.VILLAGE_CODE].drop_duplicates().astype("str")
    )
    reg_cols = [c for c in S.REGISTRY_COLUMNS if c != S.VILLAGE_CODE and c in reg.columns]
    figures = reg[reg_cols].reindex(villages[S.CODE].to_numpy())
    p = M.prepare_projects(projects)
    counts = pd.concat(
        [
            M.project_counts(p, level="village"),
            M.registry_counts(
                M._with_poverty_flag(registry, admin_units),
                level="village",
                exit_by=exit_by,
                projects=p,
            ),
        ],
        axis=1,
    ).reindex(villages[S.CODE].to_numpy())
    out = villages.copy()
    for col in reg_cols:
        out[col] = figures[col].array
    for col in M.COUNT_COLUMNS:
        values = counts[col].fillna(0)
        out[col] = values.to_numpy().astype("float64" if values.dtype.kind == "f" else "int64")
    out = M.add_rates(out)
    mix = sector_mix(p, level="village")
    out["sectors"] = mix.reindex(out[S.CODE].to_numpy()).fillna("").to_numpy()
    return out
