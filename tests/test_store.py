"""The GeoPackage store: round-trips with dtypes, atomic replacement, errors that name the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from shapely.geometry import Point, box

from layers import schema as S
from layers import store, storefile
from layers.errors import OneMapError, StoreError
from tests.conftest import make_projects, make_registry, make_units

INFO = {"built_at": "2026-01-01T00:00:00+00:00", "demo": True, "seed": 7, "inputs": {"a": "b"}}


def _tables() -> dict[str, pd.DataFrame]:
    return {
        S.LAYER_ADMIN_UNITS: make_units(),
        S.LAYER_REGISTRY: make_registry(),
        S.LAYER_PROJECTS: make_projects(),
    }


@pytest.fixture
def written(tmp_path: Path) -> Path:
    return store.write_store(tmp_path / "onemap.gpkg", _tables(), INFO)


def test_inputs_round_trip_with_dtypes(written: Path) -> None:
    back = store.read_inputs(written)
    assert_geodataframe_equal(back.admin_units, make_units())
    assert_frame_equal(back.registry, make_registry())
    assert_geodataframe_equal(back.projects, make_projects())
    # what a user of the store relies on, spelled out
    units = back.admin_units
    assert units[S.CODE].map(type).eq(str).all()
    assert units.loc[units[S.CODE] == "530102000000", S.CODE].item() == "530102000000"
    assert units[S.COUNTY_EXIT_YEAR].dtype == "Int64"
    assert units[S.COUNTY_EXIT_YEAR].isna().sum() == 16
    assert units[S.HAS_TASKS].dtype == bool
    assert back.registry[S.EXIT_YEAR].dtype == "Int64"
    assert back.registry[S.EXIT_YEAR].isna().sum() == 2
    assert back.projects[S.START_DATE].dtype.kind == "M"
    assert back.projects[S.COMPLETION_DATE].isna().sum() == 4
    assert back.projects.geometry.isna().sum() == 1
    assert back.projects.crs.to_epsg() == 4326


def test_content_hash_survives_the_round_trip(written: Path) -> None:
    back = store.read_inputs(written)
    for name, table in _tables().items():
        assert store.table_sha256(getattr(back, name)) == store.table_sha256(table), name


def test_content_hash_sees_a_changed_value_and_geometry() -> None:
    units = make_units()
    base = store.table_sha256(units)
    renamed = units.copy()
    renamed.loc[3, S.NAME] = "改名县"
    moved = units.copy()
    moved.loc[3, "geometry"] = box(100, 25, 101, 25.9)
    assert store.table_sha256(renamed) != base
    assert store.table_sha256(moved) != base
    assert store.table_sha256(units.reset_index(drop=True)) == base
    # a slice (Arrow offset) hashes like the same rows built afresh
    tail = units.iloc[5:]
    fresh = gpd.GeoDataFrame(tail.to_dict("records"), crs=units.crs).astype(tail.dtypes.to_dict())
    assert store.table_sha256(tail) == store.table_sha256(fresh)
    assert store.table_sha256(tail) != store.table_sha256(units.iloc[6:])


def test_content_hash_by_group_is_each_groups_hash() -> None:
    projects = make_projects()
    projects.loc[projects.index[1], "geometry"] = None  # a project without coordinates
    projects.loc[projects.index[2], S.COUNTY_CODE] = None  # and one without a county
    by = store.table_sha256_by(projects, S.COUNTY_CODE)
    codes = projects[S.COUNTY_CODE].astype("str").fillna("")
    assert sorted(by) == sorted(set(codes))
    for code, digest in by.items():
        assert digest == store.table_sha256(projects[codes == code]), code
    changed = projects.copy()
    changed.loc[changed.index[-1], S.NAME] = "改"
    after = store.table_sha256_by(changed, S.COUNTY_CODE)
    last = codes.iloc[-1]
    assert [c for c in by if by[c] != after[c]] == [last]


def test_nullable_bool_and_plain_types_round_trip(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "code": pd.array(["530000000000", "533321000000", "000000000001"], dtype="str"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "count": pd.array([1, 2, 3], dtype="int64"),
            "maybe": pd.array([None, None, None], dtype="Int64"),
            "share": [0.5, float("nan"), 1.0],
            "day": pd.to_datetime(["2019-01-02", None, "2020-12-31"]),
        }
    )
    path = store.write_store(tmp_path / "s.gpkg", {"t": table}, {})
    back = store.read_layer(path, "t")
    assert not isinstance(back, gpd.GeoDataFrame)
    assert_frame_equal(back, table)
    assert back.loc[2, "code"] == "000000000001"


def test_build_info_and_layer_list(written: Path) -> None:
    info = store.read_build_info(written)
    assert info["demo"] == "true"
    assert info["seed"] == "7"
    assert json.loads(info["inputs"]) == {"a": "b"}
    assert set(store.list_layers(written)) == {
        S.LAYER_ADMIN_UNITS,
        S.LAYER_REGISTRY,
        S.LAYER_PROJECTS,
        S.TABLE_BUILD_INFO,
    }
    assert store.store_mtime(written) == written.stat().st_mtime


def test_catalogue_read_by_sqlite_is_gdals(tiny_store: Path, tmp_path: Path) -> None:
    """The layer list and recorded dtypes come from SQLite (no GDAL open): the same as GDAL's,
    also for a path SQLite's URI syntax would misread."""
    odd = tmp_path / "a b#c?d%20" / "store.gpkg"
    odd.parent.mkdir()
    odd.write_bytes(tiny_store.read_bytes())
    for path in (tiny_store, odd):
        names = store.list_layers(path)
        assert names == [n for n, _ in pyogrio.list_layers(path)]
        assert {S.LAYER_PROJECTS, S.TABLE_REGION_SUMMARY, S.TABLE_BUILD_INFO} <= set(names)
        for name in names:
            meta = pyogrio.read_info(path, layer=name)["layer_metadata"] or {}
            assert store._recorded_dtypes(path, name) == json.loads(meta[store.DTYPES_KEY])
    assert store._recorded_dtypes(odd, S.LAYER_PROJECTS)[S.PLAN_YEAR] in ("int64", "Int64")


def _gdal_read(path: Path, name: str, where: str | None = None) -> pd.DataFrame:
    """What ``read_layer`` gave before its faster paths: GDAL's read, the dtypes restored."""
    df = pyogrio.read_dataframe(path, layer=name, where=where, use_arrow=True)
    return store._restore_dtypes(df, store._recorded_dtypes(path, name))


def test_small_tables_read_by_sqlite_are_gdals(tmp_path: Path) -> None:
    """Small attribute tables are read with SQLite, not GDAL: the same frame, nulls of every
    kind, empty text, quotes and Chinese included; a large one is still GDAL's."""
    odd = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "i": [1, 2, 3],
            "x": [0.1, float("nan"), 1e300],
            "t": pd.array(["怒江州", None, ""], dtype="str"),
            'q"uote': ["a'b", "c", "d"],
            "b": [True, False, True],
            "nb": pd.array([True, None, False], dtype="boolean"),
            "o": pd.Series([None, None, None], dtype="object"),
        }
    )
    empty = odd.iloc[:0]
    big = pd.DataFrame({"k": range(3_000), "v": [str(i) for i in range(3_000)]})
    path = store.write_store(
        tmp_path / "s.gpkg", {**_tables(), "odd": odd, "empty": empty, "big": big}, INFO
    )
    for name in ("odd", "empty", "big", S.LAYER_REGISTRY, S.TABLE_BUILD_INFO):
        fast = store.read_layer(path, name)
        assert_frame_equal(fast, _gdal_read(path, name), check_exact=True)
    assert store.read_small_table(path, "big") is None  # over the row limit: GDAL's
    assert store.read_small_table(path, S.LAYER_PROJECTS) is None  # a spatial layer
    assert store.read_small_table(path, "missing") is None
    assert store.read_layer(path, "odd")["t"].tolist()[::2] == ["怒江州", ""]
    assert store.read_build_info(path)["seed"] == "7"


def test_rows_read_through_arrow_are_read_layers(written: Path) -> None:
    """``read_rows`` (datetimes converted by Arrow) gives ``read_layer``'s frame."""
    for name, where in (
        (S.LAYER_PROJECTS, "fid IN (2, 3, 5, 7)"),
        (S.LAYER_PROJECTS, "0 = 1"),
        (S.LAYER_ADMIN_UNITS, "level = 'county'"),
        (S.LAYER_REGISTRY, "village_code LIKE '5301%'"),
    ):
        fast = store.read_rows(written, name, where)
        slow = store.read_layer(written, name, where=where)
        assert len(fast) == len(slow)
        if isinstance(slow, gpd.GeoDataFrame):
            assert_geodataframe_equal(fast, slow, check_less_precise=False)
        else:
            assert_frame_equal(fast, slow, check_exact=True)
    dated = store.read_rows(written, S.LAYER_PROJECTS, "1 = 1")
    assert dated[S.START_DATE].dtype.kind == "M"
    assert dated[S.COMPLETION_DATE].isna().sum() == 4
    assert_geodataframe_equal(dated, make_projects())


def test_early_copy_runs_queued_work_in_order_and_reports_its_failure(written: Path) -> None:
    """Work queued on an early copy runs after the copy, in order; a failure stops the rest
    and is raised by ``result()``; the copy is removed by ``discard()``."""
    seen: list[str] = []
    early = storefile.EarlyCopy(written)
    early.then(lambda tmp: seen.append(f"a {tmp.stat().st_size == written.stat().st_size}"))
    early.then(lambda tmp: seen.append("b"))
    assert early.result().read_bytes() == written.read_bytes()
    assert seen == ["a True", "b"]
    with pytest.raises(RuntimeError, match="already used"):
        early.then(lambda tmp: None)
    early.discard()

    def fail(_tmp: Path) -> None:
        raise OSError("disk full")

    failing = storefile.EarlyCopy(written)
    failing.then(fail)
    failing.then(lambda tmp: seen.append("never"))
    with pytest.raises(OSError, match="disk full"):
        failing.result()
    failing.discard()
    assert "never" not in seen
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


def test_read_layer_columns_and_where(written: Path) -> None:
    counties = store.read_layer(
        written, S.LAYER_ADMIN_UNITS, columns=[S.CODE, S.NAME], where="level = 'county'"
    )
    assert isinstance(counties, gpd.GeoDataFrame)
    assert list(counties.columns) == [S.CODE, S.NAME, "geometry"]
    assert counties[S.NAME].tolist() == ["甲县", "乙县", "丙区"]


def test_failed_write_leaves_old_store_byte_identical(written: Path) -> None:
    before = written.read_bytes()
    bad = _tables()
    # GDAL refuses a text "fid" column — a real failure after the first layers are written
    bad["zz_broken"] = pd.DataFrame({"fid": ["a", "b"]})
    with pytest.raises(StoreError, match=r"layer 'zz_broken'.*previous store is unchanged"):
        store.write_store(written, bad, {"built_at": "later"})
    assert written.read_bytes() == before
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]
    assert store.read_build_info(written)["built_at"] == INFO["built_at"]


def test_interrupted_write_leaves_old_store_and_no_temp(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = written.read_bytes()
    real = pyogrio.write_dataframe
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(kwargs["layer"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_store(written, _tables(), {"built_at": "later"})
    assert len(calls) == 2
    assert written.read_bytes() == before
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]


def test_new_store_replaces_old(written: Path) -> None:
    store.write_store(written, {S.LAYER_REGISTRY: make_registry()}, {"built_at": "later"})
    assert store.list_layers(written) == [S.LAYER_REGISTRY, S.TABLE_BUILD_INFO]
    assert store.read_build_info(written) == {"built_at": "later"}


def test_layers_are_stored_in_wgs84(tmp_path: Path) -> None:
    metric = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(500_000, 2_800_000)], crs="EPSG:4543")
    path = store.write_store(tmp_path / "s.gpkg", {"pts": metric}, {})
    back = store.read_layer(path, "pts")
    assert back.crs.to_epsg() == 4326
    assert 101 < back.geometry.x[0] < 103 and 24 < back.geometry.y[0] < 26
    assert metric.crs.to_epsg() == 4543  # input untouched


def test_missing_store_names_path_and_command(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(StoreError, match=r"nowhere\.gpkg.*onemap demo"):
        store.read_layer(missing, S.TABLE_REGION_SUMMARY)
    with pytest.raises(StoreError, match=r"nowhere\.gpkg.*onemap demo"):
        store.read_inputs(missing)


def test_unreadable_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a geopackage")
    with pytest.raises(StoreError, match=r"junk\.gpkg is not a readable GeoPackage.*onemap demo"):
        store.list_layers(junk)
    assert isinstance(StoreError("x"), OneMapError)


def test_missing_layer_and_column(written: Path) -> None:
    with pytest.raises(StoreError, match=r"no layer 'village_plan' \(it has: .*admin_units.*build"):
        store.read_layer(written, S.LAYER_VILLAGE_PLAN)
    with pytest.raises(StoreError, match=r"no column\(s\) \['nope'\]"):
        store.read_layer(written, S.LAYER_REGISTRY, columns=["nope"])
    with pytest.raises(StoreError, match=r"cannot read layer 'registry'"):
        store.read_layer(written, S.LAYER_REGISTRY, where="no_such_column = 1")


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"pts": gpd.GeoDataFrame(geometry=[Point(0, 0)])}, r"layer 'pts' has no CRS"),
        ({"t": [1, 2]}, r"table 't' is a list, expected a \(Geo\)DataFrame"),
        ({"bad name": pd.DataFrame({"a": [1]})}, r"'bad name' is not a plain identifier"),
        ({S.TABLE_BUILD_INFO: pd.DataFrame({"a": [1]})}, r"written from the build_info argument"),
    ],
)
def test_unusable_tables_are_refused_before_writing(
    tmp_path: Path, tables: dict, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.write_store(tmp_path / "s.gpkg", tables, {})
    assert list(tmp_path.iterdir()) == []


def test_empty_point_layer_round_trips(tmp_path: Path) -> None:
    empty = make_projects().iloc[0:0]
    path = store.write_store(tmp_path / "s.gpkg", {S.LAYER_PROJECTS: empty}, {})
    back = store.read_layer(path, S.LAYER_PROJECTS)
    assert len(back) == 0
    assert list(back.columns) == list(empty.columns)


def test_rebuild_inputs_are_the_ledger_as_ingested(tmp_path: Path) -> None:
    """The pipeline fills P12's codes from its point; read_inputs gives the codeless row back."""
    from layers.build.pipeline import build_tables
    from tests.conftest import make_zone_members

    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    tables = build_tables(inputs, zone_members=make_zone_members())
    located = tables[S.LAYER_PROJECTS]
    assert located.loc[located[S.PROJECT_ID] == "P12", S.LOCATED_BY].item() == "point"
    assert store.TABLE_PROJECTS_INPUT_CHANGES in tables
    path = store.write_store(tmp_path / "s.gpkg", tables, {})
    back = store.read_inputs(path)
    assert_geodataframe_equal(back.projects, make_projects())
    assert back.projects.loc[11, S.VILLAGE_CODE] is None or pd.isna(
        back.projects.loc[11, S.VILLAGE_CODE]
    )
    stored = store.read_layer(path, S.LAYER_PROJECTS)
    assert stored.loc[11, S.VILLAGE_CODE] == "530103001001"


def test_ledger_with_dropped_rows_is_kept_whole() -> None:
    ledger = make_projects()
    located = ledger.iloc[1:].copy()
    tables = store.ledger_tables(ledger, located)
    assert tables[store.TABLE_PROJECTS_INPUT] is not None
    assert len(tables[store.TABLE_PROJECTS_INPUT]) == 13
    assert store.TABLE_PROJECTS_INPUT_CHANGES not in tables


def test_write_leaves_gdal_settings_as_they_were(tmp_path: Path) -> None:
    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    store.write_store(tmp_path / "s.gpkg", {S.LAYER_REGISTRY: make_registry()}, {})
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == before


def test_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the store's directory should be")
    with pytest.raises(StoreError, match=r"cannot write the store in .*not_a_dir"):
        store.write_store(blocker / "onemap.gpkg", {S.LAYER_REGISTRY: make_registry()}, {})


def test_next_write_removes_temp_stores_of_killed_writers(tmp_path: Path) -> None:
    path = tmp_path / "onemap.gpkg"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    killed = tmp_path / f".onemap.tmp-{dead_pid}-abc123.gpkg"
    journal = tmp_path / f".onemap.tmp-{dead_pid}-abc123.gpkg-journal"
    running = tmp_path / f".onemap.tmp-{os.getpid()}-live99.gpkg"  # a writer still at work
    legacy = tmp_path / ".onemap.tmp-x7k2q9.gpkg"  # no pid in the name: an older OneMap
    stale = tmp_path / f".onemap.tmp-{os.getpid()}-old000.gpkg"  # alive pid, but two days old
    other = tmp_path / ".other.tmp-1-x.gpkg"  # another store's file
    for f in (killed, journal, running, legacy, stale, other):
        f.write_bytes(b"x" * 1000)
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    assert store.leftover_temp_stores(path) == sorted([killed, journal, legacy, stale])
    store.write_store(path, {S.LAYER_ADMIN_UNITS: make_units()}, {"source": "t"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["onemap.gpkg", running.name, other.name]
    )
