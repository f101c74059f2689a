"""总览 Overview: KPI cards, a choropleth one level below the region, drill-down, zones, points.

Thin page: data come from ``views.common`` loaders and ``layers.query``; the map is built with
``geo.webmap`` every run (never cached: a cached ``folium.Map`` remounts and loses the click).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import classify, simplify, webmap
from layers import schema as S
from layers.build import metrics as M
from layers.errors import OneMapError
from layers.present import fmt, view
from views import common, export_widget

MAP_KEY = "overview_map"
#: coverage-simplification tolerance (degrees) of the polygons shown at each level
TOLERANCE: dict[str, float] = {
    "prefecture": 0.005,
    "county": 0.002,
    "township": 0.001,
    "village": 0.0004,
}
ZONE_TOLERANCE = 0.01
#: above this many polygons the map draws on a canvas (smooth panning, no per-feature SVG)
CANVAS_THRESHOLD = 400
SECTOR_COLORS: dict[str, str] = dict(
    zip(
        S.SECTORS,
        (
            "#1f77b4",
            "#ff7f0e",
            "#2ca02c",
            "#d62728",
            "#9467bd",
            "#8c564b",
            "#e377c2",
            "#7f7f7f",
            "#bcbd22",
            "#17becf",
        ),
        strict=True,
    )
)


# --------------------------------------------------------------------------------------
# cached geometry (GeoDataFrames are cached, the folium map is not)
# --------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def _shapes(path: str, mtime: float, level: str, codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    units = common.units_by_code(codes, path)
    sel = units[units[S.LEVEL] == level]
    gdf = gpd.GeoDataFrame(
        sel[[S.CODE, S.NAME]].reset_index(drop=True),
        geometry=sel.geometry.to_numpy(),
        crs=units.crs,
    )
    if len(gdf) == 0:
        return gdf
    gdf = simplify.simplify_coverage(gdf, TOLERANCE.get(level, 0.001))
    return simplify.round_coordinates(gdf, 4)


def unit_shapes(level: str, codes: list[str]) -> gpd.GeoDataFrame:
    """Coverage-simplified polygons of the units ``codes`` (all of one ``level``)."""
    p = common.store_file()
    return _shapes(str(p), common._mtime(p), level, tuple(sorted(codes)))


@st.cache_data(show_spinner=False)
def _zone_shapes(path: str, mtime: float) -> gpd.GeoDataFrame:
    members = common._cached_zone_members(path, mtime)
    units = common.units_of_level("county", path)
    if members.empty:
        return gpd.GeoDataFrame({S.ZONE: []}, geometry=[], crs=units.crs)
    counties = units[[S.CODE, "geometry"]]
    joined = gpd.GeoDataFrame(members.merge(counties, on=S.CODE), crs=units.crs)
    zones = joined.dissolve(by=S.ZONE, as_index=False)[[S.ZONE, "geometry"]]
    zones["geometry"] = zones.geometry.simplify(ZONE_TOLERANCE)
    return simplify.round_coordinates(zones, 3)


def zone_shapes() -> gpd.GeoDataFrame:
    """Each action-plan zone as the union of its counties (simplified for the overview)."""
    p = common.store_file()
    return _zone_shapes(str(p), common._mtime(p))


# --------------------------------------------------------------------------------------
# the numbers of the view
# --------------------------------------------------------------------------------------
child_level = view.child_level


def view_numbers(state: common.ViewState) -> tuple[pd.Series, pd.DataFrame, str]:
    """KPI row, the map's unit rows (counts and rates under the filters) and their level.

    The rules are ``layers.view``'s, shared with the exports; a zone the store does not hold
    (e.g. a partial province) is reported and left out.
    """
    summary = common.load_region_summary()
    flt = common.project_filter(state)
    # unfiltered views come straight from region_summary: the 192,000 projects are read only
    # when a filter needs them (``common.warm_up`` preloads them after the first view)
    projects = None if flt.is_empty else common.prepared_projects()
    zone = usable_zone(state)
    rows = view.view_rows(
        summary, projects, state.region, flt, zone=zone, zone_members=common.zone_members()
    )
    kpi = view.view_kpi(summary, projects, state.region, flt, rows, zone=zone)
    return kpi, rows, view.unit_level(state.region, zone=zone)


def usable_zone(state: common.ViewState) -> str | None:
    """The view's zone if the store knows its counties, else None (with a warning)."""
    if not view.zone_applies(state.region, state.zone):
        return None
    members = common.zone_members()
    if members[S.ZONE].eq(state.zone).any():
        return state.zone
    st.warning(
        f"重点区域「{state.zone}」的县在本数据库中不全，地图显示整个区域。"
        if state.lang == "zh"
        else f"The store does not hold all counties of zone {state.zone}; showing the region."
    )
    return None


def class_breaks_for(
    state: common.ViewState, rows: pd.DataFrame, level: str
) -> tuple[np.ndarray | None, float | None]:
    """Class breaks and the lowest value they start from (``layers.view`` rules).

    Fixed (default): from every unfiltered unit of ``level`` in the province, so colours mean
    the same across years, filters and drill-down; otherwise from the view's own rows.
    """
    values = view.break_values(
        common.load_region_summary(), rows, state.metric, level=level, fixed=state.fixed_breaks
    )
    return view.class_breaks(values), view.legend_lower(values)


# --------------------------------------------------------------------------------------
# UI pieces
# --------------------------------------------------------------------------------------
def kpi_cards(kpi: pd.Series, lang: str) -> None:
    """Seven KPI cards in one row."""
    k = M.kpis(kpi)
    cards = [
        (common.t("projects", lang), fmt.fmt_count(k[S.N_PROJECTS])),
        (common.t("completion", lang), fmt.fmt_pct(k[S.COMPLETION])),
        (common.t("coverage", lang), fmt.fmt_pct(k[S.COVERAGE])),
        (common.t("funds_planned", lang), fmt.fmt_wan_yuan(k[S.FUNDS_PLANNED])),
        (common.t("funds_spent", lang), fmt.fmt_wan_yuan(k[S.FUNDS_SPENT])),
        (common.t("poor_population", lang), fmt.fmt_count(k[S.POOR_POPULATION], unit="人")),
        (
            common.t("plans", lang),
            " / ".join(
                fmt.fmt_int(k[c])
                for c in (S.COUNTY_LIBRARIES, S.TOWNSHIP_ROUTE_MAPS, S.VILLAGE_PLANS)
            ),
        ),
    ]
    for row, widths in ((cards[:4], [1, 1, 1, 1]), (cards[4:], [1, 1, 2])):
        for col, (label, value) in zip(st.columns(widths), row, strict=True):
            col.metric(label, value)


def breadcrumb(state: common.ViewState) -> None:
    """Buttons from the province down to the region; each goes back up to that level."""
    chain = common.ancestors(state.region)
    names = [common.unit_name(code, state.lang) for code in chain]
    widths = [len(n) + 4 for n in names]
    cols = st.columns([*widths, max(4, 60 - sum(widths))])
    for i, (col, code, name) in enumerate(zip(cols, chain, names, strict=False)):
        last = i == len(chain) - 1
        col.button(
            name + ("" if last else " ›"),
            key=f"crumb_{code}",
            on_click=common.set_region,
            args=(code,),
            disabled=last,
            icon=":material/location_on:" if last else None,
            use_container_width=True,
        )


def clicked_code(value: Any, current_region: str) -> str | None:
    """The unit code of a clicked map feature if it lies below ``current_region``, else None.

    ``value`` is the ``st_folium`` return value (``{"last_active_drawing": feature, ...}``).
    """
    if not isinstance(value, dict):
        return None
    feature = value.get("last_active_drawing") or {}
    props = feature.get("properties") if isinstance(feature, dict) else None
    code = str((props or {}).get(S.CODE) or "")
    if len(code) != 12 or not code.isdigit():
        return None
    deeper = S.LEVELS.index(S.level_of(code)) > S.LEVELS.index(S.level_of(current_region))
    inside = code.startswith(current_region[: S.LEVEL_DIGITS[S.level_of(current_region)]])
    return code if deeper and inside else None


def _on_map_click() -> None:
    """Drill down: the clicked feature's ``code`` becomes the region (widget callback)."""
    code = clicked_code(st.session_state.get(MAP_KEY), common.current_view(draw=False).region)
    if code:
        common.set_region(code)


def _tooltip_frame(
    shapes: gpd.GeoDataFrame, rows: pd.DataFrame, metric: str, lang: str
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    data = shapes.merge(rows.drop(columns=[S.NAME], errors="ignore"), on=S.CODE, how="left")
    en = lang == "en"
    mlabel = common.metric_label(metric, lang)
    data["_metric"] = fmt.fmt_pct_series(data[metric])
    data["_projects"] = fmt.fmt_count_series(data[S.N_PROJECTS])
    data["_completion"] = fmt.fmt_pct_series(data[S.COMPLETION])
    data["_coverage"] = fmt.fmt_pct_series(data[S.COVERAGE])
    data["_funds"] = fmt.fmt_wan_yuan_series(data[S.FUNDS_PLANNED])
    data["_poor"] = fmt.fmt_count_series(data[S.POOR_POPULATION])
    tooltip = {
        S.NAME: "Name" if en else "名称",
        "_metric": mlabel,
        "_projects": "Projects" if en else "项目数",
        "_completion": "Completion" if en else "完工率",
        "_coverage": "Coverage" if en else "覆盖率",
        "_funds": "Funds planned" if en else "计划资金",
        "_poor": "Poor population" if en else "贫困人口",
    }
    if metric in (S.COMPLETION, S.COVERAGE):
        tooltip.pop("_completion" if metric == S.COMPLETION else "_coverage")
    return data, tooltip


def project_points(state: common.ViewState) -> gpd.GeoDataFrame:
    """The filtered projects inside a township or village, with point geometry."""
    projects = common.load_projects()
    key = S.TOWNSHIP_CODE if state.level == "township" else S.VILLAGE_CODE
    keep = (projects[key] == state.region).to_numpy() & common.project_filter(state).mask(projects)
    return projects[keep]


def _points_layer(
    points: gpd.GeoDataFrame, state: common.ViewState, base: str | None, basemap: str
) -> Any:
    en = state.lang == "en"
    data = gpd.GeoDataFrame(
        {
            "_name": points[S.PROJECT_NAME].astype(str).to_numpy(),
            "_sector": points[S.SECTOR].map(lambda s: s if en else S.SECTOR_LABELS_ZH.get(s, s)),
            "_funds": (
                fmt.fmt_wan_yuan_series(points[S.FUNDS_PLANNED])
                + " / "
                + fmt.fmt_wan_yuan_series(points[S.FUNDS_SPENT])
            ).to_numpy(),
            "_status": points[S.STATUS]
            .map(lambda s: s if en else S.STATUS_LABELS_ZH.get(s, s))
            .to_numpy(),
            "_unit": points[S.RESPONSIBLE_UNIT].fillna("—").astype(str).to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    data = webmap.to_basemap_crs(data, basemap)
    colors = points[S.SECTOR].map(SECTOR_COLORS).fillna("#7f7f7f").to_numpy()
    popup = {
        "_name": "Project" if en else "项目名称",
        "_sector": "Sector" if en else "行业",
        "_funds": "Funds planned / spent" if en else "计划/已支出资金",
        "_status": "Status" if en else "状态",
        "_unit": "Responsible unit" if en else "责任单位",
    }
    return webmap.points_layer(
        data, colors=colors, popup=popup, asset_base_url=base, name="projects"
    )


def build_map(
    state: common.ViewState,
    rows: pd.DataFrame,
    level: str,
    breaks: np.ndarray | None,
    lower: float | None = None,
) -> tuple[Any, int]:
    """The folium map of the view (built every run) and the number of project points."""
    lang = state.lang
    shapes = unit_shapes(level, rows[S.CODE].astype(str).tolist())
    if shapes.empty:
        raise OneMapError(
            f"no {level} polygons for region {state.region} in admin_units of "
            f"{common.store_file()}; rebuild the store with `onemap build`"
        )
    data, tooltip = _tooltip_frame(shapes, rows, state.metric, lang)
    basemap, token = common.basemap(state)
    data = webmap.to_basemap_crs(data, basemap)
    palette = webmap.PALETTE_GREENS
    if breaks is None:
        colors = np.full(len(data), webmap.NO_DATA_COLOR, dtype=object)
    else:
        colors = webmap.class_colors(data[state.metric], breaks, palette)
    base = common.asset_base_url()
    m = webmap.make_map(
        data.total_bounds,
        asset_base_url=base,
        basemap=basemap,
        token=token,
        prefer_canvas=len(data) > CANVAS_THRESHOLD,
    )
    webmap.choropleth_layer(
        data, fill_colors=colors, tooltip=tooltip, properties=[S.CODE], name="units"
    ).add_to(m)
    if state.show_zones and state.level in ("province", "prefecture"):
        zones = zone_shapes()
        if len(zones):
            zones = webmap.to_basemap_crs(zones, basemap)
            webmap.outline_layer(zones, name="zones").add_to(m)
            labels = zones.copy()
            labels["geometry"] = labels.geometry.representative_point()
            webmap.labels_layer(labels, label_column=S.ZONE, name="zone_labels").add_to(m)
    n_points = 0
    sectors_shown: set[str] = set()
    if state.level in ("township", "village"):
        points = project_points(state)
        points = points[~(points.geometry.is_empty | points.geometry.isna())]
        n_points = len(points)
        sectors_shown = set(points[S.SECTOR].dropna().unique())
        if n_points:
            _points_layer(points, state, base, basemap).add_to(m)
    if breaks is not None:
        k = len(breaks)
        pick = np.round(np.linspace(0, len(palette) - 1, k)).astype(int) if k > 1 else [-1]
        labels_ = classify.class_labels(breaks, lower=lower)
        extra = {
            (s if lang == "en" else S.SECTOR_LABELS_ZH[s]): SECTOR_COLORS[s]
            for s in S.SECTORS
            if s in sectors_shown
        }
        webmap.add_legend(
            m,
            title=common.metric_label(state.metric, lang),
            labels=labels_,
            colors=[palette[i] for i in pick],
            no_data_label="No data" if lang == "en" else "无数据",
            extra=extra,
        )
    return m, n_points


def children_table(rows: pd.DataFrame, metric: str, lang: str) -> pd.DataFrame:
    """The map's units as a table sorted by the metric (lowest first)."""
    en = lang == "en"
    out = pd.DataFrame(
        {
            "Name" if en else "名称": rows[S.NAME].to_numpy(),
            common.metric_label(metric, lang): fmt.fmt_pct_series(rows[metric]).to_numpy(),
            "Projects" if en else "项目数": rows[S.N_PROJECTS].to_numpy(),
            "Completion" if en else "完工率": fmt.fmt_pct_series(rows[S.COMPLETION]).to_numpy(),
            "Coverage" if en else "覆盖率": fmt.fmt_pct_series(rows[S.COVERAGE]).to_numpy(),
            "Funds planned" if en else "计划资金": fmt.fmt_wan_yuan_series(
                rows[S.FUNDS_PLANNED]
            ).to_numpy(),
        }
    )
    order = np.argsort(pd.to_numeric(rows[metric], errors="coerce").to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def main() -> None:
    """Draw the overview page."""
    state = common.current_view()
    lang = state.lang
    st.title(f"{common.t('overview', lang)} · {common.unit_name(state.region, lang)}")
    kpi, rows, level = view_numbers(state)
    kpi_cards(kpi, lang)
    breadcrumb(state)
    breaks, lower = class_breaks_for(state, rows, level)
    m, n_points = build_map(state, rows, level, breaks, lower)
    st_folium(
        m,
        key=MAP_KEY,
        height=560,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        on_change=_on_map_click,
        render=False,  # st_folium renders the map once itself; True renders it twice
    )
    flt = common.project_filter(state)
    caption = [common.describe_filters(state)]
    if state.level not in ("village",):
        caption.append(common.t("click_hint", lang))
    if n_points:
        caption.append(f"{common.t('projects_layer', lang)}: {n_points:,}")
    if not flt.is_empty and not state.fixed_breaks:
        caption.append("分级随筛选变化" if lang == "zh" else "Breaks follow the filters")
    st.caption(" · ".join(caption))
    export_widget.export_button(state, key="overview_export")
    common.warm_up()
    if level != "village" or state.level != "village":
        with st.expander(
            "下级区域明细（按指标由低到高）" if lang == "zh" else "Units (lowest first)",
            expanded=False,
        ):
            st.dataframe(children_table(rows, state.metric, lang), hide_index=True)


# re-exported for tests and the benchmark
__all__ = [
    "build_map",
    "child_level",
    "children_table",
    "class_breaks_for",
    "main",
    "unit_shapes",
    "view_numbers",
]

if __name__ == "__main__":
    main()
