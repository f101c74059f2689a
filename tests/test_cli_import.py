"""``onemap import`` end to end on the tiny province: merge, report, atomic store, privacy."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from conftest import COUNTY_A, COUNTY_B, V1, V2, V3, V4, make_projects, make_units
from geopandas.testing import assert_geodataframe_equal

from layers import schema as S
from layers import store
from layers.cli import main as cli
from layers.ingest.template import office_ledger_workbook


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def county_b_book(tmp_path: Path, *, planned: float = 999.0) -> Path:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == COUNTY_B].copy()
    part.loc[part.index[0], S.FUNDS_PLANNED] = planned
    path = tmp_path / "乙县项目库.xlsx"
    path.write_bytes(office_ledger_workbook(part))
    return path


def province(path: Path) -> pd.Series:
    summary = store.read_layer(path, S.TABLE_REGION_SUMMARY)
    return summary.set_index(S.CODE).loc[S.PROVINCE_CODE]


def test_ledger_replaces_only_its_county(tiny_store: Path, tmp_path: Path, capsys) -> None:
    before = store.read_inputs(tiny_store).projects
    book = county_b_book(tmp_path)
    code, out, err = run(["import", "--ledger", str(book), "--store", str(tiny_store)], capsys)
    assert code == 0, err
    assert "读入 5 行 = 接收 3 行 + 拒收 2 行" in out
    assert "replaced county libraries: 530103" in out
    after = store.read_inputs(tiny_store).projects
    keep = lambda df: df[df[S.COUNTY_CODE] == COUNTY_A].reset_index(drop=True)  # noqa: E731
    assert_geodataframe_equal(keep(after), keep(before))
    # 1175 planned in the tiny province; P09 goes from 300 to 999
    assert province(tiny_store)[S.FUNDS_PLANNED] == pytest.approx(1175 - 300 + 999)
    assert province(tiny_store)[S.N_PROJECTS] == 13
    report = tmp_path / "store_import_report.xlsx"
    wb = openpyxl.load_workbook(report)
    assert wb.sheetnames == ["概况", "问题"]
    info = store.read_build_info(tiny_store)
    assert "乙县项目库.xlsx" in info["source"] and "imported" in info


def test_replace_all(tiny_store: Path, tmp_path: Path, capsys) -> None:
    book = county_b_book(tmp_path)
    code, _, err = run(
        ["import", "--ledger", str(book), "--store", str(tiny_store), "--replace-all"], capsys
    )
    assert code == 0, err
    assert province(tiny_store)[S.N_PROJECTS] == 3


def test_dry_run_and_unreadable_file_leave_store_byte_identical(
    tiny_store: Path, tmp_path: Path, capsys
) -> None:
    before = sha(tiny_store)
    book = county_b_book(tmp_path)
    report = tmp_path / "r" / "check"
    code, out, _ = run(
        [
            "import",
            "--ledger",
            str(book),
            "--store",
            str(tiny_store),
            "--dry-run",
            "--report",
            str(report),
        ],
        capsys,
    )
    assert code == 0 and "dry run" in out
    assert (tmp_path / "r" / "check.xlsx").is_file() and (tmp_path / "r" / "check.csv").is_file()
    assert sha(tiny_store) == before
    broken = tmp_path / "坏.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    code, out, err = run(
        ["import", "--ledger", str(book), str(broken), "--store", str(tiny_store)], capsys
    )
    assert code == 2
    assert err.count("\n") == 1 and "坏.xlsx: not a readable .xlsx workbook" in err
    assert sha(tiny_store) == before
    assert not list(tmp_path.glob(".store.tmp-*"))


def test_household_registry_never_reaches_store_or_report(
    tiny_store: Path, tmp_path: Path, capsys
) -> None:
    names, ids = ["欧阳明月", "司马青云"], ["530102198801011234", "53010219890101123X"]
    rows = [
        ["户主姓名", "身份证号", "行政村代码", "家庭人口数", "主要致贫原因", "联系电话"],
        [names[0], ids[0], V1, 5, "因病", "13912345678"],
        [names[1], ids[1], V1, 3, "缺资金", "13987654321"],
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    reg = tmp_path / "花名册.csv"
    reg.write_bytes(buf.getvalue().encode("gbk"))
    code, out, err = run(
        [
            "import",
            "--registry",
            str(reg),
            "--store",
            str(tiny_store),
            "--report",
            str(tmp_path / "rep"),
        ],
        capsys,
    )
    assert code == 0, err
    registry = store.read_layer(tiny_store, S.LAYER_REGISTRY).set_index(S.VILLAGE_CODE)
    assert registry.loc[V1, S.POOR_HOUSEHOLDS] == 2 and registry.loc[V1, S.POOR_POPULATION] == 8
    assert registry.loc[V2, S.POOR_POPULATION] == 60  # other villages untouched
    blobs = [tiny_store.read_bytes(), out.encode()]
    blobs += [p.read_bytes() for p in tmp_path.glob("rep*")]
    for secret in [*names, *ids, "13912345678"]:
        for enc in ("utf-8", "gbk", "utf-16-le"):
            assert all(secret.encode(enc) not in b for b in blobs), secret


def test_gauss_kruger_village_boundaries(tiny_store: Path, tmp_path: Path, capsys) -> None:
    units = make_units()
    villages = units[units[S.CODE].isin([V1, V2, V3, V4])].copy()
    moved = villages.geometry.to_numpy()
    moved[3] = shapely.affinity.translate(moved[3], xoff=0.3)  # 四村 now sticks out of 甲县
    gk = gpd.GeoDataFrame(
        {"CJQYDM": villages[S.CODE].str.slice(0, 12), "CJQYMC": villages[S.NAME]},
        geometry=moved,
        crs="EPSG:4326",
    ).to_crs(4543)
    shp = tmp_path / "villages.shp"
    gk.to_file(shp, encoding="gbk")
    shp.with_suffix(".prj").unlink()
    shp.with_suffix(".cpg").unlink()
    code, _, err = run(
        ["import", "--boundaries", str(shp), "--level", "village", "--store", str(tiny_store)],
        capsys,
    )
    assert code == 2 and "villages.shp has no .prj" in err and "GK3:CM102" in err
    code, _, err = run(
        [
            "import",
            "--boundaries",
            str(shp),
            "--level",
            "village",
            "--crs",
            "EPSG:4543",
            "--store",
            str(tiny_store),
            "--report",
            str(tmp_path / "b"),
        ],
        capsys,
    )
    assert code == 0, err
    got = store.read_layer(tiny_store, S.LAYER_ADMIN_UNITS).set_index(S.CODE)
    assert got.loc[V1, S.NAME] == "一村" and bool(got.loc[V1, S.POVERTY_VILLAGE])
    assert shapely.hausdorff_distance(got.loc[V1, "geometry"], villages.geometry.iloc[0]) < 1e-6
    problems = pd.read_csv(tmp_path / "b.csv", encoding="utf-8-sig", dtype=str)
    outside = problems[problems["问题"].str.contains("上级单位边界之外", na=False)]
    assert outside["值"].tolist() == [V4] and outside["行"].tolist() == ["4"]


def test_boundary_level_count_mismatch(tiny_store: Path, capsys) -> None:
    argv = ["import", "--boundaries", "a.shp", "--boundaries", "b.shp", "--store", str(tiny_store)]
    code, _, err = run(
        [*argv, "--level", "village", "--level", "county", "--level", "township"], capsys
    )
    assert code == 2 and "2 --boundaries file(s) but 3 --level value(s)" in err


def test_nothing_to_import(tiny_store: Path, capsys) -> None:
    code, _, err = run(["import", "--store", str(tiny_store)], capsys)
    assert code == 2 and "nothing to import" in err


def test_first_import_needs_registry_and_ledger(tmp_path: Path, capsys) -> None:
    book = county_b_book(tmp_path)
    code, _, err = run(
        ["import", "--ledger", str(book), "--store", str(tmp_path / "new.gpkg")], capsys
    )
    assert code == 2 and "the first import needs the poverty registry" in err
    assert not (tmp_path / "new.gpkg").exists()
