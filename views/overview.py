"""总览 Overview: KPI cards, a choropleth one level below the region, drill-down, zones, points.

Thin page: data come from ``views.loaders`` and ``layers.present.view``; the map is built with
``geo.webmap`` and rendered once per :func:`map_cache_key` for every session of the process
(``views.mapview``: what the component receives is cached, never a ``folium.Map``, which
``st_folium`` would mutate and remount).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from geo import classify, mapstyle, simplify, webmap
from geo.escape import escape_markdown
from layers import schema as S
from layers.build import metrics as M
from layers.errors import OneMapError
from layers.present import cards, charts, fmt, i18n, view
from views import assets, auth, export_widget, loaders, mapview, selection, state, widgets
from views.state import ViewState

__all__ = [
    "build_map",
    "child_level",
    "children_order",
    "children_table",
    "class_breaks_for",
    "drill_button",
    "main",
    "map_cache_key",
    "numbers_cache_key",
    "shared_numbers",
    "unit_labels",
    "unit_shapes",
    "view_numbers",
]

MAP_KEY = "overview_map"
#: selection key of the unit table (a row picked there is outlined on the map)
TABLE_KEY = "overview_units"
#: coverage-simplification tolerance (degrees) of the polygons shown at each level
TOLERANCE: dict[str, float] = {
    "prefecture": 0.005,
    "county": 0.002,
    "township": 0.001,
    "village": 0.0004,
}
ZONE_TOLERANCE = 0.01
#: the map's size the labels are placed for (st_folium's height; a typical content width)
MAP_SIZE_PX: tuple[int, int] = (800, 560)
#: above this many units no label is placed (a zone's counties province-wide are ~100)
MAX_LABELS = 400
#: above this many polygons the map draws on a canvas (smooth panning, no per-feature SVG)
CANVAS_THRESHOLD = 400
#: one colour per sector on every map and chart (``layers.present.charts``)
SECTOR_COLORS: dict[str, str] = charts.SECTOR_COLOURS


# --------------------------------------------------------------------------------------
# cached geometry (GeoDataFrames; the rendered map is cached in views.mapview)
# --------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def _shapes(path: str, mtime: float, level: str, codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    units = loaders.units_by_code(codes, path)
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
    p = loaders.store_file()
    return _shapes(str(p), loaders.store_mtime(p), level, tuple(sorted(codes)))


@st.cache_data(show_spinner=False)
def _zone_shapes(path: str, mtime: float) -> gpd.GeoDataFrame:
    del mtime  # part of the cache key only
    members = loaders.zone_members(path)
    units = loaders.units_of_level("county", path)
    if members.empty:
        return gpd.GeoDataFrame({S.ZONE: []}, geometry=[], crs=units.crs)
    counties = units[[S.CODE, "geometry"]]
    joined = gpd.GeoDataFrame(members.merge(counties, on=S.CODE), crs=units.crs)
    zones = joined.dissolve(by=S.ZONE, as_index=False)[[S.ZONE, "geometry"]]
    zones["geometry"] = zones.geometry.simplify(ZONE_TOLERANCE)
    return simplify.round_coordinates(zones, 3)


def zone_shapes() -> gpd.GeoDataFrame:
    """Each action-plan zone as the union of its counties (simplified for the overview)."""
    p = loaders.store_file()
    return _zone_shapes(str(p), loaders.store_mtime(p))


# --------------------------------------------------------------------------------------
# the numbers of the view
# --------------------------------------------------------------------------------------
child_level = view.child_level


def view_numbers(view_state: ViewState) -> tuple[pd.Series, pd.DataFrame, str]:
    """KPI row, the map's unit rows (counts and rates under the filters) and their level.

    The rules are ``layers.view``'s, shared with the exports; a zone the store does not hold
    (e.g. a partial province) is reported and left out.
    """
    summary = loaders.load_region_summary()
    flt = state.project_filter(view_state)
    # unfiltered views come straight from region_summary; under a filter a GeoPackage recounts
    # the prepared projects (``loaders.warm_up`` preloads them after the first view), PostGIS
    # sums them in SQL (``loaders.count_source``)
    projects = loaders.count_source(flt)
    zone = usable_zone(view_state)
    region = view_state.region
    rows = view.view_rows(
        summary, projects, region, flt, zone=zone, zone_members=loaders.zone_members()
    )
    kpi = view.view_kpi(summary, projects, region, flt, rows, zone=zone)
    return kpi, rows, view.unit_level(region, zone=zone)


def usable_zone(view_state: ViewState) -> str | None:
    """The view's zone if the store knows its counties, else None (with a warning)."""
    if not view.zone_applies(view_state.region, view_state.zone):
        return None
    members = loaders.zone_members()
    if members[S.ZONE].eq(view_state.zone).any():
        return view_state.zone
    st.warning(i18n.t("zone_incomplete", view_state.lang, zone=view_state.zone))
    return None


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _shared_numbers(key: tuple, _view_state: ViewState) -> tuple[pd.Series, pd.DataFrame, str]:
    del key  # the cache key only (``numbers_cache_key``)
    return view_numbers(_view_state)


def numbers_cache_key(view_state: ViewState) -> tuple:
    """What :func:`view_numbers` depends on: the store and its pinned revision, the reader's
    scope region (a clerk's figures are never a planner's), the region, zone, project filter
    and language (of a warning the numbers may carry)."""
    path = loaders.store_file()
    return (
        "numbers",
        str(path),
        loaders.store_mtime(path),
        auth.current_scope().region,
        view_state.region,
        view_state.zone,
        dataclasses.astuple(state.project_filter(view_state)),
        view_state.lang,
    )


def shared_numbers(view_state: ViewState) -> tuple[pd.Series, pd.DataFrame, str]:
    """:func:`view_numbers` computed once per :func:`numbers_cache_key` for every session of
    the process (copies: callers may change them)."""
    return _shared_numbers(numbers_cache_key(view_state), view_state)


def class_breaks_for(
    view_state: ViewState, rows: pd.DataFrame, level: str
) -> tuple[np.ndarray | None, float | None]:
    """Class breaks and the lowest value they start from (``layers.view`` rules).

    By default from the unfiltered values of the view's own units (classes discriminate where
    one looks, fixed while filters change); ``breaks_from`` may ask for province-wide breaks
    of the level or breaks that follow the filters.
    """
    values = view.break_values(
        loaders.load_region_summary(),
        rows,
        view_state.metric,
        level=level,
        source=view_state.breaks_from,
    )
    return view.class_breaks(values), view.legend_lower(values)


# --------------------------------------------------------------------------------------
# UI pieces
# --------------------------------------------------------------------------------------
def kpi_cards(kpi: pd.Series, view_state: ViewState) -> None:
    """Seven KPI cards (never cut off) and, under project filters, which do not follow them."""
    lang = view_state.lang
    note = cards.registry_note(state.project_filter(view_state), lang)
    st.html(cards.cards_html(cards.kpi_cards(M.kpis(kpi), lang), note))


def breadcrumb(view_state: ViewState) -> None:
    """Buttons from the province down to the region; each goes back up to that level."""
    chain = state.ancestors(view_state.region)
    names = [loaders.unit_name(code, view_state.lang) for code in chain]
    widths = [len(n) + 4 for n in names]
    cols = st.columns([*widths, max(4, 60 - sum(widths))])
    for i, (col, code, name) in enumerate(zip(cols, chain, names, strict=False)):
        last = i == len(chain) - 1
        col.button(
            escape_markdown(name) + ("" if last else " ›"),
            key=f"crumb_{code}",
            on_click=_go_up,
            args=(code, chain[min(i + 1, len(chain) - 1)]),
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
    """Select: the clicked unit is outlined and its row comes first in the unit table; the
    drill-down is the "进入 … →" button under the map (widget callback)."""
    code = clicked_code(st.session_state.get(MAP_KEY), state.current_view().region)
    if code:
        selection.pick(TABLE_KEY, code)


def _go_up(code: str, came_from: str) -> None:
    """Breadcrumb: move up to ``code`` with the unit one came from selected (callback)."""
    state.set_region(code)
    selection.pick(TABLE_KEY, came_from)


def drill_button(view_state: ViewState, rows: pd.DataFrame) -> str | None:
    """The drill-down: a "进入 怒江州 →" button under the map for the unit selected on the map
    or in the unit table; nothing when no unit of the view is selected.

    Parameters
    ----------
    view_state
        The view shown.
    rows
        The map's unit rows (``view_numbers``).

    Returns
    -------
    str or None
        The selected unit's code when the button is shown.
    """
    picked = selection.selected(TABLE_KEY)
    if picked is None or picked == view_state.region:
        return None
    if not rows[S.CODE].astype(str).eq(picked).any():
        return None
    name = escape_markdown(loaders.unit_name(picked, view_state.lang))
    st.button(
        i18n.t("drill_into", view_state.lang, name=name),
        key="overview_drill",
        type="primary",
        on_click=state.set_region,
        args=(picked,),
    )
    return picked


def _tooltip_frame(
    shapes: gpd.GeoDataFrame, rows: pd.DataFrame, metric: str, lang: str
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    data = shapes.merge(rows.drop(columns=[S.NAME], errors="ignore"), on=S.CODE, how="left")
    mlabel = i18n.metric_label(metric, lang)
    data["_metric"] = fmt.fmt_pct_series(data[metric])
    data["_projects"] = fmt.fmt_count_series(data[S.N_PROJECTS], lang=lang)
    data["_completion"] = fmt.fmt_pct_series(data[S.COMPLETION])
    data["_coverage"] = fmt.fmt_pct_series(data[S.COVERAGE])
    data["_funds"] = fmt.fmt_wan_yuan_series(data[S.FUNDS_PLANNED], lang=lang)
    data["_poor"] = fmt.fmt_count_series(data[S.POOR_POPULATION], lang=lang)
    tooltip = {
        S.NAME: i18n.t("name", lang),
        "_metric": mlabel,
        "_projects": i18n.t("projects", lang),
        "_completion": i18n.t("completion", lang),
        "_coverage": i18n.t("coverage", lang),
        "_funds": i18n.t("funds_planned", lang),
        "_poor": i18n.t("poor_population_short", lang),
    }
    if metric in (S.COMPLETION, S.COVERAGE):
        tooltip.pop("_completion" if metric == S.COMPLETION else "_coverage")
    return data, tooltip


def project_points(view_state: ViewState) -> gpd.GeoDataFrame:
    """The filtered projects inside a township or village, with point geometry."""
    key = S.TOWNSHIP_CODE if view_state.level == "township" else S.VILLAGE_CODE
    return loaders.unit_projects(key, view_state.region, state.project_filter(view_state))


def _points_layer(
    points: gpd.GeoDataFrame, view_state: ViewState, base: str | None, basemap: str
) -> Any:
    lang = view_state.lang
    data = gpd.GeoDataFrame(
        {
            "_name": points[S.PROJECT_NAME].astype(str).to_numpy(),
            "_sector": points[S.SECTOR].map(lambda s: i18n.label(S.SECTOR, s, lang)),
            "_funds": (
                fmt.fmt_wan_yuan_series(points[S.FUNDS_PLANNED], lang=lang)
                + " / "
                + fmt.fmt_wan_yuan_series(points[S.FUNDS_SPENT], lang=lang)
            ).to_numpy(),
            "_status": points[S.STATUS].map(lambda s: i18n.label(S.STATUS, s, lang)).to_numpy(),
            "_unit": points[S.RESPONSIBLE_UNIT].fillna("—").astype(str).to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    data = webmap.to_basemap_crs(data, basemap)
    colors = points[S.SECTOR].map(SECTOR_COLORS).fillna("#7f7f7f").to_numpy()
    popup = {
        "_name": i18n.t("project_name", lang),
        "_sector": i18n.t("sector", lang),
        "_funds": i18n.t("funds_planned_spent", lang),
        "_status": i18n.t("status_short", lang),
        "_unit": i18n.t("responsible_unit", lang),
    }
    return webmap.points_layer(
        data, colors=colors, popup=popup, asset_base_url=base, name="projects"
    )


def unit_labels(data: gpd.GeoDataFrame) -> tuple[Any, list[tuple[float, float, str]]]:
    """Unit names, with the metric's value under the name where both fit, placed at the map's
    initial zoom without collisions (``geo.mapstyle.place_labels``); ``data`` is the map's
    frame (``name`` and the formatted ``_metric``). Unit names come first: the layer and the
    placed labels as (lon, lat, text), which the zone labels then keep clear of."""
    placed = pd.DataFrame(columns=["row", "lon", "lat", "name", "value"])
    if 0 < len(data) <= MAX_LABELS:
        zoom = mapstyle.initial_zoom(data.total_bounds, MAP_SIZE_PX)
        names = data[S.NAME].fillna("").astype(str).tolist()
        values = data["_metric"].tolist()
        placed = mapstyle.place_labels(data, names, values, zoom=zoom)
    points = gpd.GeoDataFrame(
        placed, geometry=gpd.points_from_xy(placed["lon"], placed["lat"]), crs="EPSG:4326"
    )
    layer = webmap.labels_layer(
        points,
        label_column="name",
        value_column="value",
        name="unit_labels",
        css_class="onemap-unit-label",
    )
    texts = [f"{n}\n{v}" if v else n for n, v in zip(placed["name"], placed["value"], strict=True)]
    return layer, list(zip(placed["lon"], placed["lat"], texts, strict=True))


def _legend(
    m: Any,
    view_state: ViewState,
    breaks: np.ndarray | None,
    lower: float | None,
    sectors_shown: set[str],
) -> None:
    """The map's key: the metric's classes (one "all equal" entry when every unit has the same
    value; "no data" alone when none has one), where the classes come from, and one colour per
    sector of the project points shown."""
    lang = view_state.lang
    palette = webmap.PALETTE_GREENS
    labels_: list[str] = []
    colors: list[str] = []
    if breaks is not None:
        k = len(breaks)
        pick = np.round(np.linspace(0, len(palette) - 1, k)).astype(int) if k > 1 else [-1]
        labels_ = classify.class_labels(breaks, lower=lower)
        if k == 1:  # every unit has the same value: say so instead of drawing classes
            labels_ = [i18n.t("all_equal", lang, value=labels_[0])]
        colors = [palette[i] for i in pick]
    extra = {
        i18n.label(S.SECTOR, s, lang): SECTOR_COLORS[s] for s in S.SECTORS if s in sectors_shown
    }
    webmap.add_legend(
        m,
        title=i18n.metric_label(view_state.metric, lang),
        labels=labels_,
        colors=colors,
        no_data_label=i18n.t("no_data_short", lang),
        extra=extra,
        extra_title=i18n.t("sector_key", lang) if extra else None,
        note=i18n.t(f"legend_breaks_{view_state.breaks_from}", lang) if labels_ else None,
    )


def build_map(
    view_state: ViewState,
    rows: pd.DataFrame,
    level: str,
    breaks: np.ndarray | None,
    lower: float | None = None,
    *,
    basemap: tuple[str, str | None] | None = None,
) -> tuple[Any, int]:
    """The folium map of the view and the number of project points; ``basemap`` is
    ``widgets.basemap``'s answer (asked here when None)."""
    lang = view_state.lang
    shapes = unit_shapes(level, rows[S.CODE].astype(str).tolist())
    if shapes.empty:
        raise OneMapError(
            f"no {level} polygons for region {view_state.region} in admin_units of "
            f"{loaders.store_file()}; rebuild the store with `onemap build`"
        )
    data, tooltip = _tooltip_frame(shapes, rows, view_state.metric, lang)
    basemap, token = basemap or widgets.basemap(view_state)
    data = webmap.to_basemap_crs(data, basemap)
    palette = webmap.PALETTE_GREENS
    if breaks is None:
        colors = np.full(len(data), webmap.NO_DATA_COLOR, dtype=object)
    else:
        colors = webmap.class_colors(data[view_state.metric], breaks, palette)
    base = assets.asset_base_url()
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
    labels, avoid = unit_labels(data)
    if view_state.show_zones and view_state.level in ("province", "prefecture"):
        zones = zone_shapes()
        if len(zones):
            zones = webmap.to_basemap_crs(zones, basemap)
            webmap.outline_layer(zones, name="zones").add_to(m)
            zoom = mapstyle.initial_zoom(data.total_bounds, MAP_SIZE_PX)
            seen = zones.clip(data.total_bounds)  # labelled where they are on screen
            names_en = loaders.zone_names_en()
            placed = mapstyle.place_labels(  # where it hides no unit name
                seen,
                [i18n.zone_label(z, names_en, view_state.lang) for z in seen[S.ZONE].astype(str)],
                zoom=zoom,
                inside=(0.0, 0.0),
                avoid=avoid,
                search=True,
            )
            webmap.labels_layer(
                gpd.GeoDataFrame(
                    placed, geometry=gpd.points_from_xy(placed["lon"], placed["lat"]), crs=4326
                ),
                label_column="name",
                name="zone_labels",
                css_class="onemap-label centred",
            ).add_to(m)
    labels.add_to(m)
    picked = selection.selected(TABLE_KEY)
    if picked is not None:  # outlined; a row picked in the table: the map zooms to it
        zoom = None if selection.picked_on_map(TABLE_KEY) else 15
        webmap.highlight(m, data[data[S.CODE].astype(str).eq(picked).to_numpy()], max_zoom=zoom)
    n_points = 0
    sectors_shown: set[str] = set()
    if view_state.level in ("township", "village"):
        points = project_points(view_state)
        points = points[~(points.geometry.is_empty | points.geometry.isna())]
        n_points = len(points)
        sectors_shown = set(points[S.SECTOR].dropna().unique())
        if n_points:
            _points_layer(points, view_state, base, basemap).add_to(m)
    _legend(m, view_state, breaks, lower, sectors_shown)
    return m, n_points


def map_cache_key(view_state: ViewState, basemap: tuple[str, str | None]) -> tuple:
    """Everything the overview's map depends on, as the key of the maps shared between
    sessions (``views.mapview``): the store and its pinned revision, the reader's scope (a
    county clerk never shares an entry with a province planner), the view (region, zone,
    filters, metric, classes, zones shown, language), the resolved basemap, the unit selected
    (and whether on the map: no zoom), the asset URL and the map's size.

    Parameters
    ----------
    view_state
        The view.
    basemap
        ``widgets.basemap``'s answer: the basemap drawn and its token.

    Returns
    -------
    tuple
    """
    path = loaders.store_file()
    shown = dataclasses.replace(view_state, page="overview", year=None, basemap="")
    return (
        "overview",
        str(path),
        loaders.store_mtime(path),
        auth.current_scope().region,
        dataclasses.astuple(shown),
        basemap,
        selection.selected(TABLE_KEY),
        selection.picked_on_map(TABLE_KEY),  # picked on the map: no zoom to it
        assets.asset_base_url(),
        MAP_SIZE_PX,
    )


def children_order(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """Positions of ``rows`` sorted by the metric, lowest first (no value last)."""
    return np.argsort(pd.to_numeric(rows[metric], errors="coerce").to_numpy(), kind="stable")


def children_table(rows: pd.DataFrame, metric: str, lang: str) -> pd.DataFrame:
    """The map's units as a table sorted by the metric (lowest first): numbers, not text, in
    the formats of every other table (``widgets.number_columns``: rates in % with one
    decimal, funds in 万元 — million yuan in English — with separators), so columns sort."""
    tr = i18n.t

    def pct(column: str) -> np.ndarray:
        return (pd.to_numeric(rows[column], errors="coerce") * 100).round(1).to_numpy()

    money = tr("unit_million_yuan" if lang == "en" else "unit_wan_yuan", lang)
    funds = pd.to_numeric(rows[S.FUNDS_PLANNED], errors="coerce") / (100 if lang == "en" else 1)
    columns = {
        tr("name", lang): rows[S.NAME].to_numpy(),
        f"{i18n.metric_label(metric, lang)}(%)": pct(metric),
        tr("projects", lang): pd.array(rows[S.N_PROJECTS], dtype="Int64"),
        f"{tr('completion', lang)}(%)": pct(S.COMPLETION),
        f"{tr('coverage', lang)}(%)": pct(S.COVERAGE),
        f"{tr('funds_planned', lang)}({money})": funds.round(1).to_numpy(),
    }
    out = pd.DataFrame(columns)
    return out.iloc[children_order(rows, metric)].reset_index(drop=True)


def main() -> None:
    """Draw the overview page."""
    view_state = state.current_view()
    lang = view_state.lang
    name = escape_markdown(loaders.unit_name(view_state.region, lang))
    st.title(f"{i18n.t('overview', lang)} · {name}")
    kpi, rows, level = shared_numbers(view_state)
    kpi_cards(kpi, view_state)
    breadcrumb(view_state)
    basemap = widgets.basemap(view_state)  # may warn: outside the cached map

    def build() -> tuple[Any, int]:
        breaks, lower = class_breaks_for(view_state, rows, level)
        return build_map(view_state, rows, level, breaks, lower, basemap=basemap)

    args = mapview.cached_args(map_cache_key(view_state, basemap), build, key=MAP_KEY)
    n_points = int(args.extra)
    mapview.show(args, key=MAP_KEY, height=560, on_change=_on_map_click)
    drill_button(view_state, rows)
    flt = state.project_filter(view_state)
    caption = [widgets.describe_filters(view_state)]
    if view_state.level not in ("village",):
        caption.append(i18n.t("click_hint", lang))
    if n_points:
        caption.append(f"{i18n.t('projects_layer', lang)}: {n_points:,}")
    if not flt.is_empty and view_state.breaks_from == view.BREAKS_FILTERED:
        caption.append(i18n.t("breaks_follow_filters", lang))
    unknown = rows[S.N_PROJECTS].isna().any() or pd.isna(kpi[S.N_PROJECTS])
    scoped = widgets.scoped_counts_note(loaders.count_source(flt), lang)
    if scoped and unknown:  # a county account on PostGIS: other regions' counts are unknown
        caption.append(scoped)
    st.caption(" · ".join(caption))
    export_widget.export_button(view_state, key="overview_export")
    loaders.warm_up()
    if level != "village" or view_state.level != "village":
        picked = selection.selected(TABLE_KEY)
        with st.expander(i18n.t("units_table", lang), expanded=picked is not None):
            codes = rows[S.CODE].astype(str).to_numpy()[children_order(rows, view_state.metric)]
            table = children_table(rows, view_state.metric, lang)
            config = widgets.number_columns(table)
            selection.selectable_table(table, codes, key=TABLE_KEY, column_config=config)
            st.caption(i18n.t("table_pick_hint", lang))


if __name__ == "__main__":
    main()
