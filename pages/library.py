"""县级项目库: one county's projects (sortable, searchable, downloadable) and their breakdowns."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from layers import charts, fmt, query, tables
from layers import schema as S
from layers.errors import OneMapError
from pages import common

LEVEL = "county"


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
    """The county of the view, or a picker of the counties with libraries inside the region."""
    if S.LEVELS.index(view.level) >= S.LEVELS.index(LEVEL):
        return S.truncate(view.region, LEVEL)
    members = common.zone_members()
    zone_counties = members.loc[members[S.ZONE] == view.zone, S.CODE] if view.zone else None
    options = tables.unit_options(
        common.units_index(), level=LEVEL, within=view.region, only=only, counties=zone_counties
    )
    if options.empty:
        st.info(_t("所选区域内没有县级项目库。", "No county project library in this region."))
        return None
    labels = dict(zip(options[S.CODE], options["label"], strict=True))
    st.selectbox(
        _t("选择县（市、区）", "Choose a county"),
        [None, *options[S.CODE]],
        format_func=lambda c: _t("— 请选择 —", "— choose —") if c is None else labels[c],
        key="library_pick",
        on_change=lambda: common.set_region(st.session_state["library_pick"]),
    )
    st.caption(
        _t(
            "也可在左侧边栏逐级选择州/市和县，或在总览地图上点击进入。",
            "Or pick prefecture and county in the sidebar, or click through the overview map.",
        )
    )
    return None


def _kpis(row: pd.Series) -> None:
    cols = st.columns(6)
    cols[0].metric(_t("项目数", "Projects"), fmt.fmt_count(row[S.N_PROJECTS], unit="个"))
    cols[1].metric(_t("完工率", "Completion"), fmt.fmt_pct(row[S.COMPLETION]))
    cols[2].metric(_t("贫困人口覆盖率", "Coverage"), fmt.fmt_pct(row[S.COVERAGE]))
    cols[3].metric(_t("计划资金", "Funds planned"), fmt.fmt_wan_yuan(row[S.FUNDS_PLANNED]))
    cols[4].metric(_t("已支付资金", "Funds spent"), fmt.fmt_wan_yuan(row[S.FUNDS_SPENT]))
    cols[5].metric(_t("六定完整率", "Six fixes complete"), fmt.fmt_pct(row[S.SIX_FIXES_RATE]))


def render() -> None:
    """Draw the page for the current view."""
    view = common.current_view()
    st.title(_t("县级项目库", "County project library"))
    library = common.load_table(S.LAYER_COUNTY_LIBRARY)
    county = _pick(view, library[S.CODE])
    if county is None:
        return
    if not library[S.CODE].eq(county).any():
        st.info(
            f"{common.unit_name(county)} "
            + _t("没有县级项目库（无脱贫攻坚任务）。", "has no project library (no tasks).")
        )
        return
    flt = common.project_filter(view)
    summary = common.load_region_summary()
    projects = common.load_projects()
    mine = projects[projects[S.COUNTY_CODE].eq(county).to_numpy()]
    mine = query.filter_projects(mine, flt)
    name = common.unit_name(county)
    st.subheader(f"{name} · {flt.describe_zh()}")
    _kpis(query.summarise_region(summary, mine, county, flt))

    tab_table, tab_mix, tab_towns, tab_years = st.tabs(
        [
            _t("项目清单", "Projects"),
            _t("行业与资金来源", "Sectors and fund sources"),
            _t("乡镇完工率与覆盖率", "Townships"),
            _t("年度项目与资金", "By year"),
        ],
        key="library_tab",
        on_change="rerun",  # only the open tab is computed: a filter change stays fast
    )
    if tab_table.open:
        with tab_table:
            names = common.units_index().set_index(S.CODE)[S.NAME]
            table = tables.project_table(mine, names=names, with_missing_fixes=True)
            needle = st.text_input(
                _t("搜索项目", "Search projects"),
                key="library_search",
                placeholder=_t(
                    "名称、编号、乡镇、村、责任单位…（空格分隔多个词）",
                    "name, id, township, village, unit… (several words: all must match)",
                ),
            )
            shown = tables.search(table, needle)
            st.caption(
                _t(
                    f"共 {fmt.fmt_int(len(shown))} 个项目（全县 {fmt.fmt_int(len(table))} 个）",
                    f"{fmt.fmt_int(len(shown))} of {fmt.fmt_int(len(table))} projects",
                )
            )
            st.dataframe(
                shown,
                hide_index=True,
                height=420,
                column_config={
                    tables.HEADERS_ZH[c]: st.column_config.NumberColumn(format="%.1f")
                    for c in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
                },
            )
            stem = f"{name}_县级项目库"
            c1, c2 = st.columns(2)
            c1.download_button(
                _t("下载 Excel（XLSX）", "Download Excel (XLSX)"),
                functools.partial(tables.to_xlsx_bytes, shown, sheet_name="县级项目库"),
                file_name=f"{stem}.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                on_click="ignore",
                key="library_xlsx",
            )
            c2.download_button(
                _t("下载 CSV（UTF-8）", "Download CSV (UTF-8)"),
                functools.partial(tables.to_csv_bytes, shown),
                file_name=f"{stem}.csv",
                mime="text/csv",
                on_click="ignore",
                key="library_csv",
            )
    if tab_mix.open:
        with tab_mix:
            if mine.empty:
                st.info(common.t("no_data"))
            else:
                left, right = st.columns(2)
                _show(left, charts.breakdown_chart(mine, S.SECTOR), width="stretch")
                _show(right, charts.breakdown_chart(mine, S.FUND_SOURCE), width="stretch")
    if tab_towns.open:
        with tab_towns:
            towns = query.summarise_children(summary, mine, county, flt)
            if towns.empty:
                st.info(common.t("no_data"))
            else:
                left, right = st.columns(2)
                _show(
                    left,
                    charts.rate_by_region_chart(
                        towns, S.COMPLETION, title="各乡镇完工率（由低到高）"
                    ),
                    width="stretch",
                )
                _show(
                    right,
                    charts.rate_by_region_chart(
                        towns, S.COVERAGE, title="各乡镇覆盖率（由低到高）"
                    ),
                    width="stretch",
                )
                st.dataframe(tables.summary_table(towns), hide_index=True)
    if tab_years.open:
        with tab_years:
            if mine.empty:
                st.info(common.t("no_data"))
            else:
                _show(st, charts.by_year_chart(mine), width="stretch")


try:
    render()
except OneMapError as e:
    st.error(str(e))
