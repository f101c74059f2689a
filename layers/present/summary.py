"""The KPIs of the province, a region or a zone, as ``onemap summary`` reports them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from layers import schema as S
from layers import store
from layers.errors import OneMapError, StoreError

__all__ = ["KPIS", "find_region", "summary_record"]

#: the KPIs of ``onemap summary``: JSON key → (column, Chinese label, kind)
KPIS: dict[str, tuple[str, str, str]] = {
    "projects": (S.N_PROJECTS, "项目数 projects", "count"),
    "completion": (S.COMPLETION, "完工率 completion", "rate"),
    "coverage": (S.COVERAGE, "覆盖率 coverage", "rate"),
    "funds_planned": (S.FUNDS_PLANNED, "计划资金 funds planned (万元)", "money"),
    "funds_spent": (S.FUNDS_SPENT, "已支出 funds spent (万元)", "money"),
    "funds_execution": (S.FUNDS_EXECUTION, "资金执行率 funds executed", "rate"),
    "poor_population": (S.POOR_POPULATION, "建档立卡贫困人口 poor population", "count"),
    "county_libraries": (S.COUNTY_LIBRARIES, "县级项目库 county libraries", "count"),
    "township_route_maps": (S.TOWNSHIP_ROUTE_MAPS, "乡级路线图 township route maps", "count"),
    "village_plans": (S.VILLAGE_PLANS, "村级施工图 village plans", "count"),
}


def _clean(value: Any) -> Any:
    """A table cell as a plain Python value (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _choices(units: pd.DataFrame, limit: int = 20) -> str:
    shown = [f"{c} {n}" for c, n in zip(units[S.CODE], units[S.NAME], strict=True)][:limit]
    more = f", … ({len(units)} in all)" if len(units) > limit else ""
    return ", ".join(shown) + more


def find_region(summary: pd.DataFrame, region: str) -> pd.Series:
    """The region_summary row of ``region`` (a 6/12-digit code or an exact name).

    Parameters
    ----------
    summary
        The store's ``region_summary`` table.
    region
        A 6- or 12-digit code or a unit's exact name.

    Returns
    -------
    pandas.Series
        The unit's row; unknown or ambiguous regions raise ``OneMapError``.
    """
    raw = region.strip()
    if raw.isdigit() and len(raw) <= 12:
        code = S.pad_code(raw)
        hit = summary[summary[S.CODE] == code]
        if len(hit):
            return hit.iloc[0]
        # list the children of the deepest ancestor that exists
        parent = code
        while (parent := S.parent_of(parent)) is not None:
            if (summary[S.CODE] == parent).any():
                break
        parent = parent or S.PROVINCE_CODE
        kids = summary[summary[S.PARENT_CODE] == parent]
        where = summary.loc[summary[S.CODE] == parent, S.NAME]
        label = f"{where.iloc[0]} ({parent})" if len(where) else parent
        raise OneMapError(
            f"unknown region {raw!r}: no unit with code {code} in the store; "
            f"units under {label}: {_choices(kids)}"
        )
    hit = summary[summary[S.NAME] == raw]
    if len(hit) == 1:
        return hit.iloc[0]
    if len(hit) > 1:
        raise OneMapError(
            f"region name {raw!r} is ambiguous ({_choices(hit)}); give the 6- or 12-digit code"
        )
    top = summary[summary[S.LEVEL].isin(["province", "prefecture"])]
    raise OneMapError(
        f"unknown region {raw!r}: give a 6- or 12-digit code or an exact name, e.g. {_choices(top)}"
    )


def summary_record(
    path: str | Path, *, region: str | None = None, zone: str | None = None
) -> dict[str, Any]:
    """The KPIs of the province, a region or a zone as one JSON-ready dict (rates as fractions).

    Parameters
    ----------
    path
        The GeoPackage store.
    region
        Code or name of the region, or None for the province.
    zone
        Name of a zone (takes precedence over ``region``), or None.
    """
    if zone is not None:
        table = store.read_layer(path, S.TABLE_ZONE_SUMMARY)
        hit = table[table[S.ZONE] == zone.strip()]
        if hit.empty:
            raise OneMapError(
                f"unknown zone {zone!r}; zones in {path}: {', '.join(table[S.ZONE].astype(str))}"
            )
        row = hit.iloc[0]
        record: dict[str, Any] = {"zone": str(row[S.ZONE])}
    else:
        table = store.read_layer(path, S.TABLE_REGION_SUMMARY)
        row = find_region(table, region if region is not None else S.PROVINCE_CODE)
        record = {"region": str(row[S.NAME]), "code": str(row[S.CODE]), "level": str(row[S.LEVEL])}
    missing = [col for col, _, _ in KPIS.values() if col not in row.index]
    if missing:
        raise StoreError(
            f"{path}: summary table lacks column(s) {missing}; rebuild it with `onemap build`"
        )
    for key, (col, _, kind) in KPIS.items():
        value = _clean(row[col])
        if kind == "count" and value is not None:
            value = int(value)
        elif kind == "money" and value is not None:
            value = round(float(value), 4)  # 万元 to the yuan; drops float summation noise
        elif value is not None:
            value = float(value)
        record[key] = value
    info = store.read_build_info(path)
    record["demo"] = info.get("demo") == "true"
    record["built_at"] = info.get("built_at")
    record["store"] = str(path)
    return record
