"""Simplify polygon coverages for the web: shared borders stay shared (no gaps, no overlaps).

``shapely.coverage_simplify`` simplifies each shared edge once, so neighbours still meet;
plain ``simplify`` treats every polygon alone and opens slivers between them.
``round_coordinates`` snaps vertices to a grid so GeoJSON carries fewer digits.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import require_crs
from geo.errors import GeometryError

__all__ = [
    "coverage_defects",
    "round_coordinates",
    "simplify_coverage",
]


def _require_polygons(gdf: gpd.GeoDataFrame, name: str) -> None:
    require_crs(gdf, name=f"`{name}`")
    types = set(gdf.geom_type.dropna().unique())
    bad = types - {"Polygon", "MultiPolygon"}
    if bad:
        raise GeometryError(
            f"`{name}` must hold only Polygon/MultiPolygon geometries, found {sorted(bad)}; "
            "drop or explode the other geometries first"
        )


def simplify_coverage(
    gdf: gpd.GeoDataFrame,
    tolerance: float,
    *,
    simplify_boundary: bool = True,
) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` whose polygons are coverage-simplified together.

    Parameters
    ----------
    gdf
        A polygonal coverage (units of one level that tile their parent), with a CRS.
    tolerance
        In CRS units (degrees for EPSG:4326; 0.005° ≈ 500 m suits a province view).
        Roughly the square root of the area of the triangles that are removed.
    simplify_boundary
        Also simplify the outer boundary of the coverage (False keeps it exact).

    Returns
    -------
    A new GeoDataFrame, same index, columns and CRS; empty and missing geometries pass through.
    """
    _require_polygons(gdf, "gdf")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"`tolerance` was {tolerance!r} but must be a finite number >= 0")
    out = gdf.copy()
    if tolerance == 0 or len(gdf) == 0:
        return out
    geoms = gdf.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    simplified = geoms.copy()
    simplified[ok] = shapely.coverage_simplify(
        geoms[ok], tolerance, simplify_boundary=simplify_boundary
    )
    # coverage_simplify keeps validity for a valid coverage; repair any vertex-level defects
    invalid = ok & ~shapely.is_valid(simplified)
    if invalid.any():
        simplified[invalid] = shapely.make_valid(simplified[invalid])
    out[out.geometry.name] = gpd.GeoSeries(simplified, index=gdf.index, crs=gdf.crs)
    return out


def round_coordinates(gdf: gpd.GeoDataFrame, decimals: int = 4) -> gpd.GeoDataFrame:
    """Return a copy with every vertex rounded to ``decimals`` (5 ≈ 1 m, 4 ≈ 11 m in degrees).

    Uses ``shapely.set_precision`` so rounding never produces invalid rings; shared vertices
    round identically, so a coverage stays a coverage.

    Parameters
    ----------
    gdf
        Frame with a CRS.
    decimals
        Decimal places kept (≥ 0), in the units of the CRS.
    """
    require_crs(gdf, name="`gdf`")
    if decimals < 0:
        raise ValueError(f"`decimals` was {decimals} but must be >= 0")
    out = gdf.copy()
    grid = 10.0 ** (-decimals)
    geoms = shapely.set_precision(gdf.geometry.to_numpy(), grid, mode="valid_output")
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out


def coverage_defects(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    """Return ``(gap_area, overlap_area)`` of a polygon coverage, in CRS units².

    Gaps are holes of the union that no polygon's own hole explains; overlaps are
    Σ area − area of the union. Both are ~0 for a clean coverage and after coverage
    simplification; plain per-polygon ``simplify`` makes both grow.
    """
    _require_polygons(gdf, "gdf")
    geoms = gdf.geometry.to_numpy()
    union = shapely.union_all(geoms)
    overlap = float(shapely.area(geoms).sum() - shapely.area(union))
    union_holes = _holes_area(union)
    own_holes = _holes_area(geoms)
    return max(union_holes - own_holes, 0.0), max(overlap, 0.0)


def _holes_area(geom: shapely.Geometry | np.ndarray) -> float:
    parts = shapely.get_parts(geom)
    n = shapely.get_num_interior_rings(parts)
    if n.sum() == 0:
        return 0.0
    rings = [shapely.get_interior_ring(parts, i) for i in range(int(n.max()))]
    holes = np.concatenate([r[~shapely.is_missing(r)] for r in rings])
    return float(shapely.area(shapely.polygons(holes)).sum())
