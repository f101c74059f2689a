"""Incremental rebuild: write only what an import of a few counties changes (issue #10).

An import replaces the projects of its counties (``ingest.merge.merge_projects`` keeps the other
rows in order and appends the new ones) and perhaps some registry villages. Of the store's
tables, that changes:

- per county, with nothing crossing a county border: the ``village_plan`` and
  ``township_roadmap`` rows of the county's villages and townships and its ``county_library``
  row (a village's counts come from its own registry row and projects, a township's and a
  county's from theirs) — updated in place, geometry and terrain kept (terrain depends on the
  boundaries and the DEM only);
- the ``projects`` of the counties — deleted and appended, so the row order stays that of the
  ledger (when it is not, e.g. after a rollback put rows back in their places, the table is
  written in full);
- everything summed or compared across counties — ``region_summary`` (prefectures, province),
  ``zone_summary``, ``roadmap_years``, ``quality_issues`` (duplicate ids across counties),
  ``projects_input_changes`` (row positions) and a changed ``registry`` — written in full; they
  are small.

Anything else is a full build (:func:`full_reason` and :class:`pipeline` say why, and
``build_info`` records it): boundaries or the DEM changed, the store was built by another
OneMap version, or lacks a layer. The result is the same store, table for table, as a full
``onemap build`` of the same inputs (``tests/test_incremental.py`` compares every layer).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio

from layers import schema as S
from layers import store, storefile
from layers.build import audit, metrics, partial, terrain
from layers.build.county_library import build_county_library
from layers.build.locate import locate_projects
from layers.build.patch import Patch, ahead
from layers.build.township_roadmap import build_township_roadmap
from layers.build.village_plan import build_village_plan
from layers.errors import StoreError

__all__ = [
    "OUTPUT_TABLES",
    "PROJECT_DIGESTS_KEY",
    "Change",
    "Incremental",
    "build_counties",
    "changed_villages",
    "full_reason",
    "plan",
    "recorded_digests",
    "recorded_hashes",
    "replaces_all",
]

#: ``build_info`` key: the SHA-256 of each county's projects (``pipeline.project_digests``)
PROJECT_DIGESTS_KEY = "projects_by_county"
#: the tables a build writes besides the inputs and the revision log
OUTPUT_TABLES: tuple[str, ...] = S.OUTPUT_LAYERS
#: layers updated in place per county: layer → the columns keying a row
_PER_COUNTY = {
    S.LAYER_VILLAGE_PLAN: (S.CODE,),
    S.LAYER_TOWNSHIP_ROADMAP: (S.CODE,),
    S.TABLE_ROADMAP_YEARS: (S.CODE, S.YEAR),
    S.LAYER_COUNTY_LIBRARY: (S.CODE,),
}
#: the checks of ``locate.locate_projects`` (their ``quality_issues`` rows)
_LOCATE_CHECKS = (
    "unknown_county_code",
    "unknown_township_code",
    "inconsistent_township_code",
    "unknown_village_code",
    "inconsistent_village_code",
    "point_outside_county",
    "point_outside_village",
)
#: tables written in full on every incremental write (they sum or compare across counties)
_WHOLE = (S.TABLE_REGION_SUMMARY, S.TABLE_ZONE_SUMMARY, S.TABLE_QUALITY_ISSUES)


@dataclass(frozen=True)
class Change:
    """A write of new inputs: the counties whose projects it replaces (or all of them), the
    files and validation report it keeps, the store's inputs before it when already read,
    whether it may be written incrementally, and the input tables known to be the store's."""

    inputs: store.Inputs
    counties: list[str]
    replace_all: bool
    uploads: Sequence[Any] = ()
    report: Any = None
    before: store.Inputs | None = None
    incremental_ok: bool = True
    unchanged: frozenset[str] = frozenset()


@dataclass
class Incremental:
    """An incremental write: the ``patch``, the project rows it replaces (as ingested, with
    their ledger positions in ``_pos``, for the revision's history), whether rows outside its
    counties changed in number, and the counties whose layers it recomputed."""

    patch: Patch
    replaced: gpd.GeoDataFrame
    outside_changed: bool
    counties: list[str]


def replaces_all(
    before: store.Inputs | None, after: store.Inputs, counties: Sequence[str], replace_all: bool
) -> bool:
    """True when a write replaces the whole ledger: said so, or rows outside ``counties``
    changed in number.

    Parameters
    ----------
    before, after
        The inputs before (None: no store yet) and after.
    counties
        The counties whose projects it replaces.
    replace_all
        Said so.

    Returns
    -------
    bool
    """
    if replace_all or before is None:
        return True
    outside_b = ~before.projects[S.COUNTY_CODE].isin(list(counties))
    outside_a = ~after.projects[S.COUNTY_CODE].isin(list(counties))
    return int(outside_b.sum()) != int(outside_a.sum())


def changed_villages(before: pd.DataFrame, after: pd.DataFrame) -> list[str] | None:
    """Village codes whose registry row differs between ``before`` and ``after``.

    Parameters
    ----------
    before, after
        Two registries (one row per village).

    Returns
    -------
    list of str or None
        The codes (added, removed or changed); None when the two cannot be compared row by row
        (other columns or dtypes, or a village listed twice).
    """
    same = list(before.columns) == list(after.columns) and all(
        before[c].dtype == after[c].dtype for c in before.columns
    )
    if not same or before[S.VILLAGE_CODE].duplicated().any():
        return None
    if after[S.VILLAGE_CODE].duplicated().any():
        return None
    hb = pd.Series(
        pd.util.hash_pandas_object(before, index=False).to_numpy(),
        index=before[S.VILLAGE_CODE].astype(str).to_numpy(),
    )
    ha = pd.Series(
        pd.util.hash_pandas_object(after, index=False).to_numpy(),
        index=after[S.VILLAGE_CODE].astype(str).to_numpy(),
    )
    union = hb.index.union(ha.index)
    diff = hb.reindex(union).ne(ha.reindex(union)).to_numpy()
    return [str(c) for c in union[diff]]


def recorded_hashes(previous: Mapping[str, str]) -> dict[str, str]:
    """The input hashes a store's ``build_info`` recorded (empty if none)."""
    try:
        recorded = json.loads(previous.get("inputs", "{}"))
    except ValueError:
        return {}
    return recorded if isinstance(recorded, dict) else {}


def recorded_digests(previous: Mapping[str, str]) -> dict[str, str]:
    """The per-county project digests a store's ``build_info`` recorded (empty if none)."""
    try:
        recorded = json.loads(previous.get(PROJECT_DIGESTS_KEY, "{}"))
    except ValueError:
        return {}
    ok = isinstance(recorded, dict) and all(isinstance(v, str) for v in recorded.values())
    return {str(k): v for k, v in recorded.items()} if ok else {}


def full_reason(previous: Mapping[str, str], dem: str, hashes: Mapping[str, str]) -> str | None:
    """Why the store cannot be patched (None: it can): what the per-county layers depend on
    besides the counties' own rows changed.

    Parameters
    ----------
    previous
        The store's ``build_info``.
    dem
        ``terrain.build_info_value`` of the DEM this write uses.
    hashes
        ``pipeline.input_hashes`` of the new inputs.

    Returns
    -------
    str or None
    """
    try:
        version = metadata.version("onemap")
    except metadata.PackageNotFoundError:  # pragma: no cover - uninstalled checkout
        version = "0+unknown"
    if previous.get("onemap_version") != version:
        return "the store was built by another OneMap version"
    if previous.get(terrain.BUILD_INFO_KEY, terrain.NO_DEM) != dem:
        return "the DEM changed"
    recorded = recorded_hashes(previous)
    if recorded.get(S.LAYER_ADMIN_UNITS) != hashes.get(S.LAYER_ADMIN_UNITS):
        return "the boundaries changed"
    return None


def _ledger_positions(path: Path, counties: Sequence[str]) -> tuple[int, np.ndarray, np.ndarray]:
    """The number of stored projects, and the ledger positions and fids (ascending) of those
    of ``counties``. The projects table is in ledger order (fids ascend with it), so a row's
    position is the number of rows before its fid: those before the counties' first row are
    counted through the index on the county code (when the store has it), those between
    their first and last row read."""
    table = f'"{S.LAYER_PROJECTS}"'
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        indexed = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
            (store.PROJECTS_COUNTY_INDEX,),
        ).fetchone()
        hint = f' INDEXED BY "{store.PROJECTS_COUNTY_INDEX}"' if indexed else ""
        (n_rows,) = con.execute(f"SELECT count(*) FROM {table}{hint}").fetchone()
        where = _in_list(S.COUNTY_CODE, counties, expression=store.PROJECTS_COUNTY_KEY)
        own = con.execute(f"SELECT fid FROM {table} WHERE {where} ORDER BY fid").fetchall()
        own_fids = np.array(own, dtype="int64").reshape(-1)
        if not len(own_fids):
            return int(n_rows), own_fids, own_fids
        first, last = int(own_fids[0]), int(own_fids[-1])
        sql = f"SELECT count(*) FROM {table}{hint} WHERE fid < ?"
        (before,) = con.execute(sql, (first,)).fetchone()
        span = con.execute(
            f"SELECT fid FROM {table} WHERE fid BETWEEN ? AND ? ORDER BY fid", (first, last)
        ).fetchall()
    span_fids = np.array(span, dtype="int64").reshape(-1)
    return int(n_rows), before + np.searchsorted(span_fids, own_fids), own_fids


def _in_list(column: str, values: Sequence[object], *, expression: str | None = None) -> str:
    quoted = ", ".join(
        str(int(v)) if isinstance(v, int | np.integer) else "'" + str(v).replace("'", "''") + "'"
        for v in values
    )
    return f"{expression or _quoted(column)} IN ({quoted})"


def _quoted(column: str) -> str:
    return f'"{column}"'


def _replaced_rows(path: Path, fids: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
    """The stored ledger rows of ``fids`` (ascending) as ingested (``store.read_inputs``'s rows),
    with their positions in ``_pos`` (SQLite looks a ``fid IN`` list up in ascending order)."""
    where = _in_list("fid", list(fids)) if len(positions) else "0 = 1"
    rows = store.read_rows(path, S.LAYER_PROJECTS, where)
    rows = rows.drop(columns=S.LOCATED_BY, errors="ignore").reset_index(drop=True)
    if len(rows) != len(positions):
        raise StoreError(f"{len(rows)} project rows read for {len(positions)} positions")
    name = store.TABLE_PROJECTS_INPUT_CHANGES
    if len(positions) and name in store.list_layers(path):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            stored = con.execute(f'SELECT fid, "{store.INPUT_ROW}" FROM "{name}"').fetchall()
        pairs = np.array(stored, dtype="int64").reshape(-1, 2)
        mine = pairs[np.isin(pairs[:, 1], positions), 0]  # the rows of these positions
        delta = store.read_rows(path, name, _in_list("fid", [int(f) for f in mine]))
        at = np.searchsorted(positions, delta.pop(store.INPUT_ROW).to_numpy())
        delta.index = rows.index[at]
        rows.loc[delta.index, list(delta.columns)] = delta
    rows["_pos"] = positions.astype("int64")
    return rows


def build_counties(
    inputs: store.Inputs,
    zone_members: pd.DataFrame,
    counties: Sequence[str],
    *,
    located: tuple[gpd.GeoDataFrame, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """The layers of ``pipeline.build_layers`` (without terrain), the per-county ones only for
    the units of ``counties``: the same rows as a full build's for those units.

    Parameters
    ----------
    inputs
        The new inputs.
    zone_members
        The zones' counties.
    counties
        12-digit county codes.
    located
        The located projects and the locating step's issues when already known (see
        :func:`plan`); None locates every project.

    Returns
    -------
    dict
        Table name → table (``projects`` located, for every county).
    """
    units, registry = inputs.admin_units, inputs.registry
    if located is None:
        located = locate_projects(units, inputs.projects)
    located, locate_issues = located
    prepared = metrics.prepare_projects(located)
    summary = metrics.aggregate(units, registry, prepared)
    return {
        S.LAYER_PROJECTS: located,
        **_county_layers(units, registry, prepared, counties, summary),
        S.TABLE_REGION_SUMMARY: summary,
        S.TABLE_ZONE_SUMMARY: metrics.aggregate_zones(summary, zone_members),
        S.TABLE_QUALITY_ISSUES: audit.audit(units, registry, located, locate_issues=locate_issues),
    }


def _county_layers(
    units: pd.DataFrame,
    registry: pd.DataFrame,
    prepared: pd.DataFrame,
    counties: Sequence[str],
    summary: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The per-county layers of the units of ``counties`` (``registry`` and ``prepared``
    holding at least every row of those counties, ``summary`` their ``region_summary`` rows)."""
    own = units[units[S.CODE].astype(str).str.slice(0, 6).isin([c[:6] for c in counties])]
    shared = {"summary": summary}
    roadmap, years = build_township_roadmap(own, registry, prepared, **shared)
    return {
        S.LAYER_VILLAGE_PLAN: build_village_plan(own, registry, prepared, **shared),
        S.LAYER_TOWNSHIP_ROADMAP: roadmap,
        S.TABLE_ROADMAP_YEARS: years,
        S.LAYER_COUNTY_LIBRARY: build_county_library(own, registry, prepared, **shared),
    }


def _member(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Elementwise membership of text ``values`` in ``universe`` (Arrow's hash set; NA never
    belongs)."""
    found = pc.is_in(
        pa.array(values, type=pa.large_string(), from_pandas=True),
        value_set=pa.array(universe, type=pa.large_string(), from_pandas=True),
        skip_nulls=True,
    )
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _kept_located(
    path: Path, inputs: store.Inputs, n_keep: int, own_fids: np.ndarray, replaced: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame] | None:
    """The located ledger and the locating step's issues, locating only the rows after
    ``n_keep`` (the import's): the kept rows' codes and issues are the store's (locating is row
    by row, against unchanged boundaries). None when a project id is both kept and replaced or
    new (its issues could not be told apart), or the import has no rows."""
    ledger = inputs.projects
    pid = ledger[S.PROJECT_ID].astype(str)
    kept_ids = pid.iloc[:n_keep]
    others = pd.concat([pid.iloc[n_keep:], replaced[S.PROJECT_ID].astype(str)])
    if n_keep == len(ledger) or _member(others, kept_ids).any():
        return None
    cols = [S.TOWNSHIP_CODE, S.VILLAGE_CODE, S.LOCATED_BY]
    stored = pyogrio.read_dataframe(
        path,
        layer=S.LAYER_PROJECTS,
        columns=cols,
        read_geometry=False,
        fid_as_index=True,
        use_arrow=True,
    )
    stored = stored[~np.isin(stored.index.to_numpy(), own_fids)].reset_index(drop=True)
    if len(stored) != n_keep:
        return None
    new, new_issues = locate_projects(inputs.admin_units, ledger.iloc[n_keep:])
    located = ledger.copy()
    for col in cols:
        both = pd.concat([stored[col], new[col].reset_index(drop=True)], ignore_index=True)
        located[col] = both.astype(new[col].dtype).array
    checks = ", ".join(f"'{c}'" for c in _LOCATE_CHECKS)
    issues = store.read_layer(path, S.TABLE_QUALITY_ISSUES, where=f'"{S.QI_CHECK}" IN ({checks})')
    issues = issues[_member(issues[S.QI_ENTITY_ID], kept_ids)]
    frames = [f for f in (issues, new_issues) if len(f)]
    return located, (pd.concat(frames, ignore_index=True) if frames else new_issues)


def _per_county(
    patch: Patch, built: Mapping[str, pd.DataFrame], old_counts: Mapping[str, int]
) -> None:
    """Add the per-county layers' rows of ``built`` to ``patch`` as updates in place."""
    for name, keys in _PER_COUNTY.items():
        rows = pd.DataFrame(built[name])
        patch.update[name] = rows.drop(columns="geometry", errors="ignore")
        patch.keys[name] = keys
        patch.counts[name] = old_counts[name]


def _plan_counties(
    path: Path,
    inputs: store.Inputs,
    counties: Sequence[str],
    stored: tuple[np.ndarray, np.ndarray, np.ndarray],
    replaced: pd.DataFrame,
    zone_members: pd.DataFrame,
    old_counts: Mapping[str, int],
    copy: storefile.EarlyCopy | None = None,
) -> Incremental | None:
    """The incremental write of an import of ``counties`` appended to the kept ledger rows,
    the registry unchanged, computed from the imported rows alone (:mod:`build.partial`); None
    when that would not be exact (then :func:`plan` computes the cross-county tables from every
    project). ``stored`` is :func:`_ledger_positions`', ``copy`` the store's early copy."""
    n_rows, positions, fids = stored
    ledger, units, registry = inputs.projects, inputs.admin_units, inputs.registry
    n_keep = n_rows - len(positions)
    incoming = pd.concat([ledger[S.PROJECT_ID].iloc[n_keep:], replaced[S.PROJECT_ID]])
    if incoming.isna().any() or _member(ledger[S.PROJECT_ID].iloc[:n_keep], incoming).any():
        return None  # a project id on both sides: its issues could not be told apart
    new, new_issues = locate_projects(units, ledger.iloc[n_keep:])
    prepared = metrics.prepare_projects(new)
    six = [c[:6] for c in counties]
    reg = registry[partial.prefix_in(registry[S.VILLAGE_CODE].astype("str"), six, 6)]
    # the rows that can change: the counties' units and every unit above county level
    own = _in_list(S.CODE, six, expression=f'substr("{S.CODE}", 1, 6)')
    where = f"\"{S.LEVEL}\" IN ('province', 'prefecture', 'county') OR {own}"
    old_summary = store.read_rows(path, S.TABLE_REGION_SUMMARY, where)
    done = partial.region_summary(units, reg, prepared, old_summary, ledger, counties)
    if done is None:
        return None
    summary, changed, part = done
    patch = Patch()
    if partial.input_changes(patch, path, positions, ledger.iloc[n_keep:], new, n_keep):
        return None
    patch.delete[S.LAYER_PROJECTS] = ("fid", [int(f) for f in fids])
    patch.append[S.LAYER_PROJECTS] = new
    patch.counts[S.LAYER_PROJECTS] = len(ledger)
    # written to the copy while the rest is planned (no way back to plan() after this point)
    ahead(patch, copy, S.LAYER_PROJECTS)
    _per_county(patch, _county_layers(units, reg, prepared, counties, part), old_counts)
    patch.update[S.TABLE_REGION_SUMMARY] = summary.iloc[changed]
    patch.keys[S.TABLE_REGION_SUMMARY] = (S.CODE,)
    patch.counts[S.TABLE_REGION_SUMMARY] = old_counts[S.TABLE_REGION_SUMMARY]
    patch.replace[S.TABLE_ZONE_SUMMARY] = metrics.aggregate_zones(summary, zone_members)
    old_issues = store.read_layer(path, S.TABLE_QUALITY_ISSUES)
    issues = partial.quality_issues(old_issues, incoming, new, new_issues, registry)
    patch.replace[S.TABLE_QUALITY_ISSUES] = issues
    patch.counts[S.LAYER_ADMIN_UNITS] = len(units)
    return Incremental(patch, gpd.GeoDataFrame(replaced), False, sorted(counties))


def plan(
    path: str | Path,
    inputs: store.Inputs,
    counties: Sequence[str],
    *,
    registry_before: pd.DataFrame,
    zone_members: pd.DataFrame,
    copy: storefile.EarlyCopy | None = None,
) -> Incremental | str:
    """The incremental write of ``inputs`` over the store: its layers without terrain.

    Parameters
    ----------
    path
        The GeoPackage store, whose inputs differ from ``inputs`` only in the projects of
        ``counties`` and in registry rows (boundaries unchanged; checked by the caller).
    inputs
        The new inputs (the ledger as ingested).
    counties
        The counties whose projects were replaced.
    registry_before
        The store's registry (``inputs.registry`` itself when known to be unchanged).
    zone_members
        The zones' counties.
    copy
        The copy of the store being made for the patch (``storefile.EarlyCopy``): the
        projects' rows are deleted from and appended to it while the rest is planned
        (``patch.ahead``); it is only to be given to ``patch_store`` with the patch.

    Returns
    -------
    Incremental or str
        The write, or why the store must be written in full.
    """
    path = Path(path)
    old_counts = store.table_rows(path)
    needed = (S.LAYER_ADMIN_UNITS, S.LAYER_REGISTRY, S.LAYER_PROJECTS, *OUTPUT_TABLES)
    missing = [t for t in needed if t not in old_counts]
    if missing:
        return f"the store lacks {', '.join(missing)}"
    if store.TABLE_PROJECTS_INPUT in old_counts:
        return "the store keeps the whole ledger as ingested (projects_input)"
    same = registry_before is inputs.registry  # known unchanged (``Change.unchanged``)
    touched = [] if same else changed_villages(registry_before, inputs.registry)
    if touched is None:
        return "the registry's columns changed"
    dirty = sorted({*counties, *(v[:6] + "000000" for v in touched)})
    n_rows, positions, fids = _ledger_positions(path, counties)
    n_keep = n_rows - len(positions)
    replaced = _replaced_rows(path, fids, positions)
    in_new = inputs.projects[S.COUNTY_CODE].isin(list(counties)).to_numpy()
    outside_changed = n_keep != int((~in_new).sum())
    appendable = not outside_changed and not in_new[:n_keep].any() and bool(in_new[n_keep:].all())
    if appendable and not touched:
        fast = _plan_counties(
            path,
            inputs,
            counties,
            (n_rows, positions, fids),
            replaced,
            zone_members,
            old_counts,
            copy,
        )
        if fast is not None:
            return fast
    kept = _kept_located(path, inputs, n_keep, fids, replaced) if appendable else None
    built = build_counties(inputs, zone_members, dirty, located=kept)
    located = built[S.LAYER_PROJECTS]
    ledger_tables = store.ledger_tables(inputs.projects, located)
    if store.TABLE_PROJECTS_INPUT in ledger_tables:
        return "locating dropped or reordered ledger rows"
    had_changes = store.TABLE_PROJECTS_INPUT_CHANGES in old_counts
    if had_changes and store.TABLE_PROJECTS_INPUT_CHANGES not in ledger_tables:
        return "no ledger row needs its codes kept any more"
    patch = Patch()
    if appendable:
        patch.delete[S.LAYER_PROJECTS] = ("fid", [int(f) for f in fids])
        patch.append[S.LAYER_PROJECTS] = located.iloc[n_keep:]
        patch.counts[S.LAYER_PROJECTS] = len(located)
        ahead(patch, copy, S.LAYER_PROJECTS)
    else:
        patch.replace[S.LAYER_PROJECTS] = located
    if store.TABLE_PROJECTS_INPUT_CHANGES in ledger_tables:
        name = store.TABLE_PROJECTS_INPUT_CHANGES
        patch.replace[name] = ledger_tables[name]
    if touched:
        patch.replace[S.LAYER_REGISTRY] = inputs.registry
    _per_county(patch, built, old_counts)
    for name in _WHOLE:
        patch.replace[name] = built[name]
    patch.counts[S.LAYER_ADMIN_UNITS] = len(inputs.admin_units)
    return Incremental(patch, gpd.GeoDataFrame(replaced), outside_changed, dirty)
