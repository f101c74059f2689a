"""Read and write the OneMap store: one GeoPackage with the inputs, the layers and build_info.

A build writes every table to a temporary GeoPackage in the store's directory, reopens it to check
each layer, and only then renames it over the old store (``os.replace``), so a failed or
interrupted build leaves the last good store untouched. The temporary file's name carries the
writer's process id (``.STEM.tmp-PID-XXXX.gpkg``): a writer killed mid-write leaves it behind, and
the next write removes leftovers whose writer is gone (or that are older than a day). Column
dtypes that GeoPackage cannot express (nullable ``Int64``/``boolean``, datetime resolution) are
recorded in each layer's metadata and restored on read: 12-digit codes stay strings, ``Int64``
stays ``Int64``, dates stay dates and bools stay bools.

A store may also be a PostGIS database: every function here takes ``postgresql://…`` URLs too
and dispatches to :mod:`layers.pgstore` (same tables, same dtypes on read). Filters given as
``filters={column: value}`` (a value, a list of values, :class:`Prefix` or :class:`Between`) are
evaluated by the database (GDAL's SQL for a GeoPackage, bound parameters for PostGIS).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers import pgstore, pgwrite, schema
from layers.errors import StoreError
from layers.settings import STORAGE_CRS
from layers.storefile import (
    STALE_TEMP_AGE_S,
    gpkg_layer_metadata,
    gpkg_layers,
    leftover_temp_stores,
    read_frame,
    read_small_table,
    replace_file,
    table_rows,
    writer_alive,
)
from layers.storefilter import Between, Prefix, conditions, gdal_where
from layers.storehash import table_sha256, table_sha256_by

#: layer-metadata key holding the JSON ``{column: dtype}`` written by :func:`write_store`
DTYPES_KEY = "onemap_dtypes"
#: the ledger as ingested, in full, when the located ``projects`` do not align with it row by row
TABLE_PROJECTS_INPUT = "projects_input"
#: ledger rows as ingested where the pipeline changed a code (``_input_row`` = position)
TABLE_PROJECTS_INPUT_CHANGES = "projects_input_changes"
INPUT_ROW = "_input_row"
#: the index a GeoPackage store keeps on the projects' county codes (an import finds its rows by
#: it), on the expression :data:`PROJECTS_COUNTY_KEY`: only queries naming that expression use
#: it, so reads filtered on ``county_code`` itself keep returning rows in ledger (fid) order
PROJECTS_COUNTY_INDEX = "projects_county_code"
PROJECTS_COUNTY_KEY = f'substr("{schema.COUNTY_CODE}", 1, 12)'
#: how to create a store, quoted in every "store missing" message
CREATE_HINT = "create it with `onemap demo` (generated demo province) or `onemap import`"

__all__ = [
    "PROJECTS_COUNTY_INDEX",
    "PROJECTS_COUNTY_KEY",
    "STALE_TEMP_AGE_S",
    "Between",
    "Inputs",
    "Prefix",
    "beside",
    "exists",
    "is_url",
    "ledger_tables",
    "leftover_temp_stores",
    "list_layers",
    "read_build_info",
    "read_inputs",
    "read_layer",
    "read_rows",
    "read_small_table",
    "replace_file",
    "shown",
    "store_mtime",
    "table_for_store",
    "table_rows",
    "table_sha256",
    "table_sha256_by",
    "write_store",
    "write_tables",
    "writer_alive",
]


def is_url(path: object) -> bool:
    """True when ``path`` names a PostGIS store (``postgresql://…``) rather than a file."""
    return pgstore.is_url(path)


def shown(path: str | os.PathLike[str]) -> str:
    """The store as shown in messages (a URL without its password, or the file path)."""
    return pgstore.parse(str(path)).shown if is_url(path) else str(path)


def exists(path: str | os.PathLike[str]) -> bool:
    """True when there is a store at ``path`` (a file, or a schema holding ``build_info``)."""
    return pgstore.exists(str(path)) if is_url(path) else Path(path).is_file()


def beside(path: str | os.PathLike[str], suffix: str) -> Path:
    """A local file or folder that belongs to the store: ``<store>SUFFIX`` next to a GeoPackage,
    ``<state dir>/store SUFFIX`` for PostGIS (``pgstore.state_dir``). ``suffix`` starting with
    ``/`` names a file in the same folder instead (e.g. ``/onemap-users.sqlite``).

    Parameters
    ----------
    path
        The store.
    suffix
        ``.history``, ``.lock``… appended to the store's name, or ``/NAME`` for a sibling file.

    Returns
    -------
    pathlib.Path
    """
    if is_url(path):
        base = pgstore.state_dir(str(path))
        return base / suffix[1:] if suffix.startswith("/") else base / f"store{suffix}"
    p = Path(path)
    return p.with_name(suffix[1:]) if suffix.startswith("/") else p.with_name(p.name + suffix)


class Inputs(NamedTuple):
    """The three input tables a build starts from (DESIGN §3)."""

    admin_units: gpd.GeoDataFrame
    registry: pd.DataFrame
    projects: gpd.GeoDataFrame


# --- writing ------------------------------------------------------------------------------------


def _dtype_record(df: pd.DataFrame) -> dict[str, str]:
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    return {str(c): str(t) for c, t in df.dtypes.items() if c != geom}


def _prepare(name: str, table: Any) -> pd.DataFrame:
    """Validate one table and return it ready to write (geometry in the storage CRS)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise StoreError(
            f"store table name {name!r} is not a plain identifier; use e.g. 'village_plan'"
        )
    if not isinstance(table, pd.DataFrame):
        raise StoreError(
            f"store table {name!r} is a {type(table).__name__}, expected a (Geo)DataFrame; "
            "pass the builder's result unchanged"
        )
    if name == schema.TABLE_BUILD_INFO:
        raise StoreError(
            f"table {name!r} is written from the build_info argument; remove it from tables"
        )
    dupes = table.columns[table.columns.duplicated()].tolist()
    if dupes:
        raise StoreError(f"store table {name!r} has duplicate columns {dupes}; rename or drop them")
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns:
        if table.crs is None:
            raise StoreError(
                f"store layer {name!r} has no CRS; set it (gdf.set_crs(...)) before writing — "
                f"the store keeps {STORAGE_CRS}"
            )
        if not table.crs.equals(STORAGE_CRS):
            table = table.to_crs(STORAGE_CRS)
        return table
    # a plain DataFrame (or a GeoDataFrame without an active geometry): attribute table
    return pd.DataFrame(table)


def _geometry_type(gdf: gpd.GeoDataFrame) -> str | None:
    """Declared geometry type: promote mixed single/multi, name the type for empty layers."""
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types:
        return "Unknown"
    if len(types) == 1:
        return None  # let pyogrio infer
    bases = {t.removeprefix("Multi") for t in types}
    return f"Multi{bases.pop()}" if len(bases) == 1 else "Unknown"


def _write_table(path: Path, name: str, table: pd.DataFrame) -> None:
    metadata = {DTYPES_KEY: json.dumps(_dtype_record(table), ensure_ascii=False)}
    kwargs: dict[str, Any] = {"layer": name, "driver": "GPKG", "layer_metadata": metadata}
    if isinstance(table, gpd.GeoDataFrame):
        gtype = _geometry_type(table)
        if gtype is not None:
            kwargs["geometry_type"] = gtype
            kwargs["promote_to_multi"] = gtype.startswith("Multi")
    pyogrio.write_dataframe(table, path, use_arrow=True, **kwargs)


#: SQLite settings for writing the temporary file: no journal and no sync per transaction (5x
#: faster here); safe because the file is fsynced once and renamed only when complete.
_FAST_WRITE = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "OFF"}


@contextlib.contextmanager
def _gdal_options(options: Mapping[str, str]) -> Iterator[None]:
    previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


def _build_info_frame(build_info: Mapping[str, Any]) -> pd.DataFrame:
    def text(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, Mapping | list | tuple):
            return json.dumps(v, ensure_ascii=False, sort_keys=True)
        return str(v)

    keys = [str(k) for k in build_info]
    return pd.DataFrame(
        {"key": pd.array(keys, dtype="str"), "value": [text(v) for v in build_info.values()]}
    ).astype({"value": "str"})


def table_for_store(name: str, table: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """One table as :func:`write_store` writes it (validated, EPSG:4326) and its dtypes record.

    Parameters
    ----------
    name
        The table's name (``build_info``: ``table`` is the build record, a mapping).
    table
        The (Geo)DataFrame.

    Returns
    -------
    tuple
    """
    ready = _build_info_frame(table) if name == schema.TABLE_BUILD_INFO else _prepare(name, table)
    return ready, _dtype_record(ready)


def write_tables(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    build_info: Mapping[str, Any] | None = None,
    *,
    append: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, int]:
    """Write ``tables`` (and ``build_info``) into the GeoPackage at ``path``, each replacing the
    layer of its name, after appending the rows of ``append`` to their layers; the projects'
    county codes are indexed (:data:`PROJECTS_COUNTY_INDEX`).

    Parameters
    ----------
    path
        A GeoPackage, created if missing (a temporary file of :func:`replace_file`).
    tables
        Table name → table.
    build_info
        Key → value of the build record, or None to leave it.
    append
        Layer → rows added at its end (its columns and dtypes).

    Returns
    -------
    dict
        Table name → rows written (appends not counted).
    """
    added = {name: _prepare(name, t) for name, t in (append or {}).items() if len(t)}
    prepared = {name: _prepare(name, t) for name, t in tables.items()}
    if build_info is not None:
        prepared[schema.TABLE_BUILD_INFO] = _build_info_frame(build_info)
    current = ""
    try:
        with _gdal_options(_FAST_WRITE):
            for current, table in added.items():
                pyogrio.write_dataframe(
                    table, path, layer=current, driver="GPKG", append=True, use_arrow=True
                )
            for current, table in prepared.items():
                _write_table(path, current, table)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(f"layer {current!r}: {msg}") from e
    if schema.LAYER_PROJECTS in prepared:
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute(
                f'CREATE INDEX IF NOT EXISTS "{PROJECTS_COUNTY_INDEX}" '
                f'ON "{schema.LAYER_PROJECTS}" ({PROJECTS_COUNTY_KEY})'
            )
    return {n: len(t) for n, t in prepared.items()}


def write_store(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    build_info: Mapping[str, Any],
) -> Path:
    """Write ``tables`` and ``build_info`` to the GeoPackage at ``path``, atomically.

    GeoDataFrames become spatial layers (in EPSG:4326), DataFrames attribute tables; ``build_info``
    becomes the ``build_info`` key/value table. Everything goes to a temporary file in the same
    directory, which is reopened and checked before it replaces ``path``; on any failure the old
    store is left byte-identical and the temporary file is removed. Temporary stores left by
    killed writers are removed first (:func:`leftover_temp_stores`).

    Parameters
    ----------
    path
        The GeoPackage to write; missing parent folders are created.
    tables
        Table name → table.
    build_info
        Key → value of the build record; values are stored as text.

    Returns
    -------
    The store path.

    Raises
    ------
    StoreError
        A table is unusable (names the table and the fix) or the file cannot be written.
    """
    prepared = {name: _prepare(name, t) for name, t in tables.items()}
    if not is_url(path):
        return replace_file(Path(path), lambda tmp: write_tables(tmp, prepared, build_info))
    prepared[schema.TABLE_BUILD_INFO] = _build_info_frame(build_info)
    try:
        dtypes = {name: _dtype_record(t) for name, t in prepared.items()}
        pgwrite.write_tables(str(path), prepared, dtypes)
    except StoreError as e:
        raise StoreError(
            f"could not write store {shown(path)}: {e}; the previous store is unchanged"
        ) from e
    return path


# --- reading ------------------------------------------------------------------------------------


def _require_store(path: str | os.PathLike[str]) -> Path:
    if not exists(path):
        raise StoreError(f"no OneMap store at {shown(path)}; {CREATE_HINT}")
    return Path(path)


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Return the names of the layers and tables in the store at ``path``."""
    if is_url(path):
        _require_store(path)
        return pgstore.list_tables(str(path))
    path = _require_store(path)
    try:
        return gpkg_layers(path)
    except sqlite3.Error:  # not a GeoPackage SQLite can read: let GDAL say what it is
        pass
    try:
        return [str(n) for n, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as e:
        raise StoreError(
            f"store {path} is not a readable GeoPackage ({e}); rebuild it: {CREATE_HINT}"
        ) from e


def store_mtime(path: str | os.PathLike[str]) -> float:
    """A cache key that changes whenever the store is written: the file's modification time, or
    the head revision of a PostGIS store (-1 when there is no store)."""
    if is_url(path):
        return pgstore.version(str(path))
    return _require_store(path).stat().st_mtime


def _restore_dtypes(df: pd.DataFrame, recorded: Mapping[str, str]) -> pd.DataFrame:
    casts = {
        c: t
        for c, t in recorded.items()
        if c in df.columns and str(df[c].dtype) != t and t != "object"
    }
    for c, t in casts.items():
        # a column we cannot restore (e.g. an extension dtype of another library) stays as read
        with contextlib.suppress(TypeError, ValueError):
            df[c] = df[c].astype(t)
    return df


def _recorded_dtypes(
    path: Path, name: str, con: sqlite3.Connection | None = None
) -> dict[str, str]:
    """The dtypes recorded for layer ``name`` (through ``con`` when given: a writer's
    connection, whose transaction would block another one)."""
    try:
        meta = gpkg_layer_metadata(path if con is None else con, name)
    except (sqlite3.Error, ET.ParseError):  # no GDAL metadata tables: ask GDAL
        meta = pyogrio.read_info(path, layer=name).get("layer_metadata") or {}
    raw = meta.get(DTYPES_KEY)
    return json.loads(raw) if raw else {}


def read_layer(
    path: str | os.PathLike[str],
    name: str,
    *,
    columns: Iterable[str] | None = None,
    where: str | None = None,
    filters: Mapping[str, Any] | None = None,
    geometry: bool = True,
    window: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Read one layer or table of the store, with the dtypes it was written with.

    Parameters
    ----------
    path
        The store (see ``settings.store_path``): a GeoPackage or a ``postgresql://`` URL.
    name
        A layer name such as ``"village_plan"`` (constants in ``layers.schema``).
    columns
        Only these attribute columns (the geometry is read for spatial layers unless
        ``geometry`` is False).
    where
        GeoPackage only: an SQL ``WHERE`` clause evaluated by GDAL, e.g.
        ``"county_code = '533321000000'"``; prefer ``filters``, which work on both stores.
    filters
        ``{column: value}``, all of which must hold: a value (equal), a list of values (one of
        them), :class:`Prefix` (starts with) or :class:`Between` (inclusive range).
    geometry
        False: the attributes only, as a DataFrame.
    window
        PostGIS only: ``(first, n)``, rows ``first`` … ``first + n - 1`` in the table's order.

    Returns
    -------
    A GeoDataFrame for spatial layers, a DataFrame for attribute tables.
    """
    cols = None if columns is None else list(columns)
    conds = conditions(filters)
    if is_url(path):
        if where is not None:
            raise StoreError("a PostGIS store takes filters={column: value}, not a WHERE text")
        df, recorded = pgstore.read_table(
            str(path), name, columns=cols, conditions=conds, geometry=geometry, window=window
        )
        return _restore_dtypes(df, recorded)
    path = _require_store(path)
    small = None
    if cols is None and where is None and not conds:  # a small table: SQLite reads it faster
        with contextlib.suppress(sqlite3.Error):
            small = read_small_table(path, name)
    if small is not None:
        return _restore_dtypes(small, _recorded_dtypes(path, name))
    available = list_layers(path)
    if name not in available:
        raise StoreError(
            f"store {path} has no layer {name!r} (it has: {', '.join(available)}); "
            "rebuild it with `onemap build`"
        )
    recorded = _recorded_dtypes(path, name)
    asked = [*(cols or ()), *(c for c, _, _ in conds)]
    unknown = [c for c in asked if recorded and c not in recorded]
    if unknown:
        raise StoreError(
            f"layer {name!r} of {path} has no column(s) {unknown}; "
            f"columns are: {', '.join(recorded)}"
        )
    clauses = [c for c in (where and f"({where})", gdal_where(conds)) if c]
    try:
        df = pyogrio.read_dataframe(
            path,
            layer=name,
            columns=cols,
            where=" AND ".join(clauses) or None,
            read_geometry=geometry,
            use_arrow=True,
        )
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.FieldError,
        pyogrio.errors.DataLayerError,
        OSError,  # pyarrow reports a bad WHERE clause as OSError
    ) as e:
        detail = str(e).splitlines()[0]
        raise StoreError(f"cannot read layer {name!r} of {path}: {detail}") from e
    if not geometry:
        df = pd.DataFrame(df)
    return _restore_dtypes(df, recorded)


def read_rows(path: str | os.PathLike[str], name: str, where: str) -> pd.DataFrame:
    """:func:`read_layer` of a GeoPackage's rows that match ``where``, faster with datetime
    columns (``storefile.read_frame``); the same frame.

    Parameters
    ----------
    path
        The GeoPackage store.
    name
        The layer or table.
    where
        An SQL ``WHERE`` clause evaluated by GDAL (``"0 = 1"``: none, with the columns).

    Returns
    -------
    pandas.DataFrame
        A GeoDataFrame for spatial layers, with the dtypes the layer was written with.
    """
    path = _require_store(path)
    try:
        df = read_frame(path, name, where=where)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as e:
        raise StoreError(f"cannot read layer {name!r} of {path}: {str(e).splitlines()[0]}") from e
    return _restore_dtypes(df, _recorded_dtypes(path, name))


def read_build_info(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the store's ``build_info`` as a ``{key: value}`` dict of strings."""
    df = read_layer(path, schema.TABLE_BUILD_INFO)
    return dict(zip(df["key"].astype(str), df["value"].fillna("").astype(str), strict=True))


def ledger_tables(
    ledger: gpd.GeoDataFrame, located: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Store tables for the project ledger: the ``located`` projects plus what rebuilds need.

    The pipeline fills or drops codes while locating projects; to rebuild from the ledger as
    ingested, the rows whose codes it changed are kept as ``projects_input_changes`` (or the
    whole ``ledger`` as ``projects_input`` when rows were dropped or reordered).
    :func:`read_inputs` puts them back.

    Parameters
    ----------
    ledger
        The project ledger as ingested.
    located
        The projects after locating (codes filled, rows maybe dropped).

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Table name → table, ready for :func:`write_store`.
    """
    ledger = ledger.drop(columns=schema.LOCATED_BY, errors="ignore")
    tables: dict[str, gpd.GeoDataFrame] = {schema.LAYER_PROJECTS: located}
    aligned = len(ledger) == len(located) and np.array_equal(
        ledger[schema.PROJECT_ID].to_numpy(), located[schema.PROJECT_ID].to_numpy()
    )
    if not aligned:
        tables[TABLE_PROJECTS_INPUT] = ledger
        return tables
    changed = np.zeros(len(ledger), dtype=bool)
    for col in (schema.COUNTY_CODE, schema.TOWNSHIP_CODE, schema.VILLAGE_CODE):
        a, b = ledger[col].reset_index(drop=True), located[col].reset_index(drop=True)
        changed |= (a.isna() != b.isna()).to_numpy() | (a != b).fillna(False).to_numpy(bool)
    if changed.any():
        delta = ledger.iloc[np.flatnonzero(changed)].copy()
        delta.insert(0, INPUT_ROW, np.flatnonzero(changed).astype("int64"))
        tables[TABLE_PROJECTS_INPUT_CHANGES] = delta
    return tables


def read_inputs(path: str | os.PathLike[str]) -> Inputs:
    """Read the three input layers of the store (admin_units, registry, projects).

    ``projects`` is the ledger as ingested: the pipeline's ``located_by`` is dropped and the codes
    it filled or dropped are put back (see :func:`ledger_tables`), so a rebuild starts from the
    same inputs as the build that wrote the store.
    """
    layers = list_layers(path)
    if TABLE_PROJECTS_INPUT in layers:
        projects = read_layer(path, TABLE_PROJECTS_INPUT)
    else:
        projects = read_layer(path, schema.LAYER_PROJECTS)
        projects = projects.drop(columns=schema.LOCATED_BY, errors="ignore")
        if TABLE_PROJECTS_INPUT_CHANGES in layers:
            delta = read_layer(path, TABLE_PROJECTS_INPUT_CHANGES)
            rows = delta.pop(INPUT_ROW).to_numpy()
            if len(rows) and rows.max() >= len(projects):
                raise StoreError(
                    f"store {path}: {TABLE_PROJECTS_INPUT_CHANGES} refers to row {rows.max()} "
                    f"of {len(projects)} projects; rebuild the store ({CREATE_HINT})"
                )
            delta.index = projects.index[rows]
            projects.loc[delta.index, list(delta.columns)] = delta
    return Inputs(
        admin_units=read_layer(path, schema.LAYER_ADMIN_UNITS),
        registry=read_layer(path, schema.LAYER_REGISTRY),
        projects=projects,
    )
