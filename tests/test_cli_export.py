"""``onemap export …`` end to end on the fixture province: files written, names, errors."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from PIL import Image

from geo import staticmap as sm
from layers.cli import main as cli
from tests.conftest import PREF_A
from tests.test_export import write_tiny_store


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("cli") / "tiny.gpkg")


def _run(*argv: str) -> int:
    return cli.main(["export", *argv])


def test_map_png_with_default_name(
    store_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("map", "--store", str(store_file), "--region", "530100", "--dpi", "60") == 0
    today = dt.datetime.now(dt.UTC).date()
    out = tmp_path / f"{PREF_A}_甲市_completion_map_{today:%Y%m%d}.png"
    assert out.exists(), list(tmp_path.iterdir())
    assert str(out.name) in capsys.readouterr().out
    img = Image.open(out)
    assert img.size == sm.pixel_size("A4", "landscape", 60)
    assert np.asarray(img.convert("L")).std() > 20


def test_map_with_filters_and_format(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.svg"
    status = _run(
        "map", "--store", str(store_file), "--region", PREF_A, "--metric", "coverage",
        "--sector", "water,industry", "--years", "2016-2019", "--out", str(out),
    )  # fmt: skip
    assert status == 0
    assert b"<svg" in out.read_bytes()[:400]


def test_pack_pdf_pages(store_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pack.pdf"
    assert _run("pack", "--store", str(store_file), "--by", "prefecture", "--out", str(out)) == 0
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           3" in info
    assert "3 页" in capsys.readouterr().out


def test_table_csv_and_layers_zip(store_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    assert _run("table", "--store", str(store_file), "--kind", "projects", "--out", str(csv)) == 0
    df = pd.read_csv(csv, encoding="utf-8-sig")
    assert len(df) == 13 and csv.read_bytes().startswith(b"\xef\xbb\xbf")
    shp = tmp_path / "l.zip"
    status = _run(
        "layers", "--store", str(store_file), "--region", PREF_A, "--format", "shp",
        "--encoding", "GBK", "--with-projects", "--out", str(shp),
    )  # fmt: skip
    assert status == 0
    with zipfile.ZipFile(shp) as z:
        assert {"units.shp", "projects.shp"} <= set(z.namelist())
        assert z.read("units.cpg") == b"GBK"


def test_raster_with_hillshade_and_terrain(store_file: Path, tmp_path: Path) -> None:
    tif, hs, terr = tmp_path / "c.tif", tmp_path / "hs.tif", tmp_path / "t.gpkg"
    status = _run(
        "raster", "--store", str(store_file), "--metric", "completion", "--resolution", "0.1",
        "--out", str(tif), "--hillshade", str(hs), "--terrain", str(terr),
    )  # fmt: skip
    assert status == 0
    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == 4326 and np.isfinite(src.read(1)).any()
    with rasterio.open(hs) as src:
        assert np.nanmax(src.read(1)) > 0
    villages = gpd.read_file(terr)
    assert len(villages) == 7 and villages["elevation_mean"].notna().all()


def test_html(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.html"
    assert _run("html", "--store", str(store_file), "--out", str(out)) == 0
    assert "L.map(" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("map", "--years", "20x6"), "--years got '20x6'"),
        (("map", "--sector", "space"), "--sector got ['space']"),
        (("map", "--region", "539900"), "539900000000"),
        (("map", "--breaks", "1,0.5"), "must ascend"),
        (("map", "--out", "x.gif"), "format 'gif'"),
        (("pack", "--within", PREF_A), "--by prefecture must be below"),
    ],
)
def test_errors_are_one_line_with_status_2(
    store_file: Path, tmp_path: Path, argv: tuple[str, ...], message: str, capsys
) -> None:
    argv = tuple(str(tmp_path / a) if a == "x.gif" else a for a in argv)
    assert _run(*argv, "--store", str(store_file)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("onemap: error:") and "\n" not in err
    assert message in err


def test_bad_choice_is_refused_by_the_parser(store_file: Path, capsys) -> None:
    with pytest.raises(SystemExit, match="2"):
        _run("map", "--store", str(store_file), "--format", "gif")
    assert "invalid choice: 'gif'" in capsys.readouterr().err


def test_png_bytes_match_the_page_path(store_file: Path, tmp_path: Path) -> None:
    """The CLI writes what ``export.map_bytes`` (the page's call) returns for the same view."""
    from layers.export import maps, snapshot

    out = tmp_path / "cli.png"
    assert _run("map", "--store", str(store_file), "--region", PREF_A, "--out", str(out)) == 0
    snap = snapshot.read_snapshot(
        store_file, levels=snapshot.levels_for(snapshot.MapRequest(region=PREF_A))
    )
    page = maps.map_bytes(maps.prepare_map(snap, snapshot.MapRequest(region=PREF_A)))
    a = np.asarray(Image.open(out).convert("L"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(page)).convert("L"), dtype=float)
    assert a.shape == b.shape
    # identical except the generated-time line in the footer (it may tick over a minute)
    h = a.shape[0]
    assert np.array_equal(a[: int(h * 0.85)], b[: int(h * 0.85)])
