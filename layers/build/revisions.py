"""Revisions: the store's log of every write, and the history that lets a revision be undone.

The log is the store's ``revisions`` table (one row per write: number, UTC time, user, kind,
counties, files with SHA-256 and size, rows read/accepted/rejected, summary, rolled-back
revision); every rewrite of the store carries it over with one row more. Next to the store,
``<store>.history/<rev>/`` keeps what a revision needs to be downloaded and undone:

- ``files/``: the uploaded files, byte for byte; ``report.xlsx`` (+ CSVs): the validation report;
- ``delta.json`` and ``*_before.parquet``: the input rows the revision replaced. Projects are
  replaced by county (``merge_projects``), so the rows of its counties (all rows for a full
  replace) are kept with their positions; admin units and the registry are compared key by key
  (``code``, ``village_code``) and only the rows that changed are kept, with the key order.

:func:`restore` puts those rows back into the current inputs: for what the revision touched the
result is the state before it, the rest stays as it is now. A history directory is staged as
``.partial-<rev>`` and published (renamed) just before the store itself is replaced; a writer
killed in between leaves a directory newer than the store's head, which the next writer removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import schema as S
from layers import store
from layers.errors import StaleStoreError, StoreError
from layers.ingest.excel import Source, source_name
from layers.ingest.report import ValidationReport

__all__ = [
    "HISTORY_DAYS_ENV",
    "KINDS",
    "LOG_COLUMNS",
    "TABLE_REVISIONS",
    "Revision",
    "append",
    "changes_shared",
    "clean_orphans",
    "head",
    "history_days",
    "history_dir",
    "later_overlaps",
    "prune",
    "publish",
    "read_log",
    "restore",
    "revision_dir",
    "stage",
    "stale_error",
]

TABLE_REVISIONS = "revisions"
KINDS = ("demo", "build", "import", "rollback", "account")
LOG_COLUMNS = (
    "rev",
    "time",
    "user",
    "kind",
    "counties",
    "replace_all",
    "files",
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "summary",
    "rollback_of",
)
#: environment variable: days of history kept by ``onemap history --prune`` (default 365)
HISTORY_DAYS_ENV = "ONEMAP_HISTORY_DAYS"
_DELTA = "delta.json"
_POS = "_pos"
#: inputs compared key by key (table → key column)
_KEYED = {S.LAYER_ADMIN_UNITS: S.CODE, S.LAYER_REGISTRY: S.VILLAGE_CODE}


@dataclass(frozen=True)
class Revision:
    """One write, as logged: ``kind`` in :data:`KINDS`; ``files`` as ``{name, sha256, size}``."""

    kind: str
    user: str
    counties: list[str] = field(default_factory=list)
    replace_all: bool = False
    files: list[dict[str, object]] = field(default_factory=list)
    report: ValidationReport | None = None
    summary: str = ""
    rollback_of: int | None = None


# --- the log ------------------------------------------------------------------------------------


def _empty_log() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in LOG_COLUMNS})


def _dtype(col: str) -> str:
    if col in ("rev", "rows_read", "rows_accepted", "rows_rejected", "rollback_of"):
        return "Int64"
    return "bool" if col == "replace_all" else "str"


def read_log(path: str | os.PathLike[str] | None) -> pd.DataFrame:
    """The store's revision log (empty when there is no store or it predates revisions)."""
    if path is None or not store.exists(path) or TABLE_REVISIONS not in store.list_layers(path):
        return _empty_log()
    log = store.read_layer(path, TABLE_REVISIONS)
    return log.astype({c: _dtype(c) for c in LOG_COLUMNS if c in log.columns})


def head(path_or_log: str | os.PathLike[str] | pd.DataFrame) -> int:
    """The store's latest revision number (0: no revision yet)."""
    log = path_or_log if isinstance(path_or_log, pd.DataFrame) else read_log(path_or_log)
    return int(log["rev"].max()) if len(log) else 0


def append(log: pd.DataFrame, rev: int, revision: Revision) -> pd.DataFrame:
    """Return ``log`` with one row for ``revision`` numbered ``rev`` (time: now, UTC).

    Parameters
    ----------
    log
        The current log (:func:`read_log`).
    rev
        The new revision's number (head + 1).
    revision
        What was written.

    Returns
    -------
    DataFrame
        The log to write into the new store.
    """
    report = revision.report
    row = {
        "rev": rev,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "user": revision.user,
        "kind": revision.kind,
        "counties": json.dumps(sorted(revision.counties)),
        "replace_all": bool(revision.replace_all),
        "files": json.dumps(revision.files, ensure_ascii=False),
        "rows_read": report.rows_in if report is not None else pd.NA,
        "rows_accepted": report.accepted if report is not None else pd.NA,
        "rows_rejected": report.rejected if report is not None else pd.NA,
        "summary": revision.summary or (report.summary() if report is not None else ""),
        "rollback_of": revision.rollback_of if revision.rollback_of is not None else pd.NA,
    }
    new = pd.DataFrame([row]).astype({c: _dtype(c) for c in LOG_COLUMNS})
    out = pd.concat([log, new], ignore_index=True) if len(log) else new
    return out.astype({c: _dtype(c) for c in LOG_COLUMNS})


def stale_error(log: pd.DataFrame, expected: int) -> StaleStoreError:
    """The error for a write checked against revision ``expected`` when later ones landed.

    Parameters
    ----------
    log
        The store's log now.
    expected
        The revision the write was checked against.

    Returns
    -------
    StaleStoreError
        Naming each revision landed since (kind, user, time, counties).
    """
    landed = log[log["rev"] > expected]
    lines = [
        f"{int(r.rev)} ({r.kind}, {r.user}, {r.time}"
        + (f", {', '.join(c[:6] for c in json.loads(r.counties))}" if r.counties != "[]" else "")
        + ")"
        for r in landed.itertuples()
    ]
    return StaleStoreError(
        f"the store changed after this import was checked (revision {expected}): "
        f"{'; '.join(lines)} landed since; check the files again against the new store",
        [int(r) for r in landed["rev"]],
    )


def _touches(counties: str, replace_all: bool, codes: set[str], everything: bool) -> bool:
    own = {c[:6] for c in json.loads(counties or "[]")}
    return bool(replace_all or everything or own & codes)


def later_overlaps(log: pd.DataFrame, rev: int) -> pd.DataFrame:
    """The revisions after ``rev`` that changed inputs of the same counties (a rollback of
    ``rev`` puts those counties' rows back as they were before ``rev``, undoing these too).

    Parameters
    ----------
    log
        The store's log (:func:`read_log`).
    rev
        The revision to roll back.

    Returns
    -------
    DataFrame
        Rows of ``log`` (imports, rollbacks, demos; replacing everything counts as every
        county), in order.
    """
    row = log[log["rev"] == int(rev)]
    if row.empty:
        return log.iloc[:0]
    target = row.iloc[0]
    codes = {c[:6] for c in json.loads(target["counties"] or "[]")}
    everything = bool(target["replace_all"])
    later = log[(log["rev"] > int(rev)) & log["kind"].isin(["import", "rollback", "demo"])]
    hit = np.array(
        [
            _touches(c, bool(a), codes, everything)
            for c, a in zip(later["counties"], later["replace_all"], strict=True)
        ],
        dtype=bool,
    )
    return later[hit]


# --- the history directory ----------------------------------------------------------------------


def history_dir(path: str | os.PathLike[str]) -> Path:
    """``<store>.history``: one directory per revision (``store.beside``: for PostGIS in the
    store's state directory)."""
    return store.beside(path, ".history")


def revision_dir(path: str | os.PathLike[str], rev: int) -> Path:
    """``<store>.history/<rev>``: what revision ``rev`` kept.

    Parameters
    ----------
    path
        The store.
    rev
        A revision number.

    Returns
    -------
    Path
    """
    return history_dir(path) / str(int(rev))


def clean_orphans(path: str | os.PathLike[str], current_head: int) -> None:
    """Remove staged or published directories newer than the store (a killed writer's).

    Parameters
    ----------
    path
        The store; call inside the write lock.
    current_head
        The store's head revision.
    """
    hist = history_dir(path)
    if not hist.is_dir():
        return
    for d in hist.iterdir():
        stale = d.name.startswith(".partial-") or (d.name.isdigit() and int(d.name) > current_head)
        if stale:
            shutil.rmtree(d, ignore_errors=True)


def _save_files(dest: Path, uploads: Sequence[Source]) -> list[dict[str, object]]:
    files: list[dict[str, object]] = []
    names: set[str] = set()
    for src in uploads:
        data = src[1] if isinstance(src, tuple) else Path(src).read_bytes()
        name = source_name(src)
        if name in names:
            name = f"{len(files) + 1}_{name}"
        names.add(name)
        (dest / "files").mkdir(parents=True, exist_ok=True)
        (dest / "files" / name).write_bytes(data)
        files.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return files


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    attrs = pd.DataFrame(df.drop(columns=[geom] if geom else []))
    h = pd.util.hash_pandas_object(attrs, index=False).to_numpy()
    if geom:
        wkb = shapely.to_wkb(np.asarray(df.geometry.values), hex=True)
        h = h ^ (pd.util.hash_array(wkb.astype(object)) >> np.uint64(1))
    return h


def stage(
    path: str | os.PathLike[str],
    rev: int,
    before: store.Inputs | None,
    after: store.Inputs | None,
    *,
    counties: Sequence[str] = (),
    replace_all: bool = False,
    uploads: Sequence[Source] = (),
    report: ValidationReport | None = None,
) -> tuple[Path, list[dict[str, object]]]:
    """Write revision ``rev``'s history into ``<store>.history/.partial-<rev>``.

    Parameters
    ----------
    path
        The store (call inside the write lock).
    rev
        The revision being written.
    before, after
        The inputs before and after the revision (``before`` None: it creates the store;
        ``after`` None: the inputs do not change, nothing to undo). ``before.projects`` may
        hold only the rows replaced, with their ledger positions in a ``_pos`` column (an
        incremental write reads only those).
    counties, replace_all
        Projects replaced: those of ``counties``, or all of them.
    uploads
        The files imported (paths or ``(name, bytes)``), kept byte for byte.
    report
        The validation report, kept as XLSX and CSV.

    Returns
    -------
    tuple
        The staged directory (for :func:`publish`) and the files as ``{name, sha256, size}``.
    """
    dest = history_dir(path) / f".partial-{int(rev)}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    files = _save_files(dest, uploads)
    if report is not None:
        report.write(dest / "report")
    meta: dict[str, object] = {
        "rev": int(rev),
        "created": before is None,
        "undo": after is not None,
    }
    if before is not None and after is not None:
        replaced = (
            before.projects
            if _POS in before.projects.columns
            else _replaced_projects(before.projects, counties, replace_all)
        )
        replaced.to_parquet(dest / f"{S.LAYER_PROJECTS}_before.parquet")
        meta[S.LAYER_PROJECTS] = {"all": bool(replace_all), "counties": sorted(counties)}
        for name, key in _KEYED.items():
            meta[name] = _stage_keyed(dest, name, getattr(before, name), getattr(after, name), key)
    (dest / _DELTA).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return dest, files


def _replaced_projects(
    projects: gpd.GeoDataFrame, counties: Sequence[str], replace_all: bool
) -> gpd.GeoDataFrame:
    scope = (
        np.ones(len(projects), dtype=bool)
        if replace_all
        else (projects[S.COUNTY_CODE].isin(list(counties)).to_numpy(bool))
    )
    kept = projects.iloc[np.flatnonzero(scope)].copy()
    kept[_POS] = np.flatnonzero(scope).astype("int64")
    return kept


def _stage_keyed(
    dest: Path, name: str, before: pd.DataFrame, after: pd.DataFrame, key: str
) -> dict[str, object]:
    same_cols = list(before.columns) == list(after.columns) and all(
        before[c].dtype == after[c].dtype for c in before.columns
    )
    unique = not (before[key].duplicated().any() or after[key].duplicated().any())
    if before is after and unique:  # unchanged (the same frame): nothing to keep
        touched = pd.Index([], dtype=before[key].dtype)
        before.iloc[:0].to_parquet(dest / f"{name}_before.parquet")
        pd.DataFrame({key: before[key].to_numpy()}).to_parquet(dest / f"{name}_order.parquet")
        pd.DataFrame({key: np.asarray(touched)}).to_parquet(dest / f"{name}_touched.parquet")
        return {"all": False, "key": key, "changed": 0}
    if not (same_cols and unique):
        before.to_parquet(dest / f"{name}_before.parquet")
        return {"all": True}
    hb = pd.Series(_row_hashes(before), index=before[key].to_numpy())
    ha = pd.Series(_row_hashes(after), index=after[key].to_numpy())
    union = hb.index.union(ha.index)
    touched = union[hb.reindex(union).ne(ha.reindex(union)).to_numpy()]
    changed = before[key].isin(touched).to_numpy(bool)
    before.iloc[np.flatnonzero(changed)].to_parquet(dest / f"{name}_before.parquet")
    pd.DataFrame({key: before[key].to_numpy()}).to_parquet(dest / f"{name}_order.parquet")
    pd.DataFrame({key: np.asarray(touched)}).to_parquet(dest / f"{name}_touched.parquet")
    return {"all": False, "key": key, "changed": len(touched)}


def changes_shared(path: str | os.PathLike[str], rev: int) -> bool:
    """True when revision ``rev`` changed the administrative units or the registry (shared by
    every county), or when that cannot be told (no history kept, or it was pruned).

    Parameters
    ----------
    path, rev
        The store and the revision.

    Returns
    -------
    bool
    """
    delta = revision_dir(path, rev) / _DELTA
    meta = json.loads(delta.read_text(encoding="utf-8")) if delta.is_file() else {}
    if meta.get("created") or not meta.get("undo"):
        return True
    parts = [meta.get(name) for name in _KEYED]
    return any(not isinstance(p, dict) or p.get("all") or p.get("changed") for p in parts)


def publish(path: str | os.PathLike[str], staged: Path, rev: int) -> Path:
    """Rename a staged history directory to ``<store>.history/<rev>`` (just before the store).

    Parameters
    ----------
    path
        The store.
    staged
        From :func:`stage`.
    rev
        Its revision.

    Returns
    -------
    Path
        The published directory.
    """
    final = revision_dir(path, rev)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staged, final)
    return final


# --- undoing ------------------------------------------------------------------------------------


def _read_parquet(p: Path, like: pd.DataFrame) -> pd.DataFrame:
    if isinstance(like, gpd.GeoDataFrame):
        return gpd.read_parquet(p)
    return pd.read_parquet(p)


def _like(rows: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``like``'s columns, dtypes, class and CRS."""
    rows = rows[[c for c in like.columns if c in rows.columns]].reset_index(drop=True)
    for c in rows.columns:
        if rows[c].dtype != like[c].dtype and not (
            isinstance(like, gpd.GeoDataFrame) and c == like.geometry.name
        ):
            with contextlib.suppress(TypeError, ValueError):
                rows[c] = rows[c].astype(like[c].dtype)
    if isinstance(like, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(rows, geometry=like.geometry.name, crs=like.crs)
    return pd.DataFrame(rows)


def _restore_projects(d: Path, meta: dict, current: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    saved = gpd.read_parquet(d / f"{S.LAYER_PROJECTS}_before.parquet")
    if meta["all"]:  # the whole ledger as it was, with its own dtypes
        return saved.sort_values(_POS, kind="stable").drop(columns=_POS).reset_index(drop=True)
    rest = current[~current[S.COUNTY_CODE].isin(meta["counties"])]
    n = len(rest) + len(saved)
    pos = saved[_POS].to_numpy()
    fixed = pos[pos < n]
    gaps = np.setdiff1d(np.arange(n), fixed)
    slot = np.empty(n, dtype=np.int64)
    slot[: len(rest)] = gaps[: len(rest)]
    late = pos >= n
    slot_saved = pos.copy()
    slot_saved[late] = gaps[len(rest) :][: int(late.sum())]
    slot[len(rest) :] = slot_saved
    both = pd.concat([_like(rest, current), _like(saved, current)], ignore_index=True)
    return _like(both.iloc[np.argsort(slot, kind="stable")], current)


def _restore_keyed(d: Path, name: str, meta: dict, current: pd.DataFrame) -> pd.DataFrame:
    saved = _read_parquet(d / f"{name}_before.parquet", current)
    if meta["all"]:
        return saved
    key = meta["key"]
    touched = pd.read_parquet(d / f"{name}_touched.parquet")[key]
    order = pd.read_parquet(d / f"{name}_order.parquet")[key]
    rest = current[~current[key].isin(touched)]
    both = pd.concat([_like(rest, current), _like(saved, current)], ignore_index=True)
    rank = pd.Series(np.arange(len(order), dtype=np.int64), index=order.to_numpy())
    pos = both[key].map(rank)
    pos = pos.fillna(pd.Series(len(order) + np.arange(len(both)), index=both.index))
    return _like(both.iloc[np.argsort(pos.to_numpy(np.int64), kind="stable")], current)


def restore(path: str | os.PathLike[str], rev: int, current: store.Inputs) -> store.Inputs:
    """The inputs with what revision ``rev`` touched put back as they were before it.

    Parameters
    ----------
    path
        The store.
    rev
        The revision to undo.
    current
        The store's inputs now.

    Returns
    -------
    store.Inputs

    Raises
    ------
    StoreError
        The revision's history is gone (pruned) or it changed no inputs.
    """
    d = revision_dir(path, rev)
    try:
        meta = json.loads((d / _DELTA).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StoreError(
            f"revision {rev} has no history in {history_dir(path)} (pruned or never kept); "
            "it cannot be rolled back — see `onemap history`"
        ) from e
    if meta.get("created"):
        raise StoreError(f"revision {rev} created the store: there is no state before it")
    if not meta.get("undo"):
        raise StoreError(f"revision {rev} changed no inputs (a rebuild): nothing to roll back")
    projects = _restore_projects(d, meta[S.LAYER_PROJECTS], current.projects)
    units = _restore_keyed(d, S.LAYER_ADMIN_UNITS, meta[S.LAYER_ADMIN_UNITS], current.admin_units)
    registry = _restore_keyed(d, S.LAYER_REGISTRY, meta[S.LAYER_REGISTRY], current.registry)
    return store.Inputs(units, registry, projects)


def history_days(days: float | None = None) -> float:
    """``days``, else ``$ONEMAP_HISTORY_DAYS``, else 365: how long history is kept."""
    if days is not None:
        return float(days)
    raw = os.environ.get(HISTORY_DAYS_ENV, "").strip()
    try:
        return float(raw) if raw else 365.0
    except ValueError as e:
        raise StoreError(f"{HISTORY_DAYS_ENV}={raw!r} is not a number of days") from e


def _size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def prune(
    path: str | os.PathLike[str], *, days: float | None = None, dry_run: bool = False
) -> tuple[list[int], int]:
    """Delete the history of revisions older than ``days`` (the latest is always kept).

    Parameters
    ----------
    path
        The store (call inside the write lock unless ``dry_run``).
    days
        Keep this many days (None: :func:`history_days`).
    dry_run
        Only say what would be freed.

    Returns
    -------
    tuple
        The revisions whose history was (or would be) deleted, and the bytes freed.
    """
    log = read_log(path)
    if not len(log):
        return [], 0
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=history_days(days))
    times = pd.to_datetime(log["time"], utc=True)
    old = log.loc[(times < cutoff) & (log["rev"] < head(log)), "rev"].astype(int).tolist()
    gone, freed = [], 0
    for rev in old:
        d = revision_dir(path, rev)
        if d.is_dir():
            freed += _size(d)
            gone.append(rev)
            if not dry_run:
                shutil.rmtree(d, ignore_errors=True)
    return gone, freed
