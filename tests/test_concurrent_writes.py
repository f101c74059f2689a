"""Writers in separate processes: two imports at once, an import racing ``onemap build``, and a
writer killed with SIGKILL — every change is kept, the store is always one whole revision, the
lock is free afterwards and no temporary file survives the next write.

Marked slow: each case runs two or three ``onemap`` processes (about 10 s each on a quiet
machine, minutes under load); run them with ``pytest -m slow tests/test_concurrent_writes.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import COUNTY_A, COUNTY_B, make_projects, write_tiny_store

from layers import schema as S
from layers import store
from layers.build import lock, revisions, terrain
from layers.ingest.template import office_ledger_workbook

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).resolve().parent / "writer_process.py"
ZONES = '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n'
pytestmark = pytest.mark.slow
#: a bound on every subprocess (a hang fails the test instead of blocking the suite)
LIMIT = 600


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """(store, zones file): the tiny province without terrain."""
    path = write_tiny_store(tmp_path / "store.gpkg", **{terrain.BUILD_INFO_KEY: terrain.NO_DEM})
    zpath = tmp_path / "zones.toml"
    zpath.write_text(ZONES, encoding="utf-8")
    return path, zpath


def book(tmp_path: Path, county: str, planned: float) -> Path:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == county].copy()
    part[S.FUNDS_PLANNED] = planned
    out = tmp_path / f"{county[:6]}.xlsx"
    out.write_bytes(office_ledger_workbook(part))
    return out


def start(zpath: Path, *argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ONEMAP_LOCK_TIMEOUT": str(LIMIT)}
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(zpath), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> str:
    _out, err = proc.communicate(timeout=LIMIT)
    assert proc.returncode == 0, err
    return err


def planned_of(path: Path, county: str) -> set[float]:
    projects = store.read_inputs(path).projects
    return set(projects.loc[projects[S.COUNTY_CODE] == county, S.FUNDS_PLANNED].round(6))


def assert_lock_free(path: Path) -> None:
    with lock.store_lock(path, "test", timeout=0):
        pass


@pytest.mark.parametrize(
    "delay",
    [0.0, 0.7, 2.0],
)
def test_two_imports_at_once_keep_both(tiny, tmp_path: Path, delay: float) -> None:
    path, zpath = tiny
    a = start(
        zpath, "import", "--ledger", str(book(tmp_path, COUNTY_A, 11.0)), "--store", str(path)
    )
    time.sleep(delay)
    b = start(
        zpath, "import", "--ledger", str(book(tmp_path, COUNTY_B, 22.0)), "--store", str(path)
    )
    finish(a)
    finish(b)
    assert planned_of(path, COUNTY_A) == {11.0}
    assert planned_of(path, COUNTY_B) == {22.0}
    log = revisions.read_log(path)
    assert log["kind"].tolist() == ["import", "import"]
    assert_lock_free(path)


@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_an_import_racing_a_build_is_kept(tiny, tmp_path: Path, delay: float) -> None:
    path, zpath = tiny
    a = start(
        zpath, "import", "--ledger", str(book(tmp_path, COUNTY_B, 33.0)), "--store", str(path)
    )
    time.sleep(delay)
    b = start(zpath, "build", "--store", str(path))
    finish(a)
    finish(b)
    assert planned_of(path, COUNTY_B) == {33.0}
    summary = store.read_layer(path, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    projects = store.read_layer(path, S.LAYER_PROJECTS)
    assert summary.loc[S.PROVINCE_CODE, S.FUNDS_PLANNED] == pytest.approx(
        projects[S.FUNDS_PLANNED].sum()
    )
    assert sorted(revisions.read_log(path)["kind"]) == ["build", "import"]


@pytest.mark.parametrize(
    "delay",
    [1.0, 3.0, 6.0],
)
def test_a_killed_writer_leaves_a_whole_revision(tiny, tmp_path: Path, delay: float) -> None:
    path, zpath = tiny
    original = planned_of(path, COUNTY_B)
    proc = start(
        zpath, "import", "--ledger", str(book(tmp_path, COUNTY_B, 44.0)), "--store", str(path)
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=LIMIT)
    # the store is the last whole revision: before the import, or all of it
    head = revisions.head(path)
    assert planned_of(path, COUNTY_B) == ({44.0} if head == 1 else original)
    assert_lock_free(path)
    finish(
        start(
            zpath, "import", "--ledger", str(book(tmp_path, COUNTY_A, 55.0)), "--store", str(path)
        )
    )
    assert planned_of(path, COUNTY_A) == {55.0}
    assert not list(path.parent.glob(f".{path.stem}.tmp-*"))
    hist = revisions.history_dir(path)
    assert not [d for d in hist.iterdir() if d.name.startswith(".partial-")]
    assert {int(d.name) for d in hist.iterdir()} <= set(range(1, revisions.head(path) + 1))
