"""geo.webmap: offline assets, map HTML with no CDN, colours, layers, basemaps, GCJ-02 shift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo import webmap

BASE = "/app/static/leaflet/"


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["530100000000", "530200000000", "530300000000"],
            "name": ["甲市", "乙市", "丙市"],
            "value": [0.5, 0.9, np.nan],
            "label": ["50.0%", "90.0%", "—"],
        },
        geometry=[box(100, 25, 101, 26), box(101, 25, 102, 26), box(102, 25, 103, 26)],
        crs="EPSG:4326",
    )


def _render(m: folium.Map) -> str:
    return webmap.map_html(m)


def _has(html: str, text: str) -> bool:
    """``text`` appears in the HTML as is or JSON-escaped (folium writes ``\\uXXXX``)."""
    return text in html or json.dumps(text)[1:-1] in html


def test_write_offline_assets_copies_leaflet_once(tmp_path: Path) -> None:
    paths = webmap.write_offline_assets(tmp_path / "leaflet")
    assert sorted(p.name for p in paths) == sorted(webmap.OFFLINE_ASSETS)
    js = (tmp_path / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert "Leaflet" in js and len(js) > 100_000
    assert "markerClusterGroup" in (tmp_path / "leaflet" / "leaflet.markercluster.js").read_text()
    mtimes = [p.stat().st_mtime_ns for p in paths]
    webmap.write_offline_assets(tmp_path / "leaflet")
    assert [p.stat().st_mtime_ns for p in paths] == mtimes  # unchanged files are not rewritten


def test_map_loads_only_local_assets(units: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    colors = webmap.class_colors(units["value"], [0.6, 0.9])
    webmap.choropleth_layer(
        units, fill_colors=colors, tooltip={"name": "名称", "label": "完工率"}, properties=["code"]
    ).add_to(m)
    pts = gpd.GeoDataFrame(
        {"n": ["a", "b"]}, geometry=shapely.points([[100.5, 25.5], [101.5, 25.5]]), crs=4326
    )
    webmap.points_layer(
        pts, colors=["#f00", "#00f"], popup={"n": "名称"}, asset_base_url=BASE
    ).add_to(m)
    html = _render(m)
    assert webmap.external_urls(html) == []
    srcs = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'href="([^"]+\.css)"', html)
    assert srcs and all(s.startswith(BASE) for s in srcs)
    assert f"{BASE}leaflet.markercluster.js" in srcs
    # without a tile layer MarkerCluster throws "Map has no maxZoom specified" (map height 0)
    assert '"maxZoom": 18' in html
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html
    # folium's class-level CDN lists are untouched for other users of folium
    assert folium.Map.default_js[0][1].startswith("https://")


def test_data_url_fallback_needs_no_server(units: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(units.total_bounds, asset_base_url=None)
    html = _render(m)
    assert webmap.external_urls(html) == []
    assert '<script src="data:text/javascript;base64,' in html


def test_external_urls_flags_cdn_links() -> None:
    html = '<script src="https://cdn.example.org/x.js"></script><link href="http://127.0.0.1:8501/a.css">'
    assert webmap.external_urls(html) == ["https://cdn.example.org/x.js"]


def test_class_colors_follow_breaks_and_mark_missing() -> None:
    colors = webmap.class_colors([0.1, 0.5, 0.95, np.nan, 2.0], [0.3, 0.6, 1.0])
    pal = webmap.PALETTE_GREENS
    assert list(colors) == [pal[0], pal[2], pal[4], webmap.NO_DATA_COLOR, pal[4]]
    with pytest.raises(ValueError, match="6 classes but only 5 colours"):
        webmap.class_colors([1], [1, 2, 3, 4, 5, 6])


def test_choropleth_features_carry_code_colour_and_tooltip(units: gpd.GeoDataFrame) -> None:
    colors = webmap.class_colors(units["value"], [0.6, 0.9])
    layer = webmap.choropleth_layer(
        units, fill_colors=colors, tooltip={"label": "完工率"}, properties=["code"]
    )
    feats = layer.data["features"]
    assert [f["properties"]["code"] for f in feats] == list(units["code"])
    assert [f["properties"]["_fill"] for f in feats] == list(colors)
    assert feats[2]["properties"]["label"] == "—"
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    layer.add_to(m)
    html = _render(m)
    assert _has(html, "完工率") and "fillColor" in html
    with pytest.raises(ValueError, match="`fill_colors` has 2 values for 3 rows"):
        webmap.choropleth_layer(units, fill_colors=["#fff", "#000"], tooltip={})


def test_missing_text_in_tooltips_and_popups_reads_a_dash(units: gpd.GeoDataFrame) -> None:
    pts = units.assign(unit=["乡政府", None, np.nan], geometry=units.representative_point())
    layer = webmap.points_layer(
        pts, colors=["#fff"] * 3, popup={"unit": "责任单位"}, asset_base_url=BASE, cluster=False
    )
    (data,) = [c.data for c in layer._children.values() if isinstance(c, folium.GeoJson)]
    assert [f["properties"]["unit"] for f in data["features"]] == ["乡政府", "—", "—"]
    html = _render(layer.add_to(webmap.make_map(units.total_bounds, asset_base_url=BASE)))
    assert "None" not in html and "NaN" not in html


def test_highlight_outlines_the_pick_and_fits_the_map_to_it(units: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    webmap.highlight(m, units.iloc[[1]])
    html = _render(m)
    assert html.count(webmap.HIGHLIGHT_COLOR) == 1 and '"interactive": false' in html
    assert m.get_bounds() == [[25.0, 101.0], [26.0, 102.0]]
    assert '"maxZoom": 15' in html
    point = units.iloc[[0]].assign(geometry=units.iloc[[0]].representative_point())
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    webmap.highlight(m, point, max_zoom=16)
    assert "circle_marker" in _render(m) and '"maxZoom": 16' in _render(m)
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    webmap.highlight(m, units.iloc[:0])  # nothing picked: the map is left as it was
    assert webmap.HIGHLIGHT_COLOR not in _render(m)


def test_choropleth_rounds_coordinates(units: gpd.GeoDataFrame) -> None:
    wiggly = units.copy()
    wiggly["geometry"] = wiggly.geometry.translate(1e-7, 1e-7)
    layer = webmap.choropleth_layer(
        wiggly, fill_colors=["#fff"] * 3, tooltip={}, properties=["code"], decimals=4
    )
    text = json.dumps(layer.data)
    assert "100.0001" not in text and "25.0" in text
    assert not re.search(r"\d\.\d{5,}", text)


def test_outline_and_labels_do_not_catch_clicks(units: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    webmap.outline_layer(units.dissolve()).add_to(m)
    pts = units.copy()
    pts["geometry"] = units.representative_point()
    webmap.labels_layer(pts, label_column="name").add_to(m)
    html = _render(m)
    assert html.count('"interactive": false') >= 4
    assert _has(html, "甲市")


def test_basemaps() -> None:
    assert webmap.basemap_layer("none") == []
    osm = webmap.basemap_layer("osm")
    assert len(osm) == 1 and "openstreetmap" in osm[0].tiles
    tdt = webmap.basemap_layer("tianditu", token="abc")
    assert len(tdt) == 2 and all("tk=abc" in t.tiles for t in tdt)
    with pytest.raises(ValueError, match="TIANDITU_TOKEN"):
        webmap.basemap_layer("tianditu")
    with pytest.raises(ValueError, match="`basemap` was 'google'"):
        webmap.basemap_layer("google")


def test_amap_basemap_shifts_overlays_to_gcj02(units: gpd.GeoDataFrame) -> None:
    same = webmap.to_basemap_crs(units, "none")
    assert same.geometry.geom_equals(units.geometry).all()
    shifted = webmap.to_basemap_crs(units, "amap")
    metric = "+proj=aea +lat_1=22 +lat_2=28 +lon_0=101.5 +ellps=GRS80 +units=m"
    a = units.to_crs(metric).centroid
    b = shifted.to_crs(metric).centroid
    d = a.distance(b)
    assert ((d > 200) & (d < 700)).all()  # GCJ-02 is 290–500 m off in Yunnan
    assert units.geometry.iloc[0].equals(box(100, 25, 101, 26))  # input untouched


def test_probe_tiles_reports_unreachable_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def refuse(*_a: object, **_k: object) -> None:
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert webmap.probe_tiles("osm") is False
    assert webmap.probe_tiles("none") is True


def test_legend_lists_classes(units: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(units.total_bounds, asset_base_url=BASE)
    webmap.add_legend(
        m,
        title="完工率",
        labels=["≤ 60%", "60% – 90%"],
        colors=["#fff", "#000"],
        no_data_label="无数据",
    )
    html = _render(m)
    assert "onemap-legend" in html and _has(html, "60% – 90%") and _has(html, "无数据")
    # the entries fold under the title; a phone-wide map starts folded
    (inner,) = re.findall(r"div\.innerHTML = (\".*?\");", html)
    assert json.loads(inner).startswith("<details open><summary><b>完工率</b></summary>")
    assert "window.innerWidth < 640" in html and "fold.open = false" in html
    with pytest.raises(ValueError, match="1 labels for 2 colours"):
        webmap.add_legend(m, title="x", labels=["a"], colors=["#fff", "#000"])


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="`bounds` must be finite"):
        webmap.make_map([np.nan, 0, 1, 1], asset_base_url=BASE)
