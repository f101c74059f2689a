"""The PostGIS build in chunks of the ledger (``build.stream``) writes the in-memory build's store.

Each test writes the same inputs twice into a real PostGIS (``pg_server`` of conftest), once by
``pipeline.build_tables`` + ``store.write_store`` (every project in memory) and once chunk by
chunk, and compares every table: content hash, columns and dtypes, row order included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import make_projects, make_registry, make_units, make_zone_members

from layers import schema as S
from layers import store
from layers.build import incremental, pipeline, revisions, stream, terrain, zones
from layers.demo import generate as demo
from layers.errors import StoreError


def _other_schema(pg_server: str) -> str:
    return f"{pg_server}?schema=t_{uuid.uuid4().hex[:12]}"


def _in_memory(url: str, inputs: store.Inputs, members: pd.DataFrame) -> None:
    tables = pipeline.build_tables(inputs, zone_members=members)
    store.write_store(url, tables, pipeline.make_build_info(inputs, source="x"))


def _chunked(url: str, inputs: store.Inputs, members: pd.DataFrame, chunks: object) -> int:
    return stream.write_chunked(
        url,
        (inputs.admin_units, inputs.registry),
        chunks,  # type: ignore[arg-type]
        zone_members=members,
        dem=None,
        extra={},
        build_info=lambda h: pipeline.make_build_info(inputs, hashes=h, source="x"),
    )


def _assert_same_store(want_url: str, got_url: str) -> None:
    names = store.list_layers(want_url)
    assert store.list_layers(got_url) == names
    for name in names:
        want, got = store.read_layer(want_url, name), store.read_layer(got_url, name)
        if name == S.TABLE_BUILD_INFO:  # a build in chunks records no per-county digests
            want = want[want["key"] != incremental.PROJECT_DIGESTS_KEY].reset_index(drop=True)
        assert list(got.columns) == list(want.columns), name
        assert dict(got.dtypes.astype(str)) == dict(want.dtypes.astype(str)), name
        assert len(got) == len(want), name
        if name != S.TABLE_BUILD_INFO:  # built_at and the projects' hash differ
            assert store.table_sha256(got) == store.table_sha256(want), name


def test_the_tiny_province_county_by_county_equals_the_in_memory_build(
    pg_url: str, pg_server: str
) -> None:
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    members = make_zone_members()
    _in_memory(pg_url, inputs, members)
    other = _other_schema(pg_server)
    n = _chunked(other, inputs, members, stream.county_chunks(inputs.projects, 1))
    assert n == len(inputs.projects) == 13
    # the tiny ledger has rows whose codes locating fills: kept at their ledger positions
    assert store.TABLE_PROJECTS_INPUT_CHANGES in store.list_layers(other)
    _assert_same_store(pg_url, other)
    back = store.read_inputs(other)
    assert store.table_sha256(back.projects) == store.table_sha256(
        inputs.projects.drop(columns=S.LOCATED_BY, errors="ignore")
    )


def test_chunks_out_of_ledger_order_land_in_county_and_plan_year_order(
    pg_url: str, pg_server: str
) -> None:
    """Replicas (``keyed``) come in province by province; the table is sorted as
    ``generate_ledger`` sorts their stack: stably by county code and plan year."""
    ledger = make_projects()
    first, second = ledger.iloc[::2], ledger.iloc[1::2]
    stacked = pd.concat([first, second], ignore_index=True)
    order = stacked[[S.COUNTY_CODE, S.PLAN_YEAR]].sort_values(
        [S.COUNTY_CODE, S.PLAN_YEAR], kind="stable"
    )
    sorted_ledger = gpd.GeoDataFrame(stacked.iloc[order.index].reset_index(drop=True))
    inputs = store.Inputs(make_units(), make_registry(), sorted_ledger)
    members = make_zone_members()
    _in_memory(pg_url, inputs, members)
    other = _other_schema(pg_server)
    _chunked(other, inputs, members, stream.keyed([first, second]))
    _assert_same_store(pg_url, other)


def test_a_project_id_in_two_chunks_is_refused_and_the_old_store_stays(
    pg_url: str, pg_server: str
) -> None:
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    members = make_zone_members()
    _in_memory(pg_url, inputs, members)
    before = store.store_mtime(pg_url)
    twice = [inputs.projects.iloc[:3], inputs.projects.iloc[2:5]]
    with pytest.raises(StoreError, match="repeats across counties or chunks"):
        _chunked(pg_url, inputs, members, stream.keyed(twice))
    assert store.store_mtime(pg_url) == before


@pytest.mark.slow
def test_the_demo_at_five_percent_in_chunks_equals_the_in_memory_build(
    pg_url: str, pg_server: str
) -> None:
    inputs = demo.generate_demo(scale=0.05)
    members = pipeline.zones.zone_members(pipeline.zones.load_zones(), inputs.admin_units)
    _in_memory(pg_url, inputs, members)
    other = _other_schema(pg_server)
    _chunked(other, inputs, members, stream.county_chunks(inputs.projects, 10))
    _assert_same_store(pg_url, other)


@pytest.mark.slow
def test_the_scale_two_ledger_in_chunks_is_generate_ledger() -> None:
    units, registry = demo.generate_base(seed=7, scale=2)
    whole = demo.generate_ledger(units, registry, seed=7, scale=2)
    chunks = list(demo.ledger_chunks(units, registry, seed=7, scale=2))
    assert [len(c) for c in chunks] == [192_000, 192_000]
    stacked = pd.concat(chunks, ignore_index=True)
    assert stacked[S.PROJECT_ID].is_unique
    order = stacked[[S.COUNTY_CODE, S.PLAN_YEAR]].sort_values(
        [S.COUNTY_CODE, S.PLAN_YEAR], kind="stable"
    )
    assert store.table_sha256(stacked.iloc[order.index]) == store.table_sha256(whole)


def test_onemap_build_of_a_postgis_store_reads_and_builds_its_ledger_in_chunks(
    pg_url: str, tiny_zones: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    members = zones.zone_members(zones.load_zones(), inputs.admin_units)
    tables = pipeline.build_tables(inputs, zone_members=members)
    info = pipeline.make_build_info(inputs, **{terrain.BUILD_INFO_KEY: terrain.NO_DEM})
    store.write_store(pg_url, tables, info)
    before = {n: store.read_layer(pg_url, n) for n in store.list_layers(pg_url)}
    monkeypatch.setattr(stream, "CHUNK_ROWS", 4)  # 13 projects: chunks of 4, 4, 4 and 1
    seen: list[int] = []
    chunks = stream.stored_ledger

    def counted(path: str, rows: int) -> Iterator[tuple[gpd.GeoDataFrame, pd.DataFrame]]:
        for chunk, keys in chunks(path, rows):
            seen.append(len(chunk))
            yield chunk, keys

    monkeypatch.setattr(stream, "stored_ledger", counted)
    pipeline.run_build(pg_url)
    assert seen == [4, 4, 4, 1]
    assert revisions.read_log(pg_url)["kind"].tolist() == ["build"]
    for name, table in before.items():
        if name not in (S.TABLE_BUILD_INFO, revisions.TABLE_REVISIONS):
            got = store.read_layer(pg_url, name)
            assert store.table_sha256(got) == store.table_sha256(table), name
    assert store.table_sha256(store.read_inputs(pg_url).projects) == store.table_sha256(
        inputs.projects
    )
