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
from layers import schema as S
from layers.errors import OneMapError
from layers.export import layers as export_layers
from layers.export import maps, pack, snapshot, tables, web
from layers.export import raster as export_raster
from layers.present import i18n
from views import export_widget, loaders, state, widgets

__all__ = ["main"]

BY_LABELS = {
    "prefecture": "每个州（市）一页",
    "county": "每个县（市、区）一页",
    "zone": "每个重点区域一页",
}
KIND_LABELS = {"summary": "下级区域汇总", "projects": "项目清单"}


def _snapshot_section(request: snapshot.MapRequest) -> None:
    st.subheader("专题图")
    c1, c2, c3, c4 = st.columns(4)
    paper = c1.selectbox("纸张", tuple(sm.PAPER_MM), key="ex_paper")
    orientation = c2.selectbox(
        "方向",
        sm.ORIENTATIONS,
        key="ex_orient",
        format_func=lambda o: "横向" if o == "landscape" else "纵向",
    )
    dpi = c3.selectbox("PNG 分辨率", (150, 300), key="ex_dpi", format_func=lambda d: f"{d} dpi")
    labels = c4.checkbox("标注区域名称", value=True, key="ex_labels")
    req = dataclasses.replace(request, labels=labels)
    with st.spinner("正在绘制预览……"):
        preview = export_widget.map_bytes(
            req, fmt="png", paper=paper, orientation=orientation, dpi=72
        )
    st.image(preview, caption="预览（72 dpi）；下载文件与命令行 onemap export map 输出相同")
    cols = st.columns(3)
    for col, fmt in zip(cols, maps.MAP_FORMATS, strict=True):
        if col.button(f"生成 {fmt.upper()}", key=f"ex_make_{fmt}", use_container_width=True):
            with st.spinner(f"正在生成 {fmt.upper()}……"):
                data = export_widget.map_bytes(
                    req, fmt=fmt, paper=paper, orientation=orientation, dpi=dpi
                )
            st.session_state[f"ex_file_{fmt}"] = (repr((req, paper, orientation, dpi)), data)
        made = st.session_state.get(f"ex_file_{fmt}")
        if made and made[0] == repr((req, paper, orientation, dpi)):
            col.download_button(
                f"下载 {fmt.upper()}",
                made[1],
                file_name=export_widget.file_name(req, fmt),
                mime=export_widget.FORMAT_MIME[fmt],
                key=f"ex_dl_{fmt}",
                use_container_width=True,
            )


def _pack_section(request: snapshot.MapRequest) -> None:
    st.subheader("简报包")
    level = request.region_level
    options = [b for b in pack.PACK_BY if b == "zone" or S.LEVELS.index(b) > S.LEVELS.index(level)]
    if level not in ("province", "prefecture"):
        st.caption("简报包按州（市）或县（市、区）分页：请在侧栏选择全省或一个州（市）。")
        return
    c1, c2 = st.columns(2)
    by = c1.selectbox("分页", options, key="ex_pack_by", format_func=BY_LABELS.get)
    fmt = c2.selectbox("格式", pack.PACK_FORMATS, key="ex_pack_fmt", format_func=str.upper)
    within = request.region if by != "zone" else S.PROVINCE_CODE
    if st.button("生成简报包", key="ex_pack_go", icon=":material/picture_as_pdf:"):
        bar = st.progress(0.0, text="正在生成简报包……")
        snap = export_widget.snapshot(with_projects=not request.flt.is_empty, flt=request.flt)
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
                progress=lambda i, n: bar.progress(i / n, text=f"第 {i}/{n} 页"),
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
            f"下载简报包（{n} 页）",
            data,
            file_name=name,
            mime=export_widget.FORMAT_MIME[name.rsplit(".", 1)[1]],
            key="ex_pack_dl",
        )


def _data_section(request: snapshot.MapRequest) -> None:
    st.subheader("数据")
    c1, c2 = st.columns(2)
    kind = c1.selectbox(
        "表格", tables.TABLE_KINDS, key="ex_table_kind", format_func=KIND_LABELS.get
    )
    snap = export_widget.snapshot(
        with_projects=kind == "projects" or not request.flt.is_empty, flt=request.flt
    )
    table = tables.view_table(snap, request, kind=kind)
    c2.caption(f"{len(table):,} 行；以 = + - @ 开头的单元格已转义，CSV 为带 BOM 的 UTF-8")
    cols = st.columns(2)
    for col, fmt in zip(cols, tables.TABLE_FORMATS, strict=True):
        token = repr((request, kind, fmt))
        if col.button(f"生成 {fmt.upper()}", key=f"ex_table_go_{fmt}", use_container_width=True):
            with st.spinner(f"正在生成 {fmt.upper()}（{len(table):,} 行）……"):
                st.session_state[f"ex_table_{fmt}_bytes"] = (
                    token,
                    tables.table_bytes(table, fmt=fmt),
                )
        made = st.session_state.get(f"ex_table_{fmt}_bytes")
        if made and made[0] == token:
            col.download_button(
                f"下载 {fmt.upper()}",
                made[1],
                file_name=export_widget.file_name(request, fmt, kind=f"table-{kind}"),
                mime=export_widget.FORMAT_MIME[fmt],
                key=f"ex_table_{fmt}",
                use_container_width=True,
            )
    c1, c2, c3 = st.columns(3)
    fmt = c1.selectbox(
        "图层格式",
        export_layers.LAYER_FORMATS,
        key="ex_layer_fmt",
        format_func={"gpkg": "GeoPackage", "geojson": "GeoJSON", "shp": "Shapefile（zip）"}.get,
    )
    gbk = c2.checkbox("Shapefile 用 GBK 编码", key="ex_gbk", disabled=fmt != "shp")
    with_points = c3.checkbox("含项目点", key="ex_points")
    if st.button("生成图层文件", key="ex_layers_go"):
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
            f"下载图层（.{ext}）",
            data,
            file_name=export_widget.file_name(request, ext, kind="layers"),
            mime=export_widget.FORMAT_MIME[ext],
            key="ex_layers_dl",
        )
    if st.button("生成交互式网页地图（HTML，离线可用）", key="ex_html_go"):
        html = web.map_html(maps.prepare_map(snap, request)).encode("utf-8")
        st.session_state["ex_html_bytes"] = (repr(request), html)
    made = st.session_state.get("ex_html_bytes")
    if made and made[0] == repr(request):
        st.download_button(
            "下载 HTML 地图",
            made[1],
            file_name=export_widget.file_name(request, "html"),
            mime="text/html",
            key="ex_html",
        )


def _raster_section(request: snapshot.MapRequest) -> None:
    st.subheader("栅格")
    res = st.select_slider(
        "分辨率（度）", options=(0.002, 0.005, 0.01, 0.02, 0.05), value=0.01, key="ex_res"
    )
    if st.button("生成 GeoTIFF（由行政村指标栅格化）", key="ex_raster_go"):
        snap = export_widget.snapshot(with_projects=not request.flt.is_empty, flt=request.flt)
        surface = export_raster.metric_raster(snap, request, resolution=res)
        with tempfile.TemporaryDirectory() as d:
            path = raster.write_geotiff(surface, Path(d) / "m.tif")
            st.session_state["ex_tif"] = path.read_bytes()
    if st.session_state.get("ex_tif"):
        st.download_button(
            "下载 GeoTIFF",
            io.BytesIO(st.session_state["ex_tif"]),
            file_name=export_widget.file_name(request, "tif", kind="raster"),
            mime="image/tiff",
            key="ex_tif_dl",
        )


def main() -> None:
    """Draw the 导出 page for the current view."""
    view = state.current_view()
    request = export_widget.request_from_view(view)
    st.title(f"导出 · {loaders.unit_name(view.region, 'zh')}")
    st.caption(
        f"{widgets.describe_filters(view)} · 指标：{i18n.metric_label(view.metric)}"
        " · 命令行：onemap export map|pack|table|layers|raster|html"
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
