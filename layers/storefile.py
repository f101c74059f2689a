"""The GeoPackage store's file: written next to itself and renamed over it, never changed in
place (see :mod:`layers.store`). A temporary file's name carries its writer's process id
(``.STEM.tmp-PID-XXXX.gpkg``), so the next write removes those of killed writers."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyogrio.raw
import shapely

from layers.errors import StoreError

#: a temporary store older than this (seconds) is a leftover even if its pid is alive (reused pid)
STALE_TEMP_AGE_S = 24 * 3600

__all__ = [
    "STALE_TEMP_AGE_S",
    "EarlyCopy",
    "gpkg_layer_metadata",
    "gpkg_layers",
    "leftover_temp_stores",
    "read_frame",
    "read_only",
    "read_small_table",
    "replace_file",
    "table_rows",
    "writer_alive",
]


def _temp_prefix(path: Path) -> str:
    return f".{path.stem}.tmp-"


def writer_alive(pid: int) -> bool:
    """True when process ``pid`` exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def leftover_temp_stores(path: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Temporary stores next to ``path`` left by writers that are gone (killed mid-write).

    A temporary store is ``.STEM.tmp-PID-XXXX.gpkg`` (plus SQLite's ``-journal``/``-wal``/``-shm``
    files). It is a leftover when process PID no longer exists, when its name carries no pid
    (an older OneMap), or when it is older than :data:`STALE_TEMP_AGE_S` (a reused pid).

    Parameters
    ----------
    path
        The store.
    now
        The time to compare ages with (``time.time()`` when None).

    Returns
    -------
    list of pathlib.Path
        The leftover files, sorted.
    """
    path = Path(path)
    now = time.time() if now is None else now
    prefix = _temp_prefix(path)
    pattern = re.compile(re.escape(prefix) + r"(?:(\d+)-)?[^/]*?\.gpkg(?:-\w+)?$")
    out = []
    for candidate in path.parent.glob(prefix + "*"):
        hit = pattern.match(candidate.name)
        if hit is None:
            continue
        try:
            age = now - candidate.stat().st_mtime
        except OSError:
            continue
        pid = int(hit.group(1)) if hit.group(1) else None
        if pid is None or age > STALE_TEMP_AGE_S or not writer_alive(pid):
            out.append(candidate)
    return sorted(out)


def _remove_leftovers(path: Path) -> None:
    for leftover in leftover_temp_stores(path):
        with contextlib.suppress(OSError):
            leftover.unlink()


@contextlib.contextmanager
def read_only(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A read-only SQLite connection to the GeoPackage at ``path``, closed on exit.

    Opening one costs well under a millisecond, where GDAL reads every layer's definition first
    (about 10 ms on a full store): the store's catalogue is read this way.
    """
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        yield con
    finally:
        con.close()


def table_rows(path: str | os.PathLike[str]) -> dict[str, int | None]:
    """Row count of every table of the GeoPackage at ``path`` (from ``gpkg_ogr_contents``)."""
    with read_only(path) as con:
        rows = con.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents").fetchall()
    return {str(n): None if c is None else int(c) for n, c in rows}


def gpkg_layers(path: str | os.PathLike[str]) -> list[str]:
    """The layers and tables of the GeoPackage at ``path`` in the order GDAL lists them: the
    spatial layers as registered in ``gpkg_geometry_columns``, then the attribute tables as
    registered in ``gpkg_contents``.

    Raises
    ------
    sqlite3.DatabaseError
        The file is not an SQLite database or has no GeoPackage catalogue.
    """
    with read_only(path) as con:
        spatial = con.execute(
            "SELECT g.table_name FROM gpkg_geometry_columns g JOIN gpkg_contents c "
            "ON g.table_name = c.table_name WHERE c.data_type = 'features' ORDER BY g.rowid"
        ).fetchall()
        tables = con.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'attributes' ORDER BY rowid"
        ).fetchall()
    return [str(n) for (n,) in (*spatial, *tables)]


def gpkg_layer_metadata(
    source: str | os.PathLike[str] | sqlite3.Connection, name: str
) -> dict[str, str]:
    """GDAL's layer metadata (default domain) of layer ``name``, as ``pyogrio.read_info`` gives
    it in ``layer_metadata``: GDAL keeps it as XML in ``gpkg_metadata``, referenced by table.

    Parameters
    ----------
    source
        The GeoPackage's path, or a connection to it (a writer's, inside its transaction).
    name
        The layer.

    Returns
    -------
    dict
        Key → value (empty when the layer has none).
    """
    sql = (
        "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
        "ON r.md_file_id = m.id WHERE r.reference_scope = 'table' AND r.table_name = ? "
        "AND m.md_standard_uri = 'http://gdal.org' AND m.mime_type = 'text/xml'"
    )
    if isinstance(source, sqlite3.Connection):
        rows = source.execute(sql, (name,)).fetchall()
    else:
        with read_only(source) as con:
            rows = con.execute(sql, (name,)).fetchall()
    out: dict[str, str] = {}
    for (text,) in rows:
        for block in ET.fromstring(text).iter("Metadata"):
            if block.get("domain") in (None, "") and block.get("format") != "xml":
                out.update({item.get("key", ""): item.text or "" for item in block.iter("MDI")})
    return out


def _check_written(tmp: Path, expected: Mapping[str, int]) -> None:
    """Reopen the new file and check that every layer is there with its row count."""
    try:
        present = {str(n) for n, _ in pyogrio.list_layers(tmp)}
        missing = sorted(set(expected) - present)
        if missing:
            raise StoreError(f"layers {missing} missing after writing")
        counts = table_rows(tmp)
        for name, n in expected.items():
            got = counts.get(name)
            got = pyogrio.read_info(tmp, layer=name)["features"] if got is None else got
            if got != n:
                raise StoreError(f"layer {name!r} has {got} rows after writing, expected {n}")
    except pyogrio.errors.DataSourceError as e:  # pragma: no cover - GDAL-level corruption
        raise StoreError(f"the new store {tmp} does not reopen: {e}") from e


#: declared column types of GDAL's attribute tables → the dtype GDAL's Arrow read gives
_DECLARED = {"INTEGER": "int64", "REAL": "float64", "TEXT": "str", "BOOLEAN": "bool"}


def read_small_table(
    path: str | os.PathLike[str], name: str, *, max_rows: int = 2_000
) -> pd.DataFrame | None:
    """Read a GeoPackage attribute table of at most ``max_rows`` rows with SQLite, as GDAL's
    Arrow read gives it (about 1 ms where GDAL's opening of the file alone takes 7 ms).

    Parameters
    ----------
    path
        The GeoPackage.
    name
        The table.
    max_rows
        Larger tables are left to GDAL (its columnar read is the faster one there).

    Returns
    -------
    pandas.DataFrame or None
        The rows in table order, each column as GDAL gives it (integers with nulls as
        floats, booleans with nulls as objects); None when ``name`` is not such a table or
        has a column of another type (read it with GDAL).
    """
    with read_only(path) as con:
        found = con.execute(
            "SELECT c.data_type, o.feature_count FROM gpkg_contents c JOIN gpkg_ogr_contents o "
            "ON o.table_name = c.table_name WHERE c.table_name = ?",
            (name,),
        ).fetchone()
        if found is None or found[0] != "attributes" or not 0 <= (found[1] or 0) <= max_rows:
            return None
        info = con.execute(f'PRAGMA table_info("{name.replace(chr(34), chr(34) * 2)}")')
        fields = [(r[1], str(r[2]).upper()) for r in info.fetchall() if not r[5]]  # no fid
        if not fields or any(kind not in _DECLARED for _, kind in fields):
            return None
        names = ", ".join('"' + c.replace('"', '""') + '"' for c, _ in fields)
        quoted = '"' + name.replace('"', '""') + '"'
        rows = con.execute(f"SELECT {names} FROM {quoted} ORDER BY rowid").fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
    data: dict[str, Any] = {}
    for (col, kind), values in zip(fields, columns, strict=True):
        has_null = any(v is None for v in values)
        if kind == "REAL" or (kind == "INTEGER" and has_null):
            data[col] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "BOOLEAN":
            flags = [None if v is None else bool(v) for v in values]
            data[col] = pd.array(flags, dtype="object" if has_null else "bool")
        else:
            data[col] = pd.array(list(values), dtype=_DECLARED[kind])
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def read_frame(path: Path, name: str, *, where: str | None = None) -> pd.DataFrame:
    """Read layer or table ``name`` of a GeoPackage as ``pyogrio.read_dataframe(use_arrow=True)``
    does, but with its datetimes converted by Arrow (pyogrio parses them from text, about
    three times the cost of the read itself): the store writes naive datetimes, which GDAL's
    Arrow stream gives as UTC, so they are made naive again.

    Parameters
    ----------
    path
        The GeoPackage.
    name
        The layer or table.
    where
        An SQL ``WHERE`` clause evaluated by GDAL.

    Returns
    -------
    pandas.DataFrame
        A GeoDataFrame (geometry column ``geometry``) for a spatial layer; the dtypes as read
        (the store restores its recorded ones).
    """
    meta, table = pyogrio.raw.read_arrow(path, layer=name, where=where, datetime_as_string=False)
    for i, typ in enumerate(table.schema.types):
        if pa.types.is_timestamp(typ) and typ.tz is not None:
            naive = table.column(i).cast(pa.timestamp(typ.unit))  # UTC wall time, no zone
            table = table.set_column(i, table.field(i).with_type(naive.type), naive)
    geom = meta.get("geometry_name") or "wkb_geometry"
    if geom not in table.column_names:
        return table.to_pandas()
    wkb = table.column(geom).to_numpy(zero_copy_only=False)
    df = table.drop_columns([geom]).to_pandas()
    return gpd.GeoDataFrame(df, geometry=shapely.from_wkb(wkb), crs=meta.get("crs"))


class EarlyCopy:
    """A copy of the store made, and flushed to disk, in a thread while the writer computes
    what to change (inside the write lock: the store cannot change meanwhile).

    Copying a full store and flushing it is about a quarter of an import's time; started early
    it overlaps the planning instead of following it. Changes known before the planning ends
    can be queued with :meth:`then`: they run on the copy in the same thread, in order, while
    the planning goes on (SQLite and GDAL work without Python's lock, so on another core).
    :func:`replace_file` takes it as ``copy``; :meth:`discard` removes it when it is not used
    (the next write would, too: its name carries this process's id).
    """

    def __init__(self, path: Path) -> None:
        fd, name = tempfile.mkstemp(
            prefix=f"{_temp_prefix(path)}{os.getpid()}-", suffix=".gpkg", dir=path.parent
        )
        os.close(fd)
        self.tmp = Path(name)
        self._error: BaseException | None = None
        self._work: queue.SimpleQueue[Callable[[Path], object] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, path: Path) -> EarlyCopy | None:
        """Start copying ``path``; None when no file can be made next to it (the write that
        would use it says so)."""
        try:
            return cls(path)
        except OSError:
            return None

    def _run(self, path: Path) -> None:
        try:
            shutil.copyfile(path, self.tmp)
            with open(self.tmp, "rb") as f:
                os.fsync(f.fileno())  # the copy's pages now; the patch's at the end
        except BaseException as e:  # re-raised by result()
            self._error = e
        while (work := self._work.get()) is not None:
            if self._error is None:  # after a failure, nothing more is done to the copy
                try:
                    work(self.tmp)
                except BaseException as e:
                    self._error = e

    def then(self, work: Callable[[Path], object]) -> None:
        """Run ``work(copy)`` on the copy in the thread, after the copy and the work queued
        before it; its error, if any, is raised by :meth:`result`."""
        if self._closed:
            raise RuntimeError("the early copy was already used or discarded")
        self._work.put(work)

    def _join(self) -> None:
        if not self._closed:
            self._closed = True
            self._work.put(None)
        self._thread.join()

    def result(self) -> Path:
        """The copy, once made and every queued change done (raises what failed first)."""
        self._join()
        if self._error is not None:
            raise self._error
        return self.tmp

    def discard(self) -> None:
        """Wait for the copy and remove it (nothing if it was used)."""
        self._join()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def replace_file(
    path: Path,
    fill: Callable[[Path], Mapping[str, int]],
    *,
    copy: bool | EarlyCopy = False,
    passthrough: tuple[type[Exception], ...] = (),
) -> Path:
    """Write the next version of the GeoPackage at ``path`` atomically.

    Leftovers of killed writers are removed, a temporary file is made next to ``path`` (a copy
    of it with ``copy``, else left for GDAL to create), ``fill(tmp)`` writes it and returns the
    row count of every layer it wrote, the file is reopened and checked, fsynced and renamed
    over ``path``: readers see the old file or the new one.

    Parameters
    ----------
    path
        The store.
    fill
        Writes the temporary file; returns layer → rows.
    copy
        Start from a copy of ``path`` (an :class:`EarlyCopy` of it: the one already made).
    passthrough
        Exceptions raised by ``fill`` as they are (the others become ``StoreError``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    StoreError
        The file cannot be written; the previous store is byte-identical, no temporary remains.
    """
    early = copy if isinstance(copy, EarlyCopy) else None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(path)
        if early is None:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f"{_temp_prefix(path)}{os.getpid()}-", suffix=".gpkg", dir=path.parent
            )
            os.close(fd)
        else:
            tmp_name = str(early.tmp)
    except OSError as e:
        raise StoreError(
            f"cannot write the store in {path.parent}: {e.strerror}; check the path"
        ) from e
    tmp = Path(tmp_name)
    done = False
    try:
        if early is not None:
            early.result()
        elif copy:
            shutil.copyfile(path, tmp)
        else:
            tmp.unlink()  # GDAL creates the file itself
        _check_written(tmp, fill(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        done = True
    except passthrough:
        raise
    except Exception as e:
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
