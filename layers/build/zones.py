"""The action-plan zones (五大行动计划): their members, county lists and geometry.

Zones are code lists in ``data/zones.toml``; a prefecture member stands for all its counties,
and a zone's geometry is the union of its counties.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from layers import schema as s
from layers.errors import BoundaryError
from layers.settings import DATA_DIR

__all__ = ["ZONES_TOML", "Zone", "load_zones", "zone_geometries", "zone_members"]

ZONES_TOML: Path = DATA_DIR / "zones.toml"
ZONE_NAME_EN = "name_en"


@dataclass(frozen=True)
class Zone:
    """One action-plan zone.

    Attributes
    ----------
    name
        Chinese name, the key used everywhere (e.g. ``怒江州``).
    name_en
        English name for exports.
    members
        12-digit codes of member counties or prefectures, as listed in the file.
    note
        Where the membership comes from.
    unsourced
        Members that are likely but not named by any source found (subset of ``members``).
    """

    name: str
    name_en: str
    members: tuple[str, ...]
    note: str = ""
    unsourced: tuple[str, ...] = field(default=())


def load_zones(path: str | Path | None = None) -> dict[str, Zone]:
    """Read ``data/zones.toml`` (or ``path``) into zones keyed by Chinese name, in file order."""
    path = Path(path) if path is not None else ZONES_TOML
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError as e:
        raise BoundaryError(f"zones file {path} not found; restore data/zones.toml") from e
    except tomllib.TOMLDecodeError as e:
        raise BoundaryError(f"zones file {path} is not valid TOML: {e}") from e
    zones: dict[str, Zone] = {}
    problems = []
    for i, entry in enumerate(doc.get("zones", []), start=1):
        missing = [k for k in ("name", "name_en", "members") if k not in entry]
        if missing:
            problems.append(f"zone #{i} lacks {', '.join(missing)}")
            continue
        name = entry["name"]
        if name in zones:
            problems.append(f"zone {name!r} is listed twice")
        try:
            members = tuple(s.pad_code(m) for m in entry["members"])
            unsourced = tuple(s.pad_code(m) for m in entry.get("unsourced", []))
        except ValueError as e:
            problems.append(f"zone {name!r}: {e}")
            continue
        if not members:
            problems.append(f"zone {name!r} has no members")
        stray = sorted(set(unsourced) - set(members))
        if stray:
            problems.append(f"zone {name!r}: unsourced {stray} are not members")
        zones[name] = Zone(name, entry["name_en"], members, entry.get("note", ""), unsourced)
    if not zones and not problems:
        problems.append("no [[zones]] tables found")
    if problems:
        raise BoundaryError(f"{path}: " + "; ".join(problems) + " — fix the zone entries")
    return zones


def zone_members(zones: dict[str, Zone], admin_units: pd.DataFrame) -> pd.DataFrame:
    """Return the county codes of each zone: columns ``zone, code``, one row per county.

    A prefecture member expands to its counties in ``admin_units`` (``level == "county"``
    rows with that ``parent_code``). Raises ``BoundaryError`` naming members not found.

    Parameters
    ----------
    zones
        The zones by name (e.g. from ``data/zones.toml``); their members are county or prefecture
        codes.
    admin_units
        The administrative units (``code``, ``level``, ``parent_code``).
    """
    counties = admin_units.loc[admin_units[s.LEVEL] == "county", [s.CODE, s.PARENT_CODE]]
    known = set(admin_units[s.CODE].tolist())
    rows = pd.DataFrame(
        [(z.name, m) for z in zones.values() for m in z.members], columns=[s.ZONE, "member"]
    )
    unknown = rows[[m not in known for m in rows["member"]]]  # (Series.isin: 0.2 s here)
    if len(unknown):
        listed = ", ".join(f"{z}: {m}" for z, m in unknown.itertuples(index=False))
        raise BoundaryError(
            f"zone members not found in admin_units ({listed}); "
            "fix data/zones.toml or load the boundaries that hold them"
        )
    direct = rows.merge(counties[[s.CODE]], left_on="member", right_on=s.CODE)
    expanded = rows.merge(counties, left_on="member", right_on=s.PARENT_CODE)
    out = pd.concat([direct[[s.ZONE, s.CODE]], expanded[[s.ZONE, s.CODE]]], ignore_index=True)
    order = {name: i for i, name in enumerate(zones)}
    out = out.drop_duplicates().sort_values(
        [s.ZONE, s.CODE], key=lambda c: c.map(order) if c.name == s.ZONE else c
    )
    return out.reset_index(drop=True)


def zone_geometries(zones: dict[str, Zone], admin_units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return one row per zone (``zone``, ``name_en``, geometry): the union of its counties.

    Parameters
    ----------
    zones
        The zones by name.
    admin_units
        The administrative units with their polygons.
    """
    members = zone_members(zones, admin_units)
    geom = admin_units.set_index(s.CODE).geometry
    parts = pd.Series(geom.reindex(members[s.CODE]).to_numpy(), index=members[s.ZONE].to_numpy())
    unions = parts.groupby(level=0, sort=False).agg(lambda g: shapely.union_all(g.to_numpy()))
    names = list(zones)
    unions = unions.reindex(names)
    return gpd.GeoDataFrame(
        {s.ZONE: names, ZONE_NAME_EN: [zones[n].name_en for n in names]},
        geometry=list(unions.to_numpy()),
        crs=admin_units.crs,
    )
