"""``onemap demo --scale N`` for N = 1, 2, 5 …: wall time and peak memory of each run (not a test).

Each scale runs as its own child process (``python3 -m layers.cli.main demo --scale N --out
TMP``), so the peak resident memory is that run's own (``os.wait4`` → ``ru_maxrss``), nothing
inherited; the process tree's resident memory is also sampled by ``psutil`` every 0.2 s. The
naive baseline beside it is linear growth from scale 1: N × the peak and the wall of the scale-1
run in the same session (what holding N copies of the scale-1 run would cost).

With ``--pg postgresql://user@host:port/db`` each scale is written into PostGIS instead (schema
``scale_N``; above scale 1 the build streams the ledger chunk by chunk), PostgreSQL's own size of
the schema (tables, indexes, TOAST) is reported, and ``--loadgen`` then times the dashboard on
the largest one: ``benchmarks/loadgen.py --store URL --sessions 1`` (first load + three filter
changes). The machine's load average (``/proc/loadavg``) is printed before and after each run.

Usage (project root)::

    python3 benchmarks/bench_scale.py                  # scales 1 2 5
    python3 benchmarks/bench_scale.py --scales 1 2 5 20 --no-terrain
    python3 benchmarks/bench_scale.py --scales 1 5 20 --no-terrain --loadgen \
        --pg postgresql://onemap@127.0.0.1:5432/onemap
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from layers import pgstore

ROOT = Path(__file__).resolve().parent.parent


def _sample_tree(pid: int, peak: list[float], stop: threading.Event) -> None:
    """Keep in ``peak[0]`` the largest resident memory (MB) of ``pid`` and its descendants."""
    try:
        root = psutil.Process(pid)
        while not stop.is_set():
            total = 0
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total / 2**20)
            stop.wait(0.2)
    except psutil.Error:
        return


def run_demo(scale: float, out: str, *, terrain: bool) -> tuple[float, float, float, float]:
    """Run ``onemap demo`` in a child; return (wall s, CPU s, peak RSS MB, tree peak MB)."""
    cmd = [sys.executable, "-m", "layers.cli.main", "demo", "--scale", f"{scale:g}"]
    cmd += ["--out", str(out)] + ([] if terrain else ["--no-terrain"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, peak, stop), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0]


def schema_mb(url: str) -> float:
    """PostgreSQL's size of the store's schema: every table with its indexes and TOAST, MB."""
    t = pgstore.parse(url)
    with pgstore.engine(url).connect() as conn:
        size = conn.execute(
            sa.text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relkind = 'r'"
            ),
            {"s": t.schema},
        ).scalar()
    return float(size or 0) / 2**20


def loadavg() -> str:
    """The 1/5/15-minute load averages, as ``uptime`` shows them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 5])
    ap.add_argument("--no-terrain", action="store_true", help="skip the DEM (as --no-terrain)")
    ap.add_argument("--pg", metavar="URL", help="write into this PostGIS (schema scale_N)")
    ap.add_argument("--loadgen", action="store_true", help="--pg: one dashboard session after")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="onemap-scale-") as tmp:
        os.environ.setdefault("ONEMAP_STATE_DIR", str(Path(tmp) / "state"))
        for scale in args.scales:
            name = f"scale_{scale:g}".replace(".", "_")
            out = f"{args.pg}?schema={name}" if args.pg else str(Path(tmp) / f"x{scale:g}.gpkg")
            print(f"scale {scale:g}: load average before {loadavg()}", flush=True)
            wall, cpu, peak, tree = run_demo(scale, out, terrain=not args.no_terrain)
            size = schema_mb(out) if args.pg else Path(out).stat().st_size / 2**20
            rows.append((scale, wall, cpu, peak, size))
            print(
                f"scale {scale:g}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.0f} MB "
                f"(process tree sampled: {tree:.0f} MB), store {size:.0f} MB; "
                f"load average after {loadavg()}",
                flush=True,
            )
            if not args.pg:
                for extra in Path(tmp).glob(f"x{scale:g}.gpkg*"):
                    subprocess.run(["rm", "-rf", str(extra)], check=True)
        if args.pg and args.loadgen:
            last = f"scale_{args.scales[-1]:g}".replace(".", "_")
            cmd = [sys.executable, str(ROOT / "benchmarks" / "loadgen.py"), "--sessions", "1"]
            cmd += ["--store", f"{args.pg}?schema={last}", "--label", f"PostGIS {last}"]
            subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    base = next((r for r in rows if r[0] == 1), rows[0])
    print(
        "\n| scale | projects | wall (s) | CPU (s) | peak RSS (MB) | store (MB) "
        "| naive N× scale-1 peak (MB) | peak ÷ naive | CPU ÷ scale-1 CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, wall, cpu, peak, size in rows:
        naive = base[3] * scale / base[0]
        print(
            f"| {scale:g} | {round(192_000 * scale):,} | {wall:.1f} | {cpu:.1f} | {peak:.0f} "
            f"| {size:.0f} | {naive:.0f} | {peak / naive:.2f} | {cpu / base[2]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
