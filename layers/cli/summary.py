"""``onemap summary``: the KPIs of the province, a region or a zone, as text or JSON."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from layers import schema as S
from layers.cli.options import add_store
from layers.present.summary import KPIS, summary_record
from layers.settings import store_path

__all__ = ["format_summary", "register"]


def format_summary(record: Mapping[str, Any]) -> str:
    """Chinese-first text for a ``summary_record``."""
    if "zone" in record:
        head = f"{record['zone']} · 重点区域 zone"
    else:
        level = S.LEVEL_LABELS_ZH.get(record["level"], record["level"])
        head = f"{record['region']} · {level} ({record['code']})"
    if record.get("demo"):
        head += " · 演示数据 demo data"
    lines = [head]
    for key, (_, label, kind) in KPIS.items():
        value = record[key]
        if value is None:
            text = "—"
        elif kind == "rate":
            text = f"{value:.1%}"
        elif kind == "money":
            text = f"{value:,.1f}"
        else:
            text = f"{value:,}"
        lines.append(f"  {label:<36}{text:>16}")
    lines.append(f"  store {record['store']} (built {record.get('built_at') or '?'})")
    return "\n".join(lines)


def _cmd_summary(args: argparse.Namespace) -> int:
    path = store_path(args.store)
    record = summary_record(path, region=args.region, zone=args.zone)
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(format_summary(record))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``summary`` to the ``onemap`` parser."""
    p = subparsers.add_parser("summary", help="指标汇总 KPIs of the province, a region or a zone")
    add_store(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--region", metavar="CODE", help="6- or 12-digit code (or exact name)")
    which.add_argument("--zone", metavar="NAME", help="action-plan zone, e.g. 怒江州")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_summary)
