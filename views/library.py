"""县级项目库: one county's projects (sortable, searchable, downloadable) and their breakdowns.

The projects tab shows the projects found by the search on a map of the county's townships
(coloured by sector, with a key) and in a table: a row picked is ringed on the map, a point
clicked on the map selects its row and moves it to the top (``views.selection``).
"""

from __future__ import annotations

import functools

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import simplify, webmap
from geo.escape import escape_markdown
from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, fmt, i18n, query
from views import assets, loaders, selection, state, widgets

__all__ = ["render", "township_shapes"]

LEVEL = "county"
MAP_KEY = "library_map"
#: selection key of the projects table (a row picked there is ringed on the map)
TABLE_KEY = "library_projects"
#: above this many points the map clusters them
CLUSTER_ABOVE = 60


@st.cache_data(show_spinner=False, max_entries=64)
def _townships(path: str, mtime: float, county: str) -> gpd.GeoDataFrame:
    del mtime  # part of the cache key only
    index = loaders.units_index(path)
    codes = index.loc[index[S.PARENT_CODE].astype(str).eq(county), S.CODE].astype(str)
    units = loaders.units_by_code(sorted(codes), path)
    gdf = gpd.GeoDataFrame(
        units[[S.CODE, S.NAME]].reset_index(drop=True),
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )
    if len(gdf):
        gdf = simplify.round_coordinates(simplify.simplify_coverage(gdf, 0.001), 4)
    return gdf


def township_shapes(county: str) -> gpd.GeoDataFrame:
    """The county's townships as simplified polygons (``code``, ``name``) for its map."""
    p = loaders.store_file()
    return _townships(str(p), loaders.store_mtime(p), county)


def _map(county: str, shown: pd.DataFrame, view: state.ViewState) -> None:
    """The county's townships and ``shown`` projects as points coloured by sector, with the
    key; the project picked in the table or on the map is ringed."""
    lang = view.lang
    basemap, token = widgets.basemap(view)
    towns = webmap.to_basemap_crs(township_shapes(county), basemap)
    if towns.empty:
        return
    m = webmap.make_map(
        towns.total_bounds, asset_base_url=assets.asset_base_url(), basemap=basemap, token=token
    )
    webmap.choropleth_layer(
        towns,
        fill_colors=["#fff7bc"] * len(towns),
        tooltip={S.NAME: i18n.t("township", lang)},
        name="townships",
        style=webmap.PolygonStyle(weight=1, fill_opacity=0.25),
    ).add_to(m)
    points = shown
    if isinstance(points, gpd.GeoDataFrame) and len(points):
        geoms = points.geometry
        points = points[~(geoms.is_empty | geoms.isna()).to_numpy()]
    if isinstance(points, gpd.GeoDataFrame) and len(points):
        widgets.project_points_layer(
            points,
            basemap,
            colors=points[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy(),
            cluster=len(points) > CLUSTER_ABOVE,
            lang=lang,
        ).add_to(m)
        picked = selection.selected(TABLE_KEY)
        if picked is not None:  # ringed on the county's map (inside its cluster, if any)
            hit = points[points[S.PROJECT_ID].astype(str).eq(picked).to_numpy()]
            webmap.highlight(m, webmap.to_basemap_crs(hit, basemap), max_zoom=None)
    present = [k for k in charts.SECTOR_COLOURS if shown[S.SECTOR].eq(k).any()]
    webmap.add_legend(
        m,
        title=i18n.t("project_sector", lang),
        labels=[i18n.label(S.SECTOR, k, lang) for k in present],
        colors=[charts.SECTOR_COLOURS[k] for k in present],
    )
    st_folium(
        m,
        key=MAP_KEY,
        height=420,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        on_change=functools.partial(selection.map_picked, TABLE_KEY, MAP_KEY, S.PROJECT_ID),
        render=False,
    )


def _kpis(row: pd.Series, lang: str) -> None:
    cards = [
        ("projects", fmt.fmt_count(row[S.N_PROJECTS], unit=i18n.t("unit_items", lang), lang=lang)),
        ("completion", fmt.fmt_pct(row[S.COMPLETION])),
        ("coverage_of_poor", fmt.fmt_pct(row[S.COVERAGE])),
        ("funds_planned", fmt.fmt_wan_yuan(row[S.FUNDS_PLANNED], lang=lang)),
        ("funds_paid", fmt.fmt_wan_yuan(row[S.FUNDS_SPENT], lang=lang)),
        ("six_fixes_complete", fmt.fmt_pct(row[S.SIX_FIXES_RATE])),
    ]
    for col, (key, value) in zip(st.columns(len(cards)), cards, strict=True):
        col.metric(i18n.t(key, lang), value)


def _projects_tab(mine: pd.DataFrame, county: str, view: state.ViewState) -> None:
    """The county's projects: searchable, on the map and in the table, its XLSX/CSV downloads."""
    lang = view.lang
    name = loaders.unit_name(county, lang)
    names = loaders.units_index().set_index(S.CODE)[S.NAME]
    table = tables.project_table(mine, names=names, with_missing_fixes=True, lang=lang)
    needle = st.text_input(
        i18n.t("search_projects", lang),
        key="library_search",
        placeholder=i18n.t("search_placeholder", lang),
    )
    shown = tables.search(table, needle)
    count = {"shown": fmt.fmt_int(len(shown)), "total": fmt.fmt_int(len(table))}
    st.caption(i18n.t("search_count", lang, **count))
    found = mine.iloc[shown.index.to_numpy()]  # the table is numbered from 0 in mine's order
    _map(county, found, view)
    selection.selectable_table(
        shown,
        found[S.PROJECT_ID].astype(str).tolist(),
        key=TABLE_KEY,
        height=420,
        column_config=widgets.number_columns(shown),
    )
    st.caption(i18n.t("table_pick_hint", lang) + i18n.t("map_pick_hint", lang))
    stem = f"{name}_{i18n.t('library', lang)}"
    c1, c2 = st.columns(2)
    widgets.xlsx_download(
        c1,
        i18n.t("download_xlsx", lang),
        shown,
        sheet=i18n.t("library", lang),
        file=f"{stem}.xlsx",
        key="library_xlsx",
    )
    c2.download_button(
        i18n.t("download_csv", lang),
        functools.partial(tables.to_csv_bytes, shown),
        file_name=f"{stem}.csv",
        mime="text/csv",
        on_click="ignore",
        key="library_csv",
    )


def _mix_tab(mine: pd.DataFrame, lang: str) -> None:
    """Projects by sector and by fund source."""
    if mine.empty:
        st.info(i18n.t("no_data", lang))
        return
    left, right = st.columns(2)
    left.altair_chart(charts.breakdown_chart(mine, S.SECTOR, lang=lang), width="stretch")
    right.altair_chart(charts.breakdown_chart(mine, S.FUND_SOURCE, lang=lang), width="stretch")


def _towns_tab(towns: pd.DataFrame, lang: str) -> None:
    """Completion and coverage of the county's townships, lowest first, and their table."""
    if towns.empty:
        st.info(i18n.t("no_data", lang))
        return
    left, right = st.columns(2)
    for where, metric, title in (
        (left, S.COMPLETION, "chart_town_completion"),
        (right, S.COVERAGE, "chart_town_coverage"),
    ):
        chart = charts.rate_by_region_chart(towns, metric, title=i18n.t(title, lang), lang=lang)
        where.altair_chart(chart, width="stretch")
    table = tables.summary_table(towns, lang=lang)
    st.dataframe(
        table, hide_index=True, column_config=widgets.number_columns(table), placeholder=fmt.MISSING
    )


def _years_tab(mine: pd.DataFrame, lang: str) -> None:
    """Projects and funds by plan year."""
    if mine.empty:
        st.info(i18n.t("no_data", lang))
        return
    st.altair_chart(charts.by_year_chart(mine, lang=lang), width="stretch")


def render() -> None:
    """Draw the page for the current view."""
    view, hit = widgets.page_unit(
        "library",
        S.LAYER_COUNTY_LIBRARY,
        level=LEVEL,
        key="library_pick",
        missing="library_missing",
    )
    if hit is None:
        return
    lang = view.lang
    county = str(hit[S.CODE].iloc[0])
    flt = state.project_filter(view)
    summary = loaders.load_region_summary()
    mine = loaders.unit_projects(S.COUNTY_CODE, county, flt)
    name = loaders.unit_name(county, lang)
    st.subheader(f"{escape_markdown(name)} · {widgets.filters_text(view)}")
    _kpis(query.summarise_region(summary, mine, county, flt), lang)

    tab_table, tab_mix, tab_towns, tab_years = st.tabs(
        [i18n.t(key, lang) for key in ("tab_projects", "tab_mix", "tab_towns", "tab_years")],
        key="library_tab",
        on_change="rerun",  # only the open tab is computed: a filter change stays fast
    )
    if tab_table.open:
        with tab_table:
            _projects_tab(mine, county, view)
    if tab_mix.open:
        with tab_mix:
            _mix_tab(mine, lang)
    if tab_towns.open:
        with tab_towns:
            _towns_tab(query.summarise_children(summary, mine, county, flt), lang)
    if tab_years.open:
        with tab_years:
            _years_tab(mine, lang)


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
