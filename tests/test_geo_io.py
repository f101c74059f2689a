"""Boundary files in any CRS: GK zones with/without zone numbers, missing .prj, GBK, GCJ-02."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo import io as gio
from geo.errors import CRSError, GeoFileError

CRS = "EPSG:4326"


@pytest.fixture
def counties() -> gpd.GeoDataFrame:
    """Two county squares near 100–102°E with Chinese names, as a surveying office sends them."""
    return gpd.GeoDataFrame(
        {"XZQDM": ["530102", "530103"], "XZQMC": ["甲县", "乙县"]},
        geometry=[box(100, 25, 101, 26), box(101, 25, 102, 26)],
        crs=CRS,
    )


def max_error_m(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> float:
    a = got.to_crs(3857).geometry.to_numpy()
    b = want.to_crs(3857).geometry.to_numpy()
    return float(shapely.hausdorff_distance(a, b).max())


def write(gdf: gpd.GeoDataFrame, path: Path, *, drop: tuple[str, ...] = (), **kw) -> Path:
    gdf.to_file(path, **kw)
    for ext in drop:
        path.with_suffix(ext).unlink()
    return path


@pytest.mark.parametrize("epsg", [4543, 4542, 4544, 4522, 4496, 4505, 4490])
def test_projected_files_with_prj_read_back(tmp_path, counties, epsg: int) -> None:
    path = write(counties.to_crs(epsg), tmp_path / f"c{epsg}.shp")
    bf = gio.read_boundaries(path)
    assert bf.gdf.crs == CRS
    assert bf.source_crs == f"EPSG:{epsg}"
    assert max_error_m(bf.gdf, counties) < 0.01
    assert bf.gdf["XZQMC"].tolist() == ["甲县", "乙县"]


def test_zone_number_in_easting_without_prj_is_inferred(tmp_path, counties) -> None:
    path = write(counties.to_crs(4522), tmp_path / "z.shp", drop=(".prj",))
    bf = gio.read_boundaries(path)
    assert bf.source_crs == "EPSG:4522"
    assert "带号 34" in bf.notes[0]
    assert max_error_m(bf.gdf, counties) < 0.01


def test_six_degree_zone_number_inferred(tmp_path, counties) -> None:
    path = write(counties.to_crs(4495), tmp_path / "z6.shp", drop=(".prj",))
    assert gio.read_boundaries(path).source_crs == "EPSG:4495"


def test_plain_gk_without_prj_needs_crs(tmp_path, counties) -> None:
    path = write(counties.to_crs(4543), tmp_path / "noprj.shp", drop=(".prj",))
    with pytest.raises(CRSError, match=r"noprj\.shp has no \.prj .*pass --crs.*GK3:CM102"):
        gio.read_boundaries(path)
    for crs in ("EPSG:4543", "4543", "GK3:CM102"):
        bf = gio.read_boundaries(path, crs=crs)
        assert max_error_m(bf.gdf, counties) < 0.01


def test_wrong_crs_is_caught(tmp_path, counties) -> None:
    path = write(counties.to_crs(4543), tmp_path / "noprj.shp", drop=(".prj",))
    with pytest.raises(CRSError, match=r"outside China; the CRS is wrong"):
        gio.read_boundaries(path, crs="EPSG:3857")


def test_prj_without_zone_but_eastings_with_zone_is_fixed(tmp_path, counties) -> None:
    mixed = counties.to_crs(4522).set_crs(4543, allow_override=True)
    path = write(mixed, tmp_path / "mixed.gpkg")
    bf = gio.read_boundaries(path)
    assert any("已去掉带号" in n for n in bf.notes)
    assert max_error_m(bf.gdf, counties) < 0.01
    wrong_zone = counties.to_crs(4522).set_crs(4544, allow_override=True)
    path = write(wrong_zone, tmp_path / "wrongzone.gpkg")
    with pytest.raises(CRSError, match=r"zone number 34 .* the \.prj says CM 105°E"):
        gio.read_boundaries(path)


def test_lonlat_without_prj_is_cgcs2000(tmp_path, counties) -> None:
    path = write(counties, tmp_path / "ll.shp", drop=(".prj",))
    bf = gio.read_boundaries(path)
    assert "EPSG:4490" in bf.notes[0]
    assert max_error_m(bf.gdf, counties) < 0.01


def test_gbk_names_without_cpg(tmp_path, counties) -> None:
    path = write(counties, tmp_path / "gbk.shp", drop=(".cpg",), encoding="gbk")
    bf = gio.read_boundaries(path)
    assert bf.gdf["XZQMC"].tolist() == ["甲县", "乙县"]
    assert bf.encoding.startswith("gb18030")
    with_cpg = write(counties, tmp_path / "cpg.shp", encoding="gbk")
    assert gio.read_boundaries(with_cpg).gdf["XZQMC"].tolist() == ["甲县", "乙县"]


def test_geojson_and_zip_upload(tmp_path, counties) -> None:
    path = write(counties, tmp_path / "c.geojson", driver="GeoJSON")
    assert len(gio.read_boundaries(path).gdf) == 2
    (tmp_path / "z").mkdir()
    shp = write(counties.to_crs(4543), tmp_path / "z" / "c.shp")
    zpath = tmp_path / "c.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in shp.parent.iterdir():
            z.write(f, f.name)
    bf = gio.read_boundaries(("c.zip", zpath.read_bytes()))
    assert max_error_m(bf.gdf, counties) < 0.01


def test_gcj02_option(tmp_path, counties) -> None:
    from geo.crs import wgs84_to_gcj02

    shifted = wgs84_to_gcj02(counties)
    path = write(shifted, tmp_path / "amap.geojson", driver="GeoJSON")
    assert max_error_m(gio.read_boundaries(path).gdf, counties) > 250  # Mars offset
    assert max_error_m(gio.read_boundaries(path, gcj02=True).gdf, counties) < 0.01


def test_invalid_geometry_repaired_and_named(tmp_path) -> None:
    bowtie = Polygon([(100, 25), (101, 26), (101, 25), (100, 26), (100, 25)])
    gdf = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(101, 25, 102, 26), bowtie], crs=CRS)
    path = write(gdf, tmp_path / "bad.gpkg")
    bf = gio.read_boundaries(path)
    assert bf.repaired.tolist() == [1]
    assert bf.gdf.geometry.is_valid.all()
    assert bf.gdf.geometry.iloc[1].area == pytest.approx(0.5)


def test_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(GeoFileError, match=r"nope\.shp: file not found"):
        gio.read_boundaries(tmp_path / "nope.shp")
    (tmp_path / "x.kml").write_text("<kml/>")
    with pytest.raises(GeoFileError, match=r"x\.kml: unsupported boundary file type '\.kml'"):
        gio.read_boundaries(tmp_path / "x.kml")
    (tmp_path / "bad.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(GeoFileError, match=r"bad\.gpkg: cannot be read as a boundary file"):
        gio.read_boundaries(tmp_path / "bad.gpkg")


def test_unreadable_upload_error_keeps_the_server_temp_folder_out() -> None:
    """An upload is unpacked into a temporary folder: its path never reaches the message."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ext in ("shp", "shx", "dbf"):
            z.writestr(f"county.{ext}", b"garbage" * 20)
    for upload in [("up.zip", buf.getvalue()), ("up.gpkg", b"not a geopackage")]:
        with pytest.raises(GeoFileError, match=r"cannot be read as a boundary file") as info:
            gio.read_boundaries(upload)
        message = str(info.value)
        assert message.startswith(f"{upload[0]}: ")
        assert "onemap-bnd" not in message and tempfile.gettempdir() not in message
        assert "specify the correct driver" not in message


@pytest.mark.parametrize(
    ("text", "epsg"),
    [("GK3:34", 4522), ("gk3:cm102", 4543), ("GK6:18", 4496), ("GK6:CM105", 4507), ("4490", 4490)],
)
def test_parse_crs_shorthands(text: str, epsg: int) -> None:
    assert gio.parse_crs(text).to_epsg() == epsg


def test_gk_helpers_reject_nonsense() -> None:
    with pytest.raises(CRSError, match=r"zone 60 is outside China's zones 25–45"):
        gio.gk_crs(width=3, zone=60)
    with pytest.raises(CRSError, match=r"101°E is not a 3° Gauss-Krüger meridian"):
        gio.gk_crs(width=3, central_meridian=101)
    with pytest.raises(CRSError, match=r"--crs 'EPSG:999999' is not a CRS PROJ knows"):
        gio.parse_crs("EPSG:999999")
    assert gio.gk_zone_of(34_512_345.6) == (3, 34)
    assert gio.gk_zone_of(18_400_000.0) == (6, 18)
    assert gio.gk_zone_of(512_345.6) is None
    assert gio.gk_zone_of(float(np.nan)) is None
