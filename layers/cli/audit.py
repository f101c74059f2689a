"""``onemap audit``: the store's quality issues (六定, 账实相符) and 账账相符 against a funds table.

Parses options, reads the store, filters by region, optionally reconciles the ledger with a
county funds table (``layers.ingest.reconcile``), prints counts per check and writes the issues.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from layers import schema as S
from layers import store
from layers.errors import OneMapError
from layers.ingest import reconcile
from layers.issues import SEVERITY_LABELS_ZH
from layers.settings import store_path

__all__ = ["QI_LABELS_ZH", "collect_issues", "register", "run"]

QI_LABELS_ZH = {
    S.QI_CHECK: "检查",
    S.QI_SEVERITY: "严重程度",
    S.QI_ENTITY: "对象",
    S.QI_ENTITY_ID: "编号",
    S.QI_CODE: "区划代码",
    S.QI_MESSAGE: "说明",
    S.QI_VALUE: "值",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` sub-command to the ``onemap`` parser."""
    p = subparsers.add_parser(
        "audit",
        help="数据质量检查 quality issues: 六定, 账实相符, 账账相符",
        description=(
            "List the store's quality issues (six fixes, completed without date, spent over "
            "allocated, beneficiaries over poor population, points outside their village with "
            "distance) for a region, and reconcile ledger totals with a county funds table."
        ),
    )
    p.add_argument(
        "--store", metavar="PATH", help="store (default $ONEMAP_STORE or data/onemap.gpkg)"
    )
    p.add_argument("--region", metavar="CODE", help="2–12 digit code of a prefecture/county/…")
    p.add_argument("--funds-table", metavar="FILE", help="county funds table .xlsx/.csv (账账相符)")
    p.add_argument("--encoding", help="CSV encoding of the funds table (default: detect)")
    p.add_argument("--unit", choices=("元", "万元"), help="funds table unit if it names none")
    p.add_argument("--out", metavar="FILE", help="write the issues (.xlsx or .csv)")
    p.add_argument("--limit", type=int, default=10, help="issues to print per check (default 10)")
    p.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        help="exit 1 if any issue of this severity (or worse) is found",
    )
    p.set_defaults(func=run)


def collect_issues(
    path: Path, *, region: str | None = None, funds_table: str | None = None, **read_kw
) -> pd.DataFrame:
    """The store's quality issues in ``region`` plus the funds-table reconciliation.

    Parameters
    ----------
    path
        The store.
    region
        A 2–12 digit code (None: the whole province).
    funds_table
        A county funds table to reconcile the ledger with (账账相符).
    **read_kw
        ``encoding`` and ``unit`` for reading the funds table.

    Returns
    -------
    DataFrame
        ``quality_issues`` rows, the reconciliation's first.
    """
    issues = store.read_layer(path, S.TABLE_QUALITY_ISSUES)
    if funds_table is not None:
        inputs = store.read_inputs(path)
        funds = reconcile.read_funds_table(funds_table, admin_units=inputs.admin_units, **read_kw)
        extra = reconcile.reconcile_funds(inputs.projects, funds)
        issues = pd.concat([extra, issues], ignore_index=True)
    return reconcile.filter_region(issues, region).reset_index(drop=True)


def run(args: argparse.Namespace) -> int:
    """Run ``onemap audit`` (see ``register``)."""
    path = store_path(args.store)
    if args.region is not None and not (args.region.isdigit() and len(args.region) <= 12):
        raise OneMapError(f"--region {args.region!r} is not a 2–12 digit code, e.g. 533300")
    issues = collect_issues(
        path,
        region=args.region,
        funds_table=args.funds_table,
        encoding=args.encoding,
        unit=args.unit,
    )
    where = f"区域 {args.region}" if args.region else "全省"
    print(f"{where}: {len(issues)} 个问题 issues")
    if len(issues):
        counts = issues.groupby([S.QI_SEVERITY, S.QI_CHECK]).size().rename("n").reset_index()
        rank = counts[S.QI_SEVERITY].map({"error": 0, "warning": 1, "info": 2})
        counts = counts.assign(_r=rank).sort_values(["_r", "n"], ascending=[True, False])
        for _, row in counts.iterrows():
            label = reconcile.CHECK_LABELS_ZH.get(row[S.QI_CHECK], row[S.QI_CHECK])
            sev = SEVERITY_LABELS_ZH.get(row[S.QI_SEVERITY], row[S.QI_SEVERITY])
            print(f"  [{sev}] {label} ({row[S.QI_CHECK]}): {row['n']}")
            sub = issues[issues[S.QI_CHECK] == row[S.QI_CHECK]].head(args.limit)
            for msg in sub[S.QI_MESSAGE]:
                print(f"      {msg}")
    if args.out:
        out = Path(args.out)
        table = issues.rename(columns=QI_LABELS_ZH)
        if out.suffix.lower() == ".xlsx":
            table.to_excel(out, index=False, sheet_name="数据质量")
        else:
            table.to_csv(out, index=False, encoding="utf-8-sig")
        print(f"已写出 written: {out}")
    if args.fail_on:
        worst = {"error": {"error"}, "warning": {"error", "warning"}}[args.fail_on]
        if issues[S.QI_SEVERITY].isin(worst).any():
            return 1
    return 0
