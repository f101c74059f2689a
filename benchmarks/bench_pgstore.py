"""GeoPackage vs PostGIS, side by side in one run: writing the store, reading projects, an import.

The demo province is generated and built once (no terrain); then, for each store:

- **write**: ``store.write_store`` of every table (GeoPackage: temporary file + rename; PostGIS:
  COPY into a new schema + swap, one transaction);
- **read all projects**: ``store.read_layer(projects)`` (what every dashboard process did before);
- **one county's projects, one sector**: the GeoPackage way the dashboard filters them (all
  projects read once, then masked in pandas) beside the PostGIS way (``filters=`` evaluated by
  the database with the county-code index) — a cold read each, no cache;
- **county import**: ``pipeline.commit_import`` of one county's ledger (an office workbook of its
  projects, funds ×1.01): lock, read the store, rebuild, write a revision — incrementally (the
  GeoPackage patched in a copy, PostGIS by rows in one transaction: ``build_info.rebuild`` is
  printed), and beside it the naive way (``incremental_ok=False``: every layer rebuilt and
  every table written again).

    python3 benchmarks/bench_pgstore.py [--scale 1.0] [--url postgresql://…] [--json out.json]

Without ``--url`` a PostGIS server is started in a temporary folder by ``scripts/postgis.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from layers import schema as S
from layers import store
from layers.build import pipeline, terrain
from layers.demo import generate as demo
from layers.ingest.prepare import prepare_import
from layers.ingest.template import office_ledger_workbook

__all__: list[str] = []

ROOT = Path(__file__).resolve().parent.parent


def _timed(fn, *args, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def _server(tmp: Path) -> tuple[str, Path]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp.chmod(0o755)
    data = tmp / "pg"
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgis.sh"), str(data), str(port)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip().splitlines()[-1], data


def _county_import(path: object, county: str, tmp: Path, *, incremental: bool = True) -> float:
    inputs = store.read_inputs(path)
    part = inputs.projects[inputs.projects[S.COUNTY_CODE] == county].copy()
    part[S.FUNDS_PLANNED] = part[S.FUNDS_PLANNED] * 1.01
    book = tmp / f"{county}.xlsx"
    book.write_bytes(office_ledger_workbook(part))
    t0 = time.perf_counter()
    prepared = prepare_import(inputs, ledgers=[book])
    pipeline.commit_import(path, prepared, user="bench", uploads=[book], incremental_ok=incremental)
    took = time.perf_counter() - t0
    print(f"  {store.shown(path)}: {store.read_build_info(path).get('rebuild')}", flush=True)
    return took


def main() -> None:
    """Run the benchmark and print a Markdown table (and JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--url", help="a PostGIS server URL (default: start one)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_pgstore_"))
    os.environ["ONEMAP_STATE_DIR"] = str(tmp / "state")
    data = None
    base = args.url
    if base is None:
        base, data = _server(tmp)
    url = f"{base}?schema=bench_{uuid.uuid4().hex[:8]}"
    gpkg = tmp / "store.gpkg"
    try:
        t_gen, inputs = _timed(demo.generate_demo, scale=args.scale)
        t_build, tables = _timed(pipeline.build_tables, inputs)
        info = pipeline.make_build_info(inputs, **{terrain.BUILD_INFO_KEY: terrain.NO_DEM})
        projects = tables[S.LAYER_PROJECTS]
        county = str(projects[S.COUNTY_CODE].value_counts().index[0])
        rows: dict[str, dict[str, float]] = {}
        for name, path in (("GeoPackage", gpkg), ("PostGIS", url)):
            r: dict[str, float] = {}
            r["write"], _ = _timed(store.write_store, path, tables, info)
            r["read all projects"], _ = _timed(store.read_layer, path, S.LAYER_PROJECTS)
            flt = {S.COUNTY_CODE: county, S.SECTOR: "industry"}
            if name == "GeoPackage":  # the dashboard's way: every project, then a mask

                def masked(p: object = path) -> object:
                    every = store.read_layer(p, S.LAYER_PROJECTS)
                    keep = every[S.COUNTY_CODE].eq(county) & every[S.SECTOR].eq("industry")
                    return every[keep.fillna(False).to_numpy(bool)]

                r["one county, one sector"], got = _timed(masked)
            else:
                r["one county, one sector"], got = _timed(
                    store.read_layer, path, S.LAYER_PROJECTS, filters=flt
                )
            r["rows"] = len(got)
            r["county import"] = _county_import(path, county, tmp)
            r["county import, full write"] = _county_import(path, county, tmp, incremental=False)
            rows[name] = r
        print(
            f"scale {args.scale}: {len(projects):,} projects; generate {t_gen:.1f} s, build "
            f"{t_build:.1f} s (once, shared); county {county} "
            f"({int((projects[S.COUNTY_CODE] == county).sum()):,} projects)\n"
        )
        keys = ["write", "read all projects", "one county, one sector", "county import"]
        keys.append("county import, full write")
        print("| store | " + " | ".join(keys) + " |")
        print("|---|" + "---:|" * len(keys))
        for name, r in rows.items():
            print(f"| {name} | " + " | ".join(f"{r[k]:.2f} s" for k in keys) + " |")
        if args.json:
            Path(args.json).write_text(json.dumps({"scale": args.scale, "rows": rows}, indent=1))
    finally:
        if data is not None:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "postgis.sh"), "--stop", str(data)],
                capture_output=True,
            )
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
