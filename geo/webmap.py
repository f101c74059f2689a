"""Interactive web maps with folium that work with no internet: local assets, basemaps, layers.

folium (and streamlit-folium, which loads ``default_js``/``default_css`` of every element) fetch
Leaflet from CDNs; with no internet the map renders at height 0. ``write_offline_assets`` copies
the scripts and stylesheets that ``folium-offline`` ships as strings into a static directory
once, and ``make_map`` points the map (and ``points_layer``'s MarkerCluster) at those local
URLs, so a view carries only its own GeoJSON.

The builders are domain-free: callers pass column names, colours and labels.
"""

from __future__ import annotations

import base64
import functools
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import MarkerCluster

from geo.classify import assign_classes
from geo.crs import require_crs, wgs84_to_gcj02
from geo.escape import escape_html
from geo.mapstyle import (  # the legend lives with the other map furniture; same names here
    NO_DATA_COLOR,
    WEB_CSS,
    ZONE_CASING,
    ZONE_CASING_OPACITY,
    ZONE_CASING_WIDTH_PX,
    ZONE_COLOR,
    ZONE_WIDTH_PX,
    Legend,
    MapFurniture,
    add_legend,
)

__all__ = [
    "BASEMAPS",
    "DEFAULT_STYLE",
    "HIGHLIGHT_COLOR",
    "NO_DATA_COLOR",
    "OFFLINE_ASSETS",
    "PALETTE_GREENS",
    "Legend",
    "PolygonStyle",
    "add_legend",
    "basemap_layer",
    "choropleth_layer",
    "class_colors",
    "external_urls",
    "highlight",
    "labels_layer",
    "make_map",
    "map_html",
    "offline_asset_urls",
    "outline_layer",
    "points_layer",
    "probe_tiles",
    "to_basemap_crs",
    "write_offline_assets",
]

# --------------------------------------------------------------------------------------
# offline assets
# --------------------------------------------------------------------------------------
#: local file name → the CDN URL that folium-offline keys its embedded copy by
OFFLINE_ASSETS: dict[str, str] = {
    "leaflet.js": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
    "leaflet.css": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
    "leaflet.markercluster.js": (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js"
    ),
    "MarkerCluster.css": (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css"
    ),
    "MarkerCluster.Default.css": (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css"
    ),
}
#: line colour of a selected unit or project (``highlight``), apart from every palette
HIGHLIGHT_COLOR = "#e6550d"
_MAP_JS = ("leaflet.js",)
_MAP_CSS = ("leaflet.css",)
_CLUSTER_JS = ("leaflet.markercluster.js",)
_CLUSTER_CSS = ("MarkerCluster.css", "MarkerCluster.Default.css")


def _embedded_assets() -> dict[str, str]:
    try:
        from offlinefolium.elements import _res  # folium-offline: {cdn url: file text}
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError(
            "package `folium-offline` is required for offline maps: pip install folium-offline"
        ) from e
    missing = [url for url in OFFLINE_ASSETS.values() if url not in _res]
    if missing:
        raise ImportError(f"folium-offline does not carry {missing}; install folium-offline>=0.20")
    return {name: _res[url] for name, url in OFFLINE_ASSETS.items()}


def write_offline_assets(static_dir: str | Path) -> list[Path]:
    """Write Leaflet and MarkerCluster scripts/styles into ``static_dir`` (idempotent).

    Files whose content is already current are not rewritten. Returns the paths of all files.
    """
    target = Path(static_dir)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in _embedded_assets().items():
        path = target / name
        data = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        paths.append(path)
    return paths


def offline_asset_urls(base_url: str | None) -> dict[str, str]:
    """URL of each offline asset under ``base_url`` (e.g. ``/app/static/leaflet/``).

    ``None`` inlines every asset as a ``data:`` URL: still offline, for servers that cannot
    serve static files, at the cost of ~0.2 MB more per view.
    """
    if base_url is None:
        kinds = {".js": "text/javascript", ".css": "text/css"}
        return {
            name: f"data:{kinds[Path(name).suffix]};base64,"
            + base64.b64encode(text.encode("utf-8")).decode("ascii")
            for name, text in _embedded_assets().items()
        }
    base = base_url if base_url.endswith("/") else base_url + "/"
    return {name: base + name for name in OFFLINE_ASSETS}


# --------------------------------------------------------------------------------------
# basemaps
# --------------------------------------------------------------------------------------
#: basemap key → (tile URL template, attribution, subdomains, needs GCJ-02 overlays)
BASEMAPS: dict[str, tuple[str, str, str, bool] | None] = {
    "none": None,
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "© OpenStreetMap contributors",
        "abc",
        False,
    ),
    "tianditu": (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={token}",
        "© 天地图 国家地理信息公共服务平台",
        "01234567",
        False,
    ),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        "© 高德地图 AutoNavi",
        "1234",
        True,
    ),
}
_TIANDITU_LABELS = (
    "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={token}"
)


def _check_basemap(basemap: str) -> None:
    if basemap not in BASEMAPS:
        raise ValueError(f"`basemap` was {basemap!r} but is expected to be one of {list(BASEMAPS)}")


def basemap_layer(basemap: str, *, token: str | None = None) -> list[folium.TileLayer]:
    """Tile layers for ``basemap`` (empty for ``"none"``); 天地图 needs ``token``."""
    _check_basemap(basemap)
    spec = BASEMAPS[basemap]
    if spec is None:
        return []
    url, attr, subdomains, _ = spec
    if basemap == "tianditu":
        if not token:
            raise ValueError(
                "`token` is required for the 天地图 basemap; set $TIANDITU_TOKEN to your key"
            )
        urls = [url.replace("{token}", token), _TIANDITU_LABELS.replace("{token}", token)]
    else:
        urls = [url]
    return [
        folium.TileLayer(
            tiles=u,
            attr=attr,
            subdomains=subdomains,
            name=basemap if i == 0 else f"{basemap}_labels",
            overlay=i > 0,
            control=False,
            max_zoom=18,
        )
        for i, u in enumerate(urls)
    ]


def probe_tiles(basemap: str, *, token: str | None = None, timeout: float = 1.5) -> bool:
    """True when the basemap's tile server answers one tile request within ``timeout`` s."""
    _check_basemap(basemap)
    spec = BASEMAPS[basemap]
    if spec is None:
        return True
    url, _, subdomains, _ = spec
    url = (
        url.replace("{s}", subdomains[0])
        .replace("{z}", "5")
        .replace("{x}", "25")
        .replace("{y}", "13")
        .replace("{token}", token or "")
    )
    req = urllib.request.Request(url, headers={"User-Agent": "OneMap/0.1"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def to_basemap_crs(gdf: gpd.GeoDataFrame, basemap: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in lon/lat as the basemap expects it (GCJ-02 for 高德, else WGS84)."""
    _check_basemap(basemap)
    require_crs(gdf)
    out = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf.copy()
    spec = BASEMAPS[basemap]
    if spec is not None and spec[3]:
        out = wgs84_to_gcj02(out)
    return out


# --------------------------------------------------------------------------------------
# the map
# --------------------------------------------------------------------------------------
class _Map(folium.Map):
    """folium.Map that knows its bounds: ``get_bounds`` would walk every vertex in Python
    (streamlit-folium calls it on every render)."""

    view_bounds: list[list[float]] | None = None

    def get_bounds(self) -> list[list[float | None]]:
        if self.view_bounds is not None:
            return [list(b) for b in self.view_bounds]
        return super().get_bounds()


def make_map(
    bounds: Sequence[float],
    *,
    asset_base_url: str | None,
    basemap: str = "none",
    token: str | None = None,
    prefer_canvas: bool = False,
    background: str = "#f4f1ea",
    north_title: str = "North",
) -> folium.Map:
    """A folium Map fitted to ``bounds`` (minx, miny, maxx, maxy in lon/lat), offline-ready.

    Leaflet is loaded from ``asset_base_url`` (see ``write_offline_assets``). Pass
    ``prefer_canvas=True`` for views with thousands of polygons (they pan smoothly on a
    canvas); SVG (the default) keeps one ``path`` element per feature, which browsers and
    tests can address. The map carries a north arrow (``north_title`` is its tooltip), a
    metric-only scale bar and a plain attribution prefix (``mapstyle.MapFurniture``).
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not (np.isfinite([minx, miny, maxx, maxy]).all() and minx <= maxx and miny <= maxy):
        raise ValueError(f"`bounds` must be finite (minx, miny, maxx, maxy), got {bounds!r}")
    urls = offline_asset_urls(asset_base_url)
    m = _Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=6,
        tiles=None,
        prefer_canvas=prefer_canvas,
        control_scale=False,  # MapFurniture adds a metric-only one
        zoom_snap=0.25,
    )
    # with no tile layer folium drops max_zoom, but MarkerCluster needs the map's maxZoom
    m.options.update(maxZoom=18, minZoom=4)
    # instance attributes: never mutate folium's class-level CDN lists
    m.default_js = [(n, urls[n]) for n in _MAP_JS]
    m.default_css = [(n, urls[n]) for n in _MAP_CSS]
    for tile in basemap_layer(basemap, token=token):
        tile.add_to(m)
    m.get_root().header.add_child(
        folium.Element(f"<style>.leaflet-container{{background:{background};}}{WEB_CSS}</style>")
    )
    MapFurniture(title=north_title).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    m.view_bounds = [[miny, minx], [maxy, maxx]]
    return m


def map_html(m: folium.Map) -> str:
    """The full HTML of ``m`` (what a browser receives for the view, assets excluded)."""
    return m.get_root().render()


def external_urls(html_text: str, *, allowed_hosts: Sequence[str] = ()) -> list[str]:
    """``src``/``href`` URLs in ``html_text`` that point off the machine (for offline checks)."""
    import re

    found = re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)["']""", html_text)
    local = ("127.0.0.1", "localhost", *allowed_hosts)
    return [u for u in found if not any(u.split("/")[2].split(":")[0] == h for h in local)]


# --------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------
#: 5-class sequential palette (ColorBrewer YlGn-like, light → dark = low → high)
PALETTE_GREENS: tuple[str, ...] = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")


def class_colors(
    values: Sequence[float] | np.ndarray | pd.Series,
    breaks: Sequence[float] | np.ndarray,
    palette: Sequence[str] = PALETTE_GREENS,
    *,
    no_data: str = NO_DATA_COLOR,
) -> np.ndarray:
    """Fill colour of each value for class upper bounds ``breaks`` (NaN → ``no_data``).

    With fewer classes than colours, colours are spread over the palette's full range.
    """
    classes = assign_classes(values, breaks)
    n = len(breaks)
    if n > len(palette):
        raise ValueError(f"{n} classes but only {len(palette)} colours in `palette`")
    pick = np.round(np.linspace(0, len(palette) - 1, n)).astype(int) if n > 1 else np.array([-1])
    colors = np.asarray(palette, dtype=object)[pick]
    return np.where(classes >= 0, colors[np.maximum(classes, 0)], no_data)


def _geojson_frame(
    gdf: gpd.GeoDataFrame, columns: Sequence[str], decimals: int | None
) -> gpd.GeoDataFrame:
    require_crs(gdf)
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the layer (it has {list(gdf.columns)})")
    out = gpd.GeoDataFrame(gdf[list(columns)].copy(), geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    if not out.crs.equals("EPSG:4326"):
        out = out.to_crs("EPSG:4326")
    if decimals is not None:
        out = out.set_geometry(
            shapely.set_precision(out.geometry.to_numpy(), 10.0**-decimals, mode="pointwise")
        )
    # JSON-safe properties: numbers stay numbers (NaN/NA become null); missing text reads "—"
    for c in columns:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[c] = col.astype("float64").round(6).astype(object).where(col.notna(), None)
        else:
            out[c] = col.astype(object).where(col.notna(), "—").map(escape_html)
    return out


@functools.lru_cache(maxsize=64)
def _parse_geometries(text: str) -> list:
    """Parsed GeoJSON geometries, cached: a view redrawn after a filter change has the same
    shapes, and parsing ~0.3 MB of coordinates costs more than the rest of the map. The
    dicts are shared between maps and must not be mutated (folium only serialises them)."""
    return json.loads(f"[{text}]")


def _feature_collection(frame: gpd.GeoDataFrame) -> dict:
    """GeoJSON FeatureCollection of ``frame`` built with vectorised ``shapely.to_geojson``
    (``__geo_interface__`` walks every vertex in Python)."""
    geoms = shapely.to_geojson(frame.geometry.to_numpy())
    geometries = _parse_geometries(",".join("null" if g is None else g for g in geoms))
    props = pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_dict("records")
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": p, "geometry": g}
            for p, g in zip(props, geometries, strict=True)
        ],
    }


@dataclass(frozen=True)
class PolygonStyle:
    """How polygons of a layer are drawn: outline colour and weight (px), fill opacity."""

    line_color: str = "#555555"
    weight: float = 0.8
    fill_opacity: float = 0.8


DEFAULT_STYLE = PolygonStyle()


def choropleth_layer(
    gdf: gpd.GeoDataFrame,
    *,
    fill_colors: Sequence[str] | np.ndarray,
    tooltip: Mapping[str, str],
    properties: Sequence[str] = (),
    name: str = "choropleth",
    decimals: int | None = 4,
    style: PolygonStyle = DEFAULT_STYLE,
) -> folium.GeoJson:
    """Polygons filled with ``fill_colors`` (one per row), tooltips from ``tooltip``.

    Parameters
    ----------
    gdf
        Polygons in any CRS (drawn in lon/lat).
    fill_colors
        One CSS colour per row, e.g. from ``class_colors``.
    tooltip
        Column → label shown on hover (values are shown as given: pre-format them).
    properties
        Extra columns carried in each feature (e.g. the unit code a click returns).
    decimals
        Round coordinates to this many decimals (4 ≈ 11 m) to shrink the HTML.
    style
        Outline colour and weight, fill opacity.
    """
    colors = np.asarray(fill_colors, dtype=object)
    if len(colors) != len(gdf):
        raise ValueError(f"`fill_colors` has {len(colors)} values for {len(gdf)} rows")
    cols = list(dict.fromkeys([*properties, *tooltip]))
    data = _geojson_frame(gdf, cols, decimals)
    data["_fill"] = colors
    base = {"color": style.line_color, "weight": style.weight, "fillOpacity": style.fill_opacity}
    return folium.GeoJson(
        _feature_collection(data),
        name=name,
        style_function=lambda f: {**base, "fillColor": f["properties"]["_fill"]},
        highlight_function=lambda f: {"weight": style.weight * 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(
            fields=list(tooltip), aliases=list(tooltip.values()), localize=False, sticky=True
        )
        if tooltip
        else None,
        smooth_factor=0.5,
    )


def outline_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str = "outlines",
    color: str = ZONE_COLOR,
    weight: float = ZONE_WIDTH_PX,
    decimals: int | None = 4,
) -> folium.FeatureGroup:
    """Unfilled outlines (e.g. zones) drawn on top as a thin solid line on a pale casing (the
    paper map's style, ``geo.mapstyle``), so unit borders stay visible; they never catch clicks."""
    data = _feature_collection(_geojson_frame(gdf, [], decimals))
    group = folium.FeatureGroup(name=name, control=False)
    casing = {"color": ZONE_CASING, "weight": ZONE_CASING_WIDTH_PX, "opacity": ZONE_CASING_OPACITY}
    for style in (casing, {"color": color, "weight": weight, "opacity": 1.0}):
        folium.GeoJson(
            data,
            style_function=lambda f, s=style: {**s, "fill": False},
            interactive=False,
            control=False,
        ).add_to(group)
    return group


def labels_layer(
    points: gpd.GeoDataFrame,
    *,
    label_column: str,
    value_column: str | None = None,
    name: str = "labels",
    css_class: str = "onemap-label",
) -> folium.FeatureGroup:
    """Text labels at point locations, the value (if any) on a second line; escaped HTML.

    ``css_class`` "onemap-label" (zone names, left-anchored) or "onemap-unit-label" (unit names
    centred on the point). A few hundred at most: one marker each.
    """
    require_crs(points)
    pts = points.to_crs("EPSG:4326") if not points.crs.equals("EPSG:4326") else points
    group = folium.FeatureGroup(name=name, control=False)
    xs, ys = shapely.get_x(pts.geometry.to_numpy()), shapely.get_y(pts.geometry.to_numpy())
    values = pts[value_column].fillna("").astype(str) if value_column else [""] * len(pts)
    for x, y, text, value in zip(xs, ys, pts[label_column].astype(str), values, strict=True):
        second = f"<br><span>{escape_html(value)}</span>" if value else ""
        folium.Marker(
            [float(y), float(x)],
            icon=folium.DivIcon(
                html=f'<div class="{css_class}">{escape_html(text)}{second}</div>',
                icon_size=(0, 0),
                icon_anchor=(0, 0),
            ),
            interactive=False,
        ).add_to(group)
    return group


def points_layer(
    gdf: gpd.GeoDataFrame,
    *,
    colors: Sequence[str] | np.ndarray,
    popup: Mapping[str, str],
    asset_base_url: str | None,
    name: str = "points",
    radius: float = 6,
    cluster: bool = True,
    decimals: int | None = 5,
) -> folium.FeatureGroup | MarkerCluster:
    """Points as circle markers coloured by ``colors`` (one per row), clustered by default.

    ``popup`` maps column → label (pre-format values). Rows without a point are skipped.
    """
    cols = np.asarray(colors, dtype=object)
    if len(cols) != len(gdf):
        raise ValueError(f"`colors` has {len(cols)} values for {len(gdf)} rows")
    geoms = gdf.geometry.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if keep.any() and set(gdf.geometry[keep].geom_type.unique()) - {"Point"}:
        raise ValueError("`gdf` must hold Point geometries (take representative points first)")
    data = _geojson_frame(gdf[keep], list(popup), decimals)
    data["_fill"] = cols[keep]
    if cluster:
        group: folium.FeatureGroup | MarkerCluster = MarkerCluster(
            name=name, control=False, options={"maxClusterRadius": 40}
        )
        urls = offline_asset_urls(asset_base_url)
        group.default_js = [(n, urls[n]) for n in _CLUSTER_JS]
        group.default_css = [(n, urls[n]) for n in _CLUSTER_CSS]
    else:
        group = folium.FeatureGroup(name=name, control=False)
    if len(data):
        folium.GeoJson(
            _feature_collection(data),
            name=f"{name}_data",
            marker=folium.CircleMarker(radius=radius, weight=1, color="#333333", fill=True),
            style_function=lambda f: {
                "fillColor": f["properties"]["_fill"],
                "fillOpacity": 0.9,
            },
            popup=folium.GeoJsonPopup(
                fields=list(popup), aliases=list(popup.values()), localize=False
            )
            if popup
            else None,
            control=False,
        ).add_to(group)
    return group


def highlight(m: folium.Map, gdf: gpd.GeoDataFrame, *, max_zoom: int | None = 15) -> None:
    """Outline ``gdf``'s shapes (a ring round each point) in :data:`HIGHLIGHT_COLOR` on ``m``,
    never catching clicks, and fit the map to them (at most ``max_zoom``); nothing if empty.

    Parameters
    ----------
    m
        The map (e.g. from ``make_map``).
    gdf
        The selected units or projects, in any CRS.
    max_zoom
        The fitted view zooms in no further (a single point); None keeps the map's view.
    """
    require_crs(gdf)
    geoms = gdf.to_crs("EPSG:4326").geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return
    group = folium.FeatureGroup(name="selection", control=False).add_to(m)
    style = {"color": HIGHLIGHT_COLOR, "weight": 4, "opacity": 1.0, "fill": False}
    for geom in geoms:
        if geom.geom_type == "Point":
            folium.CircleMarker([geom.y, geom.x], 12, interactive=False, **style).add_to(group)
        else:
            shape = shapely.geometry.mapping(geom)
            folium.GeoJson(shape, style_function=lambda f: style, interactive=False).add_to(group)
    if max_zoom is not None:  # fit the map to the selection
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=max_zoom, padding=(40, 40))
        m.view_bounds = [[miny, minx], [maxy, maxx]]


def geojson_bytes(gdf: gpd.GeoDataFrame) -> int:
    """Size of ``gdf`` as plain full-precision GeoJSON (the naive payload), in bytes."""
    return len(json.dumps(json.loads(gdf.to_json())).encode("utf-8"))
