"""Incremental rebuild (issue #10): an import of a few counties patches the store, and the
result is the store a full ``onemap build`` of the same inputs writes — every layer compared by
content hash and frame equality — for a county import, a multi-county import, a registry
import, a boundary import (a full build, said so) and rollbacks."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import COUNTY_A, COUNTY_B, V1, V2, make_projects, make_registry, make_units
from pandas.testing import assert_frame_equal

from layers import schema as S
from layers import store, storefile
from layers.build import incremental, patch, pipeline, revisions
from layers.cli import main as cli
from layers.ingest.template import office_ledger_workbook

SKIP = {S.TABLE_BUILD_INFO, revisions.TABLE_REVISIONS}


def county_book(tmp_path: Path, county: str, *, planned: float = 999.0, drop: int = 0) -> Path:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == county].copy()
    part.loc[part.index[0], S.FUNDS_PLANNED] = planned
    part.loc[part.index[-1], S.STATUS] = "completed"
    if drop:
        part = part.iloc[drop:]
    path = tmp_path / f"{county[:6]}_{planned:g}_{drop}.xlsx"
    path.write_bytes(office_ledger_workbook(part))
    return path


def imp(path: Path, *args: str) -> None:
    assert cli.main(["import", *args, "--store", str(path)]) == 0


def contents(path: Path) -> dict[str, pd.DataFrame]:
    return {n: store.read_layer(path, n) for n in store.list_layers(path) if n not in SKIP}


def assert_as_full_build(path: Path, tmp_path: Path) -> None:
    """The store equals a full rebuild of its own inputs, table by table."""
    full = tmp_path / "full_rebuild.gpkg"
    shutil.copyfile(path, full)
    pipeline.run_build(full)
    a, b = contents(path), contents(full)
    assert sorted(a) == sorted(b)
    for name in a:
        assert store.table_sha256(a[name]) == store.table_sha256(b[name]), name
        assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]), check_exact=True)
    # the input hashes recorded (the kept counties' project digests reused) are a full build's
    info, full_info = store.read_build_info(path), store.read_build_info(full)
    for key in ("inputs", incremental.PROJECT_DIGESTS_KEY):
        assert info[key] == full_info[key], key


def rebuild_note(path: Path) -> str:
    return store.read_build_info(path)["rebuild"]


def test_a_county_import_patches_only_that_county(tiny_store: Path, tmp_path: Path):
    before = contents(tiny_store)
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_B, planned=321.0)))
    assert rebuild_note(tiny_store) == f"incremental: {COUNTY_B[:6]}"
    after = contents(tiny_store)
    plans = after[S.LAYER_VILLAGE_PLAN]
    old = before[S.LAYER_VILLAGE_PLAN]
    other = plans[S.COUNTY_CODE] != COUNTY_B
    assert_frame_equal(plans[other], old[old[S.COUNTY_CODE] != COUNTY_B])
    libraries = (after[S.LAYER_COUNTY_LIBRARY], before[S.LAYER_COUNTY_LIBRARY])
    new, old_b = (t.set_index(S.CODE).loc[COUNTY_B, S.FUNDS_PLANNED] for t in libraries)
    assert new != old_b
    assert_as_full_build(tiny_store, tmp_path)


def test_a_multi_county_import_and_a_second_one(tiny_store: Path, tmp_path: Path):
    imp(
        tiny_store,
        "--ledger",
        str(county_book(tmp_path, COUNTY_A, planned=11.0)),
        str(county_book(tmp_path, COUNTY_B, drop=1)),
    )
    assert rebuild_note(tiny_store) == f"incremental: {COUNTY_A[:6]}, {COUNTY_B[:6]}"
    assert_as_full_build(tiny_store, tmp_path)
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_A, planned=12.0)))
    assert rebuild_note(tiny_store).startswith("incremental")
    assert_as_full_build(tiny_store, tmp_path)


def test_county_imports_are_computed_from_their_own_rows(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A ledger import sums and checks only its counties' rows (the province's totals by
    difference, the funds re-summed in ledger order), and still equals a full build: also when
    it drops a row, renumbers the kept ledger-change rows, and twice in one prefecture."""

    def whole_province(*_args, **_kwargs):
        raise AssertionError("the whole province was recomputed")

    monkeypatch.setattr(incremental, "build_counties", whole_province)
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_B, drop=1)))
    assert rebuild_note(tiny_store) == f"incremental: {COUNTY_B[:6]}"
    assert_as_full_build(tiny_store, tmp_path)
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_A, planned=0.1)))
    assert_as_full_build(tiny_store, tmp_path)
    changes = store.read_layer(tiny_store, store.TABLE_PROJECTS_INPUT_CHANGES)
    ids = store.read_inputs(tiny_store).projects[S.PROJECT_ID]
    assert list(ids.iloc[changes[store.INPUT_ROW]]) == list(changes[S.PROJECT_ID])


def test_a_registry_import_patches_the_counties_of_its_villages(tiny_store: Path, tmp_path):
    rows = [["行政村代码", "家庭人口数", "主要致贫原因"], [V1, 5, "因病"], [V1, 3, "缺资金"]]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    reg = tmp_path / "花名册.csv"
    reg.write_bytes(buf.getvalue().encode("gbk"))
    imp(tiny_store, "--registry", str(reg))
    assert rebuild_note(tiny_store) == f"incremental: {V1[:6]}"
    assert (
        store.read_layer(tiny_store, S.LAYER_REGISTRY)
        .set_index(S.VILLAGE_CODE)
        .loc[V1, S.POOR_POPULATION]
        == 8
    )
    assert_as_full_build(tiny_store, tmp_path)


def test_a_boundary_import_is_a_full_build_and_says_why(tiny_store: Path, tmp_path: Path):
    units = make_units()
    villages = units[units[S.CODE].isin([V1, V2])].copy()
    moved = villages.geometry.to_numpy()
    moved[1] = shapely.affinity.scale(moved[1], 0.9, 0.9)
    gdf = gpd.GeoDataFrame(
        {"CJQYDM": villages[S.CODE], "CJQYMC": villages[S.NAME]}, geometry=moved, crs=4326
    )
    shp = tmp_path / "villages.geojson"
    gdf.to_file(shp)
    imp(tiny_store, "--boundaries", str(shp), "--level", "village")
    assert rebuild_note(tiny_store) == "full: the boundaries changed"
    # the copy made for a patch while the import was planned is gone with it
    assert not list(tiny_store.parent.glob(".store.tmp-*"))
    assert_as_full_build(tiny_store, tmp_path)


def test_rollbacks_are_incremental_and_equal_a_full_build(tiny_store: Path, tmp_path: Path):
    original = contents(tiny_store)
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_B, drop=1)))
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_A, planned=5.0)))
    pipeline.rollback(tiny_store, 1)  # B back in its place: the projects table is rewritten
    assert rebuild_note(tiny_store) == f"incremental: {COUNTY_B[:6]}"
    assert_as_full_build(tiny_store, tmp_path)
    pipeline.rollback(tiny_store, 2)
    assert_as_full_build(tiny_store, tmp_path)
    assert_frame_equal(
        contents(tiny_store)[S.TABLE_REGION_SUMMARY], original[S.TABLE_REGION_SUMMARY]
    )


def test_replace_all_keeps_the_full_build(tiny_store: Path, tmp_path: Path):
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_B)), "--replace-all")
    assert rebuild_note(tiny_store) == "full: the whole ledger was replaced"
    assert_as_full_build(tiny_store, tmp_path)


def test_a_patch_that_does_not_fit_leaves_the_store_unchanged(tiny_store: Path):
    before = tiny_store.read_bytes()
    rows = pd.DataFrame({S.CODE: [V1], S.FUNDS_PLANNED: ["text, not a number"]})
    with pytest.raises(patch.PatchError, match="differ from the store"):
        patch.patch_store(tiny_store, patch.Patch(update={S.LAYER_VILLAGE_PLAN: rows}), {"k": "v"})
    assert tiny_store.read_bytes() == before
    assert not list(tiny_store.parent.glob(".store.tmp-*"))


def test_rows_are_deleted_on_the_early_copy_while_the_rest_is_planned(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An import queues the deletion of the county's project rows on the store's early copy
    (``patch.ahead``); the store is the same as a full build. When that deletion fails, the
    import fails and leaves the store byte-identical, with no temporary file."""
    queued: list[object] = []
    then = storefile.EarlyCopy.then
    monkeypatch.setattr(
        storefile.EarlyCopy, "then", lambda self, work: (queued.append(work), then(self, work))
    )
    imp(tiny_store, "--ledger", str(county_book(tmp_path, COUNTY_B, planned=5.0)))
    assert len(queued) == 1
    assert rebuild_note(tiny_store) == f"incremental: {COUNTY_B[:6]}"
    assert_as_full_build(tiny_store, tmp_path)

    before = tiny_store.read_bytes()

    def broken(self, work):
        def fail(_tmp: Path) -> None:
            raise OSError("disk full")

        then(self, fail)

    monkeypatch.setattr(storefile.EarlyCopy, "then", broken)
    book = county_book(tmp_path, COUNTY_A, planned=6.0)
    assert cli.main(["import", "--ledger", str(book), "--store", str(tiny_store)]) != 0
    assert tiny_store.read_bytes() == before
    assert not list(tiny_store.parent.glob(".store.tmp-*"))


def test_a_patch_without_its_early_copy_does_every_change_itself(tiny_store: Path):
    """``patch.ahead`` marks changes done to an early copy; without the copy they are done by
    ``patch_store`` itself."""
    fids = list(range(1, 4))
    n = store.table_rows(tiny_store)[S.LAYER_PROJECTS]
    p = patch.Patch(delete={S.LAYER_PROJECTS: ("fid", fids)}, ahead={S.LAYER_PROJECTS})
    p.counts[S.LAYER_PROJECTS] = n - len(fids)
    patch.patch_store(tiny_store, p, store.read_build_info(tiny_store))
    assert store.table_rows(tiny_store)[S.LAYER_PROJECTS] == n - len(fids)


def test_changed_villages():
    reg = make_registry()
    new = reg.copy()
    new.loc[1, S.POOR_POPULATION] = 61
    assert incremental.changed_villages(reg, new) == [V2]
    assert incremental.changed_villages(reg, reg.drop(columns=S.EXIT_YEAR)) is None
