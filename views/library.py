"""县级项目库: one county's projects (sortable, searchable, downloadable) and their breakdowns."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, fmt, query
from views import common

LEVEL = "county"


def _kpis(row: pd.Series) -> None:
    cols = st.columns(6)
    cols[0].metric(common.text("项目数", "Projects"), fmt.fmt_count(row[S.N_PROJECTS], unit="个"))
    cols[1].metric(common.text("完工率", "Completion"), fmt.fmt_pct(row[S.COMPLETION]))
    cols[2].metric(common.text("贫困人口覆盖率", "Coverage"), fmt.fmt_pct(row[S.COVERAGE]))
    cols[3].metric(common.text("计划资金", "Funds planned"), fmt.fmt_wan_yuan(row[S.FUNDS_PLANNED]))
    cols[4].metric(common.text("已支付资金", "Funds spent"), fmt.fmt_wan_yuan(row[S.FUNDS_SPENT]))
    cols[5].metric(
        common.text("六定完整率", "Six fixes complete"), fmt.fmt_pct(row[S.SIX_FIXES_RATE])
    )


def render() -> None:
    """Draw the page for the current view."""
    view, hit = common.page_unit(
        ("县级项目库", "County project library"),
        S.LAYER_COUNTY_LIBRARY,
        level=LEVEL,
        key="library_pick",
        missing=("没有县级项目库（无脱贫攻坚任务）。", "has no project library (no tasks)."),
    )
    if hit is None:
        return
    county = str(hit[S.CODE].iloc[0])
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
            common.text("项目清单", "Projects"),
            common.text("行业与资金来源", "Sectors and fund sources"),
            common.text("乡镇完工率与覆盖率", "Townships"),
            common.text("年度项目与资金", "By year"),
        ],
        key="library_tab",
        on_change="rerun",  # only the open tab is computed: a filter change stays fast
    )
    if tab_table.open:
        with tab_table:
            names = common.units_index().set_index(S.CODE)[S.NAME]
            table = tables.project_table(mine, names=names, with_missing_fixes=True)
            needle = st.text_input(
                common.text("搜索项目", "Search projects"),
                key="library_search",
                placeholder=common.text(
                    "名称、编号、乡镇、村、责任单位…（空格分隔多个词）",
                    "name, id, township, village, unit… (several words: all must match)",
                ),
            )
            shown = tables.search(table, needle)
            st.caption(
                common.text(
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
            common.xlsx_download(
                c1,
                ("下载 Excel（XLSX）", "Download Excel (XLSX)"),
                shown,
                sheet="县级项目库",
                file=f"{stem}.xlsx",
                key="library_xlsx",
            )
            c2.download_button(
                common.text("下载 CSV（UTF-8）", "Download CSV (UTF-8)"),
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
                common.show_chart(left, charts.breakdown_chart(mine, S.SECTOR), width="stretch")
                common.show_chart(
                    right, charts.breakdown_chart(mine, S.FUND_SOURCE), width="stretch"
                )
    if tab_towns.open:
        with tab_towns:
            towns = query.summarise_children(summary, mine, county, flt)
            if towns.empty:
                st.info(common.t("no_data"))
            else:
                left, right = st.columns(2)
                common.show_chart(
                    left,
                    charts.rate_by_region_chart(
                        towns, S.COMPLETION, title="各乡镇完工率（由低到高）"
                    ),
                    width="stretch",
                )
                common.show_chart(
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
                common.show_chart(st, charts.by_year_chart(mine), width="stretch")


try:
    render()
except OneMapError as e:
    st.error(str(e))
