"""Benchmark briefing exports: one map snapshot and the 17-page prefecture pack (not a test).

Run from the project root against a built store::

    python3 benchmarks/bench_export.py                       # data/onemap.gpkg (or $ONEMAP_STORE)
    python3 benchmarks/bench_export.py --store data/demo_small.gpkg --repeat 3

Times, with wall clock, in one process (the first map pays for font loading):

1. reading the snapshot the map needs (admin units, summaries, build info);
2. one snapshot of 怒江州 (533300000000) by county: PNG at 150 and 300 dpi, PDF, SVG;
3. the province map by prefecture (PNG, 150 dpi);
4. the prefecture pack: cover + one page per prefecture, PDF (17 pages in Yunnan) and PPTX.

Prints a Markdown table (median of ``--repeat`` runs) and writes the files under ``--out``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers import export as E
from layers import schema as S
from layers.settings import store_path

NUJIANG = "533300000000"


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="store (default: $ONEMAP_STORE, else data/onemap.gpkg)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--out", default="out/bench_export", help="where the files go")
    args = ap.parse_args(argv)
    path = store_path(args.store)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, float, str]] = []

    t0 = time.perf_counter()
    E.cjk_font()
    rows.append(("find the CJK font (first call)", time.perf_counter() - t0, ""))
    req = E.MapRequest(region=NUJIANG, metric=S.COMPLETION)
    dt, snap = _time(lambda: E.read_snapshot(path, levels=E.levels_for(req)), args.repeat)
    rows.append(("read snapshot (province, prefectures, counties)", dt, ""))
    dt, data = _time(lambda: E.prepare_map(snap, req), args.repeat)  # type: ignore[arg-type]
    rows.append(("prepare 怒江州 view (numbers, breaks, words)", dt, ""))
    E.write_map(data, out / "warmup.png")  # type: ignore[arg-type]
    for fmt, dpi in (("png", 150), ("png", 300), ("pdf", 150), ("svg", 150)):
        target = out / f"nujiang_{dpi}.{fmt}"
        dt, _ = _time(
            lambda f=fmt, d=dpi, t=target: E.write_map(data, t, fmt=f, dpi=d),  # type: ignore[arg-type, misc]
            args.repeat,
        )
        size = target.stat().st_size / 1e6
        label = f"snapshot 怒江州 {fmt.upper()}" + (f" {dpi} dpi" if fmt == "png" else "")
        rows.append((label, dt, f"{size:.2f} MB"))
    preq = E.MapRequest()
    dt, _ = _time(
        lambda: E.write_map(E.prepare_map(snap, preq), out / "province.png"),  # type: ignore[arg-type]
        args.repeat,
    )
    rows.append(("snapshot province by prefecture PNG 150 dpi (prepare + draw)", dt, ""))
    pack_repeat = max(1, min(args.repeat, 2))
    for fmt in ("pdf", "pptx"):
        target = out / f"pack_prefecture.{fmt}"
        dt, n = _time(
            lambda t=target: E.export_pack(t, snap=snap, by="prefecture"),  # type: ignore[arg-type, misc]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
