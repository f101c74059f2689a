"""Editable briefing decks: 16:9 PPTX slides with native tables, a native chart and a picture.

A ``Slide`` says what one slide shows (title, subtitle, KPI table, laggard table, exit timeline,
map picture, footer); ``write_deck`` lays it out with python-pptx so a planner can edit every
number, restyle a table and reuse the chart. The map stays a picture (``layers.export.pack``
draws it). Every run of text carries a Latin and an East Asian typeface (``a:latin``,
``a:ea``); the theme's East Asian font is the fallback, so the deck renders on a machine
without Noto.

python-pptx (and lxml) are imported on the first deck written, not with this module.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "EA_FALLBACK",
    "EA_FONT",
    "LATIN_FONT",
    "SLIDE_INCHES",
    "Slide",
    "set_fonts",
    "write_deck",
]

#: the East Asian typeface on every run (what the exports draw with)
EA_FONT = "Noto Sans CJK SC"
#: the theme's East Asian font: what PowerPoint uses where ``EA_FONT`` is not installed
EA_FALLBACK = "Microsoft YaHei"
LATIN_FONT = "Arial"
#: 16:9 widescreen, in inches
SLIDE_INCHES: tuple[float, float] = (13.333, 7.5)
_GB2312 = "-122"  # charset of a:ea: PowerPoint substitutes a Simplified Chinese font
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_GREY, _GREEN, _RED = "BDBDBD", "31A354", "CB181D"


@dataclasses.dataclass(frozen=True)
class Slide:
    """What one slide shows; ``laggards``/``timeline`` None leave those blocks out (a cover)."""

    title: str
    subtitle: str
    kpis: pd.DataFrame
    kpi_title: str
    picture: bytes
    picture_aspect: float
    footer: tuple[str, ...] = ()
    stamp: str | None = None
    page: str = ""
    laggards: pd.DataFrame | None = None
    laggard_title: str = ""
    timeline: pd.DataFrame | None = None
    timeline_title: str = ""
    timeline_series: tuple[str, str] = ("", "")
    empty_text: str = ""


# --------------------------------------------------------------------------------------
# fonts
# --------------------------------------------------------------------------------------
def _typefaces(rpr: Any, ea: str) -> None:
    """Give one ``a:rPr``/``a:defRPr`` a Latin and an East Asian typeface (schema order)."""
    from pptx.oxml.ns import qn  # deferred with python-pptx

    for tag in ("a:latin", "a:ea"):
        for old in rpr.findall(qn(tag)):
            rpr.remove(old)
    latin = rpr.makeelement(qn("a:latin"), {"typeface": LATIN_FONT})
    east = rpr.makeelement(qn("a:ea"), {"typeface": ea, "charset": _GB2312})
    # a:latin and a:ea follow the fill/effect/underline children and precede a:cs, a:sym, links
    after = {qn(t) for t in ("a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver", "a:rtl")}
    anchor = next((c for c in rpr if c.tag in after), None)
    if anchor is None:
        rpr.append(latin)
        rpr.append(east)
    else:
        anchor.addprevious(latin)
        anchor.addprevious(east)
    rpr.set("lang", "zh-CN")


def set_fonts(root: Any, *, ea: str = EA_FONT) -> int:
    """Set the typefaces on every text run (and chart text default) under the XML ``root``.

    Parameters
    ----------
    root
        An lxml element: a slide's shape tree or a chart space.
    ea
        The East Asian typeface.

    Returns
    -------
    int
        How many runs and text defaults were set.
    """
    n = 0
    for run in root.iter(f"{{{_A}}}r"):
        _typefaces(run.get_or_add_rPr(), ea)
        n += 1
    for tag in ("defRPr", "endParaRPr"):
        for rpr in root.iter(f"{{{_A}}}{tag}"):
            _typefaces(rpr, ea)
            n += 1
    return n


def _theme_fallback(prs: Any) -> None:
    """Name ``EA_FALLBACK`` as the theme's East Asian (and Simplified Chinese) font."""
    from lxml import etree  # deferred with python-pptx
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    master = prs.slide_masters[0]
    theme = master.part.part_related_by(RT.THEME)
    root = etree.fromstring(theme.blob)
    for font in root.iter(f"{{{_A}}}majorFont", f"{{{_A}}}minorFont"):
        ea = font.find(f"{{{_A}}}ea")
        if ea is not None:
            ea.set("typeface", EA_FALLBACK)
        for script in font.findall(f"{{{_A}}}font"):
            if script.get("script") == "Hans":
                script.set("typeface", EA_FALLBACK)
    theme._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --------------------------------------------------------------------------------------
# the blocks of a slide
# --------------------------------------------------------------------------------------
def _text(
    slide: Any, box: tuple[float, float, float, float], lines: Iterable[str], **kw: Any
) -> Any:
    from pptx.dml.color import RGBColor
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    shape = slide.shapes.add_textbox(*(Inches(v) for v in box))
    tf = shape.text_frame
    tf.word_wrap = True
    for i, line in enumerate(lines):
        para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        run = para.add_run()
        run.text = line
        run.font.size = Pt(kw.get("size", 10))
        run.font.bold = kw.get("bold", False)
        run.font.color.rgb = RGBColor.from_string(kw.get("color", "303030"))
        if kw.get("right"):
            para.alignment = PP_ALIGN.RIGHT
    return shape


def _table(slide: Any, df: pd.DataFrame, box: tuple[float, float, float], size: float) -> Any:
    """A native table of ``df`` (header row + one row per record) at (left, top, width)."""
    from pptx.util import Inches, Pt

    left, top, width = box
    row_h = size / 72 * 1.9
    shape = slide.shapes.add_table(
        len(df) + 1, len(df.columns), Inches(left), Inches(top), Inches(width),
        Inches(row_h * (len(df) + 1)),
    )  # fmt: skip
    table = shape.table
    for j in range(len(df.columns)):
        table.columns[j].width = Inches(width / len(df.columns))
    cells = [list(map(str, df.columns)), *df.astype(str).to_numpy().tolist()]
    for i, row in enumerate(cells):
        table.rows[i].height = Inches(row_h)
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.margin_top = cell.margin_bottom = Inches(0.02)
            cell.text = value
            for para in cell.text_frame.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(size)
                    run.font.bold = i == 0
    return shape


def _chart(slide: Any, s: Slide, box: tuple[float, float, float, float]) -> Any:
    """The exit timeline as a native clustered column chart (planned grey, exited green)."""
    from pptx.chart.data import CategoryChartData
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Inches, Pt

    tl = s.timeline
    assert tl is not None
    data = CategoryChartData()
    data.categories = [str(int(y)) for y in tl.iloc[:, 0]]
    data.add_series(s.timeline_series[0], [int(v) for v in tl.iloc[:, 1]])
    data.add_series(s.timeline_series[1], [int(v) for v in tl.iloc[:, 2]])
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, *(Inches(v) for v in box), data)
    chart = frame.chart
    chart.has_title = True
    chart.chart_title.text_frame.text = s.timeline_title
    chart.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.TOP
    chart.legend.include_in_layout = False
    chart.font.size = Pt(9)
    chart.value_axis.has_major_gridlines = False
    chart.value_axis.tick_labels.number_format = "0"
    chart.value_axis.tick_labels.number_format_is_linked = False
    for series, color in zip(chart.plots[0].series, (_GREY, _GREEN), strict=True):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = RGBColor.from_string(color)
    set_fonts(chart._chartSpace)
    return frame


def _picture(slide: Any, s: Slide, box: tuple[float, float, float, float]) -> Any:
    """The map picture fitted into ``box`` (left, top, width, height), aspect kept."""
    from pptx.util import Inches

    left, top, width, height = box
    w = min(width, height * s.picture_aspect)
    h = w / s.picture_aspect
    return slide.shapes.add_picture(
        io.BytesIO(s.picture), Inches(left + (width - w) / 2), Inches(top), Inches(w), Inches(h)
    )


def _frame(prs: Any, s: Slide) -> Any:
    """A slide with its title (the layout's title placeholder), subtitle, stamp and footer."""
    from pptx.util import Inches, Pt

    slide = prs.slides.add_slide(prs.slide_layouts[5])  # Title Only
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = (Inches(v) for v in (0.4, 0.2, 10.4, 0.7))
    title.text_frame.text = s.title
    para = title.text_frame.paragraphs[0]
    para.alignment = 1  # left
    para.runs[0].font.size = Pt(26)
    para.runs[0].font.bold = True
    _text(slide, (0.4, 0.85, 12.5, 0.35), [s.subtitle], size=12, color="404040")
    if s.stamp:
        _text(slide, (10.9, 0.3, 2.1, 0.4), [s.stamp], size=12, bold=True, color=_RED, right=True)
    _text(slide, (0.4, 6.95, 11.4, 0.5), list(s.footer), size=7)
    _text(slide, (11.9, 7.05, 1.1, 0.3), [s.page], size=9, right=True)
    return slide


def _add_slide(prs: Any, s: Slide) -> None:
    slide = _frame(prs, s)
    if s.laggards is None:  # a cover: KPIs left, the map right
        _text(slide, (0.4, 1.3, 3.8, 0.35), [s.kpi_title], size=12, bold=True)
        _table(slide, s.kpis, (0.4, 1.7, 3.8), 11)
        _picture(slide, s, (4.4, 1.3, 8.6, 5.6))
    else:
        _picture(slide, s, (0.3, 1.3, 6.6, 5.6))
        _text(slide, (7.1, 1.3, 2.9, 0.35), [s.kpi_title], size=12, bold=True)
        _table(slide, s.kpis, (7.1, 1.65, 2.9), 9)
        _text(slide, (10.15, 1.3, 2.9, 0.35), [s.laggard_title], size=12, bold=True)
        if s.laggards.empty:
            _text(slide, (10.15, 1.65, 2.9, 0.35), [s.empty_text], size=9)
        else:
            _table(slide, s.laggards, (10.15, 1.65, 2.9), 9)
        if s.timeline is not None and not s.timeline.empty:
            _chart(slide, s, (7.1, 4.55, 5.95, 2.4))
        else:
            _text(slide, (7.1, 4.55, 5.9, 0.6), [s.timeline_title, s.empty_text], size=10)
    set_fonts(slide.shapes._spTree)


def write_deck(slides: Iterable[Slide], out: str | Path) -> int:
    """Write ``slides`` as one 16:9 PPTX deck.

    Parameters
    ----------
    slides
        The slides in order.
    out
        The file to write.

    Returns
    -------
    int
        The number of slides written.
    """
    from pptx import Presentation  # deferred: python-pptx and lxml load only for a deck
    from pptx.util import Emu

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12_192_000), Emu(6_858_000)  # 13.333 × 7.5 in
    _theme_fallback(prs)
    n = 0
    for s in slides:
        _add_slide(prs, s)
        n += 1
    prs.save(str(out))
    return n
