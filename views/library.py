"""县级项目库: one county's projects (sortable, searchable, downloadable) and their breakdowns."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from geo.escape import escape_markdown
from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, fmt, i18n, query
from views import loaders, state, widgets

__all__ = ["render"]

LEVEL = "county"


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


def _projects_tab(mine: pd.DataFrame, name: str, lang: str) -> None:
    """The county's projects: searchable table and its XLSX/CSV downloads."""
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
    st.dataframe(
        shown,
        hide_index=True,
        height=420,
        column_config=widgets.number_columns(shown),
        placeholder=fmt.MISSING,
    )
    stem = f"{name}_县级项目库"
    c1, c2 = st.columns(2)
    widgets.xlsx_download(
        c1,
        i18n.t("download_xlsx", lang),
        shown,
        sheet="县级项目库",
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
    table = tables.summary_table(towns)
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
            _projects_tab(mine, name, lang)
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
