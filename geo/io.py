"""Read boundary files in any CRS (GeoPackage, Shapefile, GeoJSON) into lon/lat, saying how.

Handles what surveying departments send: CGCS2000 lon/lat, Gauss-Krüger 3° and 6° zones with or
without the zone number in the easting (and files whose ``.prj`` disagrees with that), a missing
``.prj`` (``crs=``, or inferred from zone-numbered eastings / lon-lat ranges), attribute text in
GBK without a ``.cpg``, GCJ-02 coordinates digitised on 高德 maps, and invalid rings (repaired).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.crs import WGS84, gcj02_to_wgs84
from geo.errors import CRSError, GeoFileError

__all__ = [
    "BoundaryFile",
    "gk_crs",
    "gk_zone_of",
    "parse_crs",
    "read_boundaries",
]

#: a file given by path, or by name and content (an upload; shapefiles as .zip)
Source = str | os.PathLike[str] | tuple[str, bytes]

SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".zip")
#: lon/lat box accepted as "in China" after reprojection
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)
# CGCS2000 Gauss-Krüger EPSG ranges (checked against PROJ's database)
_GK3_ZONE_EPSG0, _GK3_ZONES = 4513 - 25, range(25, 46)  # zone 25 = 4513 … zone 45 = 4533
_GK3_CM_EPSG0 = 4534  # CM 75E = 4534 … CM 135E = 4554, step 3°
_GK6_ZONE_EPSG0, _GK6_ZONES = 4491 - 13, range(13, 24)  # zone 13 = 4491 … zone 23 = 4501
_GK6_CM_EPSG0 = 4502  # CM 75E = 4502 … CM 135E = 4512, step 6°


class BoundaryFile(NamedTuple):
    """A boundary layer read into ``WGS84`` and what was understood on the way."""

    gdf: gpd.GeoDataFrame
    source_crs: str  # the CRS the coordinates were read in, e.g. "EPSG:4543"
    encoding: str | None
    notes: list[str]  # how the CRS/encoding were decided, what was fixed
    repaired: np.ndarray  # 0-based positions of features whose geometry was repaired


def gk_crs(*, width: int, zone: int | None = None, central_meridian: float | None = None) -> CRS:
    """Return the CGCS2000 Gauss-Krüger CRS of a zone.

    Give ``zone`` for coordinates with the zone number in the easting (e.g. 3° zone 34 →
    EPSG:4522, eastings like 34 500 000), or ``central_meridian`` for plain eastings
    (e.g. 102 → EPSG:4543).

    Parameters
    ----------
    width
        Zone width in degrees: 3 or 6.
    zone
        Zone number (its digits lead the easting), or None when ``central_meridian`` is given.
    central_meridian
        Central meridian in degrees east, or None when ``zone`` is given.
    """
    if width not in (3, 6):
        raise CRSError(f"Gauss-Krüger zone width {width!r} must be 3 or 6 (degrees)")
    if (zone is None) == (central_meridian is None):
        raise CRSError("give exactly one of zone= or central_meridian= for a Gauss-Krüger CRS")
    if zone is not None:
        zones, base = (_GK3_ZONES, _GK3_ZONE_EPSG0) if width == 3 else (_GK6_ZONES, _GK6_ZONE_EPSG0)
        if zone not in zones:
            raise CRSError(
                f"{width}° Gauss-Krüger zone {zone} is outside China's zones "
                f"{zones.start}–{zones.stop - 1}; check the easting's leading digits"
            )
        return CRS.from_epsg(base + zone)
    cm = float(central_meridian)  # type: ignore[arg-type]
    first = 75.0  # both widths start at 75°E
    step = float(width)
    k = (cm - first) / step
    if k != int(k) or not 0 <= k <= (135 - 75) / step:
        raise CRSError(
            f"central meridian {central_meridian}°E is not a {width}° Gauss-Krüger meridian in "
            f"China (75°E, {75 + width}°E, … 135°E)"
        )
    base = _GK3_CM_EPSG0 if width == 3 else _GK6_CM_EPSG0
    return CRS.from_epsg(base + int(k))


def gk_zone_of(easting: float) -> tuple[int, int] | None:
    """Return ``(width, zone)`` for an easting that carries a zone number (``34 512 345.6`` →
    ``(3, 34)``), or None when it does not. China's 6° zones (13–23) and 3° zones (25–45)
    do not overlap, so the number alone tells the width."""
    if not np.isfinite(easting) or easting < 1e7:
        return None
    zone = int(easting // 1_000_000)
    if zone in _GK6_ZONES:
        return 6, zone
    if zone in _GK3_ZONES:
        return 3, zone
    return None


_GK_SHORT = re.compile(r"^gk([36])\s*:\s*(cm)?\s*(\d+(?:\.\d+)?)\s*e?$", re.IGNORECASE)


def parse_crs(text: str | int | CRS) -> CRS:
    """Read a CRS given by a user: ``EPSG:4543``, ``4543``, a WKT/PROJ string, or a Gauss-Krüger
    shorthand ``GK3:34`` (3° zone 34, zone number in the easting), ``GK3:CM102`` (3° zone with
    central meridian 102°E, plain easting), ``GK6:18``, ``GK6:CM105``."""
    if isinstance(text, CRS):
        return text
    s = str(text).strip()
    m = _GK_SHORT.match(s)
    if m:
        width, is_cm, num = int(m.group(1)), bool(m.group(2)), float(m.group(3))
        if is_cm:
            return gk_crs(width=width, central_meridian=num)
        return gk_crs(width=width, zone=int(num))
    if s.isdigit():
        s = f"EPSG:{s}"
    try:
        return CRS.from_user_input(s)
    except ProjCRSError as e:
        raise CRSError(
            f"--crs {text!r} is not a CRS PROJ knows; give e.g. EPSG:4543 (CGCS2000 3° GK, "
            "CM 102°E), GK3:34 (zone number in the easting) or EPSG:4490 (CGCS2000 lon/lat)"
        ) from e


def _tm_params(crs: CRS) -> tuple[float, float] | None:
    """(central meridian, false easting) of a transverse Mercator CRS, else None."""
    op = crs.coordinate_operation if crs.is_projected else None
    if op is None or "Transverse Mercator" not in op.method_name:
        return None
    p = {x.name: x.value for x in op.params}
    return p.get("Longitude of natural origin"), p.get("False easting")


def _zone_shift(gdf: gpd.GeoDataFrame, crs: CRS, name: str) -> tuple[gpd.GeoDataFrame, str | None]:
    """Fix eastings that carry (or lack) the zone number the CRS expects."""
    params = _tm_params(crs)
    if params is None or gdf.empty:
        return gdf, None
    cm, false_e = params
    minx, _, maxx, _ = gdf.total_bounds
    if false_e == 500000.0 and minx > 1e7:
        zw = gk_zone_of(minx)
        if zw is None or gk_zone_of(maxx) != zw:
            return gdf, None
        width, zone = zw
        zone_cm = 3 * zone if width == 3 else 6 * zone - 3
        if abs(zone_cm - cm) > 1e-9:
            raise CRSError(
                f"{name}: eastings carry zone number {zone} ({width}° zone, CM {zone_cm}°E) but "
                f"the .prj says CM {cm:g}°E; pass --crs GK{width}:{zone}"
            )
        shift = -zone * 1e6
        note = f"东坐标带有带号 {zone}，与 .prj（中央经线 {cm:g}°E、无带号）不符，已去掉带号"
    elif false_e is not None and false_e > 1e7 and maxx < 1e7:
        zone = int(false_e // 1e6)
        shift = zone * 1e6
        note = f".prj 为带号 {zone} 的坐标系但东坐标没有带号，已补上带号"
    else:
        return gdf, None
    out = gdf.copy()
    out[gdf.geometry.name] = shapely.transform(
        gdf.geometry.values, lambda c: c + np.array([shift, 0.0])
    )
    return out, note


def _infer_crs(gdf: gpd.GeoDataFrame, name: str) -> tuple[CRS, str]:
    minx, miny, maxx, maxy = gdf.total_bounds
    lon0, lat0, lon1, lat1 = CHINA_BOX
    if lon0 <= minx and maxx <= lon1 and lat0 <= miny and maxy <= lat1:
        return CRS.from_epsg(4490), "无 .prj，坐标为经纬度，按 CGCS2000（EPSG:4490）读取"
    zw = gk_zone_of(minx)
    if zw is not None and gk_zone_of(maxx) == zw and miny > 0 and maxy < 6e6:
        width, zone = zw
        crs = gk_crs(width=width, zone=zone)
        return crs, (
            f"无 .prj，东坐标带带号 {zone}，按 CGCS2000 {width}° 高斯-克吕格第 {zone} 带 "
            f"（EPSG:{crs.to_epsg()}）读取"
        )
    hint = ""
    if minx > 0 and maxx < 1e6 and 0 < miny < 6e6:
        hint = (
            f" The eastings (≈{minx:.0f}–{maxx:.0f}) look like Gauss-Krüger without a zone "
            "number: give its central meridian, e.g. --crs EPSG:4543 or GK3:CM102 (3°, 102°E), "
            "GK3:CM99, GK3:CM105, GK6:CM99"
        )
    raise CRSError(
        f"{name} has no .prj (no coordinate reference system) and its coordinates "
        f"({minx:.6g}, {miny:.6g}) – ({maxx:.6g}, {maxy:.6g}) do not identify one; "
        f"pass --crs.{hint}"
    )


def _open_path(source: Source, tmpdir: str) -> tuple[str, str]:
    """Return (path to give GDAL, display name); uploads are written to ``tmpdir``."""
    if isinstance(source, tuple):
        name, data = source
        path = Path(tmpdir) / Path(name).name
        path.write_bytes(data)
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise GeoFileError(f"{path}: file not found; check the path passed as --boundaries")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GeoFileError(
            f"{name}: unsupported boundary file type {suffix!r}; give .gpkg, .shp (with .dbf/.shx,"
            " or all in a .zip), .geojson or .json"
        )
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                z.extractall(tmpdir)
                shps = [
                    n for n in z.namelist() if n.lower().endswith((".shp", ".gpkg", ".geojson"))
                ]
        except zipfile.BadZipFile as e:
            raise GeoFileError(f"{name}: not a readable .zip archive ({e})") from e
        if len(shps) != 1:
            raise GeoFileError(
                f"{name}: the archive holds {len(shps)} boundary files "
                f"({', '.join(shps) or 'none'}); "
                "put exactly one .shp (with its .dbf, .shx, .prj) or .gpkg in it"
            )
        return str(Path(tmpdir) / shps[0]), name
    return str(path), name


def _read(path: str, name: str, layer: str | None, encoding: str | None):
    kwargs = {"layer": layer} if layer is not None else {}
    is_shp = path.lower().endswith(".shp")
    has_cpg = is_shp and Path(path).with_suffix(".cpg").exists()
    try:
        if encoding is not None:
            return pyogrio.read_dataframe(path, encoding=encoding, **kwargs), encoding
        if is_shp and not has_cpg:
            try:
                return pyogrio.read_dataframe(path, encoding="utf-8", **kwargs), "utf-8"
            except UnicodeDecodeError:
                return pyogrio.read_dataframe(path, encoding="gb18030", **kwargs), "gb18030(GBK)"
        info = pyogrio.read_info(path, **kwargs)
        return pyogrio.read_dataframe(path, **kwargs), info.get("encoding")
    except UnicodeDecodeError as e:
        raise GeoFileError(
            f"{name}: attribute text is not {encoding or 'UTF-8/GBK'}; pass --encoding"
        ) from e
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        # GDAL names the file by its path (a temporary folder for uploads) and adds a hint
        # for programmers ("…; It might help to specify the correct driver…"): keep the name.
        detail = str(e).splitlines()[0].replace(path, Path(path).name).split(".;")[0]
        detail = detail.replace(str(Path(path).parent) + os.sep, "")
        raise GeoFileError(f"{name}: cannot be read as a boundary file ({detail})") from e


def _assign_crs(
    gdf: gpd.GeoDataFrame, crs: str | int | CRS | None, name: str, notes: list[str]
) -> gpd.GeoDataFrame:
    """``gdf`` with its CRS: ``crs`` if given, else the file's, else one inferred from the
    coordinates; what was decided goes to ``notes``."""
    if crs is not None:
        target = parse_crs(crs)
        if gdf.crs is not None and not gdf.crs.equals(target):
            notes.append(f"按 --crs {target.to_string()} 读取（文件自带 {gdf.crs.name}）")
        else:
            notes.append(f"按 --crs {target.to_string()} 读取")
        gdf = gdf.set_crs(target, allow_override=True)
    elif gdf.crs is None:
        inferred, note = _infer_crs(gdf, name)
        gdf = gdf.set_crs(inferred)
        notes.append(note)
    else:
        notes.append(f"坐标系取自文件：{gdf.crs.name}")
    return gdf


def _repair_geometries(
    gdf: gpd.GeoDataFrame, notes: list[str]
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """``gdf`` without empty geometries and with invalid ones made valid (polygonal parts kept);
    also the positions repaired."""
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        notes.append(f"{int(missing.sum())} 个要素没有几何，已去掉")
    invalid = ~missing & ~shapely.is_valid(geoms)
    repaired = np.flatnonzero(invalid)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        polys = shapely.get_parts(fixed)  # keep the polygonal parts of any collection
        owner = np.repeat(np.arange(len(fixed)), shapely.get_num_geometries(fixed))
        keep = np.isin(shapely.get_type_id(polys), [3, 6])
        merged = [shapely.union_all(polys[keep & (owner == i)]) for i in range(len(fixed))]
        geoms = geoms.copy()
        geoms[invalid] = np.asarray(merged, dtype=object)
        notes.append(f"{len(repaired)} 个无效几何已修复（make_valid）")
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf[~missing], repaired


def read_boundaries(
    source: Source,
    *,
    layer: str | None = None,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
) -> BoundaryFile:
    """Read a boundary file into ``WGS84`` (EPSG:4326), repairing invalid geometries.

    Parameters
    ----------
    source
        A path (.gpkg, .shp, .geojson, .json, .zip holding a shapefile) or ``(name, bytes)``.
    layer
        GeoPackage layer (default: the first).
    crs
        The CRS of the coordinates when the file has none or a wrong one (see ``parse_crs``).
    gcj02
        Coordinates are GCJ-02 (digitised on 高德/腾讯 maps): converted to WGS84 after reading.
    encoding
        Attribute text encoding (default: the ``.cpg``, else UTF-8, else GBK).
    """
    with tempfile.TemporaryDirectory(prefix="onemap-bnd-") as tmpdir:
        path, name = _open_path(source, tmpdir)
        gdf, enc = _read(path, name, layer, encoding)
    notes: list[str] = []
    if gdf.empty:
        raise GeoFileError(f"{name}: the layer has no features")
    if enc and enc.lower().startswith("gb"):
        notes.append(
            f"属性编码 {enc}（无 .cpg，按内容判定）" if encoding is None else f"编码 {enc}"
        )
    gdf = _assign_crs(gdf, crs, name, notes)
    gdf, shift_note = _zone_shift(gdf, gdf.crs, name)
    if shift_note:
        notes.append(shift_note)
    source_crs = gdf.crs.to_string()
    gdf, repaired = _repair_geometries(gdf, notes)
    gdf = gdf.to_crs(WGS84)
    if gcj02:
        gdf = gcj02_to_wgs84(gdf)
        notes.append("坐标为 GCJ-02（高德/腾讯），已转换为 WGS84")
    minx, miny, maxx, maxy = gdf.total_bounds
    lon0, lat0, lon1, lat1 = CHINA_BOX
    if not (lon0 <= minx and maxx <= lon1 and lat0 <= miny and maxy <= lat1):
        raise CRSError(
            f"{name}: read in {source_crs}, the features fall at lon {minx:.3f}–{maxx:.3f}, "
            f"lat {miny:.3f}–{maxy:.3f}, outside China; the CRS is wrong — pass the right --crs "
            "(e.g. EPSG:4543 for CGCS2000 3° GK CM 102°E, GK3:34 with the zone number)"
        )
    return BoundaryFile(gdf.reset_index(drop=True), source_crs, enc, notes, repaired)
