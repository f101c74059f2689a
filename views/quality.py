"""数据质量: the quality issues of the selected region, by check, on a map and in a table.

六定 completeness, 账实相符 (points outside their village, completed without a date, spent above
allocated, beneficiaries above the village's poor population) from the store's
``quality_issues``; 账账相符 against an uploaded county funds table (``layers.reconcile``).
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import webmap
from geo.escape import escape_markdown
from layers import issues as qi
from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.ingest import reconcile
from layers.present import i18n, messages
from views import assets, loaders, state, widgets

__all__ = ["check_labels", "issue_headers", "render"]

SEVERITY_ORDER = qi.SEVERITIES
#: issue column → its header's catalogue key
ISSUE_HEADER_KEYS = {
    S.QI_SEVERITY: "qa_severity",
    S.QI_CHECK: "qa_check",
    S.QI_ENTITY: "qa_entity",
    S.QI_ENTITY_ID: "qa_entity_id",
    S.QI_CODE: "qa_code",
    "unit": "qa_unit",
    S.QI_MESSAGE: "qa_message",
    S.QI_VALUE: "qa_value",
}
#: a level → its name's catalogue key
LEVEL_KEYS = {
    "prefecture": "prefecture",
    "county": "county",
    "township": "township",
    "village": "village_level",
}
PALETTE_REDS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")


def issue_headers(lang: str) -> dict[str, str]:
    """Issue column → its header in ``lang``."""
    return {c: i18n.t(k, lang) for c, k in ISSUE_HEADER_KEYS.items()}


def check_labels(checks: pd.Series, lang: str) -> pd.Series:
    """The checks' names in ``lang`` (``spent_over_allocated`` → 支出超过下达资金 / Spent over
    allocated)."""
    if lang == "en":
        return checks.astype(str).str.replace("_", " ").str.capitalize()
    return checks.map(reconcile.CHECK_LABELS_ZH).fillna(checks)


def _entity(values: pd.Series, lang: str) -> pd.Series:
    keys = {v: f"entity_{v}" for v in values.dropna().unique() if f"entity_{v}" in i18n.TEXT}
    return values.map({v: i18n.t(k, lang) for v, k in keys.items()}).fillna(values)


def child_level(level: str) -> str:
    """The level shown on the map for a region of ``level`` (villages stay villages)."""
    i = S.LEVELS.index(level)
    return S.LEVELS[min(i + 1, len(S.LEVELS) - 1)]


def _map(units: gpd.GeoDataFrame, counts: pd.DataFrame, title: str, lang: str) -> None:
    gdf = units.merge(counts[[S.CODE, "issues", "errors"]], on=S.CODE, how="left")
    values = gdf["issues"].astype(float).to_numpy()
    top = max(float(np.nanmax(values)) if len(values) else 0.0, 1.0)
    breaks = np.unique(np.ceil(np.linspace(0, top, 6)[1:]))
    colors = webmap.class_colors(np.where(values > 0, values, np.nan), breaks, PALETTE_REDS)
    gdf = gdf.assign(
        issues_text=[i18n.t("qa_items", lang, n=int(n)) for n in gdf["issues"]],
        errors_text=[i18n.t("qa_items", lang, n=int(n)) for n in gdf["errors"]],
    )
    m = webmap.make_map(gdf.total_bounds, asset_base_url=assets.asset_base_url())
    webmap.choropleth_layer(
        gdf,
        fill_colors=colors,
        tooltip={
            S.NAME: i18n.t("region", lang),
            "issues_text": i18n.t("qa_issues", lang),
            "errors_text": i18n.t("qa_errors", lang),
        },
        name=i18n.t("qa_map_layer", lang),
    ).add_to(m)
    lows = [0, *breaks[:-1]]
    labels = [
        f"{int(hi)}" if int(lo) + 1 >= int(hi) else f"{int(lo) + 1}–{int(hi)}"
        for lo, hi in zip(lows, breaks, strict=True)
    ]
    used = webmap.class_colors(breaks, breaks, PALETTE_REDS)
    webmap.add_legend(
        m, title=title, labels=labels, colors=list(used), no_data_label=i18n.t("qa_no_issue", lang)
    )
    st_folium(m, key="quality_map", height=440, use_container_width=True, returned_objects=[])


def _funds_reconciliation(units: pd.DataFrame, lang: str) -> pd.DataFrame:
    with st.expander(i18n.t("qa_funds_title", lang)):
        st.caption(i18n.t("qa_funds_help", lang))
        upload = widgets.file_uploader(
            i18n.t("qa_funds_upload", lang), lang, type=["xlsx", "csv"], key="qa_funds"
        )
        if upload is None:
            return qi.empty_issues()
        funds = reconcile.read_funds_table((upload.name, upload.getvalue()), admin_units=units)
        found = reconcile.reconcile_funds(loaders.load_projects(), funds)
        bad = int((found[S.QI_CHECK] == "ledger_vs_funds").sum())
        st.write(i18n.t("qa_funds_found", lang, counties=len(funds), bad=bad))
        return found


def render() -> None:
    """Draw the page."""
    view = state.current_view(page="quality")
    lang = view.lang
    st.title(i18n.t("quality", lang))
    region_name = loaders.unit_name(view.region, lang)
    issues = loaders.load_table(S.TABLE_QUALITY_ISSUES)
    units = loaders.load_admin_units()
    extra = _funds_reconciliation(units, lang)
    if len(extra):
        issues = pd.concat([extra, issues], ignore_index=True)
    scoped = reconcile.filter_region(issues, view.region).reset_index(drop=True)
    st.subheader(
        i18n.t("qa_count", lang, region=escape_markdown(region_name), n=f"{len(scoped):,}")
    )
    severity = {s: i18n.t(f"severity_{s}", lang) for s in SEVERITY_ORDER}
    cols = st.columns(3)
    for col, sev in zip(cols, SEVERITY_ORDER, strict=True):
        col.metric(severity[sev], f"{int((scoped[S.QI_SEVERITY] == sev).sum()):,}")
    if scoped.empty:
        st.success(i18n.t("qa_none", lang))
        return

    labels = check_labels(scoped[S.QI_CHECK], lang)
    by_check = (
        pd.DataFrame(
            {
                i18n.t("qa_check", lang): labels,
                i18n.t("qa_severity", lang): scoped[S.QI_SEVERITY].map(severity),
            }
        )
        .value_counts()
        .rename(i18n.t("qa_issue_count", lang))
        .reset_index()
    )
    left, right = st.columns([3, 2])
    with right:
        st.dataframe(by_check, hide_index=True)
        checks = st.multiselect(
            i18n.t("qa_only_checks", lang),
            sorted(labels.unique()),
            key=f"qa_checks_{lang}",
            placeholder=i18n.t("qa_all_checks", lang),
        )
    shown = scoped[labels.isin(checks).to_numpy()] if checks else scoped
    with left:
        level = child_level(view.level)
        inside = units[
            (units[S.LEVEL] == level)
            & units[S.CODE].astype(str).str.startswith(view.region[: S.LEVEL_DIGITS[view.level]])
        ]
        if view.level == "village":
            inside = units[units[S.CODE] == view.region]
        if len(inside) > 3000:
            st.info(i18n.t("qa_too_many", lang))
        elif len(inside):
            counts = reconcile.issues_per_unit(shown, inside, level)
            level_name = i18n.t(LEVEL_KEYS[level], lang)
            _map(inside, counts, i18n.t("qa_map_title", lang, level=level_name), lang)

    headers = issue_headers(lang)
    table = shown.assign(
        **{
            S.QI_SEVERITY: shown[S.QI_SEVERITY].map(severity),
            S.QI_CHECK: labels[shown.index],
            S.QI_ENTITY: _entity(shown[S.QI_ENTITY], lang),
            S.QI_MESSAGE: messages.render_series(shown[S.QI_MESSAGE], lang),
            "unit": shown[S.QI_CODE].map(dict(zip(units[S.CODE], units[S.NAME], strict=False))),
        }
    )[list(headers)].rename(columns=headers)
    st.dataframe(table, hide_index=True)
    stem = i18n.t("qa_file_stem", lang)
    c1, c2 = st.columns(2)
    c1.download_button(
        i18n.t("qa_download_xlsx", lang),
        functools.partial(tables.to_xlsx_bytes, table, sheet_name=stem),
        file_name=f"{region_name}_{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="qa_xlsx",
    )
    c2.download_button(
        i18n.t("qa_download_csv", lang),
        functools.partial(tables.to_csv_bytes, table),
        file_name=f"{region_name}_{stem}.csv",
        mime="text/csv",
        on_click="ignore",
        key="qa_csv",
    )


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
