"""Partition polygons into a given number of contiguous cells that tile them.

Each parent gets random seed points inside it (in a metric CRS), a Lloyd step or two evens the
cells out, and the Voronoi cells of the seeds are clipped to the parent in the parent's own CRS,
so the children tile the parent exactly in stored coordinates. Every step runs on shapely
arrays for all parents at once (``voronoi_polygons`` on one MultiPoint per parent,
``intersection`` on arrays, vectorised point-in-polygon sampling).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geo import crs as geocrs

__all__ = ["PARENT", "PART", "partition_polygon", "partition_units", "sample_points"]

#: column of the result holding the positional index of the parent row
PARENT = "parent"
#: column of the result holding the child's ordinal within its parent (0..n-1)
PART = "part"
_MAX_SAMPLING_ROUNDS = 50
#: random points per seed for the Monte Carlo Lloyd step
_LLOYD_SAMPLES = 40


def sample_points(
    polygons: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``counts[i]`` uniform random points strictly inside each ``polygons[i]``.

    Returns ``(xy, owner)``: an ``(sum(counts), 2)`` array of coordinates and the index of the
    polygon each point belongs to, grouped by polygon in input order. Rejection sampling in the
    bounding boxes, vectorised over all polygons; only the still-short polygons are redrawn.

    Parameters
    ----------
    polygons
        Object array of polygons in planar coordinates.
    counts
        Number of points wanted in each polygon (≥ 0), same length as ``polygons``.
    rng
        Random generator; the same seed gives the same points.
    """
    polygons = np.asarray(polygons, dtype=object)
    counts = np.asarray(counts, dtype=np.int64)
    if len(polygons) != len(counts):
        raise ValueError(f"got {len(polygons)} polygons but {len(counts)} counts")
    if (counts < 0).any():
        raise ValueError("counts must be ≥ 0")
    shapely.prepare(polygons)
    bounds = shapely.bounds(polygons)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    fill = np.clip(shapely.area(polygons) / np.where(box_area > 0, box_area, 1.0), 1e-3, 1.0)
    got_xy: list[np.ndarray] = []
    got_owner: list[np.ndarray] = []
    need = counts.copy()
    for _ in range(_MAX_SAMPLING_ROUNDS):
        todo = np.flatnonzero(need > 0)
        if not len(todo):
            break
        draws = np.ceil(need[todo] / fill[todo] * 1.3).astype(np.int64) + 4
        owner = np.repeat(todo, draws)
        lo, hi = bounds[owner, :2], bounds[owner, 2:]
        xy = lo + rng.random((len(owner), 2)) * (hi - lo)
        inside = shapely.contains_xy(polygons[owner], xy[:, 0], xy[:, 1])
        owner, xy = owner[inside], xy[inside]
        rank = pd.Series(owner).groupby(owner).cumcount().to_numpy()
        keep = rank < need[owner]
        got_xy.append(xy[keep])
        got_owner.append(owner[keep])
        need -= np.bincount(owner[keep], minlength=len(polygons))
    if (need > 0).any():
        bad = np.flatnonzero(need > 0)[:5].tolist()
        raise ValueError(f"could not sample points inside polygons {bad} (empty or degenerate?)")
    xy = np.concatenate(got_xy) if got_xy else np.empty((0, 2))
    owner = np.concatenate(got_owner) if got_owner else np.empty(0, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    return xy[order], owner[order]


def _threaded(func: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """Apply a vectorised shapely function in chunks on all cores (shapely releases the GIL)."""
    n = len(arrays[0])
    jobs = min(os.cpu_count() or 1, max(1, n // 2000))
    if jobs == 1:
        return func(*arrays)
    bounds = np.linspace(0, n, jobs + 1).astype(int)
    with ThreadPoolExecutor(jobs) as pool:
        parts = pool.map(
            lambda ab: func(*(a[ab[0] : ab[1]] for a in arrays)), itertools.pairwise(bounds)
        )
        return np.concatenate(list(parts))


def _voronoi_cells(xy: np.ndarray, owner: np.ndarray, extents: np.ndarray) -> np.ndarray:
    """Voronoi cell of every seed (same order as ``xy``), one diagram per owner."""
    owners = np.unique(owner)
    multipoints = shapely.multipoints(shapely.points(xy), indices=owner)
    # shapely.multipoints drops owners without points: align by position among present owners
    diagrams = shapely.voronoi_polygons(multipoints, extend_to=extents[owners], ordered=True)
    cells, idx = shapely.get_parts(diagrams, return_index=True)
    counts = np.bincount(owner)[owners]
    if not np.array_equal(np.bincount(idx, minlength=len(owners)), counts):
        raise ValueError("Voronoi diagram lost cells (duplicate seed points?)")
    return cells


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only polygon parts, returned as MultiPolygons (empty where nothing is left).

    Overlay results are valid by construction (GEOS OverlayNG), so no ``make_valid`` here.
    """
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    out = np.empty(len(geoms), dtype=object)
    out[:] = shapely.MultiPolygon()
    present, dense = np.unique(idx[keep], return_inverse=True)
    if len(present):
        out[present] = shapely.multipolygons(parts[keep], indices=dense)
    return out


def _merge_fragments(children: np.ndarray, parent_of: np.ndarray) -> np.ndarray:
    """Give each child's detached fragments to the sibling that shares most border with them.

    A Voronoi cell clipped to a concave parent can fall apart; its largest part stays, the
    others join a neighbouring sibling. Fragments touching no sibling (islands) stay put.
    """
    parts, idx = shapely.get_parts(children, return_index=True)
    if len(parts) == len(children):
        return children
    area = shapely.area(parts)
    frame = pd.DataFrame({"child": idx, "area": area, "pos": np.arange(len(parts))})
    largest = frame.sort_values(["child", "area"], ascending=[True, False]).drop_duplicates("child")
    is_main = np.zeros(len(parts), dtype=bool)
    is_main[largest["pos"].to_numpy()] = True
    frag = np.flatnonzero(~is_main)
    mains = np.empty(len(children), dtype=object)
    mains[largest["child"].to_numpy()] = parts[largest["pos"].to_numpy()]
    tree = shapely.STRtree(mains)
    fi, mi = tree.query(parts[frag], predicate="intersects")
    ok = (parent_of[idx[frag[fi]]] == parent_of[mi]) & (idx[frag[fi]] != mi)
    fi, mi = fi[ok], mi[ok]
    shared = shapely.length(shapely.intersection(shapely.boundary(parts[frag[fi]]), mains[mi]))
    best = (
        pd.DataFrame({"frag": fi, "owner": mi, "shared": shared})
        .query("shared > 0")
        .sort_values(["frag", "shared", "owner"], ascending=[True, False, True])
        .drop_duplicates("frag")
    )
    if best.empty:
        return children
    owner = idx.copy()
    owner[frag[best["frag"].to_numpy()]] = best["owner"].to_numpy()
    touched = np.unique(np.concatenate([idx[frag[best["frag"].to_numpy()]], best["owner"]]))
    sel = np.isin(owner, touched)
    merged = (
        pd.Series(parts[sel]).groupby(owner[sel]).agg(lambda g: shapely.union_all(g.to_numpy()))
    )
    out = children.copy()
    out[merged.index.to_numpy()] = merged.to_numpy()
    return _polygonal(out)


def _lloyd(
    xy: np.ndarray,
    owner: np.ndarray,
    polygons: np.ndarray,
    rng: np.random.Generator,
    steps: int,
) -> np.ndarray:
    """Move seeds towards the centroids of their cells within the parent (Monte Carlo Lloyd).

    Each parent gets ``_LLOYD_SAMPLES`` random points per seed; a point belongs to its nearest
    seed of the same parent (its Voronoi cell clipped to the parent), and each seed moves to the
    cell's mean (the centroid of the clipped cell) if that lies inside the parent, else to the
    cell's sample nearest to the mean.
    """
    if steps <= 0 or not len(xy):
        return xy
    per_parent = np.bincount(owner, minlength=len(polygons)) * _LLOYD_SAMPLES
    sxy, sowner = sample_points(polygons, per_parent, rng)
    # keep nearest-seed queries inside each parent by moving every parent far apart on x
    span = float(np.ptp(np.concatenate([xy[:, 0], sxy[:, 0]]))) + 1.0
    offset = np.arange(len(polygons)) * span * 4.0
    samples = np.column_stack([sxy[:, 0] + offset[sowner], sxy[:, 1]])
    for _ in range(steps):
        tree = cKDTree(np.column_stack([xy[:, 0] + offset[owner], xy[:, 1]]))
        nearest = tree.query(samples, workers=-1)[1]
        counts = np.bincount(nearest, minlength=len(xy))
        has = counts > 0
        mean = np.column_stack(
            [
                np.bincount(nearest, weights=sxy[:, 0], minlength=len(xy)),
                np.bincount(nearest, weights=sxy[:, 1], minlength=len(xy)),
            ]
        )
        mean[has] /= counts[has, None]
        # the mean when it lies inside the parent, else the cell's sample nearest to it
        inside = has & shapely.contains_xy(polygons[owner], mean[:, 0], mean[:, 1])
        d2 = ((sxy - mean[nearest]) ** 2).sum(axis=1)
        best = pd.Series(d2).groupby(nearest).idxmin()
        new = xy.copy()
        new[best.index.to_numpy()] = sxy[best.to_numpy()]
        new[inside] = mean[inside]
        xy = new
    return xy


def _partition(
    parents: np.ndarray,
    metric_parents: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
    lloyd_steps: int,
    to_parent_crs,
    max_segment: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Core of the partition; returns (children geometries, parent position of each)."""
    multi = np.flatnonzero(counts > 1)
    single = np.flatnonzero(counts == 1)
    mp = metric_parents[multi]
    xy, owner = sample_points(mp, counts[multi], rng)
    xy = _lloyd(xy, owner, mp, rng, lloyd_steps)
    ext = shapely.bounds(mp)
    pad = np.maximum(ext[:, 2] - ext[:, 0], ext[:, 3] - ext[:, 1])[:, None]
    extents = shapely.box(*(ext + np.hstack([-pad, -pad, pad, pad])).T)
    cells = _voronoi_cells(xy, owner, extents)
    # densify so the straight metric edges stay (nearly) straight once in the parents' CRS
    cells = to_parent_crs(shapely.segmentize(cells, max_segment))
    pg = parents[multi]
    shapely.prepare(pg)
    children = _polygonal(_threaded(shapely.intersection, cells, pg[owner]))
    children = _merge_fragments(children, owner)
    geoms = np.concatenate([children, _polygonal(parents[single])])
    parent_pos = np.concatenate([multi[owner], single])
    order = np.argsort(parent_pos, kind="stable")
    return geoms[order], parent_pos[order]


def partition_units(
    parents: gpd.GeoDataFrame | gpd.GeoSeries,
    counts: Sequence[int] | np.ndarray | pd.Series,
    *,
    seed: int | np.random.Generator,
    metric_crs: str,
    lloyd_steps: int = 2,
    max_segment: float = 2000.0,
) -> gpd.GeoDataFrame:
    """Split each parent polygon into ``counts[i]`` contiguous cells that tile it.

    Seeds are drawn and evened out (``lloyd_steps`` Lloyd iterations) in the metric CRS
    (``metric_crs``, e.g. an equal-area CRS for the region); the Voronoi cells are clipped to the
    parents in the parents' own CRS, so children lie within their parent and their union is
    the parent in the stored coordinates. A parent with count 1 is its own single child.

    Parameters
    ----------
    parents
        Polygons with a CRS.
    counts
        Children per parent (≥ 1), in parent order.
    seed
        Seed or generator; the same seed gives the same cells.
    max_segment
        Cell edges are densified to this length (metric units) before they are moved to the
        parents' CRS, so child areas add up to the parent's in the metric CRS.

    Returns
    -------
    GeoDataFrame
        One row per child, grouped by parent in parent order: ``parent`` (position of the parent
        row), ``part`` (0..n-1 within the parent) and MultiPolygon geometry in the parents' CRS.
    """
    geocrs.require_crs(parents, name="parents")
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) != len(parents):
        raise ValueError(
            f"counts has {len(counts)} entries but parents has {len(parents)} rows; "
            "give one count per parent"
        )
    if (counts < 1).any():
        bad = np.flatnonzero(counts < 1)[:5].tolist()
        raise ValueError(f"counts must be ≥ 1; parents at positions {bad} have fewer")
    geoms = parents.geometry if isinstance(parents, gpd.GeoDataFrame) else parents
    empty = np.flatnonzero(shapely.is_empty(geoms.to_numpy()) | geoms.isna().to_numpy())
    if len(empty):
        raise ValueError(f"parents at positions {empty[:5].tolist()} are empty")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    metric = geocrs.to_metric(geoms, metric_crs)
    transformer = _transformer(metric.crs, geoms.crs)
    children, parent_pos = _partition(
        geoms.to_numpy(), metric.to_numpy(), counts, rng, lloyd_steps, transformer, max_segment
    )
    empty = np.flatnonzero(shapely.is_empty(children))
    if len(empty):  # a seed's cell always holds the seed, so this means degenerate input
        raise ValueError(
            f"parents at positions {np.unique(parent_pos[empty])[:5].tolist()} produced empty "
            "cells; check that they are valid polygons with area"
        )
    part = pd.Series(parent_pos).groupby(parent_pos).cumcount().to_numpy()
    return gpd.GeoDataFrame({PARENT: parent_pos, PART: part}, geometry=children, crs=geoms.crs)


def _transformer(src, dst):
    def apply(geoms: np.ndarray) -> np.ndarray:
        return gpd.GeoSeries(geoms, crs=src).to_crs(dst).to_numpy()

    return apply


def partition_polygon(
    polygon: BaseGeometry, n: int, *, rng: np.random.Generator, lloyd_steps: int = 2
) -> list[BaseGeometry]:
    """Split one polygon in planar (already metric) coordinates into ``n`` cells that tile it.

    Parameters
    ----------
    polygon
        The polygon to split, in metric coordinates; not empty.
    n
        Number of cells (≥ 1).
    rng
        Random generator for the cell seeds; the same seed gives the same cells.
    lloyd_steps
        Lloyd relaxation rounds that even out the cell sizes (0 = raw Voronoi).

    Returns
    -------
    list of shapely geometry
        ``n`` cells that tile ``polygon``.
    """
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    if polygon.is_empty:
        raise ValueError("polygon is empty")
    geoms = np.array([polygon], dtype=object)
    children, _ = _partition(
        geoms, geoms, np.array([n]), rng, lloyd_steps, lambda g: g, max_segment=np.inf
    )
    return list(children)
