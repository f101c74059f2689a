"""乡级路线图: one township's villages by planned exit year, played forward year by year."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import webmap
from layers import schema as S
from layers.errors import OneMapError
from layers.present import charts, fmt, query
from layers.settings import EXIT_YEAR_RANGE
from views import common, export_widget

LEVEL = "township"
YEAR_KEY = "roadmap_year"
EXIT_STATUS_EN: dict[str, str] = {
    "已出列": "exited",
    "应出列未出列": "due, not exited",
    "未到计划年份": "not yet due",
    "无出列任务": "no exit planned",
}


def _view_year(view: common.ViewState) -> int:
    """The route-map year of the view, clamped to the exit years (default: the last)."""
    first, last = EXIT_YEAR_RANGE
    return last if view.year is None else min(max(int(view.year), first), last)


def _on_slider() -> None:
    common.set_view(year=int(st.session_state[YEAR_KEY]))


def _step_year() -> None:
    """▶: move one year on (back to the first year after the last)."""
    year = _view_year(common.current_view(draw=False))
    common.set_view(year=EXIT_YEAR_RANGE[0] if year >= EXIT_YEAR_RANGE[1] else year + 1)


def _map(
    villages: gpd.GeoDataFrame, points: gpd.GeoDataFrame, done: np.ndarray, view: common.ViewState
) -> None:
    """Villages coloured by planned exit year (faded until exited), projects as points."""
    basemap, token = common.basemap(view)
    vil = webmap.to_basemap_crs(villages, basemap)
    m = webmap.make_map(
        vil.total_bounds, asset_base_url=common.asset_base_url(), basemap=basemap, token=token
    )
    tooltip = {S.NAME: "行政村", "exit_text": "出列", "poor_text": "贫困人口"}
    for exited, opacity, name in ((True, 0.85, "已出列"), (False, 0.25, "未出列")):
        part = vil[vil["exited_by"] == exited]
        if len(part):
            webmap.choropleth_layer(
                part,
                fill_colors=part["exit_colour"].to_numpy(),
                tooltip=tooltip,
                properties=[S.CODE],
                name=name,
                fill_opacity=opacity,
            ).add_to(m)
    if isinstance(points, gpd.GeoDataFrame) and len(points):
        sector = points[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy()
        common.project_points_layer(
            points,
            basemap,
            colors=np.where(done, sector, "#ffffff"),
            status=np.where(
                done,
                common.text("已完工", "done"),
                common.text("未完工（截至该年）", "not done (by that year)"),
            ),
            # unclustered: the slider's year must show on every point (done = sector colour);
            # a township holds a few hundred projects at most
            cluster=False,
        ).add_to(m)
    years = list(charts.EXIT_YEAR_COLOURS)
    webmap.add_legend(
        m,
        title=common.text("计划出列年份", "Planned exit year"),
        labels=[common.text(f"{y}年", str(y)) for y in years],
        colors=[charts.EXIT_YEAR_COLOURS[y] for y in years],
        no_data_label=common.text("无出列任务", "No exit planned"),
        extra={
            common.text("已完工项目（按行业着色）", "Project done (sector colour)"): "#3182bd",
            common.text("未完工项目", "Project not done"): "#ffffff",
        },
    )
    st_folium(m, key="roadmap_map", height=480, use_container_width=True, returned_objects=[])


def render() -> None:
    """Draw the page for the current view."""
    view, hit = common.page_unit(
        ("乡级路线图", "Township route map"),
        S.LAYER_TOWNSHIP_ROADMAP,
        level=LEVEL,
        key="roadmap_pick",
        missing=("没有乡级路线图。", "has no route map."),
    )
    if hit is None:
        return
    row = hit.iloc[0]
    town = str(row[S.CODE])
    flt = common.project_filter(view)
    county = common.unit_name(S.truncate(town, "county"))
    st.subheader(f"{county} · {row[S.NAME]} · {flt.describe_zh()}")
    export_widget.export_button(dataclasses.replace(view, region=town), key="roadmap_export")

    st.session_state[YEAR_KEY] = _view_year(view)  # the URL's year= drives the slider
    c_slider, c_play = st.columns([6, 1])
    year = c_slider.slider(
        common.text("路线图年份（拖动或点 ▶ 逐年推进）", "Route-map year (drag, or ▶ to step)"),
        *EXIT_YEAR_RANGE,
        key=YEAR_KEY,
        on_change=_on_slider,
    )
    c_play.button(common.text("▶ 下一年", "▶ Next year"), on_click=_step_year, key="roadmap_play")

    plans = common.load_table(S.LAYER_VILLAGE_PLAN)
    villages = charts.villages_at_year(plans[plans[S.PARENT_CODE].eq(town).to_numpy()], year)
    villages["poor_text"] = fmt.fmt_count_series(villages[S.POOR_POPULATION], unit="人")
    projects = common.load_projects()
    mine = projects[projects[S.TOWNSHIP_CODE].eq(town).fillna(False).to_numpy()]
    mine = query.filter_projects(mine, flt)
    done_year = charts.completion_year(mine)
    done = done_year.le(year).fillna(False).to_numpy(dtype=bool)

    poverty = villages[S.PLANNED_EXIT_YEAR].notna()
    cols = st.columns(5)
    cols[0].metric(common.text("有施工图的村", "Villages with plans"), fmt.fmt_int(len(villages)))
    cols[1].metric(
        common.text(f"至{year}年已出列", f"Exited by {year}"),
        f"{int(villages['exited_by'].sum())} / {int(poverty.sum())}",
    )
    cols[2].metric(
        common.text(f"至{year}年应出列", f"Due by {year}"),
        fmt.fmt_int(int(villages["due_by"].sum())),
    )
    cols[3].metric(
        common.text(f"至{year}年完工项目", f"Projects done by {year}"),
        f"{fmt.fmt_int(int(done.sum()))} / {fmt.fmt_int(len(mine))}",
    )
    cols[4].metric(
        common.text("计划资金", "Funds planned"), fmt.fmt_wan_yuan(mine[S.FUNDS_PLANNED].sum())
    )

    left, right = st.columns([3, 2])
    with left:
        _map(villages, mine, done, view)
    with right:
        village, planned = common.text("行政村", "Village"), common.text("计划出列", "Planned exit")
        status = villages["exit_text"].str.split(" · ").str[-1]
        table = pd.DataFrame(
            {
                village: villages[S.NAME],
                planned: villages[S.PLANNED_EXIT_YEAR],
                common.text("实际出列", "Exited"): villages[S.EXIT_YEAR],
                common.text(f"{year}年状态", f"Status {year}"): status.map(
                    lambda x: common.text(x, EXIT_STATUS_EN.get(x, x))
                ),
                common.text("贫困人口", "Poor population"): villages[S.POOR_POPULATION],
            }
        ).sort_values([planned, village])
        st.dataframe(table, hide_index=True, height=min(480, 35 * (len(table) + 1) + 3))

    ry = common.load_table(S.TABLE_ROADMAP_YEARS)
    if flt.is_empty:
        common.show_chart(st, charts.roadmap_years_chart(ry, [town], year=year), width="stretch")
    else:
        st.caption(
            common.text(
                "出列村数来自贫困人口登记；项目数按当前筛选重新统计。",
                "Village exits come from the registry; projects are recounted under the filter.",
            )
        )
        common.show_chart(
            st,
            charts.roadmap_years_chart(
                charts.refilter_roadmap_years(ry, town, mine), [town], year=year
            ),
            width="stretch",
        )


try:
    render()
except OneMapError as e:
    st.error(str(e))
