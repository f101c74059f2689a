"""The dashboard's view state: a ``ViewState`` that round-trips through the URL query string.

``current_view()`` returns the view of this run: the one the sidebar wrote to the session
(``app.py`` draws the sidebar before the page runs), else the one parsed from the URL.
``set_region(code)`` and ``set_view(...)`` move the view; both are safe in widget callbacks.
Every view is a browser history entry: the sidebar writes the view to the URL, which Streamlit
pushes onto the history, and remembers what it wrote (``remember_url``). The browser's
Back/Forward reruns the app with that entry's URL; a URL that is not the one last written
(``url_moved()``) then wins over the session's view.
A query parameter that is malformed or out of range (``?years=9999999999999999999,1``,
``?region=abc``, ``?metric=x``) falls back to its default; ``url_notices()`` names the
parameters that were ignored so the page can say so.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import streamlit as st

from layers import schema as S
from layers.present import i18n, query, view
from layers.settings import CAMPAIGN_YEARS, EXIT_YEAR_RANGE

__all__ = [
    "BASEMAPS",
    "LANGS",
    "LEVEL_KEYS",
    "NONE",
    "PLAN_YEAR_BOUNDS",
    "SIDEBAR_KEYS",
    "VIEW_KEY",
    "ViewState",
    "ancestors",
    "current_lang",
    "current_view",
    "dumps_state",
    "parse_query_params",
    "project_filter",
    "remember_url",
    "set_region",
    "set_view",
    "url_moved",
    "url_notices",
]

BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "amap")
LANGS: tuple[str, ...] = i18n.LANGS
PLAN_YEAR_BOUNDS: tuple[int, int] = CAMPAIGN_YEARS

#: session key of the view the sidebar wrote in this session
VIEW_KEY = "onemap_view"
#: session key of the query parameters ignored when the view was read from the URL
NOTICES_KEY = "onemap_url_notices"
#: the query parameters a view reads (URL name → ViewState field)
_PARAMS: tuple[str, ...] = (
    "page",
    "region",
    "zone",
    "sectors",
    "years",
    "statuses",
    "funds",
    "metric",
    "basemap",
    "lang",
    "zones",
    "fixed",
    "year",
)
_MAX_PARAM_CHARS = 200
#: session keys of the sidebar's widgets (region selectors per level, filters, map options)
SIDEBAR_KEYS: dict[str, str] = {
    "prefecture": "sb_prefecture",
    "county": "sb_county",
    "township": "sb_township",
    "village": "sb_village",
    "zone": "sb_zone",
    "sectors": "sb_sectors",
    "years": "sb_years",
    "statuses": "sb_statuses",
    "fund_sources": "sb_fund_sources",
    "metric": "sb_metric",
    "basemap": "sb_basemap",
    "lang": "sb_lang",
    "show_zones": "sb_show_zones",
    "breaks_from": "sb_breaks_from",
}
NONE = ""  # the "all" option of a region selector
#: the levels of the sidebar's region cascade, top down
LEVEL_KEYS: tuple[str, ...] = ("prefecture", "county", "township", "village")


def _split(value: Any) -> tuple[str, ...]:
    """Query-param list value → tuple of non-empty strings (accepts 'a,b' or ['a', 'b'])."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[str] = []
    for item in items:
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    return tuple(out)


def _one(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _truthy(value: Any, default: bool) -> bool:
    s = _one(value)
    if s is None:
        return default
    return s.lower() in ("1", "true", "yes", "on")


def _region(value: Any, default: str) -> str:
    region = _one(value)
    try:
        return S.pad_code(region) if region else default
    except ValueError:
        return default


def _years(value: Any) -> tuple[int, int] | None:
    """``"2016,2018"`` → (2016, 2018) when both lie in :data:`PLAN_YEAR_BOUNDS`, else None."""
    yr = _split(value)
    if len(yr) == 2 and all(y.isdigit() and len(y) <= 4 for y in yr):
        lo, hi = sorted((int(yr[0]), int(yr[1])))
        if PLAN_YEAR_BOUNDS[0] <= lo and hi <= PLAN_YEAR_BOUNDS[1]:
            return (lo, hi)
    return None


def _year(value: Any) -> int | None:
    """The route map's year when it lies in :data:`EXIT_YEAR_RANGE`, else None."""
    s = _one(value)
    if s and s.isdigit() and len(s) <= 4 and EXIT_YEAR_RANGE[0] <= int(s) <= EXIT_YEAR_RANGE[1]:
        return int(s)
    return None


def _flag(value: bool, default: bool) -> str | None:
    """``"1"``/``"0"`` for a flag that differs from its default, else None (left out)."""
    return None if value == default else ("1" if value else "0")


def _breaks_from(qp: Mapping[str, Any]) -> str:
    """``breaks=`` (one of ``view.BREAK_SOURCES``); an old link's ``fixed=1|0`` reads as
    province-wide or filtered breaks."""
    if _one(qp.get("breaks")) is None and _one(qp.get("fixed")) is not None:
        return view.BREAKS_PROVINCE if _truthy(qp.get("fixed"), True) else view.BREAKS_FILTERED
    return _choice(qp.get("breaks"), view.BREAK_SOURCES, view.BREAKS_VIEW)


def _choice(value: Any, choices: tuple[str, ...], default: str) -> str:
    s = _one(value)
    return s if s in choices else default


@dataclasses.dataclass(frozen=True)
class ViewState:
    """The whole view of the dashboard; round-trips through the URL query string.

    ``region`` is a 12-digit code (the province by default); ``years`` the inclusive
    plan-year range or None (all years); the tuples are empty for "no filter".
    """

    page: str = "overview"
    region: str = S.PROVINCE_CODE
    zone: str | None = None
    sectors: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    statuses: tuple[str, ...] = ()
    fund_sources: tuple[str, ...] = ()
    metric: str = S.COMPLETION
    basemap: str = "none"
    lang: str = "zh"
    show_zones: bool = True
    breaks_from: str = view.BREAKS_VIEW  # where class breaks come from (``view.BREAK_SOURCES``)
    year: int | None = None  # 乡级路线图's year slider (URL ``year=``); None = the last year

    @property
    def level(self) -> str:
        """Level of the selected region (province, prefecture, county, township, village)."""
        return S.level_of(self.region)

    @property
    def filters_active(self) -> bool:
        """True when any project filter (not the region) narrows the data."""
        return bool(self.zone or self.sectors or self.years or self.statuses or self.fund_sources)

    @classmethod
    def from_query_params(cls, qp: Mapping[str, Any]) -> ViewState:
        """Parse query params (``st.query_params.to_dict()`` or lists); ignore unknown values.

        A malformed value falls back to the default instead of failing: a link typed by hand
        must still open the dashboard.
        """
        d = cls()
        qp = {k: v for k, v in qp.items() if len(str(v)) <= _MAX_PARAM_CHARS}
        year = qp.get("year")
        return cls(
            page=_one(qp.get("page")) or d.page,
            region=_region(qp.get("region"), d.region),
            zone=_one(qp.get("zone")),
            sectors=tuple(s for s in _split(qp.get("sectors")) if s in S.SECTORS),
            years=_years(qp.get("years")),
            statuses=tuple(s for s in _split(qp.get("statuses")) if s in S.STATUSES),
            fund_sources=tuple(s for s in _split(qp.get("funds")) if s in S.FUND_SOURCES),
            metric=_choice(qp.get("metric"), S.METRICS, d.metric),
            basemap=_choice(qp.get("basemap"), BASEMAPS, d.basemap),
            lang=_choice(qp.get("lang"), LANGS, d.lang),
            show_zones=_truthy(qp.get("zones"), d.show_zones),
            breaks_from=_breaks_from(qp),
            year=_year(year),
        )

    def to_query_params(self) -> dict[str, str]:
        """Query params holding every non-default field (the page itself is the URL path)."""
        d = ViewState()
        fields: dict[str, str | None] = {
            "region": self.region if self.region != d.region else None,
            "zone": self.zone,
            "sectors": ",".join(self.sectors),
            "years": f"{self.years[0]},{self.years[1]}" if self.years else None,
            "statuses": ",".join(self.statuses),
            "funds": ",".join(self.fund_sources),
            "metric": self.metric if self.metric != d.metric else None,
            "basemap": self.basemap if self.basemap != d.basemap else None,
            "lang": self.lang if self.lang != d.lang else None,
            "zones": _flag(self.show_zones, d.show_zones),
            "breaks": self.breaks_from if self.breaks_from != d.breaks_from else None,
            "year": str(self.year) if self.year is not None else None,
        }
        return {k: v for k, v in fields.items() if v}


def _kept(view: ViewState, key: str) -> str | None:
    """The value ``view`` gives URL parameter ``key`` (None when it is the default)."""
    return view.to_query_params().get(key)


def parse_query_params(qp: Mapping[str, Any]) -> tuple[ViewState, tuple[str, ...]]:
    """The view of query params ``qp`` and the names of the parameters it ignored.

    A parameter is ignored when its value is malformed, out of range or unknown (a year outside
    the campaign, a region that is no code, a metric or basemap that does not exist, a list
    item that is no sector/status/fund source): the view keeps the default instead.

    Parameters
    ----------
    qp
        Query params as ``st.query_params.to_dict()`` gives them (or lists).

    Returns
    -------
    tuple
        ``(view, ignored)``: the ViewState and the ignored parameter names, in URL order.
    """
    view = ViewState.from_query_params(qp)
    ignored = []
    for key, raw in qp.items():
        if key not in _PARAMS or key in ("page", "zone"):
            continue
        given = _split(raw) if key in ("sectors", "statuses", "funds") else _one(raw)
        if not given:
            continue
        kept = _kept(view, key)
        if key in ("sectors", "statuses", "funds"):
            ok = len(_split(kept)) == len(given)
        elif key in ("zones", "fixed"):
            ok = str(given).lower() in ("1", "true", "yes", "on", "0", "false", "no", "off")
        elif key == "region":
            ok = kept is not None or _region(raw, "") == view.region
        elif key == "years":
            ok = view.years is not None
        else:
            ok = kept is not None or given == getattr(ViewState(), key, None)
        if not ok or len(str(raw)) > _MAX_PARAM_CHARS:
            ignored.append(key)
    return view, tuple(ignored)


def url_notices() -> tuple[str, ...]:
    """Query parameters ignored when this session's view was read from the URL."""
    return tuple(st.session_state.get(NOTICES_KEY, ()))


#: session key: the query params the sidebar last wrote to the URL
URL_KEY = "onemap_url"


def remember_url(qp: Mapping[str, str]) -> None:
    """Record the query params the sidebar wrote to the URL in this run."""
    st.session_state[URL_KEY] = dict(qp)


def url_moved() -> bool:
    """True when the URL's query params are not the ones last written: the browser's Back or
    Forward button (or an edited address) asks for another view than the session's.

    Streamlit pushes a history entry whenever the query string changes, keeps the query string
    across page switches and, on ``popstate``, reruns the app with the entry's query string.
    """
    last = st.session_state.get(URL_KEY)
    return last is not None and st.query_params.to_dict() != last


def current_view(*, page: str | None = None) -> ViewState:
    """The ViewState of this run (set by the sidebar; parsed from the URL before that,
    and when the URL moved to another view: Back/Forward, until the sidebar has written it).

    ``page`` overrides the page (``app.py`` passes the navigation's current page).
    """
    view = st.session_state.get(VIEW_KEY)
    if not isinstance(view, ViewState) or url_moved():
        view, ignored = parse_query_params(st.query_params.to_dict())
        st.session_state[NOTICES_KEY] = ignored
    if page is not None and page != view.page:
        view = dataclasses.replace(view, page=page)
    return view


def current_lang() -> str:
    """The language chosen in the sidebar (before the sidebar is drawn: from the URL)."""
    lang = st.session_state.get(SIDEBAR_KEYS["lang"])
    return lang if lang in LANGS else current_view().lang


def ancestors(code: str) -> list[str]:
    """Codes from the province down to ``code`` (inclusive)."""
    level = S.level_of(code)
    chain = [S.truncate(code, lv) for lv in S.LEVELS[: S.LEVELS.index(level) + 1]]
    return list(dict.fromkeys(chain))


def set_region(code: str) -> None:
    """Move the view to region ``code`` (12-digit); safe inside widget/map callbacks."""
    view = dataclasses.replace(current_view(), region=S.pad_code(code))
    st.session_state[VIEW_KEY] = view
    chain = ancestors(view.region)
    for lv in LEVEL_KEYS:
        st.session_state[SIDEBAR_KEYS[lv]] = next((c for c in chain if S.level_of(c) == lv), NONE)


def set_view(**changes: Any) -> None:
    """Change fields of the view (e.g. ``year=2018``); safe inside widget callbacks."""
    st.session_state[VIEW_KEY] = dataclasses.replace(current_view(), **changes)


def project_filter(state: ViewState | None = None) -> query.ProjectFilter:
    """The view's project filters (sectors, years, statuses, fund sources) as a
    ``layers.present.query.ProjectFilter``; the region and the zone select units, not projects."""
    state = state or current_view()
    return query.ProjectFilter(
        sectors=state.sectors,
        years=state.years,
        statuses=state.statuses,
        fund_sources=state.fund_sources,
    )


def dumps_state(state: ViewState) -> str:
    """JSON of a view (for debugging and export metadata)."""
    return json.dumps(dataclasses.asdict(state), ensure_ascii=False)
