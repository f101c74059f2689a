"""The shared tiny fixture province: every number below can be counted by hand.

Geometry (EPSG:4326, squares near Yunnan; one degree ≈ 100 km)::

    province 530000000000  云南省  box(100, 25, 103, 26)
    ├─ prefecture 530100000000 甲市  box(100, 25, 102, 26)
    │  ├─ county 530102000000 甲县 box(100, 25, 101, 26)  tasks · poverty (exit 2019) · deep
    │  │  ├─ township 530102001000 一乡 box(100, 25, 100.5, 26)             plan
    │  │  │  ├─ village 530102001001 一村 box(100,   25,   100.5, 25.5)   plan · poverty
    │  │  │  └─ village 530102001002 二村 box(100,   25.5, 100.5, 26)     plan · poverty
    │  │  └─ township 530102002000 二乡 box(100.5, 25, 101, 26)             plan
    │  │     ├─ village 530102002001 三村 box(100.5, 25,   101, 25.5)     plan · poverty
    │  │     └─ village 530102002002 四村 box(100.5, 25.5, 101, 26)       plan (not poverty)
    │  └─ county 530103000000 乙县 box(101, 25, 102, 26)  tasks · border
    │     └─ township 530103001000 三乡 box(101, 25, 102, 26)               plan
    │        ├─ village 530103001001 五村 box(101, 25,   102, 25.5)       plan · poverty
    │        └─ village 530103001002 六村 box(101, 25.5, 102, 26)         no plan
    └─ prefecture 530200000000 乙市  box(102, 25, 103, 26)
       └─ county 530201000000 丙区 box(102, 25, 103, 26)  no tasks · border
          └─ township 530201001000 四镇 (no plan) └─ village 530201001001 七村 (no plan)

Registry (plan villages; households by main cause)::

    village  hh  poor  covered  planned  exit   causes
    一村     10   40     40      2017     2017   illness 6, water 4
    二村     20   60     50      2018     2019   transport 10, housing 10
    三村      5   20     25*     2019     —      schooling 3, water 2     (*capped at 20)
    四村      0    0      0      —        —      —
    五村     25  100     90      2020     2020   funds 15, other 10

Projects (13; completed = completed|accepted; six-fixes gaps marked)::

    id   village  sector          year status       planned alloc spent  notes
    P01  一村     industry        2016 completed     100    100   90
    P02  一村     water           2017 accepted       50     50   50
    P03  一村     health          2018 in_progress    30     20   10    no inspection
    P04  二村     infrastructure  2017 completed     200    200  190    completed 2018
    P05  二村     housing         2019 planned        80      0    0    no approval/notice/insp.
    P06  三村     education       2018 completed      40     40   40    no completion_date
    P07  三村     industry        2019 accepted       60     50   55    spent > allocated
    P08  四村     other           2019 completed      10     10   10
    P09  五村     industry        2019 completed     300    300  280    120 beneficiaries > 100 poor
    P10  五村     water           2020 approved       70     35    0    no approval/notice/insp.
    P11  甲县 (county-wide)  employment 2017 completed 120  120  120    no geometry
    P12  乙县 (no village; point in 五村) ecology 2018 completed 25 25 25
    P13  三村 (point lies in 四村) infrastructure 2020 completed 90 90 85

Hand totals (province): 13 projects, 10 completed, 10 with all six fixes, funds planned 1175,
allocated 1040, spent 955; poor households 60, poor population 220, covered (capped) 200;
4 poverty villages, 3 exited by 2020 (1 by 2018); matched households 58 (三村's 2 water
households unmatched; 五村's 10 "other" households matched only once P12 is located by its point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings
from shapely.geometry import MultiPolygon, Point, box

from layers import schema as S
from layers.build import pipeline, terrain, zones

CRS = "EPSG:4326"

# property tests check values, not speed: no per-example deadline (a loaded CI machine is slow)
hypothesis_settings.register_profile("onemap", deadline=None)
hypothesis_settings.load_profile("onemap")

PROVINCE = S.PROVINCE_CODE
PREF_A, PREF_B = "530100000000", "530200000000"
COUNTY_A, COUNTY_B, COUNTY_C = "530102000000", "530103000000", "530201000000"
TOWN_A1, TOWN_A2, TOWN_B1, TOWN_C1 = "530102001000", "530102002000", "530103001000", "530201001000"
V1, V2, V3, V4 = "530102001001", "530102001002", "530102002001", "530102002002"
V5, V6, V7 = "530103001001", "530103001002", "530201001001"

# code, name, level, parent, bounds, has_tasks, poverty_county, deep, border, poverty_village, exit
_UNITS = [
    (
        PROVINCE,
        "云南省",
        "province",
        None,
        (100, 25, 103, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (
        PREF_A,
        "甲市",
        "prefecture",
        PROVINCE,
        (100, 25, 102, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (
        PREF_B,
        "乙市",
        "prefecture",
        PROVINCE,
        (102, 25, 103, 26),
        False,
        False,
        False,
        False,
        False,
        None,
    ),
    (COUNTY_A, "甲县", "county", PREF_A, (100, 25, 101, 26), True, True, True, False, False, 2019),
    (COUNTY_B, "乙县", "county", PREF_A, (101, 25, 102, 26), True, False, False, True, False, None),
    (
        COUNTY_C,
        "丙区",
        "county",
        PREF_B,
        (102, 25, 103, 26),
        False,
        False,
        False,
        True,
        False,
        None,
    ),
    (
        TOWN_A1,
        "一乡",
        "township",
        COUNTY_A,
        (100, 25, 100.5, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (
        TOWN_A2,
        "二乡",
        "township",
        COUNTY_A,
        (100.5, 25, 101, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (
        TOWN_B1,
        "三乡",
        "township",
        COUNTY_B,
        (101, 25, 102, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (
        TOWN_C1,
        "四镇",
        "township",
        COUNTY_C,
        (102, 25, 103, 26),
        False,
        False,
        False,
        False,
        False,
        None,
    ),
    (V1, "一村", "village", TOWN_A1, (100, 25, 100.5, 25.5), True, False, False, False, True, None),
    (V2, "二村", "village", TOWN_A1, (100, 25.5, 100.5, 26), True, False, False, False, True, None),
    (V3, "三村", "village", TOWN_A2, (100.5, 25, 101, 25.5), True, False, False, False, True, None),
    (
        V4,
        "四村",
        "village",
        TOWN_A2,
        (100.5, 25.5, 101, 26),
        True,
        False,
        False,
        False,
        False,
        None,
    ),
    (V5, "五村", "village", TOWN_B1, (101, 25, 102, 25.5), True, False, False, False, True, None),
    (V6, "六村", "village", TOWN_B1, (101, 25.5, 102, 26), False, False, False, False, False, None),
    (V7, "七村", "village", TOWN_C1, (102, 25, 103, 26), False, False, False, False, False, None),
]


def make_units() -> gpd.GeoDataFrame:
    """Return the tiny province's admin_units (all levels, province row included)."""
    rows = [
        {
            S.CODE: code,
            S.NAME: name,
            S.LEVEL: level,
            S.PARENT_CODE: parent,
            S.HAS_TASKS: tasks,
            S.POVERTY_COUNTY: pov,
            S.DEEP_POVERTY: deep,
            S.BORDER: border,
            S.POVERTY_VILLAGE: pv,
            S.COUNTY_EXIT_YEAR: exit_year,
            "geometry": MultiPolygon([box(*bounds)]),
        }
        for code, name, level, parent, bounds, tasks, pov, deep, border, pv, exit_year in _UNITS
    ]
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    gdf[S.COUNTY_EXIT_YEAR] = gdf[S.COUNTY_EXIT_YEAR].astype("Int64")
    return gdf


def make_registry() -> pd.DataFrame:
    """Return the registry of the five plan villages (see the module docstring)."""
    causes = {
        V1: {"illness": 6, "water": 4},
        V2: {"transport": 10, "housing": 10},
        V3: {"schooling": 3, "water": 2},
        V4: {},
        V5: {"funds": 15, "other": 10},
    }
    base = [
        # village, households, poor, covered, planned_exit, exit, relocated
        (V1, 10, 40, 40, 2017, 2017, 0),
        (V2, 20, 60, 50, 2018, 2019, 12),
        (V3, 5, 20, 25, 2019, None, 0),
        (V4, 0, 0, 0, None, None, 0),
        (V5, 25, 100, 90, 2020, 2020, 30),
    ]
    rows = []
    for village, hh, poor, covered, planned, exited, relocated in base:
        row = {
            S.VILLAGE_CODE: village,
            S.POOR_HOUSEHOLDS: hh,
            S.POOR_POPULATION: poor,
            S.COVERED_POPULATION: covered,
            S.PLANNED_EXIT_YEAR: planned,
            S.EXIT_YEAR: exited,
            S.RELOCATED_POPULATION: relocated,
        }
        row.update({f"cause_{c}": causes[village].get(c, 0) for c in S.CAUSES})
        rows.append(row)
    reg = pd.DataFrame(rows, columns=list(S.REGISTRY_COLUMNS))
    for col in (S.PLANNED_EXIT_YEAR, S.EXIT_YEAR):
        reg[col] = reg[col].astype("Int64")
    return reg


def _d(s: str | None) -> pd.Timestamp:
    return pd.Timestamp(s) if s else pd.NaT


def make_projects() -> gpd.GeoDataFrame:
    """Return the 13 tiny projects (see the module docstring)."""
    ok = ("合格",)
    # id, county, township, village, sector, year, status, start, done,
    # planned, allocated, spent, source, hh, poor, responsible, approval, notice, inspection, xy
    raw = [
        (
            "P01",
            COUNTY_A,
            TOWN_A1,
            V1,
            "industry",
            2016,
            "completed",
            "2016-03-01",
            "2016-10-01",
            100,
            100,
            90,
            "central",
            10,
            40,
            "甲县农业农村局",
            "甲扶〔2016〕1号",
            "2016-02-01",
            *ok,
            (100.25, 25.25),
        ),
        (
            "P02",
            COUNTY_A,
            TOWN_A1,
            V1,
            "water",
            2017,
            "accepted",
            "2017-03-01",
            "2017-09-01",
            50,
            50,
            50,
            "provincial",
            4,
            16,
            "甲县水务局",
            "甲扶〔2017〕2号",
            "2017-02-01",
            *ok,
            (100.2, 25.2),
        ),
        (
            "P03",
            COUNTY_A,
            TOWN_A1,
            V1,
            "health",
            2018,
            "in_progress",
            "2018-04-01",
            None,
            30,
            20,
            10,
            "central",
            6,
            24,
            "甲县卫健局",
            "甲扶〔2018〕3号",
            "2018-03-01",
            None,
            (100.3, 25.3),
        ),
        (
            "P04",
            COUNTY_A,
            TOWN_A1,
            V2,
            "infrastructure",
            2017,
            "completed",
            "2017-05-01",
            "2018-06-01",
            200,
            200,
            190,
            "integrated",
            20,
            60,
            "甲县交通运输局",
            "甲扶〔2017〕4号",
            "2017-04-01",
            *ok,
            (100.25, 25.75),
        ),
        (
            "P05",
            COUNTY_A,
            TOWN_A1,
            V2,
            "housing",
            2019,
            "planned",
            None,
            None,
            80,
            0,
            0,
            "central",
            10,
            30,
            "甲县住建局",
            None,
            None,
            None,
            (100.3, 25.8),
        ),
        (
            "P06",
            COUNTY_A,
            TOWN_A2,
            V3,
            "education",
            2018,
            "completed",
            "2018-03-01",
            None,
            40,
            40,
            40,
            "provincial",
            5,
            20,
            "甲县教育体育局",
            "甲扶〔2018〕6号",
            "2018-02-01",
            *ok,
            (100.75, 25.25),
        ),
        (
            "P07",
            COUNTY_A,
            TOWN_A2,
            V3,
            "industry",
            2019,
            "accepted",
            "2019-03-01",
            "2019-11-01",
            60,
            50,
            55,
            "credit",
            5,
            20,
            "甲县农业农村局",
            "甲扶〔2019〕7号",
            "2019-02-01",
            *ok,
            (100.7, 25.2),
        ),
        (
            "P08",
            COUNTY_A,
            TOWN_A2,
            V4,
            "other",
            2019,
            "completed",
            "2019-05-01",
            "2019-12-01",
            10,
            10,
            10,
            "social",
            0,
            0,
            "甲县民政局",
            "甲扶〔2019〕8号",
            "2019-04-01",
            *ok,
            (100.75, 25.75),
        ),
        (
            "P09",
            COUNTY_B,
            TOWN_B1,
            V5,
            "industry",
            2019,
            "completed",
            "2019-02-01",
            "2019-10-01",
            300,
            300,
            280,
            "east_west",
            30,
            120,
            "乙县农业农村局",
            "乙扶〔2019〕9号",
            "2019-01-15",
            *ok,
            (101.5, 25.25),
        ),
        (
            "P10",
            COUNTY_B,
            TOWN_B1,
            V5,
            "water",
            2020,
            "approved",
            None,
            None,
            70,
            35,
            0,
            "central",
            10,
            40,
            "乙县水务局",
            None,
            None,
            None,
            (101.4, 25.2),
        ),
        (
            "P11",
            COUNTY_A,
            None,
            None,
            "employment",
            2017,
            "completed",
            "2017-01-01",
            "2017-12-01",
            120,
            120,
            120,
            "provincial",
            50,
            150,
            "甲县人社局",
            "甲扶〔2017〕11号",
            "2016-12-01",
            *ok,
            None,
        ),
        (
            "P12",
            COUNTY_B,
            None,
            None,
            "ecology",
            2018,
            "completed",
            "2018-03-01",
            "2018-12-01",
            25,
            25,
            25,
            "central",
            10,
            35,
            "乙县林草局",
            "乙扶〔2018〕12号",
            "2018-02-01",
            *ok,
            (101.6, 25.3),
        ),
        (
            "P13",
            COUNTY_A,
            TOWN_A2,
            V3,
            "infrastructure",
            2020,
            "completed",
            "2020-02-01",
            "2020-08-01",
            90,
            90,
            85,
            "integrated",
            5,
            20,
            "甲县交通运输局",
            "甲扶〔2020〕13号",
            "2020-01-10",
            *ok,
            (100.75, 25.75),
        ),
    ]
    rows = []
    for r in raw:
        rows.append(
            {
                S.PROJECT_ID: r[0],
                S.PROJECT_NAME: f"{r[0]} {S.SECTOR_LABELS_ZH[r[4]]}项目",
                S.COUNTY_CODE: r[1],
                S.TOWNSHIP_CODE: r[2],
                S.VILLAGE_CODE: r[3],
                S.SECTOR: r[4],
                S.PLAN_YEAR: r[5],
                S.STATUS: r[6],
                S.START_DATE: _d(r[7]),
                S.COMPLETION_DATE: _d(r[8]),
                S.FUNDS_PLANNED: float(r[9]),
                S.FUNDS_ALLOCATED: float(r[10]),
                S.FUNDS_SPENT: float(r[11]),
                S.FUND_SOURCE: r[12],
                S.BENEFICIARY_HOUSEHOLDS: r[13],
                S.BENEFICIARY_POOR_POPULATION: r[14],
                S.RESPONSIBLE_UNIT: r[15],
                S.APPROVAL_REF: r[16],
                S.PUBLIC_NOTICE_DATE: _d(r[17]),
                S.INSPECTION_RESULT: r[18],
                "geometry": Point(r[19]) if r[19] else None,
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    for col in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        gdf[col] = pd.to_datetime(gdf[col])
    gdf[S.PLAN_YEAR] = gdf[S.PLAN_YEAR].astype("int64")
    return gdf


def make_zone_members() -> pd.DataFrame:
    """Return zone → county code rows: 深度区 = 甲县; 边境地区 = 乙县 + 丙区."""
    return pd.DataFrame(
        {S.ZONE: ["深度区", "边境地区", "边境地区"], S.CODE: [COUNTY_A, COUNTY_B, COUNTY_C]}
    )


class TinyInputs(NamedTuple):
    """The tiny province bundled like ``layers.demo.Inputs`` (+ zone members)."""

    admin_units: gpd.GeoDataFrame
    registry: pd.DataFrame
    projects: gpd.GeoDataFrame
    zone_members: pd.DataFrame


def write_tiny_store(path: Path, **build_info: Any) -> Path:
    """Build the tiny province with the real pipeline and write it as a store at ``path``.

    ``build_info`` adds to (or overrides) the store's build_info (default source "tiny fixture").
    """
    from layers import store

    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    tables = pipeline.build_tables(inputs, zone_members=make_zone_members())
    info = pipeline.make_build_info(inputs, **{"source": "tiny fixture", **build_info})
    return store.write_store(path, tables, info)


#: the tiny province's zones as a zones.toml (what make_zone_members gives), for rebuilds
TINY_ZONES_TOML = """
[[zones]]
name = "深度区"
name_en = "deep"
members = ["530102"]

[[zones]]
name = "边境地区"
name_en = "border"
members = ["530103", "530201"]
"""


@pytest.fixture
def tiny_zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the build's zones.toml at the tiny province's zones (imports rebuild with them)."""
    zpath = tmp_path / "zones.toml"
    zpath.write_text(TINY_ZONES_TOML, encoding="utf-8")
    monkeypatch.setattr(zones, "ZONES_TOML", zpath)
    return zpath


@pytest.fixture
def tiny_store(tiny_zones: Path, tmp_path: Path) -> Path:
    """A store built from the tiny province with its zones and no DEM (no revision log yet)."""
    from layers import store

    inputs = store.Inputs(make_units(), make_registry(), make_projects())
    path = tmp_path / "store.gpkg"
    store.write_store(
        path,
        pipeline.build_tables(inputs),
        pipeline.make_build_info(inputs, source="tiny", **{terrain.BUILD_INFO_KEY: terrain.NO_DEM}),
    )
    return path


@pytest.fixture
def tiny_units() -> gpd.GeoDataFrame:
    """admin_units of the tiny province (17 units at five levels)."""
    return make_units()


@pytest.fixture
def tiny_registry() -> pd.DataFrame:
    """Registry rows of the five plan villages."""
    return make_registry()


@pytest.fixture
def tiny_projects() -> gpd.GeoDataFrame:
    """The 13-project ledger (one county-wide, one codeless with a point, one misplaced)."""
    return make_projects()


@pytest.fixture
def tiny_zone_members() -> pd.DataFrame:
    """Zone membership as ``layers.zones.zone_members`` returns it."""
    return make_zone_members()


@pytest.fixture
def tiny_inputs() -> TinyInputs:
    """Everything above, freshly built."""
    return TinyInputs(make_units(), make_registry(), make_projects(), make_zone_members())


# --- PostGIS -------------------------------------------------------------------------------------

#: set to 1 to skip the PostGIS tests on a machine without PostgreSQL (never in CI)
SKIP_PG_ENV = "ONEMAP_SKIP_PG"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """A PostGIS server for this test session, started by ``scripts/postgis.sh`` on a free port.

    Yields the server's base URL (``postgresql://onemap@127.0.0.1:PORT/onemap``). Fails loudly
    when it cannot start; skipped only when ``$ONEMAP_SKIP_PG=1`` (a developer's machine
    without PostgreSQL; CI installs it through ``scripts/setup.sh --test``).
    """
    import os
    import shutil
    import subprocess
    import tempfile

    if os.environ.get(SKIP_PG_ENV) == "1":
        pytest.skip(f"{SKIP_PG_ENV}=1: PostGIS tests skipped")
    script = Path(__file__).resolve().parent.parent / "scripts" / "postgis.sh"
    root = Path(tempfile.mkdtemp(prefix="onemap-pg-"))
    root.chmod(0o755)  # the server runs as `postgres` when the tests run as root
    data = root / "data"
    port = _free_port()
    run = subprocess.run(
        ["bash", str(script), str(data), str(port)], capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        pytest.fail(
            f"PostGIS did not start (scripts/postgis.sh exit {run.returncode}):\n"
            f"{run.stdout}\n{run.stderr}\nset {SKIP_PG_ENV}=1 to skip the PostGIS tests locally",
            pytrace=False,
        )
    url = run.stdout.strip().splitlines()[-1]
    yield url
    subprocess.run(["bash", str(script), "--stop", str(data)], capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A PostGIS store URL of its own (a fresh schema), its history under ``tmp_path``."""
    import uuid

    monkeypatch.setenv("ONEMAP_STATE_DIR", str(tmp_path / "state"))
    return f"{pg_server}?schema=t_{uuid.uuid4().hex[:12]}"
