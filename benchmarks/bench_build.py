"""Benchmark the demo and the layer build against the I/O floor and a naive build (not a test).

Run from the project root::

    python3 benchmarks/bench_build.py                 # full scale, prints a Markdown report
    python3 benchmarks/bench_build.py --scale 0.05    # quick look
    python3 benchmarks/bench_build.py --profile build # + cProfile of the build stage

Measured in one process, stage by stage, with wall time and peak resident memory (Linux
``VmHWM``, reset before each stage through ``/proc/self/clear_refs``) and CPU time (which
other processes on a busy machine do not inflate):

1. ``onemap demo``: boundaries → units → ledger (registry + projects) → build → write.
2. ``onemap build``: read the store's inputs → build → write a new store.
3. The **I/O floor**: read the inputs and write every table of the build to a new store, with
   nothing computed in between. ``build ÷ floor`` is the budget ratio (≤ 3).
4. The **naive build** a GIS analyst would write: a Python loop over every unit with a plan or
   library, filtering the projects for it (timed on a sample, extrapolated to all units), and a
   ``geopandas.sjoin`` of every project against every village polygon (timed in full).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layers import schema as S
from layers import store
from layers.build import locate as build
from layers.build.pipeline import build_tables, make_build_info
from layers.demo import boundaries
from layers.demo import generate as demo
from layers.demo import ledger as demo_ledger
from layers.demo import registry as demo_registry
from layers.demo import units as demo_units
from layers.settings import DEFAULT_SEED

BUDGET_DEMO_S = 30.0
BUDGET_FLOOR_RATIO = 3.0
BUDGET_PEAK_MB = 2048.0


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _reset_hwm() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


@dataclass
class Timing:
    """One measured stage."""

    name: str
    seconds: float = 0.0
    peak_mb: float = 0.0
    note: str = ""
    cpu_seconds: float = float("nan")


@dataclass
class Report:
    """Everything the run measured."""

    scale: float
    seed: int
    stages: list[Timing] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str, note: str = "") -> Iterator[Timing]:
        t = Timing(name, note=note)
        _reset_hwm()
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield t
        finally:
            t.seconds = time.perf_counter() - t0
            t.cpu_seconds = time.process_time() - c0
            t.peak_mb = _hwm_mb()
            self.stages.append(t)
            figures = f"{t.seconds:8.2f} s {t.cpu_seconds:8.2f} s {t.peak_mb:8.0f} MB"
            print(f"  {name:<38}{figures}  {t.note}", flush=True)

    def get(self, name: str) -> float:
        return next(t.seconds for t in self.stages if t.name == name)


def _cpu(rep: Report, prefix: str) -> float:
    return sum(t.cpu_seconds for t in rep.stages if t.name.startswith(prefix))


def naive_loop_seconds(
    inputs: store.Inputs, sample: int, seed: int
) -> tuple[float, float, int, int]:
    """Per-unit Python loop filtering the projects (as an analyst would), on a sample of units.

    Returns (extrapolated wall and CPU seconds for every unit, units in all, units timed).
    """
    units = inputs.admin_units
    projects = pd.DataFrame(inputs.projects.drop(columns="geometry"))
    done = projects[S.STATUS].isin(S.COMPLETED_STATUSES)
    plan = units[units[S.HAS_TASKS] & units[S.LEVEL].isin(["county", "township", "village"])]
    field_of = {"county": S.COUNTY_CODE, "township": S.TOWNSHIP_CODE, "village": S.VILLAGE_CODE}
    rng = np.random.default_rng(seed)
    take = plan.iloc[np.sort(rng.choice(len(plan), size=min(sample, len(plan)), replace=False))]
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    for code, level in zip(take[S.CODE], take[S.LEVEL], strict=True):
        sel = projects[field_of[level]] == code
        rows.append(
            (
                code,
                int(sel.sum()),
                int(done[sel].sum()),
                float(projects.loc[sel, S.FUNDS_PLANNED].sum()),
            )
        )
    factor = len(plan) / max(len(take), 1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall * factor, cpu * factor, len(plan), len(take)


def naive_sjoin(inputs: store.Inputs) -> tuple[pd.DataFrame, int]:
    """Point-in-polygon of every project against every village polygon, then group by village.

    Returns the per-village counts and how many coded projects the join puts in another
    village than their code says (what the code join avoids).
    """
    villages = inputs.admin_units[inputs.admin_units[S.LEVEL] == "village"][[S.CODE, "geometry"]]
    cols = [S.PROJECT_ID, S.STATUS, S.VILLAGE_CODE, "geometry"]
    points = inputs.projects[inputs.projects.geometry.notna()][cols]
    joined = gpd.sjoin(points, villages, how="left", predicate="within")
    joined["_done"] = joined[S.STATUS].isin(S.COMPLETED_STATUSES)
    coded = joined[joined[S.VILLAGE_CODE].notna()]
    disagree = int((coded[S.VILLAGE_CODE] != coded[S.CODE]).sum())
    per_village = joined.groupby(S.CODE).agg(projects=(S.PROJECT_ID, "size"), done=("_done", "sum"))
    return per_village, disagree


def run(args: argparse.Namespace) -> Report:
    rep = Report(scale=args.scale, seed=args.seed)
    work = Path(tempfile.mkdtemp(prefix="onemap-bench-"))
    print(f"onemap benchmark · scale {args.scale} · seed {args.seed} · work dir {work}")
    print(f"  {'stage':<38}{'wall':>10}{'CPU':>11}{'peak RSS':>11}")
    t_demo = time.perf_counter()
    with rep.stage("demo: boundaries"):
        base = boundaries.read_cnmaps_units()
    with rep.stage("demo: units (townships, villages)"):
        children = demo_units.generate_units(base, seed=args.seed, scale=args.scale)
        admin_units = demo._stack_units(base, children)
    with rep.stage("demo: ledger (registry, projects)"):
        registry = demo_registry.generate_registry(admin_units, seed=args.seed, scale=args.scale)
        projects = demo_ledger.generate_projects(
            admin_units, registry, seed=args.seed, scale=args.scale
        )
    inputs = store.Inputs(admin_units, registry, projects)
    profiler = cProfile.Profile() if args.profile == "build" else None
    with rep.stage("demo: build layers"):
        if profiler:
            profiler.enable()
        tables = build_tables(inputs)
        if profiler:
            profiler.disable()
    demo_store = work / "demo.gpkg"
    with rep.stage("demo: write store"):
        info = make_build_info(inputs, demo=True, seed=args.seed, scale=args.scale)
        store.write_store(demo_store, tables, info)
    demo_total = time.perf_counter() - t_demo
    rep.counts = {
        "admin_units": len(admin_units),
        "villages_with_plans": int(
            (admin_units[S.LEVEL].eq("village") & admin_units[S.HAS_TASKS]).sum()
        ),
        "projects": len(projects),
        "store_mb": round(demo_store.stat().st_size / 2**20, 1),
    }
    rep.stages.append(
        Timing("demo: total", demo_total, _hwm_mb(), "onemap demo end to end", _cpu(rep, "demo:"))
    )
    del tables, inputs, base, children

    # onemap build: read inputs -> build -> write
    t_build = time.perf_counter()
    with rep.stage("build: read inputs"):
        inputs = store.read_inputs(demo_store)
    with rep.stage("build: build layers"):
        tables = build_tables(inputs)
    with rep.stage("build: write store"):
        store.write_store(work / "build.gpkg", tables, make_build_info(inputs))
    rep.stages.append(
        Timing("build: total", time.perf_counter() - t_build, _hwm_mb(), "", _cpu(rep, "build:"))
    )

    # I/O floor: same reads and writes, nothing computed in between
    t_floor = time.perf_counter()
    with rep.stage("floor: read inputs"):
        floor_inputs = store.read_inputs(demo_store)
    with rep.stage("floor: write every table"):
        store.write_store(work / "floor.gpkg", tables, {"floor": True})
    rep.stages.append(
        Timing("floor: total", time.perf_counter() - t_floor, _hwm_mb(), "", _cpu(rep, "floor:"))
    )
    del floor_inputs

    # naive builds
    wall, cpu, n_units, n_timed = naive_loop_seconds(inputs, args.naive_sample, args.seed)
    note = f"{n_timed} of {n_units} units timed, extrapolated"
    rep.stages.append(Timing("naive: per-unit loop", wall, _hwm_mb(), note, cpu))
    with rep.stage("build: locate projects only", "code join; point-in-polygon for codeless"):
        build.locate_projects(inputs.admin_units, inputs.projects)
    with rep.stage("naive: sjoin", "every project point × every village polygon") as t:
        _, disagree = naive_sjoin(inputs)
        t.note += f"; {disagree} coded projects land in another village"

    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return rep


def markdown(rep: Report) -> str:
    """The report as Markdown (pasted into BENCHMARKS.md)."""
    by = {t.name: t for t in rep.stages}
    peak = max(t.peak_mb for t in rep.stages)
    lines = [
        f"scale {rep.scale}, seed {rep.seed}: {rep.counts}",
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"pandas {pd.__version__}, geopandas {gpd.__version__}; "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        "",
        "| stage | wall (s) | CPU (s) | peak RSS (MB) | note |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {t.name} | {t.seconds:.2f} | {t.cpu_seconds:.2f} | {t.peak_mb:.0f} | {t.note} |"
        for t in rep.stages
    ]

    def pair(f) -> str:  # the same figure by wall time and by CPU time
        return f"{f('seconds'):.2f} | {f('cpu_seconds'):.2f}"

    def get(name: str, attr: str) -> float:
        return getattr(by[name], attr)

    lines += [
        "",
        "| check | wall | CPU | budget |",
        "|---|---:|---:|---:|",
        f"| onemap demo (s) | {pair(lambda a: get('demo: total', a))} | ≤ {BUDGET_DEMO_S:.0f} |",
        "| onemap demo + onemap build (s) | "
        f"{pair(lambda a: get('demo: total', a) + get('build: total', a))} | |",
        "| build ÷ I/O floor | "
        f"{pair(lambda a: get('build: total', a) / get('floor: total', a))} "
        f"| ≤ {BUDGET_FLOOR_RATIO:.0f} |",
        f"| peak RSS of any stage (MB) | {peak:.0f} | | ≤ {BUDGET_PEAK_MB:.0f} |",
        "| naive per-unit loop ÷ layer build | "
        f"{pair(lambda a: get('naive: per-unit loop', a) / get('build: build layers', a))} | |",
        "| naive sjoin ÷ locating by code | "
        f"{pair(lambda a: get('naive: sjoin', a) / get('build: locate projects only', a))} | |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--naive-sample", type=int, default=600, help="units timed in the loop")
    parser.add_argument("--profile", choices=["build"], help="cProfile a stage")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    rep = run(args)
    text = markdown(rep)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps(asdict(rep), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
