"""重点区域: the five action-plan zones against the province, and the laggard counties."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.present import charts, exits, fmt, i18n, query
from views import loaders, state, widgets

__all__ = ["render"]

#: the two deep-poverty prefectures planners look for first: zone name fragment → (name, code)
SPOTLIGHT: dict[str, tuple[str, str]] = {
    "怒江": ("怒江州", "533300000000"),
    "迪庆": ("迪庆州", "533400000000"),
}
OVERVIEW = Path(__file__).with_name("overview.py")


def _spotlight_card(row: pd.Series, name: str, code: str, lang: str) -> None:
    """Completion, coverage, funds executed, a caption of the zone's totals, a link to its map."""
    a, b, c = st.columns(3)
    a.metric(i18n.t("completion", lang), fmt.fmt_pct(row[S.COMPLETION]))
    b.metric(i18n.t("coverage", lang), fmt.fmt_pct(row[S.COVERAGE]))
    c.metric(i18n.metric_label(S.FUNDS_EXECUTION, lang), fmt.fmt_pct(row[S.FUNDS_EXECUTION]))
    totals = {
        "projects": fmt.fmt_count(row[S.N_PROJECTS], lang=lang),
        "planned": fmt.fmt_wan_yuan(row[S.FUNDS_PLANNED], lang=lang),
        "spent": fmt.fmt_wan_yuan(row[S.FUNDS_SPENT], lang=lang),
        "uncovered": fmt.fmt_count(row[S.POOR_POPULATION] - row[S.COVERED_CAPPED], lang=lang),
    }
    st.caption(i18n.t("zone_card_caption", lang, **totals))
    if OVERVIEW.exists():
        st.page_link(
            "views/overview.py",
            label=i18n.t("open_on_map", lang, name=name),
            icon=":material/map:",
            query_params={"region": code},
        )


def _spotlight(zones: pd.DataFrame, lang: str) -> None:
    """A card for 怒江州 and 迪庆州 each: completion, coverage, funds, link to its map."""
    cols = st.columns(len(SPOTLIGHT))
    for col, (fragment, (name, code)) in zip(cols, SPOTLIGHT.items(), strict=True):
        hit = zones[zones[S.ZONE].astype("string").str.contains(fragment).fillna(False)]
        with col.container(border=True):
            if lang == "en":  # the prefecture's own name, not the zone's Chinese short form
                name = loaders.unit_name(code, lang)
            st.markdown(f"#### {name}")
            if hit.empty:
                st.caption(i18n.t("zone_not_in_store", lang))
                continue
            _spotlight_card(hit.iloc[0], name, code, lang)


def _laggards(counties: pd.DataFrame, members: pd.DataFrame, zone: str | None, lang: str) -> None:
    """Ranking of the counties with the lowest completion / most uncovered poor population."""
    scope = counties
    if zone:
        scope = counties[counties[S.CODE].isin(members.loc[members[S.ZONE] == zone, S.CODE])]
    label = i18n.zone_label(zone, loaders.zone_names_en(), lang) if zone else ""
    where = i18n.t("in_zone", lang, zone=label) if zone else i18n.t("in_province", lang)
    st.subheader(i18n.t("laggard_counties", lang) + where)
    n = st.slider(i18n.t("show_top", lang), 5, 30, 10, key="zones_top_n")
    by_completion, by_uncovered = st.tabs(
        [i18n.t("lowest_completion", lang), i18n.t("most_uncovered", lang)]
    )
    prefectures = loaders.units_index().set_index(S.CODE)[S.NAME]
    for tab, key in ((by_completion, S.COMPLETION), (by_uncovered, i18n.UNCOVERED)):
        with tab:
            ranked = tables.laggards(scope, by=key, n=n)
            rank, pref = i18n.t("rank", lang), i18n.t("prefecture_col", lang)
            ranked.insert(0, rank, range(1, len(ranked) + 1))
            prefecture = ranked[S.CODE].str[:4].str.ljust(12, "0").map(prefectures)
            shown = tables.summary_table(
                ranked.assign(**{pref: prefecture}), extra=(rank, pref), lang=lang
            )
            shown = shown[[rank, *[c for c in shown.columns if c != rank]]]
            st.dataframe(
                shown,
                hide_index=True,
                column_config=widgets.number_columns(shown),
                placeholder=fmt.MISSING,
            )


def _zone_figures(
    flt: query.ProjectFilter,
    summary: pd.DataFrame,
    prepared: query.Projects | None,
    members: pd.DataFrame,
    lang: str,
) -> pd.DataFrame:
    """The zones' figures: stored, or recounted under the filters when the members are known."""
    if not flt.is_empty and not members.empty:
        return query.summarise_zones(summary, prepared, members, flt)
    if not flt.is_empty:
        st.warning(i18n.t("zone_members_unknown", lang))
    return loaders.load_table(S.TABLE_ZONE_SUMMARY)


def render() -> None:
    """Draw the page for the current view."""
    view = state.current_view()
    lang = view.lang
    st.title(i18n.t("zones", lang))
    flt = state.project_filter(view)
    summary = loaders.load_region_summary()
    members = loaders.zone_members()
    prepared = loaders.count_source(flt)
    zones = _zone_figures(flt, summary, prepared, members, lang)
    province = query.summarise_region(summary, prepared, S.PROVINCE_CODE, flt)
    st.caption(i18n.t("zones_caption", lang) + f" · {widgets.describe_filters(view)}")
    scoped = widgets.scoped_counts_note(prepared, lang)
    if scoped:  # a scoped account on PostGIS: zones outside its region show — under filters
        st.caption(scoped)

    _spotlight(zones, lang)
    names_en = loaders.zone_names_en()
    shown = zones.assign(
        **{S.ZONE: [i18n.zone_label(str(z), names_en, lang) for z in zones[S.ZONE]]}
    )
    st.altair_chart(charts.zones_compare_chart(shown, province, lang=lang), width="stretch")
    both = pd.concat(
        [shown, province.to_frame().T.assign(**{S.ZONE: i18n.t("whole_province", lang)})],
        ignore_index=True,
    )
    table = tables.summary_table(
        both, lang=lang
    ).infer_objects()  # the province row made them objects
    st.dataframe(
        table,
        hide_index=True,
        column_config=widgets.number_columns(table),
        placeholder=fmt.MISSING,
    )

    if not members.empty:
        ry = loaders.load_table(S.TABLE_ROADMAP_YEARS)
        highlight = tuple(z for z in zones[S.ZONE].astype(str) if any(f in z for f in SPOTLIGHT))
        label = {str(z): i18n.zone_label(str(z), names_en, lang) for z in zones[S.ZONE]}
        chart = exits.exit_timeline_chart(
            ry,
            members.assign(**{S.ZONE: members[S.ZONE].map(label).fillna(members[S.ZONE])}),
            highlight=tuple(label.get(z, z) for z in highlight),
            lang=lang,
        )
        st.altair_chart(chart, width="stretch")

    counties = query.summarise_children(summary, prepared, S.PROVINCE_CODE, flt, level="county")
    if S.COUNTY_LIBRARIES in counties:
        counties = counties[counties[S.COUNTY_LIBRARIES].fillna(0).astype(int) > 0]
    _laggards(counties, members, view.zone, lang)


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
