"""Tests for geo.crs: CRS policy and the GCJ-02 ↔ WGS84 conversion."""

from __future__ import annotations

import geopandas as gpd
import geopandas.testing
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo import crs
from geo.errors import CRSError
from layers.settings import METRIC_CRS

# WGS84 → GCJ-02 pairs. Beijing: the published example of wandergis/coordtransform
# (wgs84togcj02(116.404, 39.915) = [116.41024449916938, 39.91640428150164]). Yunnan points:
# computed with the independent implementation in fast-geocn 1.1.3 (fast_geocn/coord.py).
KNOWN_PAIRS = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ((102.7123, 25.0406), (102.71374162516912, 25.03762735249865)),  # 昆明
    ((98.8566, 25.8175), (98.85699234763798, 25.81418425613336)),  # 泸水
    ((99.7025, 27.8269), (99.70359363841702, 27.823403610171432)),  # 香格里拉
]


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN_PAIRS)
def test_wgs84_to_gcj02_matches_known_pairs(wgs, gcj):
    out = crs.wgs84_to_gcj02(np.array([Point(*wgs)]))[0]
    assert out.x == pytest.approx(gcj[0], abs=1e-9)
    assert out.y == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN_PAIRS)
def test_gcj02_to_wgs84_inverts_known_pairs(wgs, gcj):
    out = crs.gcj02_to_wgs84(np.array([Point(*gcj)]))[0]
    assert out.x == pytest.approx(wgs[0], abs=1e-6)
    assert out.y == pytest.approx(wgs[1], abs=1e-6)


def test_offset_in_yunnan_is_290_to_500_m():
    rng = np.random.default_rng(1)
    lonlat = rng.uniform([97.6, 21.2], [106.1, 29.1], size=(2000, 2))
    wgs = gpd.GeoSeries(shapely.points(lonlat), crs="EPSG:4326")
    gcj = crs.wgs84_to_gcj02(wgs)
    d = crs.to_metric(wgs, METRIC_CRS).distance(crs.to_metric(gcj, METRIC_CRS))
    assert d.min() > 250
    assert d.max() < 550
    assert 290 <= d.median() <= 500


def test_round_trip_polygon_frame_keeps_columns_and_input():
    poly = Polygon([(100.0, 25.0), (100.5, 25.0), (100.5, 25.4), (100.0, 25.4)])
    gdf = gpd.GeoDataFrame({"code": ["530000000000"]}, geometry=[poly], crs="EPSG:4326")
    before = gdf.copy()
    back = crs.gcj02_to_wgs84(crs.wgs84_to_gcj02(gdf))
    geopandas.testing.assert_geodataframe_equal(gdf, before)  # input untouched
    assert list(back.columns) == ["code", "geometry"]
    err = np.abs(shapely.get_coordinates(back.geometry) - shapely.get_coordinates(gdf.geometry))
    assert err.max() < 1e-6


def test_points_outside_china_are_unchanged():
    pts = np.array([Point(2.35, 48.85), Point(-74.0, 40.7)])
    out = crs.wgs84_to_gcj02(pts)
    assert shapely.equals(out, pts).all()


def test_require_crs_names_the_fix():
    gdf = gpd.GeoDataFrame(geometry=[Point(100, 25)])
    with pytest.raises(CRSError, match=r"no coordinate reference system.*set_crs"):
        crs.require_crs(gdf)
    with pytest.raises(CRSError, match="set_crs"):
        crs.to_metric(gdf, METRIC_CRS)


def test_gcj_conversion_refuses_projected_data():
    gdf = gpd.GeoDataFrame(geometry=[Point(100, 25)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="needs lon/lat"):
        crs.gcj02_to_wgs84(crs.to_metric(gdf, METRIC_CRS))


def test_to_metric_and_to_web_round_trip():
    gdf = gpd.GeoDataFrame(geometry=[Point(101.5, 25.0)], crs="EPSG:4326")
    metric = crs.to_metric(gdf, METRIC_CRS)
    assert metric.crs.is_projected
    # the Albers is centred on 101.5°E: the point sits on the central meridian
    assert metric.geometry.x.iloc[0] == pytest.approx(0.0, abs=1e-6)
    back = crs.to_web(metric)
    assert back.crs.to_epsg() == 4326
    assert back.geometry.x.iloc[0] == pytest.approx(101.5, abs=1e-9)


def test_area_of_one_degree_cell_in_metric_crs():
    cell = gpd.GeoSeries([Polygon([(101, 25), (102, 25), (102, 26), (101, 26)])], crs="EPSG:4326")
    # geodesic area on GRS80 (pyproj.Geod(ellps="GRS80").geometry_area_perimeter): 11,137.59 km²
    area = crs.to_metric(cell, METRIC_CRS).area.iloc[0] / 1e6
    assert area == pytest.approx(11137.59, rel=1e-4)
