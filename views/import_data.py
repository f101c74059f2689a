"""数据导入: upload ledgers, a registry and boundary files, preview the validation report,
then confirm to rebuild the store (``layers.ingest``: the store changes only on success).

检查 records the store revision it checked against; if another revision lands before 确认, the
import is checked again against the new store and shown, never written over it. The page ends
with the store's revisions (``views.import_history``): files, reports, rollback."""

from __future__ import annotations

import dataclasses
import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from geo.escape import escape_markdown
from layers import access, pgstore, store
from layers import schema as S
from layers.build import pipeline, revisions
from layers.errors import OneMapError, StaleStoreError
from layers.ingest import aliases, prepare, template
from layers.ingest.report import ValidationReport
from layers.ingest.unknown import HeaderNotFound
from layers.present import i18n, messages
from layers.present.messages import report_words
from layers.settings import CAMPAIGN_YEARS
from views import auth, import_aliases, import_history, loaders, widgets
from views.state import current_lang

__all__ = ["render", "report_words"]

_PREPARED = "import_prepared"
#: the store revision 检查 checked against, and the request to check again with
_BASE = "import_base_rev"
_REQUEST = "import_request"
_RECHECKED = "import_rechecked"
#: the last check's error when no ledger header was found (shown with the alias form)
_NO_HEADER = "import_no_header"
LEVEL_CHOICES = ("village", "township", "county", "prefecture")
_LEVEL_KEYS = {
    "village": "village_level",
    "township": "township",
    "county": "county",
    "prefecture": "prefecture",
}
_ENCODINGS = (None, "utf-8", "gbk", "gb18030")


def _uploads(lang: str) -> dict:
    st.markdown(i18n.t("imp_intro", lang))
    ledgers = widgets.file_uploader(
        i18n.t("imp_ledgers", lang),
        lang,
        type=["xlsx", "csv"],
        accept_multiple_files=True,
        key="imp_ledgers",
    )
    registry = widgets.file_uploader(
        i18n.t("imp_registry", lang), lang, type=["xlsx", "csv"], key="imp_registry"
    )
    c1, c2 = st.columns([3, 1])
    with c1:
        boundary = widgets.file_uploader(
            i18n.t("imp_boundary", lang),
            lang,
            type=["zip", "gpkg", "geojson", "json"],
            key="imp_boundary",
        )
    level = c2.selectbox(
        i18n.t("imp_level", lang),
        LEVEL_CHOICES,
        format_func=lambda v: i18n.t(_LEVEL_KEYS[v], lang),
        key="imp_level",
    )
    with st.expander(i18n.t("imp_options", lang)):
        a, b, c = st.columns(3)
        encoding = a.selectbox(
            i18n.t("imp_encoding", lang),
            _ENCODINGS,
            format_func=lambda e: e or i18n.t("imp_encoding_auto", lang),
            key="imp_enc",
        )
        unit = b.selectbox(
            i18n.t("imp_unit", lang),
            ["万元", "元"],
            format_func=lambda u: i18n.t(
                "unit_wan_yuan_word" if u == "万元" else "unit_yuan", lang
            ),
            key="imp_unit",
        )
        crs = c.text_input(
            i18n.t("imp_crs", lang), placeholder=i18n.t("imp_crs_hint", lang), key="imp_crs"
        )
        gcj02 = a.checkbox(i18n.t("imp_gcj02", lang), key="imp_gcj02")
        replace_all = b.checkbox(i18n.t("imp_replace_all", lang), key="imp_replace_all")
        first, last = CAMPAIGN_YEARS
        later = c.checkbox(
            i18n.t("imp_later", lang, last=last),
            key="imp_later_years",
            help=i18n.t("imp_later_help", lang, first=first, last=last),
        )
    return {
        "ledgers": [(f.name, f.getvalue()) for f in ledgers or []],
        "registry": (registry.name, registry.getvalue()) if registry else None,
        "boundaries": [((boundary.name, boundary.getvalue()), level)] if boundary else [],
        "options": prepare.ReadOptions(
            encoding=encoding,
            unit=unit,
            crs=crs.strip() or None,
            gcj02=gcj02,
            allow_later_years=later,
        ),
        "replace_all": replace_all,
    }


def _report_bytes(report: ValidationReport, lang: str) -> tuple[bytes, bytes]:
    """The report as (XLSX bytes, zip of the CSVs) for download, in ``lang``."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = messages.report_in(report, lang).write(
            Path(tmp) / i18n.t("imp_report_file", lang), report_words(report, lang)
        )
        xlsx = paths[0].read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for p in paths[1:]:
                z.write(p, p.name)
    return xlsx, buf.getvalue()


def _show_report(prepared: prepare.PreparedImport, lang: str) -> None:
    report = messages.report_in(prepared.report, lang)
    words = report_words(report, lang)
    st.subheader(i18n.t("imp_report", lang))
    st.info(words["summary_line"])
    st.markdown(i18n.t("imp_understood", lang))
    st.dataframe(report.sources_zh(words), hide_index=True)
    st.markdown(i18n.t("imp_problems", lang))
    st.dataframe(report.table_zh(words), hide_index=True)
    if prepared.replaced_counties:
        names = ", ".join(
            escape_markdown(loaders.unit_name(c, lang)) for c in prepared.replaced_counties
        )
        st.warning(i18n.t("imp_replaces", lang, names=names))
    xlsx, csvs = _report_bytes(report, lang)
    stem = i18n.t("imp_report_file", lang)
    c1, c2 = st.columns(2)
    c1.download_button(
        i18n.t("imp_report_xlsx", lang),
        xlsx,
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="imp_report_xlsx",
    )
    c2.download_button(
        i18n.t("imp_report_csv", lang),
        csvs,
        file_name=f"{stem}_csv.zip",
        mime="application/zip",
        key="imp_report_csv",
    )


def _template_bytes(scope: access.Scope) -> bytes:
    """An office-style workbook with 20 projects of the store inside ``scope`` (built when
    clicked)."""
    projects = loaders.load_projects()
    mine = projects[access.in_scope(projects[S.COUNTY_CODE], scope)]
    return template.office_ledger_workbook(mine.head(20), sheet_by=None)


def _template(scope: access.Scope, lang: str) -> None:
    st.download_button(
        i18n.t("imp_template", lang),
        lambda: _template_bytes(scope),
        file_name=i18n.t("imp_template_file", lang) + ".xlsx",
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
    """Check the files against the store as it is now (with its header aliases); remember its
    revision. A ledger without a recognisable header is remembered to offer aliases."""
    # an import rewrites every row: it reads the whole store (a PostGIS store's row-level
    # security is lifted for this read only); the scope is enforced by prepare_import below
    with pgstore.use_region(pgstore.ALL_REGIONS):
        base = revisions.head(path)
        current = store.read_inputs(path) if store.exists(path) else None
    read = dataclasses.replace(options["options"], column_map=aliases.column_map_for(path))
    st.session_state.pop(_NO_HEADER, None)
    st.session_state[_REQUEST] = options
    try:
        prepared = prepare.prepare_import(current, **{**options, "options": read}, scope=scope)
    except HeaderNotFound as e:
        st.session_state.pop(_PREPARED, None)
        st.session_state[_NO_HEADER] = e
        return
    st.session_state[_PREPARED] = prepared
    st.session_state[_BASE] = base


def _commit(path: Path, prepared: prepare.PreparedImport, lang: str) -> None:
    """确认: write the import unless the store changed since 检查; then check again instead."""
    options = st.session_state.get(_REQUEST) or {}
    try:
        with st.spinner(i18n.t("imp_writing", lang)):
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
        landed = import_history.describe(path, e.landed, lang)
        with st.spinner(i18n.t("imp_rechecking", lang)):
            _check(path, options, auth.current_scope())
        st.session_state[_RECHECKED] = i18n.t("imp_rechecked", lang, landed=landed)
        st.rerun()
    for key in (_PREPARED, _BASE, _REQUEST):
        st.session_state.pop(key, None)
    summary = report_words(prepared.report, lang)["summary_line"]
    st.success(i18n.t("imp_done", lang, path=store.shown(path), summary=summary))


def render() -> None:
    """Draw the page."""
    lang = current_lang()
    st.title(i18n.t("imp_title", lang))
    scope = auth.current_scope()
    if not scope.write:
        st.error(i18n.t("scope_no_write", lang))
        return
    if not scope.everything:
        st.info(i18n.t("imp_scope", lang, scope=auth.scope_name(scope)))
    _template(scope, lang)
    options = _uploads(lang)
    path = loaders.store_file()
    if st.button(i18n.t("imp_check", lang), type="primary", key="imp_check"):
        if not (options["ledgers"] or options["registry"] or options["boundaries"]):
            st.warning(i18n.t("imp_no_files", lang))
        else:
            with st.spinner(i18n.t("imp_reading", lang)):
                _check(path, options, scope)
                st.session_state.pop(_RECHECKED, None)
    no_header = st.session_state.get(_NO_HEADER)
    if no_header is not None:
        import_aliases.header_not_found(no_header, path, scope, lang)
    prepared = st.session_state.get(_PREPARED)
    if prepared is not None:
        if st.session_state.get(_RECHECKED):
            st.warning(st.session_state[_RECHECKED])
        _show_report(prepared, lang)
        import_aliases.unknown_columns(prepared.report, path, scope, lang)
        if st.button(i18n.t("imp_commit", lang), key="imp_commit"):
            st.session_state.pop(_RECHECKED, None)
            _commit(path, prepared, lang)
    if scope.everything:  # header aliases change every county's imports: province only
        import_aliases.render(path, lang)
    import_history.render(path, scope)  # scoped: listed, downloads and rollback per revision


if __name__ == "__main__":
    try:
        render()
    except OneMapError as e:
        st.error(str(e))
