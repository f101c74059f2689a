"""乡级路线图: one township's villages by planned exit year, played forward year by year."""

from __future__ import annotations

import dataclasses
import functools

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import webmap
from geo.escape import escape_markdown
from layers import schema as S
from layers.errors import OneMapError
from layers.present import charts, exits, fmt, i18n
from layers.settings import EXIT_YEAR_RANGE
from views import assets, export_widget, loaders, selection, state, widgets

__all__ = ["render"]

LEVEL = "township"
YEAR_KEY = "roadmap_year"
MAP_KEY = "roadmap_map"
#: selection key of the villages table (a row picked there is outlined on the map)
TABLE_KEY = "roadmap_villages"
#: room kept right of the township for the map's key (exit years, sectors), in pixels
LEGEND_WIDTH_PX = 190


def _view_year(view: state.ViewState) -> int:
    """The route-map year of the view, clamped to the exit years (default: the last)."""
    first, last = EXIT_YEAR_RANGE
    return last if view.year is None else min(max(int(view.year), first), last)


def _on_slider() -> None:
    state.set_view(year=int(st.session_state[YEAR_KEY]))


def _step_year() -> None:
    """▶: move one year on (back to the first year after the last)."""
    year = _view_year(state.current_view())
    state.set_view(year=EXIT_YEAR_RANGE[0] if year >= EXIT_YEAR_RANGE[1] else year + 1)


def _legend(m: folium.Map, lang: str, sectors: set[str]) -> None:
    """Exit years' colours, then done projects by sector and not-done projects."""
    years = list(exits.EXIT_YEAR_COLOURS)
    done = {
        i18n.label(S.SECTOR, k, lang): c for k, c in charts.SECTOR_COLOURS.items() if k in sectors
    }
    webmap.add_legend(
        m,
        title=i18n.t("planned_exit_year", lang),
        labels=[i18n.t("year_label", lang, year=y) for y in years],
        colors=[exits.EXIT_YEAR_COLOURS[y] for y in years],
        no_data_label=i18n.t("no_exit_planned", lang),
        extra={**done, i18n.t("legend_project_not_done", lang): "#ffffff"},
        extra_title=i18n.t("legend_project_done", lang),
    )


def _map(
    villages: gpd.GeoDataFrame, points: gpd.GeoDataFrame, done: np.ndarray, view: state.ViewState
) -> None:
    """Villages coloured by planned exit year (faded until exited), projects as points."""
    lang = view.lang
    basemap, token = widgets.basemap(view)
    vil = webmap.to_basemap_crs(villages, basemap)
    m = webmap.make_map(
        vil.total_bounds, asset_base_url=assets.asset_base_url(), basemap=basemap, token=token
    )
    minx, miny, maxx, maxy = vil.total_bounds  # the township left of the key, never under it
    m.fit_bounds(
        [[miny, minx], [maxy, maxx]],
        padding_top_left=(20, 20),
        padding_bottom_right=(LEGEND_WIDTH_PX, 20),
    )
    tooltip = {
        S.NAME: i18n.t("village_level", lang),
        "exit_text": i18n.t("exit_short", lang),
        "poor_text": i18n.t("poor_population_short", lang),
    }
    for exited, opacity, key in (
        (True, 0.85, "exit_status_exited"),
        (False, 0.25, "not_yet_exited"),
    ):
        name = i18n.t(key, lang)
        part = vil[vil["exited_by"] == exited]
        if len(part):
            webmap.choropleth_layer(
                part,
                fill_colors=part["exit_colour"].to_numpy(),
                tooltip=tooltip,
                properties=[S.CODE],
                name=name,
                style=webmap.PolygonStyle(fill_opacity=opacity),
            ).add_to(m)
    if isinstance(points, gpd.GeoDataFrame) and len(points):
        sector = points[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy()
        widgets.project_points_layer(
            points,
            basemap,
            colors=np.where(done, sector, "#ffffff"),
            status=np.where(
                done,
                i18n.t("project_done", lang),
                i18n.t("project_not_done_by_year", lang),
            ),
            # unclustered: the slider's year must show on every point (done = sector colour);
            # a township holds a few hundred projects at most
            cluster=False,
            lang=lang,
        ).add_to(m)
    has_points = isinstance(points, gpd.GeoDataFrame) and len(points) > 0
    shown = set(points[S.SECTOR].to_numpy()[done]) if has_points else set()
    _legend(m, lang, shown)
    picked = selection.selected(TABLE_KEY)
    if picked is not None:  # a village picked in the table (or on the map): outlined
        webmap.highlight(m, vil[vil[S.CODE].astype(str).eq(picked).to_numpy()])
    st_folium(
        m,
        key=MAP_KEY,
        height=480,
        use_container_width=True,
        returned_objects=["last_active_drawing"],
        on_change=functools.partial(selection.map_picked, TABLE_KEY, MAP_KEY, S.CODE),
        render=False,
    )


def _kpis(
    villages: pd.DataFrame, mine: pd.DataFrame, done: np.ndarray, year: int, lang: str
) -> None:
    poverty = villages[S.PLANNED_EXIT_YEAR].notna()
    cards = [
        (i18n.t("villages_with_plans", lang), fmt.fmt_int(len(villages))),
        (
            i18n.t("exited_by", lang, year=year),
            f"{int(villages['exited_by'].sum())} / {int(poverty.sum())}",
        ),
        (i18n.t("due_by", lang, year=year), fmt.fmt_int(int(villages["due_by"].sum()))),
        (
            i18n.t("projects_done_by", lang, year=year),
            f"{fmt.fmt_int(int(done.sum()))} / {fmt.fmt_int(len(mine))}",
        ),
        (i18n.t("funds_planned", lang), fmt.fmt_wan_yuan(mine[S.FUNDS_PLANNED].sum(), lang=lang)),
    ]
    for col, (label, value) in zip(st.columns(len(cards)), cards, strict=True):
        col.metric(label, value)


def _villages_table(villages: pd.DataFrame, year: int, lang: str) -> None:
    """The township's villages: planned and actual exit ("—" for none), status at ``year``,
    poor population; a row picked here is outlined on the map, a village clicked there is
    selected here."""
    village, planned = i18n.t("village_level", lang), i18n.t("planned_exit", lang)
    exited = i18n.t("exited", lang)
    table = pd.DataFrame(
        {
            "_code": villages[S.CODE].astype(str),
            village: villages[S.NAME],
            planned: pd.array(villages[S.PLANNED_EXIT_YEAR], dtype="Int64"),
            exited: pd.array(villages[S.EXIT_YEAR], dtype="Int64"),
            i18n.t("status_in_year", lang, year=year): villages["exit_status"].map(
                lambda k: i18n.t(f"exit_status_{k}", lang)
            ),
            i18n.t("poor_population_short", lang): villages[S.POOR_POPULATION],
        }
    ).sort_values([planned, village])
    codes = table.pop("_code").tolist()
    selection.selectable_table(
        table,
        codes,
        key=TABLE_KEY,
        height=min(480, 35 * (len(table) + 1) + 3),
        column_config=widgets.number_columns(table, years=(planned, exited)),
    )
    st.caption(i18n.t("table_pick_hint", lang) + i18n.t("map_pick_hint", lang))


def _years_chart(town: str, mine: pd.DataFrame, filtered: bool, year: int, lang: str) -> None:
    """Villages and projects per year, planned and actual; projects recounted under a filter."""
    ry = loaders.load_table(S.TABLE_ROADMAP_YEARS)
    if filtered:
        st.caption(i18n.t("roadmap_refilter_note", lang))
        ry = exits.refilter_roadmap_years(ry, town, mine)
    chart = exits.roadmap_years_chart(ry, [town], year=year, lang=lang)
    st.altair_chart(chart, width="stretch")


def render() -> None:
    """Draw the page for the current view."""
    view, hit = widgets.page_unit(
        "roadmap",
        S.LAYER_TOWNSHIP_ROADMAP,
        level=LEVEL,
        key="roadmap_pick",
        missing="roadmap_missing",
    )
    if hit is None:
        return
    lang = view.lang
    row = hit.iloc[0]
    town = str(row[S.CODE])
    flt = state.project_filter(view)
    county = loaders.unit_name(S.truncate(town, "county"), lang)
    st.subheader(
        f"{escape_markdown(county)} · {escape_markdown(row[S.NAME])} · {widgets.filters_text(view)}"
    )
    export_widget.export_button(dataclasses.replace(view, region=town), key="roadmap_export")

    st.session_state[YEAR_KEY] = _view_year(view)  # the URL's year= drives the slider
    c_slider, c_play = st.columns([6, 1])
    year = c_slider.slider(
        i18n.t("roadmap_year", lang), *EXIT_YEAR_RANGE, key=YEAR_KEY, on_change=_on_slider
    )
    c_play.button(i18n.t("next_year", lang), on_click=_step_year, key="roadmap_play")

    plans = loaders.load_table(S.LAYER_VILLAGE_PLAN)
    villages = exits.villages_at_year(plans[plans[S.PARENT_CODE].eq(town).to_numpy()], year, lang)
    villages["poor_text"] = fmt.fmt_count_series(
        villages[S.POOR_POPULATION], unit=i18n.t("unit_people", lang), lang=lang
    )
    mine = loaders.unit_projects(S.TOWNSHIP_CODE, town, flt)
    done = exits.completion_year(mine).le(year).fillna(False).to_numpy(dtype=bool)
    _kpis(villages, mine, done, year, lang)

    _map(villages, mine, done, view)  # full width: the key stays open beside the township
    _villages_table(villages, year, lang)
    _years_chart(town, mine, not flt.is_empty, year, lang)


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
