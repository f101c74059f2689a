"""Boundary import: codes, levels, repairs and the hierarchy checks, on the tiny province."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from conftest import COUNTY_A, TOWN_A1, TOWN_A2, V1, V2
from shapely.geometry import Polygon, box

from layers import schema as S
from layers.errors import LedgerError
from layers.ingest.boundaries import check_boundaries, merge_units, read_boundary_units
from layers.ingest.report import PROBLEM, ROW


def write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.to_file(path)
    return path


def test_codes_levels_and_repairs_reported(tmp_path: Path) -> None:
    bowtie = Polygon([(100, 25), (100.5, 25.5), (100.5, 25), (100, 25.5), (100, 25)])
    gdf = gpd.GeoDataFrame(
        {
            "XZQDM": [V1, "530102001000", "5301020010", "530102001002"],
            "XZQMC": ["一村", "一乡", "坏码", "二村"],
        },
        geometry=[
            box(100, 25, 100.5, 25.5),
            box(100, 25, 100.5, 26),
            box(100, 25, 101, 26),
            bowtie,
        ],
        crs="EPSG:4326",
    ).to_crs(4543)
    res = read_boundary_units(write(gdf, tmp_path / "v.gpkg"), level="village")
    assert res.table[S.CODE].tolist() == [V1, V2]
    assert res.table[S.PARENT_CODE].tolist() == [TOWN_A1, TOWN_A1]
    assert res.table.geometry.is_valid.all()
    p = res.report.problems.set_index(ROW)
    assert "代码层级不是行政村" in p.loc[2, PROBLEM]
    assert "不是有效的行政村代码" in p.loc[3, PROBLEM]
    assert p.loc[4, PROBLEM] == "无效几何，已修复（make_valid）"
    assert (res.report.rows_in, res.report.accepted, res.report.rejected) == (4, 2, 2)
    assert "坐标系 EPSG:4543" in res.report.sources["columns"].iloc[0]


def test_no_code_attribute_names_the_fix(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"foo": ["x"]}, geometry=[box(100, 25, 101, 26)], crs="EPSG:4326")
    with pytest.raises(LedgerError, match=r"n\.gpkg: no code attribute among foo; name it XZQDM"):
        read_boundary_units(write(gdf, tmp_path / "n.gpkg"), level="county")
    with pytest.raises(LedgerError, match=r"--level 'town' is not a level"):
        read_boundary_units(tmp_path / "n.gpkg", level="town")


def test_hierarchy_checks(tmp_path: Path, tiny_units) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": [V1, "530102001009", "530109001001"], "name": ["一村", "错位村", "孤村"]},
        geometry=[
            box(100, 25, 100.5, 25.5),  # fine
            box(100.6, 25.1, 100.9, 25.4),  # code says 一乡, lies in 二乡
            box(100, 25, 100.1, 25.1),  # its township 530109001 does not exist
        ],
        crs="EPSG:4326",
    )
    res = read_boundary_units(write(gdf, tmp_path / "h.gpkg"), level="village")
    merged = merge_units(tiny_units, res.table)
    problems = check_boundaries(res.table, merged)
    by_row = problems.groupby(ROW)[PROBLEM].apply(list).to_dict()
    assert sorted(by_row) == [2, 3]
    assert f"位于上级 {TOWN_A2} 的范围内，但代码前缀指向另一上级" in by_row[2]
    assert "有 100.0% 的面积在上级单位边界之外（容差 100 米）" in by_row[2]
    assert by_row[3] == ["上级单位不在边界库中（代码前缀对应的上级不存在）"]
    # a county's village file replaces that county's villages, keeps flags of known codes
    villages = merged[merged[S.LEVEL] == "village"]
    assert not villages[S.CODE].isin(["530102001002", "530102002001"]).any()
    assert villages.set_index(S.CODE).loc[V1, S.POVERTY_VILLAGE]
    assert (merged[S.LEVEL] == "county").sum() == 3 and COUNTY_A in set(merged[S.CODE])
