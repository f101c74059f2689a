"""``onemap demo --scale N`` above 1: N times the projects and poor population, same villages.

The ledger chunks are full calibrated ledgers; to keep these tests quick the chunk size (192,000
projects at scale 1) is lowered to 4,000 through ``ledger.PUBLISHED_PROJECTS``, on the ten-county
province of ``test_demo_ledger``. The full-size run is the slow test at the end.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from layers import schema as S
from layers.build import pipeline
from layers.build.zones import zone_members
from layers.demo import calibration as C
from layers.demo import generate as G
from layers.demo import ledger as D
from layers.demo import registry as R
from layers.errors import OneMapError
from layers.present.summary import summary_record
from tests.test_demo_ledger import make_units

SEED = 7
CHUNK = 4_000
ID_PATTERN = re.compile(r"^\d{6}-20(1[6-9]|20)-\d{5}$")


@pytest.fixture(scope="module")
def units():
    return make_units()


@pytest.fixture(scope="module")
def scaled(units):
    """Registry and ledger at scale 1 and 3 (chunks of 4,000 projects; the patch ends here)."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "PUBLISHED_PROJECTS", CHUNK)
        for n in (1, 3):
            registry = R.generate_registry(units, seed=SEED, scale=n)
            out[n] = (registry, G.generate_ledger(units, registry, seed=SEED, scale=n))
    return out


@pytest.mark.parametrize("scale", [0.05, 1, 2, 5, 20, C.MAX_SCALE])
def test_check_scale_accepts_fractions_and_whole_multiples(scale):
    assert G.check_scale(scale) == float(scale)


@pytest.mark.parametrize("scale", [0, -1, 1.5, 2.5, C.MAX_SCALE + 1, 100])
def test_check_scale_refuses_the_rest_naming_the_range(scale):
    with pytest.raises(OneMapError, match=r"or a whole number from 2 to 40"):
        G.check_scale(scale)


def test_project_count_and_completion_scale_with_n(scaled):
    one, three = scaled[1][1], scaled[3][1]
    assert len(one) == CHUNK
    assert len(three) == 3 * CHUNK
    done = three[S.STATUS].isin(S.COMPLETED_STATUSES).sum()
    assert done == 3 * round(C.PUBLISHED_COMPLETION * CHUNK)


def test_project_ids_unique_well_formed_and_chunk_zero_keeps_its_ids(scaled):
    one, three = scaled[1][1], scaled[3][1]
    ids = three[S.PROJECT_ID]
    assert ids.is_unique
    assert ids.str.fullmatch(ID_PATTERN.pattern).all()
    # each county-year numbers 1..k without gaps
    county_year = ids.str.slice(0, 11)
    seq = ids.str.slice(12).astype(int)
    assert (seq.groupby(county_year).max() == county_year.value_counts().sort_index()).all()
    assert set(one[S.PROJECT_ID]) <= set(ids)


def test_ledger_rows_are_ordered_by_county_then_plan_year(scaled):
    three = scaled[3][1]
    key = list(zip(three[S.COUNTY_CODE], three[S.PLAN_YEAR], strict=True))
    assert key == sorted(key)


def test_chunks_are_different_draws_over_the_same_villages(units, scaled):
    three = scaled[3][1]
    plan_villages = set(units.loc[(units[S.LEVEL] == "village") & units[S.HAS_TASKS], S.CODE])
    assert set(three[S.VILLAGE_CODE].dropna()) <= plan_villages
    # three draws, not three copies: the project points are (nearly all) their own
    points = three.geometry.dropna()
    assert len(points) > 2.5 * CHUNK
    assert points.to_wkb().nunique() > 0.95 * len(points)  # 5-decimal points collide rarely


def test_registry_multiplies_poor_population_on_the_same_villages(scaled):
    one, three = scaled[1][0], scaled[3][0]
    assert len(three) == len(one)
    assert list(three[S.VILLAGE_CODE]) == list(one[S.VILLAGE_CODE])
    poor = int(three[S.POOR_POPULATION].sum())
    assert poor == 3 * C.POOR_POPULATION_TOTAL
    covered = np.minimum(three[S.COVERED_POPULATION], three[S.POOR_POPULATION]).sum()
    assert covered == round(C.PUBLISHED_COVERAGE * poor)
    assert (three[S.POOR_HOUSEHOLDS] <= three[S.POOR_POPULATION]).all()
    assert (three[list(S.CAUSE_COLUMNS)].sum(axis=1) == three[S.POOR_HOUSEHOLDS]).all()
    assert (three[S.RELOCATED_POPULATION] <= three[S.POOR_POPULATION]).all()
    # the same poverty villages, each with an exit year in the campaign
    pd.testing.assert_series_equal(three[S.EXIT_YEAR].isna(), one[S.EXIT_YEAR].isna())
    assert three[S.EXIT_YEAR].dropna().between(2016, 2020).all()


def test_anomalies_are_planted_once_per_chunk(scaled):
    three = scaled[3][1]
    over = three[S.FUNDS_SPENT] > three[S.FUNDS_ALLOCATED]
    assert over.sum() == 3 * C.anomaly_counts(1.0)["spent_over_allocated"]


def _province(units, registry, projects):
    built = pipeline.build_layers(units, registry, projects, zone_members({}, units))
    summary = built[S.TABLE_REGION_SUMMARY]
    return summary, summary.set_index(S.CODE).loc[S.PROVINCE_CODE]


def test_every_rate_of_the_built_layers_stays_within_its_definition(units, scaled):
    summary, province = _province(units, *scaled[3])
    _, province_one = _province(units, *scaled[1])
    assert province[S.N_PROJECTS] == 3 * CHUNK
    assert province[S.POOR_POPULATION] == 3 * C.POOR_POPULATION_TOTAL
    assert province[S.COMPLETION] == pytest.approx(C.PUBLISHED_COMPLETION, abs=5e-4)
    assert province[S.COVERAGE] == pytest.approx(C.PUBLISHED_COVERAGE, abs=5e-4)
    # funds execution can pass 1 where a planted spent > allocated row dominates a small unit
    for rate in (S.COMPLETION, S.COVERAGE, S.SIX_FIXES_RATE, S.EXIT_PROGRESS):
        values = summary[rate].dropna()
        assert ((values >= 0) & (values <= 1.0 + 1e-9)).all(), rate
    assert province[S.FUNDS_EXECUTION] == pytest.approx(province_one[S.FUNDS_EXECUTION], abs=0.02)
    assert province[S.EXIT_PROGRESS] == pytest.approx(province_one[S.EXIT_PROGRESS], abs=0.02)
    # more projects per village remedy more causes: the share grows, within [0, 1]
    assert province[S.MATCHED_REMEDY] >= province_one[S.MATCHED_REMEDY]
    matched = summary[S.MATCHED_REMEDY].dropna()
    assert ((matched >= 0) & (matched <= 1.0 + 1e-9)).all()


@pytest.mark.slow
def test_full_demo_at_scale_two_doubles_projects_and_poor_on_the_same_plans(tmp_path):
    one = summary_record(pipeline.run_demo(tmp_path / "x1.gpkg", scale=1, terrain_on=False))
    two = summary_record(pipeline.run_demo(tmp_path / "x2.gpkg", scale=2, terrain_on=False))
    assert one["projects"] == C.PUBLISHED_PROJECTS
    assert two["projects"] == 2 * C.PUBLISHED_PROJECTS
    assert two["poor_population"] == 2 * C.POOR_POPULATION_TOTAL
    assert two["completion"] == pytest.approx(C.PUBLISHED_COMPLETION, abs=5e-4)
    assert two["coverage"] == pytest.approx(C.PUBLISHED_COVERAGE, abs=5e-4)
    for plans in ("county_libraries", "township_route_maps", "village_plans"):
        assert two[plans] == one[plans]
