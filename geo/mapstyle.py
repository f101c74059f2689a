"""One cartographic style for the web map and the paper map, and where labels go on screen.

The zone outline (a thin solid line on a pale casing, so the unit borders under and beside it
stay visible) and the label look are constants here; ``geo.webmap`` and ``geo.staticmap`` both
draw with them, so a zone looks the same on screen and on paper. ``place_labels`` picks, at the
web map's initial zoom, the unit labels that fit inside their unit and do not collide (largest
unit first; the value goes under the name where it fits); ``MapFurniture`` adds the web map's
north arrow, its metric-only scale bar and a plain attribution prefix (no flag icon);
``add_legend`` its collapsible key (``geo.webmap`` exposes it under the same name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template
from shapely.ops import polylabel

from geo.crs import require_crs
from geo.escape import escape_html

__all__ = [
    "LABEL_FONT_PX",
    "NO_DATA_COLOR",
    "WEB_CSS",
    "ZONE_CASING",
    "ZONE_CASING_OPACITY",
    "ZONE_CASING_WIDTH_PX",
    "ZONE_COLOR",
    "ZONE_WIDTH_PX",
    "Legend",
    "MapFurniture",
    "add_legend",
    "initial_zoom",
    "label_point",
    "place_labels",
    "text_box_px",
]

#: zone outlines: one colour and width on screen (px) and on paper (points ≈ px)
ZONE_COLOR = "#6a3d9a"
ZONE_WIDTH_PX = 1.6
#: the pale casing under the zone line: unit borders stay visible beside it
ZONE_CASING = "#ffffff"
ZONE_CASING_WIDTH_PX = 4.0
ZONE_CASING_OPACITY = 0.75
#: the colour of units without a value, on screen and on paper
NO_DATA_COLOR = "#d9d9d9"
#: unit labels on the web map
LABEL_FONT_PX = 12
_FONT = "'Noto Sans CJK SC','Microsoft YaHei',sans-serif"
WEB_CSS = (
    ".onemap-legend{background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;"
    f"font:12px/1.5 {_FONT};box-shadow:0 0 4px rgba(0,0,0,.3);max-height:60vh;overflow:auto}}"
    ".onemap-legend i{display:inline-block;width:14px;height:12px;margin-right:6px;"
    "vertical-align:middle;border:1px solid #888}"
    ".onemap-legend summary{cursor:pointer}.onemap-note{color:#555;font-size:11px}"
    f".onemap-label{{font:bold 12px {_FONT};color:{ZONE_COLOR};"
    "text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap}"
    ".onemap-label.centred{transform:translate(-50%,-50%);width:max-content}"
    f".onemap-unit-label{{font:{LABEL_FONT_PX}px/1.15 {_FONT};color:#222;text-align:center;"
    "white-space:nowrap;transform:translate(-50%,-50%);width:max-content;pointer-events:none;"
    "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}"
    ".onemap-unit-label span{font-size:11px;color:#333}"
    ".onemap-north{background:rgba(255,255,255,.85);border-radius:4px;padding:2px 5px;"
    f"font:bold 12px {_FONT};text-align:center;line-height:1;box-shadow:0 0 3px rgba(0,0,0,.3)}}"
)
_TILE = 256.0
#: at most this many other points tried for one label (``place_labels(search=True)``)
_MAX_SPOTS = 400


def _mercator_px(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator pixel coordinates at ``zoom`` (y grows downward)."""
    scale = _TILE * 2.0**zoom
    lat = np.clip(lat, -85.0, 85.0)
    x = (lon + 180.0) / 360.0 * scale
    y = (1.0 - np.log(np.tan(np.radians(lat)) + 1.0 / np.cos(np.radians(lat))) / math.pi) / 2.0
    return x, y * scale


def initial_zoom(
    bounds: Sequence[float], size_px: tuple[int, int] = (900, 560), *, snap: float = 0.25
) -> float:
    """The zoom Leaflet's ``fitBounds`` picks for lon/lat ``bounds`` in a map of ``size_px``.

    Parameters
    ----------
    bounds
        minx, miny, maxx, maxy in degrees.
    size_px
        Width and height of the map in pixels.
    snap
        The map's zoom snap (fractional zoom steps).

    Returns
    -------
    float
        The zoom, rounded down to ``snap``.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    x, y = _mercator_px(np.array([minx, maxx]), np.array([maxy, miny]), 0.0)
    span_x, span_y = max(x[1] - x[0], 1e-9), max(y[1] - y[0], 1e-9)
    z = min(math.log2(size_px[0] / span_x), math.log2(size_px[1] / span_y))
    return math.floor(z / snap) * snap


def text_box_px(text: str, font_px: float = LABEL_FONT_PX) -> tuple[float, float]:
    """Width and height (px) of ``text``: CJK glyphs one em wide, others about 0.6 em.

    Parameters
    ----------
    text
        The label; lines split on newline.
    font_px
        The font size in pixels.

    Returns
    -------
    tuple of float
        Width and height in pixels.
    """
    lines = text.split("\n") or [""]
    width = max(sum(font_px if ord(c) > 0x2E80 else 0.6 * font_px for c in ln) for ln in lines)
    return width, 1.2 * font_px * len(lines)


def label_point(poly: shapely.Geometry, tolerance: float | None = None) -> shapely.Point:
    """Where a polygon's label goes: the pole of inaccessibility of its largest part.

    Parameters
    ----------
    poly
        A Polygon or MultiPolygon.
    tolerance
        Precision in the polygon's units (default 1/200 of its extent).

    Returns
    -------
    shapely.Point
        The label point, inside the polygon.
    """
    parts = list(getattr(poly, "geoms", [poly]))
    part = max(parts, key=lambda p: p.area)
    if tolerance is None:
        minx, miny, maxx, maxy = part.bounds
        tolerance = max(maxx - minx, maxy - miny, 1e-9) / 200.0
    try:
        return polylabel(part, tolerance=tolerance)
    except Exception:  # a degenerate ring: fall back to a point on the surface
        return part.point_on_surface()


def _box(x: float, y: float, text: str) -> shapely.Geometry:
    """The pixel box of ``text`` centred on (x, y), with a small margin."""
    w, h = text_box_px(text)
    return shapely.box(x - w / 2 - 2, y - h / 2 - 1, x + w / 2 + 2, y + h / 2 + 1)


def _free_spot(
    poly: shapely.Geometry,
    pt: shapely.Point,
    text: str,
    share: float,
    placed: list[shapely.Geometry],
    *,
    search: bool,
) -> tuple[float, float] | None:
    """Where ``text``'s box lies ``share`` inside ``poly`` and clear of ``placed``: the label
    point, else (``search``) the nearest of a grid of points inside ``poly``; None if nowhere."""
    spots = [(pt.x, pt.y)]
    if search:
        w, h = text_box_px(text)
        minx, miny, maxx, maxy = poly.bounds
        gx, gy = np.meshgrid(np.arange(minx, maxx, w / 2), np.arange(miny, maxy, h / 2))
        gx, gy = gx.ravel(), gy.ravel()
        keep = shapely.contains_xy(poly, gx, gy)
        gx, gy = gx[keep], gy[keep]
        order = np.argsort(np.hypot(gx - pt.x, gy - pt.y), kind="stable")[:_MAX_SPOTS]
        spots += list(zip(gx[order].tolist(), gy[order].tolist(), strict=True))
    for x, y in spots:
        box = _box(x, y, text)
        if poly.intersection(box).area >= share * box.area and not any(
            box.intersects(p) for p in placed
        ):
            return x, y
    return None


def place_labels(
    units: gpd.GeoDataFrame,
    names: Sequence[str],
    values: Sequence[str] | None = None,
    *,
    zoom: float,
    inside: tuple[float, float] = (0.85, 0.4),
    avoid: Sequence[tuple[float, float, str]] = (),
    search: bool = False,
) -> pd.DataFrame:
    """Labels that fit at ``zoom``: largest unit first, each inside its unit and clear of others.

    A unit gets its name and value if that box lies (``inside[0]``) within the unit, else its
    name alone, else its name alone reaching past a narrow unit's border (``inside[1]`` of the
    box within); always clear of every label placed before and of ``avoid``.

    Parameters
    ----------
    units
        Polygons (any CRS; placed in lon/lat).
    names
        One label per unit.
    values
        Optional second line per unit (e.g. "87.5%"), kept only where name and value fit.
    zoom
        The web map's zoom the labels are placed for (``initial_zoom``).
    inside
        Share of the label box that must lie inside its unit: with the value, and at worst.
    avoid
        Labels already on the map as (lon, lat, text), centred on their point.
    search
        When the label point's box collides, try other points inside the unit, nearest first
        (e.g. a zone's name placed after the unit names, where it hides none).

    Returns
    -------
    pandas.DataFrame
        ``row`` (position in ``units``), ``lon``, ``lat``, ``name``, ``value`` ("" when left
        out), one row per placed label.
    """
    require_crs(units)
    ll = units.to_crs("EPSG:4326") if not units.crs.equals("EPSG:4326") else units

    def to_px(coords: np.ndarray) -> np.ndarray:
        x, y = _mercator_px(coords[:, 0], coords[:, 1], zoom)
        return np.column_stack([x, y])

    geoms = shapely.transform(shapely.make_valid(ll.geometry.to_numpy()), to_px)
    vals = list(values) if values is not None else [""] * len(geoms)
    placed = [_box(*to_px(np.array([[lon, lat]]))[0], text) for lon, lat, text in avoid]
    out = []
    for i in np.argsort(-shapely.area(geoms), kind="stable"):
        poly, name = geoms[i], str(names[i])
        if poly is None or poly.is_empty or not name.strip():
            continue
        pt = label_point(poly, 1.0)
        tries = ((f"{name}\n{vals[i]}", vals[i], inside[0]), (name, "", inside[0]))
        for text, value, share in (*tries, (name, "", inside[1])):
            if text.endswith("\n"):
                continue
            spot = _free_spot(poly, pt, text, share, placed, search=search)
            if spot is not None:
                placed.append(_box(*spot, text))
                out.append((int(i), *spot, name, value))
                break
    scale = _TILE * 2.0**zoom
    frame = pd.DataFrame(out, columns=["row", "x", "y", "name", "value"])
    frame["lon"] = frame["x"] / scale * 360.0 - 180.0
    n = math.pi - 2.0 * math.pi * frame["y"] / scale
    frame["lat"] = np.degrees(np.arctan(np.sinh(n)))
    return frame[["row", "lon", "lat", "name", "value"]].sort_values("row", ignore_index=True)


class MapFurniture(MacroElement):
    """A north arrow (top right), a metric-only scale bar and a plain "Leaflet" attribution
    prefix (no flag icon) on a folium map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            L.control.scale({imperial: false, metric: true, position: 'bottomleft'}).addTo(map);
            map.attributionControl.setPrefix('Leaflet');
            var north = L.control({position: 'topright'});
            north.onAdd = function () {
                var div = L.DomUtil.create('div', 'onemap-north');
                div.title = {{ this.title|tojson }};
                div.innerHTML = '<svg width="16" height="20" viewBox="0 0 16 20">'
                    + '<path d="M8 0 L15 20 L8 15 L1 20 Z" fill="#222"/>'
                    + '<path d="M8 0 L8 15 L1 20 Z" fill="#888"/></svg><br>N';
                return div;
            };
            north.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, *, title: str = "North") -> None:
        super().__init__()
        self._name = "MapFurniture"
        self.title = title


class Legend(MacroElement):
    """A Leaflet control with ready-made HTML (title and colour swatches)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create('div', 'onemap-legend');
            div.innerHTML = {{ this.html|tojson }};
            var fold = div.querySelector('details');
            if (fold && window.innerWidth < 640) { fold.open = false; }
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html_text
        self.position = position


def add_legend(
    m: folium.Map,
    *,
    title: str,
    labels: Sequence[str],
    colors: Sequence[str],
    no_data_label: str | None = None,
    extra: Mapping[str, str] | None = None,
    note: str | None = None,
    extra_title: str | None = None,
) -> Legend:
    """Add a collapsible legend (a ``<details>`` element: one click folds it away).

    Parameters
    ----------
    m
        The folium map.
    title
        The legend's title (the metric).
    labels
        One label per class.
    colors
        One colour per class.
    no_data_label
        The entry of units without a value (grey), if any.
    extra
        Point colours: label → colour (e.g. one per sector), drawn as dots.
    note
        A small line under the title (e.g. where the class breaks come from).
    extra_title
        A heading over the ``extra`` entries.

    Returns
    -------
    Legend
        The control added to ``m``. Every text is HTML-escaped.
    """
    if len(labels) != len(colors):
        raise ValueError(f"{len(labels)} labels for {len(colors)} colours")
    rows = [f"<b>{escape_html(title)}</b>"]
    if note:
        rows.append(f'<span class="onemap-note">{escape_html(note)}</span>')
    rows += [
        f'<i style="background:{c}"></i>{escape_html(lab)}'
        for lab, c in zip(labels, colors, strict=True)
    ]
    if no_data_label:
        rows.append(f'<i style="background:{NO_DATA_COLOR}"></i>{escape_html(no_data_label)}')
    if extra and extra_title:
        rows.append(f"<b>{escape_html(extra_title)}</b>")
    for lab, c in (extra or {}).items():
        rows.append(f'<i style="background:{c};border-radius:50%"></i>{escape_html(lab)}')
    # a <details> element: one click folds the key away from the units it would cover
    body = "<br>".join(rows[1:])
    legend = Legend(f"<details open><summary>{rows[0]}</summary>{body}</details>")
    legend.add_to(m)
    return legend
