"""The clerk's side of the 数据导入 page: columns the column map does not know, said in the page's
language with the accepted names of the nearest fields, and a form that adds a header alias
(``layers.ingest.aliases``: a file next to the store, read on top of ``data/column_map.toml``)
so nobody edits a server file. Adding needs a province account; others see what to send."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from layers import access
from layers.errors import LedgerError
from layers.ingest import aliases
from layers.ingest.columns import ColumnMap, office_name
from layers.ingest.report import ValidationReport
from layers.ingest.unknown import HeaderNotFound, UnknownColumn
from layers.present import i18n
from views import import_history

__all__ = ["header_not_found", "render", "unknown_columns", "unknown_lines"]

_SHOWN_NAMES = 6


def _field_names(field: str, names: tuple[str, ...], cmap: ColumnMap, lang: str) -> str:
    shown = [n for n in names if n != field][:_SHOWN_NAMES]
    return i18n.t(
        "imp_field_names", lang, field=office_name(field, cmap), names="、".join(shown) or "—"
    )


def unknown_lines(unknown: list[UnknownColumn], cmap: ColumnMap, lang: str) -> list[str]:
    """One line per unknown column: the header as written, its letter, the nearest fields with
    the names they accept, in ``lang``.

    Parameters
    ----------
    unknown
        The columns.
    cmap
        The column map in use.
    lang
        The interface language.

    Returns
    -------
    list of str
    """
    out = []
    for col in unknown:
        line = i18n.t("imp_unknown_column", lang, header=col.header, letter=col.letter)
        near = "；".join(_field_names(f, n, cmap, lang) for f, n in col.nearest)
        tail = (
            i18n.t("imp_unknown_near", lang, fields=near)
            if near
            else i18n.t("imp_unknown_none", lang)
        )
        out.append(f"{line} {tail}")
    return out


def _from_report(report: ValidationReport, cmap: ColumnMap) -> list[UnknownColumn]:
    if report.unknown.empty:
        return []
    rows = report.unknown.drop_duplicates(["header", "section"])
    return [
        UnknownColumn(
            str(r.header),
            str(r.letter),
            tuple((f, cmap.names(str(r.section), f)) for f in str(r.nearest).split(",") if f),
            str(r.section),
        )
        for r in rows.itertuples()
    ]


def _alias_form(unknown: list[UnknownColumn], path: Path, scope: access.Scope, lang: str) -> None:
    """Pick an unknown header and the field it is; 添加 writes the alias next to the store."""
    if not unknown:
        return
    if not scope.everything:
        st.caption(i18n.t("imp_alias_province", lang))
        return
    cmap = aliases.column_map_for(path)
    st.caption(i18n.t("imp_alias_intro", lang))
    c1, c2, c3 = st.columns([2, 2, 1])
    by_header = {c.header: c for c in unknown}
    header = c1.selectbox(i18n.t("imp_alias_column", lang), list(by_header), key="imp_alias_hdr")
    col = by_header[header]
    near = [f for f, _ in col.nearest]
    fields = near + [f for f in cmap.accepted.get(col.section, {}) if f not in near]
    field = c2.selectbox(
        i18n.t("imp_alias_field", lang),
        fields,
        format_func=lambda f: office_name(f, cmap, col.section),
        key=f"imp_alias_field_{header}",
    )
    c3.write("")
    if c3.button(i18n.t("imp_alias_add", lang), key="imp_alias_add"):
        taken = aliases.alias_conflict(cmap, col.section, header)
        if taken is not None:
            st.warning(
                i18n.t("imp_alias_taken", lang, header=header, field=office_name(taken, cmap))
            )
            return
        try:
            aliases.add_alias(
                path,
                cmap,
                aliases.Alias(col.section, field, header, import_history.current_user()),
            )
        except LedgerError as e:
            st.error(str(e))
            return
        st.success(i18n.t("imp_alias_added", lang, header=header, field=office_name(field, cmap)))


def header_not_found(error: HeaderNotFound, path: Path, scope: access.Scope, lang: str) -> None:
    """Say why no ledger header was found (the file, the missing and unknown columns) and offer
    aliases.

    Parameters
    ----------
    error
        The check's error.
    path
        The store.
    scope
        The signed-in account's scope.
    lang
        The interface language.
    """
    cmap = aliases.column_map_for(path)
    lines = [i18n.t("imp_header_missing", lang, file=error.file)]
    for field, names in error.missing:
        shown = "、".join(n for n in names if n != field) or "—"
        lines.append(i18n.t("imp_missing_field", lang, field=office_name(field, cmap), names=shown))
    lines += unknown_lines(error.unknown, cmap, lang)
    st.error("\n\n".join(lines))
    _alias_form(error.unknown, path, scope, lang)


def unknown_columns(report: ValidationReport, path: Path, scope: access.Scope, lang: str) -> None:
    """The report's columns the map does not know (not imported), and the alias form.

    Parameters
    ----------
    report
        The validation report.
    path
        The store.
    scope
        The signed-in account's scope.
    lang
        The interface language.
    """
    cmap = aliases.column_map_for(path)
    unknown = _from_report(report, cmap)
    if not unknown:
        return
    st.markdown(f"**{i18n.t('imp_unknown_title', lang)}**")
    st.warning("\n\n".join(unknown_lines(unknown, cmap, lang)))
    _alias_form(unknown, path, scope, lang)


def render(path: Path, lang: str) -> None:
    """The header aliases added so far (who, when), when there are any.

    Parameters
    ----------
    path
        The store.
    lang
        The interface language.
    """
    added = aliases.read_aliases(aliases.aliases_path(path))
    if not added:
        return
    cmap = aliases.column_map_for(path)
    st.markdown(f"**{i18n.t('imp_aliases', lang)}**")
    table = pd.DataFrame(
        {
            i18n.t("imp_alias_column", lang): [a.header for a in added],
            i18n.t("imp_alias_field", lang): [office_name(a.field, cmap, a.section) for a in added],
            i18n.t("imp_alias_user", lang): [a.user for a in added],
            i18n.t("imp_alias_time", lang): [a.time for a in added],
        }
    )
    st.dataframe(table, hide_index=True)
