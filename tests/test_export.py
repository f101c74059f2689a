"""Exports on the tiny fixture province: maps, packs, tables, layers, HTML and rasters."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn

from geo import classify, raster, webmap
from geo import staticmap as sm
from layers import schema as S
from layers import store
from layers.build import pipeline
from layers.errors import ExportError
from layers.export import figures, maps, pack, slides, snapshot, tables, web
from layers.export import layers as export_layers
from layers.export import raster as export_raster
from layers.export.snapshot import MapRequest, Snapshot
from layers.present import query
from tests.conftest import (
    COUNTY_A,
    PREF_A,
    PROVINCE,
    V1,
    make_projects,
    make_registry,
    make_units,
    make_zone_members,
)

NOW = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)


def write_tiny_store(path: Path) -> Path:
    """The fixture province built and written as a demo store (one project name is a formula)."""
    units, registry, projects = make_units(), make_registry(), make_projects()
    projects.loc[projects[S.PROJECT_ID] == "P02", S.PROJECT_NAME] = '=HYPERLINK("x")'
    tables = pipeline.build_layers(units, registry, projects, make_zone_members())
    tables.update({S.LAYER_ADMIN_UNITS: units, S.LAYER_REGISTRY: registry})
    info = {"built_at": "2025-12-31T08:00:00+00:00", "demo": "true", "source": "测试数据"}
    return store.write_store(path, tables, info)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("store") / "tiny.gpkg")


@pytest.fixture(scope="module")
def snap(tiny_store: Path) -> Snapshot:
    return snapshot.read_snapshot(
        tiny_store, levels=S.LEVELS, with_projects=True, zone_members=make_zone_members()
    )


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=float)


def test_map_of_a_prefecture_shows_its_counties_with_words(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(region=PREF_A), now=NOW)
    assert sorted(data.layers.units[S.NAME]) == ["乙县", "甲县"]
    assert data.text.title == "甲市 · 各县（市、区）完工率 2014–2020"  # the year slider's span
    # 甲县: 8 of 10 projects done (P11 county-wide counts for the county); 乙县: 2 of 3
    values = data.layers.units.set_index(S.NAME)[S.COMPLETION]
    assert values["甲县"] == pytest.approx(0.8) and values["乙县"] == pytest.approx(2 / 3)
    assert data.text.footer[0] == "筛选：全部项目"
    assert data.text.footer[1] == "数据日期：2025-12-31 · 数据来源：测试数据"
    assert data.text.footer[2].startswith("生成时间：2026-01-02 03:04 UTC")
    assert data.text.stamp == "演示数据"
    assert data.layers.locator is not None and data.layers.context is not None


def test_map_words_in_english(snap: Snapshot) -> None:
    """lang="en": title, subtitle, legend and small print in English; place names stay."""
    flt = query.ProjectFilter(sectors=("water",), years=(2017, 2018))
    req = MapRequest(region=PREF_A, flt=flt, breaks_from="filtered", lang="en")
    data = maps.prepare_map(snap, req, now=NOW)
    assert data.text.title == "甲市 · Completion by county 2017–2018"
    assert data.text.subtitle.startswith("Units: county · 2 · ")
    assert data.text.legend_title == "Completion (%)"
    assert data.text.footer[0] == "Filter: Sector: Water; Plan years: 2017–2018"
    assert data.text.footer[1] == "Data date: 2025-12-31 · source: 测试数据"  # the store's words
    assert data.text.footer[2].startswith("Made 2026-01-02 03:04 UTC")
    assert (data.text.no_data_label, data.text.outline_label) == (
        "No data",
        "Priority zone outline",
    )
    with pytest.raises(ExportError, match="`lang` was 'fr'"):
        MapRequest(lang="fr")


def test_title_years_follow_the_slider_not_the_exit_years(snap: Snapshot) -> None:
    """Unfiltered: the campaign's plan years (the slider's 2014–2020), widened by projects
    planned later; filtered: the filter's years."""
    assert snapshot.year_span(snap, MapRequest(region=PREF_A)) == "2014–2020"
    flt = query.ProjectFilter(years=(2017, 2018))
    assert snapshot.year_span(snap, MapRequest(region=PREF_A, flt=flt)) == "2017–2018"
    flt = query.ProjectFilter(years=(2019, 2019))
    assert snapshot.year_span(snap, MapRequest(region=PREF_A, flt=flt)) == "2019"
    later = snap.projects.assign(**{S.PLAN_YEAR: 2021})
    assert snapshot.year_span(snap._replace(projects=later), MapRequest(region=PREF_A)) == (
        "2014–2021"
    )
    assert snapshot.year_span(snap._replace(projects=None), MapRequest(region=PREF_A)) == (
        "2014–2020"
    )


def test_filters_recount_and_are_described(snap: Snapshot) -> None:
    flt = query.ProjectFilter(sectors=("water",))
    data = maps.prepare_map(snap, MapRequest(region=PREF_A, flt=flt, breaks_from="filtered"))
    values = data.layers.units.set_index(S.NAME)
    # water projects: P02 accepted, P10 approved
    assert values.loc["甲县", S.N_PROJECTS] == 1 and values.loc["甲县", S.COMPLETION] == 1.0
    assert values.loc["乙县", S.N_PROJECTS] == 1 and values.loc["乙县", S.COMPLETION] == 0.0
    assert data.text.footer[0] == "筛选：行业：饮水安全"


def test_province_breaks_come_from_every_unfiltered_unit_of_the_level(snap: Snapshot) -> None:
    flt = query.ProjectFilter(sectors=("water",))
    req = MapRequest(region=PREF_A, flt=flt, breaks_from="province")
    rows = snapshot.view_rows(snap, req)
    fixed = snapshot.view_breaks(snap, req, rows)
    rs = snap.region_summary
    expected = classify.class_breaks(rs.loc[rs[S.LEVEL] == "county", S.COMPLETION])
    np.testing.assert_allclose(fixed, expected)
    data = maps.prepare_map(snap, req)
    assert data.text.subtitle.endswith("分级：全省同级")
    given = snapshot.view_breaks(snap, MapRequest(region=PREF_A, breaks=(0.5, 1.0)), rows)
    assert given.tolist() == [0.5, 1.0]


def test_view_breaks_come_from_the_map_units_unfiltered(snap: Snapshot) -> None:
    """By default the classes are the view's own units' (甲县 80 %, 乙县 66.7 %), the same
    under a filter; the subtitle says where they come from."""
    for flt in (query.NO_FILTER, query.ProjectFilter(sectors=("water",))):
        data = maps.prepare_map(snap, MapRequest(region=PREF_A, flt=flt))
        np.testing.assert_allclose(data.layers.breaks, [2 / 3, 0.8])
        assert data.text.subtitle == "单位：县/市/区 · 2 个 · 分位数分级 2 级 · 分级：本图单元"
    with pytest.raises(ExportError, match="`breaks_from` was 'nation'"):
        MapRequest(breaks_from="nation")


def test_a_view_of_equal_values_says_so(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(zone="深度区"))  # 甲县 alone
    assert data.text.subtitle.endswith("各单元相同：80.0% · 分级：本图单元")


def test_zone_view_colours_the_zone_counties(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(zone="边境地区"))
    assert sorted(data.layers.units[S.CODE]) == ["530103000000", "530201000000"]
    assert "边境地区" in data.text.title
    with pytest.raises(ExportError, match="zone '无此区' is unknown"):
        maps.prepare_map(snap, MapRequest(zone="无此区"))


def test_village_view_shows_the_village_itself(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(region=V1))
    assert data.layers.units[S.CODE].tolist() == [V1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "speed"}, "`metric` was 'speed'"),
        ({"region": "53x"}, "`region` '53x'"),
        ({"region": PREF_A, "level": "prefecture"}, "`level` was 'prefecture'"),
        ({"scheme": "rainbow"}, "`scheme` was 'rainbow'"),
    ],
)
def test_bad_requests_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        MapRequest(**kwargs)


def test_unknown_region_is_named(snap: Snapshot) -> None:
    with pytest.raises(ExportError, match="539900000000"):
        maps.prepare_map(snap, MapRequest(region="539900"))


def test_png_export_has_size_ink_title_and_legend(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(region=PREF_A))
    img = _png(maps.map_bytes(data, fmt="png", dpi=72))
    h, w = img.shape
    assert (w, h) == sm.pixel_size("A4", "landscape", 72)
    assert img.std() > 20
    for region in ("title", "legend", "map", "footer"):
        x, y, rw, rh = sm.LAYOUTS["landscape"][region]
        crop = img[int((1 - y - rh) * h) : int((1 - y) * h), int(x * w) : int((x + rw) * w)]
        assert (crop < 200).mean() > 0.002, region


def test_same_view_same_picture(snap: Snapshot) -> None:
    """The page and the CLI call the same function: equal requests draw identical PNGs."""
    req = MapRequest(region=PREF_A, metric=S.COVERAGE)
    a = maps.map_bytes(maps.prepare_map(snap, req, now=NOW), dpi=50)
    b = maps.map_bytes(
        maps.prepare_map(snap, MapRequest(region=PREF_A, metric=S.COVERAGE), now=NOW), dpi=50
    )
    c = maps.map_bytes(maps.prepare_map(snap, MapRequest(region=PREF_A), now=NOW), dpi=50)
    assert np.array_equal(_png(a), _png(b))
    assert not np.array_equal(_png(a), _png(c))


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_vector_map_files(snap: Snapshot, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"m.{fmt}"
    maps.write_map(maps.prepare_map(snap, MapRequest()), out)
    head = out.read_bytes()[:400]
    assert head.startswith(b"%PDF") if fmt == "pdf" else b"<svg" in head


def test_format_must_be_known(snap: Snapshot, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="format 'gif'"):
        maps.write_map(maps.prepare_map(snap, MapRequest()), tmp_path / "m.gif")


def test_pdf_pack_has_cover_plus_one_page_per_region(snap: Snapshot, tmp_path: Path) -> None:
    out = tmp_path / "pack.pdf"
    n = pack.export_pack(out, snap=snap, by="prefecture")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert n == 3
    assert "Pages:           3" in info
    text = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", str(out), "-"], capture_output=True, text=True
    ).stdout
    for word in ("甲市", "主要指标", "完工率最低的县", "贫困村出列时间线", "演示数据"):
        assert word in text, word


def test_county_and_zone_packs(snap: Snapshot, tmp_path: Path) -> None:
    # counties with tasks
    assert pack.export_pack(tmp_path / "c.pdf", snap=snap, by="county") == 1 + 2
    assert pack.export_pack(tmp_path / "z.pdf", snap=snap, by="zone") == 1 + 2
    with pytest.raises(ExportError, match="--by prefecture must be below"):
        pack.export_pack(tmp_path / "x.pdf", snap=snap, by="prefecture", within=PREF_A)


def test_pptx_pack_is_editable_16_9(snap: Snapshot, tmp_path: Path) -> None:
    out = tmp_path / "pack.pptx"
    assert pack.export_pack(out, snap=snap, dpi=40) == 3
    prs = Presentation(str(out))
    assert len(prs.slides) == 3
    assert prs.slide_width * 9 == prs.slide_height * 16
    page = prs.slides[1]
    assert page.shapes.title.text_frame.text == "1. 甲市"
    kinds = [sh.shape_type for sh in page.shapes]
    assert kinds.count(MSO_SHAPE_TYPE.TABLE) == 2
    assert MSO_SHAPE_TYPE.CHART in kinds and MSO_SHAPE_TYPE.PICTURE in kinds
    kpi = next(sh.table for sh in page.shapes if sh.has_table)
    cells = {kpi.cell(i, 0).text: kpi.cell(i, 1).text for i in range(1, len(kpi.rows))}
    row = query.summarise_region(snap.region_summary, snap.prepared, PREF_A, query.NO_FILTER)
    assert cells["项目数"] == f"{int(row[S.N_PROJECTS]):,}"
    assert cells["完工率"].endswith("%")
    chart = next(sh.chart for sh in page.shapes if sh.has_chart)
    assert [s.name for s in chart.plots[0].series] == ["计划出列", "实际出列"]
    # actual exits of 甲市: 一村 2017, 二村 2019, 五村 2020
    assert list(chart.plots[0].series[1].values) == [0, 1, 0, 1, 1]
    # every run names a Chinese typeface, with the theme's fallback for machines without it
    runs = [r for sh in page.shapes if sh.has_text_frame for p in sh.text_frame.paragraphs
            for r in p.runs]  # fmt: skip
    assert runs and all(r._r.rPr.find(qn("a:ea")).get("typeface") == slides.EA_FONT for r in runs)
    theme = zipfile.ZipFile(out).read("ppt/theme/theme1.xml").decode()
    assert f'<a:ea typeface="{slides.EA_FALLBACK}"' in theme


def test_exit_timeline_sums_townships_of_the_region(snap: Snapshot) -> None:
    tl = figures.exit_timeline(snap, [PREF_A]).set_index(S.YEAR)
    # actual exits: 一村 2017, 二村 2019, 五村 2020
    assert tl[S.VILLAGES_ACTUAL_EXIT].to_dict() == {2016: 0, 2017: 1, 2018: 0, 2019: 1, 2020: 1}


def test_xlsx_reopens_with_same_rows_and_escaped_formula(snap: Snapshot, tmp_path: Path) -> None:
    table = tables.view_table(snap, MapRequest(region=COUNTY_A), kind="projects")
    out = tables.write_table(table, tmp_path / "p.xlsx")
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 1 + len(table) == 1 + 10  # 甲县: P01–P08, county-wide P11, P13
    names = [r[1] for r in rows[1:]]
    assert '\'=HYPERLINK("x")' in names
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_csv_has_bom_and_summary_rows(snap: Snapshot, tmp_path: Path) -> None:
    out = tables.write_table(tables.view_table(snap, MapRequest()), tmp_path / "s.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert df["名称"].tolist() == ["甲市", "乙市"]


def test_geopackage_reopens_with_same_features(snap: Snapshot, tmp_path: Path) -> None:
    layers = export_layers.view_layers(snap, MapRequest(region=PREF_A))
    out = export_layers.write_layers(layers, tmp_path / "v.gpkg")
    back = gpd.read_file(out, layer="units")
    assert len(back) == len(layers["units"]) == 2
    assert back.crs.to_epsg() == 4326
    assert back.set_index(S.CODE)[S.COMPLETION].round(6).to_dict() == (
        layers["units"].set_index(S.CODE)[S.COMPLETION].round(6).to_dict()
    )
    np.testing.assert_allclose(back.total_bounds, layers["units"].total_bounds)
    assert len(gpd.read_file(out, layer="projects")) == len(layers["projects"]) > 0


def test_geojson_single_layer(snap: Snapshot, tmp_path: Path) -> None:
    units = export_layers.view_layers(snap, MapRequest(region=PREF_A))["units"]
    out = export_layers.write_layers({"units": units}, tmp_path / "u.geojson")
    assert sorted(gpd.read_file(out)[S.NAME]) == ["乙县", "甲县"]


def test_zipped_shapefile_in_gbk(snap: Snapshot, tmp_path: Path) -> None:
    layers = export_layers.view_layers(snap, MapRequest(region=PREF_A))
    out = export_layers.write_layers(layers, tmp_path / "v.zip", fmt="shp", encoding="GBK")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert {"units.shp", "units.dbf", "units.shx", "units.prj", "units.cpg"} <= set(names)
        assert z.read("units.cpg").decode() == "GBK"
        assert "甲县".encode("gbk") in z.read("units.dbf")
        fields = pd.read_csv(io.BytesIO(z.read("units_fields.csv")), encoding="utf-8-sig")
        assert fields["field"].str.len().max() <= 10 and fields["field"].is_unique
        z.extractall(tmp_path / "shp")
    back = gpd.read_file(tmp_path / "shp" / "units.shp")
    assert sorted(back[S.NAME]) == ["乙县", "甲县"]


def test_html_map_is_self_contained(snap: Snapshot, tmp_path: Path) -> None:
    out = web.write_html(maps.prepare_map(snap, MapRequest(region=PREF_A)), tmp_path / "m.html")
    html = out.read_text(encoding="utf-8")
    assert "L.map(" in html and "演示数据" in html
    assert "甲县" in html or "\\u7532\\u53bf" in html  # names may be JSON-escaped
    # nothing is fetched: scripts and styles are data: URLs (only the attribution link remains)
    sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert sources and all(src.startswith("data:") for src in sources)
    assert set(webmap.external_urls(html)) <= {"https://leafletjs.com"}


def test_metric_raster_has_crs_transform_and_values(snap: Snapshot, tmp_path: Path) -> None:
    surface = export_raster.metric_raster(snap, MapRequest(metric=S.COMPLETION), resolution=0.1)
    path = raster.write_geotiff(surface, tmp_path / "c.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326
        assert src.transform.a == pytest.approx(0.1) and src.transform.e == pytest.approx(-0.1)
        band = src.read(1)
    values = band[np.isfinite(band)]
    assert values.size > 0
    # plan villages: 一村 2/3, 二村 1/2, 三村 3/3, 四村 1/1 (P13), 五村 1/2
    assert set(np.round(np.unique(values).astype(float), 3)) <= {0.667, 0.5, 1.0}


def test_village_terrain_and_hillshade(snap: Snapshot) -> None:
    au = snap.admin_units
    villages = au[au[S.LEVEL] == "village"]
    out = export_raster.village_terrain(villages)
    assert out["elevation_mean"].notna().all() and (out["elevation_mean"] > 500).all()
    assert "elevation_mean" not in villages.columns
    hs = export_raster.hillshade_raster(bounds=(100, 25, 103, 26))
    minx, miny, maxx, maxy = hs.bounds
    assert minx <= 100 and miny <= 25 and maxx >= 103 and maxy >= 26
    assert hs.array.shape[1] <= 3 / 0.2 + 2 and np.nanmax(hs.array) <= 255


def test_default_filename_is_predictable() -> None:
    name = snapshot.default_filename(
        "533300000000", "怒江 州/x", "coverage", "pdf", kind="pack", day=dt.date(2026, 3, 4)
    )
    assert name == "533300000000_怒江-州-x_coverage_pack_20260304.pdf"


def test_missing_font_becomes_an_export_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sm.find_cjk_font
    monkeypatch.setattr(sm, "find_cjk_font", lambda: real(("No Such Font OneMap",)))
    with pytest.raises(ExportError, match="apt-get install fonts-noto-cjk"):
        maps.cjk_font()


def test_filtered_export_without_projects_is_refused(tiny_store: Path) -> None:
    bare = snapshot.read_snapshot(tiny_store, zone_members=make_zone_members())
    req = MapRequest(flt=query.ProjectFilter(statuses=("planned",)))
    with pytest.raises(ExportError, match="with_projects=True"):
        maps.prepare_map(bare, req)
    assert PROVINCE in set(bare.region_summary[S.CODE])


def test_export_page_offers_the_cli_picture(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 导出 page previews and downloads through ``layers.export``: same view, same PNG."""
    from streamlit.testing.v1 import AppTest

    from views import export_widget

    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    at = AppTest.from_file("../views/export.py", default_timeout=180)
    at.query_params["region"] = PREF_A
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "导出 · 甲市"
    assert len(at.get("image")) == 1  # the preview
    at.button(key="ex_make_png").click().run()
    assert "下载 PNG" in [d.proto.label for d in at.get("download_button")]
    at.button(key="ex_table_go_xlsx").click().run()
    assert "下载 XLSX" in [d.proto.label for d in at.get("download_button")]
    assert not at.exception

    req = MapRequest(region=PREF_A)
    page = export_widget.map_bytes(req, dpi=60)
    snap = snapshot.read_snapshot(tiny_store, levels=snapshot.levels_for(req))
    cli = maps.map_bytes(maps.prepare_map(snap, req), dpi=60)
    a, b = _png(page), _png(cli)
    h = a.shape[0]
    assert a.shape == b.shape
    assert np.array_equal(a[: int(h * 0.85)], b[: int(h * 0.85)])  # all but the clock line


def _button_app() -> None:
    from views import export_widget, state

    export_widget.export_button(state.ViewState(region="530100000000"), key="t")


def test_export_button_for_map_pages(tiny_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    at = AppTest.from_function(_button_app, default_timeout=180)
    at.run()
    assert not at.exception and [b.label for b in at.button] == ["生成"]
    at.button(key="t_go").click().run()
    assert not at.exception
    assert [d.proto.label for d in at.get("download_button")] == ["下载 PNG"]


def test_snapshot_reads_only_the_townships_and_villages_it_needs(tiny_store: Path) -> None:
    req = MapRequest(region="530102001000")  # 一乡: its villages, context = 甲县's townships
    snap = snapshot.read_snapshot(
        tiny_store,
        levels=snapshot.levels_for(req),
        within=snapshot.scope_for(req),
        zone_members=make_zone_members(),
    )
    deep = snap.admin_units[snap.admin_units[S.LEVEL].isin(["township", "village"])]
    assert deep[S.CODE].str.startswith("530102").all()
    assert sorted(maps.prepare_map(snap, req).layers.units[S.NAME]) == ["一村", "二村"]


def test_several_geojson_layers_go_in_a_zip(snap: Snapshot, tmp_path: Path) -> None:
    layers = export_layers.view_layers(snap, MapRequest(region=PREF_A))
    out = export_layers.write_layers(layers, tmp_path / "v.geojson")
    assert out.name == "v.geojson.zip"
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["projects.geojson", "units.geojson", "zones.geojson"]


def test_legend_starts_where_the_fixed_breaks_start(snap: Snapshot) -> None:
    data = maps.prepare_map(snap, MapRequest(region=PREF_A))
    rs = snap.region_summary
    assert data.layers.legend_lower == rs.loc[rs[S.LEVEL] == "county", S.COMPLETION].min()
    given = maps.prepare_map(snap, MapRequest(region=PREF_A, breaks=(0.7, 0.9, 1.0)))
    assert given.layers.legend_lower is None


def test_export_button_choices_are_the_exports_and_cost_no_matplotlib() -> None:
    """The map pages' button offers what ``layers.export`` draws, without importing matplotlib
    until a map is asked for: the pages' first load stays fast."""
    from views import export_widget as W

    assert W.MAP_FORMATS == maps.MAP_FORMATS
    papers = tuple(sm.PAPER_MM)
    assert papers == W.PAPERS
    assert W.ORIENTATIONS == sm.ORIENTATIONS
    code = "import sys, views.export_widget; print('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        ["python3", "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
