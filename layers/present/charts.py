"""Chart data and Altair figures for the dashboard, labelled in Chinese or English, 万/亿/%.

Rates by region, breakdowns by sector / fund source / status, projects and funds by year, causes
of poverty and the zones against the province (the exit-year figures are in
``layers.present.exits``). Each figure has a pure data function (DataFrame in, tidy DataFrame
out — tested on its own) and a builder returning an ``alt.Chart`` the page hands to
``st.altair_chart``. Rates are fractions; tooltips carry pre-formatted strings
(``layers.present.fmt``), axes format counts in 万. Every title, label and category name comes
from ``layers.present.i18n`` in the ``lang`` asked for (Chinese by default); place names stay.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd

from layers import schema as s
from layers.errors import OneMapError
from layers.present import fmt, i18n

__all__ = [
    "LABEL",
    "PROVINCE_LABEL",
    "SECTOR_COLOURS",
    "SERIES",
    "SHARE",
    "TEXT",
    "VALUE",
    "breakdown_chart",
    "breakdown_data",
    "by_year_chart",
    "by_year_data",
    "causes_chart",
    "causes_data",
    "rate_by_region_chart",
    "rate_by_region_data",
    "require_columns",
    "translator",
    "year_labels",
    "zones_compare_chart",
    "zones_compare_data",
]

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
LABEL = "label"
VALUE = "value"
SERIES = "series"
TEXT = "text"
SHARE = "share"


def require_columns(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise when a table lacks columns a figure needs (a store older than the schema).

    Parameters
    ----------
    df
        The table handed to a figure.
    columns
        The columns the figure reads.
    what
        The function and argument, for the message (e.g. ``"causes_data(registry)"``).

    Raises
    ------
    OneMapError
        Naming the missing columns and the fix (rebuild the store).
    """
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


def translator(lang: str) -> Callable[[str], str]:
    """``tr(key)`` → ``i18n.t(key, lang)``, for figures with many labels."""
    return lambda key: i18n.t(key, lang)


def _rate_label(metric: str, lang: str = "zh") -> str:
    if metric not in s.METRICS:
        raise OneMapError(f"`metric` was {metric!r} but must be one of {list(s.METRICS)}")
    return i18n.metric_label(metric, lang)


def year_labels(years: pd.Series, lang: str) -> pd.Series:
    """Axis labels of years.

    Parameters
    ----------
    years
        Integer years.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    pandas.Series
        ``2016`` → ``"2016年"`` (Chinese) or ``"2016"`` (English), on the same index.
    """
    return years.map(lambda y: i18n.t("year_label", lang, year=y)).astype("object")


def _count_share(counts: pd.Series, shares: pd.Series, unit: str, lang: str) -> pd.Series:
    """``"3个（23.1%）"`` (Chinese) or ``"3 (23.1%)"`` (English) per row."""
    count = fmt.fmt_count_series(counts, unit=i18n.t(unit, lang))
    share = fmt.fmt_pct_series(shares)
    text = [
        i18n.t("count_share", lang, count=c, share=p) for c, p in zip(count, share, strict=True)
    ]
    return pd.Series(text, index=counts.index, dtype="object")


# --- rates by child region ----------------------------------------------------------------
def rate_by_region_data(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``name``, ``value`` (the rate), ``text`` (e.g. "97.7%"), ``projects`` — sorted low → high.

    Units whose rate is undefined (no projects / no poor population) are dropped.

    Parameters
    ----------
    summary
        Summary rows of the units, with ``name`` and ``metric``.
    metric
        A rate column (fraction 0–1).
    """
    _rate_label(metric)
    require_columns(summary, [s.NAME, metric], "rate_by_region_data(summary)")
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


def rate_by_region_chart(
    summary: pd.DataFrame, metric: str, *, title: str = "", lang: str = "zh"
) -> alt.Chart:
    """Horizontal bars of ``metric`` per region, lowest first, with the value as a label.

    Parameters
    ----------
    summary
        Summary rows of the units.
    metric
        A rate column (fraction 0–1).
    title
        Chart title; empty for the default title in ``lang``.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    data = rate_by_region_data(summary, metric)
    label = _rate_label(metric, lang)
    lo = float(data[VALUE].min()) if len(data) else 0.0
    domain = [max(0.0, min(lo - 0.05, 0.9)), 1.0]
    base = alt.Chart(data, title=title or i18n.t("lowest_first", lang, label=label))
    y = alt.Y(f"{s.NAME}:N", sort=None, title=None)
    bars = base.mark_bar(color="#3182bd").encode(
        x=alt.X(
            f"{VALUE}:Q",
            title=label,
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=domain, clamp=True),
        ),
        y=y,
        tooltip=[
            alt.Tooltip(f"{s.NAME}:N", title=i18n.t("name", lang)),
            alt.Tooltip(f"{TEXT}:N", title=label),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=alt.X(f"{VALUE}:Q", scale=alt.Scale(domain=domain, clamp=True)), y=y, text=f"{TEXT}:N"
    )
    height = _bar_height(len(data), step=24)
    return (bars + text).properties(height=height)


# --- breakdowns: sector, fund source, status -----------------------------------------------
#: breakdown column → title of its figure (catalogue key)
_BREAKDOWN_TITLES: dict[str, str] = {
    s.SECTOR: "chart_sectors",
    s.FUND_SOURCE: "chart_fund_sources",
    s.STATUS: "chart_statuses",
}


def breakdown_data(projects: pd.DataFrame, by: str, *, lang: str = "zh") -> pd.DataFrame:
    """Projects grouped by ``sector``/``fund_source``/``status``: counts, funds, completion, share.

    Columns: ``by`` (code), ``label`` (in ``lang``), ``projects``, ``projects_completed``,
    ``funds_planned``, ``funds_spent``, ``completion``, ``share`` (of projects), ``text``;
    sorted by number of projects, most first.

    Parameters
    ----------
    projects
        The projects (funds in 万元).
    by
        ``"sector"``, ``"fund_source"`` or ``"status"``.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    if by not in _BREAKDOWN_TITLES:
        raise OneMapError(
            f"breakdown_data: `by` was {by!r} but must be one of {list(_BREAKDOWN_TITLES)}"
        )
    require_columns(
        projects, [by, s.STATUS, s.FUNDS_PLANNED, s.FUNDS_SPENT], "breakdown_data(projects)"
    )
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
    names = out[by].map(i18n.labels(by, lang)).fillna(out[by])
    out[LABEL] = names.fillna(i18n.t("not_given", lang)).astype("object")
    total = out[s.N_PROJECTS].sum()
    out[s.COMPLETION] = out[s.N_COMPLETED] / out[s.N_PROJECTS]
    out[SHARE] = out[s.N_PROJECTS] / total if total else float("nan")
    out[TEXT] = _count_share(out[s.N_PROJECTS], out[SHARE], "unit_items", lang)
    out["funds_text"] = fmt.fmt_wan_yuan_series(out[s.FUNDS_PLANNED], lang=lang)
    out["completion_text"] = fmt.fmt_pct_series(out[s.COMPLETION])
    # ties in the Chinese labels' order, so the bars stand in one order in either language
    zh = out[by].map(i18n.labels(by, "zh")).fillna(out[by])
    out["_zh"] = zh.fillna(i18n.t("not_given", "zh"))
    out = out.sort_values([s.N_PROJECTS, "_zh"], ascending=[False, True])
    return out.drop(columns="_zh").reset_index(drop=True)


def breakdown_chart(
    projects: pd.DataFrame, by: str, *, title: str = "", lang: str = "zh"
) -> alt.Chart:
    """Horizontal bars: projects per sector/fund source/status, most first, with share labels.

    Parameters
    ----------
    projects
        The projects (funds in 万元).
    by
        ``"sector"``, ``"fund_source"`` or ``"status"``.
    title
        Chart title; empty for the default title in ``lang``.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    data = breakdown_data(projects, by, lang=lang)
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
    base = alt.Chart(data, title=title or i18n.t(_BREAKDOWN_TITLES[by], lang))
    bars = base.mark_bar().encode(
        x=alt.X(
            f"{s.N_PROJECTS}:Q",
            title=i18n.t("projects", lang),
            axis=alt.Axis(labelExpr=fmt.axis_labels("count", lang), tickMinStep=1),
        ),
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip(f"{LABEL}:N", title=i18n.t("category", lang)),
            alt.Tooltip(f"{TEXT}:N", title=i18n.t("projects_share", lang)),
            alt.Tooltip("funds_text:N", title=i18n.t("funds_planned", lang)),
            alt.Tooltip("completion_text:N", title=i18n.t("completion", lang)),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=f"{s.N_PROJECTS}:Q", y=y, text=f"{TEXT}:N"
    )
    return (bars + text).properties(height=_bar_height(len(data)))


# --- projects and funds by year --------------------------------------------------------------
def by_year_data(projects: pd.DataFrame) -> pd.DataFrame:
    """Per ``plan_year``: projects, projects completed, funds planned and spent."""
    require_columns(
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


def by_year_chart(projects: pd.DataFrame, *, title: str = "", lang: str = "zh") -> alt.Chart:
    """Bars of projects per plan year with a line of planned and spent funds (own axis).

    Parameters
    ----------
    projects
        The projects (funds in 万元).
    title
        Chart title; empty for the default title in ``lang``.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    tr = translator(lang)
    data = by_year_data(projects)
    data["year_label"] = year_labels(data[s.YEAR], lang)
    data["projects_text"] = fmt.fmt_count_series(data[s.N_PROJECTS], unit=tr("unit_items"))
    funds = data.melt(
        id_vars=["year_label"],
        value_vars=[s.FUNDS_PLANNED, s.FUNDS_SPENT],
        var_name=SERIES,
        value_name=VALUE,
    )
    series = [tr("funds_planned"), tr("funds_paid")]
    funds[SERIES] = funds[SERIES].map(
        dict(zip([s.FUNDS_PLANNED, s.FUNDS_SPENT], series, strict=True))
    )
    funds[TEXT] = fmt.fmt_wan_yuan_series(funds[VALUE], lang=lang)
    x = alt.X("year_label:O", title=tr("year"), axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(data)
        .mark_bar(color="#9ecae1")
        .encode(
            x=x,
            y=alt.Y(
                f"{s.N_PROJECTS}:Q",
                title=tr("projects"),
                axis=alt.Axis(labelExpr=fmt.axis_labels("count", lang), tickMinStep=1),
            ),
            tooltip=[
                alt.Tooltip("year_label:O", title=tr("year")),
                alt.Tooltip("projects_text:N", title=tr("projects")),
            ],
        )
    )
    lines = (
        alt.Chart(funds)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                f"{VALUE}:Q",
                title=tr("funds_yuan"),
                axis=alt.Axis(labelExpr=fmt.axis_labels("funds", lang)),
            ),
            color=alt.Color(
                f"{SERIES}:N",
                title=None,
                scale=alt.Scale(domain=series, range=["#e6550d", "#31a354"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("year_label:O", title=tr("year")),
                alt.Tooltip(f"{SERIES}:N", title=tr("category")),
                alt.Tooltip(f"{TEXT}:N", title=tr("amount")),
            ],
        )
    )
    return (
        alt.layer(bars, lines, title=title or tr("chart_by_year"))
        .resolve_scale(y="independent")
        .properties(height=360)
    )


# --- registry: causes of poverty ---------------------------------------------------------------
def causes_data(registry: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Poor households by main cause, summed over registry rows: ``label``, ``value``, ``text``.

    Parameters
    ----------
    registry
        Registry rows with the ``cause_*`` household columns.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    require_columns(registry, list(s.CAUSE_COLUMNS), "causes_data(registry)")
    totals = registry[list(s.CAUSE_COLUMNS)].sum()
    out = pd.DataFrame(
        {
            "cause": list(s.CAUSES),
            LABEL: [i18n.label("cause", c, lang) for c in s.CAUSES],
            VALUE: totals.to_numpy(dtype="float64"),
        }
    )
    total = out[VALUE].sum()
    out[SHARE] = out[VALUE] / total if total else float("nan")
    out[TEXT] = _count_share(out[VALUE], out[SHARE], "unit_households", lang)
    # ties in the Chinese labels' order, so the bars stand in one order in either language
    out["_zh"] = [i18n.label("cause", c, "zh") for c in s.CAUSES]
    out = out.sort_values([VALUE, "_zh"], ascending=[False, True])
    return out.drop(columns="_zh").reset_index(drop=True)


def causes_chart(registry: pd.DataFrame, *, title: str = "", lang: str = "zh") -> alt.Chart:
    """Horizontal bars of poor households by main cause of poverty, most first.

    Parameters
    ----------
    registry
        Registry rows with the ``cause_*`` household columns.
    title
        Chart title; empty for the default title in ``lang``.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    tr = translator(lang)
    data = causes_data(registry, lang=lang)
    data = data[data[VALUE] > 0]
    y = alt.Y(f"{LABEL}:N", sort=None, title=None)
    base = alt.Chart(data, title=title or tr("chart_causes"))
    bars = base.mark_bar(color="#d6604d").encode(
        x=alt.X(
            f"{VALUE}:Q",
            title=tr("households_poor"),
            axis=alt.Axis(labelExpr=fmt.axis_labels("count", lang), tickMinStep=1),
        ),
        y=y,
        tooltip=[
            alt.Tooltip(f"{LABEL}:N", title=tr("cause")),
            alt.Tooltip(f"{TEXT}:N", title=tr("households")),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(
        x=f"{VALUE}:Q", y=y, text=f"{TEXT}:N"
    )
    return (bars + text).properties(height=_bar_height(len(data)))


# --- zones against the province ---------------------------------------------------------------
#: the province's row among the zones (Chinese; English figures say ``t("whole_province")``)
PROVINCE_LABEL = i18n.t("whole_province", "zh")


def zones_compare_data(
    zone_summary: pd.DataFrame,
    province: pd.DataFrame | pd.Series,
    metrics: tuple[str, ...],
    *,
    lang: str = "zh",
) -> pd.DataFrame:
    """Long form of ``metrics`` for each zone and the province: ``group``, ``metric``, ``value``.

    Parameters
    ----------
    zone_summary
        One row per zone.
    province
        The province's summary row (or a one-row frame).
    metrics
        Rate columns to compare (fractions 0–1).
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    for m in metrics:
        _rate_label(m)
    province_label = i18n.t("whole_province", lang)
    require_columns(zone_summary, [s.ZONE, *metrics], "zones_compare_data(zone_summary)")
    prov = province.iloc[0] if isinstance(province, pd.DataFrame) else province
    wide = pd.concat(
        [
            pd.DataFrame({"group": zone_summary[s.ZONE].astype("object")}).assign(
                **{m: zone_summary[m].astype("float64").to_numpy() for m in metrics}
            ),
            pd.DataFrame({"group": [province_label], **{m: [float(prov[m])] for m in metrics}}),
        ],
        ignore_index=True,
    )
    long = wide.melt(
        id_vars=["group"], value_vars=list(metrics), var_name="metric", value_name=VALUE
    )
    long["metric_label"] = long["metric"].map(lambda m: i18n.metric_label(m, lang))
    long[TEXT] = fmt.fmt_pct_series(long[VALUE])
    return long


def zones_compare_chart(
    zone_summary: pd.DataFrame,
    province: pd.DataFrame | pd.Series,
    metrics: tuple[str, ...] = (s.COMPLETION, s.COVERAGE, s.FUNDS_EXECUTION),
    *,
    lang: str = "zh",
) -> alt.FacetChart:
    """One panel per metric: a bar per zone, the province in grey, values labelled.

    Parameters
    ----------
    zone_summary
        One row per zone.
    province
        The province's summary row (or a one-row frame).
    metrics
        Rate columns to compare (fractions 0–1), one panel each.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    tr = translator(lang)
    data = zones_compare_data(zone_summary, province, metrics, lang=lang)
    province_label = tr("whole_province")
    order = [*zone_summary[s.ZONE].astype("object").tolist(), province_label]
    lo = float(data[VALUE].min()) if data[VALUE].notna().any() else 0.0
    domain = [max(0.0, min(lo - 0.05, 0.9)), 1.0]
    base = alt.Chart(data)
    y = alt.Y("group:N", sort=order, title=None)
    colour = alt.condition(
        f"datum.group == '{province_label}'", alt.value("#969696"), alt.value("#3182bd")
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
            alt.Tooltip("group:N", title=tr("zone_group")),
            alt.Tooltip("metric_label:N", title=tr("metric_short")),
            alt.Tooltip(f"{TEXT}:N", title=tr("value")),
        ],
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(x=x, y=y, text=f"{TEXT}:N")
    return (
        (bars + text)
        .properties(width=220, height=26 * len(order))
        .facet(
            column=alt.Column(
                "metric_label:N", title=None, sort=[i18n.metric_label(m, lang) for m in metrics]
            )
        )
    )
