"""重点区域: the five action-plan zones against the province, and the laggard counties."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, fmt, query
from views import common

#: the two deep-poverty prefectures planners look for first: zone name fragment → (name, code)
SPOTLIGHT: dict[str, tuple[str, str]] = {
    "怒江": ("怒江州", "533300000000"),
    "迪庆": ("迪庆州", "533400000000"),
}
#: funds (万元) with thousands separators in display tables
FUNDS_FORMAT = {
    tables.HEADERS_ZH[c]: st.column_config.NumberColumn(format="localized")
    for c in (S.FUNDS_PLANNED, S.FUNDS_SPENT)
}
OVERVIEW = Path(__file__).with_name("overview.py")


def _spotlight(zones: pd.DataFrame) -> None:
    """A card for 怒江州 and 迪庆州 each: completion, coverage, funds, link to its map."""
    cols = st.columns(len(SPOTLIGHT))
    for col, (fragment, (name, code)) in zip(cols, SPOTLIGHT.items(), strict=True):
        hit = zones[zones[S.ZONE].astype("string").str.contains(fragment).fillna(False)]
        with col.container(border=True):
            st.markdown(f"#### {name}")
            if hit.empty:
                st.caption(common.text("数据库中没有该区域。", "Not in the store."))
                continue
            row = hit.iloc[0]
            a, b, c = st.columns(3)
            a.metric(common.text("完工率", "Completion"), fmt.fmt_pct(row[S.COMPLETION]))
            b.metric(common.text("覆盖率", "Coverage"), fmt.fmt_pct(row[S.COVERAGE]))
            c.metric(
                common.text("资金执行率", "Funds executed"), fmt.fmt_pct(row[S.FUNDS_EXECUTION])
            )
            projects = fmt.fmt_count(row[S.N_PROJECTS])
            planned = fmt.fmt_wan_yuan(row[S.FUNDS_PLANNED])
            spent = fmt.fmt_wan_yuan(row[S.FUNDS_SPENT])
            uncovered = fmt.fmt_count(row[S.POOR_POPULATION] - row[S.COVERED_CAPPED])
            st.caption(
                common.text(
                    f"项目 {projects}个 · 计划资金 {planned} · 已支付 {spent} · "
                    f"未覆盖贫困人口 {uncovered}人",
                    f"{projects} projects · planned {planned} · spent {spent} · "
                    f"{uncovered} poor people uncovered",
                )
            )
            if OVERVIEW.exists():
                st.page_link(
                    "views/overview.py",
                    label=common.text(f"在地图上打开{name}", f"Open {name} on the map"),
                    icon=":material/map:",
                    query_params={"region": code},
                )


def _laggards(counties: pd.DataFrame, members: pd.DataFrame, zone: str | None) -> None:
    """Ranking of the counties with the lowest completion / most uncovered poor population."""
    scope = counties
    if zone:
        scope = counties[counties[S.CODE].isin(members.loc[members[S.ZONE] == zone, S.CODE])]
    st.subheader(
        common.text("落后县排名", "Laggard counties")
        + (f"（{zone}）" if zone else common.text("（全省）", " (province)"))
    )
    n = st.slider(common.text("显示前几名", "Show top"), 5, 30, 10, key="zones_top_n")
    by_completion, by_uncovered = st.tabs(
        [
            common.text("完工率最低", "Lowest completion"),
            common.text("未覆盖贫困人口最多", "Most uncovered poor"),
        ]
    )
    for tab, key in ((by_completion, S.COMPLETION), (by_uncovered, tables.UNCOVERED)):
        with tab:
            ranked = tables.laggards(scope, by=key, n=n)
            ranked.insert(0, "排名", range(1, len(ranked) + 1))
            prefecture = (
                ranked[S.CODE]
                .str[:4]
                .str.ljust(12, "0")
                .map(common.units_index().set_index(S.CODE)[S.NAME])
            )
            shown = tables.summary_table(ranked.assign(州市=prefecture), extra=("排名", "州市"))
            shown = shown[["排名", *[c for c in shown.columns if c != "排名"]]]
            st.dataframe(shown, hide_index=True, column_config=FUNDS_FORMAT)


def render() -> None:
    """Draw the page for the current view."""
    view = common.current_view()
    st.title(common.text("重点区域", "Priority zones"))
    flt = common.project_filter(view)
    summary = common.load_region_summary()
    members = common.zone_members()
    prepared = None if flt.is_empty else common.prepared_projects()
    if flt.is_empty or members.empty:
        zones = common.load_table(S.TABLE_ZONE_SUMMARY)
        if not flt.is_empty:
            st.warning(
                common.text(
                    "未找到区域成员（data/zones.toml 与库中区划不符），区域数字未按筛选重算。",
                    "Zone members unknown (data/zones.toml does not match the store): "
                    "zone figures ignore the filters.",
                )
            )
    else:
        zones = query.summarise_zones(summary, prepared, members, flt)
    province = query.summarise_region(summary, prepared, S.PROVINCE_CODE, flt)
    st.caption(
        common.text("五大行动计划区域与全省对比", "The five action-plan zones against the province")
        + f" · {flt.describe_zh()}"
    )

    _spotlight(zones)
    common.show_chart(st, charts.zones_compare_chart(zones, province), width="stretch")
    both = pd.concat(
        [zones, province.to_frame().T.assign(**{S.ZONE: charts.PROVINCE_LABEL})],
        ignore_index=True,
    )
    st.dataframe(tables.summary_table(both), hide_index=True, column_config=FUNDS_FORMAT)

    if not members.empty:
        ry = common.load_table(S.TABLE_ROADMAP_YEARS)
        highlight = tuple(z for z in zones[S.ZONE].astype(str) if any(f in z for f in SPOTLIGHT))
        common.show_chart(
            st, charts.exit_timeline_chart(ry, members, highlight=highlight), width="stretch"
        )

    counties = query.summarise_children(summary, prepared, S.PROVINCE_CODE, flt, level="county")
    if S.COUNTY_LIBRARIES in counties:
        counties = counties[counties[S.COUNTY_LIBRARIES].fillna(0).astype(int) > 0]
    _laggards(counties, members, view.zone)


try:
    render()
except OneMapError as e:
    st.error(str(e))
