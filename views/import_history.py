"""修订记录 on the 数据导入 page: who wrote what and when, the files and reports to download, and
a rollback button (``build.pipeline.rollback``: a new revision restoring the state before).

Scoped on the server (``access.revision_rights``): a prefecture or county account is shown only
the revisions that touched its counties; a revision's files and report are sent, and its
rollback runs, only when every county it touched is the account's own."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from layers import access
from layers.accounts import writer
from layers.build import pipeline, revisions
from layers.present import i18n
from views import auth, loaders
from views.state import current_lang

__all__ = ["current_user", "describe", "log_table", "render"]


def _kind(kind: str, lang: str) -> str:
    key = f"kind_{kind}"
    return i18n.t(key, lang) if key in i18n.TEXT else kind


def current_user() -> str:
    """The name recorded as the writer: the signed-in account, else (single-user mode) the OS
    user running the server."""
    user = auth.current_user()
    return writer(user.name if user is not None else None)


def _counties(raw: str, replace_all: bool, lang: str = "zh") -> str:
    if replace_all:
        return i18n.t("hist_all", lang)
    codes = json.loads(raw or "[]")
    return "、".join(loaders.unit_name(c, lang) for c in codes) or "—"


def describe(path: Path, revs: list[int], lang: str = "zh") -> str:
    """One line per revision ``revs``: number, kind, user, time, counties (for messages).

    Parameters
    ----------
    path
        The store.
    revs
        Revision numbers.
    lang
        The interface language.

    Returns
    -------
    str
    """
    log = revisions.read_log(path)
    rows = log[log["rev"].isin(revs)]
    return "；".join(
        i18n.t(
            "hist_line",
            lang,
            rev=int(r.rev),
            kind=_kind(r.kind, lang),
            user=r.user,
            time=r.time,
            counties=_counties(r.counties, bool(r.replace_all), lang),
        )
        for r in rows.itertuples()
    )


def _counts(values: pd.Series) -> list[str]:
    """Row counts as text, "—" where a revision read no files (a demo, a rebuild)."""
    return ["—" if pd.isna(v) else f"{int(v):,}" for v in values]


def log_table(log: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The revision log as shown: latest first, headers in ``lang``.

    Parameters
    ----------
    log
        ``revisions.read_log``.
    lang
        The interface language.

    Returns
    -------
    DataFrame
    """

    def h(key: str) -> str:
        return i18n.t(f"hist_{key}", lang)

    out = pd.DataFrame(
        {
            h("rev"): log["rev"],
            h("time"): log["time"],
            h("user"): log["user"],
            h("kind"): [_kind(k, lang) for k in log["kind"]],
            h("counties"): [
                _counties(c, bool(a), lang)
                for c, a in zip(log["counties"], log["replace_all"], strict=True)
            ],
            h("files"): [
                "、".join(f["name"] for f in json.loads(v or "[]")) or "—" for v in log["files"]
            ],
            h("read"): _counts(log["rows_read"]),
            h("accepted"): _counts(log["rows_accepted"]),
            h("rejected"): _counts(log["rows_rejected"]),
            h("summary"): log["summary"],
        }
    )
    return out.iloc[::-1].reset_index(drop=True)


def rights(path: Path, row: pd.Series, scope: access.Scope) -> access.RevisionRights:
    """What ``scope`` may do with the revision of log ``row``.

    Parameters
    ----------
    path
        The store.
    row
        A row of the revision log.
    scope
        The session's scope.

    Returns
    -------
    access.RevisionRights
    """
    counties = list(json.loads(row["counties"] or "[]"))
    replace_all = bool(row["replace_all"])
    shared = not scope.everything and revisions.changes_shared(path, int(row["rev"]))
    return access.revision_rights(scope, counties, replace_all=replace_all, shared=shared)


def _downloads(path: Path, rev: int, allowed: bool, lang: str) -> None:
    if not allowed:  # nothing of the revision's files is sent to this session
        st.caption(i18n.t("hist_no_download", lang))
        return
    d = revisions.revision_dir(path, rev)
    files = sorted((d / "files").glob("*")) if (d / "files").is_dir() else []
    report = d / "report.xlsx"
    if not files and not report.is_file():
        st.caption(i18n.t("hist_no_files", lang))
        return
    cols = st.columns(max(1, len(files) + report.is_file()))
    for i, f in enumerate(files):
        cols[i].download_button(
            i18n.t("hist_download", lang, name=f.name),
            f.read_bytes(),
            file_name=f.name,
            key=f"hist_file_{rev}_{i}",
        )
    if report.is_file():
        cols[-1].download_button(
            i18n.t("imp_report_xlsx", lang),
            report.read_bytes(),
            file_name=i18n.t("hist_report_file", lang, rev=rev) + ".xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"hist_report_{rev}",
        )


_DONE = "hist_done"


def _rollback(path: Path, rev: int, kind: str, log: pd.DataFrame, allowed: bool, lang: str) -> None:
    if not allowed:
        st.caption(i18n.t("hist_no_rollback", lang))
        return
    undoable = kind != "build" and (revisions.revision_dir(path, rev) / "delta.json").is_file()
    later = revisions.later_overlaps(log, rev)
    if undoable and len(later):
        others = describe(path, later["rev"].astype(int).tolist(), lang)
        st.warning(i18n.t("hist_later", lang, others=others, rev=rev))
    n = st.session_state.get(_DONE + "_n", 0)  # a new checkbox (unticked) after each rollback
    sure = st.checkbox(
        i18n.t("hist_sure", lang, rev=rev), key=f"hist_sure_{rev}_{n}", disabled=not undoable
    )
    if st.button(
        i18n.t("hist_rollback", lang),
        key=f"hist_rollback_{rev}",
        disabled=not (undoable and sure),
    ):
        with st.spinner(i18n.t("hist_rolling", lang)):
            new = pipeline.rollback(path, rev, user=current_user(), on_wait=st.info)
        st.session_state[_DONE] = i18n.t("hist_rolled", lang, rev=rev, new=new)
        st.session_state[_DONE + "_n"] = n + 1
        st.rerun()  # the table above shows the new revision


def render(path: Path, scope: access.Scope = access.FULL) -> None:
    """Draw the revision log of the store at ``path`` with downloads and rollback, as far as
    ``scope`` may see and change it.

    Parameters
    ----------
    path
        The store.
    scope
        The session's scope (default: everything, single-user mode).
    """
    lang = current_lang()
    st.subheader(i18n.t("hist_title", lang))
    if loaders.store_mtime(path) < 0:
        st.caption(i18n.t("hist_no_store", lang))
        return
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success(done)
    log = revisions.read_log(path)
    if log.empty:
        st.caption(i18n.t("hist_empty", lang))
        return
    allowed = {int(r["rev"]): rights(path, r, scope) for _, r in log.iterrows()}
    full_log = log  # later revisions over the same counties are named before a rollback
    log = log[[allowed[int(r)].listed for r in log["rev"]]]
    if not scope.everything:
        st.caption(i18n.t("hist_scoped", lang))
    if log.empty:
        st.caption(i18n.t("hist_none_in_scope", lang))
        return
    st.dataframe(log_table(log, lang), hide_index=True, placeholder="—")
    revs = log["rev"].astype(int).tolist()[::-1]
    rev = int(st.selectbox(i18n.t("hist_pick", lang), revs, key="hist_rev"))
    kind = str(log.loc[log["rev"] == rev, "kind"].iloc[0])
    _downloads(path, rev, allowed[rev].download, lang)
    _rollback(path, rev, kind, full_log, allowed[rev].rollback, lang)
