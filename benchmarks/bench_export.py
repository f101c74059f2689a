"""Benchmark briefing exports: one map snapshot and the 17-page prefecture pack (not a test).

Run from the project root against a built store::

    python3 benchmarks/bench_export.py                       # data/onemap.gpkg (or $ONEMAP_STORE)
    python3 benchmarks/bench_export.py --store data/demo_small.gpkg --repeat 3

Times, with wall clock, in one process (the first map pays for font loading):

1. reading the snapshot the map needs (admin units, summaries, build info);
2. one snapshot of 怒江州 (533300000000) by county: PNG at 150 and 300 dpi, PDF, SVG;
3. the province map by prefecture (PNG, 150 dpi);
4. the prefecture pack: cover + one page per prefecture, PDF (17 pages in Yunnan) and PPTX;
5. the whole project table (192,000 rows in the demo) as XLSX and CSV bytes through
   ``layers.export.tables`` beside the naive way in the same run (pandas ``to_excel`` through
   openpyxl, pandas ``to_csv``; the naive XLSX runs once, it takes about a minute).

Prints a Markdown table (median of ``--repeat`` runs; wall and CPU seconds) and writes the
files under ``--out``. ``--only-tables`` runs step 5 alone.

Measured on the full demo store (192,000 projects, 21 columns, 2-core machine under load):
XLSX 2.7 s CPU (naive 53.6 s), CSV 0.30 s CPU (naive 1.55 s).
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd

from layers import schema as S
from layers import store
from layers.export import maps, pack, snapshot, tables
from layers.settings import store_path

NUJIANG = "533300000000"


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    return _time_cpu(fn, repeat)[0::2]  # type: ignore[return-value]


def _time_cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def naive_xlsx_bytes(table: pd.DataFrame) -> bytes:
    """The way ``tables.to_xlsx_bytes`` wrote XLSX before: pandas ``to_excel`` via openpyxl."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        tables.escape_formulas(table).to_excel(writer, sheet_name="OneMap", index=False)
    return buf.getvalue()


def naive_csv_bytes(table: pd.DataFrame) -> bytes:
    """The way ``tables.to_csv_bytes`` wrote CSV before: pandas ``to_csv``."""
    return tables.escape_formulas(table).to_csv(index=False).encode("utf-8-sig")


def table_rows(path: Path, out: Path, repeat: int) -> list[tuple[str, float, float, str]]:
    """Time the project table downloads, new beside naive (rows: step, wall, CPU, size)."""
    rows: list[tuple[str, float, float, str]] = []
    wall, cpu, projects = _time_cpu(lambda: store.read_layer(path, S.LAYER_PROJECTS), 1)
    n = len(projects)  # type: ignore[arg-type]
    rows.append((f"read projects ({n:,} rows)", wall, cpu, ""))
    wall, cpu, table = _time_cpu(
        lambda: tables.project_table(projects, with_missing_fixes=True),  # type: ignore[arg-type]
        repeat,
    )
    rows.append(("project_table (Chinese headers and labels)", wall, cpu, ""))
    steps: list[tuple[str, Callable[[pd.DataFrame], bytes], int, str]] = [
        ("XLSX tables.to_xlsx_bytes (streamed sheet XML)", tables.to_xlsx_bytes, repeat, "xlsx"),
        ("XLSX naive pandas to_excel (openpyxl)", naive_xlsx_bytes, 1, "xlsx"),
        ("CSV tables.to_csv_bytes (pyarrow)", tables.to_csv_bytes, repeat, "csv"),
        ("CSV naive pandas to_csv", naive_csv_bytes, repeat, "csv"),
    ]
    for label, fn, times, ext in steps:
        wall, cpu, data = _time_cpu(lambda f=fn: f(table), times)  # type: ignore[misc, arg-type]
        name = "naive" if "naive" in label else "projects"
        (out / f"{name}.{ext}").write_bytes(data)  # type: ignore[arg-type]
        size = len(data) / 1e6  # type: ignore[arg-type]
        rows.append((f"{label}{'' if times > 1 else ' (1 run)'}", wall, cpu, f"{size:.1f} MB"))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="store (default: $ONEMAP_STORE, else data/onemap.gpkg)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--out", default="out/bench_export", help="where the files go")
    ap.add_argument("--only-tables", action="store_true", help="time the table downloads only")
    args = ap.parse_args(argv)
    path = store_path(args.store)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table_report = table_rows(path, out, args.repeat)
    if args.only_tables:
        _print_tables(path, args.repeat, table_report)
        return 0
    rows: list[tuple[str, float, str]] = []

    t0 = time.perf_counter()
    maps.cjk_font()
    rows.append(("find the CJK font (first call)", time.perf_counter() - t0, ""))
    req = snapshot.MapRequest(region=NUJIANG, metric=S.COMPLETION)
    dt, snap = _time(
        lambda: snapshot.read_snapshot(path, levels=snapshot.levels_for(req)), args.repeat
    )
    rows.append(("read snapshot (province, prefectures, counties)", dt, ""))
    dt, data = _time(lambda: maps.prepare_map(snap, req), args.repeat)  # type: ignore[arg-type]
    rows.append(("prepare 怒江州 view (numbers, breaks, words)", dt, ""))
    maps.write_map(data, out / "warmup.png")  # type: ignore[arg-type]
    for fmt, dpi in (("png", 150), ("png", 300), ("pdf", 150), ("svg", 150)):
        target = out / f"nujiang_{dpi}.{fmt}"
        dt, _ = _time(
            lambda f=fmt, d=dpi, t=target: maps.write_map(data, t, fmt=f, dpi=d),  # type: ignore[arg-type, misc]
            args.repeat,
        )
        size = target.stat().st_size / 1e6
        label = f"snapshot 怒江州 {fmt.upper()}" + (f" {dpi} dpi" if fmt == "png" else "")
        rows.append((label, dt, f"{size:.2f} MB"))
    preq = snapshot.MapRequest()
    dt, _ = _time(
        lambda: maps.write_map(maps.prepare_map(snap, preq), out / "province.png"),  # type: ignore[arg-type]
        args.repeat,
    )
    rows.append(("snapshot province by prefecture PNG 150 dpi (prepare + draw)", dt, ""))
    pack_repeat = max(1, min(args.repeat, 2))
    for fmt in ("pdf", "pptx"):
        target = out / f"pack_prefecture.{fmt}"
        dt, n = _time(
            lambda t=target: pack.export_pack(t, snap=snap, by="prefecture"),  # type: ignore[arg-type, misc]
            pack_repeat,
        )
        size = target.stat().st_size / 1e6
        rows.append((f"pack by prefecture {fmt.upper()} ({n} pages)", dt, f"{size:.2f} MB"))

    info = snap.build_info  # type: ignore[attr-defined]
    print(f"# bench_export — {path} (built {info.get('built_at', '?')}, demo={info.get('demo')})")
    print(f"python {platform.python_version()} · {platform.machine()} · median of {args.repeat}\n")
    print("| step | seconds | file |")
    print("|---|---:|---:|")
    for name, secs, extra in rows:
        print(f"| {name} | {secs:.2f} | {extra} |")
    print()
    _print_tables(path, args.repeat, table_report)
    return 0


def _print_tables(path: Path, repeat: int, rows: list[tuple[str, float, float, str]]) -> None:
    print(f"## table downloads — {path} · median of {repeat} · CPU = process time\n")
    print("| step | wall s | CPU s | bytes |")
    print("|---|---:|---:|---:|")
    for name, wall, cpu, extra in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {extra} |")


if __name__ == "__main__":
    sys.exit(main())
