"""A build that holds one chunk of the ledger at a time: ``onemap demo --scale N`` into PostGIS.

``pipeline.build_layers`` needs every project at once: locating, the audit and the store write
take the located ledger, and the layers above it its light prepared copy. At twenty times the
data (3.84 million projects) that is about 4 GB. Here the ledger comes in chunks (one generated
province ledger after the other, ``demo.generate.ledger_chunks``); each chunk is

1. located (row by row, against the boundaries: the same rows as locating the whole ledger);
2. COPYed into the new schema's staging table with its sort key (``pgwrite.SchemaWriter``), so
   the ``projects`` table ends up in ledger order;
3. audited row by row (``audit.audit_projects``; duplicate project ids are checked within the
   chunk, and across chunks by a 64-bit hash of every id kept, 8 bytes a project);
4. reduced to the light frame of ``metrics.prepare_projects`` (codes as categories, no text),
   which is all the summary, village, township and county layers read.

After the last chunk the light frames are stacked (about 75 bytes a project) and the layers are
built by the same functions as ``build_layers`` (:func:`build_outputs`), the ledger rows whose
codes locating changed are kept with their final positions (``projects_input_changes``), and the
schema is swapped in: one transaction, as a write of tables in memory. The tables equal those of
the in-memory build (``tests/test_stream.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.raster import Raster
from layers import pgwrite, store
from layers import schema as S
from layers.build import audit, metrics, revisions, terrain, zones
from layers.build.county_library import build_county_library
from layers.build.locate import locate_projects
from layers.build.lock import store_lock
from layers.build.township_roadmap import build_township_roadmap
from layers.build.village_plan import build_village_plan
from layers.demo import generate as demo
from layers.errors import StoreError

__all__ = [
    "CHUNK_ROWS",
    "Chunked",
    "NotStreamable",
    "build_outputs",
    "county_chunks",
    "keyed",
    "run_build",
    "run_demo",
    "stored_ledger",
    "write_chunked",
]

#: ledger rows per chunk when a stored ledger is rebuilt (one demo province's worth)
CHUNK_ROWS = 200_000
#: code columns of the prepared frame kept as categories (text per row would be 60 bytes)
_CODES = (S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE)


def build_outputs(
    admin_units: gpd.GeoDataFrame,
    registry: pd.DataFrame,
    prepared: pd.DataFrame,
    zone_members: pd.DataFrame,
    quality: pd.DataFrame,
    *,
    exit_by: int = 2020,
    dem: Raster | None = None,
) -> dict[str, pd.DataFrame]:
    """Every output layer but ``projects`` from the prepared projects and the audit's issues.

    Parameters
    ----------
    admin_units, registry
        The store's units and registry.
    prepared
        ``metrics.prepare_projects`` of the located projects.
    zone_members
        ``zone, code`` rows of the action-plan zones.
    quality
        ``quality_issues`` (``audit.audit`` or :func:`audit.combine` of the chunks' issues).
    exit_by, dem
        As ``pipeline.build_layers``.

    Returns
    -------
    dict
        ``village_plan``, ``township_roadmap``, ``roadmap_years``, ``county_library``,
        ``region_summary``, ``zone_summary``, ``quality_issues``.
    """
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
        S.LAYER_VILLAGE_PLAN: plans,
        S.LAYER_TOWNSHIP_ROADMAP: roadmap,
        S.TABLE_ROADMAP_YEARS: years,
        S.LAYER_COUNTY_LIBRARY: library,
        S.TABLE_REGION_SUMMARY: summary,
        S.TABLE_ZONE_SUMMARY: metrics.aggregate_zones(summary, zone_members),
        S.TABLE_QUALITY_ISSUES: quality,
    }


def county_chunks(
    ledger: gpd.GeoDataFrame, per_chunk: int
) -> Iterable[tuple[gpd.GeoDataFrame, pd.DataFrame]]:
    """A ledger in memory as chunks of whole runs of counties, in ledger order.

    Parameters
    ----------
    ledger
        The projects as ingested.
    per_chunk
        Counties per chunk (consecutive runs of the ledger's ``county_code``).

    Yields
    ------
    tuple
        The chunk and its sort keys (``_ord``: its rows' ledger positions).
    """
    county = ledger[S.COUNTY_CODE].astype("str").fillna("").to_numpy(object)
    starts = np.flatnonzero(np.r_[True, county[1:] != county[:-1]])
    bounds = [*starts[::per_chunk].tolist(), len(ledger)]
    for lo, hi in itertools.pairwise(bounds):
        yield ledger.iloc[lo:hi], _in_order(lo, hi - lo)


def _in_order(first: int, n: int) -> pd.DataFrame:
    """Sort keys of ledger rows ``first`` … ``first + n - 1`` already in ledger order."""
    return pd.DataFrame(
        {
            "_k": np.full(n, None, dtype=object),
            "_y": pd.array([pd.NA] * n, dtype="Int64"),
            "_ord": np.arange(first, first + n, dtype="int64"),
        }
    )


def keyed(
    chunks: Iterable[gpd.GeoDataFrame],
) -> Iterator[tuple[gpd.GeoDataFrame, pd.DataFrame]]:
    """The chunks of ``demo.generate.ledger_chunks`` with their sort keys: county, plan year,
    arrival (the stacked chunks ordered by them are ``generate_ledger``'s ledger).

    Parameters
    ----------
    chunks
        The generated chunks, in order.

    Yields
    ------
    tuple
        The chunk and its keys ``_k, _y, _ord``.
    """
    start = 0
    for chunk in chunks:
        yield chunk, _replica_keys(chunk, start)
        start += len(chunk)


def stored_ledger(path: str, rows: int) -> Iterator[tuple[gpd.GeoDataFrame, pd.DataFrame]]:
    """A PostGIS store's ledger as ingested (:func:`read_inputs`' projects), ``rows`` at a time.

    Parameters
    ----------
    path
        A ``postgresql://`` store URL.
    rows
        Rows per chunk.

    Yields
    ------
    tuple
        Consecutive ledger rows (index: their ledger positions) and their sort keys.
    """
    layers = store.list_layers(path)
    name = store.TABLE_PROJECTS_INPUT if store.TABLE_PROJECTS_INPUT in layers else S.LAYER_PROJECTS
    delta = None
    if name == S.LAYER_PROJECTS and store.TABLE_PROJECTS_INPUT_CHANGES in layers:
        delta = store.read_layer(path, store.TABLE_PROJECTS_INPUT_CHANGES)
        delta.index = pd.Index(delta.pop(store.INPUT_ROW).to_numpy())
    first = 0
    while True:
        chunk = store.read_layer(path, name, window=(first, rows))
        chunk = chunk.drop(columns=S.LOCATED_BY, errors="ignore")
        chunk.index = pd.RangeIndex(first, first + len(chunk))
        if delta is not None:
            mine = delta[(delta.index >= first) & (delta.index < first + len(chunk))]
            chunk.loc[mine.index, list(mine.columns)] = mine
        if len(chunk):
            yield chunk, _in_order(first, len(chunk))
        if len(chunk) < rows:
            return
        first += rows


def _replica_keys(chunk: pd.DataFrame, start: int) -> pd.DataFrame:
    county = chunk[S.COUNTY_CODE]
    return pd.DataFrame(
        {
            "_k": county.astype(object).where(county.notna(), None).to_numpy(),
            "_y": pd.array(pd.to_numeric(chunk[S.PLAN_YEAR]), dtype="Int64"),
            "_ord": np.arange(start, start + len(chunk), dtype="int64"),
        }
    )


def _light(prepared: pd.DataFrame) -> pd.DataFrame:
    """The prepared chunk without its text: no project id, codes as categories."""
    out = prepared.drop(columns=[S.PROJECT_ID], errors="ignore")
    for col in _CODES:
        if col in out:
            out[col] = out[col].astype("category")
    return out


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The light chunks as one prepared frame, categories as ``prepare_projects`` makes them."""
    cats = [c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)]
    stacked: dict[str, Any] = {}
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        if col in cats:
            union = pd.api.types.union_categoricals(parts, sort_categories=True)
            stacked[col] = pd.Series(union, name=col)
        else:
            stacked[col] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(stacked)


class NotStreamable(StoreError):
    """The ledger cannot be built in chunks: build it in one piece."""


@dataclass
class Chunked:
    """What the chunks of one build leave behind (:func:`write_chunked`)."""

    light: list[pd.DataFrame] = field(default_factory=list)
    issues: list[pd.DataFrame] = field(default_factory=list)
    project_issues: list[pd.DataFrame] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    changes: list[pd.DataFrame] = field(default_factory=list)
    landing: list[tuple[tuple[Any, ...], int]] = field(default_factory=list)
    seen: dict[tuple[Any, ...], int] = field(default_factory=dict)
    dtypes: dict[str, dict[str, str]] = field(default_factory=dict)
    rows: int = 0

    def add(
        self,
        writer: pgwrite.SchemaWriter,
        units: gpd.GeoDataFrame,
        registry: pd.DataFrame,
        chunk: gpd.GeoDataFrame,
        keys: pd.DataFrame,
    ) -> None:
        """Locate, stage, audit and reduce one chunk of the ledger.

        Parameters
        ----------
        writer
            The write the chunk's located rows are staged in.
        units, registry
            The store's units and registry.
        chunk
            Projects as ingested.
        keys
            Their sort keys (``county_chunks``, ``keyed``).
        """
        located, locate_issues = locate_projects(units, chunk)
        ledger = chunk.drop(columns=S.LOCATED_BY, errors="ignore")
        tables = store.ledger_tables(ledger, located)
        if store.TABLE_PROJECTS_INPUT in tables:
            raise NotStreamable("locating dropped or reordered ledger rows")
        sort_keys = [_sort_key(k, y) for k, y in zip(keys["_k"], keys["_y"], strict=True)]
        delta = tables.get(store.TABLE_PROJECTS_INPUT_CHANGES)
        if delta is not None:  # where each row lands: its key and its rank among the key's rows
            rank: dict[tuple[Any, ...], int] = {}
            where = {}
            for i, key in enumerate(sort_keys):
                rank[key] = rank.get(key, self.seen.get(key, 0)) + 1
                where[i] = (key, rank[key] - 1)
            delta = delta.copy()
            self.landing.extend(where[int(i)] for i in delta[store.INPUT_ROW])
            self.changes.append(delta)
        for key in sort_keys:
            self.seen[key] = self.seen.get(key, 0) + 1
        ready, dtypes = store.table_for_store(S.LAYER_PROJECTS, located)
        self.dtypes.setdefault(S.LAYER_PROJECTS, dtypes)
        writer.stage(S.LAYER_PROJECTS, ready, keys)
        self.issues.append(locate_issues)
        self.project_issues.append(audit.audit_projects(located, registry))
        ids = located[S.PROJECT_ID].astype("str").to_numpy(object)
        self.ids.append(np.unique(pd.util.hash_array(ids)))
        self.light.append(_light(metrics.prepare_projects(located)))
        self.rows += len(located)

    def check_ids(self) -> None:
        """Raise when a project id is in two chunks (their duplicate issues would be lost)."""
        ids = np.concatenate(self.ids) if self.ids else np.array([], dtype="uint64")
        if len(np.unique(ids)) != len(ids):
            raise NotStreamable("a project id repeats across counties or chunks")

    def changes_table(self) -> pd.DataFrame | None:
        """``projects_input_changes`` with the rows' final ledger positions (None: none): the
        rows of the keys sorted before a row's key, plus its rank among its key's rows."""
        if not self.changes:
            return None
        start, total = {}, 0
        for key in sorted(self.seen):
            start[key], total = total, total + self.seen[key]
        delta = pd.concat(self.changes, ignore_index=True)
        final = [start[key] + rank for key, rank in self.landing]
        delta[store.INPUT_ROW] = np.asarray(final, dtype="int64")
        return delta.sort_values(store.INPUT_ROW, kind="stable").reset_index(drop=True)


def _sort_key(k: Any, y: Any) -> tuple[Any, ...]:
    """A row's ``ORDER BY _k COLLATE "C" NULLS LAST, _y NULLS LAST`` as a Python sort key (code
    point order is UTF-8 byte order)."""
    k_missing, y_missing = k is None or k is pd.NA, y is None or y is pd.NA
    return (k_missing, "" if k_missing else str(k), y_missing, 0 if y_missing else int(y))


def write_chunked(
    url: str,
    inputs: tuple[gpd.GeoDataFrame, pd.DataFrame],
    chunks: Iterable[tuple[gpd.GeoDataFrame, pd.DataFrame]],
    *,
    zone_members: pd.DataFrame,
    dem: Raster | None,
    extra: Mapping[str, pd.DataFrame],
    build_info: Callable[[dict[str, str]], Mapping[str, Any]],
    progress: Callable[[str], None] | None = None,
) -> int:
    """Build and write a whole PostGIS store from a ledger in chunks, in one transaction.

    Parameters
    ----------
    url
        The store URL (call inside the store's write lock).
    inputs
        ``(admin_units, registry)``.
    chunks
        ``(projects as ingested, sort keys)`` one after the other (:func:`county_chunks`,
        :func:`keyed`); only one is held at a time.
    zone_members
        ``zone, code`` rows of the zones.
    dem
        Terrain for the village, township and county layers (None: none).
    extra
        More tables to write as they are (the revision log).
    build_info
        Called with the input hashes (the projects' one a hash of the chunks' hashes), returns
        the ``build_info`` record.
    progress
        Called with ``build`` when the last chunk is in and ``write`` before the tables.

    Returns
    -------
    int
        The number of projects written.
    """
    units, registry = inputs
    report = progress or (lambda _stage: None)
    done = Chunked()
    chunk_hashes: list[str] = []
    try:
        with pgwrite.schema_writer(url) as writer:
            for chunk, keys in chunks:
                ingested = chunk.drop(columns=S.LOCATED_BY, errors="ignore")
                chunk_hashes.append(store.table_sha256(ingested))
                done.add(writer, units, registry, chunk, keys)
                del chunk
            done.check_ids()
            report("build")
            quality = audit.combine(
                [*done.issues, *done.project_issues, audit.audit_registry(units, registry)]
            )
            prepared = _stack(done.light)
            done.light.clear()
            built = build_outputs(units, registry, prepared, zone_members, quality, dem=dem)
            del prepared
            report("write")
            tables: dict[str, pd.DataFrame] = {
                S.LAYER_ADMIN_UNITS: units,
                S.LAYER_REGISTRY: registry,
            }
            changes = done.changes_table()
            if changes is not None:
                tables[store.TABLE_PROJECTS_INPUT_CHANGES] = changes
            tables.update(built)
            tables.update(extra)
            hashes = {
                S.LAYER_ADMIN_UNITS: store.table_sha256(units),
                S.LAYER_REGISTRY: store.table_sha256(registry),
                S.LAYER_PROJECTS: "chunks:"
                + hashlib.sha256("|".join(chunk_hashes).encode()).hexdigest(),
            }
            writer.settle(S.LAYER_PROJECTS, done.dtypes[S.LAYER_PROJECTS])
            for name, table in {**tables, S.TABLE_BUILD_INFO: build_info(hashes)}.items():
                writer.table(name, *store.table_for_store(name, table))
    except NotStreamable:
        raise
    except StoreError as e:
        raise StoreError(
            f"could not write store {store.shown(url)}: {e}; the previous store is unchanged"
        ) from e
    return done.rows


def run_demo(
    out: Path,
    seed: int,
    scale: float,
    report: Callable[[str], None],
    relief: terrain.Dem | None,
    how: tuple[str, Callable[[str], None] | None, Callable[..., dict[str, Any]]],
) -> Path:
    """``pipeline.run_demo`` into PostGIS above scale 1: the generated ledger chunk by chunk.

    Parameters
    ----------
    out
        The store URL.
    seed, scale
        The demo's seed and a whole scale > 1.
    report
        Called with each of ``pipeline.DEMO_RUN_STAGES`` as it starts.
    relief
        The DEM for terrain (None: none).
    how
        Who writes, the lock's ``on_wait``, and ``make_build_info`` (called with ``hashes=``
        and the record's keys).

    Returns
    -------
    Path
        The store written, as a ``demo`` revision; it cannot be rolled back (the old ledger is
        not copied into the history: at this size that is what the chunks avoid).
    """
    who, on_wait, make_info = how
    units, registry = demo.generate_base(seed=seed, scale=scale, progress=report)
    members = zones.zone_members(zones.load_zones(), units)
    extra = {"demo": True, "seed": seed, "scale": scale, "source": demo.DEMO_SOURCE}
    extra[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
    with store_lock(out, who, what="demo", on_wait=on_wait):
        log = revisions.read_log(out if store.exists(out) else None)
        revisions.clean_orphans(out, rev := revisions.head(log))
        staged, _ = revisions.stage(out, rev + 1, None, None)
        revision = revisions.Revision("demo", who, replace_all=True, summary=demo.DEMO_SOURCE)
        revisions.publish(out, staged, rev + 1)
        report("projects")
        write_chunked(
            str(out),
            (units, registry),
            keyed(demo.ledger_chunks(units, registry, seed=seed, scale=scale)),
            zone_members=members,
            dem=None if relief is None else relief.raster,
            extra={revisions.TABLE_REVISIONS: revisions.append(log, rev + 1, revision)},
            build_info=lambda h: make_info(hashes=h, **extra, revision=rev + 1),
            progress=report,
        )
    return out


def run_build(
    path: str,
    how: tuple[str, Callable[..., dict[str, Any]]],
    *,
    dem: str | os.PathLike[str] | None,
    terrain_on: bool | None,
    progress: Callable[[str], None],
) -> bool:
    """``pipeline.run_build`` of a PostGIS store, its ledger read and built chunk by chunk.

    Parameters
    ----------
    path
        The store URL (inside its write lock).
    how
        Who writes and ``make_build_info`` (called with ``hashes=`` and the record's keys).
    dem, terrain_on
        As ``terrain.rebuild_dem``.
    progress
        Called with ``build`` and ``write``.

    Returns
    -------
    bool
        True: written (a ``build`` revision); False: the ledger cannot be built in chunks
        (:class:`NotStreamable`), nothing was written: build it in one piece.
    """
    who, make_info = how
    log = revisions.read_log(path)
    revisions.clean_orphans(path, rev := revisions.head(log))
    previous = store.read_build_info(path)
    keep = {k: previous[k] for k in ("demo", "seed", "scale", "source") if k in previous}
    relief = terrain.rebuild_dem(previous, dem=dem, terrain_on=terrain_on)
    keep[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
    units = store.read_layer(path, S.LAYER_ADMIN_UNITS)
    registry = store.read_layer(path, S.LAYER_REGISTRY)
    revision = revisions.Revision("build", who, summary="重建图层")
    try:
        write_chunked(
            path,
            (units, registry),
            stored_ledger(path, CHUNK_ROWS),
            zone_members=zones.zone_members(zones.load_zones(), units),
            dem=None if relief is None else relief.raster,
            extra={revisions.TABLE_REVISIONS: revisions.append(log, rev + 1, revision)},
            build_info=lambda h: make_info(hashes=h, **keep, revision=rev + 1),
            progress=progress,
        )
    except NotStreamable:
        return False
    return True
