"""``onemap store copy SRC DST``: move a store between a GeoPackage and PostGIS."""

from __future__ import annotations

import argparse
import sys
import time

from layers import store
from layers.accounts import writer
from layers.build.copy import copy_store
from layers.cli.progress import StageBar
from layers.settings import store_path

__all__ = ["register"]


def _wait(message: str) -> None:
    print(f"onemap: {message}", file=sys.stderr, flush=True)


def _cmd_copy(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    src, dst = store_path(args.src), store_path(args.dst)
    names = store.list_layers(src)
    bar = StageBar(tuple(names), desc="onemap store copy")
    try:
        rows = copy_store(
            src, dst, user=writer(), replace=args.replace, progress=bar, on_wait=_wait
        )
    finally:
        bar.close()
    total = sum(rows.values())
    print(
        f"已复制 copied {len(rows)} tables, {total:,} rows: {store.shown(src)} → "
        f"{store.shown(dst)} ({time.perf_counter() - t0:.1f} s)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``store copy`` to the ``onemap`` parser."""
    p = subparsers.add_parser("store", help="存储 copy a store (GeoPackage ↔ PostGIS)")
    sub = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    c = sub.add_parser(
        "copy",
        help="复制存储 copy every table, the revision log and the history",
        description="Copy the store SRC to DST: a GeoPackage file or a PostGIS URL "
        "postgresql://user@host:port/db[?schema=NAME], either way.",
    )
    c.add_argument("src", metavar="SRC", help="the store to copy (file or postgresql:// URL)")
    c.add_argument("dst", metavar="DST", help="where to copy it (file or postgresql:// URL)")
    c.add_argument("--replace", action="store_true", help="overwrite a store already at DST")
    c.set_defaults(func=_cmd_copy)
