"""Generate the demo poverty registry: one row per plan village, calibrated to Yunnan.

Everything is drawn from one ``numpy.random.default_rng([seed, 1])``, vectorised over villages
(no per-row Python loop), so the same seed gives the same frame. Totals and assumptions are in
``layers.demo.calibration``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import schema as S
from layers.demo.calibration import (
    CAUSE_BASE,
    CAUSE_MOUNTAIN,
    LAST_YEAR,
    MAX_SCALE,
    POOR_POPULATION_TOTAL,
    PUBLISHED_COVERAGE,
    YEARS,
    check_scale,
)
from layers.demo.frames import apportion, draw_categorical, village_frame

__all__ = ["generate_registry"]


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
        Fraction of the province's poor population to distribute (1 = 6.6 million); above 1
        (``onemap demo --scale N``) the same villages hold N times the poor and households.

    Returns
    -------
    pandas.DataFrame
        ``schema.REGISTRY_COLUMNS``, one row per plan village, sorted by village code.
    """
    check_scale(scale, MAX_SCALE)
    v = village_frame(admin_units)
    rng = np.random.default_rng([seed, 1])
    n = len(v)
    lag = v["_lagging"].to_numpy()
    mountain = v["_mountain"].to_numpy()
    poverty_village = v[S.POVERTY_VILLAGE].to_numpy(bool)
    deep = v[S.DEEP_POVERTY].to_numpy(bool)

    poor, households = _population(rng, n, poverty_village, deep, lag, scale)
    causes = _households_by_cause(rng, households, mountain)
    covered = poor - _uncovered(rng, poor, lag, poverty_village)
    planned_col, exit_col = _exit_years(rng, v, poverty_village, deep, lag)
    relocated = _relocated(rng, poor, mountain, deep | lag)

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


def _population(
    rng: np.random.Generator,
    n: int,
    poverty_village: np.ndarray,
    deep: np.ndarray,
    lag: np.ndarray,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Poor population (log-normal weights, apportioned to an exact total) and households."""
    mu = 0.7 * poverty_village + 0.3 * deep + 0.3 * lag
    weights = rng.lognormal(mu, 0.6)
    total_poor = round(POOR_POPULATION_TOTAL * scale)
    floor = 10 if total_poor >= 10 * n else (1 if total_poor >= n else 0)
    poor = floor + apportion(weights, total_poor - floor * n)
    households = np.minimum(poor, np.maximum(np.rint(poor / rng.uniform(3.5, 4.0, n)), 1))
    households = np.where(poor > 0, households, 0).astype(np.int64)
    return poor, households


def _households_by_cause(
    rng: np.random.Generator, households: np.ndarray, mountain: np.ndarray
) -> np.ndarray:
    """Households by main cause: a Dirichlet mix per village (via gamma draws), multinomial."""
    alpha = CAUSE_BASE * np.where(mountain[:, None], CAUSE_MOUNTAIN, 1.0) * 40.0
    mix = rng.gamma(alpha)
    mix /= mix.sum(axis=1, keepdims=True)
    return rng.multinomial(households, mix)


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
    short = apportion(base, target)
    # largest-remainder rounding can exceed a tiny village by one: move the excess elsewhere
    excess = np.maximum(short - poor, 0)
    short = short - excess
    while excess.sum():
        room = poor - short
        short += apportion(room.astype(float), int(excess.sum()))
        excess = np.maximum(short - poor, 0)
        short -= excess
    return short


def _exit_years(
    rng: np.random.Generator,
    v: pd.DataFrame,
    poverty_village: np.ndarray,
    deep: np.ndarray,
    lag: np.ndarray,
) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
    """Planned and actual exit years of the poverty villages (null for the others)."""
    n = len(v)
    county_exit = v[S.COUNTY_EXIT_YEAR].to_numpy(dtype="float64", na_value=np.nan)
    non_poverty_county_year = rng.choice(YEARS[:-1], size=n, p=[0.1, 0.2, 0.35, 0.35])
    anchor = np.where(np.isnan(county_exit), non_poverty_county_year, county_exit).astype(int)
    ratio = np.where(lag, 0.2, np.where(deep, 0.3, 0.4))
    probs = np.where(YEARS[None, :] <= anchor[:, None], 1.0, 0.0)
    probs *= ratio[:, None] ** np.clip(anchor[:, None] - YEARS[None, :], 0, None)
    # the last batch (2020) held few villages: most of its counties' villages left in 2019
    probs[:, -1] *= np.where(anchor == LAST_YEAR, 0.5, 1.0)
    planned = draw_categorical(rng, probs, YEARS)
    late = (rng.random(n) < 0.03) & (planned < LAST_YEAR)
    exited = planned + late
    planned_col = pd.array(np.where(poverty_village, planned, 0), dtype="Int64")
    exit_col = pd.array(np.where(poverty_village, exited, 0), dtype="Int64")
    planned_col[~poverty_village] = pd.NA
    exit_col[~poverty_village] = pd.NA
    return planned_col, exit_col


def _relocated(
    rng: np.random.Generator, poor: np.ndarray, mountain: np.ndarray, poor_area: np.ndarray
) -> np.ndarray:
    """Relocated population (易地扶贫搬迁): some villages, more in the mountains."""
    has_relocation = rng.random(len(poor)) < np.where(mountain, 0.8, np.where(poor_area, 0.6, 0.5))
    share = rng.uniform(0.02, np.where(mountain, 0.6, 0.45))
    return np.where(has_relocation, rng.binomial(poor, share), 0)
