"""Export button for the map pages, and the cached calls the 导出 page shares with it.

Every picture comes from ``layers.export`` (the CLI's code path) fed with the dashboard's own
cached store tables, so the download of a view is the CLI's map of the same view.

Importing this module (hence ``layers.export.maps``) does not import matplotlib: it is loaded
when a map is first drawn, so the button costs a map page's first load nothing for it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import streamlit as st

from layers import schema as S
from layers.errors import OneMapError, StoreError
from layers.export import maps
from layers.export import snapshot as export_snapshot
from layers.present import i18n
from layers.present.query import ProjectFilter
from views import loaders
from views.state import ViewState, current_view, project_filter

__all__ = [
    "DPIS",
    "FORMAT_MIME",
    "MAP_FORMATS",
    "ORIENTATIONS",
    "PAPERS",
    "export_button",
    "file_name",
    "map_bytes",
    "request_from_view",
    "snapshot",
]

#: the button's choices, as ``layers.export`` / ``geo.staticmap`` define them (a test checks)
MAP_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
PAPERS: tuple[str, ...] = ("A4", "A3")
ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")
DPIS: tuple[int, ...] = (150, 300)

FORMAT_MIME: dict[str, str] = {
    "png": "image/png",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "zip": "application/zip",
    "html": "text/html",
    "tif": "image/tiff",
}


def request_from_view(state: ViewState, **overrides: Any) -> export_snapshot.MapRequest:
    """The ``MapRequest`` of a dashboard view (region, metric, filters, zone, breaks mode)."""
    req = export_snapshot.MapRequest(
        region=state.region,
        metric=state.metric,
        flt=project_filter(state),
        zone=state.zone,
        show_zones=state.show_zones,
        breaks_from=state.breaks_from,
        lang=state.lang,
    )
    return dataclasses.replace(req, **overrides) if overrides else req


def snapshot(*, with_projects: bool, flt: ProjectFilter | None = None) -> export_snapshot.Snapshot:
    """A ``layers.export.Snapshot`` built from the dashboard's cached store tables.

    With ``flt``, a PostGIS store sends only the projects that pass it (the exports mask with
    the same filter, so the figures are the same as from every project).
    """
    path = loaders.store_file()
    projects = prepared = None
    if with_projects:
        projects, prepared = loaders.filtered_projects(flt or ProjectFilter())
    try:
        years = loaders.load_table(S.TABLE_ROADMAP_YEARS)
    except StoreError:  # a store without route maps still exports maps
        years = pd.DataFrame(columns=[S.CODE, S.YEAR, S.VILLAGES_PLANNED_EXIT])
    return export_snapshot.Snapshot(
        path=path,
        admin_units=loaders.load_admin_units(),
        region_summary=loaders.load_region_summary(),
        roadmap_years=years,
        zone_members=loaders.zone_members(),
        build_info=loaders.build_info(),
        projects=projects,
        prepared=prepared,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _map_bytes(
    key: str,
    mtime: float,
    _request: export_snapshot.MapRequest,
    fmt: str,
    paper: str,
    orientation: str,
    dpi: int,
) -> bytes:
    del key, mtime  # cache key only (the request's repr and the store's modification time)
    snap = snapshot(with_projects=not _request.flt.is_empty, flt=_request.flt)
    data = maps.prepare_map(snap, _request)
    return maps.map_bytes(data, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)


def map_bytes(
    request: export_snapshot.MapRequest,
    *,
    fmt: str = "png",
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
) -> bytes:
    """The exported map of ``request`` (cached per view, format, paper and store version)."""
    p = loaders.store_file()
    return _map_bytes(repr(request), loaders.store_mtime(p), request, fmt, paper, orientation, dpi)


def file_name(request: export_snapshot.MapRequest, ext: str, kind: str = "map") -> str:
    """Predictable download name ``{code}_{name}_{metric}_{kind}_{date}.{ext}``."""
    name = loaders.unit_name(request.region, "zh")
    return export_snapshot.default_filename(request.region, name, request.metric, ext, kind=kind)


def _make_map(key: str, state: ViewState, fmt: str, paper: str, orientation: str, dpi: int) -> None:
    """Button callback: draw the view's map once and keep it for the download button."""
    made = repr((state, fmt, paper, orientation, dpi))
    try:
        with st.spinner(i18n.t("ex_making_map", state.lang)):
            request = request_from_view(state)
            data = map_bytes(request, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi)
            name = file_name(request, fmt)
    except OneMapError as e:  # shown in the popover (a callback's exception would end the run)
        st.session_state[f"{key}_bytes"] = (made, None, str(e))
        return
    st.session_state[f"{key}_bytes"] = (made, (data, name), None)


def export_button(state: ViewState | None = None, *, key: str = "export") -> None:
    """A 导出地图 popover for a map page: format, paper, orientation, DPI, then 生成 draws the
    view through ``layers.export`` and offers the download (nothing is drawn before)."""
    state = state or current_view()
    lang = state.lang
    with st.popover(i18n.t("ex_button", lang), icon=":material/download:"):
        c1, c2 = st.columns(2)
        fmt = c1.selectbox(
            i18n.t("ex_format", lang), MAP_FORMATS, key=f"{key}_fmt", format_func=str.upper
        )
        paper = c2.selectbox(i18n.t("ex_paper", lang), PAPERS, key=f"{key}_paper")
        orientation = c1.selectbox(
            i18n.t("ex_orientation", lang),
            ORIENTATIONS,
            key=f"{key}_orient",
            format_func=lambda o: i18n.t(f"ex_{o}", lang),
        )
        dpi = c2.selectbox(
            i18n.t("ex_dpi_short", lang), DPIS, key=f"{key}_dpi", disabled=fmt != "png"
        )
        st.button(
            i18n.t("ex_go", lang),
            key=f"{key}_go",
            icon=":material/image:",
            on_click=_make_map,
            args=(key, state, fmt, paper, orientation, dpi),
        )
        made = st.session_state.get(f"{key}_bytes")
        if not made or made[0] != repr((state, fmt, paper, orientation, dpi)):
            return  # nothing asked for this view and these options yet
        if made[2]:
            st.error(made[2])
            return
        data, name = made[1]
        st.download_button(
            i18n.t("ex_download", lang, fmt=fmt.upper()),
            data,
            file_name=name,
            mime=FORMAT_MIME[fmt],
            key=f"{key}_dl",
            icon=":material/download:",
        )
