"""数据质量: the checks that fill ``quality_issues`` (one row per entity per problem).

Checks on the ledger (duplicate ids, 六定 gaps listed per project, completed without a date,
a completion date on a project not completed, spent above allocated, beneficiaries above the
village's poor population), on the registry (unknown or duplicate villages, covered above
poor) and the locating step's code and point checks. Severity: ``error`` (the figures are
wrong until fixed), ``warning`` (probably wrong), ``info`` (worth a look). All vectorised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers import schema as S
from layers.build import metrics as M
from layers.build.locate import locate_projects
from layers.issues import QUALITY_COLUMNS, SEVERITIES, empty_issues, issues_frame

__all__ = [
    "audit",
    "audit_projects",
    "audit_registry",
    "combine",
]


def _project_code(projects: pd.DataFrame) -> pd.Series:
    """The smallest unit a project names: village, else township, else county (12-digit)."""
    code = projects[S.VILLAGE_CODE].astype("str")
    code = code.fillna(projects[S.TOWNSHIP_CODE].astype("str"))
    return code.fillna(projects[S.COUNTY_CODE].astype("str")).fillna("")


def _fmt(values: pd.Series | np.ndarray) -> np.ndarray:
    """Amounts as text with two decimals (万元)."""
    return np.char.mod("%.2f", np.asarray(values, dtype="float64")).astype(object)


def _people(values: pd.Series | np.ndarray) -> np.ndarray:
    """Head counts as whole-number text."""
    return np.asarray(values, dtype="float64").astype("int64").astype("str").astype(object)


@dataclass(frozen=True)
class _ExcessCheck:
    """A check that flags an amount above its limit.

    ``template`` names ``{id}``, ``{amount}`` and ``{limit}`` (the latter two through ``fmt``);
    an amount counts as above its limit when it exceeds it by more than ``slack``.
    """

    check: str
    severity: str
    entity: str
    template: str
    fmt: Callable[[np.ndarray], np.ndarray] = _people
    slack: float = 0.0


def _excess(
    spec: _ExcessCheck,
    ids: pd.Series,
    codes: pd.Series,
    amount: np.ndarray,
    limit: np.ndarray,
) -> pd.DataFrame:
    """Rows where ``amount`` exceeds ``limit`` (as ``spec`` says); the value is the excess."""
    bad = amount > limit + spec.slack
    fields = {
        "id": ids[bad].to_numpy(dtype=object),
        "amount": spec.fmt(amount[bad]),
        "limit": spec.fmt(limit[bad]),
    }
    pieces = re.split(r"\{(id|amount|limit)\}", spec.template)
    message = np.full(int(bad.sum()), pieces[0], dtype=object)
    for name, literal in zip(pieces[1::2], pieces[2::2], strict=True):
        message = message + fields[name] + literal
    excess = np.round(amount[bad] - limit[bad], 4)
    return issues_frame(
        spec.check, spec.severity, spec.entity, ids[bad], codes[bad], message, excess
    )


_SPENT_OVER_ALLOCATED = _ExcessCheck(
    "spent_over_allocated",
    "error",
    "project",
    "项目 {id} 已支出 {amount} 万元，超过已拨付 {limit} 万元（账账不符）",
    fmt=_fmt,
    slack=1e-9,
)
_BENEFICIARIES_OVER_POOR = _ExcessCheck(
    "beneficiaries_over_poor",
    "warning",
    "project",
    "项目 {id} 受益贫困人口 {amount} 人，超过所在村建档立卡贫困人口 {limit} 人",
)
_COVERED_OVER_POOR = _ExcessCheck(
    "covered_over_poor",
    "info",
    "village",
    "村 {id} 覆盖人口 {amount} 人多于贫困人口 {limit} 人；覆盖率计算时按贫困人口封顶",
)


def audit_projects(projects: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Ledger checks (see the module docstring); ``projects`` should be located.

    Parameters
    ----------
    projects
        The project ledger (``schema.PROJECT_COLUMNS``), located by ``build.locate_projects``.
    registry
        The poverty registry; its ``poor_population`` bounds each village's beneficiaries.

    Returns
    -------
    pandas.DataFrame
        One row per project per problem (``issues.QUALITY_COLUMNS``), in check order.
    """
    pid = projects[S.PROJECT_ID].astype("str")
    code = _project_code(projects)
    parts = []

    dup = pid.duplicated(keep=False).to_numpy()
    parts.append(
        issues_frame(
            "duplicate_project_id",
            "error",
            "project",
            pid[dup],
            code[dup],
            "项目编号 " + pid[dup] + " 重复；每个项目须有唯一的 project_id",
            pid[dup],
        )
    )

    missing = M.six_fixes_missing(projects)
    any_missing = missing.any(axis=1).to_numpy()
    gaps = missing.to_numpy()[any_missing]
    labels = np.full(len(gaps), "", dtype=object)
    keys = np.full(len(gaps), "", dtype=object)
    for i, fix in enumerate(S.SIX_FIXES):
        labels = labels + np.where(gaps[:, i], S.SIX_FIXES_LABELS_ZH[fix] + "、", "")
        keys = keys + np.where(gaps[:, i], fix + ";", "")
    labels = pd.Series(labels, dtype="str").str.rstrip("、").to_numpy()
    keys = pd.Series(keys, dtype="str").str.rstrip(";").to_numpy()
    parts.append(
        issues_frame(
            "six_fixes_missing",
            "warning",
            "project",
            pid[any_missing],
            code[any_missing],
            "项目 " + pid[any_missing] + " 六定缺项：" + labels,
            keys,
        )
    )

    done = projects[S.STATUS].isin(S.COMPLETED_STATUSES).to_numpy()
    no_date = projects[S.COMPLETION_DATE].isna().to_numpy()
    bad = done & no_date
    parts.append(
        issues_frame(
            "completed_without_date",
            "warning",
            "project",
            pid[bad],
            code[bad],
            "项目 " + pid[bad] + " 状态为已完工/已验收，但没有完工日期；请补填 completion_date",
            projects.loc[bad, S.STATUS].astype("str"),
        )
    )
    bad = ~done & ~no_date
    status = projects[S.STATUS].astype("str")
    dates = pd.to_datetime(projects.loc[bad, S.COMPLETION_DATE]).dt.strftime("%Y-%m-%d")
    parts.append(
        issues_frame(
            "date_without_completion",
            "warning",
            "project",
            pid[bad],
            code[bad],
            "项目 "
            + pid[bad]
            + " 状态为"
            + status[bad].map(S.STATUS_LABELS_ZH).fillna(status[bad])
            + "，却有完工日期 "
            + dates
            + "；请更正状态或删去 completion_date",
            dates,
        )
    )

    spent = pd.to_numeric(projects[S.FUNDS_SPENT], errors="coerce").to_numpy(dtype="float64")
    alloc = pd.to_numeric(projects[S.FUNDS_ALLOCATED], errors="coerce").to_numpy(dtype="float64")
    parts.append(_excess(_SPENT_OVER_ALLOCATED, pid, code, spent, alloc))

    poor = pd.Series(
        pd.to_numeric(registry[S.POOR_POPULATION], errors="coerce").to_numpy(),
        index=registry[S.VILLAGE_CODE].astype("str").to_numpy(),
    )
    poor = poor[~poor.index.duplicated()]
    village_poor = projects[S.VILLAGE_CODE].astype("str").map(poor).to_numpy(dtype="float64")
    benef = pd.to_numeric(projects[S.BENEFICIARY_POOR_POPULATION], errors="coerce").to_numpy(
        dtype="float64"
    )
    parts.append(_excess(_BENEFICIARIES_OVER_POOR, pid, code, benef, village_poor))
    return pd.concat(parts, ignore_index=True)


def audit_registry(admin_units: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Registry checks: unknown or duplicate villages, covered population above the poor.

    Parameters
    ----------
    admin_units
        Admin units of all levels; the registry's villages are looked up among the villages.
    registry
        The poverty registry (``schema.REGISTRY_COLUMNS``).

    Returns
    -------
    pandas.DataFrame
        One row per village per problem (``issues.QUALITY_COLUMNS``), in check order.
    """
    vcode = registry[S.VILLAGE_CODE].astype("str")
    villages = admin_units.loc[admin_units[S.LEVEL] == "village", S.CODE].astype("str")
    parts = []
    bad = ~M.isin_index(vcode, pd.Index(villages.unique()))
    parts.append(
        issues_frame(
            "unknown_registry_village",
            "error",
            "village",
            vcode[bad].fillna(""),
            vcode[bad].fillna(""),
            "建档立卡名册中的村代码 " + vcode[bad].fillna("（空）") + " 不在行政区划中；请更正",
            vcode[bad].fillna(""),
        )
    )
    bad = vcode.duplicated(keep="first").to_numpy()
    parts.append(
        issues_frame(
            "duplicate_registry_village",
            "error",
            "village",
            vcode[bad],
            vcode[bad],
            "建档立卡名册中村 " + vcode[bad] + " 出现多次；每村只能一行",
            vcode[bad],
        )
    )
    poor = pd.to_numeric(registry[S.POOR_POPULATION], errors="coerce").to_numpy(dtype="float64")
    cov = pd.to_numeric(registry[S.COVERED_POPULATION], errors="coerce").to_numpy(dtype="float64")
    parts.append(_excess(_COVERED_OVER_POOR, vcode, vcode, cov, poor))
    return pd.concat(parts, ignore_index=True)


def audit(
    admin_units: pd.DataFrame,
    registry: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    locate_issues: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return ``quality_issues`` for the inputs, errors first.

    Parameters
    ----------
    admin_units
        Admin units of all levels.
    registry
        The poverty registry.
    projects
        The project ledger, raw or located.
    locate_issues
        The issues of ``build.locate_projects`` when it already ran on ``projects``; ``None``
        runs it here (codes and points are checked either way).

    Returns
    -------
    pandas.DataFrame
        ``issues.QUALITY_COLUMNS`` as text, sorted by severity (errors first), check and entity.
    """
    if locate_issues is None:
        projects, locate_issues = locate_projects(admin_units, projects)
    return combine(
        [locate_issues, audit_projects(projects, registry), audit_registry(admin_units, registry)]
    )


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The issues of several checks (or of a ledger's chunks, in ledger order) as
    ``quality_issues``: text columns, errors first, then by check and entity (stable)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_issues()
    out = pd.concat(frames, ignore_index=True)[list(QUALITY_COLUMNS)]
    rank = out[S.QI_SEVERITY].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort((out[S.QI_ENTITY_ID].to_numpy(), out[S.QI_CHECK].to_numpy(), rank))
    return out.iloc[order].reset_index(drop=True).astype("str")
