"""The PostGIS store: the same tables and dtypes as the GeoPackage store, writes, locks, security.

Every test runs against a real PostgreSQL + PostGIS started by ``scripts/postgis.sh`` (the
``pg_server`` fixture of conftest), each in a schema of its own. The ones that run commands,
pages and imports (several builds each, a minute or more under load) are marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import COUNTY_A, COUNTY_B, V1, make_projects, write_tiny_store
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from layers import access, pgstore, store
from layers import schema as S
from layers.accounts import Accounts
from layers.build import lock, revisions, terrain, zones
from layers.build.copy import copy_store
from layers.cli import main as cli
from layers.errors import StoreError
from layers.ingest.template import office_ledger_workbook
from views import loaders


def _tables(path: object) -> dict[str, pd.DataFrame]:
    return {n: store.read_layer(path, n) for n in store.list_layers(path)}


# --- round trip -----------------------------------------------------------------------------------


def test_every_layer_of_the_tiny_store_reads_back_equal(tmp_path: Path, pg_url: str) -> None:
    gpkg = write_tiny_store(tmp_path / "tiny.gpkg")
    write_tiny_store(pg_url)
    assert store.exists(pg_url)
    want, got = _tables(gpkg), _tables(pg_url)
    assert sorted(got) == sorted(want)
    for name, df in want.items():
        back = got[name]
        assert type(back) is type(df), name
        assert list(back.columns) == list(df.columns), name
        assert {c: str(t) for c, t in back.dtypes.items()} == {
            c: str(t) for c, t in df.dtypes.items()
        }, name
        if name != S.TABLE_BUILD_INFO:  # built_at differs between the two writes
            assert store.table_sha256(back) == store.table_sha256(df), name
    projects = got[S.LAYER_PROJECTS]
    assert len(projects) == 13 and projects.crs.to_epsg() == 4326
    assert projects[S.COUNTY_CODE].dropna().str.len().eq(12).all()


def test_dtypes_that_postgres_does_not_keep_are_restored(pg_url: str) -> None:
    df = gpd.GeoDataFrame(
        {
            "code": pd.array(["053300000001", "530000000000", None], dtype="str"),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "ok": [True, False, True],
            "day": pd.to_datetime(["2019-01-02", None, "2020-12-31"]).as_unit("ms"),
            "x": [0.5, float("nan"), 2.0],
            "text": ["引号 ' 和 \" 与 \\ 反斜杠", "", None],
        },
        geometry=[Point(100, 25), None, box(100, 25, 101, 26)],
        crs="EPSG:4326",
    )
    plain = pd.DataFrame({"key": ["a"], "n": pd.array([None], dtype="Int64")})
    store.write_store(pg_url, {"things": df, "plain": plain}, {"source": "test"})
    back = store.read_layer(pg_url, "things")
    assert dict(back.dtypes.astype(str)) == dict(df.dtypes.astype(str))
    assert back["code"].tolist()[:2] == ["053300000001", "530000000000"]
    assert back["code"].isna().tolist() == [False, False, True]
    assert back["n"].isna().tolist() == [False, True, False]
    assert back["text"].tolist()[:2] == df["text"].tolist()[:2]  # '' stays '', quotes stay
    assert back.geometry.iloc[1] is None and back.geometry.iloc[2].equals(box(100, 25, 101, 26))
    assert store.table_sha256(back) == store.table_sha256(df)
    assert store.read_layer(pg_url, "plain")["n"].dtype == "Int64"


def test_filters_are_evaluated_alike_by_both_stores(tmp_path: Path, pg_url: str) -> None:
    gpkg = write_tiny_store(tmp_path / "tiny.gpkg")
    write_tiny_store(pg_url)
    cases = [
        {S.COUNTY_CODE: store.Prefix(COUNTY_A[:6])},
        {S.COUNTY_CODE: [COUNTY_A, COUNTY_B], S.SECTOR: "industry"},
        {S.PLAN_YEAR: store.Between(2017, 2018)},
        {S.STATUS: "completed", S.COUNTY_CODE: store.Prefix("5301")},
        {S.PROJECT_ID: "no such ' id"},
    ]
    for flt in cases:
        a = store.read_layer(gpkg, S.LAYER_PROJECTS, filters=flt)
        b = store.read_layer(pg_url, S.LAYER_PROJECTS, filters=flt)
        assert sorted(a[S.PROJECT_ID]) == sorted(b[S.PROJECT_ID]), flt
    assert len(store.read_layer(pg_url, S.LAYER_PROJECTS, filters=cases[0])) == 10
    attrs = store.read_layer(pg_url, S.LAYER_ADMIN_UNITS, columns=[S.CODE], geometry=False)
    assert type(attrs) is pd.DataFrame and list(attrs.columns) == [S.CODE] and len(attrs) == 17


def test_missing_store_layer_and_column_are_one_clear_line(pg_url: str) -> None:
    assert not store.exists(pg_url)
    with pytest.raises(StoreError, match="no OneMap store at postgresql://onemap@"):
        store.read_build_info(pg_url)
    write_tiny_store(pg_url)
    with pytest.raises(StoreError, match="has no layer 'nope'"):
        store.read_layer(pg_url, "nope")
    with pytest.raises(StoreError, match=r"has no column\(s\) \['nope'\]"):
        store.read_layer(pg_url, S.LAYER_PROJECTS, columns=["nope"])
    with pytest.raises(StoreError, match="not a WHERE text"):
        store.read_layer(pg_url, S.LAYER_PROJECTS, where="1=1")


def test_unreachable_server_and_bad_schema_name() -> None:
    unreachable = r"cannot reach the PostGIS store postgresql://x:\*\*\*@"
    with pytest.raises(StoreError, match=unreachable) as e:
        store.exists("postgresql://x:secret@127.0.0.1:1/db")
    assert "secret" not in str(e.value)
    with pytest.raises(StoreError, match="not a plain lower-case name"):
        store.exists("postgresql://x@127.0.0.1:1/db?schema=a;drop")


def test_a_failed_write_leaves_the_previous_store(pg_url: str) -> None:
    write_tiny_store(pg_url)
    before = store.read_build_info(pg_url)
    bad = pd.DataFrame({"x": [object()]})  # COPY cannot write this
    with pytest.raises(StoreError, match="previous store is unchanged"):
        store.write_store(pg_url, {"bad": bad}, {"source": "broken"})
    assert store.read_build_info(pg_url) == before
    assert "bad" not in store.list_layers(pg_url)


def test_store_version_changes_with_every_write(pg_url: str) -> None:
    assert store.store_mtime(pg_url) == -1
    write_tiny_store(pg_url)
    first = store.store_mtime(pg_url)
    write_tiny_store(pg_url, source="again")
    assert store.store_mtime(pg_url) != first


def test_indexes_are_there(pg_url: str, pg_server: str) -> None:
    write_tiny_store(pg_url)
    schema = pgstore.parse(pg_url).schema
    with pgstore.engine(pg_server).connect() as conn:
        rows = conn.execute(
            sa.text("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = :s"),
            {"s": schema},
        ).all()
    defs = {(t, d.split(" USING ")[1]) for t, d in rows}
    assert ("projects", "gist (geometry)") in defs
    assert ("projects", "btree (county_code)") in defs
    assert ("admin_units", "btree (code)") in defs


# --- the write lock ------------------------------------------------------------------------------


def test_the_advisory_lock_makes_a_second_writer_wait_and_names_the_holder(pg_url: str) -> None:
    held, release, messages = threading.Event(), threading.Event(), []

    def holder() -> None:
        with lock.store_lock(pg_url, "alice", what="import"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(10)
    busy = r"written by alice \(import\) since .* gave up after 0.5 s"
    with (
        pytest.raises(StoreError, match=busy),
        lock.store_lock(pg_url, "bob", timeout=0.5, on_wait=messages.append),
    ):
        pass
    assert messages and "alice" in messages[0]
    release.set()
    t.join()
    with lock.store_lock(pg_url, "bob", timeout=5):
        pass


def test_history_lives_in_the_state_directory(pg_url: str, tmp_path: Path) -> None:
    assert revisions.history_dir(pg_url).is_relative_to(tmp_path / "state")


# --- every command on a PostGIS store ------------------------------------------------------------

ZONES = '[[zones]]\nname = "深度区"\nname_en = "deep"\nmembers = ["530102"]\n'


@pytest.fixture
def tiny_pg(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny province (no terrain) in a PostGIS store; the zones file of the tiny province."""
    zpath = tmp_path / "zones.toml"
    zpath.write_text(ZONES, encoding="utf-8")
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    monkeypatch.chdir(tmp_path)  # the import report of a PostGIS store goes here
    write_tiny_store(pg_url, **{terrain.BUILD_INFO_KEY: terrain.NO_DEM})
    return pg_url


def ledger_book(tmp_path: Path, county: str, planned: float) -> Path:
    p = make_projects()
    part = p[p[S.COUNTY_CODE] == county].copy()
    part[S.FUNDS_PLANNED] = planned
    out = tmp_path / f"{county[:6]}_{planned:g}.xlsx"
    out.write_bytes(office_ledger_workbook(part))
    return out


def planned_of(path: object, county: str) -> set[float]:
    projects = store.read_inputs(path).projects
    return set(projects.loc[projects[S.COUNTY_CODE] == county, S.FUNDS_PLANNED].round(6))


def onemap(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


@pytest.mark.slow  # several builds of the tiny province on the server
def test_import_history_rollback_and_build_on_postgis(
    tiny_pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = planned_of(tiny_pg, COUNTY_B)
    out = onemap(
        capsys, "import", "--ledger", str(ledger_book(tmp_path, COUNTY_B, 22)), "--store", tiny_pg
    )
    assert "imported and rebuilt" in out and (tmp_path / "onemap_import_report.xlsx").is_file()
    assert planned_of(tiny_pg, COUNTY_B) == {22.0}
    summary = store.read_layer(tiny_pg, S.TABLE_REGION_SUMMARY).set_index(S.CODE)
    assert summary.loc[COUNTY_B, S.FUNDS_PLANNED] == pytest.approx(
        22.0 * int((make_projects()[S.COUNTY_CODE] == COUNTY_B).sum())
    )
    history = onemap(capsys, "history", "--store", tiny_pg)
    assert "import" in history and COUNTY_B[:6] in history
    rev = revisions.head(tiny_pg)
    assert (revisions.revision_dir(tiny_pg, rev) / "files").is_dir()  # the upload, kept
    onemap(capsys, "rollback", str(rev), "--store", tiny_pg)
    assert planned_of(tiny_pg, COUNTY_B) == before
    onemap(capsys, "build", "--store", tiny_pg)
    assert revisions.read_log(tiny_pg)["kind"].tolist() == ["import", "rollback", "build"]
    audit = onemap(capsys, "audit", "--store", tiny_pg)
    assert audit.strip()


@pytest.mark.slow  # several builds of the tiny province on the server
def test_store_copy_both_ways_keeps_every_table_and_the_summary(
    tiny_pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onemap(
        capsys, "import", "--ledger", str(ledger_book(tmp_path, COUNTY_A, 7)), "--store", tiny_pg
    )
    gpkg = tmp_path / "copy.gpkg"
    out = onemap(capsys, "store", "copy", tiny_pg, str(gpkg))
    assert "copied" in out
    back = f"{tiny_pg}_back"
    onemap(capsys, "store", "copy", str(gpkg), back)
    with pytest.raises(StoreError, match="already holds a store; pass --replace"):
        copy_store(gpkg, back, user="t")
    for name in store.list_layers(tiny_pg):
        a, b, c = (store.read_layer(p, name) for p in (tiny_pg, gpkg, back))
        assert store.table_sha256(a) == store.table_sha256(b) == store.table_sha256(c), name
    figures = []
    for p in (tiny_pg, str(gpkg), back):
        for region in ([], ["--region", COUNTY_A[:6]]):
            rec = json.loads(onemap(capsys, "summary", "--json", "--store", p, *region))
            rec.pop("store")
            figures.append(rec)
    assert figures[0] == figures[2] == figures[4] and figures[1] == figures[3] == figures[5]
    assert figures[0]["projects"] == 13
    # the copied history still rolls back the import made before the copy
    onemap(capsys, "rollback", str(revisions.head(back)), "--store", back)
    assert planned_of(back, COUNTY_A) == planned_of(write_tiny_store(tmp_path / "t.gpkg"), COUNTY_A)


# --- row-level security ------------------------------------------------------------------------


def test_a_county_session_cannot_read_another_countys_rows(pg_url: str, pg_server: str) -> None:
    write_tiny_store(pg_url)
    schema = pgstore.parse(pg_url).schema
    app = pgstore.engine(pg_server.replace("//onemap@", "//onemap_app@"))
    unfiltered = sa.text(f'SELECT count(*), count(DISTINCT county_code) FROM "{schema}".projects')
    with app.begin() as conn:  # the dashboard's role, not the owner
        assert conn.execute(unfiltered).one() == (0, 0)  # no region set: nothing
        conn.execute(sa.text("SELECT set_config('onemap.region', '530102', true)"))
        assert conn.execute(unfiltered).one() == (10, 1)  # 甲县 only, though the query asks all
        villages = conn.execute(sa.text(f'SELECT code FROM "{schema}".village_plan')).scalars()
        assert {c[:6] for c in villages} == {"530102"}
        registry = conn.execute(sa.text(f'SELECT village_code FROM "{schema}".registry')).scalars()
        assert {c[:6] for c in registry} == {"530102"}
    with app.begin() as conn:
        conn.execute(sa.text("SELECT set_config('onemap.region', '*', true)"))
        assert conn.execute(unfiltered).one()[0] == 13
    with app.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="must be owner"):
        conn.execute(sa.text(f'ALTER TABLE "{schema}".projects DISABLE ROW LEVEL SECURITY'))
    # the store's own reads run under the region of the signed-in scope, owner or not
    with pgstore.use_region("530103"):
        rows = store.read_layer(pg_url, S.LAYER_PROJECTS)
    assert set(rows[S.COUNTY_CODE]) == {COUNTY_B}
    assert len(store.read_layer(pg_url, S.LAYER_PROJECTS)) == 13  # the CLI: the province


@pytest.mark.slow
def test_two_processes_importing_two_counties_at_once_both_land(
    tiny_pg: str, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "ONEMAP_LOCK_TIMEOUT": "600",
        "ONEMAP_STATE_DIR": os.environ["ONEMAP_STATE_DIR"],
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(root / "tests" / "writer_process.py"),
                str(zones.ZONES_TOML),
                "import",
                "--ledger",
                str(ledger_book(tmp_path, county, planned)),
                "--store",
                tiny_pg,
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for county, planned in ((COUNTY_A, 11.0), (COUNTY_B, 22.0))
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert planned_of(tiny_pg, COUNTY_A) == {11.0}
    assert planned_of(tiny_pg, COUNTY_B) == {22.0}
    assert revisions.read_log(tiny_pg)["kind"].tolist() == ["import", "import"]
    with lock.store_lock(tiny_pg, "test", timeout=0):  # released by both
        pass


@pytest.mark.parametrize("county", [COUNTY_A, COUNTY_B])
def test_a_county_import_writes_only_its_rows_and_equals_the_full_rebuild(
    tiny_pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], county: str
) -> None:
    book = ledger_book(tmp_path, county, 22)
    onemap(capsys, "import", "--ledger", str(book), "--store", tiny_pg)
    assert store.read_build_info(tiny_pg)["rebuild"] == f"incremental: {county[:6]}"
    assert planned_of(tiny_pg, county) == {22.0}
    patched = _tables(tiny_pg)
    onemap(capsys, "build", "--store", tiny_pg)
    rebuilt = _tables(tiny_pg)
    assert sorted(patched) == sorted(rebuilt)
    for name, table in rebuilt.items():
        if name not in (S.TABLE_BUILD_INFO, revisions.TABLE_REVISIONS):
            assert store.table_sha256(patched[name]) == store.table_sha256(table), name
    log = revisions.read_log(tiny_pg)
    assert log["kind"].tolist() == ["import", "build"]
    onemap(capsys, "rollback", "1", "--store", tiny_pg)  # rolled back in place as well
    assert planned_of(tiny_pg, county) != {22.0}


# --- the dashboard on a PostGIS store ------------------------------------------------------------

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse battery staple"


def _page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.main.metric}


@pytest.mark.slow  # several builds of the tiny province on the server
def test_pages_read_their_projects_from_postgis_and_follow_a_new_import(
    tiny_pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", tiny_pg)
    monkeypatch.chdir(Path(APP).parent)  # .streamlit/config.toml: a local address
    monkeypatch.setattr(loaders, "VERSION_TTL_S", 0.0)
    at = _page("views/library.py", region=COUNTY_A)
    assert _kpis(at)["项目数"] == "10个" and _kpis(at)["计划资金"] == "780万元"  # as on GPKG
    at = _page("views/library.py", region=COUNTY_A, sectors="industry")
    assert _kpis(at)["项目数"] == "2个"
    assert set(at.main.dataframe[0].value["项目编号"]) == {"P01", "P07"}
    at = _page("views/village.py", region=V1)
    assert "一村" in at.main.subheader[0].value
    # another process imports: the next run shows it, no restart (caches keyed by revision)
    onemap(
        capsys,
        "import",
        "--ledger",
        str(ledger_book(tmp_path, COUNTY_A, 5)),
        "--store",
        tiny_pg,
        "--report",
        str(tmp_path / "report"),
    )
    at = _page("views/library.py", region=COUNTY_A)
    assert _kpis(at)["计划资金"] == "50万元"  # 10 projects × 5万元


@pytest.mark.slow  # several builds of the tiny province on the server
def test_a_county_session_reads_only_its_county_even_when_the_page_asks_for_another(
    tiny_pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", tiny_pg)
    monkeypatch.chdir(Path(APP).parent)
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "users.sqlite"))
    Accounts(tmp_path / "users.sqlite").add("clerk_b", PASSWORD, "county", COUNTY_B, by="test")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/library.py")
    at.query_params["region"] = COUNTY_B
    at.run()
    at.text_input(key="signin_name").input("clerk_b")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _kpis(at)["项目数"] == "3个"  # 乙县: P09, P10, P12
    # a bug that asks for 甲县's projects under this session's scope gets nothing from the DB
    clerk = access.Scope(region=COUNTY_B, write=True, admin=False)
    with loaders.read_scope(clerk):
        assert loaders.unit_projects(S.COUNTY_CODE, COUNTY_A).empty
        assert set(loaders.load_projects()[S.COUNTY_CODE]) == {COUNTY_B}
    assert len(loaders.unit_projects(S.COUNTY_CODE, COUNTY_A)) == 10  # the province's view


@pytest.mark.slow  # several builds of the tiny province on the server
def test_exports_read_a_postgis_store_like_a_geopackage(
    tiny_pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpkg = tmp_path / "same.gpkg"
    onemap(capsys, "store", "copy", tiny_pg, str(gpkg))
    for name, src in (("pg", tiny_pg), ("gpkg", str(gpkg))):
        for kind in ("summary", "projects"):
            out = tmp_path / f"{name}_{kind}.csv"
            onemap(
                capsys,
                "export",
                "table",
                "--store",
                src,
                "--kind",
                kind,
                "--sector",
                "industry",
                "--out",
                str(out),
            )
        onemap(capsys, "export", "map", "--store", src, "--out", str(tmp_path / f"{name}.png"))
    for kind in ("summary", "projects"):
        a = (tmp_path / f"pg_{kind}.csv").read_text(encoding="utf-8-sig")
        b = (tmp_path / f"gpkg_{kind}.csv").read_text(encoding="utf-8-sig")
        assert a == b and len(a.splitlines()) > 1, kind
    assert (tmp_path / "pg.png").stat().st_size > 10_000
