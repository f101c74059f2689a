"""Tests for layers.zones: membership from data/zones.toml and zone geometry."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geo import crs as geocrs
from layers import schema
from layers.build import zones
from layers.demo import boundaries
from layers.errors import BoundaryError
from layers.settings import METRIC_CRS


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return boundaries.read_cnmaps_units()


@pytest.fixture(scope="module")
def members(units) -> pd.DataFrame:
    return zones.zone_members(zones.load_zones(), units)


def test_five_zones_in_order():
    z = zones.load_zones()
    assert list(z) == ["镇彝威革命老区", "怒江州", "迪庆州", "边境地区", "直过民族聚居区"]
    assert z["怒江州"].members == ("533300000000",)
    assert z["直过民族聚居区"].unsourced  # the unsourced members are marked
    assert set(z["直过民族聚居区"].unsourced) < set(z["直过民族聚居区"].members)


def test_zone_membership_counts(members):
    counts = members.groupby(schema.ZONE).size().to_dict()
    assert counts == {
        "镇彝威革命老区": 3,
        "怒江州": 4,
        "迪庆州": 3,
        "边境地区": 25,
        "直过民族聚居区": 15,
    }
    assert list(members.columns) == [schema.ZONE, schema.CODE]
    nujiang = set(members.loc[members[schema.ZONE] == "怒江州", schema.CODE])
    assert nujiang == {"533301000000", "533323000000", "533324000000", "533325000000"}


def test_border_zone_matches_county_flags(units, members):
    border_flag = set(units.loc[units[schema.BORDER], schema.CODE])
    assert set(members.loc[members[schema.ZONE] == "边境地区", schema.CODE]) == border_flag


def test_zone_geometry_is_union_of_counties(units):
    z = zones.load_zones()
    geoms = zones.zone_geometries(z, units).set_index(schema.ZONE)
    assert list(geoms.index) == list(z)
    by_code = units.set_index(schema.CODE)
    nujiang_area = geocrs.to_metric(geoms.loc[["怒江州"]], METRIC_CRS).area.iloc[0]
    prefecture_area = geocrs.to_metric(by_code.loc[["533300000000"]], METRIC_CRS).area.iloc[0]
    assert nujiang_area == pytest.approx(prefecture_area, rel=1e-6)
    # the border zone falls apart into several pieces but stays within the province
    province = by_code.geometry.loc[schema.PROVINCE_CODE]
    assert shapely.within(geoms.geometry.to_numpy(), province).all()


def test_prefecture_member_expands_on_a_tiny_fixture():
    units = gpd.GeoDataFrame(
        {
            schema.CODE: ["990000000000", "990100000000", "990101000000", "990102000000"],
            schema.LEVEL: ["province", "prefecture", "county", "county"],
            schema.PARENT_CODE: [None, "990000000000", "990100000000", "990100000000"],
        },
        geometry=[box(0, 0, 2, 1), box(0, 0, 2, 1), box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    z = {
        "A": zones.Zone("A", "a", ("990100000000",)),
        "B": zones.Zone("B", "b", ("990102000000",)),
    }
    m = zones.zone_members(z, units)
    assert m.values.tolist() == [
        ["A", "990101000000"],
        ["A", "990102000000"],
        ["B", "990102000000"],
    ]
    g = zones.zone_geometries(z, units)
    assert shapely.equals(g.geometry.iloc[0], box(0, 0, 2, 1))


def test_unknown_member_is_named(units):
    z = {"X": zones.Zone("X", "x", ("539999000000",))}
    with pytest.raises(BoundaryError, match=r"X: 539999000000"):
        zones.zone_members(z, units)


def test_bad_zone_file_is_reported(tmp_path):
    bad = tmp_path / "zones.toml"
    bad.write_text('[[zones]]\nname = "X"\nmembers = ["53x"]\nname_en = "x"\n', encoding="utf-8")
    with pytest.raises(BoundaryError, match=r"zones\.toml: zone 'X'.*53x"):
        zones.load_zones(bad)
    with pytest.raises(BoundaryError, match="not found"):
        zones.load_zones(tmp_path / "nope.toml")
