"""The small print of exported maps and packs: filter, data date and source, generated time.

In the request's language: the filter described in Chinese or English, the store's data credit
(the demo store's and the words OneMap adds for imports translated; an office's own words stay)
and the build date (未知 / unknown when the store has none).
"""

from __future__ import annotations

import datetime as dt

from layers import schema as S
from layers.demo.generate import DEMO_SOURCE
from layers.export.snapshot import MapRequest, Snapshot, zone_name
from layers.present import i18n, query

__all__ = ["built_date", "filter_words_en", "footer_lines", "source_words"]


def built_date(info: dict[str, str], lang: str = "zh") -> str:
    """The store's build date (``YYYY-MM-DD``) from its build info, or 未知 / unknown.

    Parameters
    ----------
    info
        The store's build info.
    lang
        ``"zh"`` or ``"en"``: the word for no date.

    Returns
    -------
    str
        The date.
    """
    built = info.get("built_at", "")
    return built[:10] if built else i18n.t("date_unknown", lang)


def footer_lines(
    snap: Snapshot, request: MapRequest, *, now: dt.datetime | None = None
) -> tuple[str, ...]:
    """Filter line, source and data date, generated time (the map's small print).

    Parameters
    ----------
    snap
        The store snapshot (its build info).
    request
        The view (its filter and zone).
    now
        The generated time (default: now, UTC).

    Returns
    -------
    tuple of str
        Three lines: filter, data date and source, generated time and OneMap version.
    """
    now = now or dt.datetime.now(dt.UTC)
    lang = request.lang
    flt = request.flt.describe_zh() if lang == "zh" else filter_words_en(request.flt)
    if request.zone:
        flt += i18n.t("map_zone", lang, zone=zone_name(request.zone, lang))
    source = source_words(snap.build_info.get("source", ""), lang)
    version = snap.build_info.get("onemap_version", "")
    return (
        i18n.t("map_filter", lang, filters=flt),
        i18n.t("map_source", lang, date=built_date(snap.build_info, lang), source=source),
        i18n.t("map_generated", lang, time=f"{now:%Y-%m-%d %H:%M}", version=version).rstrip(),
    )


def source_words(source: str, lang: str) -> str:
    """A store's data credit in ``lang``: the demo store's credit and the words OneMap adds
    for imports (``… + 导入 file.csv``) in that language; the office's own words stay.

    Parameters
    ----------
    source
        The ``source`` of the store's build info ("" for none).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The credit, e.g. ``"Demo data: … + imported a.csv"``.
    """
    if not source:
        return i18n.t("source_default", lang)
    parts = source.split(" + 导入 ")
    if parts[0].startswith("导入 "):
        parts = ["", *[parts[0].removeprefix("导入 "), *parts[1:]]]
    head = i18n.t("demo_source", lang) if parts[0] == DEMO_SOURCE else parts[0]
    imported = [i18n.t("source_imported", lang, names=p) for p in parts[1:]]
    return " + ".join([head, *imported] if head else imported)


def filter_words_en(flt: query.ProjectFilter) -> str:
    """The filter in English (``Sector: Industry; Plan years: 2016–2020``) or All projects."""
    parts = []
    for key, kind, codes in (
        ("sector", S.SECTOR, flt.sectors),
        ("status", S.STATUS, flt.statuses),
        ("fund_source", S.FUND_SOURCE, flt.fund_sources),
    ):
        if codes:
            parts.append(
                f"{i18n.t(key, 'en')}: " + ", ".join(i18n.label(kind, c, "en") for c in codes)
            )
    if flt.years:
        parts.insert(
            1 if flt.sectors else 0, f"{i18n.t('years', 'en')}: {flt.years[0]}–{flt.years[1]}"
        )
    return "; ".join(parts) if parts else i18n.t("all_projects", "en")
