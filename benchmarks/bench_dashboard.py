"""Dashboard budgets (DESIGN §7): map payload per view, filter-change and first-load server time.

Runs the real app (``app.run()``) in Streamlit's AppTest, which executes the same script a
server would, and measures:

* **payload** — bytes of the map component's arguments (Leaflet script + header + html + asset
  links) for the province and one view per level, vs the naive payload: the same units as
  full-resolution GeoJSON (what ``folium.GeoJson(admin_units)`` would embed), plus the
  1.4 MB of inline Leaflet/Bootstrap that ``folium-offline`` embeds when assets are not served;
* **filter change** — wall time of a rerun after a sidebar filter changes (server time);
* **first load** — the first run of the province in a fresh process (imports, store read, caches
  cold) and for a new session on a warm server.

Usage::

    python3 benchmarks/bench_dashboard.py [--store data/onemap.gpkg] [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
APP = str(ROOT / "app.py")  # AppTest runs the entry script itself, as `streamlit run` does

BUDGET_BYTES = 1.5e6
BUDGET_FILTER_S = 0.3
BUDGET_FIRST_S = 3.0


def _run(at, label: str) -> float:
    t0 = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{label}: the app raised {[e.value for e in at.exception]}")
    return dt


def _payload(at) -> int:
    maps = at.get("component_instance")
    if not maps:
        raise SystemExit("no map component on the page")
    return len(maps[0].proto.json_args.encode("utf-8"))


def _naive_bytes(store_path: Path, level: str, parent: str, *, points_in: str | None) -> int:
    """Full-resolution GeoJSON of the view's units (and of its project points)."""
    from layers import schema as S
    from layers import store

    units = store.read_layer(store_path, S.LAYER_ADMIN_UNITS)
    sel = units[(units[S.LEVEL] == level) & (units[S.PARENT_CODE] == parent)]
    if level == "prefecture":
        sel = units[units[S.LEVEL] == "prefecture"]
    keep = [S.CODE, S.NAME, "geometry"]
    n = len(sel[keep].to_json().encode("utf-8"))
    if points_in:
        projects = store.read_layer(store_path, S.LAYER_PROJECTS)
        key = S.TOWNSHIP_CODE if S.level_of(points_in) == "township" else S.VILLAGE_CODE
        pts = projects[projects[key] == points_in]
        cols = [S.PROJECT_NAME, S.FUNDS_PLANNED, S.STATUS, S.RESPONSIBLE_UNIT, "geometry"]
        n += len(pts[cols].to_json(default=str).encode("utf-8"))
    return n


def _views(store_path: Path) -> list[tuple[str, str]]:
    """(label, region) for the province and the busiest unit of each level, plus 怒江州."""
    from layers import schema as S
    from layers import store

    units = store.read_layer(
        store_path, S.LAYER_ADMIN_UNITS, columns=[S.CODE, S.LEVEL, S.NAME, S.PARENT_CODE]
    )
    kids = units.groupby(S.PARENT_CODE).size()
    views = [("province", S.PROVINCE_CODE)]
    if (units[S.CODE] == "533300000000").any():
        views.append(("prefecture 怒江州", "533300000000"))
    for level in ("prefecture", "county", "township"):
        codes = units.loc[units[S.LEVEL] == level, S.CODE]
        counts = kids.reindex(codes).fillna(0)
        if len(counts) and counts.max() > 0:
            code = str(counts.idxmax())
            name = units.loc[units[S.CODE] == code, S.NAME].iloc[0]
            views.append((f"{level} {name} ({int(counts.max())} children)", code))
    villages = units.loc[units[S.LEVEL] == "village", S.CODE]
    if len(villages):
        projects = store.read_layer(store_path, S.LAYER_PROJECTS, columns=[S.VILLAGE_CODE])
        busiest = projects[S.VILLAGE_CODE].value_counts()
        if len(busiest):
            views.append(("village (most projects)", str(busiest.index[0])))
    return views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store (default: $ONEMAP_STORE, else data/onemap.gpkg)")
    parser.add_argument("--repeat", type=int, default=5, help="filter changes to time")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from layers import settings

    store_path = settings.store_path(args.store)
    if not store_path.exists():
        raise SystemExit(f"store {store_path} not found; build it with `onemap demo`")
    os.environ["ONEMAP_STORE"] = str(store_path)

    t_import = time.perf_counter()
    from streamlit.testing.v1 import AppTest, app_test

    t_import = time.perf_counter() - t_import
    # A server keeps one ScriptCache (compiled page scripts) for its lifetime; AppTest makes a
    # new one per run and would time the page's compilation on every rerun.
    shared_cache = app_test.ScriptCache()
    app_test.ScriptCache = lambda: shared_cache
    results: dict = {
        "store": str(store_path),
        "budgets": {"bytes": BUDGET_BYTES, "filter_s": BUDGET_FILTER_S, "first_s": BUDGET_FIRST_S},
    }

    # first load: cold process, then a new session on the warm "server"
    at = AppTest.from_file(APP, default_timeout=600)
    cold = _run(at, "first load (cold)")
    # the page preloads the projects in a background thread after the first view
    t0 = time.perf_counter()
    for th in threading.enumerate():
        if th.name == "onemap-warm-up":
            th.join()
    results["projects_warm_up_s"] = time.perf_counter() - t0
    warm_at = AppTest.from_file(APP, default_timeout=600)
    warm = _run(warm_at, "first load (new session)")
    results["first_load_cold_s"] = cold
    results["first_load_new_session_s"] = warm
    results["streamlit_import_s"] = t_import

    # filter changes on the province view
    changes = [
        ("sb_sectors", ["industry"]),
        ("sb_statuses", ["completed", "accepted"]),
        ("sb_fund_sources", ["central"]),
        ("sb_sectors", ["water", "housing"]),
        ("sb_statuses", []),
        ("sb_fund_sources", []),
        ("sb_sectors", []),
    ]
    times = []
    for i in range(args.repeat):
        key, value = changes[i % len(changes)]
        at.sidebar.multiselect(key=key).set_value(value)
        times.append(_run(at, f"filter {key}"))
    at.sidebar.selectbox(key="sb_metric").set_value("coverage")
    metric = _run(at, "metric")
    results["filter_change_s"] = {
        "median": statistics.median(times),
        "max": max(times),
        "all": times,
    }
    results["metric_change_s"] = metric

    # payload per view
    rows = []
    for label, region in _views(store_path):
        v = AppTest.from_file(APP, default_timeout=600)
        v.query_params["region"] = region
        _run(v, label)
        dt = _run(v, label + " rerun")
        from layers import schema as S

        level = S.level_of(region)
        child = {
            "province": "prefecture",
            "prefecture": "county",
            "county": "township",
            "township": "village",
            "village": "village",
        }[level]
        parent = region if level != "village" else S.parent_of(region)
        points_in = region if level in ("township", "village") else None
        naive = _naive_bytes(store_path, child, parent, points_in=points_in)
        rows.append(
            {
                "view": label,
                "region": region,
                "bytes": _payload(v),
                "naive_geojson_bytes": naive,
                "rerun_s": dt,
            }
        )
    results["views"] = rows

    print(f"store: {store_path}")
    print(f"first load, cold process     : {cold:6.2f} s  (budget {BUDGET_FIRST_S} s)")
    print(f"projects preload (background): {results['projects_warm_up_s']:6.2f} s after it")
    print(f"first load, new session      : {warm:6.2f} s")
    f = results["filter_change_s"]
    print(
        f"filter change (n={len(times)})        : median {f['median']:.3f} s, max {f['max']:.3f} s"
        f"  (budget {BUDGET_FILTER_S} s)"
    )
    print(f"metric change                : {metric:.3f} s")
    print(f"{'view':44s} {'sent':>10s} {'naive GeoJSON':>14s} {'rerun':>8s}")
    for r in rows:
        print(
            f"{r['view']:44s} {r['bytes'] / 1e6:8.3f}MB {r['naive_geojson_bytes'] / 1e6:12.3f}MB"
            f" {r['rerun_s']:7.3f}s"
        )
    print("naive + folium-offline inline assets adds ~1.4 MB more to every view")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
