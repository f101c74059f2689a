"""What one export shows and reads: the map request, the store snapshot and the view's numbers.

The numbers of a view (units, values under the filters, class breaks, legend start) come from
``layers.present.view``, which the overview page calls too, so one view gives one picture on
the dashboard, in the CLI (``onemap export``) and on the 导出 page. Drawing modules
(``maps``, ``pack``) and writers (``tables``, ``layers``, ``web``, ``raster``) build on this one.

Importing this module does not import matplotlib (the map pages' first load stays fast).

Typical use::

    request = MapRequest(region="533300000000", metric="completion")
    snap = read_snapshot(store_path(), levels=levels_for(request), within=scope_for(request))
    rows = view_rows(snap, request)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import classify
from layers import schema as S
from layers import store
from layers.build import metrics as M
from layers.build import zones
from layers.errors import ExportError, OneMapError, StoreError
from layers.present import i18n, query, view
from layers.settings import CAMPAIGN_YEARS, store_path

__all__ = [
    "MapRequest",
    "Snapshot",
    "default_filename",
    "format_of",
    "is_demo",
    "levels_for",
    "read_snapshot",
    "scope_for",
    "unit_name",
    "view_breaks",
    "view_lower",
    "view_projects",
    "view_rows",
    "year_span",
    "zone_name",
]


# --------------------------------------------------------------------------------------
# the request: what one map shows
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MapRequest:
    """One view to export: region, metric, filters and classification (hashable).

    ``level`` defaults to one level below ``region``; ``breaks`` overrides the computed class
    breaks (e.g. breaks passed along from the dashboard).
    """

    region: str = S.PROVINCE_CODE
    metric: str = S.COMPLETION
    level: str | None = None
    flt: query.ProjectFilter = query.NO_FILTER
    zone: str | None = None
    show_zones: bool = True
    breaks_from: str = view.BREAKS_VIEW  # one of ``view.BREAK_SOURCES``
    breaks: tuple[float, ...] | None = None
    scheme: str = "quantiles"
    k: int = 5
    labels: bool = True
    lang: str = "zh"  # the words of the map (title, legend, small print); place names stay

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "region", S.pad_code(self.region))
        except ValueError as e:
            raise ExportError(f"`region` {self.region!r}: {e}; pass a 12-digit code") from e
        if self.metric not in S.METRICS:
            raise ExportError(f"`metric` was {self.metric!r}; expected one of {list(S.METRICS)}")
        if self.breaks_from not in view.BREAK_SOURCES:
            raise ExportError(
                f"`breaks_from` was {self.breaks_from!r}; "
                f"expected one of {list(view.BREAK_SOURCES)}"
            )
        if self.lang not in ("zh", "en"):
            raise ExportError(f"`lang` was {self.lang!r}; expected 'zh' or 'en'")
        if self.scheme not in classify.SCHEMES:
            raise ExportError(
                f"`scheme` was {self.scheme!r}; expected one of {list(classify.SCHEMES)}"
            )
        region_level = S.level_of(self.region)
        if self.level is not None and (
            self.level not in S.LEVELS or S.LEVELS.index(self.level) <= S.LEVELS.index(region_level)
        ):
            below = list(S.LEVELS[S.LEVELS.index(region_level) + 1 :])
            raise ExportError(
                f"`level` was {self.level!r}; for region {self.region} ({region_level}) "
                f"expected one of {below}"
            )

    @property
    def region_level(self) -> str:
        """Level of the region (province … village)."""
        return S.level_of(self.region)

    @property
    def unit_level(self) -> str:
        """Level of the coloured units (a village view shows the village itself)."""
        return view.unit_level(self.region, zone=self.zone, level=self.level)


# --------------------------------------------------------------------------------------
# what an export reads from the store, once
# --------------------------------------------------------------------------------------
class Snapshot(NamedTuple):
    """The store tables an export needs, read once (a pack draws many pages from one)."""

    path: Path
    admin_units: gpd.GeoDataFrame
    region_summary: pd.DataFrame
    roadmap_years: pd.DataFrame
    zone_members: pd.DataFrame
    build_info: dict[str, str]
    projects: gpd.GeoDataFrame | None  # the store's projects as they are (tables, layers)
    prepared: pd.DataFrame | None  # ``metrics.prepare_projects`` of them (filters, queries)


def read_snapshot(
    path: str | os.PathLike[str] | None = None,
    *,
    levels: Sequence[str] = ("province", "prefecture", "county"),
    with_projects: bool = False,
    zone_members: pd.DataFrame | None = None,
    within: str | None = None,
) -> Snapshot:
    """Read admin units of ``levels``, summaries, build info (and projects) from the store.

    Parameters
    ----------
    path
        The store (default: ``$ONEMAP_STORE``, else ``data/onemap.gpkg``).
    levels
        Admin levels to read (``levels_for(request)`` names those a map needs).
    with_projects
        Also read the projects (project filters, tables and layers need them).
    zone_members
        Zone members (columns ``zone, code``); default: ``data/zones.toml`` resolved against
        the store's counties.
    within
        A region code: townships and villages are read only inside it; the levels down to
        county are always read whole (context and locator maps use them).

    Returns
    -------
    Snapshot
        The tables an export draws from.
    """
    p = store_path(path)
    bad = [lv for lv in levels if lv not in S.LEVELS]
    if bad:
        raise ExportError(f"`levels` has {bad}; expected levels among {list(S.LEVELS)}")
    units = _read_levels(p, levels, within)
    summary = store.read_layer(p, S.TABLE_REGION_SUMMARY)
    try:
        years = store.read_layer(p, S.TABLE_ROADMAP_YEARS)
    except StoreError:
        years = pd.DataFrame(columns=[S.CODE, S.YEAR, S.VILLAGES_PLANNED_EXIT])
    info = store.read_build_info(p)
    if zone_members is None:
        counties = (
            units
            if "county" in levels
            else store.read_layer(
                p, S.LAYER_ADMIN_UNITS, filters={S.LEVEL: ["county", "prefecture"]}
            )
        )
        zone_members = _zone_members(counties)
    projects = prepared = None
    if with_projects:
        projects = store.read_layer(p, S.LAYER_PROJECTS)
        prepared = M.prepare_projects(projects)
    return Snapshot(p, units, summary, years, zone_members, info, projects, prepared)


def _read_levels(path: Any, levels: Sequence[str], within: str | None) -> pd.DataFrame:
    """The admin units of ``levels``; townships/villages only inside ``within``."""
    top = [lv for lv in levels if S.LEVELS.index(lv) <= S.LEVELS.index("county")]
    deep = [lv for lv in levels if lv not in top]
    parts = [store.read_layer(path, S.LAYER_ADMIN_UNITS, filters={S.LEVEL: top})] if top else []
    if deep:
        flt: dict[str, Any] = {S.LEVEL: deep}
        if within is not None:
            code = S.pad_code(within)
            flt[S.CODE] = store.Prefix(code[: S.LEVEL_DIGITS[S.level_of(code)]])
        parts.append(store.read_layer(path, S.LAYER_ADMIN_UNITS, filters=flt))
    if len(parts) == 1:
        return parts[0]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def _zone_members(units: pd.DataFrame) -> pd.DataFrame:
    """Zone members of ``data/zones.toml``; zones whose members the store lacks are left out
    (a small or partial province), as the dashboard does."""
    parts = [pd.DataFrame({S.ZONE: pd.Series([], dtype="str"), S.CODE: pd.Series([], dtype="str")})]
    for name, zone in zones.load_zones().items():
        try:
            parts.append(zones.zone_members({name: zone}, units))
        except OneMapError:
            continue
    return pd.concat(parts, ignore_index=True)


def scope_for(request: MapRequest) -> str | None:
    """The region whose townships/villages ``request`` needs (``read_snapshot(within=...)``).

    A prefecture or county view needs only its own; a township or village view also draws its
    siblings (the parent's units) as context.
    """
    rl = request.region_level
    if rl == "province":
        return None
    if rl in ("prefecture", "county"):
        return request.region
    return S.parent_of(request.region)


def levels_for(request: MapRequest) -> tuple[str, ...]:
    """Admin levels ``read_snapshot`` must read to draw ``request`` (map, context, locator)."""
    need = {"province", "prefecture", "county", request.region_level, request.unit_level}
    return tuple(lv for lv in S.LEVELS if lv in need)


# --------------------------------------------------------------------------------------
# the numbers of a view: ``layers.present.view``, the same functions the overview page calls
# --------------------------------------------------------------------------------------
def view_rows(snap: Snapshot, request: MapRequest) -> pd.DataFrame:
    """Summary rows of the map's units under the filters (zone counties when a zone is set).

    Parameters
    ----------
    snap
        The store snapshot (with projects when the request filters projects).
    request
        The view.

    Returns
    -------
    pandas.DataFrame
        One ``region_summary`` row per unit of the view, recomputed under the filters.
    """
    if snap.prepared is None and not request.flt.is_empty:
        raise ExportError(
            "the request has project filters but the snapshot holds no projects; "
            "read it with `read_snapshot(..., with_projects=True)`"
        )
    try:
        return view.view_rows(
            snap.region_summary,
            snap.prepared,
            request.region,
            request.flt,
            zone=request.zone,
            zone_members=snap.zone_members,
            level=request.level,
        )
    except ExportError:
        raise
    except OneMapError as e:
        raise ExportError(str(e)) from e


def _break_values(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> pd.Series:
    """The values classes are computed from (``view.break_values`` with the request's source)."""
    return view.break_values(
        snap.region_summary,
        rows,
        request.metric,
        level=request.unit_level,
        source=request.breaks_from,
    )


def view_breaks(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> np.ndarray | None:
    """Class breaks: given, else from the values ``request.breaks_from`` names.

    Parameters
    ----------
    snap
        The store snapshot.
    request
        The view (its ``breaks``, ``breaks_from``, ``scheme`` and ``k``).
    rows
        ``view_rows(snap, request)``.

    Returns
    -------
    numpy.ndarray or None
        Upper bounds of the classes; None when no unit has a value.
    """
    if request.breaks is not None:
        return np.asarray(request.breaks, dtype=float)
    values = _break_values(snap, request, rows)
    return view.class_breaks(values, k=request.k, scheme=request.scheme)


def view_lower(snap: Snapshot, request: MapRequest, rows: pd.DataFrame) -> float | None:
    """Where the first legend class starts: the lowest value the breaks come from.

    Parameters
    ----------
    snap
        The store snapshot.
    request
        The view.
    rows
        ``view_rows(snap, request)``.

    Returns
    -------
    float or None
        The legend's lower bound (as the dashboard legend has it); None with given breaks.
    """
    if request.breaks is not None:
        return None
    return view.legend_lower(_break_values(snap, request, rows))


def view_projects(snap: Snapshot, request: MapRequest) -> pd.DataFrame:
    """The store's project rows inside the region that pass the filters.

    Parameters
    ----------
    snap
        A snapshot read ``with_projects=True``.
    request
        The view (its region and project filter).

    Returns
    -------
    pandas.DataFrame
        Rows of ``snap.projects`` (a GeoDataFrame when the store's projects are one).
    """
    if snap.projects is None or snap.prepared is None:
        raise ExportError("project exports need `read_snapshot(..., with_projects=True)`")
    keep = request.flt.mask(snap.prepared)
    if request.region_level != "province":
        key = M.project_key(snap.prepared, request.region_level)
        keep &= (key == request.region).fillna(False).to_numpy(dtype=bool)
    return snap.projects[keep]


# --------------------------------------------------------------------------------------
# the words of a view: names, dates, small print
# --------------------------------------------------------------------------------------
def unit_name(snap: Snapshot, code: str) -> str:
    """Name of a unit (from the summary, which holds every level).

    Parameters
    ----------
    snap
        The store snapshot.
    code
        A 12-digit region code.

    Returns
    -------
    str
        The unit's name; ``ExportError`` when the store lacks it.
    """
    rs = snap.region_summary
    hit = rs.loc[rs[S.CODE] == code, S.NAME]
    if hit.empty:
        raise ExportError(
            f"region {code} is not in the store {snap.path}; pick a code listed by "
            "`onemap summary` (e.g. 530000000000 for the province)"
        )
    return str(hit.iloc[0])


def year_span(snap: Snapshot, request: MapRequest) -> str:
    """The plan years a view covers, as ``2014–2020``: the filter's, else the campaign's plan
    years (the dashboard's year slider unfiltered), widened to the projects' plan years when
    the snapshot holds projects planned outside them.

    Parameters
    ----------
    snap
        The store snapshot.
    request
        The view.

    Returns
    -------
    str
        One year, or the first and last joined by an en dash.
    """
    a, b = CAMPAIGN_YEARS
    if request.flt.years:
        a, b = request.flt.years
    elif snap.projects is not None and len(snap.projects):
        years = pd.to_numeric(snap.projects[S.PLAN_YEAR], errors="coerce").dropna()
        if len(years):
            a, b = min(a, int(years.min())), max(b, int(years.max()))
    return f"{a}" if a == b else f"{a}–{b}"


def zone_name(zone: str, lang: str) -> str:
    """A zone's name in ``lang`` (English from ``data/zones.toml``; else as stored).

    Parameters
    ----------
    zone
        The zone's Chinese name (the store's key).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The name to print.
    """
    if lang != "en":
        return zone
    try:
        names = {name: z.name_en for name, z in zones.load_zones().items()}
    except OneMapError:
        return zone
    return i18n.zone_label(zone, names, lang)


def is_demo(snap: Snapshot) -> bool:
    """True when the store is the generated demo (its maps carry the demo mark)."""
    return snap.build_info.get("demo", "").lower() == "true"


# --------------------------------------------------------------------------------------
# files: formats and names
# --------------------------------------------------------------------------------------
def format_of(out: str | os.PathLike[str], fmt: str | None, allowed: Sequence[str]) -> str:
    """The file format to write: ``fmt``, else the suffix of ``out``; one of ``allowed``.

    Parameters
    ----------
    out
        The output path (its suffix is the format when ``fmt`` is None).
    fmt
        The format asked for (``--format``), or None.
    allowed
        The formats the writer knows.

    Returns
    -------
    str
        The format, lower case; ``ExportError`` naming the choices when it is not allowed.
    """
    f = (fmt or Path(out).suffix.lstrip(".")).lower()
    if f not in allowed:
        raise ExportError(
            f"format {f!r} (from {'--format' if fmt else 'the file name ' + str(out)}) "
            f"is not one of {list(allowed)}; pass --format or use a matching suffix"
        )
    return f


_UNSAFE = re.compile(r"[\\/:*?\"<>|\s]+")


def default_filename(
    code: str,
    name: str,
    metric: str,
    ext: str,
    *,
    kind: str = "map",
    day: dt.date | None = None,
) -> str:
    """Predictable file name ``{code}_{name}_{metric}_{kind}_{YYYYMMDD}.{ext}``.

    Parameters
    ----------
    code
        The region code.
    name
        The region name (characters a file system refuses become ``-``).
    metric
        The metric shown.
    ext
        The file extension (with or without the dot).
    kind
        What the file holds: ``map``, ``pack-county``, ``table-summary`` …
    day
        The date in the name (default: today, UTC).

    Returns
    -------
    str
        The file name.

    Examples
    --------
    >>> default_filename("533300000000", "怒江傈僳族自治州", "completion", "png",
    ...                  day=dt.date(2026, 1, 2))
    '533300000000_怒江傈僳族自治州_completion_map_20260102.png'
    """
    day = day or dt.datetime.now(dt.UTC).date()
    safe = _UNSAFE.sub("-", name).strip("-") or "region"
    return f"{code}_{safe}_{metric}_{kind}_{day:%Y%m%d}.{ext.lstrip('.')}"
