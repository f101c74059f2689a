"""Readers see one whole revision (issue #10): a write landing between two layer reads of one
page run does not mix layers; the next run sees the new revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import COUNTY_B, make_projects, make_registry, make_units
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import pipeline, revisions, terrain, zones
from layers.ingest.prepare import prepare_import
from layers.ingest.template import office_ledger_workbook


def _page(path: str, prepared: object) -> None:
    """A page run: pin, read build_info, another writer lands, read the summary and projects."""
    import streamlit as st

    from layers import schema as S
    from layers import store
    from layers.build import pipeline
    from views import loaders

    loaders.pin_revision(path)
    first = loaders.build_info(path)["revision"]
    if not st.session_state.get("wrote"):
        st.session_state["wrote"] = True
        pipeline.commit_import(path, prepared, expected_rev=int(first))
        st.write(f"on disk {store.read_build_info(path)['revision']}")
    summary = loaders.load_region_summary(path).set_index(S.CODE)
    projects = loaders.load_projects(path)
    info = loaders.build_info(path)["revision"]
    st.write(f"run {first} {info}")
    st.write(f"funds {summary.loc[S.PROVINCE_CODE, S.FUNDS_PLANNED]:.2f}")
    st.write(f"projects {len(projects)}")


ZONES = """
[[zones]]
name = "深度区"
name_en = "deep"
members = ["530102"]
"""


@pytest.fixture
def store_rev1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    zpath = tmp_path / "zones.toml"
    zpath.write_text(ZONES, encoding="utf-8")
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    path = tmp_path / "store.gpkg"
    store.write_store(
        path,
        pipeline.build_tables(inputs),
        pipeline.make_build_info(inputs, **{terrain.BUILD_INFO_KEY: terrain.NO_DEM}),
    )
    pipeline.run_build(path)
    return path


def test_a_write_during_a_run_does_not_mix_revisions(store_rev1: Path, tmp_path: Path):
    old = store.read_layer(store_rev1, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    old_funds = old.loc[S.PROVINCE_CODE, S.FUNDS_PLANNED]
    n_old = len(store.read_layer(store_rev1, S.LAYER_PROJECTS))
    part = make_projects()
    part = part[part[S.COUNTY_CODE] == COUNTY_B].copy()
    part.loc[part.index[0], S.FUNDS_PLANNED] = 5000.0
    book = tmp_path / "b.xlsx"
    book.write_bytes(office_ledger_workbook(part.iloc[1:]))
    prepared = prepare_import(store.read_inputs(store_rev1), ledgers=[book])
    at = AppTest.from_function(_page, args=(str(store_rev1), prepared), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    text = [m.value for m in at.markdown]
    assert "on disk 2" in text  # the write landed in the middle of the run
    assert "run 1 1" in text  # ... and the run kept reading revision 1
    assert f"funds {old_funds:.2f}" in text
    assert f"projects {n_old}" in text
    at.run()  # the next run sees revision 2
    new = store.read_layer(store_rev1, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    text = [m.value for m in at.markdown]
    assert "run 2 2" in text
    assert f"funds {new.loc[S.PROVINCE_CODE, S.FUNDS_PLANNED]:.2f}" in text
    assert f"projects {n_old - 1}" in text
    assert revisions.head(store_rev1) == 2
