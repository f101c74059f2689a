"""The cost of keeping history: bytes and time per county import, vs a naive full snapshot.

For every county with projects, one monthly import is simulated on the demo inputs (every project
of the county changes: ``funds_planned`` × 1.01, read from an office-style workbook would give
the same frame) and its history is staged exactly as ``onemap import`` does
(``revisions.stage``: the replaced rows, the uploaded workbook, the validation report omitted).
The naive baseline keeps a full snapshot of the three inputs (GeoParquet) per revision. No layer
is rebuilt (that is the build's benchmark). Twelve months = 12 × one month (each month replaces
the same rows of the same counties; sizes do not depend on the month).

    python3 benchmarks/bench_history.py [--scale 1.0] [--counties N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from layers import schema as S
from layers import store
from layers.build import revisions
from layers.demo import generate as demo
from layers.ingest.merge import merge_projects
from layers.ingest.template import office_ledger_workbook

__all__: list[str] = []


def _dir_size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def main() -> None:
    """Run the benchmark and print a Markdown table (and JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--counties", type=int, default=0, help="only the first N counties (0: all)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    inputs = demo.generate_demo(scale=args.scale)
    projects = inputs.projects
    counties = sorted(projects[S.COUNTY_CODE].dropna().unique())
    if args.counties:
        counties = counties[: args.counties]
    tmp = Path(tempfile.mkdtemp(prefix="bench_history_"))
    path = tmp / "store.gpkg"
    t_stage = 0.0
    sizes, naive_sizes, books = [], 0, 0
    t0 = time.perf_counter()
    snap = tmp / "snapshot"
    snap.mkdir()
    for name in ("admin_units", "registry", "projects"):
        getattr(inputs, name).to_parquet(snap / f"{name}.parquet")
    naive_one = _dir_size(snap)
    t_naive_one = time.perf_counter() - t0
    for rev, county in enumerate(counties, start=1):
        part = projects[projects[S.COUNTY_CODE] == county].copy()
        part[S.FUNDS_PLANNED] = part[S.FUNDS_PLANNED] * 1.01
        book = office_ledger_workbook(part)
        books += len(book)
        merged, replaced = merge_projects(projects, part)
        after = store.Inputs(inputs.admin_units, inputs.registry, merged)
        t = time.perf_counter()
        staged, _files = revisions.stage(
            path, rev, inputs, after, counties=replaced, uploads=[(f"{county}.xlsx", book)]
        )
        final = revisions.publish(path, staged, rev)
        t_stage += time.perf_counter() - t
        sizes.append(_dir_size(final))
        naive_sizes += naive_one
    n = len(counties)
    total = sum(sizes)
    result = {
        "scale": args.scale,
        "counties": n,
        "projects": len(projects),
        "history_bytes_month": total,
        "history_bytes_12_months": 12 * total,
        "uploaded_workbooks_bytes_month": books,
        "largest_revision_bytes": max(sizes),
        "smallest_revision_bytes": min(sizes),
        "stage_seconds_per_import": t_stage / n,
        "naive_snapshot_bytes_per_revision": naive_one,
        "naive_bytes_12_months": 12 * naive_sizes,
        "naive_snapshot_seconds": t_naive_one,
    }
    print("| measure | value |\n|---|---:|")
    for k, v in result.items():
        print(f"| {k} | {v:,.3f} |" if isinstance(v, float) else f"| {k} | {v:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
