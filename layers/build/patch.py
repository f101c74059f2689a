"""Write a store's next revision by patching a copy of it (the incremental rebuild's writer).

A full write (``store.write_store``) writes every table again: at full scale most of a rebuild's
time goes into the 192,000 projects. An import of a few counties changes few rows, so
:func:`patch_store` copies the GeoPackage next to itself, deletes and appends the rows that
changed, updates layer rows in place (by ``code``, attributes only: geometries and terrain stay),
rewrites the small tables in full, reopens the copy to check every row count, and renames it over
the store (``os.replace``) like a full write: readers see the old revision or the new one, and a
failure leaves the store byte-identical. Temporary files carry the writer's pid as in ``store``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from layers import schema as S
from layers import store
from layers.errors import StoreError

__all__ = ["Patch", "PatchError", "patch_store", "table_rows"]


class PatchError(StoreError):
    """The patch does not fit the store (a column or dtype differs): write the store in full."""


@dataclass
class Patch:
    """What changes from one revision to the next.

    ``replace``: tables written again in full; ``delete``: table → (column, values) of the rows
    removed (``fid`` for row ids); ``append``: rows added at the end of a table (after the
    deletes); ``update``: table → rows whose given attribute columns are overwritten, found by
    their ``keys`` columns (default ``code``); ``counts``: the row count every patched table must
    have afterwards.
    """

    replace: dict[str, pd.DataFrame] = field(default_factory=dict)
    delete: dict[str, tuple[str, Sequence[str]]] = field(default_factory=dict)
    append: dict[str, pd.DataFrame] = field(default_factory=dict)
    update: dict[str, pd.DataFrame] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def table_rows(path: str | os.PathLike[str]) -> dict[str, int]:
    """Row count of every table of the GeoPackage at ``path`` (from ``gpkg_ogr_contents``)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        rows = con.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents").fetchall()
    return {str(n): int(c) for n, c in rows}


def _quote(name: str) -> str:
    if not name.replace("_", "a").isalnum():
        raise PatchError(f"table or column name {name!r} is not a plain identifier")
    return f'"{name}"'


def _sql_values(values: pd.Series) -> list[Any]:
    """Python values as GDAL stores them in a GeoPackage (NA/NaN → NULL, bool → 0/1)."""
    dtype = values.dtype
    missing = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        out = values.fillna(False).astype(bool).astype(int).tolist()
    elif pd.api.types.is_integer_dtype(dtype):
        out = values.fillna(0).astype("int64").tolist()
    elif pd.api.types.is_float_dtype(dtype):
        out = values.fillna(0.0).astype("float64").tolist()
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        out = values.astype(object).where(~missing, None).tolist()
        return [None if m else str(v) for v, m in zip(out, missing, strict=True)]
    else:
        raise PatchError(f"column {values.name!r} has dtype {dtype}, which is not patched in place")
    return [None if m else v for v, m in zip(out, missing, strict=True)]


def _update_rows(
    con: sqlite3.Connection, path: Path, name: str, rows: pd.DataFrame, keys: tuple[str, ...]
) -> None:
    """Overwrite the attribute columns of ``rows`` in table ``name`` where ``keys`` match."""
    recorded = store._recorded_dtypes(path, name)
    cols = [c for c in rows.columns if c not in keys]
    wrong = [c for c in rows.columns if recorded.get(c) != str(rows[c].dtype)]
    if wrong:
        raise PatchError(f"layer {name!r}: columns {wrong} differ from the store's")
    key_sql = ", ".join(_quote(k) for k in keys)
    stored = con.execute(f"SELECT {key_sql}, fid FROM {_quote(name)}").fetchall()
    fid_of = {tuple(r[:-1]): r[-1] for r in stored}
    wanted = zip(*(_sql_values(rows[k]) for k in keys), strict=True)
    fids = [fid_of.get(tuple(k)) for k in wanted]
    if any(f is None for f in fids):
        raise PatchError(f"layer {name!r}: rows to update are not in the store")
    columns = [_sql_values(rows[c]) for c in cols]
    params = list(zip(*columns, fids, strict=True))
    sets = ", ".join(f"{_quote(c)} = ?" for c in cols)
    con.executemany(f"UPDATE {_quote(name)} SET {sets} WHERE fid = ?", params)


def _is_empty(blob: bytes | None) -> int | None:
    """GeoPackage ``ST_IsEmpty``: the empty flag of the geometry blob's header."""
    if blob is None:
        return None
    return int(len(blob) > 3 and bool(blob[3] & 0x10))


def _no_geometry_change(_blob: bytes | None) -> float:
    raise sqlite3.OperationalError("a patch does not change geometries")


def _connect(path: Path) -> sqlite3.Connection:
    """SQLite on a GeoPackage with the functions its R-tree triggers name (GDAL registers them;
    a patch never changes a geometry or a fid, so the extent functions are never called)."""
    con = sqlite3.connect(path)
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for name in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
        con.create_function(name, 1, _no_geometry_change, deterministic=True)
    return con


def _apply_sql(tmp: Path, patch: Patch) -> None:
    con = _connect(tmp)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        with con:
            for name, (column, values) in patch.delete.items():
                values = [v if isinstance(v, int) else str(v) for v in values]
                marks = ", ".join("?" * len(values))
                if values:
                    con.execute(
                        f"DELETE FROM {_quote(name)} WHERE {_quote(column)} IN ({marks})", values
                    )
            for name, rows in patch.update.items():
                _update_rows(con, tmp, name, rows, patch.keys.get(name, (S.CODE,)))
    finally:
        con.close()


def _append(tmp: Path, name: str, rows: pd.DataFrame) -> None:
    table = store._prepare(name, rows)
    if len(table):
        pyogrio.write_dataframe(table, tmp, layer=name, driver="GPKG", append=True, use_arrow=True)


def patch_store(path: str | os.PathLike[str], patch: Patch, build_info: Mapping[str, Any]) -> Path:
    """Write the next revision of the store at ``path`` as a patched copy, atomically.

    Parameters
    ----------
    path
        An existing GeoPackage store.
    patch
        The changes (:class:`Patch`).
    build_info
        The new ``build_info`` (written in full).

    Returns
    -------
    Path
        The store path.

    Raises
    ------
    PatchError
        The patch does not fit the store (nothing written: write it in full instead).
    StoreError
        The copy cannot be written; the previous store is unchanged.
    """
    path = Path(path)
    replace = {n: store._prepare(n, t) for n, t in patch.replace.items()}
    replace[S.TABLE_BUILD_INFO] = store._build_info_frame(build_info)
    store._remove_leftovers(path)
    fd, name = tempfile.mkstemp(
        prefix=f"{store._temp_prefix(path)}{os.getpid()}-", suffix=".gpkg", dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    done = False
    try:
        shutil.copyfile(path, tmp)
        _apply_sql(tmp, patch)
        with store._gdal_options(store._FAST_WRITE):
            for table, rows in patch.append.items():
                _append(tmp, table, rows)
            for table, frame in replace.items():
                store._write_table(tmp, table, frame)
        expected = {**patch.counts, **{n: len(t) for n, t in replace.items()}}
        got = table_rows(tmp)
        wrong = {n: (got.get(n), c) for n, c in expected.items() if got.get(n) != c}
        if wrong:
            raise StoreError(f"row counts after patching (got, expected): {wrong}")
        store._check_written(tmp, expected)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        done = True
    except PatchError:
        raise
    except (StoreError, sqlite3.Error, OSError, pyogrio.errors.DataSourceError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(
            f"could not write store {path}: {msg}; the previous store is unchanged"
        ) from e
    finally:
        if not done:
            for leftover in (tmp, *tmp.parent.glob(tmp.name + "-*")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
    return path
