"""Village exits year by year: the route map played forward to a year and the exit figures.

Which villages have exited and which projects are done by a given year (the 乡级路线图 slider),
villages and projects planned against actual per year, and the zones' cumulative exit share.
Labels come from ``layers.present.i18n`` in the ``lang`` asked for (Chinese by default).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from layers import schema as s
from layers.present import charts, fmt, i18n

__all__ = [
    "EXIT_STATUSES",
    "EXIT_YEAR_COLOURS",
    "NOT_PLANNED_COLOUR",
    "ROADMAP_SERIES",
    "completion_year",
    "exit_timeline_chart",
    "exit_timeline_data",
    "refilter_roadmap_years",
    "roadmap_years_chart",
    "roadmap_years_long",
    "villages_at_year",
]

# --- route map played forward to a year ------------------------------------------------------
#: a village's colour by planned exit year (faded on the map until it has exited)
EXIT_YEAR_COLOURS: dict[int, str] = {
    2016: "#1a9850",
    2017: "#91cf60",
    2018: "#d9ef8b",
    2019: "#fee08b",
    2020: "#fc8d59",
}
NOT_PLANNED_COLOUR = "#d9d9d9"
#: a village's exit status at the slider's year (``villages_at_year``'s ``exit_status``)
EXIT_STATUSES: tuple[str, ...] = ("exited", "due", "not_due", "none")


def completion_year(projects: pd.DataFrame) -> pd.Series:
    """Year each project was completed (``completion_date``, else ``plan_year``); NA if not done.

    The same rule ``roadmap_years`` counts completed projects by.
    """
    charts.require_columns(projects, [s.STATUS, s.PLAN_YEAR], "completion_year(projects)")
    done = projects[s.STATUS].isin(s.COMPLETED_STATUSES)
    plan = pd.to_numeric(projects[s.PLAN_YEAR], errors="coerce").astype("Float64")
    if s.COMPLETION_DATE in projects:
        year = pd.to_datetime(projects[s.COMPLETION_DATE]).dt.year.astype("Float64")
        year = year.fillna(plan)
    else:
        year = plan
    return year.where(done).astype("Int64").rename("completion_year")


def villages_at_year(villages: pd.DataFrame, year: int, lang: str = "zh") -> pd.DataFrame:
    """Route-map state of villages at ``year``: colour by planned exit year, exited or not.

    Adds ``exit_colour`` (``EXIT_YEAR_COLOURS``), ``exited_by`` (bool: ``exit_year`` ≤ year),
    ``due_by`` (bool: planned exit ≤ year), ``exit_status`` (``exited``, ``due``, ``not_due`` or
    ``none``: catalogue key ``exit_status_*``) and ``exit_text`` (the status in ``lang``,
    e.g. ``2018年计划 · 应出列未出列``); a copy.

    Parameters
    ----------
    villages
        Villages with ``planned_exit_year`` and ``exit_year``.
    year
        The year shown (the slider).
    lang
        ``"zh"`` or ``"en"``: the words of ``exit_text``.
    """
    charts.require_columns(
        villages, [s.PLANNED_EXIT_YEAR, s.EXIT_YEAR], "villages_at_year(villages)"
    )
    out = villages.copy()
    planned = pd.to_numeric(out[s.PLANNED_EXIT_YEAR], errors="coerce").astype("Int64")
    exited = pd.to_numeric(out[s.EXIT_YEAR], errors="coerce").astype("Int64")
    out["exit_colour"] = (
        planned.astype("float64").map(EXIT_YEAR_COLOURS).fillna(NOT_PLANNED_COLOUR).to_numpy()
    )
    out["exited_by"] = exited.le(year).fillna(False).astype(bool).to_numpy()
    out["due_by"] = planned.le(year).fillna(False).astype(bool).to_numpy()
    planned_text = planned.map(
        lambda y: i18n.t("exit_planned_in", lang, year=y), na_action="ignore"
    ).astype("object")
    key = pd.Series(
        np.select([out["exited_by"], out["due_by"]], ["exited", "due"], "not_due"),
        index=out.index,
    )
    key = key.where(planned.notna() | out["exited_by"], "none")
    out["exit_status"] = key.to_numpy()
    status = key.map({k: i18n.t(f"exit_status_{k}", lang) for k in EXIT_STATUSES})
    no_plan = i18n.t("exit_no_plan", lang)
    out["exit_text"] = (planned_text.where(planned.notna(), no_plan) + " · " + status).to_numpy()
    return out


# --- route map: planned vs actual per year ---------------------------------------------------
#: ``roadmap_years`` column → its series name (catalogue key)
ROADMAP_SERIES: dict[str, str] = {
    s.VILLAGES_PLANNED_EXIT: "villages_planned_exit",
    s.VILLAGES_ACTUAL_EXIT: "villages_actual_exit",
    s.PROJECTS_PLANNED: "projects_planned",
    s.N_COMPLETED: "projects_completed",
}
#: the two panels of the route-map figure: kind → (title key, colours)
_ROADMAP_PANELS: dict[str, tuple[str, list[str]]] = {
    "出列村": ("chart_exits", ["#fdae6b", "#e6550d"]),
    "项目": ("chart_projects_planned_done", ["#9ecae1", "#3182bd"]),
}


def roadmap_years_long(
    roadmap_years: pd.DataFrame, codes: list[str] | None = None, *, lang: str = "zh"
) -> pd.DataFrame:
    """Sum ``roadmap_years`` over ``codes`` (all rows when None) into long form.

    Columns: ``year``, ``series`` (named in ``lang``), ``kind`` ("出列村"|"项目"), ``value``.

    Parameters
    ----------
    roadmap_years
        The store's ``roadmap_years`` table.
    codes
        Township codes to sum, or None for all.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.

    Returns
    -------
    pandas.DataFrame
        Four rows per year: two village series, two project series.
    """
    cols = list(ROADMAP_SERIES)
    charts.require_columns(
        roadmap_years, [s.CODE, s.YEAR, *cols], "roadmap_years_long(roadmap_years)"
    )
    rows = roadmap_years if codes is None else roadmap_years[roadmap_years[s.CODE].isin(codes)]
    summed = rows.groupby(s.YEAR)[cols].sum().reset_index()
    long = summed.melt(
        id_vars=[s.YEAR], value_vars=cols, var_name=charts.SERIES, value_name=charts.VALUE
    )
    long["kind"] = long[charts.SERIES].map(
        {
            s.VILLAGES_PLANNED_EXIT: "出列村",
            s.VILLAGES_ACTUAL_EXIT: "出列村",
            s.PROJECTS_PLANNED: "项目",
            s.N_COMPLETED: "项目",
        }
    )
    long[charts.SERIES] = long[charts.SERIES].map(
        {c: i18n.t(k, lang) for c, k in ROADMAP_SERIES.items()}
    )
    long[s.YEAR] = long[s.YEAR].astype("int64")
    return long


def roadmap_years_chart(
    roadmap_years: pd.DataFrame,
    codes: list[str] | None = None,
    *,
    year: int | None = None,
    lang: str = "zh",
) -> alt.HConcatChart:
    """Two grouped-bar panels: villages planned vs actually exiting, projects planned vs completed.

    ``year`` (the slider) draws a rule at that year.

    Parameters
    ----------
    roadmap_years
        The store's ``roadmap_years`` table.
    codes
        Township codes to sum, or None for all.
    year
        Year to mark with a rule, or None for no rule.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    tr = charts.translator(lang)
    data = roadmap_years_long(roadmap_years, codes, lang=lang)
    data["year_label"] = charts.year_labels(data[s.YEAR], lang)
    data[charts.TEXT] = fmt.fmt_count_series(data[charts.VALUE])
    panels = []
    for kind, (title, colours) in _ROADMAP_PANELS.items():
        part = data[data["kind"] == kind]
        domain = list(dict.fromkeys(part[charts.SERIES]))
        chart = (
            alt.Chart(part, title=tr(title))
            .mark_bar()
            .encode(
                x=alt.X("year_label:O", title=tr("year"), axis=alt.Axis(labelAngle=0)),
                xOffset=alt.XOffset(f"{charts.SERIES}:N", sort=domain),
                y=alt.Y(
                    f"{charts.VALUE}:Q",
                    title=tr("count"),
                    axis=alt.Axis(labelExpr=fmt.axis_labels("count", lang), tickMinStep=1),
                ),
                color=alt.Color(
                    f"{charts.SERIES}:N",
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
                    alt.Tooltip("year_label:O", title=tr("year")),
                    alt.Tooltip(f"{charts.SERIES}:N", title=tr("category")),
                    alt.Tooltip(f"{charts.TEXT}:N", title=tr("count")),
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

    Parameters
    ----------
    roadmap_years
        The store's ``roadmap_years`` table.
    code
        The township's 12-digit code.
    projects
        The township's projects after the filter.

    Returns
    -------
    pandas.DataFrame
        The township's rows, same columns.
    """
    charts.require_columns(roadmap_years, [s.CODE, s.YEAR], "refilter_roadmap_years(roadmap_years)")
    out = roadmap_years[roadmap_years[s.CODE].eq(code).to_numpy()].copy()
    planned = pd.to_numeric(projects[s.PLAN_YEAR], errors="coerce").value_counts()
    done = completion_year(projects).value_counts()
    year = out[s.YEAR].astype("int64")
    out[s.PROJECTS_PLANNED] = year.map(planned).fillna(0).astype("int64").to_numpy()
    out[s.N_COMPLETED] = year.map(done).fillna(0).astype("int64").to_numpy()
    return out


def exit_timeline_data(
    roadmap_years: pd.DataFrame,
    members: pd.DataFrame,
    *,
    province_label: str = charts.PROVINCE_LABEL,
    lang: str = "zh",
) -> pd.DataFrame:
    """Cumulative share of villages (with plans) actually exited by year, per zone and province.

    ``members`` has columns ``zone`` and ``code`` (county codes); townships of ``roadmap_years``
    are matched to their county. Columns: ``group``, ``year``, ``exited``, ``planned``,
    ``value`` (cumulative exited ÷ all planned exits of the group), ``text``.

    Parameters
    ----------
    roadmap_years
        The store's ``roadmap_years`` table.
    members
        Zone members (``zone``, ``code``).
    province_label
        Name of the province's group.
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    charts.require_columns(members, [s.ZONE, s.CODE], "exit_timeline_data(members)")
    charts.require_columns(
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
    yearly[charts.VALUE] = (yearly["exited"] / total).where(total > 0)
    yearly[charts.TEXT] = fmt.fmt_pct_series(yearly[charts.VALUE])
    yearly["year_label"] = charts.year_labels(yearly[s.YEAR], lang)
    return yearly


def exit_timeline_chart(
    roadmap_years: pd.DataFrame,
    members: pd.DataFrame,
    *,
    highlight: tuple[str, ...] = (),
    lang: str = "zh",
) -> alt.Chart:
    """Lines of the cumulative village-exit share by year for each zone and the province.

    Parameters
    ----------
    roadmap_years
        The store's ``roadmap_years`` table.
    members
        Zone members (``zone``, ``code``).
    highlight
        Zones drawn with a thicker line (the province always is).
    lang
        Language of the labels, ``"zh"`` or ``"en"``.
    """
    tr = charts.translator(lang)
    province_label = tr("whole_province")
    data = exit_timeline_data(roadmap_years, members, province_label=province_label, lang=lang)
    emph = alt.condition(
        alt.FieldOneOfPredicate(field="group", oneOf=[*highlight, province_label]),
        alt.value(3.5),
        alt.value(1.5),
    )
    return (
        alt.Chart(data, title=tr("chart_exit_timeline"))
        .mark_line(point=True)
        .encode(
            x=alt.X("year_label:O", title=tr("year"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                f"{charts.VALUE}:Q",
                title=tr("share_exited"),
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("group:N", title=tr("zone_group"), legend=alt.Legend(orient="right")),
            strokeWidth=emph,
            tooltip=[
                alt.Tooltip("group:N", title=tr("zone_group")),
                alt.Tooltip("year_label:O", title=tr("year")),
                alt.Tooltip(f"{charts.TEXT}:N", title=tr("exited_cumulative")),
            ],
        )
        .properties(height=280)
    )
