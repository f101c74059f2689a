"""Rollback warns when a later revision touched the same counties (command line and page), the
page's history refreshes after a rollback, and revisions without files show "—" counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import pipeline, revisions, zones
from layers.cli import main as cli
from layers.ingest.prepare import prepare_import
from layers.ingest.template import office_ledger_workbook
from tests.conftest import COUNTY_A, COUNTY_B, make_projects, write_tiny_store

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def history_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Revisions 1 build, 2 import 乙县, 3 import 乙县 again, 4 import 甲县."""
    path = write_tiny_store(tmp_path / "tiny.gpkg", demo=False)
    monkeypatch.setenv("ONEMAP_STORE", str(path))
    zpath = tmp_path / "zones.toml"
    zpath.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n', encoding="utf-8"
    )
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    pipeline.run_build(path)
    p = make_projects()
    for county, funds in ((COUNTY_B, 10.0), (COUNTY_B, 20.0), (COUNTY_A, 30.0)):
        part = p[p[S.COUNTY_CODE] == county].copy()
        part[S.FUNDS_PLANNED] = funds
        book = (f"{county[:6]}_{funds:g}.xlsx", office_ledger_workbook(part))
        prepared = prepare_import(store.read_inputs(path), ledgers=[book])
        pipeline.commit_import(path, prepared, expected_rev=revisions.head(path))
    return path


def test_later_overlaps(history_store: Path):
    log = revisions.read_log(history_store)
    assert revisions.later_overlaps(log, 2)["rev"].tolist() == [3]
    assert revisions.later_overlaps(log, 3)["rev"].tolist() == []
    assert revisions.later_overlaps(log, 4)["rev"].tolist() == []


def test_cli_rollback_warns_about_later_revisions(history_store: Path, capsys):
    assert cli.main(["rollback", "2", "--store", str(history_store)]) == 0
    err = capsys.readouterr().err
    assert "later revisions touched the same counties" in err
    assert "\n   3  " in err and "530103" in err
    assert cli.main(["rollback", "4", "--store", str(history_store)]) == 0
    assert "later revisions" not in capsys.readouterr().err


def test_page_warns_then_refreshes_the_history(history_store: Path):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("views/import_data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert table["修订"].tolist() == [4, 3, 2, 1]
    build_row = table[table["修订"] == 1].iloc[0]
    assert build_row["读入"] == "—" and build_row["接收"] == "—" and build_row["拒收"] == "—"
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()
    at.selectbox(key="hist_rev").set_value(2).run()
    warning = [w.value for w in at.warning if "之后的修订也改过这些县" in w.value]
    assert warning and "修订 3" in warning[0] and "修订 4" not in warning[0]
    at.checkbox(key="hist_sure_2_0").check().run()
    at.button(key="hist_rollback_2").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "已撤销修订 2，写为修订 5。" for s in at.success)
    table = at.dataframe[-1].value
    assert table["修订"].tolist()[0] == 5 and table["类型"].tolist()[0] == "撤销"
    assert not at.checkbox(key="hist_sure_2_1").value  # a fresh, unticked confirmation
    at.selectbox(key="hist_rev").set_value(4).run()
    assert not [w for w in at.warning if "之后的修订也改过这些县" in w.value]
