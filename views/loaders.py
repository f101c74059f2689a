"""Cached readers of the store for the pages, keyed on the store path and its version.

``load_table(name)`` / ``load_admin_units()`` / ``load_projects()`` ... read store tables once per
store version (a rebuilt store reloads); the frames are shared: copy before changing them.
Caching lives here (``geo/`` and ``layers/`` never import streamlit).

The version is the GeoPackage's modification time, or a PostGIS store's head revision (asked at
most once a second per process), so a write by any process shows in every process. On a PostGIS
store the reads run under the session's region (row-level security, :func:`read_scope`), which
is part of every cache key, and :func:`unit_projects` asks the database for one unit's filtered
projects instead of filtering every project in memory; :func:`count_source` gives the overview
and zones pages counts summed by the database (``layers.storeagg``), never the projects, so a
dashboard process on PostGIS does not hold the projects at all.

One script run sees one revision: ``pin_revision`` (called by ``app.py`` before the sidebar)
records the store's version (its modification time) for the session's run and keeps that version
readable under a hard link next to the store (``.NAME.read-PID-INODE.gpkg``). Every loader is
keyed by the pinned version and a cache miss reads the link: a write renames a new file over the
store, so runs that started before it keep reading the old revision whole. The last few versions
stay linked; links of processes that are gone are removed. Without a pin (a page opened on its
own in a test, or a store folder that cannot be written) loaders read the store as it is.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from layers import access, pgstore, settings, store, storeagg
from layers import schema as S
from layers.build import metrics
from layers.build import zones as zones_mod
from layers.errors import OneMapError
from layers.present import i18n, query
from views import state

__all__ = [
    "build_info",
    "count_source",
    "filtered_projects",
    "is_demo",
    "load_admin_units",
    "load_projects",
    "load_region_summary",
    "load_table",
    "pin_revision",
    "pinned_source",
    "prepared_projects",
    "read_scope",
    "store_file",
    "store_mtime",
    "unit_name",
    "unit_projects",
    "units_by_code",
    "units_index",
    "units_of_level",
    "warm_up",
    "zone_members",
    "zone_names",
    "zone_names_en",
]

PathLike = str | os.PathLike[str] | None


def store_file() -> Path:
    """The store path: ``$ONEMAP_STORE``, else ``data/onemap.gpkg``."""
    return settings.store_path()


#: seconds a PostGIS store's version is reused before it is asked again
VERSION_TTL_S = 1.0
_versions: dict[str, tuple[float, float]] = {}


def _pg_version(url: str) -> float:
    now = time.monotonic()
    hit = _versions.get(url)
    if hit is not None and now - hit[0] < VERSION_TTL_S:
        return hit[1]
    value = store.store_mtime(url)
    _versions[url] = (now, value)
    return value


#: session-state key of the run's pinned store version: ``(path, mtime)``
_PIN = "_onemap_pinned_store"
#: pinned versions: (path, mtime) → hard link to that version, oldest first
_LINKS: OrderedDict[tuple[str, float], Path] = OrderedDict()
_LINKS_LOCK = threading.Lock()
#: how many versions stay linked (each keeps a replaced store's disk space until unlinked)
KEEP_LINKED = 4


def _link_prefix(path: Path) -> str:
    return f".{path.name}.read-"


def _remove_dead_links(path: Path) -> None:
    """Remove read links left by processes that are gone."""
    for link in path.parent.glob(_link_prefix(path) + "*"):
        pid = link.name[len(_link_prefix(path)) :].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not store.writer_alive(int(pid)):
            with contextlib.suppress(OSError):
                link.unlink()


def _link_version(path: Path) -> tuple[float, Path] | None:
    """A hard link to the store's current file and that file's mtime (None: not possible)."""
    for _attempt in range(3):
        try:
            st_now = path.stat()
        except OSError:
            return None
        # ends in the store's suffix: GDAL warns of a GeoPackage "with a non conformant file
        # extension" on every read otherwise
        link = path.with_name(f"{_link_prefix(path)}{os.getpid()}-{st_now.st_ino}{path.suffix}")
        try:
            if not link.exists():
                os.link(path, link)
            linked = link.stat()
        except OSError:
            return None
        if linked.st_ino == st_now.st_ino and linked.st_mtime == st_now.st_mtime:
            return st_now.st_mtime, link
        with contextlib.suppress(OSError):  # a write renamed a new store in between: again
            link.unlink()
    return None


def pin_revision(path: PathLike = None) -> float:
    """Pin the store's current version for this script run (call once at its top).

    Parameters
    ----------
    path
        The store (default: ``store_file()``).

    Returns
    -------
    float
        The pinned version's modification time (-1 when the store cannot be pinned: the run
        then reads the store as it is).
    """
    p = settings.store_path(path)
    st.session_state.pop(_PIN, None)
    if store.is_url(p):  # a PostGIS store: one transaction per write, versions by revision
        return store_mtime(p)
    found = _link_version(Path(p))
    if found is None:
        return -1.0
    key = (str(p), found[0])
    with _LINKS_LOCK:
        if key not in _LINKS:
            _remove_dead_links(Path(p))
        _LINKS[key] = found[1]
        _LINKS.move_to_end(key)
        while len(_LINKS) > KEEP_LINKED:
            _, old = _LINKS.popitem(last=False)
            if old not in _LINKS.values():
                with contextlib.suppress(OSError):
                    old.unlink()
    st.session_state[_PIN] = key
    return key[1]


def pinned_source(path: str, mtime: float) -> str:
    """Where to read version ``mtime`` of the store at ``path``: its link when pinned, else
    the path itself.

    Parameters
    ----------
    path
        The store path.
    mtime
        The version (its modification time, as ``store_mtime`` returns it).

    Returns
    -------
    str
    """
    with _LINKS_LOCK:
        link = _LINKS.get((path, mtime))
    return str(link) if link is not None and link.exists() else path


def store_mtime(path: Path | str) -> float:
    """The store's version (-1 when it does not exist): a cache key.

    The modification time of a GeoPackage; a PostGIS store's head revision.
    """
    if store.is_url(path):
        return _pg_version(str(path))
    pinned = st.session_state.get(_PIN)
    if pinned is not None and pinned[0] == str(path):  # this run's version (pin_revision)
        return float(pinned[1])
    try:
        return Path(path).stat().st_mtime
    except FileNotFoundError:
        return -1.0


def _key(path: Path | str) -> tuple[str, float]:
    """The cache key of a store: its text (with the session's region for PostGIS) and version."""
    if store.is_url(path):
        return f"{path}#{pgstore.current_region()}", store_mtime(path)
    return str(path), store_mtime(path)


def _path(key: str, mtime: float | None = None) -> str:
    """The store of a cache key (without the region); with ``mtime``, where to read that
    version of a GeoPackage (``pinned_source``)."""
    path = key.split("#", 1)[0]
    if mtime is None or store.is_url(path):
        return path
    return pinned_source(path, mtime)


@contextlib.contextmanager
def read_scope(scope: access.Scope) -> Iterator[None]:
    """Run the ``with`` block's reads of a PostGIS store under ``scope``'s region (row-level
    security in the database: the rows of other regions are not even sent)."""
    digits = None if scope.everything else S.LEVEL_DIGITS[scope.level]
    with pgstore.use_region(pgstore.region_of_scope(scope.region, digits)):
        yield


@st.cache_resource(show_spinner=False, max_entries=32)
def _cached_table(path: str, name: str, mtime: float) -> pd.DataFrame:
    # cache_resource: no pickling copy per call (192,000 projects); callers must not mutate
    return store.read_layer(_path(path, mtime), name)


def load_table(name: str, path: PathLike = None) -> pd.DataFrame:
    """A store table or layer (shared, read-only: copy before changing it)."""
    key, version = _key(settings.store_path(path))
    return _cached_table(key, name, version)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_units_where(
    path: str, mtime: float, column: str, values: tuple[str, ...]
) -> pd.DataFrame:
    return store.read_layer(_path(path, mtime), S.LAYER_ADMIN_UNITS, filters={column: list(values)})


def units_by_code(codes: Sequence[str], path: PathLike = None) -> pd.DataFrame:
    """``admin_units`` rows (with geometry) of the given 12-digit codes only."""
    clean = sorted({S.pad_code(c) for c in codes})
    if not clean:
        return load_admin_units(path).iloc[:0]
    return _cached_units_where(*_key(settings.store_path(path)), S.CODE, tuple(clean))


def units_of_level(level: str, path: PathLike = None) -> pd.DataFrame:
    """``admin_units`` rows (with geometry) of one level (avoid for villages: 14,000 rows)."""
    if level not in S.LEVELS:
        raise ValueError(f"`level` was {level!r} but must be one of {S.LEVELS}")
    return _cached_units_where(*_key(settings.store_path(path)), S.LEVEL, (level,))


def load_admin_units(path: PathLike = None) -> pd.DataFrame:
    """``admin_units`` (GeoDataFrame, all levels)."""
    return load_table(S.LAYER_ADMIN_UNITS, path)


def load_projects(path: PathLike = None) -> pd.DataFrame:
    """``projects`` (GeoDataFrame of points; 192,000 rows at full scale)."""
    return load_table(S.LAYER_PROJECTS, path)


def load_region_summary(path: PathLike = None) -> pd.DataFrame:
    """``region_summary`` (every unit with counts and rates)."""
    return load_table(S.TABLE_REGION_SUMMARY, path)


@st.cache_data(show_spinner=False)
def _cached_units_index(path: str, mtime: float) -> pd.DataFrame:
    cols = [S.CODE, S.NAME, S.LEVEL, S.PARENT_CODE]
    # attributes only: reading every village polygon for the selectors costs ~0.4 s
    units = store.read_layer(_path(path, mtime), S.LAYER_ADMIN_UNITS, columns=cols, geometry=False)
    for c in cols:
        units[c] = units[c].astype("str")
    return pd.DataFrame(units[cols]).sort_values(S.CODE).reset_index(drop=True)


def units_index(path: PathLike = None) -> pd.DataFrame:
    """Codes, names, levels and parents of every unit (no geometry): for selectors."""
    return _cached_units_index(*_key(settings.store_path(path)))


@st.cache_data(show_spinner=False)
def _cached_build_info(path: str, mtime: float) -> dict[str, str]:
    try:
        df = store.read_layer(_path(path, mtime), S.TABLE_BUILD_INFO)
    except Exception:  # a store without build_info is treated as real data
        return {}
    return dict(zip(df["key"].astype(str), df["value"].astype(str), strict=False))


def build_info(path: PathLike = None) -> dict[str, str]:
    """The store's ``build_info`` as a dict (empty if the table is missing)."""
    return _cached_build_info(*_key(settings.store_path(path)))


def is_demo() -> bool:
    """True when the store holds generated demo data."""
    return build_info().get("demo", "").lower() == "true"


def unit_name(code: str, lang: str | None = None) -> str:
    """Name of a unit by its code (the province label for the province)."""
    if code == S.PROVINCE_CODE:
        return i18n.t("province", lang or state.current_lang())
    idx = units_index()
    hit = idx.loc[idx[S.CODE] == code, S.NAME]
    return str(hit.iloc[0]) if len(hit) else code


def zone_names_en() -> dict[str, str]:
    """Zone name → its English name (``data/zones.toml``); empty when the file is unusable."""
    try:
        return {name: z.name_en for name, z in zones_mod.load_zones().items()}
    except OneMapError:
        return {}


def zone_names() -> list[str]:
    """Zone names from ``zone_summary`` (else from ``layers.build.zones``)."""
    try:
        zs = load_table(S.TABLE_ZONE_SUMMARY)
        return [str(z) for z in zs[S.ZONE].tolist()]
    except Exception:
        try:
            return list(zones_mod.load_zones())
        except Exception:
            return []


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_prepared(path: str, mtime: float) -> pd.DataFrame:
    return metrics.prepare_projects(_cached_table(path, S.LAYER_PROJECTS, mtime))


def prepared_projects(path: PathLike = None) -> pd.DataFrame:
    """Projects prepared once by ``layers.build.metrics.prepare_projects`` (for queries)."""
    return _cached_prepared(*_key(settings.store_path(path)))


_WARM_LOCK = threading.Lock()
_warmed: set[tuple[str, float]] = set()


def warm_up() -> None:
    """Load the projects in a background thread once per store version, so the first filter
    change does not pay for reading them (call after the first view is drawn)."""
    p = store_file()
    if store.is_url(p):  # a PostGIS store: pages ask for their own projects (unit_projects)
        return
    key = _key(p)
    with _WARM_LOCK:
        if key in _warmed or key[1] < 0:
            return
        _warmed.add(key)
    threading.Thread(target=_cached_prepared, args=key, name="onemap-warm-up", daemon=True).start()


@st.cache_data(show_spinner=False)
def _cached_zone_members(path: str, mtime: float) -> pd.DataFrame:
    units = _cached_units_index(path, mtime)  # codes, levels and parents suffice
    zones = zones_mod.load_zones()
    try:
        return zones_mod.zone_members(zones, units)
    except OneMapError:
        # a store whose units lack some members (a small or partial province): keep the
        # zones that it holds entirely
        parts = []
        for name, zone in zones.items():
            try:
                parts.append(zones_mod.zone_members({name: zone}, units))
            except OneMapError:
                continue
        if not parts:
            return pd.DataFrame({S.ZONE: [], S.CODE: []}, dtype="str")
        return pd.concat(parts, ignore_index=True)


def zone_members(path: PathLike = None) -> pd.DataFrame:
    """County codes of each action-plan zone (``zone, code``), empty if zones are unknown."""
    return _cached_zone_members(*_key(settings.store_path(path)))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_counts(
    path: str, mtime: float, level: str, region: str | None, flt: query.ProjectFilter
) -> pd.DataFrame:
    filters = flt.store_filters()
    return storeagg.project_counts(_path(path, mtime), level, region=region, filters=filters)


def count_source(flt: query.ProjectFilter, path: PathLike = None) -> query.Projects | None:
    """What the overview and zones pages recount the projects from under ``flt``.

    None without a filter (the stored counts hold); on a PostGIS store a ``query.StoreCounts``
    whose counts the database sums (a GROUP BY under the session's region, a few hundred rows,
    cached per store version, region, level and filter); on a GeoPackage the prepared projects
    (one groupby in memory per filter change).

    Parameters
    ----------
    flt
        The view's project filter.
    path
        The store (default: ``$ONEMAP_STORE``).

    Returns
    -------
    query.Projects or None
    """
    if flt.is_empty:
        return None
    p = settings.store_path(path)
    if not store.is_url(p):
        return prepared_projects(path)
    key, version = _key(p)
    region = pgstore.current_region()

    def count(level: str, unit: str | None, f: query.ProjectFilter) -> pd.DataFrame:
        return _cached_counts(key, version, level, unit, f)

    return query.StoreCounts(count, "" if region == pgstore.ALL_REGIONS else region)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_unit_projects(
    path: str, mtime: float, column: str, code: str, flt: query.ProjectFilter
) -> pd.DataFrame:
    filters = {column: code, **flt.store_filters()}
    return store.read_layer(_path(path, mtime), S.LAYER_PROJECTS, filters=filters)


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached_filtered(
    path: str, mtime: float, flt: query.ProjectFilter
) -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = store.read_layer(_path(path, mtime), S.LAYER_PROJECTS, filters=flt.store_filters())
    return projects, metrics.prepare_projects(projects)


def filtered_projects(
    flt: query.ProjectFilter, path: PathLike = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The projects that pass ``flt`` and their prepared form (shared, read-only).

    On a PostGIS store the database applies the filter; on a GeoPackage every project is kept
    (callers mask with the filter, as before).

    Parameters
    ----------
    flt
        The view's project filter.
    path
        The store (default: ``$ONEMAP_STORE``).

    Returns
    -------
    tuple
        ``(projects, prepared)``.
    """
    p = settings.store_path(path)
    if store.is_url(p) and not flt.is_empty:
        return _cached_filtered(*_key(p), flt)
    return load_projects(path), prepared_projects(path)


def unit_projects(
    column: str, code: str, flt: query.ProjectFilter | None = None, path: PathLike = None
) -> pd.DataFrame:
    """The projects whose ``column`` (county, township or village code) is ``code``, filtered.

    On a PostGIS store the database selects them (by index; the filter's sectors, years,
    statuses and fund sources as bound parameters); on a GeoPackage they are picked from the
    cached projects. Shared and read-only: copy before changing.

    Parameters
    ----------
    column
        ``county_code``, ``township_code`` or ``village_code``.
    code
        The unit's 12-digit code.
    flt
        The view's project filter (None: every project).
    path
        The store (default: ``$ONEMAP_STORE``).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    flt = flt or query.NO_FILTER
    p = settings.store_path(path)
    if store.is_url(p):
        return _cached_unit_projects(*_key(p), column, code, flt)
    projects = load_projects(path)
    mine = projects[projects[column].eq(code).fillna(False).to_numpy(dtype=bool)]
    return query.filter_projects(mine, flt)
