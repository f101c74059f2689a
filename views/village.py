"""村级施工图: one village's projects on the map and in a table, its registry figures."""

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
from layers.export import tables
from layers.present import charts, fmt, query
from views import common, export_widget

LEVEL = "village"


def _map(village: gpd.GeoDataFrame, projects: pd.DataFrame, view: common.ViewState) -> None:
    """The village outline and its projects as points coloured by sector."""
    basemap, token = common.basemap(view)
    vil = webmap.to_basemap_crs(village, basemap)
    m = webmap.make_map(
        vil.total_bounds, asset_base_url=common.asset_base_url(), basemap=basemap, token=token
    )
    webmap.choropleth_layer(
        vil.assign(poor_text=fmt.fmt_count_series(vil[S.POOR_POPULATION], unit="人")),
        fill_colors=["#fff7bc"] * len(vil),
        tooltip={S.NAME: "行政村", "poor_text": "贫困人口"},
        name="行政村",
        fill_opacity=0.35,
        weight=2,
    ).add_to(m)
    if isinstance(projects, gpd.GeoDataFrame) and len(projects):
        common.project_points_layer(
            projects,
            basemap,
            colors=projects[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy(),
            cluster=len(projects) > 60,
        ).add_to(m)
    present = [k for k in charts.SECTOR_COLOURS if projects[S.SECTOR].eq(k).any()]
    webmap.add_legend(
        m,
        title=common.text("项目行业", "Project sector"),
        labels=[common.text(S.SECTOR_LABELS_ZH[k], k.capitalize()) for k in present],
        colors=[charts.SECTOR_COLOURS[k] for k in present],
    )
    st_folium(m, key="village_map", height=460, use_container_width=True, returned_objects=[])


def _registry(row: pd.Series) -> None:
    poor = row[S.POOR_POPULATION]
    covered = row.get(S.COVERED_CAPPED, np.nan)
    cols = st.columns(6)
    cols[0].metric(
        common.text("建档立卡贫困户", "Poor households"),
        fmt.fmt_count(row[S.POOR_HOUSEHOLDS], unit="户"),
    )
    cols[1].metric(common.text("贫困人口", "Poor population"), fmt.fmt_count(poor, unit="人"))
    cols[2].metric(
        common.text("项目覆盖贫困人口", "Covered by projects"), fmt.fmt_count(covered, unit="人")
    )
    cols[3].metric(common.text("覆盖率", "Coverage"), fmt.fmt_pct(row[S.COVERAGE]))
    planned = row[S.PLANNED_EXIT_YEAR]
    exited = row[S.EXIT_YEAR]
    if pd.notna(exited):
        exit_text = f"{int(exited)}年"
    elif pd.isna(planned):  # only poverty villages have an exit task (出列)
        exit_text = common.text("不涉及", "n/a")
    else:
        exit_text = common.text("未出列", "not yet")
    cols[4].metric(
        common.text("计划出列", "Planned exit"), "—" if pd.isna(planned) else f"{int(planned)}年"
    )
    cols[5].metric(
        common.text("实际出列", "Exited"),
        exit_text,
    )
    elevation = row.get(S.ELEVATION_MEAN, np.nan)  # terrain from the build's DEM, when it had one
    if pd.notna(elevation):
        slope = row.get(S.SLOPE_MEAN, np.nan)
        terrain_text = common.text("平均海拔", "Mean elevation") + f" {elevation:,.0f} m"
        if pd.notna(slope):
            terrain_text += " · " + common.text("平均坡度", "mean slope") + f" {slope:.1f}°"
        st.caption(terrain_text)


def render() -> None:
    """Draw the page for the current view."""
    view, hit = common.page_unit(
        ("村级施工图", "Village construction plan"),
        S.LAYER_VILLAGE_PLAN,
        level=LEVEL,
        key="village_pick",
        missing=("没有村级施工图。", "has no construction plan."),
        max_options=3000,
    )
    if hit is None:
        return
    row = hit.iloc[0]
    code = str(row[S.CODE])
    flt = common.project_filter(view)
    chain = " · ".join(common.unit_name(c) for c in common.ancestors(code)[1:])
    st.subheader(f"{chain} · {flt.describe_zh()}")
    export_widget.export_button(dataclasses.replace(view, region=code), key="village_export")
    _registry(row)

    projects = common.load_projects()
    mine = projects[projects[S.VILLAGE_CODE].eq(code).fillna(False).to_numpy()]
    mine = query.filter_projects(mine, flt)
    left, right = st.columns([3, 2])
    with left:
        _map(hit, mine, view)
    with right:
        common.show_chart(st, charts.causes_chart(hit), width="stretch")
        if len(mine):
            common.show_chart(st, charts.breakdown_chart(mine, S.STATUS), width="stretch")

    table = tables.project_table(mine, with_missing_fixes=True)
    gaps = int(table[tables.HEADERS_ZH[tables.MISSING_FIXES]].ne("").sum())
    done = int(mine[S.STATUS].isin(S.COMPLETED_STATUSES).sum())
    st.markdown(
        common.text(
            f"**项目 {fmt.fmt_int(len(mine))} 个**：已完工/验收 {done} 个，"
            f"六定有缺项 {gaps} 个（见「六定缺项」列）。",
            f"**{fmt.fmt_int(len(mine))} projects**: {done} completed or accepted, "
            f"{gaps} lack one of the six fixes (column 六定缺项).",
        )
    )
    show = [
        tables.HEADERS_ZH[c]
        for c in (
            S.PROJECT_ID,
            S.PROJECT_NAME,
            S.SECTOR,
            S.PLAN_YEAR,
            S.STATUS,
            tables.MISSING_FIXES,
            S.FUNDS_PLANNED,
            S.FUNDS_SPENT,
            S.RESPONSIBLE_UNIT,
        )
        if tables.HEADERS_ZH[c] in table.columns
    ]
    st.dataframe(table, hide_index=True, column_order=show)
    common.xlsx_download(
        st,
        ("下载项目表（XLSX）", "Download projects (XLSX)"),
        table,
        sheet="村级施工图",
        file=f"{row[S.NAME]}_村级施工图.xlsx",
        key="village_xlsx",
    )


try:
    render()
except OneMapError as e:
    st.error(str(e))
