"""Chart data and Altair figures for the dashboard, with Chinese labels and 万/亿/% numbers.

Each figure has a pure data function (DataFrame in, tidy DataFrame out — tested on its own) and
a builder returning an ``alt.Chart`` the page hands to ``st.altair_chart``. Rates are fractions;
tooltips carry pre-formatted Chinese strings (``layers.fmt``), axes format counts in 万.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from layers import schema as s
from layers.errors import OneMapError
from layers.present import fmt

#: axis label expression: counts below 1万 with separators, then 万 and 亿
COUNT_AXIS = (
    "abs(datum.value) >= 1e8 ? format(datum.value / 1e8, '.2~f') + '亿' : "
    "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.1~f') + '万' : format(datum.value, ',')"
)
#: same for funds given in 万元 (1亿元 = 1万 万元)
FUNDS_AXIS = (
    "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.2~f') + '亿' : "
    "format(datum.value, ',') + '万'"
)
SECTOR_COLOURS: dict[str, str] = {
    "industry": "#e6550d",
    "employment": "#fd8d3c",
    "education": "#3182bd",
    "health": "#e7298a",
    "housing": "#8c6d31",
    "water": "#17becf",
    "relocation": "#756bb1",
    "infrastructure": "#636363",
    "ecology": "#31a354",
    "other": "#bdbdbd",
}
EXIT_YEAR_COLOURS: dict[int, str] = {
    2016: "#1a9850",
    2017: "#91cf60",
    2018: "#d9ef8b",
    2019: "#fee08b",
    2020: "#fc8d59",
}
LABEL = "label"
VALUE = "value"
SERIES = "series"
TEXT = "text"
SHARE = "share"


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise OneMapError(
            f"{what}: columns {missing} are missing; rebuild the store with `onemap build` "
            "so its tables match docs/ARCHITECTURE.md"
        )


def _bar_height(rows: int, *, step: int = 28) -> int:
    """Whole-figure height of a horizontal bar chart: Streamlit fits the spec's height to the
    figure including its title and axis, so leave room for them beside ``step`` px per bar."""
    return 90 + step * max(rows, 1)


def _rate_label(metric: str) -> str:
    if metric not in s.METRIC_LABELS_ZH:
        raise OneMapError(f"`metric` was {metric!r} but must be one of {list(s.METRIC_LABELS_ZH)}")
    return s.METRIC_LABELS_ZH[metric]


# --- rates by child region ----------------------------------------------------------------
def rate_by_region_data(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``name``, ``value`` (the rate), ``text`` (e.g. "97.7%"), ``projects`` — sorted low → high.

    Units whose rate is undefined (no projects / no poor population) are dropped.
    """
    _rate_label(metric)
    _require(summary, [s.NAME, metric], "rate_by_region_data(summary)")
    out = pd.DataFrame(
        {
            s.NAME: summary[s.NAME].astype("object"),
            VALUE: summary[metric].astype("float64"),
        }
    )
    if s.N_PROJECTS in summary:
        out[s.N_PROJECTS] = summary[s.N_PROJECTS]
    out = out[out[VALUE].notna()].sort_values([VALUE, s.NAME], kind="stable")
    out[TEXT] = fmt.fmt_pct_series(out[VALUE])
    return out.reset_index(drop=True)


def rate_by_region_chart(summary: pd.DataFrame, metric: str, *, title: str = "") -> alt.Chart:
    """Horizontal bars of ``metric`` per region, lowest first, with the value as a label."""
    data = rate_by_region_data(summary, metric)
    label = _rate_label(metric)
    lo = float(data[VALUE].min()) if len(data) else 0.0
    domain = [max(0.0, min(lo - 0.05, 0.9)), 1.0]
    base = alt.Chart(data, title=title or f"{label}（由低到高）")
    y = alt.Y(f"{s.NAME}:N", sort=None, title=None)
    bars = base.mark_bar(color="#3182bd").encode(
        x=alt.X(
            f"{VALUE}:Q",
            title=label,
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=domain, clamp=True),
        ),
        y=y,
        tooltip=[alt.Tooltip(f"{s.NAME}:N", title="名称"), alt.Tooltip(f"{TEXT}:N", title=label)],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=alt.X(f"{VALUE}:Q", scale=alt.Scale(domain=domain, clamp=True)), y=y, text=f"{TEXT}:N"
    )
    height = _bar_height(len(data), step=24)
    return (bars + text).properties(height=height)


# --- breakdowns: sector, fund source, status -----------------------------------------------
_LABELS: dict[str, Mapping[str, str]] = {
    s.SECTOR: s.SECTOR_LABELS_ZH,
    s.FUND_SOURCE: s.FUND_SOURCE_LABELS_ZH,
    s.STATUS: s.STATUS_LABELS_ZH,
}


def breakdown_data(projects: pd.DataFrame, by: str) -> pd.DataFrame:
    """Projects grouped by ``sector``/``fund_source``/``status``: counts, funds, completion, share.

    Columns: ``by`` (code), ``label`` (Chinese), ``projects``, ``projects_completed``,
    ``funds_planned``, ``funds_spent``, ``completion``, ``share`` (of projects), ``text``;
    sorted by number of projects, most first.
    """
    if by not in _LABELS:
        raise OneMapError(f"breakdown_data: `by` was {by!r} but must be one of {list(_LABELS)}")
    _require(projects, [by, s.STATUS, s.FUNDS_PLANNED, s.FUNDS_SPENT], "breakdown_data(projects)")
    codes, keys = pd.factorize(projects[by].astype("object"), use_na_sentinel=False)
    n = len(keys)
    done = projects[s.STATUS].isin(s.COMPLETED_STATUSES).to_numpy(dtype="float64")
    planned = pd.to_numeric(projects[s.FUNDS_PLANNED], errors="coerce").fillna(0).to_numpy()
    spent = pd.to_numeric(projects[s.FUNDS_SPENT], errors="coerce").fillna(0).to_numpy()
    out = pd.DataFrame(
        {
            by: pd.Series(keys, dtype="object").to_numpy(),
            s.N_PROJECTS: np.bincount(codes, minlength=n).astype("int64"),
            s.N_COMPLETED: np.bincount(codes, weights=done, minlength=n).astype("int64"),
            s.FUNDS_PLANNED: np.bincount(codes, weights=planned, minlength=n),
            s.FUNDS_SPENT: np.bincount(codes, weights=spent, minlength=n),
        }
    )
    out[LABEL] = out[by].map(_LABELS[by]).fillna(out[by]).fillna("未填").astype("object")
    total = out[s.N_PROJECTS].sum()
    out[s.COMPLETION] = out[s.N_COMPLETED] / out[s.N_PROJECTS]
    out[SHARE] = out[s.N_PROJECTS] / total if total else float("nan")
    out[TEXT] = (
        fmt.fmt_count_series(out[s.N_PROJECTS], unit="个")
        + "（"
        + fmt.fmt_pct_series(out[SHARE])
        + "）"
    )
    out["funds_text"] = fmt.fmt_wan_yuan_series(out[s.FUNDS_PLANNED])
    out["completion_text"] = fmt.fmt_pct_series(out[s.COMPLETION])
    return out.sort_values([s.N_PROJECTS, LABEL], ascending=[False, True]).reset_index(drop=True)


def breakdown_chart(projects: pd.DataFrame, by: str, *, title: str = "") -> alt.Chart:
    """Horizontal bars: projects per sector/fund source/status, most first, with share labels."""
    data = breakdown_data(projects, by)
    titles = {s.SECTOR: "行业分布", s.FUND_SOURCE: "资金来源", s.STATUS: "项目状态"}
    y = alt.Y(f"{LABEL}:N", sort=None, title=None)
    colour: alt.Color | alt.value
    if by == s.SECTOR:
        keys = list(SECTOR_COLOURS)
        colour = alt.Color(
            f"{by}:N",
            scale=alt.Scale(domain=keys, range=[SECTOR_COLOURS[k] for k in keys]),
            legend=None,
        )
    else:
        colour = alt.value("#3182bd")
    base = alt.Chart(data, title=title or titles[by])
    bars = base.mark_bar().encode(
        x=alt.X(
            f"{s.N_PROJECTS}:Q", title="项目数", axis=alt.Axis(labelExpr=COUNT_AXIS, tickMinStep=1)
        ),
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip(f"{LABEL}:N", title="类别"),
            alt.Tooltip(f"{TEXT}:N", title="项目数（占比）"),
            alt.Tooltip("funds_text:N", title="计划资金"),
            alt.Tooltip("completion_text:N", title="完工率"),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=f"{s.N_PROJECTS}:Q", y=y, text=f"{TEXT}:N"
    )
    return (bars + text).properties(height=_bar_height(len(data)))


# --- projects and funds by year --------------------------------------------------------------
def by_year_data(projects: pd.DataFrame) -> pd.DataFrame:
    """Per ``plan_year``: projects, projects completed, funds planned and spent."""
    _require(
        projects, [s.PLAN_YEAR, s.STATUS, s.FUNDS_PLANNED, s.FUNDS_SPENT], "by_year_data(projects)"
    )
    year = pd.to_numeric(projects[s.PLAN_YEAR], errors="coerce").to_numpy(dtype="float64")
    keep = ~np.isnan(year)
    years, codes = np.unique(year[keep].astype("int64"), return_inverse=True)
    n = len(years)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values[keep], minlength=n)

    done = projects[s.STATUS].isin(s.COMPLETED_STATUSES).to_numpy(dtype="float64")
    planned = pd.to_numeric(projects[s.FUNDS_PLANNED], errors="coerce").fillna(0).to_numpy()
    spent = pd.to_numeric(projects[s.FUNDS_SPENT], errors="coerce").fillna(0).to_numpy()
    return pd.DataFrame(
        {
            s.YEAR: years,
            s.N_PROJECTS: np.bincount(codes, minlength=n).astype("int64"),
            s.N_COMPLETED: total(done).astype("int64"),
            s.FUNDS_PLANNED: total(planned),
            s.FUNDS_SPENT: total(spent),
        }
    )


def by_year_chart(projects: pd.DataFrame, *, title: str = "项目与资金（按计划年度）") -> alt.Chart:
    """Bars of projects per plan year with a line of planned and spent funds (own axis)."""
    data = by_year_data(projects)
    data["year_label"] = data[s.YEAR].astype("string") + "年"
    data["projects_text"] = fmt.fmt_count_series(data[s.N_PROJECTS], unit="个")
    funds = data.melt(
        id_vars=["year_label"],
        value_vars=[s.FUNDS_PLANNED, s.FUNDS_SPENT],
        var_name=SERIES,
        value_name=VALUE,
    )
    funds[SERIES] = funds[SERIES].map({s.FUNDS_PLANNED: "计划资金", s.FUNDS_SPENT: "已支付资金"})
    funds[TEXT] = fmt.fmt_wan_yuan_series(funds[VALUE])
    x = alt.X("year_label:O", title="年度", axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(data)
        .mark_bar(color="#9ecae1")
        .encode(
            x=x,
            y=alt.Y(
                f"{s.N_PROJECTS}:Q",
                title="项目数",
                axis=alt.Axis(labelExpr=COUNT_AXIS, tickMinStep=1),
            ),
            tooltip=[
                alt.Tooltip("year_label:O", title="年度"),
                alt.Tooltip("projects_text:N", title="项目数"),
            ],
        )
    )
    lines = (
        alt.Chart(funds)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(f"{VALUE}:Q", title="资金（元）", axis=alt.Axis(labelExpr=FUNDS_AXIS)),
            color=alt.Color(
                f"{SERIES}:N",
                title=None,
                scale=alt.Scale(domain=["计划资金", "已支付资金"], range=["#e6550d", "#31a354"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("year_label:O", title="年度"),
                alt.Tooltip(f"{SERIES}:N", title="类别"),
                alt.Tooltip(f"{TEXT}:N", title="金额"),
            ],
        )
    )
    return alt.layer(bars, lines, title=title).resolve_scale(y="independent").properties(height=360)


# --- route map: planned vs actual per year ---------------------------------------------------
ROADMAP_SERIES_ZH: dict[str, str] = {
    s.VILLAGES_PLANNED_EXIT: "计划出列村",
    s.VILLAGES_ACTUAL_EXIT: "实际出列村",
    s.PROJECTS_PLANNED: "计划项目",
    s.N_COMPLETED: "完工项目",
}


def roadmap_years_long(roadmap_years: pd.DataFrame, codes: list[str] | None = None) -> pd.DataFrame:
    """Sum ``roadmap_years`` over ``codes`` (all rows when None) into long form.

    Columns: ``year``, ``series`` (Chinese), ``kind`` ("出列村"|"项目"), ``value``.
    """
    cols = list(ROADMAP_SERIES_ZH)
    _require(roadmap_years, [s.CODE, s.YEAR, *cols], "roadmap_years_long(roadmap_years)")
    rows = roadmap_years if codes is None else roadmap_years[roadmap_years[s.CODE].isin(codes)]
    summed = rows.groupby(s.YEAR)[cols].sum().reset_index()
    long = summed.melt(id_vars=[s.YEAR], value_vars=cols, var_name=SERIES, value_name=VALUE)
    long["kind"] = long[SERIES].map(
        {
            s.VILLAGES_PLANNED_EXIT: "出列村",
            s.VILLAGES_ACTUAL_EXIT: "出列村",
            s.PROJECTS_PLANNED: "项目",
            s.N_COMPLETED: "项目",
        }
    )
    long[SERIES] = long[SERIES].map(ROADMAP_SERIES_ZH)
    long[s.YEAR] = long[s.YEAR].astype("int64")
    return long


def roadmap_years_chart(
    roadmap_years: pd.DataFrame, codes: list[str] | None = None, *, year: int | None = None
) -> alt.HConcatChart:
    """Two grouped-bar panels: villages planned vs actually exiting, projects planned vs completed.

    ``year`` (the slider) draws a rule at that year.
    """
    data = roadmap_years_long(roadmap_years, codes)
    data["year_label"] = data[s.YEAR].astype("string") + "年"
    data[TEXT] = fmt.fmt_count_series(data[VALUE])
    panels = []
    for kind, colours in (("出列村", ["#fdae6b", "#e6550d"]), ("项目", ["#9ecae1", "#3182bd"])):
        part = data[data["kind"] == kind]
        domain = list(dict.fromkeys(part[SERIES]))
        chart = (
            alt.Chart(part, title=f"{kind}：计划与实际")
            .mark_bar()
            .encode(
                x=alt.X("year_label:O", title="年度", axis=alt.Axis(labelAngle=0)),
                xOffset=alt.XOffset(f"{SERIES}:N", sort=domain),
                y=alt.Y(
                    f"{VALUE}:Q", title="数量", axis=alt.Axis(labelExpr=COUNT_AXIS, tickMinStep=1)
                ),
                color=alt.Color(
                    f"{SERIES}:N",
                    title=None,
                    scale=alt.Scale(domain=domain, range=colours),
                    legend=alt.Legend(orient="top"),
                ),
                opacity=(
                    alt.condition(f"datum.year <= {int(year)}", alt.value(1.0), alt.value(0.35))
                    if year is not None
                    else alt.value(1.0)
                ),
                tooltip=[
                    alt.Tooltip("year_label:O", title="年度"),
                    alt.Tooltip(f"{SERIES}:N", title="类别"),
                    alt.Tooltip(f"{TEXT}:N", title="数量"),
                ],
            )
            .properties(height=240)
        )
        panels.append(chart)
    return alt.hconcat(*panels).resolve_scale(color="independent")


def refilter_roadmap_years(
    roadmap_years: pd.DataFrame, code: str, projects: pd.DataFrame
) -> pd.DataFrame:
    """``roadmap_years`` rows of township ``code`` with the project counts recomputed from
    ``projects`` (the township's projects under a filter); village exits stay as stored.

    Projects planned count by ``plan_year``, completed by :func:`completion_year`.
    """
    _require(roadmap_years, [s.CODE, s.YEAR], "refilter_roadmap_years(roadmap_years)")
    out = roadmap_years[roadmap_years[s.CODE].eq(code).to_numpy()].copy()
    planned = pd.to_numeric(projects[s.PLAN_YEAR], errors="coerce").value_counts()
    done = completion_year(projects).value_counts()
    year = out[s.YEAR].astype("int64")
    out[s.PROJECTS_PLANNED] = year.map(planned).fillna(0).astype("int64").to_numpy()
    out[s.N_COMPLETED] = year.map(done).fillna(0).astype("int64").to_numpy()
    return out


# --- registry: causes of poverty ---------------------------------------------------------------
def causes_data(registry: pd.DataFrame) -> pd.DataFrame:
    """Poor households by main cause, summed over registry rows: ``label``, ``value``, ``text``."""
    _require(registry, list(s.CAUSE_COLUMNS), "causes_data(registry)")
    totals = registry[list(s.CAUSE_COLUMNS)].sum()
    out = pd.DataFrame(
        {
            "cause": list(s.CAUSES),
            LABEL: [s.CAUSE_LABELS_ZH[c] for c in s.CAUSES],
            VALUE: totals.to_numpy(dtype="float64"),
        }
    )
    total = out[VALUE].sum()
    out[SHARE] = out[VALUE] / total if total else float("nan")
    out[TEXT] = (
        fmt.fmt_count_series(out[VALUE], unit="户") + "（" + fmt.fmt_pct_series(out[SHARE]) + "）"
    )
    return out.sort_values([VALUE, LABEL], ascending=[False, True]).reset_index(drop=True)


def causes_chart(registry: pd.DataFrame, *, title: str = "致贫原因（户）") -> alt.Chart:
    """Horizontal bars of poor households by main cause of poverty, most first."""
    data = causes_data(registry)
    data = data[data[VALUE] > 0]
    y = alt.Y(f"{LABEL}:N", sort=None, title=None)
    base = alt.Chart(data, title=title)
    bars = base.mark_bar(color="#d6604d").encode(
        x=alt.X(f"{VALUE}:Q", title="贫困户数", axis=alt.Axis(labelExpr=COUNT_AXIS, tickMinStep=1)),
        y=y,
        tooltip=[
            alt.Tooltip(f"{LABEL}:N", title="致贫原因"),
            alt.Tooltip(f"{TEXT}:N", title="户数"),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=f"{VALUE}:Q", y=y, text=f"{TEXT}:N"
    )
    return (bars + text).properties(height=_bar_height(len(data)))


# --- zones against the province ---------------------------------------------------------------
PROVINCE_LABEL = "全省"


def zones_compare_data(
    zone_summary: pd.DataFrame, province: pd.DataFrame | pd.Series, metrics: tuple[str, ...]
) -> pd.DataFrame:
    """Long form of ``metrics`` for each zone and the province: ``group``, ``metric``, ``value``."""
    for m in metrics:
        _rate_label(m)
    _require(zone_summary, [s.ZONE, *metrics], "zones_compare_data(zone_summary)")
    prov = province.iloc[0] if isinstance(province, pd.DataFrame) else province
    wide = pd.concat(
        [
            pd.DataFrame({"group": zone_summary[s.ZONE].astype("object")}).assign(
                **{m: zone_summary[m].astype("float64").to_numpy() for m in metrics}
            ),
            pd.DataFrame({"group": [PROVINCE_LABEL], **{m: [float(prov[m])] for m in metrics}}),
        ],
        ignore_index=True,
    )
    long = wide.melt(
        id_vars=["group"], value_vars=list(metrics), var_name="metric", value_name=VALUE
    )
    long["metric_label"] = long["metric"].map(s.METRIC_LABELS_ZH)
    long[TEXT] = fmt.fmt_pct_series(long[VALUE])
    return long


def zones_compare_chart(
    zone_summary: pd.DataFrame,
    province: pd.DataFrame | pd.Series,
    metrics: tuple[str, ...] = (s.COMPLETION, s.COVERAGE, s.FUNDS_EXECUTION),
) -> alt.FacetChart:
    """One panel per metric: a bar per zone, the province in grey, values labelled."""
    data = zones_compare_data(zone_summary, province, metrics)
    order = [*zone_summary[s.ZONE].astype("object").tolist(), PROVINCE_LABEL]
    lo = float(data[VALUE].min()) if data[VALUE].notna().any() else 0.0
    domain = [max(0.0, min(lo - 0.05, 0.9)), 1.0]
    base = alt.Chart(data)
    y = alt.Y("group:N", sort=order, title=None)
    colour = alt.condition(
        f"datum.group == '{PROVINCE_LABEL}'", alt.value("#969696"), alt.value("#3182bd")
    )
    x = alt.X(
        f"{VALUE}:Q",
        title=None,
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=domain, clamp=True),
    )
    bars = base.mark_bar().encode(
        x=x,
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip("group:N", title="区域"),
            alt.Tooltip("metric_label:N", title="指标"),
            alt.Tooltip(f"{TEXT}:N", title="数值"),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(x=x, y=y, text=f"{TEXT}:N")
    return (
        (bars + text)
        .properties(width=220, height=26 * len(order))
        .facet(
            column=alt.Column(
                "metric_label:N", title=None, sort=[s.METRIC_LABELS_ZH[m] for m in metrics]
            )
        )
    )


def exit_timeline_data(
    roadmap_years: pd.DataFrame, members: pd.DataFrame, *, province_label: str = PROVINCE_LABEL
) -> pd.DataFrame:
    """Cumulative share of villages (with plans) actually exited by year, per zone and province.

    ``members`` has columns ``zone`` and ``code`` (county codes); townships of ``roadmap_years``
    are matched to their county. Columns: ``group``, ``year``, ``exited``, ``planned``,
    ``value`` (cumulative exited ÷ all planned exits of the group), ``text``.
    """
    _require(members, [s.ZONE, s.CODE], "exit_timeline_data(members)")
    _require(
        roadmap_years,
        [s.CODE, s.YEAR, s.VILLAGES_PLANNED_EXIT, s.VILLAGES_ACTUAL_EXIT],
        "exit_timeline_data(roadmap_years)",
    )
    ry = pd.DataFrame(
        {
            "county": roadmap_years[s.CODE].astype("string").str[:6].str.ljust(12, "0"),
            s.YEAR: roadmap_years[s.YEAR].astype("int64"),
            "exited": roadmap_years[s.VILLAGES_ACTUAL_EXIT].astype("float64"),
            "planned": roadmap_years[s.VILLAGES_PLANNED_EXIT].astype("float64"),
        }
    )
    m = pd.DataFrame(
        {"group": members[s.ZONE].astype("object"), "county": members[s.CODE].astype("string")}
    )
    zoned = ry.merge(m, on="county", how="inner")
    prov = ry.assign(group=province_label)
    both = pd.concat([zoned, prov], ignore_index=True)
    yearly = both.groupby(["group", s.YEAR], sort=True)[["exited", "planned"]].sum().reset_index()
    yearly["exited"] = yearly.groupby("group")["exited"].cumsum()
    total = yearly.groupby("group")["planned"].transform("sum")
    yearly[VALUE] = (yearly["exited"] / total).where(total > 0)
    yearly[TEXT] = fmt.fmt_pct_series(yearly[VALUE])
    yearly["year_label"] = yearly[s.YEAR].astype("string") + "年"
    return yearly


def exit_timeline_chart(
    roadmap_years: pd.DataFrame, members: pd.DataFrame, *, highlight: tuple[str, ...] = ()
) -> alt.Chart:
    """Lines of the cumulative village-exit share by year for each zone and the province."""
    data = exit_timeline_data(roadmap_years, members)
    emph = alt.condition(
        alt.FieldOneOfPredicate(field="group", oneOf=[*highlight, PROVINCE_LABEL]),
        alt.value(3.5),
        alt.value(1.5),
    )
    return (
        alt.Chart(data, title="村出列进度（累计）")
        .mark_line(point=True)
        .encode(
            x=alt.X("year_label:O", title="年度", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                f"{VALUE}:Q",
                title="累计出列比例",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("group:N", title="区域", legend=alt.Legend(orient="right")),
            strokeWidth=emph,
            tooltip=[
                alt.Tooltip("group:N", title="区域"),
                alt.Tooltip("year_label:O", title="年度"),
                alt.Tooltip(f"{TEXT}:N", title="累计出列"),
            ],
        )
        .properties(height=280)
    )


# --- route map played forward to a year ------------------------------------------------------
NOT_PLANNED_COLOUR = "#d9d9d9"


def completion_year(projects: pd.DataFrame) -> pd.Series:
    """Year each project was completed (``completion_date``, else ``plan_year``); NA if not done.

    The same rule ``roadmap_years`` counts completed projects by.
    """
    _require(projects, [s.STATUS, s.PLAN_YEAR], "completion_year(projects)")
    done = projects[s.STATUS].isin(s.COMPLETED_STATUSES)
    plan = pd.to_numeric(projects[s.PLAN_YEAR], errors="coerce").astype("Float64")
    if s.COMPLETION_DATE in projects:
        year = pd.to_datetime(projects[s.COMPLETION_DATE]).dt.year.astype("Float64")
        year = year.fillna(plan)
    else:
        year = plan
    return year.where(done).astype("Int64").rename("completion_year")


def villages_at_year(villages: pd.DataFrame, year: int) -> pd.DataFrame:
    """Route-map state of villages at ``year``: colour by planned exit year, exited or not.

    Adds ``exit_colour`` (``EXIT_YEAR_COLOURS``), ``exited_by`` (bool: ``exit_year`` ≤ year),
    ``due_by`` (bool: planned exit ≤ year) and ``exit_text`` (Chinese status); a copy.
    """
    _require(villages, [s.PLANNED_EXIT_YEAR, s.EXIT_YEAR], "villages_at_year(villages)")
    out = villages.copy()
    planned = pd.to_numeric(out[s.PLANNED_EXIT_YEAR], errors="coerce").astype("Int64")
    exited = pd.to_numeric(out[s.EXIT_YEAR], errors="coerce").astype("Int64")
    out["exit_colour"] = (
        planned.astype("float64").map(EXIT_YEAR_COLOURS).fillna(NOT_PLANNED_COLOUR).to_numpy()
    )
    out["exited_by"] = exited.le(year).fillna(False).astype(bool).to_numpy()
    out["due_by"] = planned.le(year).fillna(False).astype(bool).to_numpy()
    planned_text = planned.astype("string").fillna("—") + "年计划"
    status = pd.Series(
        np.select(
            [out["exited_by"], out["due_by"]],
            ["已出列", "应出列未出列"],
            "未到计划年份",
        ),
        index=out.index,
    )
    status = status.where(planned.notna() | out["exited_by"], "无出列任务")
    out["exit_text"] = (
        planned_text.where(planned.notna(), "无计划").astype("object") + " · " + status
    ).to_numpy()
    return out


# --- English ------------------------------------------------------------------------------------
def _pretty(code: str) -> str:
    return code.replace("_", " ").capitalize()


#: fixed Chinese strings of the figures above → English (category labels come from schema)
ZH_EN: dict[str, str] = {
    "名称": "Name",
    "项目数": "Projects",
    "类别": "Category",
    "项目数（占比）": "Projects (share)",
    "计划资金": "Funds planned",
    "已支付资金": "Funds spent",
    "完工率": "Completion",
    "行业分布": "Sectors",
    "资金来源": "Fund sources",
    "项目状态": "Project status",
    "项目与资金（按计划年度）": "Projects and funds by plan year",
    "年度": "Year",
    "资金（元）": "Funds (yuan)",
    "金额": "Amount",
    "数量": "Count",
    "计划出列村": "Villages due to exit",
    "实际出列村": "Villages exited",
    "计划项目": "Projects planned",
    "完工项目": "Projects completed",
    "出列村：计划与实际": "Village exits: planned and actual",
    "项目：计划与实际": "Projects: planned and completed",
    "致贫原因（户）": "Main cause of poverty (households)",
    "贫困户数": "Poor households",
    "致贫原因": "Cause",
    "户数": "Households",
    "区域": "Zone",
    "指标": "Metric",
    "数值": "Value",
    "全省": "Province",
    "村出列进度（累计）": "Village exits (cumulative)",
    "累计出列比例": "Share exited",
    "累计出列": "Exited",
    "各乡镇完工率（由低到高）": "Completion by township (lowest first)",
    "各乡镇覆盖率（由低到高）": "Coverage by township (lowest first)",
    "未填": "Not given",
    **{zh: s.METRIC_LABELS_EN[m] for m, zh in s.METRIC_LABELS_ZH.items()},
    **{
        f"{zh}（由低到高）": f"{s.METRIC_LABELS_EN[m]} (lowest first)"
        for m, zh in s.METRIC_LABELS_ZH.items()
    },
    **{zh: _pretty(k) for k, zh in s.SECTOR_LABELS_ZH.items()},
    **{zh: _pretty(k) for k, zh in s.FUND_SOURCE_LABELS_ZH.items()},
    **{zh: _pretty(k) for k, zh in s.STATUS_LABELS_ZH.items()},
    **{zh: _pretty(k) for k, zh in s.CAUSE_LABELS_ZH.items()},
}
_EN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{4})年$"), r"\1"),  # year labels
    (re.compile(r"^(.+?)[个户]（(.+)）$"), r"\1 (\2)"),  # "3个（23.1%）" → "3 (23.1%)"
    (re.compile(r"^(.+?)[个户人]$"), r"\1"),  # counts with a unit
    (re.compile(r"^(.+)万元$"), r"\1万 yuan"),
    (re.compile(r"^(.+)亿元$"), r"\1亿 yuan"),
)


def _to_english(text: str) -> str:
    if text in ZH_EN:
        return ZH_EN[text]
    if f"'{PROVINCE_LABEL}'" in text:  # an expression comparing with the province's label
        return text.replace(f"'{PROVINCE_LABEL}'", f"'{ZH_EN[PROVINCE_LABEL]}'")
    for pattern, repl in _EN_PATTERNS:
        if pattern.match(text):
            return pattern.sub(repl, text)
    return text


def localise_spec(spec: Any, lang: str) -> Any:
    """A copy of a Vega-Lite ``spec`` (``chart.to_dict()``) with its Chinese titles, axis titles,
    legends and category labels in ``lang`` ("zh" returns the spec unchanged).

    Place names stay as they are; numbers keep 万/亿.
    """
    if lang == "zh":
        return spec
    if isinstance(spec, dict):
        return {k: localise_spec(v, lang) for k, v in spec.items()}
    if isinstance(spec, list):
        return [localise_spec(v, lang) for v in spec]
    if isinstance(spec, str):
        return _to_english(spec)
    return spec
