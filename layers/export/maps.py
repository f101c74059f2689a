"""Static maps of one view: join the view's numbers to polygons, compose the words, draw, write.

``prepare_map`` turns a ``MapRequest`` and a ``Snapshot`` (``layers.export.snapshot``) into the
``MapData`` a page draws; ``write_map`` and ``map_bytes`` draw it as PNG, PDF or SVG through
``geo.staticmap``. matplotlib is imported on the first drawing, not with this module.

Typical use::

    snap = read_snapshot(store_path())
    data = prepare_map(snap, MapRequest(region="533300000000", metric="completion"))
    write_map(data, "nujiang.png", dpi=300)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import staticmap as sm
from layers import schema as S
from layers.errors import ExportError
from layers.export.smallprint import footer_lines
from layers.export.snapshot import (
    MapRequest,
    Snapshot,
    format_of,
    is_demo,
    levels_for,
    read_snapshot,
    unit_name,
    view_breaks,
    view_lower,
    view_rows,
    year_span,
    zone_name,
)
from layers.present import i18n
from layers.settings import METRIC_CRS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAP_FORMATS",
    "MapData",
    "cjk_font",
    "classes_phrase",
    "export_map",
    "map_bytes",
    "map_figure",
    "prepare_map",
    "write_map",
    "zone_outlines",
]

MAP_FORMATS: tuple[str, ...] = sm.FORMATS


@dataclasses.dataclass
class MapData:
    """Everything one map page draws: geometry, classes and words."""

    request: MapRequest
    region_name: str
    rows: pd.DataFrame
    layers: sm.MapLayers
    text: sm.MapText


def zone_outlines(snap: Snapshot) -> gpd.GeoDataFrame:
    """Each zone as the union of its counties (``zone``, geometry)."""
    au = snap.admin_units
    counties = au[au[S.LEVEL] == "county"][[S.CODE, "geometry"]]
    joined = gpd.GeoDataFrame(
        snap.zone_members.merge(counties, on=S.CODE), geometry="geometry", crs=au.crs
    )
    return joined.dissolve(by=S.ZONE, as_index=False)[[S.ZONE, "geometry"]]


def classes_phrase(request: MapRequest, breaks: np.ndarray, *, no_value: bool = False) -> str:
    """How the map is classed, for its subtitle: the scheme, the number of classes and where the
    breaks come from (the dashboard's legend says the same); one value for all units says so.

    Parameters
    ----------
    request
        The view (``breaks``, ``scheme``, ``breaks_from``).
    breaks
        The class breaks drawn.
    no_value
        True when no unit has a value (the breaks are a placeholder).

    Returns
    -------
    str
        e.g. "分位数分级 5 级 · 分级：本图单元".
    """
    lang = request.lang
    if no_value:
        return i18n.t("no_data_short", lang)
    if request.breaks is not None:
        return i18n.t("map_classes_given", lang, k=len(breaks))
    source = i18n.t(f"legend_breaks_{request.breaks_from}", lang)
    if len(breaks) == 1:
        value = i18n.t("all_equal", lang, value=f"{float(breaks[0]):.1%}")
        return f"{value} · {source}"
    scheme = (
        i18n.SCHEME_LABELS_ZH[request.scheme]
        if lang == "zh"
        else request.scheme.replace("_", " ").capitalize()
    )
    return i18n.t("map_classes", lang, scheme=scheme, k=len(breaks), source=source)


def prepare_map(
    snap: Snapshot,
    request: MapRequest,
    *,
    now: dt.datetime | None = None,
    zones: gpd.GeoDataFrame | None = None,
) -> MapData:
    """Join the view's numbers to unit polygons and compose title, legend and footer.

    Parameters
    ----------
    snap
        The store snapshot (``read_snapshot(levels=levels_for(request))``).
    request
        The view to draw.
    now
        The generated time in the footer (default: now, UTC).
    zones
        ``zone_outlines(snap)``, to save recomputing the zone unions for every page.

    Returns
    -------
    MapData
        The layers and words of the map page.
    """
    rows = view_rows(snap, request)
    breaks = view_breaks(snap, request, rows)
    au = snap.admin_units
    level = request.unit_level if request.region_level != "village" else "village"
    shapes = au[(au[S.LEVEL] == level) & au[S.CODE].isin(rows[S.CODE])][[S.CODE, "geometry"]]
    if shapes.empty:
        raise ExportError(
            f"no {level} polygons for region {request.region} in {snap.path}; read the snapshot "
            f"with levels {levels_for(request)} or rebuild the store with `onemap build`"
        )
    units = gpd.GeoDataFrame(
        shapes.merge(rows, on=S.CODE, how="left"), geometry="geometry", crs=au.crs
    )
    no_value = breaks is None
    if breaks is None:  # no value anywhere: one grey class, the legend says "no data"
        breaks = np.array([0.0])
    frame = au[au[S.CODE] == request.region]
    if frame.empty:
        frame = units.dissolve()[["geometry"]]
    rl = request.region_level
    context = None
    if request.zone and rl in ("province", "prefecture"):  # the other counties, pale
        context = au[(au[S.LEVEL] == level) & ~au[S.CODE].isin(rows[S.CODE])]
    elif rl != "province":
        context = au[(au[S.LEVEL] == rl) & (au[S.CODE] != request.region)]
    locator = au[au[S.LEVEL] == "prefecture"] if rl != "province" else None
    outlines = None
    if request.show_zones and rl in ("province", "prefecture") and len(snap.zone_members):
        outlines = zone_outlines(snap) if zones is None else zones
        if request.zone:
            outlines = outlines[outlines[S.ZONE] == request.zone]
        outlines = outlines if len(outlines) else None
    name = unit_name(snap, request.region)
    lang = request.lang
    metric = i18n.metric_label(request.metric, lang)
    zone = zone_name(request.zone, lang) if request.zone else None
    scope = (f"{name}（{zone}）" if lang == "zh" else f"{name} ({zone})") if zone else name
    level_name = S.LEVEL_LABELS_ZH[level] if lang == "zh" else level
    title = i18n.t(
        "map_title",
        lang,
        scope=scope,
        units=i18n.LEVEL_UNITS_ZH.get(level, "") if rl != "village" else "",
        metric=metric,
        level=level,
        years=year_span(snap, request),
    ).replace("  ", " ")
    classes = classes_phrase(request, breaks, no_value=no_value)
    subtitle = i18n.t("map_subtitle", lang, level=level_name, n=len(units), classes=classes)
    layers = sm.MapLayers(
        units=units,
        column=request.metric,
        breaks=breaks,
        metric_crs=METRIC_CRS,
        label_column=S.NAME if request.labels else None,
        outlines=outlines,
        context=context,
        frame=frame,
        locator=locator,
        legend_lower=view_lower(snap, request, rows),
    )
    text = sm.MapText(
        title=title,
        subtitle=subtitle,
        legend_title=i18n.t("map_legend", lang, metric=metric),
        value_format="{:.1%}",
        footer=footer_lines(snap, request, now=now),
        stamp=i18n.t("demo_stamp", lang) if is_demo(snap) else None,
        no_data_label=i18n.t("no_data_short", lang),
        outline_label=i18n.t("map_zone_outlines", lang),
        class_format=i18n.t("map_class_count", lang),
    )
    return MapData(request, name, rows, layers, text)


def cjk_font() -> sm.CJKFont:
    """The CJK font for exports; ``ExportError`` naming ``apt-get install fonts-noto-cjk``."""
    try:
        return sm.find_cjk_font()
    except sm.FontNotFoundError as e:
        raise ExportError(str(e)) from e


def map_figure(data: MapData, *, paper: str = "A4", orientation: str = "landscape") -> Figure:
    """The one-page map figure of ``data``.

    Parameters
    ----------
    data
        ``prepare_map``'s layers and words.
    paper
        A4 or A3.
    orientation
        landscape or portrait.

    Returns
    -------
    matplotlib.figure.Figure
        The page (no pyplot state).
    """
    try:
        return sm.map_figure(
            data.layers, data.text, font=cjk_font(), paper=paper, orientation=orientation
        )
    except ValueError as e:
        raise ExportError(f"cannot draw the map: {e}") from e


def write_map(
    data: MapData,
    out: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> None:
    """Draw ``data`` and write PNG/PDF/SVG (format from ``fmt`` or the file suffix).

    Parameters
    ----------
    data
        ``prepare_map``'s layers and words.
    out
        A path, or a binary buffer (then ``fmt`` is needed).
    fmt
        png, pdf or svg (default: the suffix of ``out``).
    paper
        A4 or A3.
    orientation
        landscape or portrait.
    dpi
        PNG resolution, 30–600 (300 for print).

    Returns
    -------
    None
    """
    if fmt is None and not isinstance(out, (str, os.PathLike)):
        raise ExportError("writing a map to a buffer needs `fmt` (png, pdf or svg)")
    f = format_of(out if isinstance(out, (str, os.PathLike)) else "x", fmt, MAP_FORMATS)
    if not 30 <= dpi <= 600:
        raise ExportError(f"`dpi` was {dpi}; use 30–600 (300 for print)")
    fig = map_figure(data, paper=paper, orientation=orientation)
    if isinstance(out, (str, os.PathLike)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    sm.save_figure(fig, out, fmt=f, dpi=dpi, font=cjk_font())


def map_bytes(
    data: MapData,
    *,
    fmt: str = "png",
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> bytes:
    """``write_map`` into memory (for downloads and previews).

    Parameters
    ----------
    data
        ``prepare_map``'s layers and words.
    fmt
        png, pdf or svg.
    paper
        A4 or A3.
    orientation
        landscape or portrait.
    dpi
        PNG resolution, 30–600.

    Returns
    -------
    bytes
        The file's content.
    """
    buf = io.BytesIO()
    write_map(data, buf, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)
    return buf.getvalue()


def export_map(
    request: MapRequest,
    out: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    fmt: str | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> Path:
    """Read the store, draw ``request`` and write it to ``out`` (the CLI's one call).

    Parameters
    ----------
    request
        The view to draw.
    out
        The file to write.
    store
        The store (default: ``$ONEMAP_STORE``, else ``data/onemap.gpkg``).
    fmt
        png, pdf or svg (default: the suffix of ``out``).
    paper
        A4 or A3.
    orientation
        landscape or portrait.
    dpi
        PNG resolution, 30–600.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    snap = read_snapshot(store, levels=levels_for(request), with_projects=not request.flt.is_empty)
    data = prepare_map(snap, request)
    write_map(data, out, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)
    return Path(out)
