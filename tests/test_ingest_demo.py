"""Round trip on the generated demo province: every county's library exported the way an office
lays it out (one sheet per county, codes as numbers, merged headers, 合计 rows) → import →
the same metrics for every unit."""

from __future__ import annotations

import pandas as pd
import pytest

from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import locate_projects
from layers.demo import generate as demo
from layers.ingest.ledger import read_ledger
from layers.ingest.template import office_ledger_workbook

COUNTS = (
    S.N_PROJECTS,
    S.N_COMPLETED,
    S.N_SIX_FIXES,
    S.FUNDS_PLANNED,
    S.FUNDS_ALLOCATED,
    S.FUNDS_SPENT,
    S.MATCHED_HOUSEHOLDS,
)


@pytest.mark.slow
def test_demo_ledger_round_trip_same_metrics() -> None:
    inputs = demo.generate_demo(scale=0.02)
    book = office_ledger_workbook(inputs.projects)  # one sheet per county
    res = read_ledger(("全省项目库.xlsx", book))
    n = len(inputs.projects)
    counties = inputs.projects[S.COUNTY_CODE].nunique()
    # every project accepted; only the 合计 and 填表说明 rows of each county sheet rejected
    assert (res.report.accepted, res.report.rejected) == (n, 2 * counties)
    assert res.report.rows_in == n + 2 * counties

    def summary(projects: pd.DataFrame) -> pd.DataFrame:
        located, _ = locate_projects(inputs.admin_units, projects)
        out = M.aggregate(inputs.admin_units, inputs.registry, M.prepare_projects(located))
        return out.set_index(S.CODE).sort_index()

    want, got = summary(inputs.projects), summary(res.table)
    assert len(want) == len(got) > 500
    for col in COUNTS:
        pd.testing.assert_series_equal(got[col], want[col], check_dtype=False, rtol=1e-9)
    for rate in (S.COMPLETION, S.COVERAGE, S.SIX_FIXES_RATE, S.FUNDS_EXECUTION):
        pd.testing.assert_series_equal(got[rate], want[rate], rtol=1e-9)
