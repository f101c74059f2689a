"""The store's write lock: one writer at a time, the others wait with a message, then fail clearly.

Every writer of the store (``onemap demo``, ``build``, ``import``, ``rollback``, the 数据导入 page)
runs inside :func:`store_lock` and reads the store inside it, so each write applies to the latest
state. The lock is ``filelock``'s OS lock on ``<store>.lock`` (``flock``/``LockFileEx``): the
kernel releases it when the holder exits, even after ``kill -9``. Who holds it since when is
recorded next to it in ``<store>.lock.holder`` (JSON), so a waiting writer can say so. Inside the
lock, temporary files left by a killed writer are removed (no other writer can be using them).
For a PostGIS store the lock is a PostgreSQL advisory lock (``pgstore.advisory_lock``), released
by the server when the holder's connection ends, and the holder is recorded in the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from layers import pgstore
from layers.errors import StoreError

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "LOCK_TIMEOUT_ENV",
    "holder",
    "holder_path",
    "lock_path",
    "lock_timeout",
    "store_lock",
]

#: seconds a writer waits for the lock unless told otherwise
DEFAULT_LOCK_TIMEOUT = 600.0
#: environment variable overriding :data:`DEFAULT_LOCK_TIMEOUT`
LOCK_TIMEOUT_ENV = "ONEMAP_LOCK_TIMEOUT"


def lock_path(store: str | os.PathLike[str]) -> Path:
    """``<store>.lock``: the file the OS lock is taken on."""
    p = Path(store)
    return p.with_name(p.name + ".lock")


def holder_path(store: str | os.PathLike[str]) -> Path:
    """``<store>.lock.holder``: JSON ``{user, pid, since, what}`` of the current holder."""
    p = Path(store)
    return p.with_name(p.name + ".lock.holder")


def lock_timeout(timeout: float | None = None) -> float:
    """``timeout``, else ``$ONEMAP_LOCK_TIMEOUT``, else :data:`DEFAULT_LOCK_TIMEOUT` seconds."""
    if timeout is not None:
        return float(timeout)
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return float(raw)
    except ValueError as e:
        raise StoreError(
            f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds; e.g. {LOCK_TIMEOUT_ENV}=120"
        ) from e


def holder(store: str | os.PathLike[str]) -> dict[str, object]:
    """Who holds (or last held) the lock: ``{user, pid, since, what}``; empty when unknown."""
    try:
        data = json.loads(holder_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(info: dict[str, object]) -> str:
    if not info:
        return "store is being written by another process"
    since = str(info.get("since", ""))
    with contextlib.suppress(ValueError):
        since = dt.datetime.fromisoformat(since).astimezone().strftime("%H:%M:%S")
    what = f" ({info['what']})" if info.get("what") else ""
    return (
        f"store is being written by {info.get('user', '?')}{what} since {since} "
        f"(pid {info.get('pid', '?')})"
    )


def _clean_leftovers(store: Path) -> None:
    """Remove temporary stores of a killed writer (safe: we hold the lock)."""
    for leftover in store.parent.glob(f".{store.stem}.tmp-*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _record(user: str, what: str) -> dict[str, object]:
    return {
        "user": user,
        "pid": os.getpid(),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": what,
    }


@contextlib.contextmanager
def _pg_lock(
    url: str, user: str, what: str, wait: float, on_wait: Callable[[str], None] | None
) -> Iterator[None]:
    """The advisory lock of a PostGIS store, with the same messages as the file lock."""

    def waiting(info: dict[str, object]) -> None:
        if on_wait is not None:
            on_wait(f"{_describe(info)}; waiting up to {wait:g} s")

    try:
        with (
            pgstore.advisory_lock(url, _record(user, what), timeout=wait, on_wait=waiting),
            pgstore.use_region(pgstore.ALL_REGIONS),  # a writer reads and rewrites every row
        ):
            yield
    except TimeoutError as e:
        info = e.args[0] if e.args and isinstance(e.args[0], dict) else {}
        raise StoreError(
            f"{_describe(info)}; gave up after {wait:g} s — try again later or "
            f"raise {LOCK_TIMEOUT_ENV}"
        ) from e


@contextlib.contextmanager
def store_lock(
    store: str | os.PathLike[str],
    user: str,
    *,
    what: str = "",
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the store's write lock for the ``with`` block.

    Parameters
    ----------
    store
        The store path (its directory is created if missing).
    user
        Who writes (recorded for waiting writers and in the revision).
    what
        What is being written (``import``, ``build``, …), shown to waiting writers.
    timeout
        Seconds to wait (None: :func:`lock_timeout`).
    on_wait
        Called once with "store is being written by USER since HH:MM:SS (pid N); waiting up
        to T s" when the lock is taken by someone else.

    Raises
    ------
    StoreError
        The lock was not free within ``timeout`` (names the holder).
    """
    wait = lock_timeout(timeout)
    if pgstore.is_url(store):
        with _pg_lock(str(store), user, what, wait, on_wait):
            yield
        return
    store = Path(store)
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot write the store in {store.parent}: {e.strerror}") from e
    lock = filelock.FileLock(lock_path(store), is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        message = f"{_describe(holder(store))}; waiting up to {wait:g} s"
        if on_wait is not None:
            on_wait(message)
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout as e:
            raise StoreError(
                f"{_describe(holder(store))}; gave up after {wait:g} s — try again later or "
                f"raise {LOCK_TIMEOUT_ENV}"
            ) from e
    try:
        info = _record(user, what)
        with contextlib.suppress(OSError):
            holder_path(store).write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
        _clean_leftovers(store)
        yield
    finally:
        lock.release()
