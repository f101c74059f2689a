"""Revisions on the tiny province: the log, the kept files, rollback (and its rollback), the
write lock, and an import checked against a store that changed before it was confirmed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import filelock
import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, make_projects
from pandas.testing import assert_frame_equal

from layers import schema as S
from layers import store
from layers.accounts import writer
from layers.build import lock, pipeline, revisions
from layers.cli import main as cli
from layers.errors import StaleStoreError, StoreError
from layers.ingest.prepare import prepare_import
from layers.ingest.template import office_ledger_workbook

#: tables compared between two stores ("identical content apart from the revision log")
SKIP = {S.TABLE_BUILD_INFO, revisions.TABLE_REVISIONS}


def county_book(tmp_path: Path, county: str, *, planned: float = 999.0, drop: int = 0) -> Path:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == county].copy()
    part.loc[part.index[0], S.FUNDS_PLANNED] = planned
    if drop:
        part = part.iloc[drop:]
    path = tmp_path / f"{county[:6]}_{planned:g}.xlsx"
    path.write_bytes(office_ledger_workbook(part))
    return path


def contents(path: Path) -> dict[str, pd.DataFrame]:
    return {n: store.read_layer(path, n) for n in store.list_layers(path) if n not in SKIP}


def assert_same_store(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert store.table_sha256(a[name]) == store.table_sha256(b[name]), name
        assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]), check_exact=True)


def imp(path: Path, *files: Path, extra: tuple[str, ...] = ()) -> int:
    return cli.main(["import", "--ledger", *map(str, files), "--store", str(path), *extra])


def test_import_is_logged_with_its_files_and_report(tiny_store: Path, tmp_path: Path, capsys):
    book = county_book(tmp_path, COUNTY_B)
    assert imp(tiny_store, book) == 0
    log = revisions.read_log(tiny_store)
    assert log["rev"].tolist() == [1]
    row = log.iloc[0]
    assert row["kind"] == "import" and row["user"] == writer()
    assert json.loads(row["counties"]) == [COUNTY_B]
    files = json.loads(row["files"])
    assert [f["name"] for f in files] == [book.name]
    assert files[0]["size"] == book.stat().st_size
    kept = revisions.revision_dir(tiny_store, 1)
    assert (kept / "files" / book.name).read_bytes() == book.read_bytes()
    assert (kept / "report.xlsx").is_file()
    assert (row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (5, 3, 2)
    assert store.read_build_info(tiny_store)["revision"] == "1"
    capsys.readouterr()
    assert cli.main(["history", "--store", str(tiny_store), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.splitlines()[0])
    assert rec["rev"] == 1 and rec["files"][0]["sha256"] == files[0]["sha256"]
    assert cli.main(["history", "--store", str(tiny_store), "--county", COUNTY_A[:6]]) == 0
    assert "no revisions" in capsys.readouterr().out


def test_import_then_rollback_gives_back_every_table(tiny_store: Path, tmp_path: Path, capsys):
    original = contents(tiny_store)
    inputs_before = store.read_inputs(tiny_store)
    assert imp(tiny_store, county_book(tmp_path, COUNTY_B, drop=1)) == 0
    imported = contents(tiny_store)
    assert len(imported[S.LAYER_PROJECTS]) != len(original[S.LAYER_PROJECTS])
    assert cli.main(["rollback", "1", "--store", str(tiny_store)]) == 0
    assert "已撤销修订 1" in capsys.readouterr().out
    assert_same_store(contents(tiny_store), original)
    back = store.read_inputs(tiny_store)
    for name in ("admin_units", "registry", "projects"):
        assert_frame_equal(
            pd.DataFrame(getattr(back, name)), pd.DataFrame(getattr(inputs_before, name))
        )
    # rollback of the rollback: the import again
    assert cli.main(["rollback", "2", "--store", str(tiny_store)]) == 0
    assert_same_store(contents(tiny_store), imported)
    log = revisions.read_log(tiny_store)
    assert log["kind"].tolist() == ["import", "rollback", "rollback"]
    assert log["rollback_of"].iloc[1:].tolist() == [1, 2]


def test_rollback_keeps_a_later_import_of_another_county(tiny_store: Path, tmp_path: Path):
    original = store.read_inputs(tiny_store).projects
    assert imp(tiny_store, county_book(tmp_path, COUNTY_B, drop=1)) == 0
    assert imp(tiny_store, county_book(tmp_path, COUNTY_A, planned=5.0)) == 0
    after_a = store.read_inputs(tiny_store).projects
    pipeline.rollback(tiny_store, 1)
    now = store.read_inputs(tiny_store).projects
    b_now = now[now[S.COUNTY_CODE] == COUNTY_B].reset_index(drop=True)
    b_orig = original[original[S.COUNTY_CODE] == COUNTY_B].reset_index(drop=True)
    assert_frame_equal(pd.DataFrame(b_now), pd.DataFrame(b_orig))
    a_now = now[now[S.COUNTY_CODE] == COUNTY_A].reset_index(drop=True)
    a_after = after_a[after_a[S.COUNTY_CODE] == COUNTY_A].reset_index(drop=True)
    assert_frame_equal(pd.DataFrame(a_now), pd.DataFrame(a_after))


def test_replace_all_rollback_restores_every_county(tiny_store: Path, tmp_path: Path):
    original = contents(tiny_store)
    assert imp(tiny_store, county_book(tmp_path, COUNTY_B), extra=("--replace-all",)) == 0
    assert not (store.read_layer(tiny_store, S.LAYER_PROJECTS)[S.COUNTY_CODE] == COUNTY_A).any()
    assert bool(revisions.read_log(tiny_store)["replace_all"].iloc[0])
    pipeline.rollback(tiny_store, 1)
    assert_same_store(contents(tiny_store), original)


def test_rollback_refusals(tiny_store: Path, tmp_path: Path, capsys):
    pipeline.run_build(tiny_store)
    with pytest.raises(StoreError, match="rebuild: it changed no inputs"):
        pipeline.rollback(tiny_store, 1)
    with pytest.raises(StoreError, match="has no revision 7"):
        pipeline.rollback(tiny_store, 7)
    assert imp(tiny_store, county_book(tmp_path, COUNTY_B)) == 0
    capsys.readouterr()
    assert cli.main(["history", "--store", str(tiny_store), "--prune", "--keep-days", "0"]) == 0
    assert "freed" in capsys.readouterr().out
    # the latest revision's history is always kept; make rev 2 old by writing one more
    assert imp(tiny_store, county_book(tmp_path, COUNTY_A)) == 0
    gone, freed = revisions.prune(tiny_store, days=0)
    assert gone == [2] and freed > 0
    with pytest.raises(StoreError, match="no history"):
        pipeline.rollback(tiny_store, 2)


def test_a_stale_import_is_refused_then_rechecked(tiny_store: Path, tmp_path: Path):
    """检查 against revision N, another import lands, 确认: nothing is overwritten."""
    base = revisions.head(tiny_store)
    prepared_b = prepare_import(
        store.read_inputs(tiny_store), ledgers=[county_book(tmp_path, COUNTY_B)]
    )
    assert imp(tiny_store, county_book(tmp_path, COUNTY_A, planned=7.0)) == 0
    with pytest.raises(StaleStoreError, match="landed since") as info:
        pipeline.commit_import(tiny_store, prepared_b, expected_rev=base)
    assert info.value.landed == [1]
    assert revisions.head(tiny_store) == 1


def test_a_waiting_writer_says_who_holds_the_lock_then_times_out(tmp_path: Path):
    path = tmp_path / "s.gpkg"
    messages: list[str] = []
    with (
        lock.store_lock(path, "alice", what="import"),
        pytest.raises(StoreError, match=r"written by alice \(import\) since .* gave up"),
        lock.store_lock(path, "bob", timeout=0.2, on_wait=messages.append),
    ):
        pass  # pragma: no cover
    assert "waiting up to 0.2 s" in messages[0] and "alice" in messages[0]
    with lock.store_lock(path, "bob", timeout=0.2):  # released
        pass


def test_lock_timeout_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(lock.LOCK_TIMEOUT_ENV, "12.5")
    assert lock.lock_timeout() == 12.5
    monkeypatch.setenv(lock.LOCK_TIMEOUT_ENV, "soon")
    with pytest.raises(StoreError, match="not a number of seconds"):
        lock.lock_timeout()


def test_a_writer_waits_for_the_lock_and_then_writes(tiny_store: Path, tmp_path: Path):
    book = county_book(tmp_path, COUNTY_B)
    held = threading.Event()

    def hold() -> None:
        with filelock.FileLock(lock.lock_path(tiny_store)):
            held.set()
            time.sleep(0.5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    assert imp(tiny_store, book) == 0
    t.join()
    assert revisions.head(tiny_store) == 1
