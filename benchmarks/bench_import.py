"""One county's import vs a full build, at full scale (issue #10: budget ≤ 20 %).

On a demo store (``onemap demo``, full scale unless ``--scale``), in one run and interleaved:

- **full build**: ``pipeline.run_build`` (``onemap build``: read the inputs, rebuild every layer,
  write the store);
- **naive import**: ``pipeline.commit_import(..., incremental_ok=False)``, the import as it was
  before incremental rebuilds (every layer rebuilt, the whole store written);
- **incremental import** of the county with the fewest and the one with the most projects.

An import here is the write step of ``onemap import`` (``commit_import``: inside the write lock,
rebuild, keep the history, write the store); reading the workbook is the same in both and not
counted (BENCHMARKS: reading the largest county's ledger is its own figure). The county's
ledger is the stored one with every ``funds_planned`` × 1.01 and a tenth of its projects marked
completed, merged as ``ingest.merge.merge_projects`` does. Every run starts from a fresh copy of
the store (the copy is not timed). After the runs the incremental result is compared with a
full rebuild of the same store, every table by ``store.table_sha256``.

    python3 benchmarks/bench_import.py [--store demo.gpkg] [--scale 1.0] [--repeat 3] [--json out]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from layers import schema as S
from layers import store
from layers.build import pipeline, revisions
from layers.ingest.merge import merge_projects
from layers.ingest.prepare import PreparedImport
from layers.ingest.report import ValidationReport

__all__: list[str] = []


def _county_import(inputs: store.Inputs, county: str) -> PreparedImport:
    projects = inputs.projects
    rows = projects[projects[S.COUNTY_CODE] == county].copy()
    rows[S.FUNDS_PLANNED] = rows[S.FUNDS_PLANNED] * 1.01
    tenth = rows.index[:: max(1, len(rows) // max(1, len(rows) // 10))][: len(rows) // 10]
    rows.loc[tenth, S.STATUS] = "completed"
    rows.loc[tenth, S.COMPLETION_DATE] = rows.loc[tenth, S.COMPLETION_DATE].fillna(
        pd.Timestamp("2020-06-30")
    )
    merged, counties = merge_projects(projects, rows)
    new = store.Inputs(inputs.admin_units, inputs.registry, merged)
    # as ``prepare_import`` says of a ledger-only import: boundaries and registry are the store's
    unchanged = frozenset({S.LAYER_ADMIN_UNITS, S.LAYER_REGISTRY})
    sources = {f"{county[:6]}.xlsx": "bench"}
    return PreparedImport(new, ValidationReport(), counties, sources, unchanged)


def _fresh(src: Path, work: Path, n: int) -> Path:
    dest = work / f"run{n}" / "store.gpkg"
    dest.parent.mkdir(parents=True)
    shutil.copyfile(src, dest)
    return dest


def _timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds (CPU: this process, all threads) of ``fn()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _identical(path: Path, work: Path) -> list[str]:
    """Tables of ``path`` that differ from a full rebuild of it (empty: identical)."""
    full = work / "check" / "store.gpkg"
    full.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, full)
    pipeline.run_build(full)
    skip = {S.TABLE_BUILD_INFO, revisions.TABLE_REVISIONS}
    names = [n for n in store.list_layers(path) if n not in skip]
    return [
        n
        for n in names
        if store.table_sha256(store.read_layer(path, n))
        != store.table_sha256(store.read_layer(full, n))
    ]


def main() -> None:
    """Run the benchmark and print a Markdown table (and JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, help="an existing demo store (default: generate one)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_import_"))
    src = args.store
    if src is None:
        src = work / "demo.gpkg"
        pipeline.run_demo(src, scale=args.scale)
    inputs = store.read_inputs(src)
    sizes = inputs.projects[S.COUNTY_CODE].value_counts()
    small, large = str(sizes.idxmin()), str(sizes.idxmax())
    imports = {c: _county_import(inputs, c) for c in (small, large)}
    base = revisions.head(src)
    times: dict[str, list[float]] = {"build": [], "naive": [], "small": [], "large": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    n = 0
    notes: dict[str, str] = {}
    for _ in range(args.repeat):
        for key in times:
            n += 1
            path = _fresh(src, work, n)
            if key == "build":
                wall, used = _timed(lambda p=path: pipeline.run_build(p))
                times[key].append(wall)
                cpu[key].append(used)
                shutil.rmtree(path.parent, ignore_errors=True)
                continue
            county = large if key == "naive" else (small if key == "small" else large)

            def run(p=path, c=county, k=key) -> None:
                pipeline.commit_import(
                    p, imports[c], expected_rev=base, incremental_ok=k != "naive"
                )

            wall, used = _timed(run)
            times[key].append(wall)
            cpu[key].append(used)
            notes[key] = store.read_build_info(path)["rebuild"]
            shutil.rmtree(path.parent, ignore_errors=True)
    check = _fresh(src, work, n + 1)
    pipeline.commit_import(check, imports[large], expected_rev=base)
    differing = _identical(check, work)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    rows = [
        ("full build (`onemap build`)", "build", ""),
        (f"naive import, largest county {large[:6]}", "naive", ""),
        (f"incremental import, smallest county {small[:6]}", "small", ""),
        (f"incremental import, largest county {large[:6]}", "large", ""),
    ]
    print(f"store {src} ({src.stat().st_size / 1e6:.0f} MB), {args.repeat} runs each, median")
    n_all = len(inputs.projects)
    print(f"projects: {small[:6]} {sizes[small]:,}, {large[:6]} {sizes[large]:,}, all {n_all:,}")
    print("| run | wall s, median | runs | / full build | CPU s, median | / full build |")
    print("|---|---:|---|---:|---:|---:|")
    for label, key, _ in rows:
        runs = ", ".join(f"{t:.2f}" for t in times[key])
        print(
            f"| {label} | {med[key]:.2f} | {runs} | {med[key] / med['build']:.0%} "
            f"| {med_cpu[key]:.2f} | {med_cpu[key] / med_cpu['build']:.0%} |"
        )
    print("rebuild notes:", json.dumps(notes, ensure_ascii=False))
    print("identical to a full rebuild:", "yes" if not differing else f"NO: {differing}")
    if args.json:
        out = {
            "times": times,
            "cpu": cpu,
            "median": med,
            "median_cpu": med_cpu,
            "counties": {"small": [small, int(sizes[small])], "large": [large, int(sizes[large])]},
            "differing": differing,
        }
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
