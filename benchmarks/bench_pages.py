"""Server time and map payload of the 县级项目库 / 乡级路线图 / 村级施工图 / 重点区域 pages.

Runs the real app in Streamlit's AppTest on a store (default: ``$ONEMAP_STORE`` or
``data/onemap.gpkg``), opens each page on a unit given in the query string, then changes the
sector filter in the sidebar and times the rerun (server time, caches warm). Maps: bytes of the
``st_folium`` component arguments.

Usage::

    python3 benchmarks/bench_pages.py [--store PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_FILTER_S = 0.3
#: page → a unit of the full demo (怒江州 泸水市, its 鲁掌镇, one of its villages)
VIEWS: dict[str, str | None] = {
    "views/library.py": "533301000000",
    "views/roadmap.py": "533301100000",
    "views/village.py": "533301100200",
    "views/zones.py": None,
}


def _timed(at) -> float:
    t0 = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"the app raised {[e.value for e in at.exception]}")
    return dt


def main() -> None:
    """Print one line per page: first run, filter-change reruns, map payload."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.store:
        os.environ["ONEMAP_STORE"] = str(Path(args.store).resolve())
    from streamlit.testing.v1 import AppTest

    print(f"store: {os.environ.get('ONEMAP_STORE', 'data/onemap.gpkg')} · load {os.getloadavg()}")
    for page, region in VIEWS.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page(page)
        if region:
            at.query_params["region"] = region
        first = _timed(at)
        times = []
        for i in range(args.repeat):
            sectors = ["industry"] if i % 2 == 0 else ["industry", "water"]
            at.sidebar.multiselect(key="sb_sectors").set_value(sectors)
            times.append(_timed(at))
        maps = at.get("component_instance")
        payload = len(maps[0].proto.json_args.encode("utf-8")) if maps else 0
        median = statistics.median(times)
        flag = "ok" if median <= BUDGET_FILTER_S else "OVER"
        print(
            f"{page:20s} first run {first:5.2f} s · filter change median {median:5.3f} s "
            f"(min {min(times):.3f}, max {max(times):.3f}; budget {BUDGET_FILTER_S} s: {flag})"
            + (f" · map payload {payload / 1e3:,.0f} kB" if payload else "")
        )


if __name__ == "__main__":
    main()
