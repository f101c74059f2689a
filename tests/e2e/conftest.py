"""Fixtures of the real-browser test: a demo store, a ``streamlit run app.py`` server on
127.0.0.1 and Debian's Chromium driven by pytest-playwright (never ``playwright install``)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("ONEMAP_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    """A port the OS reports free now (an ephemeral one, so parallel runs rarely collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, headless, with no background traffic of its own."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium (bash scripts/setup.sh --test)"
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1100}, "locale": "zh-CN"}


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$ONEMAP_E2E_STORE``, else ``data/demo_small.gpkg``, else a 5 % demo built now."""
    env = os.environ.get("ONEMAP_E2E_STORE")
    if env:
        return Path(env)
    small = ROOT / "data" / "demo_small.gpkg"
    if small.exists():
        return small
    from layers.build import pipeline

    shared = tmp_path_factory.getbasetemp() / "demo_small.gpkg"  # shared with other tests
    if shared.exists():
        return shared
    try:
        return pipeline.run_demo(shared, scale=0.05)
    except ImportError as e:  # pragma: no cover - demo generator missing from the checkout
        pytest.skip(f"the demo generator is unavailable: {e}")


@contextlib.contextmanager
def serve(store_path: Path, log_name: str = "streamlit_e2e.log") -> Iterator[str]:
    """Run ``streamlit run app.py`` on 127.0.0.1 with ``store_path``; yield its base URL."""
    port = _free_port()
    env = {**os.environ, "ONEMAP_STORE": str(store_path), "TIANDITU_TOKEN": ""}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / log_name).open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start on {url}; see {ARTIFACTS / log_name}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group only
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def server(demo_store: Path) -> Iterator[str]:
    """One server for the session's browser tests."""
    with serve(demo_store) as url:
        yield url


def sign_in(page: Page, name: str, password: str) -> None:
    """Fill the sign-in form as a user does and wait for the 退出 button."""
    expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible(timeout=60_000)
