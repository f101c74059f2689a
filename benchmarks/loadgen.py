"""Load generator: many dashboard sessions over Streamlit's own websocket protocol (not a test).

Each simulated session does what a browser tab does, on the wire: it opens
``ws://HOST:PORT/_stcore/stream`` (subprotocol ``streamlit``), sends a ``BackMsg`` with
``rerun_script`` (a ``ClientState`` carrying the page's query string), reads the ``ForwardMsg``
stream — ``new_session``, the ``delta`` messages that draw the page, ``page_info_changed`` when
the app rewrites the URL — until ``script_finished`` says the run is over, then makes three
sidebar filter changes as the browser would: a ``rerun_script`` whose ``widget_states`` carry the
new value of the widget, found by its key in the ``delta`` messages (the plan-year slider
``sb_years``, the sector and fund-source multiselects ``sb_sectors`` / ``sb_fund_sources``).
Each interaction is timed from the send to its ``script_finished``; the KPI cards (the ``st.html``
element with ``om-kpis``) of every run are kept, so the report shows that the page really
changes with the filter. Sessions run concurrently on asyncio + ``websockets``; the servers'
resident memory (``psutil``) is sampled while they run.

Not emulated: the browser's own rendering, and the map component's value that a real Leaflet
map posts back after it is drawn (a browser may trigger one more rerun per view).

Usage (project root)::

    python3 benchmarks/loadgen.py --store /tmp/x/onemap.gpkg --sessions 1 10 25 50
    python3 benchmarks/loadgen.py --store postgresql://… --processes 2 --sessions 10 25 50
    python3 benchmarks/loadgen.py --url ws://127.0.0.1:8501 --sessions 5   # a running server

Without ``--url`` it starts ``--processes`` servers (``streamlit run app.py`` on 127.0.0.1,
ports from ``--port``) on the store and stops them at the end; sessions are spread over them
round-robin (what nginx's sticky ``ip_hash`` does for many clients).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

ROOT = Path(__file__).resolve().parent.parent

#: the KPI cards as layers/present/cards.cards_html writes them
KPI_RE = re.compile(
    r'<div class="om-label">(.*?)(?:<sup[^>]*>.*?</sup>)?</div>'
    r'<div class="om-value"><span class="om-num">(.*?)</span>'
)
FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = {FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_WITH_COMPILE_ERROR}


@dataclass
class Page:
    """What one session knows of its page: widgets by key, the URL, the last run's KPIs."""

    query: str
    page_hash: str = ""
    widgets: dict[str, object] = field(default_factory=dict)  # key → Slider / MultiSelect proto
    states: dict[str, WidgetState] = field(default_factory=dict)  # id → value the tab holds
    kpis: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    bytes_in: int = 0


@dataclass
class Sample:
    session: int
    port: int
    step: str
    seconds: float
    kpis: dict[str, str]
    errors: list[str]
    bytes_in: int
    cpu: float = float("nan")  # server CPU seconds of this interaction (single-session pass only)


def _widget_key(widget_id: str) -> str:
    """The user key of a keyed widget id (``$$ID-<hash>-<key>``), else the id."""
    return widget_id.rsplit("-", 1)[-1] if widget_id.startswith("$$ID-") else widget_id


def _widget_value(etype: str, w: object) -> WidgetState:
    """The value a browser tab holds for a widget just drawn: the server's if it set one (as
    the frontend does on ``set_value``), else the widget's default; the tab sends every one."""
    state = WidgetState(id=w.id)
    if etype == "slider":
        state.double_array_value.data.extend(w.value if w.set_value else w.default)
    elif etype == "multiselect":
        values = w.raw_values if w.set_value else [w.options[i] for i in w.default]
        state.string_array_value.data.extend(values)
    elif etype == "checkbox":
        state.bool_value = w.value if w.set_value else w.default
    elif w.set_value:  # selectbox, radio
        state.string_value = w.raw_value
    elif w.HasField("default") and w.options:
        state.string_value = w.options[w.default]
    return state


def _read(page: Page, raw: bytes) -> int | None:
    """Apply one ForwardMsg to ``page``; return the script_finished status, if it is one."""
    msg = ForwardMsg()
    msg.ParseFromString(raw)
    page.bytes_in += len(raw)
    kind = msg.WhichOneof("type")
    if kind == "new_session":
        page.page_hash = msg.new_session.page_script_hash
    elif kind == "page_info_changed":
        page.query = msg.page_info_changed.query_string
    elif kind == "script_finished":
        return msg.script_finished
    elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        el = msg.delta.new_element
        etype = el.WhichOneof("type")
        if etype in ("slider", "multiselect", "selectbox", "checkbox", "radio"):
            widget = getattr(el, etype)
            page.widgets[_widget_key(widget.id)] = widget
            if widget.id not in page.states or widget.set_value:
                page.states[widget.id] = _widget_value(etype, widget)
        elif etype == "html" and "om-kpis" in el.html.body:
            page.kpis = dict(KPI_RE.findall(el.html.body))
        elif etype == "exception":
            page.errors.append(el.exception.message[:200])
    elif kind == "session_event" and msg.session_event.WhichOneof("type"):
        page.errors.append(str(msg.session_event.WhichOneof("type")))
    return None


def connect(url: str) -> websockets.connect:
    """A browser's connection to the Streamlit server at ``url`` (its websocket stream)."""
    return websockets.connect(
        f"{url}/_stcore/stream",
        subprotocols=[websockets.Subprotocol("streamlit")],
        max_size=None,
        open_timeout=120,
        ping_interval=None,
        close_timeout=5,
    )


async def _run(ws: websockets.ClientConnection, page: Page) -> float:
    """Send one rerun with every widget value the tab holds; wait for script_finished."""
    back = BackMsg()
    back.rerun_script.CopyFrom(
        ClientState(
            query_string=page.query,
            page_script_hash=page.page_hash,
            widget_states=WidgetStates(widgets=list(page.states.values())),
        )
    )
    page.kpis, page.errors = {}, []
    t0 = time.perf_counter()
    await ws.send(back.SerializeToString())
    while True:
        status = _read(page, await ws.recv())
        if status is not None and status in DONE:
            return time.perf_counter() - t0


def _years(page: Page) -> WidgetState:
    slider = page.widgets["sb_years"]
    state = WidgetState(id=slider.id)
    state.double_array_value.data.extend([2019.0, float(slider.max)])
    return state


def _first_option(key: str) -> Callable[[Page], WidgetState]:
    def change(page: Page) -> WidgetState:
        select = page.widgets[key]
        state = WidgetState(id=select.id)
        state.string_array_value.data.extend([select.options[0]])
        return state

    return change


#: the three filter changes of every session, in order (each keeps the ones before)
CHANGES: tuple[tuple[str, Callable[[Page], WidgetState]], ...] = (
    ("years 2019–2020", _years),
    ("+ first sector", _first_option("sb_sectors")),
    ("+ first fund source", _first_option("sb_fund_sources")),
)


async def session(
    i: int,
    url: str,
    query: str,
    think: float,
    out: list[Sample],
    cpu: Callable[[], float] | None = None,
) -> None:
    """One browser tab: open the overview, then the three filter changes, each timed.

    Parameters
    ----------
    i, url, query
        Session number, ``ws://host:port`` of its server, the query string of the opened page.
    think
        Mean pause before each filter change (s, uniform ±50%).
    out
        Where the samples go.
    cpu
        Reads the server's CPU seconds: each sample then records the interaction's server CPU
        (meaningful with one session only).
    """
    port = int(url.rsplit(":", 1)[1])
    page = Page(query=query)
    clock = cpu or (lambda: float("nan"))
    async with connect(url) as ws:
        c0 = clock()
        seconds = await _run(ws, page)
        out.append(
            Sample(i, port, "open", seconds, page.kpis, page.errors, page.bytes_in, clock() - c0)
        )
        for name, change in CHANGES:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
            state = change(page)
            page.states[state.id] = state
            page.bytes_in, c0 = 0, clock()
            seconds = await _run(ws, page)
            out.append(
                Sample(i, port, name, seconds, page.kpis, page.errors, page.bytes_in, clock() - c0)
            )


class Servers:
    """``streamlit run app.py`` processes on 127.0.0.1 (or existing ones given by URL)."""

    def __init__(self, urls: list[str], procs: list[subprocess.Popen] | None = None) -> None:
        self.urls = urls
        self.procs = procs or []

    @classmethod
    def start(cls, store: str, n: int, port: int, log_dir: Path) -> Servers:
        env = {**os.environ, "ONEMAP_STORE": store, "PYTHONPATH": str(ROOT)}
        procs, urls = [], []
        log_dir.mkdir(parents=True, exist_ok=True)
        for k in range(n):
            p = port + k
            log = (log_dir / f"streamlit-{p}.log").open("w")
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(p)]
            cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
            cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log))
            urls.append(f"ws://127.0.0.1:{p}")
        servers = cls(urls, procs)
        for url in urls:
            servers._wait(url.replace("ws://", "http://"))
        return servers

    def _wait(self, http: str, timeout: float = 120.0) -> None:
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{http}/_stcore/health", timeout=2) as r,
            ):
                if r.status == 200:
                    return
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(
                    f"a streamlit server exited: {[p.returncode for p in self.procs]}"
                )
            time.sleep(0.5)
        raise RuntimeError(f"{http} did not answer /_stcore/health in {timeout:.0f} s")

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


class MemorySampler:
    """Peak resident memory and CPU seconds of server processes while a load runs."""

    def __init__(self, pids: list[int], every: float = 0.25) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.every = every
        self.peak = [0] * len(pids)
        self.cpu0 = [sum(p.cpu_times()[:2]) for p in self.procs]
        self.cpu = [0.0] * len(pids)
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.every)

    def _sample(self) -> None:
        for k, p in enumerate(self.procs):
            with contextlib.suppress(psutil.Error):
                self.peak[k] = max(self.peak[k], p.memory_info().rss)

    def __enter__(self) -> MemorySampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        self._sample()
        for k, p in enumerate(self.procs):
            with contextlib.suppress(psutil.Error):
                self.cpu[k] = sum(p.cpu_times()[:2]) - self.cpu0[k]


async def load(
    urls: list[str], n: int, *, query: str, think: float, ramp: float, pids: list[int]
) -> tuple[list[Sample], MemorySampler, float]:
    """Run ``n`` sessions spread round-robin over ``urls``; starts spread over ``ramp`` s."""
    out: list[Sample] = []

    async def delayed(i: int) -> None:
        await asyncio.sleep(ramp * i / max(n, 1))
        await session(i, urls[i % len(urls)], query, think, out)

    t0 = time.perf_counter()
    with MemorySampler(pids) as mem:
        results = await asyncio.gather(*(delayed(i) for i in range(n)), return_exceptions=True)
    wall = time.perf_counter() - t0
    for i, r in enumerate(results):
        if isinstance(r, BaseException):
            out.append(Sample(i, 0, "failed", float("nan"), {}, [repr(r)[:200]], 0))
    return out, mem, wall


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _steps(samples: list[Sample]) -> Iterator[tuple[str, list[float]]]:
    names = ["open", *(name for name, _ in CHANGES)]
    for name in names:
        yield name, [s.seconds for s in samples if s.step == name]
    yield "filter changes (all 3)", [s.seconds for s in samples if s.step not in ("open", "failed")]


def report(label: str, n: int, samples: list[Sample], mem: MemorySampler, wall: float) -> dict:
    """A Markdown table row per interaction, and a dict for --json."""
    failed = [s for s in samples if s.step == "failed" or s.errors]
    rows = {}
    for name, values in _steps(samples):
        rows[name] = {"n": len(values), "p50": _pct(values, 0.5), "p95": _pct(values, 0.95)}
    rss = [round(b / 2**20) for b in mem.peak]
    cpu = [round(c, 1) for c in mem.cpu]
    done = sum(1 for s in samples if s.step != "failed")
    per = sum(mem.cpu) / done if done else float("nan")
    print(
        f"\n#### {label}, {n} sessions — wall {wall:.1f} s, server peak RSS {rss} MB, "
        f"server CPU {cpu} s ({per:.2f} s per interaction), "
        f"failed/errored interactions {len(failed)}\n"
    )
    print("| interaction | n | p50 (s) | p95 (s) |\n|---|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['n']} | {r['p50']:.2f} | {r['p95']:.2f} |")
    for s in failed[:3]:
        print(f"- session {s.session} {s.step}: {s.errors[:1]}")
    return {
        "label": label,
        "sessions": n,
        "wall_s": wall,
        "rss_mb": rss,
        "cpu_s": cpu,
        "cpu_per_interaction_s": per,
        "failed": len(failed),
        "steps": rows,
    }


def kpi_trace(samples: list[Sample], session_no: int = 0) -> None:
    """Print one session's KPI cards after each interaction (proof the page follows the filter)."""
    mine = [s for s in samples if s.session == session_no and s.step != "failed"]
    if not mine:
        return
    labels = list(mine[0].kpis)
    print(f"\nKPI cards of session {session_no} after each interaction:\n")
    print("| interaction | " + " | ".join(labels) + " | bytes received |")
    print("|---|" + "---:|" * (len(labels) + 1))
    for s in mine:
        cells = " | ".join(s.kpis.get(k, "—") for k in labels)
        print(f"| {s.step} | {cells} | {s.bytes_in:,} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", help="store the started servers use (ONEMAP_STORE)")
    ap.add_argument("--url", action="append", help="ws://host:port of a running server (repeat)")
    ap.add_argument("--pid", type=int, action="append", help="pid of a --url server (memory, CPU)")
    ap.add_argument("--processes", type=int, default=1, help="servers to start (default 1)")
    ap.add_argument("--port", type=int, default=8651, help="first port of the started servers")
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 25, 50])
    ap.add_argument("--query", default="", help="query string of the opened page ('' = overview)")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between interactions, s")
    ap.add_argument("--ramp", type=float, default=5.0, help="session starts spread over this, s")
    ap.add_argument("--label", default=None, help="label of the report's tables")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    random.seed(args.seed)
    if args.url:
        servers = Servers(args.url)
        pids: list[int] = args.pid or []
    else:
        if not args.store:
            ap.error("give --store (servers are started) or --url (servers are running)")
        log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "onemap-loadgen"
        servers = Servers.start(args.store, args.processes, args.port, log_dir)
        pids = servers.pids()
    label = args.label or f"{len(servers.urls)} process(es) on {args.store or args.url}"
    figures = []
    try:
        for url in servers.urls:  # every process loads the store once: caches warm
            warm: list[Sample] = []
            asyncio.run(session(0, url, args.query, 0.0, warm))
            print(f"warm-up {url}: open {warm[0].seconds:.2f} s (cold caches)")
        if pids:
            single_session_profile(servers.urls[0], pids[0], args.query)
        for n in args.sessions:
            samples, mem, wall = asyncio.run(
                load(servers.urls, n, query=args.query, think=args.think, ramp=args.ramp, pids=pids)
            )
            figures.append(report(label, n, samples, mem, wall))
            if n == args.sessions[0]:
                kpi_trace(samples)
    finally:
        servers.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


def single_session_profile(url: str, pid: int, query: str) -> None:
    """One session alone, twice (the first warms this session's caches): wall vs server CPU of
    each interaction — the no-load baseline, and where the time of one interaction goes."""
    proc = psutil.Process(pid)

    def cpu() -> float:
        t = proc.cpu_times()
        return t.user + t.system

    for _ in range(2):
        out: list[Sample] = []
        asyncio.run(session(0, url, query, 0.0, out, cpu=cpu))
    print("\nOne session alone (no load): wall and server CPU per interaction\n")
    print("| interaction | wall (s) | server CPU (s) | bytes received |\n|---|---:|---:|---:|")
    for s in out:
        print(f"| {s.step} | {s.seconds:.2f} | {s.cpu:.2f} | {s.bytes_in:,} |")


if __name__ == "__main__":
    sys.exit(main())
