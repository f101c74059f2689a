"""导出 Exports: map snapshot (preview + PNG/PDF/SVG), briefing pack, tables, layers, HTML, raster.

Thin page: every file comes from ``layers.export`` — the same calls as ``onemap export``.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import streamlit as st

from geo import raster
from geo import staticmap as sm
from geo.escape import escape_markdown
from layers import schema as S
from layers.errors import OneMapError
from layers.export import layers as export_layers
from layers.export import maps, pack, snapshot, tables, web
from layers.export import raster as export_raster
from layers.present import i18n
from views import export_widget, loaders, state, widgets

__all__ = ["main"]

BY_KEYS = {"prefecture": "ex_by_prefecture", "county": "ex_by_county", "zone": "ex_by_zone"}
KIND_KEYS = {"summary": "ex_table_summary", "projects": "ex_table_projects"}


def _t(key: str, **values: object) -> str:
    """The catalogue's text in the page's language."""
    return i18n.t(key, state.current_lang(), **values)


def _snapshot_section(request: snapshot.MapRequest) -> None:
    st.subheader(_t("ex_map"))
    c1, c2, c3, c4 = st.columns(4)
    paper = c1.selectbox(_t("ex_paper"), tuple(sm.PAPER_MM), key="ex_paper")
    orientation = c2.selectbox(
        _t("ex_orientation"),
        sm.ORIENTATIONS,
        key="ex_orient",
        format_func=lambda o: _t(f"ex_{o}"),
    )
    dpi = c3.selectbox(_t("ex_dpi"), (150, 300), key="ex_dpi", format_func=lambda d: f"{d} dpi")
    labels = c4.checkbox(_t("ex_labels"), value=True, key="ex_labels")
    req = dataclasses.replace(request, labels=labels)
    with st.spinner(_t("ex_drawing")):
        preview = export_widget.map_bytes(
            req, fmt="png", paper=paper, orientation=orientation, dpi=72
        )
    st.image(preview, caption=_t("ex_preview"))
    cols = st.columns(3)
    for col, fmt in zip(cols, maps.MAP_FORMATS, strict=True):
        if col.button(
            _t("ex_make", fmt=fmt.upper()), key=f"ex_make_{fmt}", use_container_width=True
        ):
            with st.spinner(_t("ex_making", fmt=fmt.upper())):
                data = export_widget.map_bytes(
                    req, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi
                )
            st.session_state[f"ex_file_{fmt}"] = (repr((req, paper, orientation, dpi)), data)
        made = st.session_state.get(f"ex_file_{fmt}")
        if made and made[0] == repr((req, paper, orientation, dpi)):
            col.download_button(
                _t("ex_download", fmt=fmt.upper()),
                made[1],
                file_name=export_widget.file_name(req, fmt),
                mime=export_widget.FORMAT_MIME[fmt],
                key=f"ex_dl_{fmt}",
                use_container_width=True,
            )


def _pack_section(request: snapshot.MapRequest) -> None:
    st.subheader(_t("ex_pack"))
    level = request.region_level
    options = [b for b in pack.PACK_BY if b == "zone" or S.LEVELS.index(b) > S.LEVELS.index(level)]
    if level not in ("province", "prefecture"):
        st.caption(_t("ex_pack_level"))
        return
    c1, c2 = st.columns(2)
    by = c1.selectbox(
        _t("ex_pack_by"), options, key="ex_pack_by", format_func=lambda b: _t(BY_KEYS[b])
    )
    fmt = c2.selectbox(_t("ex_format"), pack.PACK_FORMATS, key="ex_pack_fmt", format_func=str.upper)
    within = request.region if by != "zone" else S.PROVINCE_CODE
    if st.button(_t("ex_pack_make"), key="ex_pack_go", icon=":material/picture_as_pdf:"):
        bar = st.progress(0.0, text=_t("ex_pack_making"))
        snap = export_widget.snapshot(with_projects=not request.flt.is_empty, flt=request.flt)
        # the pack's pages, slides and maps in the page's language (request.lang)
        base = dataclasses.replace(request, region=S.PROVINCE_CODE, zone=None)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / f"pack.{fmt}"
            n = pack.export_pack(
                out,
                by=by,
                within=within,
                base=base,
                fmt=fmt,
                snap=snap,
                progress=lambda i, n: bar.progress(i / n, text=_t("ex_page_of", i=i, n=n)),
            )
            data = out.read_bytes()
        bar.empty()
        name = snapshot.default_filename(
            within, loaders.unit_name(within, "zh"), request.metric, fmt, kind=f"pack-{by}"
        )
        st.session_state["ex_pack"] = (name, data, n)
    made = st.session_state.get("ex_pack")
    if made:
        name, data, n = made
        st.download_button(
            _t("ex_pack_download", n=n),
            data,
            file_name=name,
            mime=export_widget.FORMAT_MIME[name.rsplit(".", 1)[1]],
            key="ex_pack_dl",
        )


def _data_section(request: snapshot.MapRequest) -> None:
    st.subheader(_t("ex_data"))
    c1, c2 = st.columns(2)
    kind = c1.selectbox(
        _t("ex_table"),
        tables.TABLE_KINDS,
        key="ex_table_kind",
        format_func=lambda k: _t(KIND_KEYS[k]),
    )
    snap = export_widget.snapshot(
        with_projects=kind == "projects" or not request.flt.is_empty, flt=request.flt
    )
    table = tables.view_table(snap, request, kind=kind)
    c2.caption(_t("ex_table_note", n=f"{len(table):,}"))
    cols = st.columns(2)
    for col, fmt in zip(cols, tables.TABLE_FORMATS, strict=True):
        token = repr((request, kind, fmt))
        if col.button(
            _t("ex_make", fmt=fmt.upper()), key=f"ex_table_go_{fmt}", use_container_width=True
        ):
            with st.spinner(_t("ex_making_rows", fmt=fmt.upper(), n=f"{len(table):,}")):
                st.session_state[f"ex_table_{fmt}_bytes"] = (
                    token,
                    tables.table_bytes(table, fmt=fmt),
                )
        made = st.session_state.get(f"ex_table_{fmt}_bytes")
        if made and made[0] == token:
            col.download_button(
                _t("ex_download", fmt=fmt.upper()),
                made[1],
                file_name=export_widget.file_name(request, fmt, kind=f"table-{kind}"),
                mime=export_widget.FORMAT_MIME[fmt],
                key=f"ex_table_{fmt}",
                use_container_width=True,
            )
    c1, c2, c3 = st.columns(3)
    fmt = c1.selectbox(
        _t("ex_layer_format"),
        export_layers.LAYER_FORMATS,
        key="ex_layer_fmt",
        format_func={"gpkg": "GeoPackage", "geojson": "GeoJSON", "shp": _t("ex_shapefile_zip")}.get,
    )
    gbk = c2.checkbox(_t("ex_gbk"), key="ex_gbk", disabled=fmt != "shp")
    with_points = c3.checkbox(_t("ex_points"), key="ex_points")
    if st.button(_t("ex_layers_make"), key="ex_layers_go"):
        lsnap = export_widget.snapshot(
            with_projects=with_points or not request.flt.is_empty, flt=request.flt
        )
        layers = export_layers.view_layers(lsnap, request)
        if not with_points:
            layers.pop("projects", None)
        ext = {"shp": "zip"}.get(fmt, fmt)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / f"layers.{ext}"
            out = export_layers.write_layers(
                layers, out, fmt=fmt, encoding="GBK" if gbk else "UTF-8"
            )
            ext = "zip" if out.suffix == ".zip" else ext
            st.session_state["ex_layers"] = (ext, out.read_bytes())
    made = st.session_state.get("ex_layers")
    if made:
        ext, data = made
        st.download_button(
            _t("ex_layers_download", ext=ext),
            data,
            file_name=export_widget.file_name(request, ext, kind="layers"),
            mime=export_widget.FORMAT_MIME[ext],
            key="ex_layers_dl",
        )
    if st.button(_t("ex_html_make"), key="ex_html_go"):
        html = web.map_html(maps.prepare_map(snap, request)).encode("utf-8")
        st.session_state["ex_html_bytes"] = (repr(request), html)
    made = st.session_state.get("ex_html_bytes")
    if made and made[0] == repr(request):
        st.download_button(
            _t("ex_html_download"),
            made[1],
            file_name=export_widget.file_name(request, "html"),
            mime="text/html",
            key="ex_html",
        )


def _raster_section(request: snapshot.MapRequest) -> None:
    st.subheader(_t("ex_raster"))
    res = st.select_slider(
        _t("ex_resolution"), options=(0.002, 0.005, 0.01, 0.02, 0.05), value=0.01, key="ex_res"
    )
    if st.button(_t("ex_raster_make"), key="ex_raster_go"):
        snap = export_widget.snapshot(with_projects=not request.flt.is_empty, flt=request.flt)
        surface = export_raster.metric_raster(snap, request, resolution=res)
        with tempfile.TemporaryDirectory() as d:
            path = raster.write_geotiff(surface, Path(d) / "m.tif")
            st.session_state["ex_tif"] = path.read_bytes()
    if st.session_state.get("ex_tif"):
        st.download_button(
            _t("ex_raster_download"),
            io.BytesIO(st.session_state["ex_tif"]),
            file_name=export_widget.file_name(request, "tif", kind="raster"),
            mime="image/tiff",
            key="ex_tif_dl",
        )


def main() -> None:
    """Draw the 导出 page for the current view."""
    view = state.current_view()
    lang = view.lang
    request = export_widget.request_from_view(view)
    st.title(i18n.t("ex_title", lang, region=escape_markdown(loaders.unit_name(view.region, lang))))
    st.caption(
        i18n.t(
            "ex_caption",
            lang,
            filters=widgets.describe_filters(view),
            metric=i18n.metric_label(view.metric, lang),
        )
    )
    try:
        _snapshot_section(request)
        _pack_section(request)
        _data_section(request)
        _raster_section(request)
    except OneMapError as e:
        st.error(str(e))


if __name__ == "__main__":
    main()
