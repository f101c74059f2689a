"""Copy a whole store between backends (GeoPackage ↔ PostGIS): every table, the log, the history.

The copy is one write of the destination (atomic like any other: a temporary file renamed, or a
schema swapped in one transaction), taken under the destination's write lock; every table is
copied as read, with its dtypes, so ``onemap summary`` gives the same figures on both stores.
The history of revisions (uploaded files, replaced rows) is copied to the destination's history
directory, so a revision made before the copy can still be rolled back after it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from layers import schema as S
from layers import store
from layers.build import revisions
from layers.build.lock import store_lock
from layers.errors import StoreError

__all__ = ["copy_store"]


def copy_store(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    user: str,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Copy the store ``src`` to ``dst`` (a GeoPackage path or a ``postgresql://`` URL).

    Parameters
    ----------
    src, dst
        The stores; ``dst`` must not hold a store unless ``replace``.
    user
        Who copies (recorded as the lock holder).
    replace
        Overwrite a store at ``dst`` (its own revisions are lost).
    progress
        Called with each table's name as it is read.
    on_wait
        Called with a message while waiting for the destination's write lock.

    Returns
    -------
    dict
        Table name → rows copied.

    Raises
    ------
    StoreError
        ``src`` is missing, ``dst`` is ``src`` or already holds a store (without ``replace``).
    """
    if store.shown(src) == store.shown(dst) or str(src) == str(dst):
        raise StoreError("the source and the destination are the same store")
    info = store.read_build_info(src)
    with store_lock(dst, user, what="store copy", on_wait=on_wait):
        if store.exists(dst) and not replace:
            raise StoreError(
                f"{store.shown(dst)} already holds a store; pass --replace to overwrite it"
            )
        tables = {}
        for name in store.list_layers(src):
            if name == S.TABLE_BUILD_INFO:
                continue
            if progress is not None:
                progress(name)
            tables[name] = store.read_layer(src, name)
        history = revisions.history_dir(src)
        target = revisions.history_dir(dst)
        if target.is_dir():
            shutil.rmtree(target)
        if history.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(history, target, ignore=shutil.ignore_patterns(".partial-*"))
        store.write_store(dst, tables, info)
    return {name: len(t) for name, t in tables.items()}
