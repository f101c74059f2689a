"""``onemap import``: read ledgers, a registry and boundary files, report, merge and rebuild.

Parses options, reads the current store, calls ``ingest.prepare.prepare_import``, writes the
validation report, then rebuilds and writes the store atomically (a failure leaves it unchanged).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from layers import schema as S
from layers import store
from layers.accounts import writer
from layers.build import pipeline, revisions
from layers.cli.progress import StageBar
from layers.errors import LedgerError, StaleStoreError, StoreError
from layers.ingest.aliases import column_map_for
from layers.ingest.prepare import PreparedImport, ReadOptions, prepare_import
from layers.ingest.report import ValidationReport
from layers.present import messages
from layers.settings import store_path

__all__ = ["register", "run"]

#: an import checked against a store that changed before it was written is checked again
_ATTEMPTS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` sub-command to the ``onemap`` parser."""
    p = subparsers.add_parser(
        "import",
        help="导入台账、建档立卡名册和边界并重建 import ledgers/registry/boundaries and rebuild",
        description=(
            "Import county project ledgers (XLSX/CSV, UTF-8 or GBK), a poverty registry (village "
            "or household rows; personal columns are never stored) and boundary files (any CRS), "
            "write a validation report, and rebuild the store. A county's ledger replaces that "
            "county's projects; the store changes only if the whole import succeeds."
        ),
    )
    p.add_argument("--ledger", nargs="+", default=[], metavar="FILE", help="项目库 .xlsx/.csv")
    p.add_argument("--registry", metavar="FILE", help="建档立卡 registry .xlsx/.csv")
    p.add_argument(
        "--boundaries",
        action="append",
        default=[],
        metavar="FILE",
        help="boundary file (.gpkg/.shp/.geojson/.zip); repeat with --level for each",
    )
    p.add_argument(
        "--level",
        action="append",
        default=[],
        choices=S.LEVELS,
        help="level of each --boundaries file (one --level applies to all)",
    )
    p.add_argument(
        "--store", metavar="PATH", help="store (default $ONEMAP_STORE or data/onemap.gpkg)"
    )
    p.add_argument(
        "--report",
        metavar="PATH",
        help="validation report (.xlsx + .csv; default <store>_import_report next to the store)",
    )
    p.add_argument(
        "--replace-all", action="store_true", help="replace the whole ledger, not only its counties"
    )
    p.add_argument("--encoding", help="CSV/attribute encoding (default: detect UTF-8 or GBK)")
    p.add_argument("--unit", choices=("元", "万元"), help="amount unit when the file names none")
    p.add_argument(
        "--crs", help="CRS of boundary files without (or with a wrong) .prj, e.g. EPSG:4543, GK3:34"
    )
    p.add_argument("--gcj02", action="store_true", help="coordinates are GCJ-02 (高德/腾讯 maps)")
    p.add_argument(
        "--allow-later-years",
        action="store_true",
        help="accept plan years after the campaign (settings.CAMPAIGN_YEARS, 2014–2020) with a "
        "warning; by default those rows are refused and reported",
    )
    p.add_argument(
        "--column-map",
        metavar="TOML",
        help="header mapping (default data/column_map.toml); the store's header aliases "
        "(<store>.column_map.toml, added on the 数据导入 page) are read on top",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="语言 of the validation report's files and summary: zh (default) or en",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and write the report; do not change the store",
    )
    p.set_defaults(func=run)


def _write_report(report: ValidationReport, out_base: Path, lang: str) -> tuple[list[Path], str]:
    """Write the report's files in ``lang`` (Chinese as the import wrote it); the summary line."""
    if lang != "en":
        return report.write(out_base), report.summary()
    words = messages.report_words(report, lang)
    return messages.report_in(report, lang).write(out_base, words), words["summary_line"]


def _boundary_pairs(files: list[str], levels: list[str]) -> list[tuple[str, str]]:
    if not files:
        return []
    if len(levels) == 1:
        levels = levels * len(files)
    if len(levels) != len(files):
        raise LedgerError(
            f"{len(files)} --boundaries file(s) but {len(levels)} --level value(s); give one "
            "--level for all or one per file, e.g. --boundaries towns.shp --level township"
        )
    return list(zip(files, levels, strict=True))


def _wait(message: str) -> None:
    print(f"onemap: {message}", file=sys.stderr, flush=True)


def _prepare(path: Path, files: dict) -> tuple[int, PreparedImport]:
    """Read the store (its revision first) and check the files against it."""
    bar = StageBar(("read store", "read + validate files"), desc="onemap import")
    try:
        bar("read store")
        base = revisions.head(path)
        current = store.read_inputs(path) if store.exists(path) else None
        bar("read + validate files")
        return base, prepare_import(current, **files)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    """Run ``onemap import`` (see ``register``)."""
    t0 = time.perf_counter()
    path = store_path(args.store)
    pairs = _boundary_pairs(args.boundaries, args.level)
    options = ReadOptions(
        encoding=args.encoding,
        unit=args.unit,
        crs=args.crs,
        gcj02=args.gcj02,
        column_map=column_map_for(path, args.column_map),
        allow_later_years=args.allow_later_years,
    )
    files = dict(
        ledgers=args.ledger,
        registry=args.registry,
        boundaries=pairs,
        replace_all=args.replace_all,
        options=options,
    )
    base, prepared = _prepare(path, files)
    report = prepared.report
    if args.report:
        out_base = Path(args.report)
    elif store.is_url(path):  # a PostGIS store: the report goes to the working directory
        out_base = Path("onemap_import_report")
    else:
        out_base = path.with_name(f"{path.stem}_import_report")
    written, summary = _write_report(report, out_base, args.lang)
    for _, src in report.sources.iterrows():
        where = f"{src['file']}" + (f" [{src['sheet']}]" if src["sheet"] else "")
        header = f"表头第 {src['header_rows']} 行, " if src["header_rows"] else ""
        print(
            f"{where}: {src['kind']}, {header}编码 {src['encoding']}, "
            f"读入 {src['rows_in']} = 接收 {src['accepted']} + 拒收 {src['rejected']}"
            + (f"; {src['notes']}" if src["notes"] else "")
        )
    print(summary)
    print("验证报告 report: " + ", ".join(str(p) for p in written))
    if args.dry_run:
        print("试运行 dry run: the store was not changed")
        return 0
    uploads = [*args.ledger, *([args.registry] if args.registry else []), *args.boundaries]
    for _attempt in range(_ATTEMPTS):
        bar = StageBar(("build + write",), desc="onemap import")
        try:
            bar("build + write")
            pipeline.commit_import(
                path,
                prepared,
                user=writer(),
                expected_rev=base,
                uploads=uploads,
                replace_all=args.replace_all,
                on_wait=_wait,
            )
            break
        except StaleStoreError as e:
            print(f"onemap: {e}", file=sys.stderr)
            print("重新检查 checking again against the new store", file=sys.stderr)
            base, prepared = _prepare(path, files)
            print(_write_report(prepared.report, out_base, args.lang)[1])
        finally:
            bar.close()
    else:
        raise StoreError(
            f"the store kept changing while importing ({_ATTEMPTS} attempts); try again"
        )
    if prepared.replaced_counties:
        print(
            f"替换了 {len(prepared.replaced_counties)} 个县的项目库 replaced county libraries: "
            + ", ".join(c[:6] for c in prepared.replaced_counties)
        )
    print(f"已导入并重建 imported and rebuilt: {path} ({time.perf_counter() - t0:.1f} s)")
    return 0
