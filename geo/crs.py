"""Coordinate reference systems: require one, project to metric or web, and undo GCJ-02.

GCJ-02 (the offset "Mars" coordinates of 高德/腾讯 maps) is not a CRS that PROJ knows: it is
WGS84 plus a deterministic, non-linear offset (290–500 m in Yunnan). The conversion here is
vectorised numpy applied through ``shapely.transform``; the inverse is found by fixed-point
iteration (steps below 1e-10°).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import CRSError

__all__ = [
    "WGS84",
    "gcj02_offset",
    "gcj02_to_wgs84",
    "require_crs",
    "to_metric",
    "to_web",
    "wgs84_to_gcj02",
]

#: longitude/latitude on WGS84: what web maps and GeoJSON take
WGS84 = "EPSG:4326"
# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm
_A = 6378245.0
_EE = 0.00669342162296594323
#: box outside which GCJ-02 leaves coordinates unchanged (lon_min, lat_min, lon_max, lat_max)
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

G = TypeVar("G", gpd.GeoDataFrame, gpd.GeoSeries, np.ndarray)
F = TypeVar("F", gpd.GeoDataFrame, gpd.GeoSeries)


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str = "layer") -> None:
    """Raise ``CRSError`` if ``gdf`` has no CRS.

    Parameters
    ----------
    gdf
        The frame or series to check.
    name
        What to call it in the message (e.g. a file name).
    """
    if gdf.crs is None:
        raise CRSError(
            f"{name} has no coordinate reference system; set one before use, "
            "e.g. gdf.set_crs('EPSG:4326') for lon/lat or the file's EPSG code "
            "(GCJ-02 data: set EPSG:4326, then geo.crs.gcj02_to_wgs84)"
        )


def to_metric(gdf: F, crs: str) -> F:
    """Return ``gdf`` projected to ``crs``, a metric (e.g. equal-area) CRS the caller chooses.

    Parameters
    ----------
    gdf
        Frame with a CRS set.
    crs
        Target CRS, anything ``to_crs`` accepts (e.g. ``"EPSG:4547"``).
    """
    require_crs(gdf)
    return gdf.to_crs(crs)


def to_web(gdf: F) -> F:
    """Return ``gdf`` in EPSG:4326 (lon/lat), the storage and web-map CRS."""
    require_crs(gdf)
    return gdf.to_crs(WGS84)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``lon``/``lat`` (0 outside).

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees, same shape.

    Returns
    -------
    tuple of numpy.ndarray
        ``(dlon, dlat)`` in degrees, to add to ``lon``/``lat``; 0 outside China's box.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon - 105.0, lat - 35.0
    dlat = _transform_lat(x, y)
    dlon = _transform_lon(x, y)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    lon_min, lat_min, lon_max, lat_max = _CHINA_BOX
    inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _wgs_to_gcj_coords(coords: np.ndarray) -> np.ndarray:
    dlon, dlat = gcj02_offset(coords[:, 0], coords[:, 1])
    out = coords.copy()
    out[:, 0] += dlon
    out[:, 1] += dlat
    return out


def _gcj_to_wgs_coords(coords: np.ndarray) -> np.ndarray:
    # fixed point: w = g - offset(w); the offset varies slowly, so this converges in a few steps
    target = coords[:, :2]
    wgs = target.copy()
    for _ in range(_INVERSE_MAX_ITER):
        dlon, dlat = gcj02_offset(wgs[:, 0], wgs[:, 1])
        new = np.column_stack([target[:, 0] - dlon, target[:, 1] - dlat])
        step = np.abs(new - wgs).max() if len(new) else 0.0
        wgs = new
        if step < _INVERSE_TOL_DEG:
            break
    out = coords.copy()
    out[:, :2] = wgs
    return out


def _apply(obj: G, func: Callable[[np.ndarray], np.ndarray]) -> G:
    if isinstance(obj, gpd.GeoDataFrame):
        out = obj.copy()
        out[obj.geometry.name] = gpd.GeoSeries(
            shapely.transform(obj.geometry.values, func), index=obj.index, crs=obj.crs
        )
        return out
    if isinstance(obj, gpd.GeoSeries):
        return gpd.GeoSeries(shapely.transform(obj.values, func), index=obj.index, crs=obj.crs)
    if isinstance(obj, np.ndarray) or shapely.is_geometry(obj):
        return shapely.transform(obj, func)
    raise TypeError(
        "expected a GeoDataFrame, GeoSeries or array of shapely geometries, "
        f"got {type(obj).__name__}"
    )


def _check_lonlat(obj: object) -> None:
    crs = getattr(obj, "crs", None)
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        require_crs(obj)
        if not crs.is_geographic:
            raise CRSError(
                f"GCJ-02 conversion needs lon/lat coordinates but the data are in {crs.name!r}; "
                "GCJ-02 data are lon/lat: set_crs('EPSG:4326', allow_override=True) instead"
            )


def gcj02_to_wgs84(geoms: G) -> G:
    """Convert GCJ-02 lon/lat geometries to WGS84 (iterative inverse, < 1e-9° residual).

    Accepts a GeoDataFrame or GeoSeries (lon/lat CRS; returned as a copy) or an array of
    shapely geometries. Points outside China's bounding box are left unchanged.
    """
    _check_lonlat(geoms)
    return _apply(geoms, _gcj_to_wgs_coords)


def wgs84_to_gcj02(geoms: G) -> G:
    """Convert WGS84 lon/lat geometries to GCJ-02 (e.g. to overlay on 高德 tiles)."""
    _check_lonlat(geoms)
    return _apply(geoms, _wgs_to_gcj_coords)
