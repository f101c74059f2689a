"""Page pieces shared by the map and table pages: demo banner, filter caption, basemap choice,
unit picker, project points, Excel download."""

from __future__ import annotations

import functools
import os
from typing import Any

import folium
import numpy as np
import pandas as pd
import streamlit as st

from geo import webmap
from geo.escape import escape_markdown
from layers import schema as S
from layers.export import tables
from layers.present import fmt, i18n
from views import assets, loaders
from views.state import ViewState, current_lang, current_view, project_filter, set_region

__all__ = [
    "basemap",
    "demo_banner",
    "describe_filters",
    "file_uploader",
    "filters_text",
    "number_columns",
    "page_unit",
    "project_points_layer",
    "scoped_counts_note",
    "unit_picker",
    "xlsx_download",
]


def demo_banner() -> None:
    """Show the demo-data warning when the store is the generated demo (every page)."""
    if loaders.is_demo():
        st.warning(i18n.t("demo_banner", current_lang()), icon=":material/science:")


#: Streamlit draws the uploader's "Upload" button and "50MB per file • XLSX" in English and has
#: no parameter for them (streamlit/streamlit#13500); in Chinese the page's stylesheet hides
#: those texts and draws the catalogue's words in their place (CSS ``::after``)
_UPLOADER_CSS = """<style>
.st-key-{key} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p,
.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] span {{font-size: 0;}}
.st-key-{key} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]
p::after {{content: "{upload}"; font-size: 0.875rem;}}
.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] span::after
{{content: "{limit}"; font-size: 0.75rem;}}
</style>"""


def file_uploader(label: str, lang: str, **kwargs: Any) -> Any:
    """``st.file_uploader`` whose own texts are in ``lang`` where Streamlit allows it.

    Parameters
    ----------
    label
        The uploader's label (already in ``lang``).
    lang
        The page's language: in Chinese, Streamlit's English "Upload" and "… per file" are
        drawn as 上传 and 每个文件不超过 … MB by the stylesheet.
    **kwargs
        Passed to ``st.file_uploader``.

    Returns
    -------
    UploadedFile, list of UploadedFile or None
        What ``st.file_uploader`` returns.
    """
    if lang == "zh" and kwargs.get("key"):  # Streamlit marks a keyed widget .st-key-<key>
        mb = int(st.get_option("server.maxUploadSize"))
        types = "、".join(t.upper() for t in kwargs.get("type") or ())
        limit = i18n.t("upload_limit", lang, mb=mb) + (f" · {types}" if types else "")
        css = _UPLOADER_CSS.format(key=kwargs["key"], upload=i18n.t("upload", lang), limit=limit)
        st.html(css)
    return st.file_uploader(label, **kwargs)


def _labels(column: str, codes: tuple[str, ...], lang: str) -> str:
    return ("、" if lang != "en" else ", ").join(i18n.label(column, c, lang) for c in codes)


def describe_filters(state: ViewState | None = None) -> str:
    """One-line description of the region and the active filters, Markdown-escaped (captions)."""
    state = state or current_view()
    lang = state.lang
    parts: list[str] = [escape_markdown(loaders.unit_name(state.region, lang))]
    if state.zone:
        parts.append(escape_markdown(state.zone))
    if state.sectors:
        parts.append(_labels(S.SECTOR, state.sectors, lang))
    if state.years:
        parts.append(f"{state.years[0]}–{state.years[1]}")
    if state.statuses:
        parts.append(_labels(S.STATUS, state.statuses, lang))
    if state.fund_sources:
        parts.append(_labels(S.FUND_SOURCE, state.fund_sources, lang))
    return " · ".join(parts)


def scoped_counts_note(source: object, lang: str) -> str | None:
    """What a scoped account sees of filtered counts on a PostGIS store (row-level security
    gives its session only its own projects), Markdown-escaped; None when it sees them all.

    Parameters
    ----------
    source
        ``loaders.count_source``'s answer for the view's filter.
    lang
        ``zh`` or ``en``.

    Returns
    -------
    str or None
    """
    visible = getattr(source, "visible", "")
    if not visible:
        return None
    name = escape_markdown(loaders.unit_name(S.pad_code(visible), lang))
    return i18n.t("scoped_counts_note", lang, region=name)


def filters_text(state: ViewState | None = None) -> str:
    """The active project filters in the view's language (``行业：特色产业；年度：2016–2020`` /
    ``Sector: Industry; Plan years: 2016–2020``), or 全部项目 / All projects."""
    state = state or current_view()
    if state.lang != "en":
        return project_filter(state).describe_zh()
    parts = []
    if state.sectors:
        parts.append(f"{i18n.t('sector', 'en')}: {_labels(S.SECTOR, state.sectors, 'en')}")
    if state.years:
        parts.append(f"{i18n.t('years', 'en')}: {state.years[0]}–{state.years[1]}")
    if state.statuses:
        parts.append(f"{i18n.t('status', 'en')}: {_labels(S.STATUS, state.statuses, 'en')}")
    if state.fund_sources:
        sources = _labels(S.FUND_SOURCE, state.fund_sources, "en")
        parts.append(f"{i18n.t('fund_source', 'en')}: {sources}")
    return "; ".join(parts) if parts else i18n.t("all_projects", "en")


@st.cache_data(ttl=300, show_spinner=False)
def _tiles_answer(basemap: str, token: str | None) -> bool:
    return webmap.probe_tiles(basemap, token=token)


def basemap(view: ViewState) -> tuple[str, str | None]:
    """The basemap to draw and the 天地图 token: ``"none"`` (offline) with a warning when the
    chosen tile server needs a missing ``$TIANDITU_TOKEN`` or does not answer from this machine
    (checked every 5 minutes)."""
    token = os.environ.get("TIANDITU_TOKEN") or None
    if view.basemap == "none":
        return "none", None
    if view.basemap == "tianditu" and not token:
        st.warning(i18n.t("tianditu_needs_token", view.lang))
        return "none", None
    if not _tiles_answer(view.basemap, token):
        st.warning(i18n.t("tiles_unreachable", view.lang))
        return "none", None
    return view.basemap, token


def unit_picker(
    view: ViewState, *, level: str, only: pd.Series, key: str, max_options: int | None = None
) -> str | None:
    """The unit of ``level`` the view is in, or a searchable picker of the units in ``only``
    inside the region (and the view's zone); picking one moves the view there.

    Returns None while nothing is picked (the picker, or a note, is on the page).
    """
    if S.LEVELS.index(view.level) >= S.LEVELS.index(level):
        return S.truncate(view.region, level)
    lang = view.lang
    members = loaders.zone_members()
    zone_counties = members.loc[members[S.ZONE] == view.zone, S.CODE] if view.zone else None
    options = tables.unit_options(
        loaders.units_index(), level=level, within=view.region, only=only, counties=zone_counties
    )
    if options.empty:
        st.info(i18n.t(f"pick_{level}_none", lang))
        return None
    if max_options is not None and len(options) > max_options:
        st.info(i18n.t("pick_too_many", lang))
        return None
    labels = dict(zip(options[S.CODE], options["label"], strict=True))
    st.selectbox(
        i18n.t(f"pick_{level}", lang),
        [None, *options[S.CODE]],
        format_func=lambda c: i18n.t("pick_choose", lang) if c is None else labels[c],
        key=key,
        on_change=lambda: set_region(st.session_state[key]),
    )
    st.caption(i18n.t(f"pick_{level}_hint", lang))
    return None


def page_unit(
    title: str,
    table_name: str,
    *,
    level: str,
    key: str,
    missing: str,
    max_options: int | None = None,
) -> tuple[ViewState, pd.DataFrame | None]:
    """Preamble of a one-unit page: the title, then the unit of ``level`` the view is in
    (else a ``unit_picker`` over the codes of the store table ``table_name``).

    Parameters
    ----------
    title
        Catalogue key of the page's title.
    table_name
        The store table of the page (one row per unit that has one).
    level
        The level of the page's units (``county``, ``township`` or ``village``).
    key
        Widget key of the picker.
    missing
        Catalogue key of the note shown after the unit's name when the table has no row for it.
    max_options
        Above this many units the picker asks to narrow the region first.

    Returns
    -------
    tuple of ViewState and DataFrame or None
        The view and the unit's one-row frame of the table; None (with the picker, or the
        note) when there is nothing to draw.
    """
    view = current_view()
    st.title(i18n.t(title, view.lang))
    table = loaders.load_table(table_name)
    code = unit_picker(view, level=level, only=table[S.CODE], key=key, max_options=max_options)
    if code is None:
        return view, None
    hit = table[table[S.CODE].eq(code).to_numpy()]
    if hit.empty:
        st.info(f"{escape_markdown(loaders.unit_name(code))} " + i18n.t(missing, view.lang))
        return view, None
    return view, hit


def project_points_layer(
    projects: pd.DataFrame,
    basemap_name: str,
    *,
    colors: Any,
    status: np.ndarray | None = None,
    cluster: bool,
    lang: str = "zh",
) -> folium.map.Layer:
    """Projects as circle markers with the standard popup (name, sector, status, funds planned,
    responsible unit); ``status`` (one text per row) defaults to the projects' status labels."""
    status_text = (
        projects[S.STATUS].map(i18n.labels(S.STATUS, lang)).to_numpy() if status is None else status
    )
    pts = webmap.to_basemap_crs(projects, basemap_name).assign(
        sector_zh=projects[S.SECTOR].map(i18n.labels(S.SECTOR, lang)).to_numpy(),
        status_zh=status_text,
        funds_text=fmt.fmt_wan_yuan_series(projects[S.FUNDS_PLANNED], lang=lang).to_numpy(),
    )
    return webmap.points_layer(
        pts,
        colors=colors,
        asset_base_url=assets.asset_base_url(),
        name=i18n.t("projects_layer", lang),
        cluster=cluster,
        popup={  # the project id also names the point a click selects (``views.selection``)
            S.PROJECT_ID: i18n.t("col_en_project_id", lang),
            S.PROJECT_NAME: i18n.t("project", lang),
            "sector_zh": i18n.t("sector", lang),
            "status_zh": i18n.t("status_short", lang),
            "funds_text": i18n.t("funds_planned", lang),
            S.RESPONSIBLE_UNIT: i18n.t("responsible_unit", lang),
        },
    )


def number_columns(table: pd.DataFrame, *, years: tuple[str, ...] = ()) -> dict[str, Any]:
    """``st.dataframe`` column formats of a display table: one format per measure on every page.

    Rates (a ``%`` in the header) with one decimal (``88.0``, never ``88`` beside ``86.4``);
    years (``years`` and the plan-year header) as plain years; amounts (万元 or yuan in the
    header) with thousands separators and one decimal; other numbers are counts, with
    separators (``6,600,000``). Pass ``placeholder=fmt.MISSING`` to ``st.dataframe`` so a
    missing value reads "—".

    Parameters
    ----------
    table
        The display table (numeric columns of object dtype are formatted too).
    years
        Headers of further year columns.

    Returns
    -------
    dict
        Header → ``st.column_config.NumberColumn`` for each numeric column.
    """
    year_headers = {*years, i18n.HEADERS_ZH[S.PLAN_YEAR]}
    config: dict[str, Any] = {}
    for name in table.columns:
        values = table[name]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(
            values.infer_objects()
        ):
            continue
        header = str(name)
        if header in year_headers:
            config[name] = st.column_config.NumberColumn(format="%d")
        elif "%" in header:
            config[name] = st.column_config.NumberColumn(format="%.1f")
        elif "万元" in header or "yuan" in header.lower():
            config[name] = st.column_config.NumberColumn(format="localized", step=0.1)
        else:
            config[name] = st.column_config.NumberColumn(format="localized", step=1)
    return config


def xlsx_download(
    where: Any, label: str, table: pd.DataFrame, *, sheet: str, file: str, key: str
) -> None:
    """A download button in ``where`` for ``table`` as an Excel workbook (built on click).

    ``label`` is the button's text; the workbook is only written when the button is pressed.
    """
    where.download_button(
        label,
        functools.partial(tables.to_xlsx_bytes, table, sheet_name=sheet),
        file_name=file,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key=key,
    )
