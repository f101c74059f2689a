"""Shared app layer of the dashboard: view state in the URL, cached store loaders, sidebar, UI text.

Every page builds on this module:

- ``current_view()`` returns the :class:`ViewState` of this run. ``app.py`` draws the shared
  sidebar once per run (``sidebar(state)``) *before* the page runs, so pages never call
  ``sidebar`` themselves (its widget keys would clash) — they call ``current_view()``.
- ``load_table(name)`` / ``load_admin_units()`` / ``load_projects()`` ... read store tables,
  cached on the store path and its modification time (a rebuilt store reloads).
- ``t(key)`` gives the UI string in the chosen language; ``demo_banner()`` marks demo data.
- ``project_filter(state)`` turns the view into a ``layers.query.ProjectFilter``.
- ``set_region(code)`` moves the view to another region (used by map clicks and breadcrumbs;
  safe inside widget callbacks).

Caching lives only here and in pages (``geo/`` and ``layers/`` never import streamlit).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from layers import schema as S
from layers import settings

# --------------------------------------------------------------------------------------
# view state (the whole view lives in the URL query string)
# --------------------------------------------------------------------------------------
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "amap")
LANGS: tuple[str, ...] = ("zh", "en")
PLAN_YEAR_BOUNDS: tuple[int, int] = (2014, 2020)


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
    fixed_breaks: bool = True
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
        region = _one(qp.get("region"))
        try:
            region = S.pad_code(region) if region else d.region
        except ValueError:
            region = d.region
        years: tuple[int, int] | None = None
        yr = _split(qp.get("years"))
        if len(yr) == 2 and all(y.isdigit() for y in yr):
            lo, hi = sorted((int(yr[0]), int(yr[1])))
            years = (lo, hi)
        metric = _one(qp.get("metric"))
        basemap = _one(qp.get("basemap"))
        lang = _one(qp.get("lang"))
        return cls(
            page=_one(qp.get("page")) or d.page,
            region=region,
            zone=_one(qp.get("zone")),
            sectors=tuple(s for s in _split(qp.get("sectors")) if s in S.SECTORS),
            years=years,
            statuses=tuple(s for s in _split(qp.get("statuses")) if s in S.STATUSES),
            fund_sources=tuple(s for s in _split(qp.get("funds")) if s in S.FUND_SOURCES),
            metric=metric if metric in S.METRICS else d.metric,
            basemap=basemap if basemap in BASEMAPS else d.basemap,
            lang=lang if lang in LANGS else d.lang,
            show_zones=_truthy(qp.get("zones"), d.show_zones),
            fixed_breaks=_truthy(qp.get("fixed"), d.fixed_breaks),
            year=int(y) if (y := _one(qp.get("year"))) and y.isdigit() else None,
        )

    def to_query_params(self) -> dict[str, str]:
        """Query params holding every non-default field (the page itself is the URL path)."""
        d = ViewState()
        out: dict[str, str] = {}
        if self.region != d.region:
            out["region"] = self.region
        if self.zone:
            out["zone"] = self.zone
        if self.sectors:
            out["sectors"] = ",".join(self.sectors)
        if self.years:
            out["years"] = f"{self.years[0]},{self.years[1]}"
        if self.statuses:
            out["statuses"] = ",".join(self.statuses)
        if self.fund_sources:
            out["funds"] = ",".join(self.fund_sources)
        if self.metric != d.metric:
            out["metric"] = self.metric
        if self.basemap != d.basemap:
            out["basemap"] = self.basemap
        if self.lang != d.lang:
            out["lang"] = self.lang
        if self.show_zones != d.show_zones:
            out["zones"] = "1" if self.show_zones else "0"
        if self.fixed_breaks != d.fixed_breaks:
            out["fixed"] = "1" if self.fixed_breaks else "0"
        if self.year is not None:
            out["year"] = str(self.year)
        return out


_VIEW_KEY = "onemap_view"


def _sidebar_drawn_this_run() -> bool:
    """True when ``sidebar`` already ran in this script run (or when that cannot be known)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None:
            return True
        return _K["metric"] in ctx.shared.widget_user_keys_this_run
    except Exception:  # internal API moved: assume app.py drew it
        return True


def _leave_legacy_pages_mode() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file directly.

    Next to a ``pages/`` folder Streamlit starts in its legacy multipage mode and keeps it
    until ``st.navigation`` is called: a fresh server opened at ``/roadmap?region=...`` would
    run the page alone, with a navigation listing every file of ``pages/``. Switching the flag
    off and rerunning executes ``app.py``, whose ``st.navigation`` opens the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # internal API moved: keep the fallback sidebar
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_view(*, page: str | None = None, draw: bool = True) -> ViewState:
    """The ViewState of this run (set by ``sidebar``; parsed from the URL before that).

    ``page`` overrides the page (``app.py`` passes the navigation's current page). A page run
    without ``app.py`` (Streamlit's legacy ``pages/`` mode: AppTest reruns, or a fresh server
    opened at a page URL) gets the shared sidebar and demo banner drawn here, unless
    ``draw=False``.
    """
    if draw and not _sidebar_drawn_this_run():
        _leave_legacy_pages_mode()
        ensure_offline_assets()
        view = sidebar(current_view(page=page, draw=False))
        demo_banner()
        return view
    view = st.session_state.get(_VIEW_KEY)
    if not isinstance(view, ViewState):
        view = ViewState.from_query_params(st.query_params.to_dict())
    if page is not None and page != view.page:
        view = dataclasses.replace(view, page=page)
    return view


def current_lang() -> str:
    """The language chosen in the sidebar (before the sidebar is drawn: from the URL)."""
    lang = st.session_state.get(_K["lang"])
    return lang if lang in LANGS else current_view(draw=False).lang


# --------------------------------------------------------------------------------------
# UI text (Chinese first)
# --------------------------------------------------------------------------------------
TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("脱贫攻坚精准指挥“一张图”", "Poverty alleviation OneMap"),
    "overview": ("总览", "Overview"),
    "library": ("县级项目库", "County project library"),
    "roadmap": ("乡级路线图", "Township route map"),
    "village": ("村级施工图", "Village construction plan"),
    "zones": ("重点区域", "Priority zones"),
    "quality": ("数据质量", "Data quality"),
    "import_data": ("数据导入", "Data import"),
    "export": ("导出", "Export"),
    "region": ("区域", "Region"),
    "prefecture": ("州/市", "Prefecture"),
    "county": ("县/市/区", "County"),
    "township": ("乡/镇", "Township"),
    "village_level": ("行政村", "Village"),
    "all": ("全部", "All"),
    "province": ("云南省", "Yunnan"),
    "zone": ("重点区域", "Zone"),
    "sector": ("行业", "Sector"),
    "years": ("计划年度", "Plan years"),
    "status": ("项目状态", "Status"),
    "fund_source": ("资金来源", "Fund source"),
    "metric": ("地图指标", "Map metric"),
    "basemap": ("底图", "Basemap"),
    "language": ("语言 / Language", "语言 / Language"),
    "show_zones": ("显示重点区域边界", "Show zone outlines"),
    "fixed_breaks": ("分级固定（不随筛选变化）", "Fixed class breaks (ignore filters)"),
    "filters": ("筛选", "Filters"),
    "basemap_none": ("无底图（离线）", "None (offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
    "basemap_amap": ("高德地图", "Amap (GCJ-02)"),
    "demo_banner": (
        "演示数据：本页显示的是程序生成的模拟数据，并非真实台账。",
        "Demo data: this page shows generated data, not a real ledger.",
    ),
    "building_demo": ("正在生成演示数据库（首次启动约需一分钟）……", "Building the demo store…"),
    "store_missing": ("未找到数据库：", "Store not found: "),
    "projects": ("项目数", "Projects"),
    "completion": ("完工率", "Completion"),
    "coverage": ("覆盖率", "Coverage"),
    "funds_planned": ("计划资金", "Funds planned"),
    "funds_spent": ("已支出资金", "Funds spent"),
    "poor_population": ("建档立卡贫困人口", "Registered poor population"),
    "plans": ("项目库/路线图/施工图", "Libraries / route maps / plans"),
    "breadcrumb": ("当前位置", "You are here"),
    "no_data": ("该区域无数据", "No data for this region"),
    "click_hint": ("点击地图上的区域可进入下一级。", "Click a region on the map to open it."),
    "legend": ("图例", "Legend"),
    "projects_layer": ("项目点", "Projects"),
    "zones_layer": ("重点区域", "Zones"),
    "name": ("名称", "Name"),
    "responsible_unit": ("责任单位", "Responsible unit"),
    "wan_yuan": ("万元", "10k yuan"),
}


def t(key: str, lang: str | None = None) -> str:
    """UI string for ``key`` in ``lang`` (default: the current view's language)."""
    lang = lang or current_lang()
    zh, en = TEXT.get(key, (key, key))
    return en if lang == "en" else zh


def metric_label(metric: str, lang: str | None = None) -> str:
    """Label of a metric in the chosen language."""
    lang = lang or current_lang()
    labels = S.METRIC_LABELS_EN if lang == "en" else S.METRIC_LABELS_ZH
    return labels.get(metric, metric)


def fmt_number(value: float | int | None, *, unit: str = "") -> str:
    """Chinese-style number: 1.23亿 / 4.5万 / 123 (NaN → '—')."""
    if value is None or pd.isna(value):
        return "—"
    v = float(value)
    if abs(v) >= 1e8:
        s = f"{v / 1e8:,.2f}亿"
    elif abs(v) >= 1e4:
        s = f"{v / 1e4:,.1f}万"
    elif v == int(v):
        s = f"{int(v):,}"
    else:
        s = f"{v:,.1f}"
    return s + unit


def fmt_funds(wan: float | None) -> str:
    """Funds given in 万元 → '12.3亿元' / '4,567万元'."""
    if wan is None or pd.isna(wan):
        return "—"
    v = float(wan)
    if abs(v) >= 1e4:
        return f"{v / 1e4:,.2f}亿元"
    return f"{v:,.0f}万元"


def fmt_pct(rate: float | None) -> str:
    """Fraction 0..1 → '97.7%' (NaN → '—')."""
    if rate is None or pd.isna(rate):
        return "—"
    return f"{float(rate) * 100:.1f}%"


# --------------------------------------------------------------------------------------
# cached store loaders (keyed on the store path and its modification time)
# --------------------------------------------------------------------------------------
def store_file() -> Path:
    """The store path: ``$ONEMAP_STORE``, else ``data/onemap.gpkg``."""
    return settings.store_path()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return -1.0


def _read(path: str, name: str) -> pd.DataFrame:
    """Read one store table through ``layers.store`` (fallback: pyogrio directly)."""
    try:
        from layers import store  # written by the foundation; may not exist yet
    except ImportError:
        store = None
    if store is not None and hasattr(store, "read_layer"):
        return store.read_layer(path, name)
    import pyogrio

    return pyogrio.read_dataframe(path, layer=name)


@st.cache_resource(show_spinner=False, max_entries=32)
def _cached_table(path: str, name: str, mtime: float) -> pd.DataFrame:
    # cache_resource: no pickling copy per call (192,000 projects); callers must not mutate
    del mtime  # part of the cache key only
    return _read(path, name)


def load_table(name: str, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """A store table or layer (shared, read-only: copy before changing it)."""
    p = settings.store_path(path)
    return _cached_table(str(p), name, _mtime(p))


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_units_where(path: str, mtime: float, where: str) -> pd.DataFrame:
    del mtime
    from layers import store

    return store.read_layer(path, S.LAYER_ADMIN_UNITS, where=where)


def units_by_code(codes: Sequence[str], path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``admin_units`` rows (with geometry) of the given 12-digit codes only."""
    clean = sorted({S.pad_code(c) for c in codes})
    if not clean:
        return load_admin_units(path).iloc[:0]
    p = settings.store_path(path)
    where = f"{S.CODE} IN ({', '.join(repr(c) for c in clean)})"
    return _cached_units_where(str(p), _mtime(p), where)


def units_of_level(level: str, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``admin_units`` rows (with geometry) of one level (avoid for villages: 14,000 rows)."""
    if level not in S.LEVELS:
        raise ValueError(f"`level` was {level!r} but must be one of {S.LEVELS}")
    p = settings.store_path(path)
    return _cached_units_where(str(p), _mtime(p), f"{S.LEVEL} = '{level}'")


def load_admin_units(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``admin_units`` (GeoDataFrame, all levels)."""
    return load_table(S.LAYER_ADMIN_UNITS, path)


def load_projects(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``projects`` (GeoDataFrame of points; 192,000 rows at full scale)."""
    return load_table(S.LAYER_PROJECTS, path)


def load_region_summary(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``region_summary`` (every unit with counts and rates)."""
    return load_table(S.TABLE_REGION_SUMMARY, path)


@st.cache_data(show_spinner=False)
def _cached_units_index(path: str, mtime: float) -> pd.DataFrame:
    del mtime
    import pyogrio

    cols = [S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE]
    # attributes only: reading every village polygon for the selectors costs ~0.4 s
    units = pyogrio.read_dataframe(
        path, layer=S.LAYER_ADMIN_UNITS, columns=cols, read_geometry=False, use_arrow=True
    )
    for c in cols:
        units[c] = units[c].astype("str")
    return pd.DataFrame(units[cols]).sort_values(S.CODE).reset_index(drop=True)


def units_index(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Codes, names, levels and parents of every unit (no geometry): for selectors."""
    p = settings.store_path(path)
    return _cached_units_index(str(p), _mtime(p))


@st.cache_data(show_spinner=False)
def _cached_build_info(path: str, mtime: float) -> dict[str, str]:
    del mtime
    try:
        df = _read(path, S.TABLE_BUILD_INFO)
    except Exception:  # a store without build_info is treated as real data
        return {}
    return dict(zip(df["key"].astype(str), df["value"].astype(str), strict=False))


def build_info(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The store's ``build_info`` as a dict (empty if the table is missing)."""
    p = settings.store_path(path)
    return _cached_build_info(str(p), _mtime(p))


def is_demo() -> bool:
    """True when the store holds generated demo data."""
    return build_info().get("demo", "").lower() == "true"


def demo_banner() -> None:
    """Show the demo-data warning when the store is the generated demo (every page)."""
    if is_demo():
        st.warning(t("demo_banner"), icon=":material/science:")


def unit_name(code: str, lang: str | None = None) -> str:
    """Name of a unit by its code (the province label for the province)."""
    if code == S.PROVINCE_CODE:
        return t("province", lang)
    idx = units_index()
    hit = idx.loc[idx[S.CODE] == code, S.NAME]
    return str(hit.iloc[0]) if len(hit) else code


def ancestors(code: str) -> list[str]:
    """Codes from the province down to ``code`` (inclusive)."""
    level = S.level_of(code)
    chain = [S.truncate(code, lv) for lv in S.LEVELS[: S.LEVELS.index(level) + 1]]
    return list(dict.fromkeys(chain))


def zone_names() -> list[str]:
    """Zone names from ``zone_summary`` (else from ``layers.zones``)."""
    try:
        zs = load_table(S.TABLE_ZONE_SUMMARY)
        return [str(z) for z in zs[S.ZONE].tolist()]
    except Exception:
        try:
            from layers.build import zones as zones_mod

            return list(zones_mod.load_zones())
        except Exception:
            return []


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_prepared(path: str, mtime: float) -> pd.DataFrame:
    from layers.build import metrics

    return metrics.prepare_projects(_cached_table(path, S.LAYER_PROJECTS, mtime))


def prepared_projects(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Projects prepared once by ``layers.metrics.prepare_projects`` (for ``layers.query``)."""
    p = settings.store_path(path)
    return _cached_prepared(str(p), _mtime(p))


_WARM_LOCK = threading.Lock()
_warmed: set[tuple[str, float]] = set()


def warm_up() -> None:
    """Load the projects in a background thread once per store version, so the first filter
    change does not pay for reading them (call after the first view is drawn)."""
    p = store_file()
    key = (str(p), _mtime(p))
    with _WARM_LOCK:
        if key in _warmed or key[1] < 0:
            return
        _warmed.add(key)
    threading.Thread(target=_cached_prepared, args=key, name="onemap-warm-up", daemon=True).start()


@st.cache_data(show_spinner=False)
def _cached_zone_members(path: str, mtime: float) -> pd.DataFrame:
    try:
        from layers.build import zones as zones_mod
    except ImportError:
        return pd.DataFrame({S.ZONE: [], S.CODE: []}, dtype="str")
    from layers.errors import OneMapError

    units = _cached_units_index(path, mtime)  # codes, levels and parents suffice
    zones = zones_mod.load_zones()
    try:
        return zones_mod.zone_members(zones, units)
    except OneMapError:
        # a store whose units lack some members (a small or partial province): keep the
        # zones that it holds entirely
        parts = []
        for name, zone in zones.items():
            try:
                parts.append(zones_mod.zone_members({name: zone}, units))
            except OneMapError:
                continue
        if not parts:
            return pd.DataFrame({S.ZONE: [], S.CODE: []}, dtype="str")
        return pd.concat(parts, ignore_index=True)


def zone_members(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """County codes of each action-plan zone (``zone, code``), empty if zones are unknown."""
    p = settings.store_path(path)
    return _cached_zone_members(str(p), _mtime(p))


# --------------------------------------------------------------------------------------
# start-up: offline map assets and the store
# --------------------------------------------------------------------------------------
STATIC_DIR: Path = settings.PROJECT_ROOT / "static" / "leaflet"


@st.cache_resource(show_spinner=False)
def _write_assets(static_dir: str) -> tuple[str, ...]:
    from geo import webmap

    return tuple(str(p) for p in webmap.write_offline_assets(static_dir))


def ensure_offline_assets() -> None:
    """Write Leaflet's scripts and styles under ``static/leaflet/`` once per server."""
    _write_assets(str(STATIC_DIR))


def asset_base_url() -> str | None:
    """URL prefix of the local Leaflet assets, or None when static serving is off.

    None makes ``geo.webmap`` inline the assets as data: URLs (still offline, but heavier).
    """
    if not st.get_option("server.enableStaticServing"):
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/leaflet/" if base else "/app/static/leaflet/"


def ensure_store() -> bool:
    """Make sure the store exists; build the demo store with a progress bar if it does not.

    Returns True when the store is ready. The demo scale is ``$ONEMAP_DEMO_SCALE`` (default 1).
    """
    path = store_file()
    if path.exists():
        return True
    lang = current_lang()
    notice = st.empty()  # the notice and progress bar go away once the store is built
    box = notice.container()
    box.info(f"{t('store_missing', lang)}`{path}`")
    try:
        from layers.build import pipeline
    except ImportError as e:
        st.error(f"{t('store_missing', lang)}{path} — run `onemap demo` ({e})")
        return False
    scale = float(os.environ.get("ONEMAP_DEMO_SCALE", "1"))
    stages = pipeline.DEMO_RUN_STAGES
    bar = box.progress(0.0, text=t("building_demo", lang))

    def report(stage: str) -> None:
        i = stages.index(stage) if stage in stages else 0
        bar.progress(i / len(stages), text=f"{t('building_demo', lang)} · {stage}")

    pipeline.run_demo(path, seed=settings.DEFAULT_SEED, scale=scale, progress=report)
    notice.empty()
    st.cache_resource.clear()
    st.cache_data.clear()
    return True


# --------------------------------------------------------------------------------------
# sidebar (cascading region selectors + filters), synced with map clicks
# --------------------------------------------------------------------------------------
_K = {
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
    "fixed_breaks": "sb_fixed_breaks",
}
_NONE = ""  # the "all" option of a region selector
_LEVEL_KEYS = ("prefecture", "county", "township", "village")


def _seed_widgets(state: ViewState) -> None:
    """Write ``state`` into the sidebar widget keys (before widgets exist, or in a callback)."""
    chain = ancestors(state.region)
    for lv in _LEVEL_KEYS:
        code = next((c for c in chain if S.level_of(c) == lv), _NONE)
        st.session_state[_K[lv]] = code
    st.session_state[_K["zone"]] = state.zone or _NONE
    st.session_state[_K["sectors"]] = list(state.sectors)
    st.session_state[_K["years"]] = state.years or PLAN_YEAR_BOUNDS
    st.session_state[_K["statuses"]] = list(state.statuses)
    st.session_state[_K["fund_sources"]] = list(state.fund_sources)
    st.session_state[_K["metric"]] = state.metric
    st.session_state[_K["basemap"]] = state.basemap
    st.session_state[_K["lang"]] = state.lang
    st.session_state[_K["show_zones"]] = state.show_zones
    st.session_state[_K["fixed_breaks"]] = state.fixed_breaks


def set_region(code: str) -> None:
    """Move the view to region ``code`` (12-digit); safe inside widget/map callbacks."""
    view = dataclasses.replace(current_view(draw=False), region=S.pad_code(code))
    st.session_state[_VIEW_KEY] = view
    chain = ancestors(view.region)
    for lv in _LEVEL_KEYS:
        st.session_state[_K[lv]] = next((c for c in chain if S.level_of(c) == lv), _NONE)


def set_view(**changes: Any) -> None:
    """Change fields of the view (e.g. ``year=2018``); safe inside widget callbacks."""
    st.session_state[_VIEW_KEY] = dataclasses.replace(current_view(draw=False), **changes)


def _clear_below(level: str) -> None:
    for lv in _LEVEL_KEYS[_LEVEL_KEYS.index(level) + 1 :]:
        st.session_state[_K[lv]] = _NONE


def _region_select(level: str, parent: str, label: str, lang: str) -> str:
    idx = units_index()
    kids = idx[(idx[S.LEVEL] == level) & (idx[S.PARENT_CODE] == parent)]
    options = [_NONE, *kids[S.CODE].tolist()]
    names = dict(zip(kids[S.CODE], kids[S.NAME], strict=True))
    if st.session_state.get(_K[level]) not in options:
        st.session_state[_K[level]] = _NONE
    return st.selectbox(
        label,
        options,
        key=_K[level],
        format_func=lambda c: names.get(c, t("all", lang)),
        on_change=_clear_below,
        args=(level,),
    )


def sidebar(state: ViewState | None = None) -> ViewState:
    """Draw the shared sidebar and return the resulting ViewState (also written to the URL).

    Called once per run by ``app.py``; ``state`` (default: parsed from the URL) seeds the
    widgets on the first run of a session. Pages read the result with ``current_view()``.
    """
    if state is None:
        state = current_view(draw=False)
    if _K["metric"] not in st.session_state:
        _seed_widgets(state)
    sb = st.sidebar
    with sb:
        lang = st.radio(
            t("language", "zh"),
            LANGS,
            key=_K["lang"],
            horizontal=True,
            format_func=lambda x: "中文" if x == "zh" else "English",
        )
        st.subheader(t("region", lang))
        region = S.PROVINCE_CODE
        labels = {
            "prefecture": t("prefecture", lang),
            "county": t("county", lang),
            "township": t("township", lang),
            "village": t("village_level", lang),
        }
        for lv in _LEVEL_KEYS:
            chosen = _region_select(lv, region, labels[lv], lang)
            if not chosen:
                _clear_below(lv)
                break
            region = chosen
        st.subheader(t("filters", lang))
        zones = zone_names()
        if st.session_state.get(_K["zone"]) not in [_NONE, *zones]:
            st.session_state[_K["zone"]] = _NONE
        zone = st.selectbox(
            t("zone", lang),
            [_NONE, *zones],
            key=_K["zone"],
            format_func=lambda z: z or t("all", lang),
        )
        sectors = st.multiselect(
            t("sector", lang),
            S.SECTORS,
            key=_K["sectors"],
            format_func=lambda s: S.SECTOR_LABELS_ZH[s] if lang == "zh" else s,
            placeholder=t("all", lang),
        )
        years = st.slider(
            t("years", lang),
            min_value=PLAN_YEAR_BOUNDS[0],
            max_value=PLAN_YEAR_BOUNDS[1],
            key=_K["years"],
        )
        statuses = st.multiselect(
            t("status", lang),
            S.STATUSES,
            key=_K["statuses"],
            format_func=lambda s: S.STATUS_LABELS_ZH[s] if lang == "zh" else s,
            placeholder=t("all", lang),
        )
        funds = st.multiselect(
            t("fund_source", lang),
            S.FUND_SOURCES,
            key=_K["fund_sources"],
            format_func=lambda s: S.FUND_SOURCE_LABELS_ZH[s] if lang == "zh" else s,
            placeholder=t("all", lang),
        )
        st.subheader(t("metric", lang))
        metric = st.selectbox(
            t("metric", lang),
            S.METRICS,
            key=_K["metric"],
            format_func=lambda m: metric_label(m, lang),
            label_visibility="collapsed",
        )
        basemap = st.selectbox(
            t("basemap", lang),
            BASEMAPS,
            key=_K["basemap"],
            format_func=lambda b: t(f"basemap_{b}", lang),
        )
        show_zones = st.checkbox(t("show_zones", lang), key=_K["show_zones"])
        fixed = st.checkbox(t("fixed_breaks", lang), key=_K["fixed_breaks"])
    yrs = tuple(int(y) for y in years)
    view = ViewState(
        page=state.page,
        region=region,
        zone=zone or None,
        sectors=tuple(sectors),
        years=None if yrs == PLAN_YEAR_BOUNDS else (yrs[0], yrs[1]),
        statuses=tuple(statuses),
        fund_sources=tuple(funds),
        metric=metric,
        basemap=basemap,
        lang=lang,
        show_zones=bool(show_zones),
        fixed_breaks=bool(fixed),
        year=state.year,
    )
    st.session_state[_VIEW_KEY] = view
    qp = view.to_query_params()
    if qp != st.query_params.to_dict():
        st.query_params.from_dict(qp)
    return view


# --------------------------------------------------------------------------------------
# filters for layers.query
# --------------------------------------------------------------------------------------
def project_filter(state: ViewState | None = None) -> Any:
    """The view's filters as a ``layers.query.ProjectFilter`` (region, zone, sectors, ...)."""
    from layers.present import query

    state = state or current_view()
    fields = {f.name for f in dataclasses.fields(query.ProjectFilter)}
    values: dict[str, Any] = {
        "region": state.region,
        "zone": state.zone,
        "sectors": state.sectors,
        "years": state.years,
        "statuses": state.statuses,
        "fund_sources": state.fund_sources,
    }
    return query.ProjectFilter(**{k: v for k, v in values.items() if k in fields})


def describe_filters(state: ViewState | None = None) -> str:
    """One-line human description of the active filters (for captions and exports)."""
    state = state or current_view()
    lang = state.lang
    parts: list[str] = [unit_name(state.region, lang)]
    if state.zone:
        parts.append(state.zone)
    if state.sectors:
        parts.append("、".join(S.SECTOR_LABELS_ZH[s] if lang == "zh" else s for s in state.sectors))
    if state.years:
        parts.append(f"{state.years[0]}–{state.years[1]}")
    if state.statuses:
        parts.append(
            "、".join(S.STATUS_LABELS_ZH[s] if lang == "zh" else s for s in state.statuses)
        )
    if state.fund_sources:
        parts.append(
            "、".join(S.FUND_SOURCE_LABELS_ZH[s] if lang == "zh" else s for s in state.fund_sources)
        )
    return " · ".join(parts)


# --------------------------------------------------------------------------------------
# page pieces shared by the map and table pages
# --------------------------------------------------------------------------------------
def text(zh: str, en: str) -> str:
    """Interface text in the view's language (Chinese first; data labels stay Chinese)."""
    return en if current_view(draw=False).lang == "en" else zh


def show_chart(where: Any, chart: Any, *, width: str = "stretch") -> None:
    """Draw an Altair figure in ``where`` (``st`` or a column), labelled in the view's language."""
    from layers.present import charts

    lang = current_view(draw=False).lang
    if lang == "zh":
        where.altair_chart(chart, width=width)
    else:
        where.vega_lite_chart(spec=charts.localise_spec(chart.to_dict(), lang), width=width)


@st.cache_data(ttl=300, show_spinner=False)
def _tiles_answer(basemap: str, token: str | None) -> bool:
    from geo import webmap

    return webmap.probe_tiles(basemap, token=token)


def basemap(view: ViewState) -> tuple[str, str | None]:
    """The basemap to draw and the 天地图 token: ``"none"`` (offline) with a warning when the
    chosen tile server needs a missing ``$TIANDITU_TOKEN`` or does not answer from this machine
    (checked every 5 minutes)."""
    token = os.environ.get("TIANDITU_TOKEN") or None
    if view.basemap == "none":
        return "none", None
    if view.basemap == "tianditu" and not token:
        st.warning(
            text(
                "天地图需要密钥：请设置环境变量 TIANDITU_TOKEN。已改用无底图（离线）。",
                "天地图 needs a key in $TIANDITU_TOKEN; showing no basemap (offline).",
            )
        )
        return "none", None
    if not _tiles_answer(view.basemap, token):
        st.warning(
            text(
                "底图服务器无响应（内网或离线），已改用无底图。",
                "The basemap's tile server does not answer (offline?); showing no basemap.",
            )
        )
        return "none", None
    return view.basemap, token


#: words of a unit picker per level: (label, none in the region, hint) as (zh, en) pairs
_PICKER_TEXT: dict[str, tuple[tuple[str, str], ...]] = {
    "county": (
        ("选择县（市、区）", "Choose a county"),
        ("所选区域内没有县级项目库。", "No county project library in this region."),
        (
            "也可在左侧边栏逐级选择州/市和县，或在总览地图上点击进入。",
            "Or pick prefecture and county in the sidebar, or click through the overview map.",
        ),
    ),
    "township": (
        ("选择乡（镇）", "Choose a township"),
        ("所选区域内没有乡级路线图。", "No township route map in this region."),
        (
            "可输入名称搜索；也可在左侧边栏逐级选择州/市、县和乡镇。",
            "Type to search, or pick prefecture, county and township in the sidebar.",
        ),
    ),
    "village": (
        ("选择行政村", "Choose a village"),
        ("所选区域内没有村级施工图。", "No village construction plan in this region."),
        (
            "可输入名称搜索；也可在左侧边栏逐级选择到行政村。",
            "Type to search, or pick down to the village in the sidebar.",
        ),
    ),
}


def unit_picker(
    view: ViewState, *, level: str, only: pd.Series, key: str, max_options: int | None = None
) -> str | None:
    """The unit of ``level`` the view is in, or a searchable picker of the units in ``only``
    inside the region (and the view's zone); picking one moves the view there.

    Returns None while nothing is picked (the picker, or a note, is on the page).
    """
    from layers.export import tables

    if S.LEVELS.index(view.level) >= S.LEVELS.index(level):
        return S.truncate(view.region, level)
    label, none_here, hint = _PICKER_TEXT[level]
    members = zone_members()
    zone_counties = members.loc[members[S.ZONE] == view.zone, S.CODE] if view.zone else None
    options = tables.unit_options(
        units_index(), level=level, within=view.region, only=only, counties=zone_counties
    )
    if options.empty:
        st.info(text(*none_here))
        return None
    if max_options is not None and len(options) > max_options:
        st.info(
            text(
                "数量较多：请先在左侧边栏选择州/市或县，再选择。",
                "Too many to list: pick a prefecture or county in the sidebar first.",
            )
        )
        return None
    labels = dict(zip(options[S.CODE], options["label"], strict=True))
    st.selectbox(
        text(*label),
        [None, *options[S.CODE]],
        format_func=lambda c: text("— 请选择 —", "— choose —") if c is None else labels[c],
        key=key,
        on_change=lambda: set_region(st.session_state[key]),
    )
    st.caption(text(*hint))
    return None


def page_unit(
    title: tuple[str, str],
    table_name: str,
    *,
    level: str,
    key: str,
    missing: tuple[str, str],
    max_options: int | None = None,
) -> tuple[ViewState, pd.DataFrame | None]:
    """Preamble of a one-unit page: the title (zh, en), then the unit of ``level`` the view is
    in (else a ``unit_picker`` over the codes of the store table ``table_name``).

    Returns the view and the unit's one-row frame of that table; None (with the picker, or the
    note ``missing`` after the unit's name when the table has no row for it) when there is
    nothing to draw.
    """
    view = current_view()
    st.title(text(*title))
    table = load_table(table_name)
    code = unit_picker(view, level=level, only=table[S.CODE], key=key, max_options=max_options)
    if code is None:
        return view, None
    hit = table[table[S.CODE].eq(code).to_numpy()]
    if hit.empty:
        st.info(f"{unit_name(code)} " + text(*missing))
        return view, None
    return view, hit


def project_points_layer(
    projects: pd.DataFrame,
    basemap_name: str,
    *,
    colors: Any,
    status: Any = None,
    cluster: bool,
) -> Any:
    """Projects as circle markers with the standard popup (name, sector, status, funds planned,
    responsible unit); ``status`` (one text per row) defaults to the projects' status labels."""
    from geo import webmap
    from layers.present import fmt

    status_text = (
        projects[S.STATUS].map(S.STATUS_LABELS_ZH).to_numpy() if status is None else status
    )
    pts = webmap.to_basemap_crs(projects, basemap_name).assign(
        sector_zh=projects[S.SECTOR].map(S.SECTOR_LABELS_ZH).to_numpy(),
        status_zh=status_text,
        funds_text=fmt.fmt_wan_yuan_series(projects[S.FUNDS_PLANNED]).to_numpy(),
    )
    return webmap.points_layer(
        pts,
        colors=colors,
        asset_base_url=asset_base_url(),
        name="项目",
        cluster=cluster,
        popup={
            S.PROJECT_NAME: text("项目", "Project"),
            "sector_zh": text("行业", "Sector"),
            "status_zh": text("状态", "Status"),
            "funds_text": text("计划资金", "Funds planned"),
            S.RESPONSIBLE_UNIT: text("责任单位", "Responsible unit"),
        },
    )


def xlsx_download(
    where: Any, label: tuple[str, str], table: pd.DataFrame, *, sheet: str, file: str, key: str
) -> None:
    """A download button in ``where`` for ``table`` as an Excel workbook (built on click)."""
    import functools

    from layers.export import tables

    where.download_button(
        text(*label),
        functools.partial(tables.to_xlsx_bytes, table, sheet_name=sheet),
        file_name=file,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key=key,
    )


def dumps_state(state: ViewState) -> str:
    """JSON of a view (for debugging and export metadata)."""
    return json.dumps(dataclasses.asdict(state), ensure_ascii=False)


__all__: Sequence[str] = (
    "ViewState",
    "ancestors",
    "basemap",
    "build_info",
    "current_view",
    "demo_banner",
    "describe_filters",
    "fmt_funds",
    "fmt_number",
    "fmt_pct",
    "is_demo",
    "load_admin_units",
    "load_projects",
    "load_region_summary",
    "load_table",
    "metric_label",
    "page_unit",
    "project_filter",
    "project_points_layer",
    "set_region",
    "show_chart",
    "sidebar",
    "store_file",
    "t",
    "text",
    "unit_name",
    "unit_picker",
    "units_index",
    "xlsx_download",
    "zone_names",
)
