"""Interactive web map of one view: a self-contained HTML file (Leaflet inlined, works offline).

The colours, legend and tooltips are those of the dashboard's map (``geo.webmap``); the title,
footer and demo mark are those of the static map (``layers.export.maps.prepare_map``).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from geo import classify, webmap
from geo import staticmap as sm
from geo.escape import escape_html
from layers import schema as S
from layers.export.maps import MapData
from layers.present import fmt

__all__ = ["map_html", "write_html"]


def map_html(data: MapData) -> str:
    """A self-contained interactive HTML map of ``data`` (Leaflet inlined; works offline)."""
    units = data.layers.units
    metric = data.request.metric
    shown = gpd.GeoDataFrame(
        {
            S.CODE: units[S.CODE].astype(str),
            S.NAME: units[S.NAME].astype(str),
            "_metric": fmt.fmt_pct_series(units[metric]),
            "_projects": fmt.fmt_count_series(units[S.N_PROJECTS]),
        },
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )
    colors = webmap.class_colors(units[metric], data.layers.breaks, data.layers.palette)
    # asset_base_url=None: Leaflet's scripts and styles are inlined as data: URLs (offline file)
    m = webmap.make_map(shown.total_bounds, asset_base_url=None)
    webmap.choropleth_layer(
        shown,
        fill_colors=colors,
        tooltip={S.NAME: "名称", "_metric": S.METRIC_LABELS_ZH[metric], "_projects": "项目数"},
        properties=[S.CODE],
    ).add_to(m)
    if data.layers.outlines is not None:
        webmap.outline_layer(data.layers.outlines, name="zones").add_to(m)
    webmap.add_legend(
        m,
        title=data.text.legend_title,
        labels=classify.class_labels(
            data.layers.breaks, lower=data.layers.legend_lower, fmt=data.text.value_format
        ),
        colors=sm.legend_colors(data.layers.breaks, data.layers.palette),
        no_data_label=data.text.no_data_label if units[metric].isna().any() else None,
    )
    page = webmap.map_html(m)
    lines = [f"<b>{escape_html(data.text.title)}</b>"]
    lines += [escape_html(line) for line in data.text.footer]
    if data.text.stamp:
        lines.append(f"<b style='color:#cb181d'>{escape_html(data.text.stamp)}</b>")
    banner = (
        "<div style='position:fixed;top:8px;left:56px;z-index:1000;max-width:55%;"
        "background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;"
        "font:11px/1.45 sans-serif'>" + "<br>".join(lines) + "</div>"
    )
    return page.replace("<body>", "<body>\n" + banner, 1)


def write_html(data: MapData, out: str | os.PathLike[str]) -> Path:
    """Write ``map_html(data)`` to ``out``.

    Parameters
    ----------
    data
        The view's map (``prepare_map``).
    out
        The HTML file to write.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(map_html(data), encoding="utf-8")
    return out
