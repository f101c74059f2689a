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
from layers import issues as qi
from layers import schema as S
from layers.errors import OneMapError
from layers.export import tables
from layers.ingest import reconcile
from views import assets, loaders, state

__all__ = ["render"]

SEVERITY_ZH = qi.SEVERITY_LABELS_ZH
SEVERITY_ORDER = qi.SEVERITIES
ISSUE_HEADERS_ZH = {
    S.QI_SEVERITY: "严重程度",
    S.QI_CHECK: "检查项",
    S.QI_ENTITY: "对象",
    S.QI_ENTITY_ID: "编号",
    S.QI_CODE: "区划代码",
    "unit": "所在区域",
    S.QI_MESSAGE: "说明",
    S.QI_VALUE: "值",
}
PALETTE_REDS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")


def child_level(level: str) -> str:
    """The level shown on the map for a region of ``level`` (villages stay villages)."""
    i = S.LEVELS.index(level)
    return S.LEVELS[min(i + 1, len(S.LEVELS) - 1)]


def _map(units: gpd.GeoDataFrame, counts: pd.DataFrame, title: str) -> None:
    gdf = units.merge(counts[[S.CODE, "issues", "errors"]], on=S.CODE, how="left")
    values = gdf["issues"].astype(float).to_numpy()
    top = max(float(np.nanmax(values)) if len(values) else 0.0, 1.0)
    breaks = np.unique(np.ceil(np.linspace(0, top, 6)[1:]))
    colors = webmap.class_colors(np.where(values > 0, values, np.nan), breaks, PALETTE_REDS)
    gdf = gdf.assign(
        issues_text=gdf["issues"].astype(int).astype(str) + " 个",
        errors_text=gdf["errors"].astype(int).astype(str) + " 个",
    )
    m = webmap.make_map(gdf.total_bounds, asset_base_url=assets.asset_base_url())
    webmap.choropleth_layer(
        gdf,
        fill_colors=colors,
        tooltip={S.NAME: "区域", "issues_text": "问题", "errors_text": "其中错误"},
        name="数据质量",
    ).add_to(m)
    lows = [0, *breaks[:-1]]
    labels = [
        f"{int(hi)}" if int(lo) + 1 >= int(hi) else f"{int(lo) + 1}–{int(hi)}"
        for lo, hi in zip(lows, breaks, strict=True)
    ]
    used = webmap.class_colors(breaks, breaks, PALETTE_REDS)
    webmap.add_legend(m, title=title, labels=labels, colors=list(used), no_data_label="无问题")
    st_folium(m, key="quality_map", height=440, use_container_width=True, returned_objects=[])


def _funds_reconciliation(units: pd.DataFrame) -> pd.DataFrame:
    with st.expander("账账相符：上传县级资金表核对项目库资金合计"):
        st.caption(
            "资金表每行一个县：县代码或县名，以及 计划投资 / 已下达资金 / 已支出资金 中的任意几列；"
            "金额单位在表头或标题中注明（元或万元），默认万元。"
        )
        upload = st.file_uploader(
            "县级资金表（.xlsx / .csv）", type=["xlsx", "csv"], key="qa_funds"
        )
        if upload is None:
            return qi.empty_issues()
        funds = reconcile.read_funds_table((upload.name, upload.getvalue()), admin_units=units)
        found = reconcile.reconcile_funds(loaders.load_projects(), funds)
        bad = int((found[S.QI_CHECK] == "ledger_vs_funds").sum())
        st.write(f"资金表 {len(funds)} 个县；账账不符 {bad} 项。")
        return found


def render() -> None:
    """Draw the page."""
    view = state.current_view(page="quality")
    st.title("数据质量")
    region_name = loaders.unit_name(view.region)
    issues = loaders.load_table(S.TABLE_QUALITY_ISSUES)
    units = loaders.load_admin_units()
    extra = _funds_reconciliation(units)
    if len(extra):
        issues = pd.concat([extra, issues], ignore_index=True)
    scoped = reconcile.filter_region(issues, view.region).reset_index(drop=True)
    st.subheader(f"{region_name} · 共 {len(scoped):,} 个问题")
    cols = st.columns(3)
    for col, sev in zip(cols, SEVERITY_ORDER, strict=True):
        col.metric(SEVERITY_ZH[sev], f"{int((scoped[S.QI_SEVERITY] == sev).sum()):,}")
    if scoped.empty:
        st.success("所选区域没有发现数据质量问题。")
        return

    labels = scoped[S.QI_CHECK].map(reconcile.CHECK_LABELS_ZH).fillna(scoped[S.QI_CHECK])
    by_check = (
        pd.DataFrame({"检查项": labels, "严重程度": scoped[S.QI_SEVERITY].map(SEVERITY_ZH)})
        .value_counts()
        .rename("问题数")
        .reset_index()
    )
    left, right = st.columns([3, 2])
    with right:
        st.dataframe(by_check, hide_index=True)
        checks = st.multiselect(
            "只看这些检查项", sorted(labels.unique()), key="qa_checks", placeholder="全部检查项"
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
            st.info("单元较多：请在左侧边栏选择州/市或县后查看问题分布图。")
        elif len(inside):
            counts = reconcile.issues_per_unit(shown, inside, level)
            _map(inside, counts, f"问题数（按{S.LEVEL_LABELS_ZH[level]}）")

    table = shown.assign(
        **{
            S.QI_SEVERITY: shown[S.QI_SEVERITY].map(SEVERITY_ZH),
            S.QI_CHECK: labels[shown.index],
            "unit": shown[S.QI_CODE].map(dict(zip(units[S.CODE], units[S.NAME], strict=False))),
        }
    )[list(ISSUE_HEADERS_ZH)].rename(columns=ISSUE_HEADERS_ZH)
    st.dataframe(table, hide_index=True)
    c1, c2 = st.columns(2)
    c1.download_button(
        "下载问题清单（XLSX）",
        functools.partial(tables.to_xlsx_bytes, table, sheet_name="数据质量"),
        file_name=f"{region_name}_数据质量.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="qa_xlsx",
    )
    c2.download_button(
        "下载问题清单（CSV）",
        functools.partial(tables.to_csv_bytes, table),
        file_name=f"{region_name}_数据质量.csv",
        mime="text/csv",
        on_click="ignore",
        key="qa_csv",
    )


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
