"""Static map pages: CJK glyphs really drawn, page size, furniture present, scale and north."""

from __future__ import annotations

import io
import subprocess
import warnings

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from shapely.geometry import box

from geo import staticmap as sm
from geo.classify import class_breaks

METRIC_CRS = "+proj=aea +lat_1=22 +lat_2=28 +lon_0=101.5 +ellps=GRS80 +units=m +no_defs"


@pytest.fixture(scope="module")
def font() -> sm.CJKFont:
    return sm.find_cjk_font()


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    """Six squares (0.5°) in two rows near Nujiang, with a metric and a missing value."""
    cells = [
        box(98.5 + 0.5 * i, 26 + 0.5 * j, 99 + 0.5 * i, 26.5 + 0.5 * j)
        for j in range(2)
        for i in range(3)
    ]
    return gpd.GeoDataFrame(
        {
            "name": ["泸水市", "福贡县", "贡山县", "兰坪县", "甲县", "乙县"],
            "completion": [0.91, 0.95, 0.97, 0.99, np.nan, 0.93],
        },
        geometry=cells,
        crs="EPSG:4326",
    )


def _render(text: str, family: str) -> np.ndarray:
    fig = Figure(figsize=(1.2, 0.6), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.3, text, fontsize=24, family=family)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()


def test_found_font_is_simplified_chinese_with_bold(font: sm.CJKFont) -> None:
    assert font.family in sm.CJK_FONT_FAMILIES
    assert font.regular.exists()
    assert font.bold is not None and font.bold.exists()


def test_chinese_glyphs_are_drawn_not_boxes(font: sm.CJKFont) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nu, jiang = _render("怒", font.family), _render("江", font.family)
    assert not [w for w in caught if "missing" in str(w.message)]
    assert (nu < 128).sum() > 20  # ink on the page
    assert not np.array_equal(nu, jiang)  # two different characters, not two tofu boxes
    # the fallback font has no such glyph: matplotlib warns and draws the same box for both
    with pytest.warns(UserWarning, match="missing from font"):
        box_nu = _render("怒", "DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        box_jiang = _render("江", "DejaVu Sans")
    assert np.array_equal(box_nu, box_jiang)
    assert not np.array_equal(nu, box_nu)


def test_missing_font_error_names_the_fix() -> None:
    with pytest.raises(sm.FontNotFoundError, match="apt-get install fonts-noto-cjk"):
        sm.find_cjk_font(("No Such Font OneMap",))


def _page(units: gpd.GeoDataFrame, font: sm.CJKFont, **kw: object) -> Figure:
    layers = sm.MapLayers(
        units=units,
        column="completion",
        breaks=class_breaks(units["completion"], k=3),
        metric_crs=METRIC_CRS,
        label_column="name",
        frame=units.dissolve(),
        locator=units,
        outlines=units.iloc[:2],
    )
    text = sm.MapText(
        title="怒江州 · 完工率 2016–2020",
        legend_title="完工率（%）",
        footer=("筛选：全部项目", "数据来源：测试 · 数据日期：2020-12-31", "生成时间：2026-01-01"),
        stamp="演示数据 demo data",
    )
    return sm.map_figure(layers, text, font=font, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("paper", "orientation", "dpi"),
    [("A4", "landscape", 60), ("A4", "portrait", 60), ("A3", "landscape", 40)],
)
def test_png_page_has_requested_size_and_ink_in_every_region(
    units: gpd.GeoDataFrame, font: sm.CJKFont, paper: str, orientation: str, dpi: int
) -> None:
    fig = _page(units, font, paper=paper, orientation=orientation)
    buf = io.BytesIO()
    sm.save_figure(fig, buf, fmt="png", dpi=dpi, font=font)
    img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), dtype=float)
    w, h = sm.pixel_size(paper, orientation, dpi)
    assert img.shape == (h, w)
    assert img.std() > 20  # not blank
    for region in ("title", "map", "legend", "footer", "locator"):
        x, y, rw, rh = sm.LAYOUTS[orientation][region]
        crop = img[int((1 - y - rh) * h) : int((1 - y) * h), int(x * w) : int((x + rw) * w)]
        assert (crop < 200).mean() > 0.002, f"no ink in the {region} region"


def test_300_dpi_a4_is_print_size() -> None:
    assert sm.pixel_size("A4", "landscape", 300) == (3508, 2480)


def test_legend_counts_classes_and_no_data(units: gpd.GeoDataFrame, font: sm.CJKFont) -> None:
    summary = _page(units, font).onemap_summary  # type: ignore[attr-defined]
    assert sum(summary["counts"]) == 5  # the NaN unit is counted as "no data"
    assert summary["has_nan"] is True
    assert summary["has_outlines"] is True
    assert summary["labels_placed"] + summary["labels_hidden"] == 6


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_vector_formats(units: gpd.GeoDataFrame, font: sm.CJKFont, fmt: str, tmp_path) -> None:
    out = tmp_path / f"map.{fmt}"
    sm.save_figure(_page(units, font), out, fmt=fmt, font=font)
    data = out.read_bytes()
    if fmt == "pdf":
        assert data.startswith(b"%PDF")
        fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
        assert "NotoSansCJK" in fonts or "SourceHan" in fonts or "WenQuanYi" in fonts
    else:
        assert b"<svg" in data[:2000]


def test_labels_that_would_collide_are_hidden(font: sm.CJKFont) -> None:
    cells = [box(100 + 0.02 * i, 25, 100.02 + 0.02 * i, 25.02) for i in range(30)]
    gdf = gpd.GeoDataFrame({"name": ["很长的行政村名称"] * 30}, geometry=cells, crs="EPSG:4326")
    with mpl.rc_context(sm.font_rc(font)):
        fig = Figure(figsize=(4, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        metric = gdf.to_crs(METRIC_CRS)
        metric.plot(ax=ax)
        sm.fit_extent(ax, metric.total_bounds)
        placed, hidden = sm.place_labels(ax, metric, "name")
    assert placed >= 1 and hidden >= 1 and placed + hidden == 30
    boxes = [t.get_window_extent() for t in ax.texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)


def test_nice_length_and_scale_bar_is_measured() -> None:
    assert [sm.nice_length(x) for x in (7.0, 19.0, 230.0, 1000.0)] == [5.0, 10.0, 200.0, 1000.0]
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    sm.fit_extent(ax, (0, 0, 100_000, 50_000), pad=0)
    length = sm.add_scale_bar(ax, fraction=0.25)
    width = ax.get_xlim()[1] - ax.get_xlim()[0]
    assert length == 20_000 and length <= width * 0.25
    assert any(t.get_text() == "20 km" for t in ax.texts)


def test_north_arrow_points_to_true_north() -> None:
    from pyproj import Transformer

    to_map = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    centre = to_map.transform(101.5, 25.0)
    west = to_map.transform(98.0, 27.0)
    east = to_map.transform(105.5, 24.0)
    assert sm.true_north_angle(METRIC_CRS, *centre) == pytest.approx(0.0, abs=1e-6)
    assert sm.true_north_angle(METRIC_CRS, *west) < -0.5  # meridians lean toward lon_0
    assert sm.true_north_angle(METRIC_CRS, *east) > 0.5


def test_frames_without_crs_are_refused(units: gpd.GeoDataFrame, font: sm.CJKFont) -> None:
    with pytest.raises(ValueError, match="has no CRS"):
        _page(units.set_crs(None, allow_override=True), font)


def test_bad_paper_is_named() -> None:
    with pytest.raises(ValueError, match="`paper` was 'A5'"):
        sm.paper_inches("A5")


def test_footer_wrap_counts_cjk_as_two_columns_and_keeps_words() -> None:
    assert sm.wrap_columns("数据来源", 4) == ["数据", "来源"]
    assert sm.wrap_columns("演示 demo data, not real records", 20) == [
        "演示 demo data, not",
        "real records",
    ]
    assert sm.wrap_columns("", 10) == [""]
