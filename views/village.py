"""村级施工图: one village's projects on the map and in a table, its registry figures."""

from __future__ import annotations

import dataclasses
import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import webmap
from geo.escape import escape_markdown
from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, fmt, i18n
from views import assets, export_widget, loaders, selection, state, widgets

__all__ = ["render"]

LEVEL = "village"
MAP_KEY = "village_map"
#: selection key of the projects table (a row picked there is ringed on the map)
TABLE_KEY = "village_projects"


def _map(village: gpd.GeoDataFrame, projects: pd.DataFrame, view: state.ViewState) -> None:
    """The village outline and its projects as points coloured by sector."""
    lang = view.lang
    basemap, token = widgets.basemap(view)
    vil = webmap.to_basemap_crs(village, basemap)
    m = webmap.make_map(
        vil.total_bounds, asset_base_url=assets.asset_base_url(), basemap=basemap, token=token
    )
    webmap.choropleth_layer(
        vil.assign(
            poor_text=fmt.fmt_count_series(
                vil[S.POOR_POPULATION], unit=i18n.t("unit_people", lang), lang=lang
            )
        ),
        fill_colors=["#fff7bc"] * len(vil),
        tooltip={
            S.NAME: i18n.t("village_level", lang),
            "poor_text": i18n.t("poor_population_short", lang),
        },
        name=i18n.t("village_level", lang),
        style=webmap.PolygonStyle(weight=2, fill_opacity=0.35),
    ).add_to(m)
    if isinstance(projects, gpd.GeoDataFrame) and len(projects):
        widgets.project_points_layer(
            projects,
            basemap,
            colors=projects[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy(),
            cluster=len(projects) > 60,
            lang=lang,
        ).add_to(m)
    present = [k for k in charts.SECTOR_COLOURS if projects[S.SECTOR].eq(k).any()]
    webmap.add_legend(
        m,
        title=i18n.t("project_sector", lang),
        labels=[i18n.label(S.SECTOR, k, lang) for k in present],
        colors=[charts.SECTOR_COLOURS[k] for k in present],
    )
    picked = selection.selected(TABLE_KEY)
    if picked is not None and isinstance(projects, gpd.GeoDataFrame):
        hit = projects[projects[S.PROJECT_ID].astype(str).eq(picked).to_numpy()]
        webmap.highlight(m, webmap.to_basemap_crs(hit, basemap), max_zoom=16)
    st_folium(
        m,
        key=MAP_KEY,
        height=460,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        on_change=functools.partial(selection.map_picked, TABLE_KEY, MAP_KEY, S.PROJECT_ID),
        render=False,
    )


def _exit_texts(row: pd.Series, lang: str) -> tuple[str, str]:
    """(planned exit, actual exit) of a village for its cards."""
    planned = row[S.PLANNED_EXIT_YEAR]
    exited = row[S.EXIT_YEAR]
    if pd.notna(exited):
        exit_text = i18n.t("year_label", lang, year=int(exited))
    elif pd.isna(planned):  # only poverty villages have an exit task (出列)
        exit_text = i18n.t("not_applicable", lang)
    else:
        exit_text = i18n.t("not_yet_exited", lang)
    planned_text = "—" if pd.isna(planned) else i18n.t("year_label", lang, year=int(planned))
    return planned_text, exit_text


def _terrain(row: pd.Series, lang: str) -> None:
    """Mean elevation (and slope) of the village, when the build had a DEM."""
    elevation = row.get(S.ELEVATION_MEAN, np.nan)
    if pd.isna(elevation):
        return
    slope = row.get(S.SLOPE_MEAN, np.nan)
    text = i18n.t("mean_elevation", lang) + f" {elevation:,.0f} m"
    if pd.notna(slope):
        text += " · " + i18n.t("mean_slope", lang) + f" {slope:.1f}°"
    st.caption(text)


def _registry(row: pd.Series, lang: str) -> None:
    planned, exited = _exit_texts(row, lang)
    households, people = i18n.t("unit_households", lang), i18n.t("unit_people", lang)
    if lang == "en":  # the card's label says what is counted
        households = people = ""
    cards = [
        ("poor_households", fmt.fmt_count(row[S.POOR_HOUSEHOLDS], unit=households, lang=lang)),
        ("poor_population_short", fmt.fmt_count(row[S.POOR_POPULATION], unit=people, lang=lang)),
        (
            "covered_by_projects",
            fmt.fmt_count(row.get(S.COVERED_CAPPED, np.nan), unit=people, lang=lang),
        ),
        ("coverage", fmt.fmt_pct(row[S.COVERAGE])),
        ("planned_exit", planned),
        ("exited", exited),
    ]
    for col, (key, value) in zip(st.columns(len(cards)), cards, strict=True):
        col.metric(i18n.t(key, lang), value)
    _terrain(row, lang)


def _projects_table(mine: pd.DataFrame, name: str, lang: str) -> None:
    """The village's projects with their 六定 gaps, and the XLSX download."""
    table = tables.project_table(mine, with_missing_fixes=True, lang=lang)
    headers = i18n.headers(lang)
    gaps = int(table[headers[i18n.MISSING_FIXES]].ne("").sum())
    done = int(mine[S.STATUS].isin(S.COMPLETED_STATUSES).sum())
    st.markdown(
        i18n.t("village_projects_summary", lang, n=fmt.fmt_int(len(mine)), done=done, gaps=gaps)
    )
    columns = (
        S.PROJECT_ID,
        S.PROJECT_NAME,
        S.SECTOR,
        S.PLAN_YEAR,
        S.STATUS,
        i18n.MISSING_FIXES,
        S.FUNDS_PLANNED,
        S.FUNDS_SPENT,
        S.RESPONSIBLE_UNIT,
    )
    show = [headers[c] for c in columns if headers[c] in table.columns]
    selection.selectable_table(
        table,
        mine[S.PROJECT_ID].astype(str).tolist(),
        key=TABLE_KEY,
        column_order=show,
        column_config=widgets.number_columns(table),
    )
    st.caption(i18n.t("table_pick_hint", lang) + i18n.t("map_pick_hint", lang))
    widgets.xlsx_download(
        st,
        i18n.t("download_projects_xlsx", lang),
        table,
        sheet=i18n.t("village", lang),
        file=f"{name}_{i18n.t('village', lang)}.xlsx",
        key="village_xlsx",
    )


def render() -> None:
    """Draw the page for the current view."""
    view, hit = widgets.page_unit(
        "village",
        S.LAYER_VILLAGE_PLAN,
        level=LEVEL,
        key="village_pick",
        missing="village_missing",
        max_options=3000,
    )
    if hit is None:
        return
    lang = view.lang
    row = hit.iloc[0]
    code = str(row[S.CODE])
    flt = state.project_filter(view)
    chain = " · ".join(
        escape_markdown(loaders.unit_name(c, lang)) for c in state.ancestors(code)[1:]
    )
    st.subheader(f"{chain} · {widgets.filters_text(view)}")
    export_widget.export_button(dataclasses.replace(view, region=code), key="village_export")
    _registry(row, lang)

    mine = loaders.unit_projects(S.VILLAGE_CODE, code, flt)
    left, right = st.columns([3, 2])
    with left:
        _map(hit, mine, view)
    with right:
        st.altair_chart(charts.causes_chart(hit, lang=lang), width="stretch")
        if len(mine):
            st.altair_chart(charts.breakdown_chart(mine, S.STATUS, lang=lang), width="stretch")
    _projects_table(mine, row[S.NAME], lang)


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
