"""The KPI cards of a map page: values that are never cut off, an honest note, print and phone.

``kpi_cards`` turns a summary row into cards (label, number, unit) in the asked language;
``cards_html`` renders them as escaped HTML (the number may shrink or wrap, the unit stays
whole); ``registry_note`` says, when project filters are active, which KPIs come from the
poverty registry and do not follow them. ``PAGE_CSS`` holds the cards' styles, the phone
layout (two rows of compact cards) and the print stylesheet (A4 landscape: title, KPIs and the
map with its legend; no sidebar, toolbar or tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

from geo.escape import escape_html
from layers import schema as S
from layers.present import fmt, i18n
from layers.present.query import ProjectFilter

__all__ = [
    "LONG_VALUE_CHARS",
    "PAGE_CSS",
    "REGISTRY_KPIS",
    "KpiCard",
    "cards_html",
    "kpi_cards",
    "registry_note",
    "split_unit",
]

#: KPIs counted from the poverty registry and the plan documents, not from the projects
REGISTRY_KPIS: tuple[str, ...] = (
    S.COVERAGE,
    S.POOR_POPULATION,
    S.COUNTY_LIBRARIES,
    S.TOWNSHIP_ROUTE_MAPS,
    S.VILLAGE_PLANS,
)


class KpiCard(NamedTuple):
    """One card: its label, the number as text and the unit (may be empty)."""

    label: str
    number: str
    unit: str = ""
    registry: bool = False


def split_unit(text: str, units: Sequence[str]) -> tuple[str, str]:
    """Split a formatted value into number and unit: ``"47.86亿元"`` → ``("47.86", "亿元")``.

    Parameters
    ----------
    text
        A formatted value (``layers.present.fmt``).
    units
        The units it may end with, longest first.

    Returns
    -------
    tuple of (str, str)
        The number and the unit ("" when none matches).
    """
    for unit in units:
        if unit and text.endswith(unit) and text != unit:
            return text[: -len(unit)].rstrip(), unit
    return text, ""


def _money(value: Any, lang: str) -> tuple[str, str]:
    keys = ("unit_million_yuan",) if lang == "en" else ("unit_yi_yuan", "unit_wan_yuan")
    units = tuple(i18n.t(key, lang) for key in keys)
    return split_unit(fmt.fmt_wan_yuan(value, lang=lang), units)


def _people(value: Any, lang: str) -> tuple[str, str]:
    if value is None or pd.isna(value):
        return fmt.MISSING, ""
    v = float(value)
    if abs(v) >= fmt.WAN:
        return f"{v / fmt.WAN:,.1f}", i18n.t("unit_wan_people", lang)
    return f"{v:,.0f}", i18n.t("unit_people", lang)


def kpi_cards(k: Mapping[str, Any], lang: str = "zh") -> list[KpiCard]:
    """The seven KPI cards of a summary row's KPIs (``metrics.kpis``) in ``lang``.

    Parameters
    ----------
    k
        The KPIs (``layers.build.metrics.kpis`` of a summary row).
    lang
        zh or en.

    Returns
    -------
    list of KpiCard
        Projects, completion, coverage, funds planned, funds spent, poor population and the
        plan documents (libraries / route maps / plans); missing values read "—".
    """
    plans = " / ".join(
        fmt.fmt_int(k.get(c)) for c in (S.COUNTY_LIBRARIES, S.TOWNSHIP_ROUTE_MAPS, S.VILLAGE_PLANS)
    )
    return [
        KpiCard(i18n.t("projects", lang), fmt.fmt_int(k.get(S.N_PROJECTS))),
        KpiCard(i18n.t("completion", lang), fmt.fmt_pct(k.get(S.COMPLETION))),
        KpiCard(i18n.t("coverage", lang), fmt.fmt_pct(k.get(S.COVERAGE)), registry=True),
        KpiCard(i18n.t("funds_planned", lang), *_money(k.get(S.FUNDS_PLANNED), lang)),
        KpiCard(i18n.t("funds_spent", lang), *_money(k.get(S.FUNDS_SPENT), lang)),
        KpiCard(i18n.t("poor_population", lang), *_people(k.get(S.POOR_POPULATION), lang), True),
        KpiCard(i18n.t("plans", lang), plans, registry=True),
    ]


def registry_note(flt: ProjectFilter | None, lang: str = "zh") -> str:
    """The note under the cards when project filters are active ("" without filters).

    Parameters
    ----------
    flt
        The view's project filter.
    lang
        zh or en.

    Returns
    -------
    str
        Which cards (marked ``*``) come from the registry and do not follow the filters.
    """
    if flt is None or flt.is_empty:
        return ""
    return i18n.t("registry_note", lang)


def cards_html(cards: Sequence[KpiCard], note: str = "") -> str:
    """The cards as one escaped HTML block (``PAGE_CSS`` styles it).

    Parameters
    ----------
    cards
        The cards (``kpi_cards``).
    note
        The note under the cards; with a note, registry cards carry a ``*``.

    Returns
    -------
    str
        ``<div class="om-kpis">…</div>``, every text escaped.
    """
    parts = ['<div class="om-kpis">']
    for c in cards:
        mark = "<sup>*</sup>" if note and c.registry else ""
        unit = f'<span class="om-unit">{escape_html(c.unit)}</span>' if c.unit else ""
        long = len(c.number) + len(c.unit) >= LONG_VALUE_CHARS  # a smaller number, one line
        parts.append(
            f'<div class="om-kpi{" om-long" if long else ""}">'
            f'<div class="om-label">{escape_html(c.label)}{mark}</div>'
            f'<div class="om-value"><span class="om-num">{escape_html(c.number)}</span>{unit}</div>'
            "</div>"
        )
    parts.append("</div>")
    if note:
        parts.append(f'<div class="om-note">* {escape_html(note)}</div>')
    return "".join(parts)


#: a card whose number and unit have this many characters or more (``1,921.64亿元``) draws the
#: number smaller, so it keeps one line beside six other cards at 1440 px
LONG_VALUE_CHARS = 9

PAGE_CSS = """
<style>
.om-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr));
  gap: 0.5rem; margin: 0.25rem 0 0.5rem 0; }
.om-kpi { border: 1px solid rgba(49, 51, 63, 0.15); border-radius: 0.5rem;
  padding: 0.45rem 0.7rem; min-width: 0; }
.om-label { font-size: 0.85rem; color: rgba(49, 51, 63, 0.75); line-height: 1.3; }
.om-value { font-size: clamp(1.15rem, 1.9vw, 1.9rem); font-weight: 600; line-height: 1.2;
  overflow-wrap: anywhere; }
.om-long .om-value { font-size: clamp(1rem, 1.3vw, 1.5rem); }
.om-unit { font-size: 0.62em; font-weight: 500; margin-left: 0.12em; white-space: nowrap; }
.om-note { font-size: 0.8rem; color: rgba(49, 51, 63, 0.7); margin-bottom: 0.4rem; }
/* Streamlit's own st.metric (library, route map, village, zones pages): never "24.37…" —
   the value shrinks with the window and wraps rather than losing its unit */
[data-testid="stMetricValue"] { font-size: clamp(1.1rem, 1.75vw, 2.25rem); }
[data-testid="stMetricValue"] > div, [data-testid="stMetricValue"] p,
[data-testid="stMetricLabel"] div, [data-testid="stMetricLabel"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .om-kpis { grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 0.25rem; }
  .om-kpi { padding: 0.2rem 0.3rem; border-radius: 0.3rem; }
  .om-label { font-size: 0.62rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .om-value { font-size: 0.95rem; }
  .om-long .om-value { font-size: 0.8rem; }
  .om-kpi:last-child { grid-column: span 2; }
  h1 { font-size: 1.6rem !important; padding: 0.25rem 0 !important; }
}
@page { size: A4 landscape; margin: 6mm 8mm; }
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stBottom"], .stDeployButton,
  [data-testid="stMain"] [data-testid="stElementContainer"]:not(:has(h1, .om-kpis, iframe)),
  [data-testid="stMain"] [data-testid="stLayoutWrapper"]:not(:has(h1, .om-kpis, iframe)) {
    display: none !important; }
  .stMain, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
    overflow: visible !important; }
  .block-container, [data-testid="stMainBlockContainer"] { padding: 0 !important;
    max-width: 100% !important; }
  h1 { font-size: 16pt !important; padding: 0 0 1mm 0 !important; margin: 0 !important; }
  [data-testid="stVerticalBlock"] { gap: 0 !important; }
  .om-kpis { margin: 0 0 3mm 0 !important; }
  .om-kpis { grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 2mm; }
  .om-value, .om-long .om-value { font-size: 13pt; }
  iframe[title="streamlit_folium.st_folium"] { width: 100% !important; break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
"""
