"""数据导入: upload ledgers, a registry and boundary files, preview the validation report,
then confirm to rebuild the store (``layers.ingest``: the store changes only on success).

检查 records the store revision it checked against; if another revision lands before 确认, the
import is checked again against the new store and shown, never written over it. The page ends
with the store's revisions (``views.import_history``): files, reports, rollback."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from layers import access, pgstore, store
from layers import schema as S
from layers.build import pipeline, revisions
from layers.errors import OneMapError, StaleStoreError
from layers.ingest import prepare, template
from layers.ingest.report import ValidationReport
from layers.settings import CAMPAIGN_YEARS
from views import auth, import_history, loaders

__all__ = ["render"]

_PREPARED = "import_prepared"
#: the store revision 检查 checked against, and the request to check again with
_BASE = "import_base_rev"
_REQUEST = "import_request"
_RECHECKED = "import_rechecked"
LEVEL_CHOICES = ("village", "township", "county", "prefecture")


def _uploads() -> dict:
    st.markdown(
        "上传本月的**县级项目库台账**（Excel/CSV，UTF-8 或 GBK，每县一个文件或一个工作表）、"
        "**建档立卡名册**（按村汇总表或到户花名册——到户名册在导入时汇总到村，姓名、身份证号等"
        "个人信息不会保存）以及**行政区划边界**（GeoPackage、GeoJSON，或把 Shapefile 的 "
        ".shp/.dbf/.shx/.prj/.cpg 打包成 .zip；任意坐标系）。"
    )
    ledgers = st.file_uploader(
        "项目库台账", type=["xlsx", "csv"], accept_multiple_files=True, key="imp_ledgers"
    )
    registry = st.file_uploader("建档立卡名册（可选）", type=["xlsx", "csv"], key="imp_registry")
    c1, c2 = st.columns([3, 1])
    boundary = c1.file_uploader(
        "行政区划边界（可选）", type=["zip", "gpkg", "geojson", "json"], key="imp_boundary"
    )
    level = c2.selectbox(
        "边界层级", LEVEL_CHOICES, format_func=S.LEVEL_LABELS_ZH.get, key="imp_level"
    )
    with st.expander("选项"):
        a, b, c = st.columns(3)
        encoding = a.selectbox("CSV 编码", ["自动识别", "utf-8", "gbk", "gb18030"], key="imp_enc")
        unit = b.selectbox("金额单位（表中未注明时）", ["万元", "元"], key="imp_unit")
        crs = c.text_input(
            "边界坐标系（无 .prj 时）", placeholder="如 EPSG:4543 或 GK3:34", key="imp_crs"
        )
        gcj02 = a.checkbox("坐标来自高德/腾讯地图（GCJ-02）", key="imp_gcj02")
        replace_all = b.checkbox("替换全部项目（默认只替换所导入县的项目）", key="imp_replace_all")
        first, last = CAMPAIGN_YEARS
        later = c.checkbox(
            f"允许晚于攻坚期的年度（默认拒收计划年度晚于 {last} 的行）",
            key="imp_later_years",
            help=f"攻坚期 {first}–{last}；勾选后这些行带警告导入",
        )
    return {
        "ledgers": [(f.name, f.getvalue()) for f in ledgers or []],
        "registry": (registry.name, registry.getvalue()) if registry else None,
        "boundaries": [((boundary.name, boundary.getvalue()), level)] if boundary else [],
        "options": prepare.ReadOptions(
            encoding=None if encoding == "自动识别" else encoding,
            unit=unit,
            crs=crs.strip() or None,
            gcj02=gcj02,
            allow_later_years=later,
        ),
        "replace_all": replace_all,
    }


def _report_bytes(report: ValidationReport) -> tuple[bytes, bytes]:
    """The report as (XLSX bytes, zip of the CSVs) for download."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = report.write(Path(tmp) / "验证报告")
        xlsx = paths[0].read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for p in paths[1:]:
                z.write(p, p.name)
    return xlsx, buf.getvalue()


def _show_report(prepared: prepare.PreparedImport) -> None:
    report = prepared.report
    st.subheader("验证报告")
    st.info(report.summary())
    st.markdown("**读到了什么**（表头所在行、列映射、编码、金额单位）")
    st.dataframe(report.sources_zh(), hide_index=True)
    st.markdown("**问题清单**（行号即 Excel 中看到的行号）")
    st.dataframe(report.table_zh(), hide_index=True)
    if prepared.replaced_counties:
        names = ", ".join(loaders.unit_name(c) for c in prepared.replaced_counties)
        st.warning(f"确认后将替换这些县的项目库：{names}")
    xlsx, csvs = _report_bytes(report)
    c1, c2 = st.columns(2)
    c1.download_button(
        "下载验证报告（XLSX）",
        xlsx,
        file_name="验证报告.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="imp_report_xlsx",
    )
    c2.download_button(
        "下载验证报告（CSV）",
        csvs,
        file_name="验证报告_csv.zip",
        mime="application/zip",
        key="imp_report_csv",
    )


def _template_bytes(scope: access.Scope) -> bytes:
    """An office-style workbook with 20 projects of the store inside ``scope`` (built when
    clicked)."""
    projects = loaders.load_projects()
    mine = projects[access.in_scope(projects[S.COUNTY_CODE], scope)]
    return template.office_ledger_workbook(mine.head(20), sheet_by=None)


def _template(scope: access.Scope) -> None:
    st.download_button(
        "下载台账模板（XLSX，含 20 个示例项目）",
        lambda: _template_bytes(scope),
        file_name="项目库台账模板.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="imp_template",
    )


def _uploaded(options: dict) -> list[tuple[str, bytes]]:
    """The uploaded files as ``(name, bytes)``, kept with the revision."""
    files = list(options["ledgers"])
    if options["registry"] is not None:
        files.append(options["registry"])
    files.extend(src for src, _level in options["boundaries"])
    return files


def _check(path: Path, options: dict, scope: access.Scope) -> None:
    """Check the files against the store as it is now; remember its revision."""
    # an import rewrites every row: it reads the whole store (a PostGIS store's row-level
    # security is lifted for this read only); the scope is enforced by prepare_import below
    with pgstore.use_region(pgstore.ALL_REGIONS):
        base = revisions.head(path)
        current = store.read_inputs(path) if store.exists(path) else None
    st.session_state[_PREPARED] = prepare.prepare_import(current, **options, scope=scope)
    st.session_state[_BASE] = base
    st.session_state[_REQUEST] = options


def _commit(path: Path, prepared: prepare.PreparedImport) -> None:
    """确认: write the import unless the store changed since 检查; then check again instead."""
    options = st.session_state.get(_REQUEST) or {}
    try:
        with st.spinner("正在重建图层并写入数据库……"):
            pipeline.commit_import(
                path,
                prepared,
                user=import_history.current_user(),
                expected_rev=st.session_state.get(_BASE),
                uploads=_uploaded(options) if options else (),
                replace_all=bool(options.get("replace_all")),
                on_wait=st.info,
            )
    except StaleStoreError as e:
        landed = import_history.describe(path, e.landed)
        with st.spinner("数据库在检查后已更新，正在按最新数据重新检查……"):
            _check(path, options, auth.current_scope())
        st.session_state[_RECHECKED] = (
            f"检查之后数据库已写入新的修订（{landed}），本次导入没有写入。已按最新数据重新检查，"
            "请核对下面的验证报告后再次确认。"
        )
        st.rerun()
    for key in (_PREPARED, _BASE, _REQUEST):
        st.session_state.pop(key, None)
    st.success(f"导入完成，数据库已更新：{store.shown(path)}。{prepared.report.summary()}")


def render() -> None:
    """Draw the page."""
    st.title("数据导入")
    scope = auth.current_scope()
    if not scope.write:
        st.error("无权导入：只读账户不能修改数据。")
        return
    if not scope.everything:
        st.info(
            f"您的账户只能导入 {auth.scope_name(scope)} 的项目："
            "其他县的行会被拒收并列在验证报告中；"
            "建档立卡名册、行政区划边界和“替换全部项目”只有省级账户可以导入。"
        )
    _template(scope)
    options = _uploads()
    path = loaders.store_file()
    if st.button("检查文件并预览验证报告", type="primary", key="imp_check"):
        if not (options["ledgers"] or options["registry"] or options["boundaries"]):
            st.warning("请先上传至少一个文件。")
        else:
            with st.spinner("正在读取和检查……"):
                _check(path, options, scope)
                st.session_state.pop(_RECHECKED, None)
    prepared = st.session_state.get(_PREPARED)
    if prepared is not None:
        if st.session_state.get(_RECHECKED):
            st.warning(st.session_state[_RECHECKED])
        _show_report(prepared)
        if st.button("确认导入并重建图层", key="imp_commit"):
            st.session_state.pop(_RECHECKED, None)
            _commit(path, prepared)
    if scope.everything:  # the history holds every county's files, and rollback writes anywhere
        import_history.render(path)
    else:
        st.caption("修订记录与撤销只对省级账户开放。")


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
