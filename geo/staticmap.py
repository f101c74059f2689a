"""Static choropleth maps for print: map furniture and page layout (matplotlib; fonts: geo.fonts).

Maps are drawn in a metric CRS given by the caller, so the scale bar is measured, not guessed,
and the north arrow is rotated to true north at the map centre. Figures are plain
``matplotlib.figure.Figure`` objects (no pyplot state), safe to build in a web server.
matplotlib itself is imported on the first drawing, so importing this module (for ``MapLayers``,
``MapText`` or paper sizes) stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geo import mapstyle as ms
from geo import webmap
from geo.classify import assign_classes, class_labels
from geo.fonts import (
    CJK_FONT_FAMILIES,
    FONT_INSTALL_HINT,
    CJKFont,
    FontNotFoundError,
    find_cjk_font,
    font_rc,
    wrap_columns,
)
from geo.paper import LAYOUTS, MM_PER_INCH, ORIENTATIONS, PAPER_MM, paper_inches, pixel_size

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [  # fonts and paper sizes are re-exported: the static-map API in one place
    "CJK_FONT_FAMILIES",
    "FONT_INSTALL_HINT",
    "FORMATS",
    "LAYOUTS",
    "MM_PER_INCH",
    "NO_DATA_COLOR",
    "ORIENTATIONS",
    "PAPER_MM",
    "CJKFont",
    "FontNotFoundError",
    "MapLayers",
    "MapText",
    "add_legend",
    "add_north_arrow",
    "add_scale_bar",
    "draw_choropleth",
    "draw_locator",
    "find_cjk_font",
    "fit_extent",
    "font_rc",
    "legend_colors",
    "map_figure",
    "nice_length",
    "paper_inches",
    "pixel_size",
    "place_labels",
    "save_figure",
    "true_north_angle",
    "wrap_columns",
]

FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
NO_DATA_COLOR = webmap.NO_DATA_COLOR
_ZONE_STROKES = (
    (ms.ZONE_CASING, ms.ZONE_CASING_WIDTH_PX, ms.ZONE_CASING_OPACITY),
    (ms.ZONE_COLOR, ms.ZONE_WIDTH_PX, 1.0),
)


def _mpl() -> ModuleType:
    """``matplotlib`` with the submodules the maps use, imported on the first drawing."""
    # deferred heavy engine (~0.5 s to import): a dashboard page that imports this module for
    # MapLayers, MapText or paper sizes pays nothing for matplotlib until a map is drawn
    import matplotlib.backends.backend_agg
    import matplotlib.figure
    import matplotlib.font_manager
    import matplotlib.patches
    import matplotlib.patheffects

    return matplotlib


@dataclass(frozen=True)
class MapText:
    """The words on a map page: title, legend heading and the footer lines."""

    title: str
    subtitle: str = ""
    legend_title: str = ""
    value_format: str = "{:.1%}"
    footer: tuple[str, ...] = ()
    stamp: str | None = None  # e.g. "演示数据"; drawn in red and as a watermark
    no_data_label: str = "无数据"
    outline_label: str = "重点区域边界"
    class_format: str = "{label}（{n}）"  # a legend entry: class range and unit count


@dataclass
class MapLayers:
    """Geometry to draw: the coloured units, optional outlines, context and locator frames.

    All frames need a CRS; they are projected to ``metric_crs`` for drawing.
    """

    units: gpd.GeoDataFrame
    column: str
    breaks: Sequence[float]
    metric_crs: str
    label_column: str | None = None
    label_values: bool = True
    outlines: gpd.GeoDataFrame | None = None
    context: gpd.GeoDataFrame | None = None  # e.g. neighbouring regions, drawn pale
    frame: gpd.GeoDataFrame | None = None  # e.g. the parent region's outline, drawn dark
    locator: gpd.GeoDataFrame | None = None  # the whole province for the inset map
    palette: Sequence[str] = webmap.PALETTE_GREENS  # the dashboard's palette: same colours
    legend_lower: float | None = None  # where the first class starts (default: data minimum)
    extras: dict[str, object] = field(default_factory=dict)


def _project(
    gdf: gpd.GeoDataFrame | None, crs: str, *, clip: Sequence[float] | None = None
) -> gpd.GeoDataFrame | None:
    """Project to ``crs``; with ``clip`` (minx, miny, maxx, maxy) keep only what shows there,
    simplified below a print pixel (1/4000 of the clip width)."""
    if gdf is None:
        return None
    if gdf.crs is None:
        raise ValueError(
            "a frame passed to the static map has no CRS; set one with `gdf.set_crs(...)`"
        )
    out = gdf.to_crs(crs)
    if clip is not None and not out.empty:
        out = out.clip_by_rect(*clip).to_frame("geometry").join(out.drop(columns=out.geometry.name))
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
        out = out[~out.geometry.is_empty]
        tol = (clip[2] - clip[0]) / 4000
        out = out.set_geometry(shapely.simplify(out.geometry.values, tol, preserve_topology=True))
    return out


def legend_colors(breaks: Sequence[float], palette: Sequence[str]) -> list[str]:
    """Colour of each class (low first), picked from ``palette`` exactly as the web map does."""
    return [str(c) for c in webmap.class_colors(breaks, breaks, palette)]


@contextlib.contextmanager
def _no_redraw(fig: Figure) -> Iterator[None]:
    """Skip the full redraw geopandas asks for after each ``plot`` (one draw at save time)."""
    canvas = fig.canvas
    canvas.draw_idle = lambda *a, **k: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del canvas.draw_idle


def draw_choropleth(ax: Axes, layers: MapLayers, text: MapText) -> dict[str, object]:
    """Draw units coloured by class, outlines, frame and labels on ``ax`` (in the metric CRS).

    Returns a summary for the legend: colours, labels, per-class counts, whether NaN occurs and
    how many labels were placed/hidden.
    """
    ax.set_axis_off()
    with _no_redraw(ax.figure):
        return _draw_choropleth(ax, layers, text)


def _draw_choropleth(ax: Axes, layers: MapLayers, text: MapText) -> dict[str, object]:
    crs = layers.metric_crs
    units = _project(layers.units, crs)
    assert units is not None
    units = units.set_geometry(
        shapely.simplify(
            units.geometry.values, _span(units.total_bounds) / 4000, preserve_topology=True
        )
    )
    breaks = np.asarray(layers.breaks, dtype=float)
    values = units[layers.column].to_numpy(dtype=float, na_value=np.nan)
    classes = assign_classes(values, breaks)
    colors = legend_colors(breaks, layers.palette)
    face = webmap.class_colors(values, breaks, layers.palette, no_data=NO_DATA_COLOR)

    fit_extent(ax, units.total_bounds)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    m = 0.02 * max(x1 - x0, y1 - y0)
    view = (x0 - m, y0 - m, x1 + m, y1 + m)  # what the page shows: clip the rest away
    context = _project(layers.context, crs, clip=view)
    if context is not None and not context.empty:
        context.plot(ax=ax, color="#f2f2f2", edgecolor="#bdbdbd", linewidth=0.4, zorder=1)
    units.plot(ax=ax, color=list(face), edgecolor="#737373", linewidth=0.5, zorder=2)
    frame = _project(layers.frame, crs, clip=view)
    if frame is not None and not frame.empty:
        frame.boundary.plot(ax=ax, color="#252525", linewidth=1.2, zorder=4)
    outlines = _project(layers.outlines, crs, clip=view)
    if outlines is not None and not outlines.empty:
        for color, width, alpha in _ZONE_STROKES:  # casing, then the line (geo.mapstyle)
            outlines.boundary.plot(ax=ax, color=color, linewidth=width, alpha=alpha, zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    ax.set_facecolor("white")

    placed = hidden = 0
    if layers.label_column is not None:
        placed, hidden = place_labels(
            ax,
            units,
            layers.label_column,
            values=values if layers.label_values else None,
            value_format=text.value_format,
        )
    counts = [int((classes == i).sum()) for i in range(len(breaks))]
    lower = float(np.nanmin(values)) if np.isfinite(values).any() else None
    if layers.legend_lower is not None:
        lower = layers.legend_lower
    if lower is not None:
        lower = min(lower, float(breaks[0]))
    return {
        "colors": colors,
        "labels": class_labels(breaks, lower=lower, fmt=text.value_format),
        "counts": counts,
        "has_nan": bool((classes < 0).any()),
        "labels_placed": placed,
        "labels_hidden": hidden,
        "has_outlines": outlines is not None and not outlines.empty,
    }


def _span(bounds: Sequence[float]) -> float:
    return float(max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1.0))


def fit_extent(ax: Axes, bounds: Sequence[float], *, pad: float = 0.04) -> None:
    """Set equal-aspect limits on ``ax`` that show ``bounds`` (+ padding) and fill the axes box."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    w, h = (maxx - minx) * (1 + 2 * pad), (maxy - miny) * (1 + 2 * pad)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    fw, fh = ax.figure.get_size_inches()
    pos = ax.get_position(original=True)
    box_ratio = (pos.height * fh) / (pos.width * fw)
    if h / w < box_ratio:
        h = w * box_ratio
    else:
        w = h / box_ratio
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)
    ax.set_aspect("equal", adjustable="box")


def place_labels(
    ax: Axes,
    units: gpd.GeoDataFrame,
    label_column: str,
    *,
    values: np.ndarray | None = None,
    value_format: str = "{:.1%}",
    fontsize: float = 7.5,
) -> tuple[int, int]:
    """Label units at a point inside each, largest first, hiding labels that would collide.

    Each label tries its anchor, then slightly above and below it; a label that still overlaps
    a placed one (or leaves the map) is hidden. Returns (placed, hidden).
    """
    fig = ax.figure
    ax.apply_aspect()
    pts = shapely.point_on_surface(units.geometry.values)
    xs, ys = shapely.get_x(pts), shapely.get_y(pts)
    names = units[label_column].astype("string").fillna("").to_numpy()
    if values is not None:
        vals = [value_format.format(v) if np.isfinite(v) else "–" for v in values]
        texts = [f"{n}\n{v}" for n, v in zip(names, vals, strict=True)]
    else:
        texts = [str(n) for n in names]
    order = np.argsort(-units.geometry.area.to_numpy())
    renderer = fig.canvas.get_renderer()
    ax_box = ax.get_window_extent(renderer)
    kept: list[np.ndarray] = []
    placed = hidden = 0
    halo = [_mpl().patheffects.withStroke(linewidth=2.2, foreground="white")]
    for i in order:
        if not texts[i].strip():
            continue
        t = ax.text(
            xs[i],
            ys[i],
            texts[i],
            ha="center",
            va="center",
            fontsize=fontsize,
            linespacing=1.05,
            zorder=6,
            path_effects=halo,
        )
        ok = False
        for dy in (0.0, 0.9, -0.9):
            bb = t.get_window_extent(renderer).translated(0, dy * fontsize * 2)
            box = np.array([bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1])
            inside = (
                box[0] >= ax_box.x0
                and box[2] <= ax_box.x1
                and box[1] >= ax_box.y0
                and box[3] <= ax_box.y1
            )
            if inside and not any(_overlap(box, k) for k in kept):
                if dy:
                    x_disp, y_disp = ax.transData.transform((xs[i], ys[i]))
                    t.set_position(
                        ax.transData.inverted().transform((x_disp, y_disp + dy * fontsize * 2))
                    )
                kept.append(box)
                ok = True
                break
        if ok:
            placed += 1
        else:
            t.remove()
            hidden += 1
    return placed, hidden


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def nice_length(max_length: float) -> float:
    """Return the largest 1-2-5 × 10^n value not above ``max_length`` (for a scale bar)."""
    if max_length <= 0:
        raise ValueError(f"`max_length` must be positive, got {max_length}")
    exp = np.floor(np.log10(max_length))
    for m in (5, 2, 1):
        if m * 10**exp <= max_length:
            return float(m * 10**exp)
    return float(10**exp)


def add_scale_bar(ax: Axes, *, fraction: float = 0.25, segments: int = 4) -> float:
    """Draw a segmented scale bar in the lower left of ``ax`` (data units must be metres).

    Returns the bar length in metres, a 1-2-5 round number at most ``fraction`` of the map width.
    """
    ax.apply_aspect()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = nice_length((x1 - x0) * fraction)
    seg = length / segments
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.012
    pad = seg * 0.3
    patches = _mpl().patches
    ax.add_patch(  # a white card so the bar reads over any polygon
        patches.Rectangle(
            (bx - pad, by - h * 1.2),
            length + 2 * pad,
            h * 6.2,
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=6.5,
        )
    )
    for i in range(segments):
        ax.add_patch(
            patches.Rectangle(
                (bx + i * seg, by),
                seg,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=7,
            )
        )
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for pos in (0, segments // 2, segments):
        v = pos * seg / div
        label = f"{v:g}" + (f" {unit}" if pos == segments else "")
        ax.text(bx + pos * seg, by + h * 1.6, label, ha="center", va="bottom", fontsize=7, zorder=7)
    return length


def true_north_angle(crs: str, x: float, y: float) -> float:
    """Return the angle (degrees, counter-clockwise from grid up) of true north at (x, y)."""
    to_geo = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_map = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    nx, ny = to_map.transform(lon, min(lat + 0.05, 89.9))
    return float(np.degrees(np.arctan2(-(nx - x), ny - y)))


def add_north_arrow(ax: Axes, crs: str) -> float:
    """Draw a north arrow in the upper right of ``ax``, rotated to true north at the centre."""
    ax.apply_aspect()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    angle = true_north_angle(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    # draw in axes fraction coordinates, corrected for the axes aspect ratio
    bbox = ax.get_window_extent()
    aspect = bbox.height / bbox.width
    cx, cy, size = 0.93, 0.86, 0.08
    dx, dy = -np.sin(np.radians(angle)) * size * aspect, np.cos(np.radians(angle)) * size
    ax.add_patch(
        _mpl().patches.FancyArrow(
            cx - dx / 2,
            cy - dy / 2,
            dx,
            dy,
            width=0.012,
            head_width=0.04,
            head_length=0.035,
            length_includes_head=True,
            transform=ax.transAxes,
            color="black",
            zorder=8,
        )
    )
    ax.text(
        cx + dx / 2 * 1.15,
        cy + dy / 2 * 1.15,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=11,
        fontweight="bold",
        zorder=8,
    )
    return angle


def add_legend(
    ax: Axes,
    summary: dict[str, object],
    text: MapText,
    *,
    loc: str = "upper left",
    ncol: int = 1,
    scale: float = 1.0,
) -> None:
    """Draw the class legend (colour, range, unit count) on a blank axes ``ax``."""
    ax.set_axis_off()
    colors = list(summary["colors"])  # type: ignore[arg-type]
    labels = list(summary["labels"])  # type: ignore[arg-type]
    counts = list(summary["counts"])  # type: ignore[arg-type]
    patches = _mpl().patches
    handles = [
        patches.Patch(
            facecolor=c, edgecolor="#636363", label=text.class_format.format(label=lab, n=n)
        )
        for c, lab, n in zip(reversed(colors), reversed(labels), reversed(counts), strict=True)
    ]
    if summary.get("has_nan"):
        handles.append(
            patches.Patch(facecolor=NO_DATA_COLOR, edgecolor="#636363", label=text.no_data_label)
        )
    if summary.get("has_outlines"):
        handles.append(
            patches.Patch(facecolor="none", edgecolor=ms.ZONE_COLOR, label=text.outline_label)
        )
    leg = ax.legend(
        handles=handles,
        loc=loc,
        title=text.legend_title,
        frameon=False,
        fontsize=8.5 * scale,
        title_fontproperties={"weight": "bold", "size": 10 * scale},
        alignment="left",
        handlelength=2.2,
        handleheight=1.3,
        ncol=ncol,
    )
    leg.set_zorder(9)


def draw_locator(
    ax: Axes, locator: gpd.GeoDataFrame, highlight: gpd.GeoDataFrame, crs: str
) -> None:
    """Draw a small inset: ``locator`` in grey with ``highlight`` in red."""
    loc = _project(locator, crs)
    hi = _project(highlight, crs)
    assert loc is not None and hi is not None
    ax.set_axis_off()
    tol = _span(loc.total_bounds) / 1000
    loc = loc.set_geometry(shapely.simplify(loc.geometry.values, tol))
    with _no_redraw(ax.figure):
        loc.plot(ax=ax, color="#f0f0f0", edgecolor="#969696", linewidth=0.3)
        hi.dissolve().plot(ax=ax, color="#e31a1c", edgecolor="#99000d", linewidth=0.5, alpha=0.8)
    ax.set_aspect("equal")


def map_figure(
    layers: MapLayers,
    text: MapText,
    *,
    font: CJKFont,
    paper: str = "A4",
    orientation: str = "landscape",
) -> Figure:
    """Return a one-page map: title, choropleth, legend, scale bar, north arrow, locator, footer."""
    size = paper_inches(paper, orientation)
    layout = LAYOUTS[orientation]
    mpl = _mpl()
    with mpl.rc_context(font_rc(font)):
        fig = mpl.figure.Figure(figsize=size, facecolor="white")
        mpl.backends.backend_agg.FigureCanvasAgg(fig)
        scale = size[0] / paper_inches("A4", orientation)[0]
        tx, ty, _tw, th = layout["title"]
        fig.text(
            tx, ty + th * 0.55, text.title, fontsize=18 * scale, fontweight="bold", va="center"
        )
        if text.subtitle:
            fig.text(tx, ty + th * 0.05, text.subtitle, fontsize=10 * scale, color="#404040")
        ax = fig.add_axes(layout["map"])
        summary = draw_choropleth(ax, layers, text)
        add_scale_bar(ax)
        add_north_arrow(ax, layers.metric_crs)
        if text.stamp:
            ax.text(
                0.5,
                0.5,
                text.stamp,
                transform=ax.transAxes,
                fontsize=40 * scale,
                color="#cb181d",
                alpha=0.12,
                rotation=25,
                ha="center",
                va="center",
                zorder=10,
            )
        lax = fig.add_axes(layout["legend"])
        add_legend(lax, summary, text, scale=scale)
        if layers.locator is not None:
            iax = fig.add_axes(layout["locator"])
            draw_locator(iax, layers.locator, layers.units, layers.metric_crs)
        fx, fy, fw, fh = layout["footer"]
        cols = int(fw * size[0] * MM_PER_INCH / (8 * scale * 0.3528 * 0.5))  # 8 pt half-width
        lines = [part for line in text.footer for part in wrap_columns(line, cols)]
        step = min(fh / max(len(lines), 1), 0.035)
        for i, line in enumerate(lines):
            fig.text(fx, fy + fh - step * (i + 0.8), line, fontsize=8 * scale, color="#303030")
        if text.stamp:
            fig.text(
                tx + _tw,
                ty + th * 0.1,
                text.stamp,
                ha="right",
                fontsize=11 * scale,
                fontweight="bold",
                color="#cb181d",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#cb181d"},
            )
        fig.add_artist(
            mpl.patches.Rectangle(
                (0.01, 0.01), 0.98, 0.98, transform=fig.transFigure, fill=False, lw=0.8
            )
        )
        fig.onemap_summary = summary  # type: ignore[attr-defined]
    return fig


def save_figure(
    fig: Figure,
    out: str | Path | IO[bytes],
    *,
    fmt: str = "png",
    dpi: int = 150,
    font: CJKFont | None = None,
) -> None:
    """Write ``fig`` as PNG/PDF/SVG to a path or binary buffer at its own page size.

    No tight bounding box: a PNG at ``dpi`` has exactly ``pixel_size(paper, orientation, dpi)``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"`fmt` was {fmt!r} but is expected to be one of {list(FORMATS)}")
    rc = font_rc(font) if font is not None else {}
    size = fig.get_size_inches().copy()
    if fmt == "png":  # whole pixels: matplotlib truncates, print sizes are rounded (A4 → 3508 px)
        fig.set_size_inches(np.round(size * dpi) / dpi + 1e-6)
    try:
        with _mpl().rc_context(rc):
            fig.savefig(out, format=fmt, dpi=dpi, facecolor="white")
    finally:
        fig.set_size_inches(size)
