"""Memory of one dashboard process vs the number of projects: GeoPackage vs PostGIS (issue #11).

For each store given, one ``streamlit run app.py`` process is started on it (127.0.0.1) and
sessions speak Streamlit's websocket protocol to it (``benchmarks/loadgen.py``): each opens the
overview (province), makes the three sidebar filter changes (years 2019–2020, + first sector,
+ first fund source), opens the overview of a prefecture and the 重点区域 (zones) page with the
same three changes. The process's resident memory is sampled every 0.25 s (psutil): its peak and
its RSS once the walk is over. The walk runs ``--rounds`` times (the first round fills the caches,
the later ones show whether memory keeps growing). The KPI cards of the last filter change are
printed, so the numbers are seen to follow the filters on both stores.

The naive baseline in the same run is the GeoPackage store: every process holds the projects
(and their prepared frame) in memory, so its memory grows with the number of projects; on
PostGIS the overview and zones pages ask the database for sums (``layers.storeagg``).

Usage (project root)::

    python3 benchmarks/bench_memory.py --store S1.gpkg --store S5.gpkg \\
        --store 'postgresql://onemap@127.0.0.1:55431/onemap?schema=s1' \\
        --store 'postgresql://onemap@127.0.0.1:55431/onemap?schema=s5' --port 8631
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetStates

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # benchmarks/ is not a package

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from layers import storeagg  # noqa: E402

#: (page name, query string) of the walk; each page gets the three filter changes
WALK: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("", "region=533300000000"),
    ("zones", ""),
)


async def _run(ws: websockets.ClientConnection, page: loadgen.Page, name: str) -> float:
    """One rerun of page ``name`` with every widget value the tab holds (loadgen._run + page)."""
    back = BackMsg()
    back.rerun_script.CopyFrom(
        ClientState(
            query_string=page.query,
            page_name=name,
            widget_states=WidgetStates(widgets=list(page.states.values())),
        )
    )
    page.kpis, page.errors = {}, []
    t0 = time.perf_counter()
    await ws.send(back.SerializeToString())
    while True:
        status = loadgen._read(page, await ws.recv())
        if status is not None and status in loadgen.DONE:
            return time.perf_counter() - t0


async def walk(url: str) -> tuple[list[float], dict[str, str], list[str]]:
    """One session's walk: every page of ``WALK`` opened, then its three filter changes."""
    seconds: list[float] = []
    errors: list[str] = []
    kpis: dict[str, str] = {}
    for name, query in WALK:
        page = loadgen.Page(query=query)
        async with loadgen.connect(url) as ws:
            seconds.append(await _run(ws, page, name))
            for _label, change in loadgen.CHANGES:
                state = change(page)
                page.states[state.id] = state
                seconds.append(await _run(ws, page, name))
            errors += page.errors
            if name == "zones" and "zones_top_n" not in page.widgets:  # the zones page's slider
                errors.append("the zones page was not drawn")
            if name == "":
                kpis = kpis or dict(page.kpis)
    return seconds, kpis, errors


async def measure(url: str, pid: int, rounds: int) -> dict:
    """Run the walk ``rounds`` times; peak RSS while it runs and RSS after each round (MB)."""
    proc = psutil.Process(pid)
    after: list[float] = []
    times: list[float] = []
    with loadgen.MemorySampler([pid]) as mem:
        for _ in range(rounds):
            seconds, kpis, errors = await walk(url)
            times += seconds
            after.append(proc.memory_info().rss / 2**20)
    return {
        "peak_mb": mem.peak[0] / 2**20,
        "rss_after_rounds_mb": after,
        "median_s": sorted(times)[len(times) // 2],
        "kpis_last_change": kpis,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", action="append", required=True, help="a store (repeat)")
    ap.add_argument("--port", type=int, default=8631, help="port of the started server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    rows = []
    for store in args.store:
        n = int(storeagg.project_counts(store, "province").iloc[0][storeagg.COUNT_COLUMNS[0]])
        log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "onemap-bench-memory"
        servers = loadgen.Servers.start(store, 1, args.port, log_dir)
        try:
            pid = servers.pids()[0]
            idle = psutil.Process(pid).memory_info().rss / 2**20
            figures = asyncio.run(measure(servers.urls[0], pid, args.rounds))
        finally:
            servers.stop()
        kind = "PostGIS" if store.startswith("postgres") else "GeoPackage"
        rows.append({"store": store, "kind": kind, "projects": n, "idle_mb": idle, **figures})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print(
        "\n| store | projects | RSS idle (MB) | peak RSS (MB) | RSS after each round (MB) "
        "| median interaction (s) | errors |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        after = " / ".join(f"{v:.0f}" for v in r["rss_after_rounds_mb"])
        print(
            f"| {r['kind']} | {r['projects']:,} | {r['idle_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{after} | {r['median_s']:.2f} | {len(r['errors'])} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
