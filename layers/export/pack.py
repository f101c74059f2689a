"""Briefing packs: a cover and one page per region (map, KPIs, laggards, exit timeline).

A pack is drawn from one ``Snapshot`` (``layers.export.snapshot``): ``pack_contents`` says what
each page shows (the cover maps the whole scope, each further page one prefecture, county or
zone through ``layers.export.maps``). It is written as a multi-page A4 PDF (``page_figure``) or
as an editable 16:9 PPTX (``page_slide`` → ``layers.export.slides``: native tables, a native
chart, the map as a picture).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from geo import staticmap as sm
from layers import schema as S
from layers.errors import ExportError
from layers.export import slides
from layers.export.figures import exit_timeline, kpi_table, laggard_table
from layers.export.maps import MapData, cjk_font, prepare_map, zone_outlines
from layers.export.smallprint import built_date
from layers.export.snapshot import MapRequest, Snapshot, format_of, unit_name, zone_name
from layers.present import i18n, query
from layers.settings import METRIC_CRS

__all__ = [
    "PACK_BY",
    "PACK_FORMATS",
    "PackPage",
    "PageContent",
    "export_pack",
    "map_picture",
    "pack_contents",
    "pack_figures",
    "pack_pages",
    "page_figure",
    "page_slide",
]

PACK_FORMATS: tuple[str, ...] = ("pdf", "pptx")
PACK_BY: tuple[str, ...] = ("prefecture", "county", "zone")


def _table(
    ax: Any, df: pd.DataFrame, title: str, *, lang: str = "zh", fontsize: float = 8.5
) -> None:
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=10.5, fontweight="bold")
    if df.empty:
        ax.text(0, 0.8, i18n.t("pack_no_data", lang), fontsize=fontsize, transform=ax.transAxes)
        return
    t = ax.table(
        cellText=df.astype(str).to_numpy(),
        colLabels=list(df.columns),
        loc="upper left",
        cellLoc="left",
        colLoc="left",
        edges="horizontal",
    )
    t.auto_set_font_size(False)
    t.set_fontsize(fontsize)
    t.scale(1, 1.25)
    for (r, _), cell in t.get_celld().items():
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#f0f0f0")


def _timeline(ax: Any, tl: pd.DataFrame | None, lang: str) -> None:
    ax.set_title(i18n.t("pack_timeline", lang), loc="left", fontsize=10.5, fontweight="bold")
    if tl is None or tl.empty:
        ax.set_axis_off()
        ax.text(0, 0.5, i18n.t("pack_no_roadmap", lang), transform=ax.transAxes, fontsize=8.5)
        return
    x = np.arange(len(tl))
    planned, exited = i18n.t("planned_exit", lang), i18n.t("exited", lang)
    ax.bar(x - 0.2, tl[S.VILLAGES_PLANNED_EXIT], width=0.4, color="#bdbdbd", label=planned)
    ax.bar(x + 0.2, tl[S.VILLAGES_ACTUAL_EXIT], width=0.4, color="#31a354", label=exited)
    ax.set_xticks(x, [f"{int(y)}" for y in tl[S.YEAR]], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")


# --------------------------------------------------------------------------------------
# pages: cover + one page per region
# --------------------------------------------------------------------------------------
def _page_frame(
    fig: Figure, title: str, subtitle: str, footer: Sequence[str], stamp: str | None, page: str
) -> None:
    fig.text(0.03, 0.945, title, fontsize=17, fontweight="bold", va="center")
    fig.text(0.03, 0.905, subtitle, fontsize=9.5, color="#404040", va="center")
    width_mm = 0.86 * fig.get_size_inches()[0] * 25.4
    cols = int(width_mm / (6.5 * 0.3528 * 0.5))  # columns of 6.5 pt half-width characters
    lines = [part for line in footer for part in sm.wrap_columns(line, cols)]
    for i, line in enumerate(reversed(lines)):
        fig.text(0.03, 0.012 + 0.015 * i, line, fontsize=6.5, color="#303030")
    fig.text(0.97, 0.015, page, fontsize=8, ha="right")
    if stamp:
        fig.text(
            0.97,
            0.945,
            stamp,
            ha="right",
            va="center",
            fontsize=10,
            fontweight="bold",
            color="#cb181d",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#cb181d"},
        )


def _map_block(fig: Figure, rect: tuple[float, float, float, float], data: MapData) -> None:
    ax = fig.add_axes(rect)
    summary = sm.draw_choropleth(ax, data.layers, data.text)
    sm.add_scale_bar(ax)
    sm.add_north_arrow(ax, METRIC_CRS)
    lx, ly, lw, _ = rect
    lax = fig.add_axes((lx, 0.065, lw, ly - 0.065))
    sm.add_legend(lax, summary, data.text, ncol=3)


class PageContent(NamedTuple):
    """What one pack page shows, drawn as an A4 PDF page or as an editable 16:9 slide.

    ``laggards`` and ``timeline`` are None on the cover; ``lang`` is the language of the
    page's own words (the map's are in ``data.request.lang``).
    """

    title: str
    subtitle: str
    page: str
    data: MapData
    kpis: pd.DataFrame
    kpi_title: str
    laggards: pd.DataFrame | None = None
    laggard_title: str = ""
    timeline: pd.DataFrame | None = None
    lang: str = "zh"


def page_figure(content: PageContent, font: sm.CJKFont) -> Figure:
    """One A4-landscape pack page: the cover or a region page (map, KPIs, laggards, timeline).

    Parameters
    ----------
    content
        What the page shows (``pack_contents``).
    font
        The CJK font.

    Returns
    -------
    matplotlib.figure.Figure
        The page.
    """
    c, text = content, content.data.text
    with mpl.rc_context(sm.font_rc(font)):
        fig = Figure(figsize=sm.paper_inches("A4", "landscape"), facecolor="white")
        FigureCanvasAgg(fig)
        _page_frame(fig, c.title, c.subtitle, text.footer, text.stamp, c.page)
        if c.laggards is None:
            _table(fig.add_axes((0.03, 0.28, 0.30, 0.55)), c.kpis, c.kpi_title, lang=c.lang)
            _map_block(fig, (0.36, 0.17, 0.62, 0.70), c.data)
            return fig
        _map_block(fig, (0.02, 0.17, 0.52, 0.70), c.data)
        _table(fig.add_axes((0.57, 0.50, 0.40, 0.36)), c.kpis, c.kpi_title, lang=c.lang)
        lag_ax = fig.add_axes((0.57, 0.29, 0.40, 0.17))
        _table(lag_ax, c.laggards, c.laggard_title, lang=c.lang, fontsize=8)
        _timeline(fig.add_axes((0.60, 0.07, 0.36, 0.16)), c.timeline, c.lang)
    return fig


def map_picture(data: MapData, font: sm.CJKFont, *, dpi: int = 150) -> tuple[bytes, float]:
    """The map of a page with its scale bar, north arrow and legend as a PNG (for a slide).

    Parameters
    ----------
    data
        The map (``prepare_map``).
    font
        The CJK font.
    dpi
        Resolution of the picture.

    Returns
    -------
    tuple of (bytes, float)
        The PNG and its width/height ratio.
    """
    size = (7.0, 6.0)
    with mpl.rc_context(sm.font_rc(font)):
        fig = Figure(figsize=size, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.01, 0.22, 0.98, 0.77))
        summary = sm.draw_choropleth(ax, data.layers, data.text)
        sm.add_scale_bar(ax)
        sm.add_north_arrow(ax, METRIC_CRS)
        sm.add_legend(fig.add_axes((0.01, 0.0, 0.98, 0.21)), summary, data.text, ncol=2)
    buf = io.BytesIO()
    sm.save_figure(fig, buf, fmt="png", dpi=dpi, font=font)
    return buf.getvalue(), size[0] / size[1]


def page_slide(content: PageContent, font: sm.CJKFont, *, dpi: int = 150) -> slides.Slide:
    """The editable slide of one pack page: native tables and chart, the map as a picture.

    Parameters
    ----------
    content
        What the page shows (``pack_contents``).
    font
        The CJK font of the map picture.
    dpi
        Resolution of the map picture.

    Returns
    -------
    layers.export.slides.Slide
        The slide to write with ``slides.write_deck``.
    """
    picture, aspect = map_picture(content.data, font, dpi=dpi)
    return slides.Slide(
        title=content.title,
        subtitle=content.subtitle,
        kpis=content.kpis,
        kpi_title=content.kpi_title,
        picture=picture,
        picture_aspect=aspect,
        footer=tuple(content.data.text.footer),
        stamp=content.data.text.stamp,
        page=content.page,
        laggards=content.laggards,
        laggard_title=content.laggard_title,
        timeline=content.timeline,
        timeline_title=i18n.t("pack_timeline", content.lang),
        timeline_series=(i18n.t("planned_exit", content.lang), i18n.t("exited", content.lang)),
        empty_text=i18n.t("pack_no_data", content.lang),
    )


class PackPage(NamedTuple):
    """One region page of a pack: its code(s), name and map request."""

    codes: tuple[str, ...]
    name: str
    request: MapRequest


def pack_pages(snap: Snapshot, *, by: str, within: str, base: MapRequest) -> list[PackPage]:
    """The region pages of a pack: each unit of level ``by`` under ``within``, or each zone.

    Parameters
    ----------
    snap
        The store snapshot.
    by
        prefecture, county (those with tasks) or zone.
    within
        The region code whose units make the pages.
    base
        The view every page shares (metric, filters, classification).

    Returns
    -------
    list of PackPage
        The pages in code order (zones in ``data/zones.toml`` order).
    """
    if by not in PACK_BY:
        raise ExportError(f"`by` was {by!r}; expected one of {list(PACK_BY)}")
    if by == "zone":
        pages = []
        for zone in pd.unique(snap.zone_members[S.ZONE]):
            codes = snap.zone_members.loc[snap.zone_members[S.ZONE] == zone, S.CODE].astype(str)
            req = dataclasses.replace(base, region=within, zone=str(zone), level=None)
            pages.append(PackPage(tuple(codes), str(zone), req))
        return pages
    rs = snap.region_summary
    wl = S.level_of(within)
    if S.LEVELS.index(by) <= S.LEVELS.index(wl):
        raise ExportError(f"--by {by} must be below the --within region's level ({wl})")
    prefix = within[: S.LEVEL_DIGITS[wl]]
    units = rs[(rs[S.LEVEL] == by) & rs[S.CODE].astype(str).str.startswith(prefix)]
    if by == "county" and S.HAS_TASKS in snap.admin_units:
        au = snap.admin_units
        tasks = au.loc[(au[S.LEVEL] == "county") & au[S.HAS_TASKS].astype(bool), S.CODE]
        units = units[units[S.CODE].isin(tasks)]
    units = units.sort_values(S.CODE)
    return [
        PackPage((str(c),), str(n), dataclasses.replace(base, region=str(c), zone=None, level=None))
        for c, n in zip(units[S.CODE], units[S.NAME], strict=True)
    ]


def pack_contents(
    snap: Snapshot,
    *,
    by: str = "prefecture",
    within: str = S.PROVINCE_CODE,
    base: MapRequest | None = None,
    now: dt.datetime | None = None,
) -> Iterator[PageContent]:
    """Yield what the pack's pages show: the cover, then one page per region (1 + N pages).

    Parameters
    ----------
    snap
        The store snapshot (with townships for a county pack).
    by
        prefecture, county or zone: what each page after the cover shows.
    within
        The scope of the pack (a region code; default: the province).
    base
        The view every page shares (default: ``MapRequest()``).
    now
        The generated time in the footers (default: now, UTC).

    Yields
    ------
    PageContent
        The cover, then the region pages.
    """
    base = base or MapRequest()
    lang = base.lang
    within = S.pad_code(within)
    pages = pack_pages(snap, by=by, within=within, base=base)
    if not pages:
        raise ExportError(f"no {by} under region {within} in {snap.path}; nothing to pack")
    n = 1 + len(pages)
    cover_req = dataclasses.replace(base, region=within, zone=None, level=None)
    if by != "zone":
        cover_req = dataclasses.replace(cover_req, level=by)
    zones = zone_outlines(snap) if len(snap.zone_members) else None
    cover_data = prepare_map(snap, cover_req, now=now, zones=zones)
    scope = unit_name(snap, within)
    kpi_row = query.summarise_region(snap.region_summary, snap.prepared, within, base.flt)
    date = built_date(snap.build_info, lang)
    yield PageContent(
        title=i18n.t("pack_title", lang, scope=scope, by=i18n.t(f"pack_by_{by}", lang)),
        subtitle=i18n.t("pack_subtitle", lang, map=cover_data.text.title, n=n, date=date),
        page=f"1 / {n}",
        data=cover_data,
        kpis=kpi_table(kpi_row, lang),
        kpi_title=i18n.t("pack_kpis_all", lang),
        lang=lang,
    )
    for i, pg in enumerate(pages, start=2):
        data = prepare_map(snap, pg.request, now=now, zones=zones)
        if by == "zone":
            members = snap.zone_members[snap.zone_members[S.ZONE] == pg.name]
            row = query.summarise_zone(
                snap.region_summary, snap.prepared, members, pg.name, base.flt
            )
        else:
            row = query.summarise_region(snap.region_summary, snap.prepared, pg.codes[0], base.flt)
        metric = data.request.metric
        units = i18n.t(f"pack_units_{data.request.unit_level}", lang)
        name = zone_name(pg.name, lang) if by == "zone" else pg.name
        yield PageContent(
            title=f"{i - 1}. {name}",
            subtitle=data.text.title,
            page=f"{i} / {n}",
            data=data,
            kpis=kpi_table(row, lang),
            kpi_title=i18n.t("pack_kpis", lang),
            laggards=laggard_table(data.rows, metric, n=5, lang=lang),
            laggard_title=i18n.t(
                "pack_laggards", lang, metric=i18n.metric_label(metric, lang), units=units
            ),
            timeline=exit_timeline(snap, pg.codes),
            lang=lang,
        )


def pack_figures(
    snap: Snapshot,
    *,
    by: str = "prefecture",
    within: str = S.PROVINCE_CODE,
    base: MapRequest | None = None,
    now: dt.datetime | None = None,
) -> Iterator[Figure]:
    """Yield the pack's A4 pages as figures: the cover, then one page per region.

    Parameters
    ----------
    snap
        The store snapshot (with townships for a county pack).
    by
        prefecture, county or zone: what each page after the cover shows.
    within
        The scope of the pack (a region code; default: the province).
    base
        The view every page shares (default: ``MapRequest()``).
    now
        The generated time in the footers (default: now, UTC).

    Yields
    ------
    matplotlib.figure.Figure
        The cover, then the region pages.
    """
    font = cjk_font()
    for content in pack_contents(snap, by=by, within=within, base=base, now=now):
        yield page_figure(content, font)


def _counted(
    items: Iterable[Any], n: int, progress: Callable[[int, int], None] | None
) -> Iterator[Any]:
    for i, item in enumerate(items, start=1):
        yield item
        if progress:
            progress(i, n)


# --------------------------------------------------------------------------------------
# the files: PDF or PPTX
# --------------------------------------------------------------------------------------
def export_pack(
    out: str | os.PathLike[str],
    *,
    snap: Snapshot,
    by: str = "prefecture",
    within: str = S.PROVINCE_CODE,
    base: MapRequest | None = None,
    fmt: str | None = None,
    dpi: int = 150,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a pack as a multi-page PDF or a PPTX (one slide per page).

    Parameters
    ----------
    out
        The file to write (written to a temporary name first, then renamed).
    snap
        The store snapshot: ``read_snapshot`` with the levels down to county (township too
        for ``by="county"``) and projects when ``base`` filters projects.
    by
        prefecture, county or zone: what each page after the cover shows.
    within
        The scope of the pack (a region code; default: the province).
    base
        The view every page shares (default: ``MapRequest()``).
    fmt
        pdf or pptx (default: the suffix of ``out``).
    dpi
        Resolution of the map pictures on the slides (PPTX).
    progress
        Called with (pages done, pages in all) after each page.

    Returns
    -------
    int
        The number of pages written.
    """
    f = format_of(out, fmt, PACK_FORMATS)
    base = base or MapRequest()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    font = cjk_font()
    n = 1 + len(pack_pages(snap, by=by, within=S.pad_code(within), base=base))
    contents = _counted(pack_contents(snap, by=by, within=within, base=base), n, progress)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if f == "pdf":
            figures = (page_figure(c, font) for c in contents)
            title = i18n.t("pack_pdf_title", base.lang, by=by)
            n = _write_pdf(figures, tmp, title=title, font=font)
        else:
            n = slides.write_deck((page_slide(c, font, dpi=dpi) for c in contents), tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def _write_pdf(figures: Iterable[Figure], out: Path, *, title: str, font: sm.CJKFont) -> int:
    # deferred: matplotlib's PDF backend is loaded only when a PDF pack is written
    from matplotlib.backends.backend_pdf import PdfPages

    n = 0
    with (
        mpl.rc_context(sm.font_rc(font)),
        PdfPages(out, metadata={"Title": title, "Creator": "OneMap"}) as pdf,
    ):
        for fig in figures:
            pdf.savefig(fig)
            n += 1
    return n
