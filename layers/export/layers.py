"""GIS layers of one view: coloured units, zones and projects as GeoPackage, GeoJSON or Shapefile.

A Shapefile set is zipped with a field-name map; its attributes can be GBK for older desktop GIS.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import classify
from layers import schema as S
from layers.errors import ExportError
from layers.export.maps import prepare_map
from layers.export.snapshot import MapRequest, Snapshot, format_of, view_projects

__all__ = ["LAYER_FORMATS", "view_layers", "write_layers"]

LAYER_FORMATS: tuple[str, ...] = ("gpkg", "geojson", "shp")


def view_layers(snap: Snapshot, request: MapRequest) -> dict[str, gpd.GeoDataFrame]:
    """The view's layers: coloured units with their numbers, zones, and projects when loaded.

    Parameters
    ----------
    snap
        The store snapshot (its projects, when read, become the ``projects`` layer).
    request
        The view.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``units`` (with the metric's ``class``, 1 = lowest), ``zones`` when drawn, ``projects``
        (located ones) when the snapshot holds projects.
    """
    data = prepare_map(snap, request)
    units = data.layers.units.copy()
    units["class"] = classify.assign_classes(units[request.metric], data.layers.breaks) + 1
    out = {"units": units}
    if data.layers.outlines is not None:
        out["zones"] = data.layers.outlines
    if snap.projects is not None and isinstance(snap.projects, gpd.GeoDataFrame):
        p = view_projects(snap, request)
        p = p[~(p.geometry.isna() | p.geometry.is_empty)]
        keep = [c for c in (*S.PROJECT_COLUMNS, S.LOCATED_BY) if c in p.columns]
        out["projects"] = gpd.GeoDataFrame(p[keep], geometry=p.geometry, crs=p.crs)
    return out


def _shapefile_frame(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Shapefile-safe copy: ≤10-character unique field names, dates as text, no bools."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        short = col[:10]
        i = 1
        while short.lower() in used:
            suffix = f"_{i}"
            short = col[: 10 - len(suffix)] + suffix
            i += 1
        used.add(short.lower())
        mapping[col] = short
    out = gdf.rename(columns=mapping)
    for col in out.columns:
        s = out[col]
        if col == out.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("Int64")
    return out, mapping


def write_layers(
    layers: dict[str, gpd.GeoDataFrame],
    out: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    encoding: str = "UTF-8",
) -> Path:
    """Write layers as one GeoPackage, GeoJSON (a zip when several) or a zipped Shapefile set.

    Parameters
    ----------
    layers
        Layer name → frame (``view_layers``).
    out
        The file to write.
    fmt
        gpkg, geojson or shp (default: the suffix of ``out``; ``.zip`` means shp).
    encoding
        UTF-8, or GBK for Shapefile attributes in older desktop GIS (with a matching ``.cpg``);
        a ``{layer}_fields.csv`` in the zip maps shortened field names to full ones.

    Returns
    -------
    pathlib.Path
        The path written: zips always end in ``.zip`` (``x.geojson`` → ``x.geojson.zip``).
    """
    f = {"zip": "shp"}.get((fmt or Path(out).suffix.lstrip(".")).lower(), fmt)
    f = format_of(out, f, LAYER_FORMATS)
    if encoding.upper() not in ("UTF-8", "GBK"):
        raise ExportError(f"`encoding` was {encoding!r}; expected UTF-8 or GBK")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not layers:
        raise ExportError("no layers to write")
    if f == "gpkg":
        tmp = out.with_name(f".{out.name}.tmp.gpkg")
        tmp.unlink(missing_ok=True)
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="a" if tmp.exists() else "w")
        tmp.replace(out)
        return out
    if f == "geojson" and len(layers) == 1:
        gdf = next(iter(layers.values()))
        gdf.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
        return out
    if out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    with tempfile.TemporaryDirectory() as d, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, gdf in layers.items():
            if f == "geojson":
                path = Path(d) / f"{name}.geojson"
                gdf.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
                z.write(path, path.name)
                continue
            _zip_shapefile(z, Path(d), name, gdf, encoding=encoding.upper())
    return out


def _zip_shapefile(
    z: zipfile.ZipFile, d: Path, name: str, gdf: gpd.GeoDataFrame, *, encoding: str
) -> None:
    """Write ``gdf`` as Shapefile ``name`` in the folder ``d`` and add its parts to ``z``."""
    safe, mapping = _shapefile_frame(gdf)
    path = d / f"{name}.shp"
    safe.to_file(path, driver="ESRI Shapefile", encoding=encoding)
    cpg = path.with_suffix(".cpg")
    cpg.write_text("GBK" if encoding == "GBK" else "UTF-8", encoding="ascii")
    for part in sorted(d.glob(f"{name}.*")):
        z.write(part, part.name)
    fields = pd.DataFrame({"layer": name, "field": list(mapping.values()), "column": list(mapping)})
    z.writestr(f"{name}_fields.csv", fields.to_csv(index=False).encode("utf-8-sig"))
