"""``onemap history`` (the store's revisions, pruning) and ``onemap rollback REV``."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from layers import store
from layers.accounts import writer
from layers.build import pipeline, revisions
from layers.build.lock import store_lock
from layers.settings import store_path

__all__ = ["register", "run_history", "run_rollback"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``history`` and ``rollback`` sub-commands to the ``onemap`` parser."""
    h = subparsers.add_parser(
        "history",
        help="修订记录 list the store's revisions (who wrote what, when, from which files)",
        description=(
            "List the store's revisions: number, time (UTC), user, kind, counties, files "
            "(SHA-256), rows read/accepted/rejected. The imported files and validation reports "
            "are kept in <store>.history/<rev>/. --prune deletes the history of revisions older "
            "than --keep-days (default $ONEMAP_HISTORY_DAYS or 365) and says what it frees."
        ),
    )
    h.add_argument("--store", metavar="PATH", help="store (default $ONEMAP_STORE)")
    h.add_argument("--county", metavar="CODE", help="only revisions touching this county")
    h.add_argument("--json", action="store_true", help="print JSON lines")
    h.add_argument("--prune", action="store_true", help="delete old history, say what it frees")
    h.add_argument("--keep-days", type=float, metavar="DAYS", help="history kept by --prune")
    h.add_argument("--dry-run", action="store_true", help="with --prune: only say what it frees")
    h.set_defaults(func=run_history)
    r = subparsers.add_parser(
        "rollback",
        help="撤销修订 undo a revision (restore what it touched as it was before), as a new one",
        description=(
            "Restore, for what revision REV touched (its counties, or everything for a full "
            "replace), the state before REV, and rebuild; written as a new revision, so a "
            "rollback can itself be rolled back."
        ),
    )
    r.add_argument("rev", type=int, metavar="REV", help="the revision to undo (`onemap history`)")
    r.add_argument("--store", metavar="PATH", help="store (default $ONEMAP_STORE)")
    r.set_defaults(func=run_rollback)


def _wait(message: str) -> None:
    print(f"onemap: {message}", file=sys.stderr, flush=True)


def _touches(counties_json: str, code: str, replace_all: bool) -> bool:
    counties = json.loads(counties_json or "[]")
    return replace_all or any(c.startswith(code) or code.startswith(c[:6]) for c in counties)


def _lines(log: pd.DataFrame, path_kept: list[bool]) -> list[str]:
    out = []
    for r, kept in zip(log.itertuples(), path_kept, strict=True):
        counties = json.loads(r.counties or "[]")
        where = "全部" if r.replace_all else (", ".join(c[:6] for c in counties) or "—")
        files = ", ".join(f["name"] for f in json.loads(r.files or "[]")) or "—"
        rows = "" if pd.isna(r.rows_read) else f" 读入 {r.rows_read} 接收 {r.rows_accepted}"
        out.append(
            f"{r.rev:>4}  {r.time}  {r.user:<10} {r.kind:<8} 县 {where}  文件 {files}{rows}"
            f"  {r.summary}" + ("" if kept else "  [history pruned]")
        )
    return out


def run_history(args: argparse.Namespace) -> int:
    """Run ``onemap history`` (see ``register``)."""
    path = store_path(args.store)
    if args.prune:
        if args.dry_run:
            gone, freed = revisions.prune(path, days=args.keep_days, dry_run=True)
        else:
            with store_lock(path, writer(), what="history --prune", on_wait=_wait):
                gone, freed = revisions.prune(path, days=args.keep_days)
        verb = "would free" if args.dry_run else "freed"
        print(
            f"{verb} {freed / 1e6:.1f} MB: history of {len(gone)} revision(s)"
            + (f" ({', '.join(map(str, gone))})" if gone else "")
        )
        return 0
    store.read_build_info(path)  # a missing store: one clear line
    log = revisions.read_log(path)
    if args.county:
        mask = [
            _touches(c, args.county, bool(a))
            for c, a in zip(log["counties"], log["replace_all"], strict=True)
        ]
        log = log[mask]
    kept = [revisions.revision_dir(path, int(r)).is_dir() for r in log["rev"]]
    if args.json:
        for rec, k in zip(log.to_dict("records"), kept, strict=True):
            rec = {key: (None if pd.isna(v) else v) for key, v in rec.items()}
            rec["counties"] = json.loads(rec["counties"] or "[]")
            rec["files"] = json.loads(rec["files"] or "[]")
            rec["history_kept"] = k
            print(json.dumps(rec, ensure_ascii=False, default=int))
        return 0
    if log.empty:
        print("no revisions recorded (the store predates revisions or none match)")
        return 0
    print("\n".join(_lines(log, kept)))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    """Run ``onemap rollback REV`` (see ``register``)."""
    path = store_path(args.store)
    store.read_build_info(path)  # a missing store: one clear line
    later = revisions.later_overlaps(revisions.read_log(path), args.rev)
    if len(later):
        print(
            f"注意 warning: later revisions touched the same counties; rolling back {args.rev} "
            "puts their rows back as they were before it, undoing these too:\n"
            + "\n".join(_lines(later, [True] * len(later))),
            file=sys.stderr,
        )
    new = pipeline.rollback(path, args.rev, user=writer(), on_wait=_wait)
    print(f"已撤销修订 {args.rev}，写为修订 {new} rolled back revision {args.rev} as {new}: {path}")
    return 0
