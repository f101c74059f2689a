"""The load generator speaks Streamlit's protocol for real: a server on a 5 % demo store, two
sessions, the KPI cards follow each filter change (benchmarks/loadgen.py)."""

from __future__ import annotations

import asyncio
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from layers.build import pipeline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import loadgen  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.slow
def test_sessions_over_the_websocket_see_the_kpis_follow_the_filters(tmp_path):
    store = pipeline.run_demo(tmp_path / "small.gpkg", scale=0.05, terrain_on=False)
    servers = loadgen.Servers.start(str(store), 1, _free_port(), tmp_path / "logs")
    try:
        load = loadgen.load(servers.urls, 2, query="", think=0.0, ramp=0.0, pids=servers.pids())
        # a thread of its own: pytest-playwright's sync API may hold an event loop in this one
        with ThreadPoolExecutor(1) as pool:
            samples, mem, _ = pool.submit(asyncio.run, load).result()
    finally:
        servers.stop()
    assert [s.step for s in samples if s.session == 0] == [
        "open",
        "years 2019–2020",
        "+ first sector",
        "+ first fund source",
    ]
    assert not [s.errors for s in samples if s.errors]
    for session in (0, 1):
        mine = [s for s in samples if s.session == session]
        projects = [_count(s.kpis["项目数"]) for s in mine]
        # 9,600 projects in the province, then fewer with every filter added
        assert projects[0] == 9_600
        assert projects[0] > projects[1] > projects[2] > projects[3] > 0
        assert all(s.seconds > 0 for s in mine)
    assert mem.peak[0] > 50 * 2**20  # the server's resident memory was sampled
