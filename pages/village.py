"""村级施工图: one village's projects on the map and in a table, its registry figures."""

from __future__ import annotations

import functools
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
from pages import common

LEVEL = "village"


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
    """The village of the view, or a picker of the villages with plans inside the region."""
    if view.level == LEVEL:
        return view.region
    members = common.zone_members()
    zone_counties = members.loc[members[S.ZONE] == view.zone, S.CODE] if view.zone else None
    options = tables.unit_options(
        common.units_index(), level=LEVEL, within=view.region, only=only, counties=zone_counties
    )
    if options.empty:
        st.info(_t("所选区域内没有村级施工图。", "No village construction plan in this region."))
        return None
    if len(options) > 3000:
        st.info(
            _t(
                "村数较多：请先在左侧边栏选择州/市或县，再选择行政村。",
                "Many villages: pick a prefecture or county in the sidebar first.",
            )
        )
        return None
    labels = dict(zip(options[S.CODE], options["label"], strict=True))
    st.selectbox(
        _t("选择行政村", "Choose a village"),
        [None, *options[S.CODE]],
        format_func=lambda c: _t("— 请选择 —", "— choose —") if c is None else labels[c],
        key="village_pick",
        on_change=lambda: common.set_region(st.session_state["village_pick"]),
    )
    st.caption(
        _t(
            "可输入名称搜索；也可在左侧边栏逐级选择到行政村。",
            "Type to search, or pick down to the village in the sidebar.",
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


def _map(village: gpd.GeoDataFrame, projects: pd.DataFrame, view: common.ViewState) -> None:
    """The village outline and its projects as points coloured by sector."""
    basemap, token = _basemap(view)
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
    located = isinstance(projects, gpd.GeoDataFrame) and len(projects)
    if located:
        pts = webmap.to_basemap_crs(projects, basemap).assign(
            sector_zh=projects[S.SECTOR].map(S.SECTOR_LABELS_ZH).to_numpy(),
            status_zh=projects[S.STATUS].map(S.STATUS_LABELS_ZH).to_numpy(),
            funds_text=fmt.fmt_wan_yuan_series(projects[S.FUNDS_PLANNED]).to_numpy(),
        )
        webmap.points_layer(
            pts,
            colors=pts[S.SECTOR].map(charts.SECTOR_COLOURS).fillna("#bdbdbd").to_numpy(),
            asset_base_url=common.asset_base_url(),
            name="项目",
            cluster=len(pts) > 60,
            popup={
                S.PROJECT_NAME: "项目",
                "sector_zh": "行业",
                "status_zh": "状态",
                "funds_text": "计划资金",
                S.RESPONSIBLE_UNIT: "责任单位",
            },
        ).add_to(m)
    present = [k for k in charts.SECTOR_COLOURS if projects[S.SECTOR].eq(k).any()]
    webmap.add_legend(
        m,
        title=_t("项目行业", "Project sector"),
        labels=[_t(S.SECTOR_LABELS_ZH[k], k.capitalize()) for k in present],
        colors=[charts.SECTOR_COLOURS[k] for k in present],
    )
    st_folium(m, key="village_map", height=460, use_container_width=True, returned_objects=[])


def _registry(row: pd.Series) -> None:
    poor = row[S.POOR_POPULATION]
    covered = row.get(S.COVERED_CAPPED, np.nan)
    cols = st.columns(6)
    cols[0].metric(
        _t("建档立卡贫困户", "Poor households"), fmt.fmt_count(row[S.POOR_HOUSEHOLDS], unit="户")
    )
    cols[1].metric(_t("贫困人口", "Poor population"), fmt.fmt_count(poor, unit="人"))
    cols[2].metric(_t("项目覆盖贫困人口", "Covered by projects"), fmt.fmt_count(covered, unit="人"))
    cols[3].metric(_t("覆盖率", "Coverage"), fmt.fmt_pct(row[S.COVERAGE]))
    planned = row[S.PLANNED_EXIT_YEAR]
    exited = row[S.EXIT_YEAR]
    cols[4].metric(_t("计划出列", "Planned exit"), "—" if pd.isna(planned) else f"{int(planned)}年")
    cols[5].metric(
        _t("实际出列", "Exited"), _t("未出列", "not yet") if pd.isna(exited) else f"{int(exited)}年"
    )


def render() -> None:
    """Draw the page for the current view."""
    view = common.current_view()
    st.title(_t("村级施工图", "Village construction plan"))
    plans = common.load_table(S.LAYER_VILLAGE_PLAN)
    code = _pick(view, plans[S.CODE])
    if code is None:
        return
    hit = plans[plans[S.CODE].eq(code).to_numpy()]
    if hit.empty:
        st.info(f"{common.unit_name(code)} " + _t("没有村级施工图。", "has no construction plan."))
        return
    row = hit.iloc[0]
    flt = common.project_filter(view)
    chain = " · ".join(common.unit_name(c) for c in common.ancestors(code)[1:])
    st.subheader(f"{chain} · {flt.describe_zh()}")
    _registry(row)

    projects = common.load_projects()
    mine = projects[projects[S.VILLAGE_CODE].eq(code).fillna(False).to_numpy()]
    mine = query.filter_projects(mine, flt)
    left, right = st.columns([3, 2])
    with left:
        _map(hit, mine, view)
    with right:
        _show(st, charts.causes_chart(hit), width="stretch")
        if len(mine):
            _show(st, charts.breakdown_chart(mine, S.STATUS), width="stretch")

    table = tables.project_table(mine, with_missing_fixes=True)
    gaps = int(table[tables.HEADERS_ZH[tables.MISSING_FIXES]].ne("").sum())
    done = int(mine[S.STATUS].isin(S.COMPLETED_STATUSES).sum())
    st.markdown(
        _t(
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
    st.download_button(
        _t("下载项目表（XLSX）", "Download projects (XLSX)"),
        functools.partial(tables.to_xlsx_bytes, table, sheet_name="村级施工图"),
        file_name=f"{row[S.NAME]}_村级施工图.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="village_xlsx",
    )


try:
    render()
except OneMapError as e:
    st.error(str(e))
