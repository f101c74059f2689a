"""Data-quality checks: each planted problem of the tiny province is found, nothing else."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import V3, V5

from layers import schema as S
from layers.build.audit import QUALITY_COLUMNS, audit, audit_registry


@pytest.fixture
def issues(tiny_units, tiny_registry, tiny_projects):
    return audit(tiny_units, tiny_registry, tiny_projects)


def _found(issues: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(issues[S.QI_CHECK], issues[S.QI_ENTITY_ID], strict=True))


def test_planted_problems_are_found(issues):
    assert list(issues.columns) == list(QUALITY_COLUMNS)
    assert _found(issues) == {
        ("spent_over_allocated", "P07"),
        ("beneficiaries_over_poor", "P09"),
        ("completed_without_date", "P06"),
        ("point_outside_village", "P13"),
        ("six_fixes_missing", "P03"),
        ("six_fixes_missing", "P05"),
        ("six_fixes_missing", "P10"),
        ("covered_over_poor", V3),
    }


def test_six_fixes_one_row_per_project_listing_the_gaps(issues):
    six = issues[issues[S.QI_CHECK] == "six_fixes_missing"].set_index(S.QI_ENTITY_ID)
    assert six.loc["P05", S.QI_VALUE] == "approval;public_notice;inspection"
    assert six.loc["P05", S.QI_MESSAGE] == "项目 P05 六定缺项：一次性审批、定公告、定检查"
    assert six.loc["P03", S.QI_VALUE] == "inspection"
    assert six.loc["P10", S.QI_CODE] == V5


def test_severity_order_and_values(issues):
    ranks = issues[S.QI_SEVERITY].map({"error": 0, "warning": 1, "info": 2})
    assert ranks.is_monotonic_increasing
    row = issues.set_index(S.QI_CHECK).loc["spent_over_allocated"]
    assert row[S.QI_SEVERITY] == "error"
    assert float(row[S.QI_VALUE]) == 5.0
    assert "55.00" in row[S.QI_MESSAGE] and "50.00" in row[S.QI_MESSAGE]
    far = issues.set_index(S.QI_CHECK).loc["point_outside_village"]
    assert float(far[S.QI_VALUE]) == pytest.approx(27_700, rel=0.01)  # 0.25° of latitude


def test_bad_codes_are_errors(tiny_units, tiny_registry, tiny_projects):
    bad = tiny_projects.copy()
    ids = bad[S.PROJECT_ID]
    bad.loc[ids == "P01", S.VILLAGE_CODE] = "530102009001"  # unknown village
    bad.loc[ids == "P02", S.VILLAGE_CODE] = "530103001001"  # exists, but in another county
    bad.loc[ids == "P08", S.COUNTY_CODE] = "539999000000"  # unknown county
    bad.loc[ids == "P09", S.TOWNSHIP_CODE] = "530102001000"  # township of another county
    issues = audit(tiny_units, tiny_registry, bad)
    errors = issues[issues[S.QI_SEVERITY] == "error"]
    assert {
        ("unknown_village_code", "P01"),
        ("inconsistent_village_code", "P02"),
        ("unknown_county_code", "P08"),
        ("inconsistent_township_code", "P09"),
    } <= _found(errors)
    msg = errors.set_index(S.QI_ENTITY_ID).loc["P01", S.QI_MESSAGE]
    assert "530102009001" in msg and "village_code" in msg


def test_registry_checks(tiny_units, tiny_registry):
    reg = pd.concat([tiny_registry, tiny_registry.iloc[[0]]], ignore_index=True)
    reg.loc[len(reg)] = reg.iloc[1].to_dict() | {S.VILLAGE_CODE: "530102001099"}
    found = _found(audit_registry(tiny_units, reg))
    assert ("duplicate_registry_village", "530102001001") in found
    assert ("unknown_registry_village", "530102001099") in found


def test_clean_inputs_give_no_issues(tiny_units, tiny_registry, tiny_projects):
    ids = tiny_projects[S.PROJECT_ID]
    clean = tiny_projects[~ids.isin(["P03", "P05", "P06", "P07", "P09", "P10", "P13"])]
    reg = tiny_registry.assign(
        **{S.COVERED_POPULATION: tiny_registry[S.COVERED_POPULATION].clip(upper=20)}
    )
    reg.loc[reg[S.VILLAGE_CODE] != V3, S.COVERED_POPULATION] = tiny_registry[S.COVERED_POPULATION]
    issues = audit(tiny_units, reg, clean)
    assert issues.empty
    assert list(issues.columns) == list(QUALITY_COLUMNS)


def test_audit_does_not_mutate(tiny_units, tiny_registry, tiny_projects):
    before = tiny_projects.copy()
    audit(tiny_units, tiny_registry, tiny_projects)
    pd.testing.assert_frame_equal(tiny_projects, before)


def test_completion_date_on_a_project_not_completed(tiny_units, tiny_registry, tiny_projects):
    dated = tiny_projects.copy()
    ids = dated[S.PROJECT_ID]
    dated.loc[ids == "P03", S.COMPLETION_DATE] = pd.Timestamp("2018-05-01")  # in_progress
    dated.loc[ids == "P10", S.COMPLETION_DATE] = pd.Timestamp("2020-06-30")  # approved
    issues = audit(tiny_units, tiny_registry, dated)
    found = issues[issues[S.QI_CHECK] == "date_without_completion"].set_index(S.QI_ENTITY_ID)
    assert sorted(found.index) == ["P03", "P10"]
    assert set(found[S.QI_SEVERITY]) == {"warning"}
    assert found.loc["P03", S.QI_VALUE] == "2018-05-01"
    assert found.loc["P03", S.QI_MESSAGE] == (
        "项目 P03 状态为在建，却有完工日期 2018-05-01；请更正状态或删去 completion_date"
    )
    assert found.loc["P10", S.QI_CODE] == V5
    assert "date_without_completion" not in set(
        audit(tiny_units, tiny_registry, tiny_projects)[S.QI_CHECK]
    )


def test_reconcile_names_counties_found_on_one_side_only():
    from layers.ingest.reconcile import reconcile_funds

    a, b, c = "530102000000", "530103000000", "530201000000"
    projects = pd.DataFrame({S.COUNTY_CODE: [a, a, b], S.FUNDS_SPENT: [1.0, 2.0, 5.0]})
    funds = pd.DataFrame({S.COUNTY_CODE: [a, c], S.FUNDS_SPENT: [3.0, 9.0]})
    issues = reconcile_funds(projects, funds).set_index(S.QI_CHECK)
    assert sorted(issues.index) == [
        "county_missing_from_funds_table",
        "funds_table_county_without_projects",
    ]  # county a agrees (1 + 2 = 3)
    row = issues.loc["county_missing_from_funds_table"]
    assert (row[S.QI_ENTITY_ID], row[S.QI_SEVERITY]) == (b, "warning")
    assert row[S.QI_MESSAGE] == "项目库中的县 530103 不在资金表中"
    row = issues.loc["funds_table_county_without_projects"]
    assert row[S.QI_CODE] == c
    assert row[S.QI_MESSAGE] == "资金表列出县 530201，但项目库中没有它的项目"


def test_audit_finds_exactly_the_demo_ledgers_planted_date_anomalies():
    from test_demo_ledger import SEED, make_units

    from layers.demo import calibration as C
    from layers.demo import ledger as D
    from layers.demo import registry as R

    units = make_units()
    registry = R.generate_registry(units, seed=SEED, scale=0.05)
    projects = D.generate_projects(units, registry, seed=SEED, scale=0.05)
    found = audit(units, registry, projects)[S.QI_CHECK].value_counts()
    planted = C.anomaly_counts(0.05)
    for check in ("date_without_completion", "completed_without_date", "spent_over_allocated"):
        assert found.get(check, 0) == planted[check], check
