"""乡级路线图: one township's villages by planned exit year, played forward year by year."""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import webmap
from layers import charts, fmt, query, tables
from layers import schema as S
from layers.errors import OneMapError
from layers.settings import EXIT_YEAR_RANGE
from pages import common

LEVEL = "township"
YEAR_KEY = "roadmap_year"
EXIT_STATUS_EN: dict[str, str] = {
    "已出列": "exited",
    "应出列未出列": "due, not exited",
    "未到计划年份": "not yet due",
    "无出列任务": "no exit planned",
}


def _t(zh: str, en: str) -> str:
    """Interface text in the view's language (Chinese first; data labels stay Chinese)."""
    return en if common.current_view(draw=False).lang == "en" else zh


def _show(where: Any, chart: Any, *, width: str = "stretch") -> None:
    """Draw an Altair figure in ``where`` (``st`` or a column), labelled in the view's language."""
    lang = common.current_view(draw=False).lang
    if lang == "zh":
        where.altair_chart(chart, width=width)
    else:
        where.vega_lite_chart(spec=charts.localise_spec(chart.to_dict(), lang), width=width)


def _pick(view: common.ViewState, only: pd.Series) -> str | None:
    """The township of the view, or a picker of the townships with route maps in the region."""
    if S.LEVELS.index(view.level) >= S.LEVELS.index(LEVEL):
        return S.truncate(view.region, LEVEL)
    members = common.zone_members()
    zone_counties = members.loc[members[S.ZONE] == view.zone, S.CODE] if view.zone else None
    options = tables.unit_options(
        common.units_index(), level=LEVEL, within=view.region, only=only, counties=zone_counties
    )
    if options.empty:
        st.info(_t("所选区域内没有乡级路线图。", "No township route map in this region."))
        return None
    labels = dict(zip(options[S.CODE], options["label"], strict=True))
    st.selectbox(
        _t("选择乡（镇）", "Choose a township"),
        [None, *options[S.CODE]],
        format_func=lambda c: _t("— 请选择 —", "— choose —") if c is None else labels[c],
        key="roadmap_pick",
        on_change=lambda: common.set_region(st.session_state["roadmap_pick"]),
    )
    st.caption(
        _t(
            "可输入名称搜索；也可在左侧边栏逐级选择州/市、县和乡镇。",
            "Type to search, or pick prefecture, county and township in the sidebar.",
        )
    )
    return None


def _basemap(view: common.ViewState) -> tuple[str, str | None]:
    """The view's basemap and its token; 天地图 without ``$TIANDITU_TOKEN`` falls back to none."""
    token = os.environ.get("TIANDITU_TOKEN") or None
    if view.basemap == "tianditu" and not token:
        st.warning("天地图需要设置环境变量 TIANDITU_TOKEN（天地图密钥）；已改用无底图。")
        return "none", None
    return view.basemap, token


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
    basemap, token = _basemap(view)
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
        pts = webmap.to_basemap_crs(points, basemap)
        colours = np.where(
            done, pts[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy(), "#ffffff"
        )
        webmap.points_layer(
            pts,
            colors=colours,
            asset_base_url=common.asset_base_url(),
            name="项目",
            # unclustered: the slider's year must show on every point (done = sector colour);
            # a township holds a few hundred projects at most
            cluster=False,
            popup={
                S.PROJECT_NAME: "项目",
                "sector_zh": "行业",
                "status_zh": "状态",
                "funds_text": "计划资金",
                S.RESPONSIBLE_UNIT: "责任单位",
            },
        ).add_to(m)
    years = list(charts.EXIT_YEAR_COLOURS)
    webmap.add_legend(
        m,
        title=_t("计划出列年份", "Planned exit year"),
        labels=[_t(f"{y}年", str(y)) for y in years],
        colors=[charts.EXIT_YEAR_COLOURS[y] for y in years],
        no_data_label=_t("无出列任务", "No exit planned"),
        extra={
            _t("已完工项目（按行业着色）", "Project done (sector colour)"): "#3182bd",
            _t("未完工项目", "Project not done"): "#ffffff",
        },
    )
    st_folium(m, key="roadmap_map", height=480, use_container_width=True, returned_objects=[])


def render() -> None:
    """Draw the page for the current view."""
    view = common.current_view()
    st.title(_t("乡级路线图", "Township route map"))
    roadmaps = common.load_table(S.LAYER_TOWNSHIP_ROADMAP)
    town = _pick(view, roadmaps[S.CODE])
    if town is None:
        return
    row = roadmaps[roadmaps[S.CODE].eq(town).to_numpy()]
    if row.empty:
        st.info(f"{common.unit_name(town)} " + _t("没有乡级路线图。", "has no route map."))
        return
    row = row.iloc[0]
    flt = common.project_filter(view)
    county = common.unit_name(S.truncate(town, "county"))
    st.subheader(f"{county} · {row[S.NAME]} · {flt.describe_zh()}")

    st.session_state[YEAR_KEY] = _view_year(view)  # the URL's year= drives the slider
    c_slider, c_play = st.columns([6, 1])
    year = c_slider.slider(
        _t("路线图年份（拖动或点 ▶ 逐年推进）", "Route-map year (drag, or ▶ to step)"),
        *EXIT_YEAR_RANGE,
        key=YEAR_KEY,
        on_change=_on_slider,
    )
    c_play.button(_t("▶ 下一年", "▶ Next year"), on_click=_step_year, key="roadmap_play")

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
    cols[0].metric(_t("有施工图的村", "Villages with plans"), fmt.fmt_int(len(villages)))
    cols[1].metric(
        _t(f"至{year}年已出列", f"Exited by {year}"),
        f"{int(villages['exited_by'].sum())} / {int(poverty.sum())}",
    )
    cols[2].metric(
        _t(f"至{year}年应出列", f"Due by {year}"), fmt.fmt_int(int(villages["due_by"].sum()))
    )
    cols[3].metric(
        _t(f"至{year}年完工项目", f"Projects done by {year}"),
        f"{fmt.fmt_int(int(done.sum()))} / {fmt.fmt_int(len(mine))}",
    )
    cols[4].metric(_t("计划资金", "Funds planned"), fmt.fmt_wan_yuan(mine[S.FUNDS_PLANNED].sum()))

    left, right = st.columns([3, 2])
    with left:
        points = mine.assign(
            sector_zh=mine[S.SECTOR].map(S.SECTOR_LABELS_ZH),
            status_zh=np.where(done, "已完工", "未完工（截至该年）"),
            funds_text=fmt.fmt_wan_yuan_series(mine[S.FUNDS_PLANNED]),
        )
        _map(villages, points, done, view)
    with right:
        village, planned = _t("行政村", "Village"), _t("计划出列", "Planned exit")
        status = villages["exit_text"].str.split(" · ").str[-1]
        table = pd.DataFrame(
            {
                village: villages[S.NAME],
                planned: villages[S.PLANNED_EXIT_YEAR],
                _t("实际出列", "Exited"): villages[S.EXIT_YEAR],
                _t(f"{year}年状态", f"Status {year}"): status.map(
                    lambda x: _t(x, EXIT_STATUS_EN.get(x, x))
                ),
                _t("贫困人口", "Poor population"): villages[S.POOR_POPULATION],
            }
        ).sort_values([planned, village])
        st.dataframe(table, hide_index=True, height=min(480, 35 * (len(table) + 1) + 3))

    ry = common.load_table(S.TABLE_ROADMAP_YEARS)
    if flt.is_empty:
        _show(st, charts.roadmap_years_chart(ry, [town], year=year), width="stretch")
    else:
        st.caption(
            _t(
                "出列村数来自贫困人口登记；项目数按当前筛选重新统计。",
                "Village exits come from the registry; projects are recounted under the filter.",
            )
        )
        _show(
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
