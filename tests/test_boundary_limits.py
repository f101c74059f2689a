"""Bounded boundary uploads: a zipped shapefile or a GeoPackage is measured (bytes, a zip's files
and unpacked size, features) before it is unpacked or read, and refused with one line naming the
file and the limit; the store stays byte-identical."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import make_projects, make_registry, make_units
from hypothesis import given, settings
from hypothesis import strategies as st

from layers import schema as S
from layers import store
from layers.build import pipeline, zones
from layers.cli import main as cli
from layers.errors import BoundaryError
from layers.ingest import limits
from layers.ingest.boundaries import read_boundary_units
from layers.ingest.limits import Limits
from layers.settings import INPUT_LIMITS

SMALL = Limits(
    file_bytes=1 << 20,
    unpacked_bytes=4 << 20,
    pack_ratio=100,
    rows=50,
    columns=10,
    cells=200,
    boundary_bytes=4 << 20,
    members=8,
    features=6,
)


def villages(n: int) -> gpd.GeoDataFrame:
    """``n`` square villages of 甲县 (codes 530102001001…), in EPSG:4326."""
    return gpd.GeoDataFrame(
        {
            "code": [f"530102001{i:03d}" for i in range(1, n + 1)],
            "name": [f"{i}村" for i in range(1, n + 1)],
        },
        geometry=[shapely.box(102 + i * 0.01, 25, 102.01 + i * 0.01, 25.01) for i in range(n)],
        crs="EPSG:4326",
    )


def zipped_shapefile(n: int, tmp_path: Path) -> bytes:
    """A shapefile of ``n`` features with its .dbf/.shx/.prj/.cpg, zipped as users send it."""
    folder = tmp_path / f"shp{n}"
    folder.mkdir()
    villages(n).to_file(folder / "villages.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f.name)
    return buf.getvalue()


def zip_bomb(unpacked_mb: int) -> bytes:
    """A 'shapefile' whose .shp is ``unpacked_mb`` MB of zeros: ~1 KB per MB zipped."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("bomb.shp", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(unpacked_mb):
                f.write(block)
        z.writestr("bomb.dbf", b"\x03" + bytes(31))
    return buf.getvalue()


def test_a_zipped_shapefile_bomb_is_refused_from_the_headers() -> None:
    data = zip_bomb(24)
    assert len(data) < 100_000
    tracemalloc.start()
    with pytest.raises(
        BoundaryError,
        match=r"^bomb\.zip: unpacking to 24 MB is more than the limit of 4 MB "
        r"\(settings\.INPUT_LIMITS\['boundary_mb'\]\)",
    ):
        limits.check_boundary_file(("bomb.zip", data), SMALL)
    assert tracemalloc.get_traced_memory()[1] < 5 << 20  # nothing was unpacked
    tracemalloc.stop()
    # within the unpacked limit, the packing ratio still gives it away
    roomy = Limits(**{**SMALL.__dict__, "boundary_bytes": 100 << 20})
    with pytest.raises(BoundaryError, match=r"^bomb\.zip: unpacks \d+ times its size"):
        limits.check_boundary_file(("bomb.zip", data), roomy)


def test_too_many_files_in_the_zip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(9):
            z.writestr(f"part{i}.txt", "x")
    with pytest.raises(
        BoundaryError,
        match=r"^many\.zip: an archive of 9 files is more than the limit of 8 "
        r"\(settings\.INPUT_LIMITS\['boundary_members'\]\)",
    ):
        limits.check_boundary_file(("many.zip", buf.getvalue()), SMALL)
    with pytest.raises(BoundaryError, match=r"^broken\.zip: not a readable \.zip archive"):
        limits.check_boundary_file(("broken.zip", b"PK\x03\x04 not really"), SMALL)


def test_features_counted_before_reading(tmp_path: Path) -> None:
    data = zipped_shapefile(7, tmp_path)
    with pytest.raises(
        BoundaryError,
        match=r"^v\.zip \(villages\.dbf\): 7 features is more than the limit of 6 "
        r"\(settings\.INPUT_LIMITS\['features'\]\)",
    ):
        limits.check_boundary_file(("v.zip", data), SMALL)
    limits.check_boundary_file(("v.zip", zipped_shapefile(6, tmp_path)), SMALL)
    shp = tmp_path / "shp7" / "villages.shp"
    with pytest.raises(BoundaryError, match=r"^villages\.shp: 7 features is more than"):
        limits.check_boundary_file(shp, SMALL)
    gpkg = tmp_path / "v.gpkg"
    villages(7).to_file(gpkg, layer="村界", driver="GPKG")
    message = r"^v\.gpkg \(layer 村界\): 7 features is more than the limit of 6"
    with pytest.raises(BoundaryError, match=message):
        limits.check_boundary_file(gpkg, SMALL)
    with pytest.raises(BoundaryError, match=message):  # an upload: bytes, not a path
        limits.check_boundary_file(("v.gpkg", gpkg.read_bytes()), SMALL)
    with pytest.raises(BoundaryError, match=r"^x\.gpkg: not a readable GeoPackage"):
        limits.check_boundary_file(("x.gpkg", b"not sqlite at all" * 10), SMALL)


def test_a_big_file_is_refused_from_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.geojson"
    with big.open("wb") as f:
        f.truncate((4 << 20) + 1)  # sparse: refused from the size, never read
    with pytest.raises(BoundaryError, match=r"^big\.geojson: 4 MB is more than the limit of 4 MB"):
        limits.check_boundary_file(big, SMALL)


def test_default_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    lim = limits.default_limits()
    assert lim.boundary_bytes == INPUT_LIMITS["boundary_mb"] * (1 << 20)
    assert (lim.members, lim.features) == (50, 100_000)
    monkeypatch.setitem(INPUT_LIMITS, "features", 3)
    assert limits.default_limits().features == 3


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 700_000), min_size=1, max_size=12))
def test_zip_limits_hold_exactly(sizes: list[int]) -> None:
    """Refused exactly when the files or their unpacked bytes pass the limits."""
    lim = Limits(**{**SMALL.__dict__, "boundary_bytes": 3 << 20})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i, size in enumerate(sizes):
            z.writestr(f"p{i}.txt", bytes(size))
    data = buf.getvalue()
    too_big = len(data) > lim.boundary_bytes or sum(sizes) > lim.boundary_bytes
    if len(sizes) > lim.members or too_big:
        with pytest.raises(BoundaryError, match=r"^p\.zip: .* is more than the limit of"):
            limits.check_boundary_file(("p.zip", data), lim)
    else:
        limits.check_boundary_file(("p.zip", data), lim)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 10))
def test_gpkg_feature_limit_holds_exactly(n: int, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("g") / "v.gpkg"
    villages(n).to_file(path, driver="GPKG")
    if n <= SMALL.features:
        limits.check_boundary_file(path, SMALL)
    else:
        with pytest.raises(BoundaryError, match=rf"{n} features is more than the limit of 6"):
            limits.check_boundary_file(path, SMALL)


def test_reading_boundaries_checks_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = zipped_shapefile(7, tmp_path)
    assert len(read_boundary_units(("v.zip", data), level="village").table) == 7
    monkeypatch.setitem(INPUT_LIMITS, "features", 6)
    with pytest.raises(BoundaryError, match=r"^v\.zip \(villages\.dbf\): 7 features"):
        read_boundary_units(("v.zip", data), level="village")


def test_onemap_import_refuses_a_bomb_and_leaves_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zpath = tmp_path / "zones.toml"  # the tiny province's own zone
    zpath.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n', encoding="utf-8"
    )
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    path = store.write_store(
        tmp_path / "store.gpkg",
        pipeline.build_tables(inputs),
        pipeline.make_build_info(inputs, source="tiny"),
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    bomb = tmp_path / "村界.zip"
    bomb.write_bytes(zip_bomb(30))  # 30 MB of zeros in ~30 KB: refused by the packing ratio
    argv = ["import", "--boundaries", str(bomb), "--level", "village", "--store", str(path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "村界.zip: unpacks" in err and "INPUT_LIMITS['pack_ratio']" in err
    monkeypatch.setitem(INPUT_LIMITS, "boundary_mb", 10)
    assert cli.main(argv) == 2
    assert "unpacking to 30 MB is more than the limit of 10 MB" in capsys.readouterr().err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert store.read_layer(path, S.LAYER_ADMIN_UNITS)[S.CODE].tolist() == (
        make_units()[S.CODE].tolist()
    )
