"""乡级路线图: the township route maps layer and its year-by-year ``roadmap_years`` table."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.build.village_plan import geometry_last, plan_units
from layers.settings import EXIT_YEAR_RANGE

__all__ = [
    "ROADMAP_YEARS_COLUMNS",
    "build_township_roadmap",
    "roadmap_years",
]


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

    Parameters
    ----------
    townships
        Township codes; duplicates count once.
    registry
        The poverty registry, one row per village.
    projects
        The located project ledger.
    years
        First and last year, both included.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``year`` and the counts; funds in 万元.
    """
    codes = pd.Index(pd.unique(townships.astype("str")))
    year_list = list(range(years[0], years[1] + 1))
    town = pd.Series(_township_of_village(registry[S.VILLAGE_CODE]))
    planned_exit = pd.to_numeric(registry[S.PLANNED_EXIT_YEAR], errors="coerce").to_numpy()
    actual_exit = pd.to_numeric(registry[S.EXIT_YEAR], errors="coerce").to_numpy()

    p = M.prepare_projects(projects)
    key = p[M._KEY["township"]]
    plan_year = p[S.PLAN_YEAR].to_numpy()
    done = p[M._DONE].to_numpy().astype(bool)
    if S.COMPLETION_DATE in p.columns:
        done_year = pd.to_datetime(p[S.COMPLETION_DATE]).dt.year.to_numpy(dtype="float64")
        done_year = np.where(np.isnan(done_year), plan_year, done_year)
    else:
        done_year = plan_year.astype("float64")
    done_year = np.where(done, done_year, np.nan)

    def table(rows: pd.Series, cols: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        cols = pd.Series(cols).astype("float64").to_numpy()
        return M.crosstab(rows, cols, index=codes, columns=year_list, weights=weights).to_numpy()

    blocks = {
        S.VILLAGES_PLANNED_EXIT: table(town, planned_exit),
        S.VILLAGES_ACTUAL_EXIT: table(town, actual_exit),
        S.PROJECTS_PLANNED: table(key, plan_year),
        "projects_completed": table(key, done_year),
        S.FUNDS_PLANNED_YEAR: table(key, plan_year, p[S.FUNDS_PLANNED].fillna(0).to_numpy()),
        S.FUNDS_SPENT_YEAR: table(key, plan_year, p[S.FUNDS_SPENT].fillna(0).to_numpy()),
    }
    out = pd.DataFrame(
        {
            S.CODE: np.repeat(codes.to_numpy(dtype=object), len(year_list)),
            S.YEAR: np.tile(np.asarray(year_list, dtype="int64"), len(codes)),
        }
    )
    out[S.CODE] = out[S.CODE].astype("str")
    for col, values in blocks.items():
        out[col] = values.reshape(-1)
    return out[list(ROADMAP_YEARS_COLUMNS)]


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
    """
    towns = plan_units(admin_units, "township")
    codes = towns[S.CODE].to_numpy()
    p = M.prepare_projects(projects)
    town_of = _township_of_village(registry[S.VILLAGE_CODE])
    exit_year = pd.to_numeric(registry[S.EXIT_YEAR], errors="coerce").to_numpy()
    villages_with_plan = plan_units(admin_units, "village")
    n_plans = pd.Series(_township_of_village(villages_with_plan[S.CODE])).value_counts()
    exits = pd.Series(exit_year, index=town_of).dropna().groupby(level=0).agg(["min", "max"])
    exits = exits.reindex(codes)
    out = towns.copy()
    out["villages"] = n_plans.reindex(codes, fill_value=0).to_numpy().astype("int64")
    out["first_exit_year"] = pd.array(exits["min"].to_numpy(), dtype="Int64")
    out["last_exit_year"] = pd.array(exits["max"].to_numpy(), dtype="Int64")
    out = M.with_unit_counts(
        out, admin_units, registry, p, level="township", exit_by=exit_by, summary=summary
    )
    return geometry_last(out), roadmap_years(towns[S.CODE], registry, p)
