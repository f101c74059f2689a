"""The ``onemap`` CLI: summary KPIs, store lookup, one-line errors (exit 2), the plug-in hook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from layers import schema as S
from layers import store
from layers.build import pipeline
from layers.cli import main as cli
from tests.conftest import COUNTY_A, PREF_A, PROVINCE, make_projects, make_registry, make_units


def _summary_row(code: str, name: str, level: str, parent: str | None, n: int, done: int) -> dict:
    return {
        S.CODE: code,
        S.NAME: name,
        S.LEVEL: level,
        S.PARENT_CODE: parent,
        S.N_PROJECTS: n,
        S.N_COMPLETED: done,
        S.COMPLETION: done / n,
        S.FUNDS_PLANNED: 1175.0,
        S.FUNDS_SPENT: 955.0,
        S.FUNDS_EXECUTION: 955 / 1175,
        S.POOR_POPULATION: 220,
        S.COVERED_CAPPED: 200,
        S.COVERAGE: 200 / 220,
        S.COUNTY_LIBRARIES: 2,
        S.TOWNSHIP_ROUTE_MAPS: 3,
        S.VILLAGE_PLANS: 5,
    }


@pytest.fixture
def summary_store(tmp_path: Path) -> Path:
    """A store with inputs, a three-row region_summary, a zone_summary and build_info."""
    regions = pd.DataFrame(
        [
            _summary_row(PROVINCE, "云南省", "province", None, 13, 10),
            _summary_row(PREF_A, "甲市", "prefecture", PROVINCE, 13, 10),
            _summary_row(COUNTY_A, "甲县", "county", PREF_A, 10, 7),
        ]
    )
    zones = regions.iloc[[2]].drop(columns=[S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE])
    zones.insert(0, S.ZONE, "深度区")
    tables = {
        S.LAYER_ADMIN_UNITS: make_units(),
        S.LAYER_REGISTRY: make_registry(),
        S.LAYER_PROJECTS: make_projects(),
        S.TABLE_REGION_SUMMARY: regions,
        S.TABLE_ZONE_SUMMARY: zones,
    }
    info = {"built_at": "2026-01-01T00:00:00+00:00", "demo": True, "seed": 1, "scale": 1}
    return store.write_store(tmp_path / "s.gpkg", tables, info)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_json_province(summary_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["summary", "--store", str(summary_store), "--json"], capsys)
    assert code == 0 and err == ""
    record = json.loads(out)
    assert record["region"] == "云南省" and record["code"] == PROVINCE
    assert record["projects"] == 13
    assert record["completion"] == pytest.approx(10 / 13)
    assert record["coverage"] == pytest.approx(200 / 220)
    assert record["funds_planned"] == 1175.0 and record["funds_spent"] == 955.0
    assert record["poor_population"] == 220
    assert (record["county_libraries"], record["township_route_maps"], record["village_plans"]) == (
        2,
        3,
        5,
    )
    assert record["demo"] is True


@pytest.mark.parametrize("region", ["530102", "530102000000", "甲县"])
def test_summary_region_forms(
    summary_store: Path, region: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["summary", "--store", str(summary_store), "--region", region, "--json"], capsys
    )
    assert code == 0
    record = json.loads(out)
    assert record["code"] == COUNTY_A and record["level"] == "county"
    assert record["projects"] == 10 and record["completion"] == pytest.approx(0.7)


def test_summary_zone_and_text(summary_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["summary", "--store", str(summary_store), "--zone", "深度区"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "深度区 · 重点区域 zone · 演示数据 demo data"
    assert "完工率 completion" in out and "70.0%" in out
    assert "覆盖率 coverage" in out and "90.9%" in out


def test_store_from_environment(
    summary_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEMAP_STORE", str(summary_store))
    code, out, _ = run(["summary", "--json"], capsys)
    assert code == 0 and json.loads(out)["store"] == str(summary_store)


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--region", "530199"], r"unknown region '530199'.*units under 甲市 \(530100000000\)"),
        (["--region", "539999"], r"unknown region '539999'.*units under 云南省.*530100000000 甲市"),
        (["--region", "火星"], r"unknown region '火星'.*530000000000 云南省"),
        (["--zone", "火星区"], r"unknown zone '火星区'; zones in .*: 深度区"),
    ],
)
def test_summary_unknown_choices_one_line(
    summary_store: Path, args: list[str], pattern: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error(*run(["summary", "--store", str(summary_store), *args], capsys))
    assert re.search(pattern, err), err


def test_region_and_zone_exclusive(summary_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["summary", "--store", str(summary_store), "--region", "530102", "--zone", "x"])
    err = _one_line_error(exc.value.code, *capsys.readouterr())
    assert "not allowed with argument" in err


def test_missing_store_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.gpkg"
    for argv in (["summary", "--store", str(missing)], ["build", "--store", str(missing)]):
        err = _one_line_error(*run(argv, capsys))
        assert str(missing) in err and "onemap demo" in err


def test_build_needs_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = store.write_store(tmp_path / "s.gpkg", {S.LAYER_REGISTRY: make_registry()}, {})
    err = _one_line_error(*run(["build", "--store", str(path)], capsys))
    assert "no layer 'projects'" in err


def test_console_script_exit_status(tmp_path: Path) -> None:
    """The real process: exit 2 and a single stderr line."""
    result = subprocess.run(
        [sys.executable, "-m", "layers.cli.main", "summary", "--store", str(tmp_path / "x.gpkg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("onemap: error: no OneMap store at ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_registration_hook(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    plugin = types.ModuleType("layers.cli.audit")

    def register(subparsers) -> None:
        p = subparsers.add_parser("audit", help="test plug-in")
        p.add_argument("--n", type=int, default=1)
        p.set_defaults(func=lambda args: print(f"audited {args.n}") or 0)

    plugin.register = register
    monkeypatch.setitem(sys.modules, "layers.cli.audit", plugin)
    code, out, _ = run(["audit", "--n", "3"], capsys)
    assert code == 0 and out.strip() == "audited 3"


def test_bad_arguments_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--scale", "abc"])
    out, err = capsys.readouterr()
    _one_line_error(exc.value.code, out, err)
    assert "invalid float value: 'abc'" in err


def test_build_rewrites_every_layer_from_the_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from layers.build import zones
    from tests.conftest import make_zone_members

    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    tables = pipeline.build_tables(inputs, zone_members=make_zone_members())
    info = pipeline.make_build_info(inputs, demo=True, seed=5, scale=0.5, source="测试")
    path = store.write_store(tmp_path / "s.gpkg", tables, info)
    before = {name: store.read_layer(path, name) for name in store.list_layers(path)}
    # stale outputs: the build must replace them, not keep them
    stale = dict(tables, region_summary=tables["region_summary"].iloc[:1])
    store.write_store(path, stale, info)
    monkeypatch.setattr(zones, "zone_members", lambda _z, _u: make_zone_members())

    # the store records no DEM, which `build` takes as "use the default DEM": opt out
    code, out, err = run(["build", "--store", str(path), "--no-terrain"], capsys)
    assert code == 0, err
    assert "layers rebuilt" in out and "云南省" in out
    after = {name: store.read_layer(path, name) for name in store.list_layers(path)}
    # the build is logged as a revision of the store (build.revisions)
    assert after.pop("revisions")["kind"].tolist() == ["build"]
    assert after.keys() == before.keys()
    for name in before:
        if name == S.TABLE_BUILD_INFO:
            continue
        assert_frame_equal(after[name], before[name], obj=name)
    new_info, old_info = after[S.TABLE_BUILD_INFO], before[S.TABLE_BUILD_INFO]
    new, old = dict(new_info.values.tolist()), dict(old_info.values.tolist())
    assert new["inputs"] == old["inputs"]
    assert (new["demo"], new["seed"], new["scale"], new["source"]) == ("true", "5", "0.5", "测试")
    assert json.loads(new["inputs"]).keys() == {"admin_units", "registry", "projects"}


@pytest.mark.parametrize("scale", ["0", "1.5", "-0.1"])
def test_demo_scale_out_of_range_one_line(
    scale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "d.gpkg"
    err = _one_line_error(*run(["demo", "--scale", scale, "--out", str(out_path)], capsys))
    assert f"--scale was {float(scale)} but must be in (0, 1]" in err
    assert not out_path.exists()


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (
            OSError("disk full"),
            2,
            "layer 'village_plan': disk full; the previous store is unchanged",
        ),
        (KeyboardInterrupt(), 130, "interrupted; the previous store is unchanged"),
    ],
)
def test_failed_build_keeps_the_last_good_store(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: BaseException,
    status: int,
    message: str,
) -> None:
    import pyogrio

    from layers.build import zones
    from tests.conftest import make_zone_members

    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    tables = pipeline.build_tables(inputs, zone_members=make_zone_members())
    path = store.write_store(tmp_path / "s.gpkg", tables, pipeline.make_build_info(inputs))
    before = path.read_bytes()
    monkeypatch.setattr(zones, "zone_members", lambda _z, _u: make_zone_members())
    real = pyogrio.write_dataframe

    def failing(df, target, **kwargs):
        if kwargs["layer"] == S.LAYER_VILLAGE_PLAN:
            raise failure
        return real(df, target, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    code, out, err = run(["build", "--store", str(path)], capsys)
    assert code == status
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err
    assert path.read_bytes() == before
    # no temporary store left; the write lock's file and its holder note stay (build.lock)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["s.gpkg", "s.gpkg.lock", "s.gpkg.lock.holder"]
