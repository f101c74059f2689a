"""修订记录 on the 数据导入 page: who wrote what and when, the files and reports to download, and
a rollback button (``build.pipeline.rollback``: a new revision restoring the state before)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from layers.build import pipeline, revisions
from views import auth, loaders

__all__ = ["current_user", "describe", "log_table", "render"]

KIND_ZH = {
    "import": "导入",
    "build": "重建",
    "rollback": "撤销",
    "demo": "演示数据",
    "account": "账户",
}


def current_user() -> str:
    """The name recorded as the writer: the signed-in account, else (single-user mode) the OS
    user running the server."""
    user = auth.current_user()
    return f"{user.name}（账户）" if user is not None else pipeline.os_user()


def _counties(raw: str, replace_all: bool) -> str:
    if replace_all:
        return "全部"
    codes = json.loads(raw or "[]")
    return "、".join(loaders.unit_name(c) for c in codes) or "—"


def describe(path: Path, revs: list[int]) -> str:
    """One line per revision ``revs``: number, kind, user, time, counties (for messages).

    Parameters
    ----------
    path
        The store.
    revs
        Revision numbers.

    Returns
    -------
    str
    """
    log = revisions.read_log(path)
    rows = log[log["rev"].isin(revs)]
    return "；".join(
        f"修订 {int(r.rev)}：{KIND_ZH.get(r.kind, r.kind)}，{r.user}，{r.time}，"
        f"{_counties(r.counties, bool(r.replace_all))}"
        for r in rows.itertuples()
    )


def _counts(values: pd.Series) -> list[str]:
    """Row counts as text, "—" where a revision read no files (a demo, a rebuild)."""
    return ["—" if pd.isna(v) else f"{int(v):,}" for v in values]


def log_table(log: pd.DataFrame) -> pd.DataFrame:
    """The revision log as shown: latest first, Chinese headers."""
    out = pd.DataFrame(
        {
            "修订": log["rev"],
            "时间（UTC）": log["time"],
            "用户": log["user"],
            "类型": log["kind"].map(KIND_ZH).fillna(log["kind"]),
            "县": [
                _counties(c, bool(a))
                for c, a in zip(log["counties"], log["replace_all"], strict=True)
            ],
            "文件": [
                "、".join(f["name"] for f in json.loads(v or "[]")) or "—" for v in log["files"]
            ],
            "读入": _counts(log["rows_read"]),
            "接收": _counts(log["rows_accepted"]),
            "拒收": _counts(log["rows_rejected"]),
            "说明": log["summary"],
        }
    )
    return out.iloc[::-1].reset_index(drop=True)


def _downloads(path: Path, rev: int) -> None:
    d = revisions.revision_dir(path, rev)
    files = sorted((d / "files").glob("*")) if (d / "files").is_dir() else []
    report = d / "report.xlsx"
    if not files and not report.is_file():
        st.caption("这个修订没有保存文件（重建、撤销，或历史已清理）。")
        return
    cols = st.columns(max(1, len(files) + report.is_file()))
    for i, f in enumerate(files):
        cols[i].download_button(
            f"下载 {f.name}", f.read_bytes(), file_name=f.name, key=f"hist_file_{rev}_{i}"
        )
    if report.is_file():
        cols[-1].download_button(
            "下载验证报告（XLSX）",
            report.read_bytes(),
            file_name=f"修订{rev}_验证报告.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"hist_report_{rev}",
        )


_DONE = "hist_done"


def _rollback(path: Path, rev: int, kind: str, log: pd.DataFrame) -> None:
    undoable = kind != "build" and (revisions.revision_dir(path, rev) / "delta.json").is_file()
    later = revisions.later_overlaps(log, rev)
    if undoable and len(later):
        st.warning(
            f"之后的修订也改过这些县：{describe(path, later['rev'].astype(int).tolist())}。"
            f"撤销修订 {rev} 会把这些县恢复到修订 {rev} 之前的样子，这些修订的改动也一并撤销。"
        )
    n = st.session_state.get(_DONE + "_n", 0)  # a new checkbox (unticked) after each rollback
    sure = st.checkbox(f"确认撤销修订 {rev}", key=f"hist_sure_{rev}_{n}", disabled=not undoable)
    if st.button("撤销这个修订", key=f"hist_rollback_{rev}", disabled=not (undoable and sure)):
        with st.spinner("正在撤销并重建图层……"):
            new = pipeline.rollback(path, rev, user=current_user(), on_wait=st.info)
        st.session_state[_DONE] = f"已撤销修订 {rev}，写为修订 {new}。"
        st.session_state[_DONE + "_n"] = n + 1
        st.rerun()  # the table above shows the new revision


def render(path: Path) -> None:
    """Draw the revision log of the store at ``path`` with downloads and rollback."""
    st.subheader("修订记录")
    if loaders.store_mtime(path) < 0:
        st.caption("还没有数据库。")
        return
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success(done)
    log = revisions.read_log(path)
    if log.empty:
        st.caption("暂无修订记录（数据库建于修订记录之前）。")
        return
    st.dataframe(log_table(log), hide_index=True)
    revs = log["rev"].astype(int).tolist()[::-1]
    rev = st.selectbox("查看修订", revs, key="hist_rev")
    kind = str(log.loc[log["rev"] == rev, "kind"].iloc[0])
    _downloads(path, int(rev))
    _rollback(path, int(rev), kind, log)
