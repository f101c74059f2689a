"""The figures of a briefing pack's page, as display text: KPIs, laggards, the exit timeline.

In the pack's language (``lang``): the headers, the KPI names and the units; place names stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.export import tables
from layers.export.snapshot import Snapshot
from layers.present import fmt, i18n

__all__ = ["KPI_ROWS", "exit_timeline", "kpi_table", "laggard_table"]

#: the pack's KPI rows: column and its kind of number (words: ``pack_kpi_<column>``)
KPI_ROWS: tuple[tuple[str, str], ...] = (
    *((c, "int") for c in (S.N_PROJECTS,)),
    *((c, "pct") for c in (S.COMPLETION, S.COVERAGE)),
    *((c, "money") for c in (S.FUNDS_PLANNED, S.FUNDS_SPENT)),
    *((c, "pct") for c in (S.FUNDS_EXECUTION,)),
    (S.POOR_POPULATION, "people"),
    *((c, "pct") for c in (S.EXIT_PROGRESS, S.SIX_FIXES_RATE)),
    *((c, "int") for c in (S.COUNTY_LIBRARIES, S.TOWNSHIP_ROUTE_MAPS, S.VILLAGE_PLANS)),
)


def _kpi_value(v: Any, kind: str, lang: str) -> str:
    if kind == "pct":
        return fmt.fmt_pct(v)
    if kind == "money":
        return fmt.fmt_wan_yuan(v, lang=lang)
    if kind == "people":
        return fmt.fmt_count(v, unit=i18n.t("unit_people", lang), lang=lang)
    return fmt.fmt_int(v)


def kpi_table(row: pd.Series, lang: str = "zh") -> pd.DataFrame:
    """Two-column KPI table (指标, 数值 / Metric, Value) of one summary row.

    Parameters
    ----------
    row
        A summary row (``query.summarise_region``).
    lang
        ``"zh"`` or ``"en"``: the words and units.

    Returns
    -------
    pandas.DataFrame
        One row per KPI, as display text.
    """
    k = M.kpis(row)
    return pd.DataFrame(
        {
            i18n.t("metric_short", lang): [i18n.t(f"pack_kpi_{c}", lang) for c, _ in KPI_ROWS],
            i18n.t("value", lang): [_kpi_value(k.get(c), kind, lang) for c, kind in KPI_ROWS],
        }
    )


def laggard_table(rows: pd.DataFrame, metric: str, *, n: int = 5, lang: str = "zh") -> pd.DataFrame:
    """The ``n`` units lowest on ``metric``: name, metric %, uncovered poor population.

    Parameters
    ----------
    rows
        Summary rows of the view's units.
    metric
        The metric to rank by (lowest first).
    n
        How many units.
    lang
        ``"zh"`` or ``"en"``: the headers and number formats.

    Returns
    -------
    pandas.DataFrame
        Columns name, the metric's name and the uncovered poor population, as display text.
    """
    heads = (
        i18n.t("col_en_name", lang),
        i18n.metric_label(metric, lang),
        i18n.t("col_en_uncovered_population", lang),
    )
    if rows.empty or rows[metric].notna().sum() == 0:
        return pd.DataFrame({h: [] for h in heads})
    worst = tables.laggards(rows, by=metric, n=n)
    values = (
        worst[S.NAME].astype(str),
        fmt.fmt_pct_series(worst[metric]),
        fmt.fmt_count_series(worst[i18n.UNCOVERED], lang=lang),
    )
    return pd.DataFrame({h: v.to_numpy() for h, v in zip(heads, values, strict=True)})


def exit_timeline(snap: Snapshot, codes: Sequence[str]) -> pd.DataFrame:
    """Villages planned to exit and actually exited per year in the townships under ``codes``.

    Parameters
    ----------
    snap
        The store snapshot (its ``roadmap_years``).
    codes
        Region codes of any level (a zone passes its counties).

    Returns
    -------
    pandas.DataFrame
        One row per year: year, villages planned to exit, villages exited.
    """
    ry = snap.roadmap_years
    cols = [S.YEAR, S.VILLAGES_PLANNED_EXIT, S.VILLAGES_ACTUAL_EXIT]
    if ry.empty:
        return pd.DataFrame(columns=cols)
    prefixes = tuple(c[: S.LEVEL_DIGITS[S.level_of(c)]] for c in codes)
    sel = ry[ry[S.CODE].astype(str).str.startswith(prefixes)]
    out = sel.groupby(S.YEAR, sort=True)[cols[1:]].sum().reset_index()
    return out
