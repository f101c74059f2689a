"""``onemap demo --scale N`` for N = 1, 2, 5 …: wall time and peak memory of each run (not a test).

Each scale runs as its own child process (``python3 -m layers.cli.main demo --scale N --out
TMP``), so the peak resident memory is that run's own (``os.wait4`` → ``ru_maxrss``), nothing
inherited. The naive baseline beside it is linear growth from scale 1: N × the peak and the wall
of the scale-1 run in the same session (what holding N copies of the scale-1 run would cost).

Usage (project root)::

    python3 benchmarks/bench_scale.py                  # scales 1 2 5
    python3 benchmarks/bench_scale.py --scales 1 2 5 20 --no-terrain
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_demo(scale: float, out: Path, *, terrain: bool) -> tuple[float, float, float]:
    """Run ``onemap demo`` in a child; return (wall s, CPU s, peak RSS MB) of that child."""
    cmd = [sys.executable, "-m", "layers.cli.main", "demo", "--scale", f"{scale:g}"]
    cmd += ["--out", str(out)] + ([] if terrain else ["--no-terrain"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 5])
    ap.add_argument("--no-terrain", action="store_true", help="skip the DEM (as --no-terrain)")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="onemap-scale-") as tmp:
        for scale in args.scales:
            out = Path(tmp) / f"x{scale:g}.gpkg"
            wall, cpu, peak = run_demo(scale, out, terrain=not args.no_terrain)
            size = out.stat().st_size / 2**20
            rows.append((scale, wall, cpu, peak, size))
            print(
                f"scale {scale:g}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.0f} MB",
                flush=True,
            )
            for extra in Path(tmp).glob(f"x{scale:g}.gpkg*"):
                subprocess.run(["rm", "-rf", str(extra)], check=True)
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
