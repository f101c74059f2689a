"""Read the fields of stacked ledger rows (ids, codes, categories, dates, amounts, points)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers import schema as S
from layers.ingest.cells import (
    MAX_COUNT,
    as_text,
    code_level,
    date_input,
    fullwidth,
    is_number,
    parse_category,
    parse_codes,
    parse_numbers,
    parse_year,
)
from layers.ingest.columns import ColumnMap, normalise_label
from layers.ingest.dates import parse_dates
from layers.ingest.report import BatchRows
from layers.settings import CAMPAIGN_YEARS

__all__ = ["FUNDS", "project_rows"]

#: the amount fields (万元)
FUNDS: tuple[str, ...] = (S.FUNDS_PLANNED, S.FUNDS_ALLOCATED, S.FUNDS_SPENT)
_CODE_LENGTHS = {S.COUNTY_CODE: (6, 12), S.TOWNSHIP_CODE: (9, 12), S.VILLAGE_CODE: (12,)}
_CODE_LEVELS = {S.COUNTY_CODE: "county", S.TOWNSHIP_CODE: "township", S.VILLAGE_CODE: "village"}
_NAME_COLUMNS = ("county_name", "township_name", "village_name")


@dataclass
class _Rows:
    """The stacked rows being read: the raw batch, its report rows and the parsed ``out``."""

    batch: pd.DataFrame
    labels: dict[str, pd.Series]
    rep: BatchRows
    totals: pd.Series  # 合计/小计 rows
    special: pd.Series  # totals and note rows: never projects
    out: pd.DataFrame

    def raw(self, f: str) -> pd.Series:
        """The cells of field ``f`` (all None where no sheet has the column)."""
        if f in self.batch:
            return self.batch[f]
        return pd.Series(None, index=self.batch.index, dtype=object)

    def has(self, f: str) -> pd.Series:
        """Rows whose sheet has a column for ``f``."""
        if f not in self.labels:
            return pd.Series(False, index=self.batch.index)
        return ~self.labels[f].str.startswith("（无此列")

    @property
    def present(self) -> set[str]:
        """Fields some sheet has a column for."""
        return {f for f in self.labels if f != "_first"}


def project_rows(
    batch: pd.DataFrame,
    labels: dict[str, pd.Series],
    cmap: ColumnMap,
    *,
    admin_units: pd.DataFrame | None = None,
    allow_later_years: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read every field of the stacked ledger rows at once, reporting each problem.

    Parameters
    ----------
    batch
        The data rows of every sheet, keyed by schema field, with ``_file``, ``_sheet``,
        ``_row``, ``_totals``, ``_notes``, ``_gist``, ``_hint`` and ``_unit_<funds field>``.
    labels
        Per field, the column label of each row (``（无此列：…）`` where its sheet lacks it).
    cmap
        The column map (category values).
    admin_units
        When given, rows without codes get them from their county/township/village names.
    allow_later_years
        Accept (with a warning) plan years after :data:`layers.settings.CAMPAIGN_YEARS`; by
        default such rows are refused. Years before the campaign are always refused.

    Returns
    -------
    tuple of DataFrame
        The accepted rows (with ``_file/_sheet/_row``), the problems, and per sheet the counts
        of rows read, rejected, codes stored as numbers, county codes derived and codes found
        by name.
    """
    rows = _start_rows(batch, labels)
    _read_ids(rows)
    numeric_codes = _read_codes(rows)
    by_name = _codes_by_name(rows, admin_units)
    derived = _derive_parent_codes(rows)
    _read_categories(rows, cmap)
    _read_dates(rows)
    _check_campaign_years(rows, allow_later=allow_later_years)
    _read_amounts(rows)
    _read_counts_and_text(rows)
    _check_grand_totals(rows)
    _read_point(rows)
    _reject_duplicate_ids(rows)
    rejected = rows.rep.reject | rows.special
    out = rows.out
    out["_file"], out["_sheet"], out["_row"] = batch["_file"], batch["_sheet"], batch["_row"]
    keys = [batch["_file"], batch["_sheet"]]
    per = pd.DataFrame(
        {
            "rows_in": batch.groupby(keys, sort=False).size(),
            "rejected": rejected.groupby(keys, sort=False).sum(),
            "numeric_codes": numeric_codes.groupby(keys, sort=False).sum(),
            "derived": (derived & ~rejected).groupby(keys, sort=False).sum(),
            "by_name": (by_name & ~rejected).groupby(keys, sort=False).sum(),
        }
    )
    return out[~rejected], rows.rep.problems(), per


def _start_rows(batch: pd.DataFrame, labels: dict[str, pd.Series]) -> _Rows:
    """Reject the totals and note rows; nothing else of them is reported."""
    rep = BatchRows(batch, labels)
    totals, note_rows = batch["_totals"].astype(bool), batch["_notes"].astype(bool)
    rep.add(totals, "_first", "合计/小计行，不是项目", "rejected", value=batch["_gist"])
    rep.add(note_rows, "_first", "表尾说明或备注行，不是项目", "rejected", value=batch["_gist"])
    out = pd.DataFrame(index=batch.index)
    return _Rows(batch, labels, rep, totals, totals | note_rows, out)


def _read_ids(rows: _Rows) -> None:
    """Full-width characters (every column), project ids (required) and names."""
    rep, special, out = rows.rep, rows.special, rows.out
    # full-width characters in any parsed column are normalised (reported once per cell)
    for f in rows.present:
        rep.add(fullwidth(rows.raw(f)) & ~special, f, "全角数字或字母，已转为半角", "fixed")
    pid = as_text(rows.raw(S.PROJECT_ID))
    rep.add(pid.isna() & ~special, S.PROJECT_ID, "缺少项目编号", "rejected")
    out[S.PROJECT_ID] = pid
    out[S.PROJECT_NAME] = as_text(rows.raw(S.PROJECT_NAME))
    rep.add(
        out[S.PROJECT_NAME].isna() & pid.notna() & ~special & rows.has(S.PROJECT_NAME),
        S.PROJECT_NAME,
        "缺少项目名称",
        "warning",
    )


def _read_codes(rows: _Rows) -> pd.Series:
    """County, township and village codes; returns how many codes per row were numbers."""
    rep, special = rows.rep, rows.special
    numeric_codes = pd.Series(0, index=rows.batch.index)
    for f, lens in _CODE_LENGTHS.items():
        values = rows.raw(f)
        parsed = parse_codes(values, lengths=lens)
        numeric_codes += is_number(values).astype(int)
        lvl = S.LEVEL_LABELS_ZH[_CODE_LEVELS[f]]
        rep.add(
            parsed.sci_fixed & ~special, f, "科学计数法显示的代码，位数完整，已转为文本", "fixed"
        )
        rep.add(
            parsed.sci_lost & ~special,
            f,
            "代码被 Excel 存成科学计数法，位数已丢失；请把该列设为文本格式后重新导出",
            "rejected",
        )
        rep.add(
            parsed.invalid & ~special,
            f,
            f"不是有效的{lvl}代码（应为 {'/'.join(map(str, lens))} 位数字）",
            "rejected",
        )
        codes = parsed.codes
        wrong_level = codes.notna() & (code_level(codes) != _CODE_LEVELS[f])
        rep.add(wrong_level & ~special, f, f"代码层级不是{lvl}", "rejected")
        rows.out[f] = codes.where(~wrong_level)
    return numeric_codes


def _codes_by_name(rows: _Rows, admin_units: pd.DataFrame | None) -> pd.Series:
    """Fill missing codes from unit names; returns the rows that got a code this way."""
    out = rows.out
    by_name = pd.Series(False, index=rows.batch.index)
    if admin_units is None or not (set(_NAME_COLUMNS) & rows.present):
        return by_name
    filled, unmatched = _codes_from_names(out, rows.batch, admin_units)
    for f in (S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE_CODE):
        by_name |= out[f].isna() & filled[f].notna()
        out[f] = out[f].fillna(filled[f])
    for f, mask in unmatched.items():
        rows.rep.add(mask & ~rows.special, f, "名称在边界中找不到或不唯一，无法补出代码", "warning")
    return by_name


def _codes_from_names(
    codes: pd.DataFrame, batch: pd.DataFrame, units: pd.DataFrame
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Codes for rows that give names instead: county by name (or from the sheet's name or
    title), township by name within its county, village by name within its township (or
    county). Only exact, unique matches count. Returns (codes found per field, unmatched masks
    per name column)."""
    u = pd.DataFrame(units[[S.CODE, S.NAME, S.LEVEL]]).astype({S.CODE: str})
    u["_n"] = u[S.NAME].map(normalise_label)

    def names(f: str) -> pd.Series:
        if f not in batch:
            return pd.Series(np.nan, index=batch.index, dtype=object)
        text = as_text(batch[f])
        return text.map(normalise_label, na_action="ignore").replace("", np.nan)

    def unique_keys(level: str, prefix: int) -> pd.Series:
        sel = u[u[S.LEVEL] == level]
        key = sel[S.CODE].str.slice(0, prefix) + "|" + sel["_n"] if prefix else sel["_n"]
        table = pd.Series(sel[S.CODE].to_numpy(), index=key.to_numpy())
        return table[~table.index.duplicated(keep=False)]

    cname, tname, vname = names("county_name"), names("township_name"), names("village_name")
    counties = unique_keys("county", 0)
    county = codes[S.COUNTY_CODE].fillna(cname.map(counties))
    county = county.fillna(batch["_hint"].map(_county_hints(batch["_hint"], counties)))
    from_codes = codes[S.TOWNSHIP_CODE].fillna(codes[S.VILLAGE_CODE])
    c6 = county.fillna(from_codes).str.slice(0, 6)
    township = codes[S.TOWNSHIP_CODE].fillna((c6 + "|" + tname).map(unique_keys("township", 6)))
    t9 = township.fillna(codes[S.VILLAGE_CODE]).str.slice(0, 9)
    village = codes[S.VILLAGE_CODE].fillna((t9 + "|" + vname).map(unique_keys("village", 9)))
    village = village.fillna((c6 + "|" + vname).map(unique_keys("village", 6)))
    found = {S.COUNTY_CODE: county, S.TOWNSHIP_CODE: township, S.VILLAGE_CODE: village}
    unmatched = {
        "county_name": cname.notna() & codes[S.COUNTY_CODE].isna() & cname.map(counties).isna(),
        "township_name": tname.notna() & codes[S.TOWNSHIP_CODE].isna() & township.isna(),
        "village_name": vname.notna() & codes[S.VILLAGE_CODE].isna() & village.isna(),
    }
    return found, unmatched


def _county_hints(hints: pd.Series, counties: pd.Series) -> dict[str, str]:
    """The county each sheet is about, named (longest name, uniquely) in its sheet name, title
    or file name."""
    out = {}
    for hint in hints.unique():
        norm = normalise_label(hint)
        hit = [n for n in counties.index if n and n in norm]
        longest = max(hit, key=len) if hit else None
        if longest and sum(len(h) == len(longest) for h in hit) == 1:
            out[hint] = counties[longest]
    return out


def _derive_parent_codes(rows: _Rows) -> pd.Series:
    """Missing township/county codes from the smallest unit given, checked for consistency.

    Returns the rows whose county code was derived.
    """
    rep, special, out = rows.rep, rows.special, rows.out
    v, t, c = out[S.VILLAGE_CODE], out[S.TOWNSHIP_CODE], out[S.COUNTY_CODE]
    t_from_v = v.str.slice(0, 9).str.ljust(12, "0")
    c_from_t = t.fillna(t_from_v).str.slice(0, 6).str.ljust(12, "0")
    bad_tv = t.notna() & v.notna() & (t != t_from_v)
    rep.add(bad_tv & ~special, S.VILLAGE_CODE, "村代码不属于所填乡镇代码", "rejected")
    t = t.fillna(t_from_v.where(v.notna()))
    c_derived = c.isna() & c_from_t.notna()
    bad_ct = c.notna() & t.notna() & (c != c_from_t)
    where_ct = S.TOWNSHIP_CODE if S.TOWNSHIP_CODE in rows.labels else S.VILLAGE_CODE
    rep.add(bad_ct & ~special, where_ct, "乡镇/村代码不属于所填县代码", "rejected")
    c = c.fillna(c_from_t.where(t.notna()))
    missing_county = c.isna() & out[S.PROJECT_ID].notna() & ~special & ~rep.reject
    rep.add(missing_county, S.COUNTY_CODE, "没有县、乡镇或村代码，无法归属到县", "rejected")
    out[S.COUNTY_CODE], out[S.TOWNSHIP_CODE], out[S.VILLAGE_CODE] = c, t, v
    return c_derived


def _read_categories(rows: _Rows, cmap: ColumnMap) -> None:
    """Sector (unknown → other), status (required) and fund source (unknown → empty)."""
    rep, special, out = rows.rep, rows.special, rows.out
    sector, bad = parse_category(rows.raw(S.SECTOR), cmap.values.get(S.SECTOR, {}))
    rep.add(bad & ~special, S.SECTOR, "无法识别的项目类别，已归入“综合保障及其他”", "fixed")
    out[S.SECTOR] = sector.where(~bad, "other").fillna("other")
    status, bad = parse_category(rows.raw(S.STATUS), cmap.values.get(S.STATUS, {}))
    rep.add(
        bad & ~special,
        S.STATUS,
        "无法识别的项目状态（应为 计划/已批复/在建/已完工/已验收）",
        "rejected",
    )
    has_id = out[S.PROJECT_ID].notna()
    rep.add(status.isna() & ~bad & has_id & ~special, S.STATUS, "缺少项目状态", "rejected")
    out[S.STATUS] = status
    source, bad = parse_category(rows.raw(S.FUND_SOURCE), cmap.values.get(S.FUND_SOURCE, {}))
    rep.add(bad & ~special, S.FUND_SOURCE, "无法识别的资金来源，已置空", "cleared")
    out[S.FUND_SOURCE] = source


def _read_dates(rows: _Rows) -> None:
    """The three dates, and the plan year (else the start date's year; required)."""
    rep, special, out = rows.rep, rows.special, rows.out
    for f in (S.START_DATE, S.COMPLETION_DATE, S.PUBLIC_NOTICE_DATE):
        dates, bad = parse_dates(date_input(rows.raw(f)))
        rep.add(
            bad & ~special,
            f,
            "无法识别的日期（可用 2019-05-03、2019.5.3、2019年5月3日）",
            "cleared",
        )
        out[f] = dates
    years, bad = parse_year(rows.raw(S.PLAN_YEAR))
    rep.add(bad & ~special, S.PLAN_YEAR, "无法识别的计划年度", "cleared")
    from_start = years.isna() & out[S.START_DATE].notna()
    rep.add(
        from_start & rows.has(S.PLAN_YEAR) & ~special,
        S.PLAN_YEAR,
        "缺少计划年度，已取开工日期的年份",
        "fixed",
    )
    years = years.fillna(out[S.START_DATE].dt.year)
    rep.add(
        years.isna() & out[S.PROJECT_ID].notna() & ~special,
        S.PLAN_YEAR,
        "缺少计划年度且无开工日期",
        "rejected",
    )
    out[S.PLAN_YEAR] = years


def _check_campaign_years(rows: _Rows, *, allow_later: bool) -> None:
    """Plan years outside the campaign (:data:`CAMPAIGN_YEARS`): earlier ones are refused,
    later ones refused unless the steward allows them (then accepted with a warning)."""
    rep, special, out = rows.rep, rows.special, rows.out
    first, last = CAMPAIGN_YEARS
    years = pd.to_numeric(out[S.PLAN_YEAR], errors="coerce")
    early = (years < first).fillna(False) & ~special
    late = (years > last).fillna(False) & ~special
    rep.add(early, S.PLAN_YEAR, f"计划年度早于攻坚期 {first}–{last}", "rejected")
    if allow_later:
        rep.add(late, S.PLAN_YEAR, f"计划年度晚于攻坚期 {first}–{last}（已按许可导入）", "warning")
    else:
        rep.add(
            late,
            S.PLAN_YEAR,
            f"计划年度晚于攻坚期 {first}–{last}（确需导入时勾选“允许晚于攻坚期的年度”，"
            "或 onemap import --allow-later-years）",
            "rejected",
        )


def _read_amounts(rows: _Rows) -> None:
    """Amounts in 万元: the unit comes from the cell, else the column header, the title, the
    option; negative amounts are cleared."""
    rep, special, out = rows.rep, rows.special, rows.out
    for f in FUNDS:
        nums, cell_unit, bad = parse_numbers(rows.raw(f))
        rep.add(bad & ~special, f, "无法识别的金额，已置空", "cleared")
        u = rows.batch[f"_unit_{f}"].astype(object)
        cu = cell_unit.astype(object)
        factor = np.where(
            cu == "元", 1e-4, np.where(cu == "万元", 1.0, np.where(u == "元", 1e-4, 1.0))
        )
        rep.add(
            cell_unit.notna() & (cu != u) & ~special,
            f,
            "单元格写明的单位与列单位不同，已按单元格单位换算为万元",
            "fixed",
        )
        neg = nums < 0
        rep.add(neg & ~special, f, "金额为负数，已置空", "cleared")
        out[f] = (nums * factor).where(~neg)


def _read_counts_and_text(rows: _Rows) -> None:
    """Beneficiary counts (non-negative integers) and the free-text fields."""
    out = rows.out
    for f in (S.BENEFICIARY_HOUSEHOLDS, S.BENEFICIARY_POOR_POPULATION):
        nums, _, bad = parse_numbers(rows.raw(f))
        bad_int = bad | (nums < 0) | (nums > MAX_COUNT) | (nums.notna() & (nums != np.floor(nums)))
        rows.rep.add(bad_int & ~rows.special, f, f"不是 0–{MAX_COUNT:,} 的整数，已置空", "cleared")
        out[f] = nums.where(~bad_int).astype("Int64")
    for f in (S.RESPONSIBLE_UNIT, S.APPROVAL_REF, S.INSPECTION_RESULT):
        out[f] = as_text(rows.raw(f))


def _check_grand_totals(rows: _Rows) -> None:
    """账账相符 within a sheet: its 合计/总计 row against the sum of its project rows.

    Only sheets with exactly one grand-total row are checked (小计 rows are subtotals); a
    difference above 0.01 万元 is reported on the totals row as a warning.
    """
    batch, out = rows.batch, rows.out
    gist = batch["_gist"].astype(str).str.replace(r"\s", "", regex=True)
    grand = rows.totals & gist.str.match(r"^(?:合计|总计|共计|总合计)")
    if not grand.any():
        return
    keys = batch["_file"].astype(str) + "\x00" + batch["_sheet"].astype(str)
    once = grand.groupby(keys).transform("sum") == 1
    grand &= once
    for f in FUNDS:
        stated = out[f].where(grand)
        has = grand & stated.notna()
        if not has.any():
            continue
        detail = out[f].where(~rows.special).groupby(keys).sum(min_count=1).reindex(keys)
        detail = detail.to_numpy()
        diff = stated.to_numpy() - np.nan_to_num(detail)
        bad = has & (np.abs(np.nan_to_num(diff)) > 0.01)
        if bad.any():
            text = pd.Series(
                [
                    f"合计行为 {a:,.2f} 万元，明细行合计 {b:,.2f} 万元，相差 {a - b:+,.2f} 万元"
                    for a, b in zip(stated[bad], np.nan_to_num(detail)[bad.to_numpy()], strict=True)
                ],
                index=out.index[bad.to_numpy()],
            )
            rows.rep.add(bad, f, text, "warning")


def _read_point(rows: _Rows) -> None:
    """Longitude/latitude: swapped pairs fixed, pairs outside China cleared."""
    rep, special, out = rows.rep, rows.special, rows.out
    lon, _, bad_lon = parse_numbers(rows.raw("lon"))
    lat, _, bad_lat = parse_numbers(rows.raw("lat"))
    swapped = lon.between(3, 54) & lat.between(73, 136)
    rep.add(swapped & ~special, "lon", "经纬度填反，已交换", "fixed")
    lon, lat = lon.where(~swapped, lat), lat.where(~swapped, lon)
    outside = (lon.notna() | lat.notna()) & ~(lon.between(73, 136) & lat.between(3, 54))
    rep.add(
        (outside | bad_lon | bad_lat) & ~special,
        "lon" if "lon" in rows.labels else "lat",
        "经纬度缺失或不在中国范围内，坐标已置空",
        "cleared",
    )
    out["lon"], out["lat"] = lon.where(~outside), lat.where(~outside)


def _reject_duplicate_ids(rows: _Rows) -> None:
    """Duplicate ids across every sheet and file: the first is kept, the others rejected."""
    batch, out = rows.batch, rows.out
    ok_id = out[S.PROJECT_ID].notna() & ~rows.rep.reject & ~rows.special
    dup = ok_id & out[S.PROJECT_ID].where(ok_id).duplicated(keep="first")
    if not dup.any():
        return
    first = batch[ok_id & ~dup].assign(_id=out[S.PROJECT_ID]).set_index("_id")
    where = first.loc[out.loc[dup, S.PROJECT_ID], ["_file", "_sheet", "_row"]]
    text = (
        "项目编号重复（首次出现在 "
        + where["_file"].astype(str).to_numpy()
        + np.where(where["_sheet"].astype(str) != "", " " + where["_sheet"].astype(str), "")
        + " 第 "
        + where["_row"].astype(str).to_numpy()
        + " 行）"
    )
    rows.rep.add(dup, S.PROJECT_ID, pd.Series(text, index=out.index[dup.to_numpy()]), "rejected")
