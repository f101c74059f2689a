"""Writing a PostGIS store in parts: a streamed build and a county import (issue #11).

:func:`layers.pgstore.write_tables` writes tables that are all in memory. Two writes here do not
need them all:

- :func:`schema_writer` opens the same one-transaction write (a new schema, checked, swapped in
  for the old one) but takes its tables one by one, and a large table in chunks: the chunks are
  COPYed into a staging table with their sort key and moved into the table in that order at the
  end (``INSERT … SELECT … ORDER BY``), so the projects of twenty provinces never sit in one
  process at once (:mod:`layers.build.stream`);
- :func:`patch_rows` writes a county import into the live schema in one transaction: the
  imported counties' rows of the project tables are deleted (``county_code = ANY(:codes)``) and
  the new rows COPYed, the small tables above them replaced, the revision row with them; the
  row-level security policies and grants stay (they belong to the tables), and readers see the
  revision before or after, never a mix.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry

from layers import pgstore
from layers.errors import StoreError

__all__ = [
    "ROW",
    "NotPatchable",
    "RowPatch",
    "SchemaWriter",
    "patch_rows",
    "schema_writer",
    "write_tables",
]

_STAGE = "_stage_"
#: the column keeping a table's row order (reads sort by it; not a column of the layer)
ROW = pgstore.ROW_COLUMN
#: sort-key columns a staged chunk carries: a text key, a number key, the position it came in
STAGE_KEYS = ("_k", "_y", "_ord")


# --- whole tables ----------------------------------------------------------------------------


def _copy_rows(table: Any, conn: sa.Connection, keys: Sequence[str], rows: Any) -> None:
    """``DataFrame.to_sql`` method: COPY the rows (psycopg 3 writes NULLs and text exactly)."""
    q = conn.dialect.identifier_preparer
    name = f"{q.quote_schema(table.table.schema)}.{q.quote(table.table.name)}"
    cols = ", ".join(q.quote(k) for k in keys)
    with conn.connection.cursor() as cur, cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _geometry_type(geoms: Any) -> str:
    """The column's declared type: the one geometry type present, else GEOMETRY."""
    types = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    names = {0: "POINT", 1: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING"}
    names.update({6: "MULTIPOLYGON"})
    return names.get(types.pop(), "GEOMETRY") if len(types) == 1 else "GEOMETRY"


def _write_one(
    conn: sa.Connection,
    schema: str,
    name: str,
    df: pd.DataFrame,
    *,
    indexes: bool = True,
    append: bool = False,
    row_start: int | None = 0,
) -> str | None:
    """Write one table into ``schema`` by COPY (``append``: rows into the existing table); return
    its geometry column (None: attributes). ``row_start``: number the rows in :data:`ROW` from it
    (None: no such column)."""
    dtype: dict[str, Any] = {}
    if row_start is not None:
        df = df.assign(**{ROW: np.arange(row_start, row_start + len(df), dtype="int64")})
    geom = None
    if isinstance(df, gpd.GeoDataFrame):
        geom = df.geometry.name
        geoms = shapely.set_srid(np.asarray(df.geometry.values, dtype=object), 4326)
        dtype[geom] = Geometry(geometry_type=_geometry_type(geoms), srid=4326, spatial_index=False)
        ewkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
        df = pd.DataFrame(df).assign(**{geom: ewkb})
    mode = "append" if append else "fail"
    df.to_sql(
        name, conn, schema=schema, index=False, if_exists=mode, dtype=dtype, method=_copy_rows
    )
    if indexes and not append:
        _index(conn, schema, name, df.columns, geom)
    return geom


def _index(
    conn: sa.Connection, schema: str, name: str, columns: Sequence[str], geom: str | None
) -> None:
    """GiST index on the geometry, btree indexes on the administrative code columns."""
    if geom is not None:
        conn.execute(sa.text(f'CREATE INDEX ON "{schema}"."{name}" USING GIST ("{geom}")'))
    for col in pgstore.CODE_COLUMNS:
        if col in columns:
            conn.execute(sa.text(f'CREATE INDEX ON "{schema}"."{name}" ("{col}")'))


def _swap(conn: sa.Connection, schema: str, new: str, old: str) -> None:
    """Rename schema ``new`` to ``schema`` (the old one dropped) in the caller's transaction."""
    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{old}" CASCADE'))
    had = conn.execute(
        sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
    ).scalar()
    if had:
        conn.execute(sa.text(f'ALTER SCHEMA "{schema}" RENAME TO "{old}"'))
    conn.execute(sa.text(f'ALTER SCHEMA "{new}" RENAME TO "{schema}"'))
    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{old}" CASCADE'))


def _secure(conn: sa.Connection, schema: str, names: Sequence[str]) -> None:
    """Row-level security on the region tables; SELECT for the reader role (when it exists)."""
    for name in names:
        col = pgstore.RLS_COLUMNS.get(name)
        if col is None:
            continue
        conn.execute(sa.text(f'ALTER TABLE "{schema}"."{name}" ENABLE ROW LEVEL SECURITY'))
        conn.execute(sa.text(f'ALTER TABLE "{schema}"."{name}" FORCE ROW LEVEL SECURITY'))
        conn.execute(
            sa.text(
                f'CREATE POLICY onemap_region ON "{schema}"."{name}" USING ('
                f"current_setting('onemap.region', true) = '{pgstore.ALL_REGIONS}' OR starts_with("
                f"\"{col}\", nullif(current_setting('onemap.region', true), '')))"
            )
        )
    role = conn.execute(
        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": pgstore.READER_ROLE}
    ).scalar()
    if role:
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO {pgstore.READER_ROLE}'))
        conn.execute(
            sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {pgstore.READER_ROLE}')
        )


def write_tables(
    url: str,
    tables: Mapping[str, pd.DataFrame],
    dtypes: Mapping[str, Mapping[str, str]],
    *,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Replace the store's tables with ``tables`` in one transaction (new schema, then swap).

    Parameters
    ----------
    url
        The store URL.
    tables
        Table name → table, validated by ``store.write_store`` (geometry in EPSG:4326).
    dtypes
        Table name → ``{column: dtype}`` recorded in ``onemap_meta``.
    progress
        Called with each table's name as it is written.

    Raises
    ------
    StoreError
        The database refused a table or a count did not match; nothing was changed.
    """
    t = pgstore.parse(url)
    new, old = f"{t.schema}__new", f"{t.schema}__old"
    current = ""
    try:
        with pgstore._connect(url, region=pgstore.ALL_REGIONS) as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{new}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{new}"'))
            meta_rows = []
            for current, df in tables.items():
                if progress is not None:
                    progress(current)
                geom = _write_one(conn, new, current, df)
                meta_rows.append(
                    {"layer": current, "dtypes": json.dumps(dtypes[current]), "geometry": geom}
                )
            current = ""
            pd.DataFrame(meta_rows).astype(object).to_sql(
                pgstore.META_TABLE, conn, schema=new, index=False, method=_copy_rows
            )
            for name, df in tables.items():
                got = conn.execute(sa.text(f'SELECT count(*) FROM "{new}"."{name}"')).scalar()
                if got != len(df):
                    raise StoreError(f"layer {name!r} has {got} rows after writing, not {len(df)}")
            _secure(conn, new, list(tables))
            _swap(conn, t.schema, new, old)
    except StoreError:
        raise
    except Exception as e:
        where = f"layer {current!r}: " if current else ""
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(f"{where}{msg}") from e


# --- a store in parts -------------------------------------------------------------------------


class SchemaWriter:
    """The tables of one write into ``<schema>__new`` (see :func:`schema_writer`)."""

    def __init__(self, conn: sa.Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.counts: dict[str, int] = {}
        self._meta: list[dict[str, Any]] = []
        self._staged: dict[str, tuple[list[str], str | None]] = {}

    def table(self, name: str, df: pd.DataFrame, dtypes: Mapping[str, str]) -> None:
        """Write one whole table (COPY), with its indexes and its dtypes record.

        Parameters
        ----------
        name
            The table.
        df
            Its rows (geometry in EPSG:4326).
        dtypes
            ``{column: dtype}`` to restore on read.
        """
        geom = _write_one(self.conn, self.schema, name, df)
        self._record(name, dtypes, geom, len(df))

    def stage(self, name: str, df: pd.DataFrame, keys: pd.DataFrame) -> None:
        """COPY one chunk of table ``name`` into its staging table, with its sort ``keys``.

        Parameters
        ----------
        name
            The table the chunks make up (:meth:`settle` moves them in).
        df
            The chunk's rows; every chunk has the same columns and dtypes.
        keys
            ``_k`` (text), ``_y`` (integer) and ``_ord`` (integer) per row: the table's rows end
            up ordered by them (NULLs last, text bytewise).
        """
        stage = _STAGE + name
        rows = df.reset_index(drop=True)
        for col in STAGE_KEYS:
            rows[col] = keys[col].to_numpy()
        if name not in self._staged:
            geom = _write_one(self.conn, self.schema, stage, rows, indexes=False, row_start=None)
            self._staged[name] = ([str(c) for c in df.columns], geom)
            return
        _, geom = self._staged[name]
        _write_one(self.conn, self.schema, stage, rows, append=True, row_start=None)

    def settle(self, name: str, dtypes: Mapping[str, str]) -> None:
        """Move the staged chunks of ``name`` into the table in key order; index it.

        Parameters
        ----------
        name
            A staged table.
        dtypes
            ``{column: dtype}`` to restore on read.
        """
        columns, geom = self._staged.pop(name)
        cols = ", ".join(f'"{c}"' for c in columns)
        s = self.schema
        self.conn.execute(
            sa.text(
                f'CREATE TABLE "{s}"."{name}" AS SELECT {cols}, row_number() OVER ({_order()}) '
                f'- 1 AS "{ROW}" FROM "{s}"."{_STAGE}{name}" ' + _order()
            )
        )
        self.conn.execute(sa.text(f'DROP TABLE "{s}"."{_STAGE}{name}"'))
        _index(self.conn, s, name, columns, geom)
        n = self.conn.execute(sa.text(f'SELECT count(*) FROM "{s}"."{name}"')).scalar()
        self._record(name, dtypes, geom, int(n or 0))

    def _record(self, name: str, dtypes: Mapping[str, str], geom: str | None, n: int) -> None:
        self._meta.append({"layer": name, "dtypes": json.dumps(dict(dtypes)), "geometry": geom})
        self.counts[name] = n

    def finish(self) -> None:
        """The metadata table, every row count checked, row-level security and grants."""
        if self._staged:
            raise StoreError(f"staged tables {sorted(self._staged)} were never settled")
        meta = pd.DataFrame(self._meta).astype(object)
        _write_one(self.conn, self.schema, pgstore.META_TABLE, meta, row_start=None)
        for name, n in self.counts.items():
            got = self.conn.execute(sa.text(f'SELECT count(*) FROM "{self.schema}"."{name}"'))
            if got.scalar() != n:
                raise StoreError(f"layer {name!r} has a different row count after writing")
        _secure(self.conn, self.schema, list(self.counts))


def _order() -> str:
    return 'ORDER BY "_k" COLLATE "C" NULLS LAST, "_y" NULLS LAST, "_ord"'


@contextlib.contextmanager
def schema_writer(url: str) -> Iterator[SchemaWriter]:
    """One write of a whole store, table by table, swapped in when the block ends without error.

    Parameters
    ----------
    url
        The store URL.

    Yields
    ------
    SchemaWriter
        Write every table of the store through it; nothing is visible before the swap, and an
        error leaves the previous store as it was.
    """
    t = pgstore.parse(url)
    new, old = f"{t.schema}__new", f"{t.schema}__old"
    try:
        with pgstore._connect(url, region=pgstore.ALL_REGIONS) as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{new}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{new}"'))
            # the final sort of the staged rows and the index builds in memory, not on disk
            conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
            writer = SchemaWriter(conn, new)
            yield writer
            writer.finish()
            _swap(conn, t.schema, new, old)
    except StoreError:
        raise
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(msg) from e


class NotPatchable(StoreError):
    """The rows do not fit the store as it is: write the store in full."""


@dataclass
class RowPatch:
    """A county import's write (:func:`patch_rows`).

    ``counties``: 12-digit county codes; ``append``: table → (the counties' new rows, the rows
    the table keeps after deleting the counties' ones): deleted by ``county_code`` and COPYed
    after the last row; ``update``: table → (rows, key columns): their attribute columns
    overwritten where the keys match, geometry and other columns kept; ``replace``: table → the
    whole table written again (None: dropped); ``dtypes``: the dtypes of every table given.
    """

    counties: list[str]
    append: dict[str, tuple[pd.DataFrame, int]] = field(default_factory=dict)
    update: dict[str, tuple[pd.DataFrame, tuple[str, ...]]] = field(default_factory=dict)
    replace: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    dtypes: dict[str, dict[str, str]] = field(default_factory=dict)


def _append(
    conn: sa.Connection, s: str, name: str, rows: pd.DataFrame, keep: int, codes: list[str]
) -> None:
    """Delete the counties' rows of ``name`` and COPY ``rows`` after the last one."""
    deleted = conn.execute(
        sa.text(f'DELETE FROM "{s}"."{name}" WHERE county_code = ANY(:codes)'), {"codes": codes}
    )
    left, last = conn.execute(
        sa.text(f'SELECT count(*), coalesce(max("{ROW}"), -1) FROM "{s}"."{name}"')
    ).one()
    if left != keep:
        raise NotPatchable(
            f"{name}: {left} rows outside the counties after deleting {deleted.rowcount}, "
            f"not {keep} (rows moved between counties)"
        )
    if len(rows):  # COPY refuses a table under row-level security: into a plain one first
        tmp = f"_patch_{name}"
        _write_one(conn, s, tmp, rows, indexes=False, row_start=int(last) + 1)
        cols = ", ".join(f'"{c}"' for c in [*rows.columns, ROW])
        conn.execute(
            sa.text(f'INSERT INTO "{s}"."{name}" ({cols}) SELECT {cols} FROM "{s}"."{tmp}"')
        )
        conn.execute(sa.text(f'DROP TABLE "{s}"."{tmp}"'))


def _update(
    conn: sa.Connection, s: str, name: str, rows: pd.DataFrame, keys: tuple[str, ...]
) -> None:
    """Overwrite the attribute columns of ``rows`` in ``name`` where ``keys`` match."""
    plain = pd.DataFrame(rows).drop(
        columns=[rows.geometry.name] if isinstance(rows, gpd.GeoDataFrame) else []
    )
    tmp = f"_patch_{name}"
    _write_one(conn, s, tmp, plain, indexes=False, row_start=None)
    cols = [c for c in plain.columns if c not in keys]
    sets = ", ".join(f'"{c}" = p."{c}"' for c in cols)
    match = " AND ".join(f't."{k}" = p."{k}"' for k in keys)
    done = conn.execute(
        sa.text(f'UPDATE "{s}"."{name}" AS t SET {sets} FROM "{s}"."{tmp}" AS p WHERE {match}')
    )
    conn.execute(sa.text(f'DROP TABLE "{s}"."{tmp}"'))
    if done.rowcount != len(plain):
        raise NotPatchable(f"{name}: {done.rowcount} rows matched, not {len(plain)}")


def _replace(
    conn: sa.Connection,
    s: str,
    name: str,
    df: pd.DataFrame | None,
    record: Mapping[str, str] | None,
) -> None:
    """Drop table ``name`` and write ``df`` in its place (None: only drop it)."""
    meta = sa.table(
        pgstore.META_TABLE, sa.column("layer"), sa.column("dtypes"), sa.column("geometry"), schema=s
    )
    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{s}"."{name}"'))
    conn.execute(sa.delete(meta).where(meta.c.layer == name))
    if df is None:
        return
    geom = _write_one(conn, s, name, df)
    conn.execute(
        sa.insert(meta).values(layer=name, dtypes=json.dumps(dict(record or {})), geometry=geom)
    )


def patch_rows(url: str, patch: RowPatch) -> None:
    """Write a county import into the store in one transaction (see :class:`RowPatch`).

    Parameters
    ----------
    url
        The store URL.
    patch
        What changes; call inside the store's write lock.

    Raises
    ------
    NotPatchable
        The store lacks the row order column, a table's columns or dtypes differ from the
        store's, or rows do not match; nothing changed: write the store in full.
    StoreError
        The database refused; nothing changed.
    """
    s = pgstore.parse(url).schema
    codes = [str(c) for c in patch.counties]
    try:
        with pgstore._connect(url, region=pgstore.ALL_REGIONS) as conn:
            for name in [*patch.append, *patch.update]:
                recorded, _ = pgstore._meta(conn, s, name)
                rows = (patch.append.get(name) or patch.update[name])[0]
                wrong = [
                    c
                    for c in rows.columns
                    if c in recorded and recorded[c] != patch.dtypes[name].get(c)
                ]
                if wrong or not set(patch.dtypes[name]) <= set(recorded):
                    raise NotPatchable(f"layer {name!r}: columns {wrong} differ from the store's")
                if not pgstore._has_row(conn, s, name):
                    raise NotPatchable(f"layer {name!r} was written before rows kept their order")
            for name, (rows, keep) in patch.append.items():
                _append(conn, s, name, rows, keep, codes)
            for name, (rows, keys) in patch.update.items():
                _update(conn, s, name, rows, keys)
            for name, df in patch.replace.items():
                _replace(conn, s, name, df, patch.dtypes.get(name))
            _secure(conn, s, [n for n, df in patch.replace.items() if df is not None])
    except StoreError:
        raise
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(msg) from e
