"""乡级路线图: the township route maps layer and its year-by-year ``roadmap_years`` table."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import metrics as M
from layers import schema as S
from layers.settings import EXIT_YEAR_RANGE
from layers.village_plan import geometry_last, plan_units

ROADMAP_YEARS_COLUMNS: tuple[str, ...] = (
    S.CODE,
    S.YEAR,
    S.VILLAGES_PLANNED_EXIT,
    S.VILLAGES_ACTUAL_EXIT,
    S.PROJECTS_PLANNED,
    "projects_completed",
    S.FUNDS_PLANNED_YEAR,
    S.FUNDS_SPENT_YEAR,
)


def _township_of_village(codes: pd.Series) -> np.ndarray:
    return M._pad(codes.astype("str"), S.LEVEL_DIGITS["township"]).to_numpy()


def roadmap_years(
    townships: pd.Series,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    years: tuple[int, int] = EXIT_YEAR_RANGE,
) -> pd.DataFrame:
    """Return the long ``roadmap_years`` table: one row per township code × year.

    Villages planned/actually exiting that year (registry), projects planned (``plan_year``)
    and completed (year of ``completion_date``, else ``plan_year`` for completed projects
    without a date), funds planned and spent of the projects planned that year. County-wide
    projects belong to no township and are left out.
    """
    codes = pd.Index(pd.unique(townships.astype("str")), name=S.CODE)
    year_index = pd.RangeIndex(years[0], years[1] + 1, name=S.YEAR)
    full = pd.MultiIndex.from_product([codes, year_index])
    town = _township_of_village(registry[S.VILLAGE_CODE])
    planned_exit = pd.to_numeric(registry[S.PLANNED_EXIT_YEAR], errors="coerce")
    actual_exit = pd.to_numeric(registry[S.EXIT_YEAR], errors="coerce")
    v_planned = pd.Series(1, index=[town, planned_exit]).groupby(level=[0, 1]).sum()
    v_actual = pd.Series(1, index=[town, actual_exit]).groupby(level=[0, 1]).sum()

    p = M.prepare_projects(projects)
    key = p[M._KEY["township"]]
    has = key.notna().to_numpy()
    p = p[has]
    key = key[has].astype("str").to_numpy()
    plan_year = p[S.PLAN_YEAR].to_numpy()
    done = p[M._DONE].to_numpy().astype(bool)
    if S.COMPLETION_DATE in p.columns:
        done_year = pd.to_datetime(p[S.COMPLETION_DATE]).dt.year.to_numpy(dtype="float64")
        done_year = np.where(np.isnan(done_year), plan_year, done_year)
    else:
        done_year = plan_year.astype("float64")
    by_plan = (
        pd.DataFrame(
            {
                S.PROJECTS_PLANNED: 1,
                S.FUNDS_PLANNED_YEAR: p[S.FUNDS_PLANNED].to_numpy(),
                S.FUNDS_SPENT_YEAR: p[S.FUNDS_SPENT].to_numpy(),
            },
            index=[key, plan_year],
        )
        .groupby(level=[0, 1])
        .sum()
    )
    by_done = (
        pd.Series(1, index=[key[done], done_year[done].astype("int64")]).groupby(level=[0, 1]).sum()
    )

    def _on(series: pd.Series) -> np.ndarray:
        series.index = series.index.set_names([S.CODE, S.YEAR])
        series = series[series.index.get_level_values(1).notna()]
        series.index = series.index.set_levels(series.index.levels[1].astype("int64"), level=1)
        return series.reindex(full, fill_value=0).to_numpy()

    out = pd.DataFrame(index=full)
    out[S.VILLAGES_PLANNED_EXIT] = _on(v_planned).astype("int64")
    out[S.VILLAGES_ACTUAL_EXIT] = _on(v_actual).astype("int64")
    out[S.PROJECTS_PLANNED] = _on(by_plan[S.PROJECTS_PLANNED]).astype("int64")
    out["projects_completed"] = _on(by_done).astype("int64")
    out[S.FUNDS_PLANNED_YEAR] = _on(by_plan[S.FUNDS_PLANNED_YEAR]).astype("float64")
    out[S.FUNDS_SPENT_YEAR] = _on(by_plan[S.FUNDS_SPENT_YEAR]).astype("float64")
    return out.reset_index()[list(ROADMAP_YEARS_COLUMNS)]


def build_township_roadmap(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    exit_by: int = 2020,
    summary: pd.DataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return ``(township_roadmap, roadmap_years)`` for the townships with a route map.

    ``township_roadmap`` holds ``villages`` (plans), ``poverty_villages``, ``villages_exited``,
    ``first_exit_year``/``last_exit_year`` of its villages, the additive counts and rates.
    ``projects`` must be located (``build.locate_projects``); ``summary``
    (``metrics.aggregate`` of the same inputs) saves recounting.
    """
    towns = plan_units(admin_units, "township")
    codes = towns[S.CODE].to_numpy()
    p = M.prepare_projects(projects)
    counts = M.unit_counts(
        admin_units,
        registry,
        p,
        level="township",
        codes=codes,
        exit_by=exit_by,
        summary=summary,
    )
    town_of = _township_of_village(registry[S.VILLAGE_CODE])
    exit_year = pd.to_numeric(registry[S.EXIT_YEAR], errors="coerce").to_numpy()
    villages_with_plan = plan_units(admin_units, "village")
    n_plans = pd.Series(_township_of_village(villages_with_plan[S.CODE])).value_counts()
    exits = pd.Series(exit_year, index=town_of).dropna().groupby(level=0).agg(["min", "max"])
    exits = exits.reindex(codes)
    out = towns.copy()
    out["villages"] = n_plans.reindex(codes, fill_value=0).to_numpy().astype("int64")
    for col in M.COUNT_COLUMNS:
        out[col] = counts[col].to_numpy()
    out["first_exit_year"] = pd.array(exits["min"].to_numpy(), dtype="Int64")
    out["last_exit_year"] = pd.array(exits["max"].to_numpy(), dtype="Int64")
    out = M.add_rates(out)
    return geometry_last(out), roadmap_years(towns[S.CODE], registry, p)
