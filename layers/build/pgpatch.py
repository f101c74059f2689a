"""A county import into a PostGIS store: only its counties' rows and the tables above them.

The GeoPackage store is patched by copying the file (:mod:`layers.build.patch`); a PostGIS store
is patched in place, in one transaction under the advisory write lock (``pgwrite.patch_rows``):

- ``projects``: the imported counties' rows deleted (``county_code = ANY(:codes)``) and the new
  ones COPYed after the last row (their ``_row`` numbers follow on, so reads keep ledger order);
- ``village_plan``, ``township_roadmap``, ``roadmap_years``, ``county_library``: the rows of the
  counties' units updated in place by their codes (geometry and terrain kept: they depend on
  the boundaries and the DEM only, which an incremental write requires unchanged);
- ``region_summary``, ``zone_summary``, ``quality_issues``, ``projects_input_changes``, a changed
  ``registry``, the revision log and ``build_info``: written again whole (they are small).

The rows come from the same computation as the GeoPackage's incremental write
(``incremental.build_counties``, ``incremental.changed_villages``), so the store equals a full
rebuild table for table (``tests/test_pgstore.py``). Readers see the revision before the
transaction or after it; row-level security policies stay on the tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from layers import pgwrite, store
from layers import schema as S
from layers.build import incremental, revisions, zones
from layers.errors import StoreError

__all__ = ["write_change"]


def _appendable(change: incremental.Change, located: pd.DataFrame) -> int | str:
    """The rows kept outside the counties (the ledger's first ones), or why the projects cannot
    be written by deleting the counties' rows and appending the new ones."""
    before = change.before
    if before is None:
        return "the store's inputs were not read"
    counties = list(change.counties)
    n_keep = int((~before.projects[S.COUNTY_CODE].isin(counties)).sum())
    new_in = change.inputs.projects[S.COUNTY_CODE].isin(counties).to_numpy()
    loc_in = located[S.COUNTY_CODE].isin(counties).to_numpy()
    if len(located) != len(new_in) or n_keep != int((~new_in).sum()):
        return "rows outside the imported counties changed"
    for inside in (new_in, loc_in):
        if inside[:n_keep].any() or not inside[n_keep:].all():
            return "the ledger's rows are not the kept ones followed by the imported ones"
    return n_keep


def _patch(
    change: incremental.Change, built: Mapping[str, pd.DataFrame], n_keep: int
) -> pgwrite.RowPatch | str:
    """The rows to write, or why the store must be written in full."""
    located = built[S.LAYER_PROJECTS]
    ledger = store.ledger_tables(change.inputs.projects, located)
    if store.TABLE_PROJECTS_INPUT in ledger:
        return "locating dropped or reordered ledger rows"
    patch = pgwrite.RowPatch(counties=[str(c) for c in change.counties])

    def ready(name: str, df: pd.DataFrame) -> pd.DataFrame:
        table, patch.dtypes[name] = store.table_for_store(name, df)
        return table

    patch.append[S.LAYER_PROJECTS] = (ready(S.LAYER_PROJECTS, located.iloc[n_keep:]), n_keep)
    for name, keys in incremental._PER_COUNTY.items():
        rows = pd.DataFrame(built[name]).drop(columns="geometry", errors="ignore")
        patch.update[name] = (ready(name, rows), keys)
    for name in incremental._WHOLE:
        patch.replace[name] = ready(name, built[name])
    changes = ledger.get(store.TABLE_PROJECTS_INPUT_CHANGES)
    patch.replace[store.TABLE_PROJECTS_INPUT_CHANGES] = (
        None if changes is None else ready(store.TABLE_PROJECTS_INPUT_CHANGES, changes)
    )
    assert change.before is not None
    if incremental.changed_villages(change.before.registry, change.inputs.registry):
        patch.replace[S.LAYER_REGISTRY] = ready(S.LAYER_REGISTRY, change.inputs.registry)
    return patch


def write_change(
    path: Path,
    log: pd.DataFrame,
    change: incremental.Change,
    revision: revisions.Revision,
    info: dict[str, Any],
) -> str | None:
    """Write ``change`` (an import or rollback of some counties) into a PostGIS store by rows.

    Parameters
    ----------
    path
        The store URL (inside its write lock; boundaries, DEM and version checked unchanged by
        ``incremental.full_reason``).
    log
        The store's revision log.
    change
        The write, with the store's inputs before it (``change.before``).
    revision
        Its log entry (``files`` and ``replace_all`` are filled in here).
    info
        Its ``build_info`` (``revision`` and ``rebuild`` are added).

    Returns
    -------
    str or None
        None: written; else why the store must be written in full (nothing was changed).
    """
    inputs, before = change.inputs, change.before
    if before is None or change.replace_all:
        return "the whole ledger was replaced"
    touched = incremental.changed_villages(before.registry, inputs.registry)
    if touched is None:
        return "the registry's columns changed"
    dirty = sorted({*change.counties, *(v[:6] + "000000" for v in touched)})
    members = zones.zone_members(zones.load_zones(), inputs.admin_units)
    built = incremental.build_counties(inputs, members, dirty)
    n_keep = _appendable(change, built[S.LAYER_PROJECTS])
    if isinstance(n_keep, str):
        return n_keep
    patch = _patch(change, built, n_keep)
    if isinstance(patch, str):
        return patch
    rev = revisions.head(log) + 1
    staged, files = revisions.stage(
        path,
        rev,
        before,
        inputs,
        counties=change.counties,
        uploads=change.uploads,
        report=change.report,
    )
    revision = dataclasses.replace(revision, replace_all=False, files=files)
    info = {**info, "revision": rev, "rebuild": "incremental: " + ", ".join(c[:6] for c in dirty)}
    for name, table in (
        (revisions.TABLE_REVISIONS, revisions.append(log, rev, revision)),
        (S.TABLE_BUILD_INFO, info),
    ):
        patch.replace[name], patch.dtypes[name] = store.table_for_store(name, table)
    try:
        revisions.publish(path, staged, rev)
        pgwrite.patch_rows(str(path), patch)
    except pgwrite.NotPatchable as e:
        return str(e)
    except StoreError as e:
        raise StoreError(
            f"could not write store {store.shown(path)}: {e}; the previous store is unchanged"
        ) from e
    return None
