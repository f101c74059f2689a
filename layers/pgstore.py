"""The PostGIS store: the GeoPackage store's tables in one schema of a PostgreSQL database.

A store URL is ``postgresql://user@host:port/db[?schema=NAME]`` (default schema ``onemap``); the
functions of :mod:`layers.store` dispatch here for such a URL. Layout of a store:

- every table of the store as a PostgreSQL table of the schema; spatial layers keep their
  geometry in EPSG:4326 with a GiST index, administrative code columns get btree indexes;
- ``onemap_meta``: per table the pandas dtypes it was written with and its geometry column, so a
  read restores them exactly as the GeoPackage backend does (12-digit codes stay strings,
  ``Int64``, dates, bools);
- row-level security (forced, so it binds the owner as well) on the project, registry and village
  tables: a row is visible when the session setting ``onemap.region`` is ``*`` (the province)
  or a prefix of the row's region code. Every read runs in a transaction that first sets it
  (``set_config(..., true)``) from :func:`current_region` (the signed-in user's scope in the
  dashboard, the province for the CLI); a connection that never sets it sees no such rows.

A write is one transaction: the new tables are written into ``<schema>__new``, checked (row
counts), and swapped in by renaming schemas, so readers see the old store or the new one, never a
mix. The write lock of :mod:`layers.build.lock` is a PostgreSQL advisory lock held by one
connection for the duration of the write (released by the server when the holder dies); who holds
it is recorded in the table ``public.onemap_lock_holder``.

What is not a table lives in a local directory (:func:`state_dir`): the history of revisions
(uploaded files and replaced rows) and, by default, the accounts database.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from layers.errors import StoreError

__all__ = [
    "ALL_REGIONS",
    "CODE_COLUMNS",
    "DEFAULT_SCHEMA",
    "META_TABLE",
    "READER_ROLE",
    "RLS_COLUMNS",
    "ROW_COLUMN",
    "STATE_DIR_ENV",
    "Target",
    "advisory_lock",
    "connect",
    "current_region",
    "engine",
    "exists",
    "is_url",
    "list_tables",
    "parse",
    "read_table",
    "region_of_scope",
    "state_dir",
    "use_region",
    "version",
]

DEFAULT_SCHEMA = "onemap"
META_TABLE = "onemap_meta"
#: the group role that gets SELECT on every table at each write (created by scripts/postgis.sh)
READER_ROLE = "onemap_reader"
#: tables under row-level security → the column holding the row's region code
RLS_COLUMNS: dict[str, str] = {
    "projects": "county_code",
    "projects_input": "county_code",
    "projects_input_changes": "county_code",
    "registry": "village_code",
    "village_plan": "code",
}
#: the ``onemap.region`` value that sees every row (the province scope)
ALL_REGIONS = "*"
#: environment variable: directory for the history and accounts of PostGIS stores
STATE_DIR_ENV = "ONEMAP_STATE_DIR"
CODE_COLUMNS = ("code", "parent_code", "county_code", "township_code", "village_code")
#: a column of every table written since rows keep their order: reads sort by it
ROW_COLUMN = "_row"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_LOCK_TABLE = "onemap_lock_holder"
_region: contextvars.ContextVar[str] = contextvars.ContextVar("onemap_region", default=ALL_REGIONS)
_engines: dict[str, sa.Engine] = {}


class Target(NamedTuple):
    """A parsed store URL: the SQLAlchemy URL, the schema, and the URL as shown (no password)."""

    url: sa.URL
    schema: str
    shown: str


def is_url(path: object) -> bool:
    """True when ``path`` is a PostgreSQL store URL (``postgresql://…`` or ``postgres://…``)."""
    return isinstance(path, str) and path.split("://", 1)[0] in (
        "postgresql",
        "postgres",
        "postgresql+psycopg",
    )


def parse(url: str) -> Target:
    """Parse a store URL; the schema comes from ``?schema=NAME`` (default ``onemap``).

    Parameters
    ----------
    url
        ``postgresql://user[:password]@host[:port]/db[?schema=NAME]``.

    Returns
    -------
    Target
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = (query.pop("schema", [DEFAULT_SCHEMA]) or [DEFAULT_SCHEMA])[0]
    if not _IDENT.match(schema):
        raise StoreError(
            f"schema {schema!r} in the store URL is not a plain lower-case name; "
            "use e.g. ?schema=onemap"
        )
    if not parts.path.strip("/"):
        raise StoreError("the store URL names no database; use postgresql://user@host:port/db")
    try:
        base = sa.make_url(url.split("?", 1)[0]).set(drivername="postgresql+psycopg")
    except sa.exc.ArgumentError as e:
        raise StoreError(f"not a PostgreSQL URL: {e}") from e
    base = base.update_query_dict({k: v[0] for k, v in query.items()})
    plain = base.set(drivername="postgresql").render_as_string(hide_password=True)
    return Target(base, schema, f"{plain}{'&' if '?' in plain else '?'}schema={schema}")


def engine(url: str) -> sa.Engine:
    """The (cached, pooled) SQLAlchemy engine of a store URL."""
    target = parse(url)
    key = target.url.render_as_string(hide_password=False)
    if key not in _engines:
        _engines[key] = sa.create_engine(
            target.url, pool_pre_ping=True, pool_size=4, max_overflow=4
        )
    return _engines[key]


def state_dir(url: str) -> Path:
    """Local directory of a PostGIS store's history and accounts.

    ``$ONEMAP_STATE_DIR/<host>-<port>-<db>-<schema>``, default under ``~/.onemap/pg``; every
    process writing the store must see the same directory (one machine, or a shared mount).
    """
    t = parse(url)
    base = os.environ.get(STATE_DIR_ENV, "").strip()
    root = Path(base) if base else Path.home() / ".onemap" / "pg"
    name = f"{t.url.host or 'local'}-{t.url.port or 5432}-{t.url.database}-{t.schema}"
    return root / re.sub(r"[^A-Za-z0-9_.-]", "_", name)


# --- the session's region (row-level security) -------------------------------------------------


def region_of_scope(region: str, digits: int | None) -> str:
    """The ``onemap.region`` value of a scope: ``*`` for the province, else the code prefix.

    Parameters
    ----------
    region
        The scope's 12-digit region code.
    digits
        The number of leading digits that name the region at its level (None: the province).

    Returns
    -------
    str
    """
    if digits is None:
        return ALL_REGIONS
    prefix = str(region)[:digits]
    if not prefix.isdigit():
        raise StoreError(f"region {region!r} is not a code")
    return prefix


def current_region() -> str:
    """The region the reads of this thread/context run under (default ``*``: everything)."""
    return _region.get()


@contextlib.contextmanager
def use_region(value: str) -> Iterator[None]:
    """Run the reads of the ``with`` block under region ``value`` (:func:`region_of_scope`)."""
    token = _region.set(value)
    try:
        yield
    finally:
        _region.reset(token)


def _set_region(conn: sa.Connection, value: str) -> None:
    conn.execute(sa.text("SELECT set_config('onemap.region', :r, true)"), {"r": value})


@contextlib.contextmanager
def _connect(url: str, *, region: str | None = None) -> Iterator[sa.Connection]:
    """A connection in a transaction, the region setting applied, errors as StoreError."""
    shown = parse(url).shown
    try:
        with engine(url).begin() as conn:
            _set_region(conn, current_region() if region is None else region)
            yield conn
    except sa.exc.OperationalError as e:
        detail = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise StoreError(f"cannot reach the PostGIS store {shown}: {detail}") from e
    except sa.exc.ProgrammingError as e:
        detail = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise StoreError(f"PostGIS store {shown}: {detail}") from e


#: a connection in a transaction under the session's region, errors as StoreError
connect = _connect


# --- reading ------------------------------------------------------------------------------------


def _tables(conn: sa.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
            "ORDER BY table_name"
        ),
        {"s": schema},
    )
    return [r[0] for r in rows if r[0] != META_TABLE]


def exists(url: str) -> bool:
    """True when the schema holds a store (its ``build_info`` table)."""
    t = parse(url)
    with _connect(url) as conn:
        return "build_info" in _tables(conn, t.schema)


def list_tables(url: str) -> list[str]:
    """The store's tables (without the metadata table), in name order."""
    t = parse(url)
    with _connect(url) as conn:
        return _tables(conn, t.schema)


def version(url: str) -> float:
    """A cache key that changes with every write: the store's head revision (-1: no store)."""
    t = parse(url)
    with _connect(url) as conn:
        if "build_info" not in _tables(conn, t.schema):
            return -1.0
        info = sa.table("build_info", sa.column("key"), sa.column("value"), schema=t.schema)
        raw = conn.execute(sa.select(info.c.value).where(info.c.key == "revision")).scalar()
        # built_at has whole seconds: two writes in one second differ by the transaction that
        # wrote the row (its xmin), as every write rewrites build_info
        built = conn.execute(
            sa.select(info.c.value, sa.literal_column("xmin::text")).where(info.c.key == "built_at")
        ).first()
    try:
        rev = float(raw) if raw is not None else 0.0
    except ValueError:
        rev = 0.0
    # a store rewritten without revisions (copy) still changes its built_at and xmin
    stamp = int(hashlib.sha256(str(tuple(built or ())).encode()).hexdigest()[:6], 16) / 2**24
    return rev + stamp


def _meta(conn: sa.Connection, schema: str, name: str) -> tuple[dict[str, str], str | None]:
    meta = sa.table(
        META_TABLE, sa.column("layer"), sa.column("dtypes"), sa.column("geometry"), schema=schema
    )
    row = conn.execute(
        sa.select(meta.c.dtypes, meta.c.geometry).where(meta.c.layer == name)
    ).first()
    if row is None:
        return {}, None
    return json.loads(row[0] or "{}"), row[1]


def _has_row(conn: sa.Connection, schema: str, name: str) -> bool:
    """True when the table keeps its row order in :data:`ROW_COLUMN`."""
    found = conn.execute(
        sa.text(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = :s "
            "AND table_name = :t AND column_name = :c"
        ),
        {"s": schema, "t": name, "c": ROW_COLUMN},
    )
    return found.scalar() is not None


def _condition(col: sa.ColumnClause, op: str, value: Any) -> sa.ColumnElement[bool]:
    if op == "eq":
        return col == value
    if op == "in":
        return col.in_(list(value))
    if op == "prefix":
        return sa.func.starts_with(col, str(value))
    if op == "between":
        lo, hi = value
        return col.between(lo, hi)
    raise StoreError(f"unknown filter {op!r}")


def read_table(
    url: str,
    name: str,
    *,
    columns: Sequence[str] | None = None,
    conditions: Sequence[tuple[str, str, Any]] = (),
    geometry: bool = True,
    window: tuple[int, int] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read one table with its filter evaluated by PostgreSQL (bound parameters).

    Parameters
    ----------
    url
        The store URL.
    name
        The table.
    columns
        Only these attribute columns (the geometry is read unless ``geometry`` is False).
    conditions
        ``(column, op, value)`` with op ``eq``, ``in``, ``prefix`` or ``between``, all ANDed.
    geometry
        False: no geometry column (a plain DataFrame).
    window
        ``(first, n)``: only rows ``first`` … ``first + n - 1`` in the table's row order.

    Returns
    -------
    tuple
        The table as read, and the dtypes it was written with (to restore them).
    """
    t = parse(url)
    with _connect(url) as conn:
        available = _tables(conn, t.schema)
        if "build_info" not in available:
            raise StoreError(
                f"no OneMap store at {t.shown}; create it with `onemap demo` (generated demo "
                "province), `onemap import` or `onemap store copy`"
            )
        if name not in available:
            raise StoreError(
                f"store {t.shown} has no layer {name!r} (it has: {', '.join(available)}); "
                "rebuild it with `onemap build`"
            )
        recorded, geom = _meta(conn, t.schema, name)
        known = list(recorded) + ([geom] if geom else [])
        asked = list(recorded) if columns is None else list(columns)
        unknown = [c for c in [*asked, *(c for c, _, _ in conditions)] if c not in known]
        if unknown:
            raise StoreError(
                f"layer {name!r} of {t.shown} has no column(s) {unknown}; "
                f"columns are: {', '.join(recorded)}"
            )
        cols = [c for c in asked if c != geom]
        if geom and geometry:
            cols.append(geom)
        table = sa.table(name, *(sa.column(c) for c in known), schema=t.schema)
        selected = [
            sa.func.ST_AsBinary(table.c[c]).label(c) if c == geom else table.c[c] for c in cols
        ]
        query = sa.select(*selected) if cols else sa.select(sa.literal(1))
        for col, op, value in conditions:
            query = query.where(_condition(table.c[col], op, value))
        if _has_row(conn, t.schema, name):  # the order it was written in
            query = query.order_by(sa.column(ROW_COLUMN))
        elif window is not None:
            raise StoreError(f"layer {name!r} of {t.shown} keeps no row order; rebuild it")
        if window is not None:
            query = query.offset(int(window[0])).limit(int(window[1]))
        df = pd.read_sql(query, conn)
    if geom and geometry:  # binary WKB: 40x faster to parse than the hex text PostGIS sends
        shapes = shapely.from_wkb(df[geom].to_numpy(dtype=object))
        df = gpd.GeoDataFrame(df.drop(columns=geom), geometry=shapes, crs="EPSG:4326")
        df = df.rename_geometry(geom) if geom != "geometry" else df
        df = df[[c for c in cols]]
    return df, recorded


# --- the write lock -----------------------------------------------------------------------------


def _lock_key(t: Target) -> int:
    digest = hashlib.sha256(f"onemap:{t.url.database}:{t.schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2  # positive, and classid < 2**31


def _holder(conn: sa.Connection, key: int) -> dict[str, object]:
    row = conn.execute(
        sa.text(
            f"SELECT h.info FROM public.{_LOCK_TABLE} h JOIN pg_locks l ON l.pid = h.pid "
            "AND l.locktype = 'advisory' AND l.granted "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = (:k)::bigint "
            "WHERE h.key = :k"
        ),
        {"k": key},
    ).first()
    return json.loads(row[0]) if row else {}


@contextlib.contextmanager
def advisory_lock(
    url: str,
    info: Mapping[str, object],
    *,
    timeout: float,
    on_wait: Callable[[dict[str, object]], None] | None = None,
) -> Iterator[None]:
    """Hold the store's write lock: a session advisory lock on one dedicated connection.

    Parameters
    ----------
    url
        The store URL.
    info
        ``{user, pid, since, what}`` of this writer, recorded for waiting writers.
    timeout
        Seconds to wait for the lock.
    on_wait
        Called with the holder's record when the lock is taken by someone else.

    Raises
    ------
    TimeoutError
        The lock was not free within ``timeout``; its argument is the holder's record.
    """
    t = parse(url)
    key = _lock_key(t)
    try:
        conn = engine(url).connect().execution_options(isolation_level="AUTOCOMMIT")
    except sa.exc.OperationalError as e:
        raise StoreError(f"cannot reach the PostGIS store {t.shown}: {e.orig}") from e
    try:
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS public.{_LOCK_TABLE} "
                "(key bigint PRIMARY KEY, pid int, info text)"
            )
        )
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            if on_wait is not None:
                on_wait(_holder(conn, key))
            ms = max(1, int(timeout * 1000))
            conn.execute(sa.text(f"SET lock_timeout = {ms}"))
            try:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except sa.exc.OperationalError as e:
                raise TimeoutError(_holder(conn, key)) from e
            conn.execute(sa.text("SET lock_timeout = 0"))
        record = {**info, "since": info.get("since") or dt.datetime.now(dt.UTC).isoformat()}
        conn.execute(
            sa.text(
                f"INSERT INTO public.{_LOCK_TABLE} (key, pid, info) "
                "VALUES (:k, pg_backend_pid(), :i) ON CONFLICT (key) DO UPDATE "
                "SET pid = excluded.pid, info = excluded.info"
            ),
            {"k": key, "i": json.dumps(record, ensure_ascii=False)},
        )
        yield
    finally:
        with contextlib.suppress(Exception):
            conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        conn.close()
