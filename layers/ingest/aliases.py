"""Header aliases a province adds from the 数据导入 page, kept next to the store.

An office whose ledger calls 计划投资 「投资金额」 should not need anyone to edit
``data/column_map.toml`` on the server. The alias file ``<store>.column_map.toml`` lists the
headers added, one ``[[alias]]`` table each (section, schema name, header, who, when, UTC); it
is read on top of the shipped column map (``columns.load_column_map(aliases=...)``) by the page
and by ``onemap import``. Adding appends one table under the file's own lock and replaces the
file atomically, so two clerks adding at once both land. The store itself does not change: an
alias is not a store revision; the file is its own log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import filelock

from layers import store
from layers.errors import LedgerError
from layers.ingest.columns import ColumnMap, load_column_map, normalise_label

__all__ = [
    "MAX_HEADER",
    "Alias",
    "add_alias",
    "alias_conflict",
    "aliases_path",
    "column_map_for",
    "read_aliases",
]

#: longest header accepted as an alias (characters)
MAX_HEADER = 100
_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Alias:
    """One header added: ``header`` now reads as ``field`` in ``section`` of the column map."""

    section: str
    field: str
    header: str
    user: str = ""
    time: str = ""


def aliases_path(store_path: str | os.PathLike[str]) -> Path:
    """The alias file of a store: ``<store>.column_map.toml`` in the store's directory (a
    PostGIS store: in its state directory, ``store.beside``)."""
    return store.beside(store_path, ".column_map.toml")


def read_aliases(path: str | os.PathLike[str]) -> list[Alias]:
    """The aliases in the file at ``path`` (none when it does not exist).

    Raises ``LedgerError`` naming the file when it cannot be read or parsed.
    """
    p = Path(path)
    if not p.is_file():
        return []
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise LedgerError(f"header aliases {p.name} cannot be read ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise LedgerError(f"header aliases {p.name} are not valid TOML: {e}") from e
    out = []
    for entry in raw.get("alias", []):
        if {"section", "field", "header"} <= set(entry):
            out.append(
                Alias(
                    str(entry["section"]),
                    str(entry["field"]),
                    str(entry["header"]),
                    str(entry.get("user", "")),
                    str(entry.get("time", "")),
                )
            )
    return out


def _as_mapping(aliases: list[Alias]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for a in aliases:
        out.setdefault(a.section, {}).setdefault(a.field, []).append(a.header)
    return out


def column_map_for(
    store_path: str | os.PathLike[str], path: str | os.PathLike[str] | None = None
) -> ColumnMap:
    """The column map an import into ``store_path`` uses: ``path`` (default the shipped map)
    with the store's aliases on top.

    Parameters
    ----------
    store_path
        The store (its alias file sits next to it).
    path
        A column map TOML (default ``data/column_map.toml``).

    Returns
    -------
    ColumnMap
        The merged map.
    """
    return load_column_map(path, aliases=_as_mapping(read_aliases(aliases_path(store_path))))


def alias_conflict(cmap: ColumnMap, section: str, header: str) -> str | None:
    """The schema name ``header`` already reads as in ``section`` (None: it is free).

    Parameters
    ----------
    cmap
        The column map in use.
    section
        Its section.
    header
        The header as written.

    Returns
    -------
    str or None
        The field the header maps to now.
    """
    return cmap.sections.get(section, {}).get(normalise_label(header))


def _toml_table(alias: Alias) -> str:
    """One ``[[alias]]`` table; JSON strings are valid TOML basic strings."""
    lines = ["", "[[alias]]"]
    for key in ("section", "field", "header", "user", "time"):
        lines.append(f"{key} = {json.dumps(getattr(alias, key), ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def add_alias(
    store_path: str | os.PathLike[str],
    cmap: ColumnMap,
    alias: Alias,
) -> Alias:
    """Add ``alias`` to the store's alias file (created when missing); returns it with the time.

    Parameters
    ----------
    store_path
        The store the alias belongs to.
    cmap
        The column map in use (the alias must name one of its fields and a free header).
    alias
        What to add; ``time`` is set here (UTC).

    Returns
    -------
    Alias
        The alias as written.

    Raises
    ------
    LedgerError
        Unknown section or field, an empty or over-long header, or a header that already
        reads as a field.
    """
    header = alias.header.strip()
    if alias.field not in cmap.accepted.get(alias.section, {}):
        raise LedgerError(f"{alias.section}.{alias.field} is not a field of the column map")
    if not normalise_label(header) or len(header) > MAX_HEADER:
        raise LedgerError(f"a header alias has 1–{MAX_HEADER} characters; got {len(header)}")
    taken = alias_conflict(cmap, alias.section, header)
    if taken is not None:
        raise LedgerError(f"header {header!r} already reads as {taken}")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    done = Alias(alias.section, alias.field, header, alias.user, now)
    path = aliases_path(store_path)
    try:
        with filelock.FileLock(str(path) + ".lock", timeout=_LOCK_TIMEOUT):
            old = (
                path.read_text(encoding="utf-8")
                if path.is_file()
                else (
                    "# Header aliases added on the 数据导入 page; read on top of "
                    "data/column_map.toml.\n"
                )
            )
            tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
            tmp.write_text(old + _toml_table(done), encoding="utf-8")
            os.replace(tmp, path)
    except (OSError, filelock.Timeout) as e:
        raise LedgerError(f"header aliases {path.name} cannot be written ({e})") from e
    return done
