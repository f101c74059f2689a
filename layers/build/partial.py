"""The tables of an incremental write computed from the imported rows alone (issue #10).

A full build sums every one of the province's projects into ``region_summary`` and checks every
one of them for ``quality_issues``. An import of a few counties' ledgers changes few rows, and
the store already holds the rest, so (when the preconditions below fail the caller computes the
tables from every project):

- ``region_summary``: the rows of the imported counties' units (county, townships, villages)
  are recomputed by ``metrics.aggregate`` from those counties' projects and registry villages;
  their prefectures' and the province's counts change by the counties' differences (integers:
  exact); the funds of every prefecture and of the province are summed over the whole ledger as
  ``metrics.project_counts`` sums them (``metrics.fund_sums``: pandas' grouped float sums depend
  on the ledger's order, so the same order gives the same floats), and the rates of every row
  touched are recomputed. The other rows are the store's. Needs every county to be a row.
- ``quality_issues``: the store's rows minus those of the replaced and imported projects, plus
  the checks of the imported rows, sorted as ``audit.audit`` sorts. Exact when no project id is
  both kept and imported or replaced (duplicates cannot cross the two) and the registry did not
  change (it bounds every project's beneficiaries).
- ``projects_input_changes``: patched by position (:func:`input_changes`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers import schema as S
from layers import store
from layers.build import audit
from layers.build import metrics as M
from layers.build.patch import Patch

__all__ = [
    "input_changes",
    "prefix_in",
    "quality_issues",
    "region_summary",
]

_FUNDS = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)


def prefix_in(codes: pd.Series, prefixes: Sequence[str], digits: int) -> np.ndarray:
    """Elementwise: the first ``digits`` characters of ``codes`` are one of ``prefixes`` (NA
    never).

    Parameters
    ----------
    codes
        Text codes.
    prefixes
        The prefixes, each ``digits`` long.
    digits
        How many leading characters to compare.

    Returns
    -------
    numpy.ndarray
        Booleans, one per code.
    """
    arr = pa.array(codes, type=pa.large_string(), from_pandas=True)
    head = pc.utf8_slice_codeunits(arr, 0, digits)
    found = pc.is_in(head, value_set=pa.array(list(prefixes), type=pa.large_string()))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False).astype(bool)


def _change(
    values: np.ndarray, at: np.ndarray, new: np.ndarray, parents: np.ndarray, province: int
) -> np.ndarray:
    """A count column with the rows ``at`` set to ``new`` and what their first ``len(parents)``
    rows (the counties) changed by added to their ``parents``' rows and to the province's."""
    out = values.copy()
    delta = new[: len(parents)] - values[at[: len(parents)]]
    out[at] = new
    np.add.at(out, parents, delta)
    out[province] += delta.sum()
    return out


def region_summary(
    units: pd.DataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    stored: pd.DataFrame,
    ledger: pd.DataFrame,
    counties: Sequence[str],
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame] | None:
    """``region_summary`` after an import that replaced the projects of ``counties`` (and no
    registry row).

    Parameters
    ----------
    units
        All administrative units.
    registry
        The registry villages of ``counties`` (all of them).
    projects
        The located projects of ``counties`` (every project whose county code is one of them,
        in ledger order), prepared (``metrics.prepare_projects``).
    stored
        The store's ``region_summary``: all of it, or at least the rows of the province, the
        prefectures, the counties and the units of ``counties`` (the rows that can change).
    ledger
        The whole new ledger (its funds make the prefectures' and the province's).
    counties
        The counties' 12-digit codes.

    Returns
    -------
    tuple or None
        The new table (the rows of ``stored``), the positions of its rows that changed, and
        the rows of the counties' units (``metrics.aggregate``'s); None when a county or its
        prefecture is not a row of ``stored``.
    """
    level = stored[S.LEVEL].to_numpy()
    codes = pd.Index(stored[S.CODE].astype("str"))
    prefectures = [c[:4] + "0" * 8 for c in counties]
    county_at, parents = codes.get_indexer(list(counties)), codes.get_indexer(prefectures)
    province = np.flatnonzero(level == "province")
    if len(province) != 1 or (county_at < 0).any() or (parents < 0).any():
        return None
    own = units[prefix_in(units[S.CODE].astype("str"), [c[:6] for c in counties], 6)]
    own = own[own[S.LEVEL].isin(["county", "township", "village"])]
    part = M.aggregate(own, registry, projects).set_index(S.CODE)
    part = part.loc[[*counties, *part.index.difference(list(counties))]]
    at = codes.get_indexer(part.index)
    if (at < 0).any() or len(part) != len(own):
        return None
    out = stored.copy()
    for col in [c for c in (*M.COUNT_COLUMNS, *M.PLAN_COUNT_COLUMNS) if c not in _FUNDS]:
        values = out[col].to_numpy()
        new = part[col].to_numpy(dtype=values.dtype)
        out[col] = _change(values, at, new, parents, int(province[0]))
    # every prefecture's funds: pandas' grouped float sums depend on the whole ledger's order
    # (a prefecture's sum changes in its last bits when another one's rows move), so they are
    # summed over the whole ledger like a full build's
    rows = np.unique(np.concatenate([at, np.flatnonzero(level == "prefecture"), province]))
    funds = pd.concat(
        [
            part[list(_FUNDS)],
            M.fund_sums(ledger, level="prefecture"),
            M.fund_sums(ledger, level="province"),
        ]
    )
    funds = funds[~funds.index.duplicated(keep="first")].reindex(codes[rows]).fillna(0.0)
    for col in _FUNDS:
        values = out[col].to_numpy(copy=True)
        values[rows] = funds[col].to_numpy(dtype="float64")
        out[col] = values
    rated = M.add_rates(out.iloc[rows])
    for col in M.RATE_DEFINITIONS:
        values = out[col].to_numpy(copy=True)
        values[rows] = rated[col].to_numpy(dtype="float64")
        out[col] = values
    return out, rows, part.reset_index()


def quality_issues(
    stored: pd.DataFrame,
    gone_ids: pd.Series,
    projects: pd.DataFrame,
    locate_issues: pd.DataFrame,
    registry: pd.DataFrame,
) -> pd.DataFrame:
    """``quality_issues`` after an import: the store's, without those of the projects it
    removed or brings, plus the imported projects' own.

    Parameters
    ----------
    stored
        The store's ``quality_issues``.
    gone_ids
        The project ids of the rows replaced and of the rows imported (none of them among the
        kept rows' ids).
    projects
        The imported rows, located.
    locate_issues
        The locating step's issues of the imported rows.
    registry
        The registry (unchanged by the import).

    Returns
    -------
    pandas.DataFrame
        The table ``audit.audit`` makes of the whole new ledger.
    """
    gone = pa.array(pd.unique(gone_ids.astype("str").dropna()), type=pa.large_string())
    ids = pa.array(stored[S.QI_ENTITY_ID], type=pa.large_string(), from_pandas=True)
    hit = pc.fill_null(pc.is_in(ids, value_set=gone), False).to_numpy(zero_copy_only=False)
    project = (stored[S.QI_ENTITY] == "project").to_numpy()
    kept = stored[~(project & hit.astype(bool))]
    return audit.combine([kept, locate_issues, audit.audit_projects(projects, registry)])


def input_changes(
    patch: Patch,
    path: Path,
    positions: np.ndarray,
    ledger: pd.DataFrame,
    located: pd.DataFrame,
    n_keep: int,
) -> str | None:
    """Add to ``patch`` the change of ``projects_input_changes`` by position: the rows of the
    replaced projects (ledger ``positions``) deleted, the kept rows renumbered, the imported
    rows' own appended.

    Parameters
    ----------
    patch
        The patch to add to.
    path
        The GeoPackage store.
    positions
        The stored ledger positions of the replaced projects, ascending.
    ledger
        The imported rows as ingested (they follow the ``n_keep`` kept ones).
    located
        The same rows located.
    n_keep
        The ledger position of the first imported row.

    Returns
    -------
    str or None
        Why the table cannot be patched (None: patched).
    """
    name = store.TABLE_PROJECTS_INPUT_CHANGES
    fresh = store.ledger_tables(ledger, located)
    if store.TABLE_PROJECTS_INPUT in fresh:
        return "locating dropped or reordered ledger rows"
    added = fresh.get(name)
    if added is not None:
        added[store.INPUT_ROW] = added[store.INPUT_ROW].to_numpy() + n_keep
    n_added = 0 if added is None else len(added)
    if name not in store.table_rows(path):
        if added is not None:
            patch.replace[name] = added
        return None
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        stored = con.execute(f'SELECT fid, "{store.INPUT_ROW}" FROM "{name}"').fetchall()
    rows = np.array(stored, dtype="int64").reshape(-1, 2)
    gone = np.isin(rows[:, 1], positions)
    kept = rows[~gone]
    if len(kept) + n_added == 0:
        return "no ledger row needs its codes kept any more"
    shift = np.searchsorted(positions, kept[:, 1])
    moved = shift > 0
    patch.delete[name] = ("fid", [int(f) for f in rows[gone, 0]])
    now = kept[moved, 1] - shift[moved]
    patch.renumber[name] = (store.INPUT_ROW, dict(zip(kept[moved, 0], now, strict=True)))
    if added is not None:
        patch.append[name] = added
    patch.counts[name] = len(kept) + n_added
    return None
