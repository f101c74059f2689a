"""geo.mapstyle: one zone style on screen and paper, collision-free labels, map furniture."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo import mapstyle, webmap
from geo import staticmap as sm


@pytest.fixture
def strip() -> gpd.GeoDataFrame:
    """Three 1° squares side by side and a sliver 0.02° wide beside them."""
    return gpd.GeoDataFrame(
        {"name": ["甲县", "乙县", "丙县", "细长的丁县"]},
        geometry=[
            box(100, 25, 101, 26),
            box(101, 25, 102, 26),
            box(102, 25, 103, 26),
            box(103, 25, 103.02, 26),
        ],
        crs="EPSG:4326",
    )


def test_initial_zoom_fits_the_bounds_like_leaflet() -> None:
    # 3° of longitude in 800 px: 256·2^z·3/360 ≤ 800 → z ≤ 8.55; snapped down to 8.5
    assert mapstyle.initial_zoom((100, 25, 103, 26), (800, 560)) == 8.5
    # Yunnan: 9° wide, 8.3° high in 800 × 560 px
    assert mapstyle.initial_zoom((97, 21, 106, 29.3), (800, 560)) == 6.25


def test_text_box_counts_cjk_as_one_em() -> None:
    assert mapstyle.text_box_px("甲县") == pytest.approx((24.0, 14.4))
    assert mapstyle.text_box_px("甲县\n85.3%") == pytest.approx((36.0, 28.8))  # 5 × 0.6 em


def test_labels_fit_their_unit_and_never_collide(strip: gpd.GeoDataFrame) -> None:
    values = ["50.0%", "90.0%", "—", "70.0%"]
    zoom = mapstyle.initial_zoom(strip.total_bounds, (800, 560))
    placed = mapstyle.place_labels(strip, strip["name"].tolist(), values, zoom=zoom)
    # the squares (~190 px) get name and value; the 4-px sliver would need its label to reach
    # 95 % past its border: left out
    assert placed["name"].tolist() == ["甲县", "乙县", "丙县"]
    assert placed["value"].tolist() == ["50.0%", "90.0%", "—"]
    assert placed["lon"].round(2).tolist() == [100.5, 101.5, 102.5]
    assert placed["lat"].between(25, 26).all()
    # zoomed far out the squares are ~6 px wide: nothing fits, nothing overlaps
    assert mapstyle.place_labels(strip, strip["name"].tolist(), values, zoom=3).empty


def test_labels_keep_clear_of_labels_already_placed(strip: gpd.GeoDataFrame) -> None:
    zoom = 4.0  # squares ~11 px wide: a name may reach past its border, not over another
    names = strip["name"].tolist()
    placed = mapstyle.place_labels(strip, names, zoom=zoom, inside=(0.85, 0.0))
    assert 1 <= len(placed) < 4  # neighbours' labels would overlap: some are dropped
    boxes = [
        mapstyle._box(*mapstyle._mercator_px(r.lon, r.lat, zoom), r.name)
        for r in placed.itertuples()
    ]
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    zoom = mapstyle.initial_zoom(strip.total_bounds, (800, 560))
    first = mapstyle.place_labels(strip, names, zoom=zoom)
    avoid = [(first["lon"][0], first["lat"][0], "重点区域名称")]
    again = mapstyle.place_labels(strip, names, zoom=zoom, avoid=avoid)
    assert "甲县" not in again["name"].tolist() and "乙县" in again["name"].tolist()


def test_zone_label_moves_off_the_unit_labels_it_would_hide(strip: gpd.GeoDataFrame) -> None:
    """Unit names first; a zone's name then goes to the nearest spot inside the zone where it
    hides none (at its label point it would sit on 乙县's name), or is left out."""
    zoom = mapstyle.initial_zoom(strip.total_bounds, (800, 560))
    units = mapstyle.place_labels(strip, strip["name"].tolist(), zoom=zoom)
    avoid = list(zip(units["lon"], units["lat"], units["name"], strict=True))
    zone = gpd.GeoDataFrame({"zone": ["重点区域"]}, geometry=[box(100, 25, 103, 26)], crs=4326)
    fixed = mapstyle.place_labels(zone, ["重点区域"], zoom=zoom, inside=(0.0, 0.0), avoid=avoid)
    assert fixed.empty  # the old rule: the label point or nothing
    moved = mapstyle.place_labels(
        zone, ["重点区域"], zoom=zoom, inside=(0.0, 0.0), avoid=avoid, search=True
    )
    assert len(moved) == 1 and moved["lon"].between(100, 103).all()
    assert moved["lat"].between(25, 26).all()
    zone_box = mapstyle._box(*mapstyle._mercator_px(moved.lon[0], moved.lat[0], zoom), "重点区域")
    unit_boxes = [mapstyle._box(*mapstyle._mercator_px(x, y, zoom), t) for x, y, t in avoid]
    assert not any(zone_box.intersects(b) for b in unit_boxes)
    full = [(x, y, "很长很长的名字" * 20) for x, y, _ in avoid[:1]]  # a label over everything
    assert mapstyle.place_labels(zone, ["甲"], zoom=3, avoid=full, search=True).empty


def test_web_map_has_metric_scale_north_arrow_and_plain_attribution(
    strip: gpd.GeoDataFrame,
) -> None:
    m = webmap.make_map(strip.total_bounds, asset_base_url="/static/", north_title="北")
    html = webmap.map_html(m)
    assert "imperial: false" in html and "L.control.scale()" not in html
    assert "setPrefix('Leaflet')" in html and "onemap-north" in html


def test_zone_outline_is_one_style_on_screen_and_on_paper(strip: gpd.GeoDataFrame) -> None:
    m = webmap.make_map(strip.total_bounds, asset_base_url="/static/")
    webmap.outline_layer(strip.dissolve()).add_to(m)
    html = webmap.map_html(m)
    assert mapstyle.ZONE_COLOR in html and mapstyle.ZONE_CASING in html
    assert "dashArray" not in html  # no dashes over the unit borders
    strokes = [(c, w) for c, w, _ in sm._ZONE_STROKES]
    assert strokes == [
        (mapstyle.ZONE_CASING, mapstyle.ZONE_CASING_WIDTH_PX),
        (mapstyle.ZONE_COLOR, mapstyle.ZONE_WIDTH_PX),
    ]


def test_labels_and_legend_escape_data(strip: gpd.GeoDataFrame) -> None:
    pts = strip.head(1).copy()
    pts["geometry"] = pts.representative_point()
    pts["name"] = ["<b>甲</b>"]
    pts["value"] = ["<i>1</i>"]
    m = webmap.make_map(strip.total_bounds, asset_base_url="/static/")
    webmap.labels_layer(
        pts, label_column="name", value_column="value", css_class="onemap-unit-label"
    ).add_to(m)
    webmap.add_legend(
        m, title="<x>", labels=["a"], colors=["#fff"], note="<n>", extra={"<s>": "#000"}
    )
    html = webmap.map_html(m).replace("\\u0026", "&").replace("\\u003c", "<")
    html = html.replace("\\u003e", ">")
    assert "<b>甲</b>" not in html.replace("\\u7532", "甲") and "<i>1</i>" not in html
    assert "&lt;b&gt;" in html and "&lt;i&gt;1&lt;/i&gt;" in html
    assert "&lt;x&gt;" in html and "&lt;n&gt;" in html and "&lt;s&gt;" in html
    assert "<details open>" in html
