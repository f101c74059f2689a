"""The shared sidebar: language, the cascading region selectors, project filters, map options.

``app.py`` draws it once per run, before the page; it writes the resulting ``ViewState`` to the
session and the URL. Map clicks and breadcrumbs move the region through ``state.set_region``,
which keeps the selectors in step.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from layers import access
from layers import schema as S
from layers.present import i18n, view
from views import loaders
from views.state import (
    BASEMAPS,
    LANGS,
    LEVEL_KEYS,
    NONE,
    PLAN_YEAR_BOUNDS,
    SIDEBAR_KEYS,
    VIEW_KEY,
    ViewState,
    ancestors,
    current_view,
    remember_url,
    url_moved,
)

__all__ = ["sidebar"]

_K = SIDEBAR_KEYS
#: the region selector of each level and its label's catalogue key
_LEVEL_LABELS: dict[str, str] = {
    "prefecture": "prefecture",
    "county": "county",
    "township": "township",
    "village": "village_level",
}


def _seed_widgets(state: ViewState) -> None:
    """Write ``state`` into the sidebar widget keys (before widgets exist, or in a callback)."""
    chain = ancestors(state.region)
    for lv in LEVEL_KEYS:
        st.session_state[_K[lv]] = next((c for c in chain if S.level_of(c) == lv), NONE)
    st.session_state[_K["zone"]] = state.zone or NONE
    st.session_state[_K["sectors"]] = list(state.sectors)
    st.session_state[_K["years"]] = state.years or PLAN_YEAR_BOUNDS
    st.session_state[_K["statuses"]] = list(state.statuses)
    st.session_state[_K["fund_sources"]] = list(state.fund_sources)
    st.session_state[_K["metric"]] = state.metric
    st.session_state[_K["basemap"]] = state.basemap
    st.session_state[_K["lang"]] = state.lang
    st.session_state[_K["show_zones"]] = state.show_zones
    st.session_state[_K["breaks_from"]] = state.breaks_from


def _clear_below(level: str) -> None:
    for lv in LEVEL_KEYS[LEVEL_KEYS.index(level) + 1 :]:
        st.session_state[_K[lv]] = NONE


def _region_select(level: str, parent: str, lang: str, scope: access.Scope) -> str:
    """The selector of the units of ``level`` under ``parent`` ("" = all of them); townships
    and villages are listed only inside ``scope`` (their names are details of a county)."""
    idx = loaders.units_index()
    kids = idx[(idx[S.LEVEL] == level) & (idx[S.PARENT_CODE] == parent)]
    if level not in ("prefecture", "county") and not scope.sees_detail(parent):
        kids = kids.iloc[:0]
    options = [NONE, *kids[S.CODE].tolist()]
    names = dict(zip(kids[S.CODE], kids[S.NAME], strict=True))
    if st.session_state.get(_K[level]) not in options:
        st.session_state[_K[level]] = NONE
    return st.selectbox(
        i18n.t(_LEVEL_LABELS[level], lang),
        options,
        key=_K[level],
        format_func=lambda c: names.get(c, i18n.t("all", lang)),
        on_change=_clear_below,
        args=(level,),
    )


def _language() -> str:
    return st.radio(
        i18n.t("language", "zh"),
        LANGS,
        key=_K["lang"],
        horizontal=True,
        format_func=lambda x: i18n.t(f"lang_{x}"),
    )


def _region_cascade(lang: str, scope: access.Scope) -> str:
    """Prefecture → county → township → village selectors; returns the deepest chosen code."""
    st.subheader(i18n.t("region", lang))
    region = S.PROVINCE_CODE
    for lv in LEVEL_KEYS:
        chosen = _region_select(lv, region, lang, scope)
        if not chosen:
            _clear_below(lv)
            break
        region = chosen
    return region


def _category_filter(label: str, column: str, codes: tuple[str, ...], key: str, lang: str) -> Any:
    """A multiselect of the codes of a category column, shown as their labels."""
    return st.multiselect(
        i18n.t(label, lang),
        codes,
        key=_K[key],
        format_func=lambda c: i18n.label(column, c, lang),
        placeholder=i18n.t("all", lang),
    )


def _filters(lang: str) -> dict[str, Any]:
    """Zone, sectors, plan years, statuses and fund sources as ``ViewState`` fields."""
    st.subheader(i18n.t("filters", lang))
    zones = loaders.zone_names()
    if st.session_state.get(_K["zone"]) not in [NONE, *zones]:
        st.session_state[_K["zone"]] = NONE
    zone = st.selectbox(
        i18n.t("zone", lang),
        [NONE, *zones],
        key=_K["zone"],
        format_func=lambda z: (
            i18n.zone_label(z, loaders.zone_names_en(), lang) if z else i18n.t("all", lang)
        ),
    )
    sectors = _category_filter("sector", S.SECTOR, S.SECTORS, "sectors", lang)
    years = st.slider(
        i18n.t("years", lang),
        min_value=PLAN_YEAR_BOUNDS[0],
        max_value=PLAN_YEAR_BOUNDS[1],
        key=_K["years"],
    )
    statuses = _category_filter("status", S.STATUS, S.STATUSES, "statuses", lang)
    funds = _category_filter("fund_source", S.FUND_SOURCE, S.FUND_SOURCES, "fund_sources", lang)
    yrs = tuple(int(y) for y in years)
    return {
        "zone": zone or None,
        "sectors": tuple(sectors),
        "years": None if yrs == PLAN_YEAR_BOUNDS else (yrs[0], yrs[1]),
        "statuses": tuple(statuses),
        "fund_sources": tuple(funds),
    }


def _map_options(lang: str) -> dict[str, Any]:
    """Metric, basemap, zone outlines and where class breaks come from as ``ViewState`` fields."""
    st.subheader(i18n.t("metric", lang))
    metric = st.selectbox(
        i18n.t("metric", lang),
        S.METRICS,
        key=_K["metric"],
        format_func=lambda m: i18n.metric_label(m, lang),
        label_visibility="collapsed",
    )
    basemap = st.selectbox(
        i18n.t("basemap", lang),
        BASEMAPS,
        key=_K["basemap"],
        format_func=lambda b: i18n.t(f"basemap_{b}", lang),
    )
    show_zones = st.checkbox(i18n.t("show_zones", lang), key=_K["show_zones"])
    breaks_from = st.selectbox(
        i18n.t("breaks_from", lang),
        view.BREAK_SOURCES,
        key=_K["breaks_from"],
        format_func=lambda b: i18n.t(f"breaks_{b}", lang),
    )
    return {
        "metric": metric,
        "basemap": basemap,
        "show_zones": bool(show_zones),
        "breaks_from": breaks_from,
    }


def sidebar(state: ViewState | None = None, scope: access.Scope = access.FULL) -> ViewState:
    """Draw the shared sidebar and return the resulting ViewState (also written to the URL).

    Called once per run by ``app.py``; ``state`` (default: parsed from the URL) seeds the
    widgets on the first run of a session and in a run started by the browser's Back or
    Forward button (the URL's view then replaces the session's). Pages read the result with
    ``current_view()``. ``scope`` (the signed-in account's) limits the township and village
    selectors; ``app.py`` checks the resulting region against it before a page runs.
    """
    if state is None:
        state = current_view()
    if _K["metric"] not in st.session_state or url_moved():
        _seed_widgets(state)  # first run, or Back/Forward: the widgets show the URL's view
    with st.sidebar:
        lang = _language()
        region = _region_cascade(lang, scope)
        filters = _filters(lang)
        options = _map_options(lang)
    view = ViewState(
        page=state.page, region=region, lang=lang, year=state.year, **filters, **options
    )
    st.session_state[VIEW_KEY] = view
    qp = view.to_query_params()
    if qp != st.query_params.to_dict():
        st.query_params.from_dict(qp)
    remember_url(qp)
    return view
