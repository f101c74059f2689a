"""Rasters: burnt metric values, GeoTIFF round trip, slope, hillshade, zonal terrain."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from geo import raster as R

UTM = "EPSG:32647"


@pytest.fixture
def two_squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"completion": [0.5, 1.0, np.nan]},
        geometry=[box(100, 25, 101, 26), box(101, 25, 102, 26), box(100, 26, 101, 27)],
        crs="EPSG:4326",
    )


def test_rasterize_burns_values_on_an_aligned_grid(two_squares: gpd.GeoDataFrame) -> None:
    r = R.rasterize_column(two_squares, "completion", resolution=0.25)
    assert r.array.shape == (8, 8)
    assert r.transform == Affine(0.25, 0, 100, 0, -0.25, 27)
    assert r.crs == "EPSG:4326"
    lower = r.array[4:, :]
    assert (lower[:, :4] == 0.5).all() and (lower[:, 4:] == 1.0).all()
    assert np.isnan(r.array[:4]).all()  # the NaN unit and the empty corner stay no-data
    assert two_squares["completion"].isna().sum() == 1  # input untouched


def test_geotiff_round_trip_keeps_crs_transform_and_values(
    two_squares: gpd.GeoDataFrame, tmp_path
) -> None:
    r = R.rasterize_column(two_squares, "completion", resolution=0.5)
    path = R.write_geotiff(r, tmp_path / "m.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326
        assert src.transform == r.transform
        data = src.read(1)
    assert np.isfinite(data).sum() == 8
    np.testing.assert_array_equal(data, r.array)


def test_rasterize_refuses_missing_crs(two_squares: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="has no CRS"):
        R.rasterize_column(
            two_squares.set_crs(None, allow_override=True), "completion", resolution=1
        )


def _ramp(rise_per_m: float = 0.1) -> R.Raster:
    """A plane rising eastward on a 100 m grid (projected CRS)."""
    cols = np.arange(20) * 100.0 + 50
    z = np.tile(cols * rise_per_m, (10, 1))
    return R.Raster(z, Affine(100, 0, 0, 0, -100, 1000), UTM)


def test_slope_of_a_plane() -> None:
    slope = R.slope_degrees(_ramp(0.1)).array
    assert slope[5, 5] == pytest.approx(np.degrees(np.arctan(0.1)))


def test_slope_on_a_geographic_grid_uses_metres() -> None:
    # 0.01° cells at the equator ≈ 1113 m; a rise of 111.32 m per cell is a 10% grade
    z = np.tile(np.arange(10) * 111.32, (10, 1))
    dem = R.Raster(z, Affine(0.01, 0, 0, 0, -0.01, 0.05), "EPSG:4326")
    assert R.slope_degrees(dem).array[5, 5] == pytest.approx(np.degrees(np.arctan(0.1)), rel=2e-3)


def test_hillshade_lights_slopes_facing_the_sun() -> None:
    dem = _ramp(0.5)  # faces west
    from_west = R.hillshade(dem, azimuth=270).array[5, 5]
    from_east = R.hillshade(dem, azimuth=90).array[5, 5]
    flat = R.hillshade(R.Raster(np.zeros((5, 5)), dem.transform, UTM), altitude=45).array
    assert from_west > from_east
    assert flat[2, 2] == pytest.approx(255 * np.sin(np.radians(45)))


def test_zonal_terrain_weights_partial_cells() -> None:
    z = np.array([[100.0, 200.0], [300.0, np.nan]])
    dem = R.Raster(z, Affine(1, 0, 0, 0, -1, 2), UTM)
    polys = gpd.GeoDataFrame(
        geometry=[box(0, 1, 2, 2), box(0.5, 0, 1, 1), box(5, 5, 6, 6)], crs=UTM, index=[7, 8, 9]
    )
    out = R.zonal_terrain(polys, dem)
    assert list(out.index) == [7, 8, 9]
    assert out.loc[7, "elevation_mean"] == pytest.approx(150.0)
    assert out.loc[8, "elevation_mean"] == pytest.approx(300.0)
    assert np.isnan(out.loc[9, "elevation_mean"])  # outside the DEM


def test_sample_dem_gives_yunnan_counties_plausible_terrain() -> None:
    dem = R.read_dem(R.sample_dem_path())
    assert dem.crs == "EPSG:4326"
    kunming = gpd.GeoDataFrame(geometry=[box(102.5, 24.8, 103.0, 25.3)], crs="EPSG:4326")
    shangri_la = gpd.GeoDataFrame(geometry=[box(99.4, 27.6, 100.0, 28.2)], crs="EPSG:4326")
    low = R.zonal_terrain(kunming, dem)["elevation_mean"].iloc[0]
    high = R.zonal_terrain(shangri_la, dem)["elevation_mean"].iloc[0]
    assert 1500 < low < 2500  # 昆明 lies near 1,900 m
    assert high > 2800 and high > low  # 香格里拉 lies above 3,000 m


def test_dem_without_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.tif"):
        R.read_dem(tmp_path / "nope.tif")
