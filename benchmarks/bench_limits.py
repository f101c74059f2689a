"""Benchmark bounded input: refusing a zip bomb and a 50,000-column CSV, beside reading a normal
county ledger, in one run (not a test).

Run from the project root against a built full demo store::

    python3 benchmarks/bench_limits.py --store /tmp/full.gpkg

Each case runs in a fresh child process (``multiprocessing`` fork), so the peak resident memory
(``ru_maxrss`` of the child, which sees calamine's native allocations too) and the wall time
belong to that case alone:

1. ``ledger``: the demo's largest county ledger laid out as a county office does
   (``office_ledger_workbook``), read and validated by ``read_ledger``: the normal work;
2. ``bomb``: a .xlsx of a few MB whose one sheet unpacks to ~600 MB, refused by ``read_ledger``;
3. ``wide``: a CSV with 50,000 columns, refused by ``read_ledger``;
4. ``wide (no limits)``: the same CSV read with the limits lifted (the naive baseline; the bomb's
   naive read took 109 s and 5.1 GB before it died, so it is not repeated here);
5. ``boundaries``: the same county's village boundaries as a zipped shapefile, read by
   ``read_boundary_units`` (the normal boundary import);
6. ``shapefile bomb``: a .zip whose .shp unpacks to ~600 MB of zeros, refused from the zip's
   central directory, and the same with the limits lifted (the naive baseline: unpacked to a
   temporary directory, then GDAL fails on it);
7. ``150,000 features``: a GeoPackage of 150,000 small squares, refused from its SQLite count,
   and read with the limits lifted (naive baseline).

Prints a Markdown table; the first row is the child's memory before it reads anything (inherited
from the parent), to subtract from the others.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from layers import schema as S
from layers.errors import BoundaryError, LedgerError
from layers.ingest import limits
from layers.ingest.boundaries import read_boundary_units
from layers.ingest.ledger import read_ledger
from layers.ingest.template import office_ledger_workbook


def bomb_xlsx(unpacked_mb: int) -> bytes:
    """A workbook whose sheet is ``unpacked_mb`` MB of rows of varied numbers."""
    row = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 7919 % 10007)
        for i in range(1, 41)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<worksheet><dimension ref="A1"/><sheetData>')
            for _ in range(unpacked_mb * (1 << 20) // len(row)):
                f.write(row)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def wide_csv(columns: int = 50_000) -> bytes:
    head = ",".join(f"列{i}" for i in range(columns))
    return (head + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode("utf-8")


def shapefile_bomb(unpacked_mb: int) -> bytes:
    """A zipped 'shapefile' whose .shp is ``unpacked_mb`` MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("村界.shp", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(unpacked_mb):
                f.write(block)
        z.writestr("村界.dbf", b"\x03" + bytes(31))
        z.writestr("村界.shx", bytes(100))
    return buf.getvalue()


def zipped_shapefile(gdf: gpd.GeoDataFrame, tmp: Path) -> bytes:
    """``gdf`` written as a shapefile and zipped as a county sends it."""
    gdf.to_file(tmp / "村界.shp", encoding="utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(tmp.glob("村界.*")):
            z.write(f, f.name)
    return buf.getvalue()


def many_features(n: int, path: Path) -> bytes:
    """A GeoPackage of ``n`` small squares with village codes."""
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = 98 + (i % side) * 0.002, 22 + (i // side) * 0.002
    gdf = gpd.GeoDataFrame(
        {"code": [f"5303{k:08d}" for k in range(1, n + 1)], "name": "村"},
        geometry=shapely.box(x, y, x + 0.0015, y + 0.0015),
        crs="EPSG:4326",
    )
    gdf.to_file(path, driver="GPKG")
    return path.read_bytes()


def _read(source: tuple[str, bytes]) -> str:
    if source[0].endswith((".zip", ".gpkg")):
        return f"{len(read_boundary_units(source, level='village').table):,} units read"
    return f"{len(read_ledger(source).table):,} projects read"


def _child(case: str, source: tuple[str, bytes] | None, lift: bool, out: mp.Queue) -> None:
    if source is None:  # the fork's own memory: what the parent held when it forked
        out.put((case, 0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "-"))
        return
    if lift:  # the naive baseline: no limits
        big = limits.Limits(1 << 40, 1 << 40, 1e9, 10**9, 10**9, 10**12, 1 << 40, 10**9, 10**12)
        limits.default_limits = lambda: big  # type: ignore[assignment]
    t0 = time.perf_counter()
    try:
        result = _read(source)
    except (LedgerError, BoundaryError) as e:
        result = "refused: " + str(e).split(";")[0].split(" (")[0]
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((case, wall, peak_mb, result))


def run_case(case: str, source: tuple[str, bytes] | None, *, lift: bool = False) -> tuple:
    ctx = mp.get_context("fork")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=_child, args=(case, source, lift, q))
    p.start()
    p.join(600)
    if p.is_alive():
        p.kill()
        return (case, float("nan"), float("nan"), "did not finish in 600 s")
    return q.get()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a full demo store (onemap demo)")
    ap.add_argument("--bomb-mb", type=int, default=600, help="what the zip bomb unpacks to")
    ap.add_argument("--features", type=int, default=150_000, help="features of the big GeoPackage")
    ap.add_argument("--only-boundaries", action="store_true", help="skip the ledger cases")
    args = ap.parse_args()
    projects = pyogrio.read_dataframe(args.store, layer="projects")
    county = projects[S.COUNTY_CODE].value_counts().index[0]
    mine = projects[projects[S.COUNTY_CODE] == county]
    ledger = office_ledger_workbook(mine)
    bomb = bomb_xlsx(args.bomb_mb)
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    wide = wide_csv()
    print(
        f"python {platform.python_version()}, {platform.machine()}; largest county {county}: "
        f"{len(mine):,} projects, ledger {len(ledger) / 2**20:.2f} MB; bomb "
        f"{len(bomb) / 2**20:.2f} MB → {unpacked / 2**20:.0f} MB; wide CSV "
        f"{len(wide) / 2**20:.2f} MB\n"
    )
    units = pyogrio.read_dataframe(args.store, layer="admin_units")
    mine_units = units[(units[S.LEVEL] == "village") & units[S.CODE].str.startswith(county[:6])]
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        village_zip = zipped_shapefile(mine_units[[S.CODE, S.NAME, "geometry"]], Path(tmp))
        big_gpkg = many_features(args.features, Path(tmp) / "many.gpkg")
    shp_bomb = shapefile_bomb(args.bomb_mb)
    print(
        f"village boundaries of {county}: {len(mine_units):,} units, "
        f"{len(village_zip) / 2**20:.2f} MB zipped; shapefile bomb {len(shp_bomb) / 2**10:.0f} KB "
        f"→ {args.bomb_mb} MB; {args.features:,}-feature GeoPackage "
        f"{len(big_gpkg) / 2**20:.1f} MB\n"
    )
    rows = [run_case("fork baseline (nothing read)", None)]
    if not args.only_boundaries:
        rows += [
            run_case("county ledger (normal import)", ("ledger.xlsx", ledger)),
            run_case("zip bomb .xlsx", ("bomb.xlsx", bomb)),
            run_case("50,000-column CSV", ("wide.csv", wide)),
            run_case("50,000-column CSV, limits lifted (naive)", ("wide.csv", wide), lift=True),
        ]
    rows += [
        run_case("county village boundaries, zipped shapefile", ("村界.zip", village_zip)),
        run_case("shapefile zip bomb", ("bomb.zip", shp_bomb)),
        run_case("shapefile zip bomb, limits lifted (naive)", ("bomb.zip", shp_bomb), lift=True),
        run_case(f"{args.features:,}-feature GeoPackage", ("many.gpkg", big_gpkg)),
        run_case(
            f"{args.features:,}-feature GeoPackage, limits lifted (naive)",
            ("many.gpkg", big_gpkg),
            lift=True,
        ),
    ]
    print("| case | wall s | peak RSS MB | result |")
    print("|---|---:|---:|---|")
    for case, wall, peak, result in rows:
        print(f"| {case} | {wall:.2f} | {peak:.0f} | {result} |")


if __name__ == "__main__":
    main()
