"""Accounts: names, argon2 password hashes, roles and regions, in a small SQLite file.

The file is ``$ONEMAP_USERS``, else ``onemap-users.sqlite`` next to the store (not inside the
GeoPackage, which every build rewrites). It is created (mode 0600) by the first ``add``; while it
does not exist there is no account and OneMap runs single-user. Every change is written to the
``account_log`` table with who made it and when (the OS user for the command line).

Roles: ``province`` (no region), ``prefecture`` and ``county`` (a region of that level, 6- or
12-digit code) and ``viewer`` (optional prefecture or county region). Passwords are hashed with
argon2id (argon2-cffi); a failed sign-in is slowed down per name by :class:`Throttle`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import re
import sqlite3
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from layers import schema as S
from layers.errors import AccountError, StoreError
from layers.settings import store_path
from layers.store import beside

__all__ = [
    "MIN_PASSWORD",
    "REGION_LEVELS",
    "ROLES",
    "ROLE_LABELS_ZH",
    "Accounts",
    "Throttle",
    "User",
    "check_region",
    "users_path",
    "writer",
]

ROLES: tuple[str, ...] = ("province", "prefecture", "county", "viewer")
ROLE_LABELS_ZH: dict[str, str] = {
    "province": "省级",
    "prefecture": "州（市）级",
    "county": "县级",
    "viewer": "只读",
}
#: the level a role's region must have (viewer: prefecture or county, or none)
REGION_LEVELS: dict[str, tuple[str, ...]] = {
    "province": (),
    "prefecture": ("prefecture",),
    "county": ("county",),
    "viewer": ("prefecture", "county"),
}
MIN_PASSWORD = 8
_NAME = re.compile(r"^[\w.\-@]{1,64}$")
_HASHER = PasswordHasher()
#: verified against when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash("onemap-no-such-user")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    role TEXT NOT NULL,
    region TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_log (
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    name TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


def users_path(
    path: str | os.PathLike[str] | None = None, store: str | os.PathLike[str] | None = None
) -> Path:
    """The accounts file: ``path``, else ``$ONEMAP_USERS``, else next to the store.

    Parameters
    ----------
    path
        An explicit accounts file.
    store
        The store whose neighbour is the default (see ``settings.store_path``).

    Returns
    -------
    Path
        Where the accounts live (the file may not exist yet: no account).
    """
    if path is not None:
        return Path(path)
    env = os.environ.get("ONEMAP_USERS")
    if env:
        return Path(env)
    return beside(store_path(store), "/onemap-users.sqlite")


def writer(account: str | None = None) -> str:
    """Who a write is recorded as: the one helper for every write (imports, rebuilds, rollbacks,
    account changes, the lock's holder), from the command line or the dashboard.

    Parameters
    ----------
    account
        The signed-in account's name (the dashboard with accounts), recorded as
        ``NAME（账户）``; None: the operating-system user running this process (the command
        line, or the dashboard in single-user mode).

    Returns
    -------
    str
    """
    if account:
        return f"{account}（账户）"
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (e.g. a container)
        return f"uid {os.getuid()}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_region(role: str, region: str | None, known: Collection[str] | None = None) -> str | None:
    """Validate a role's region and return it as a 12-digit code (None for no region).

    Parameters
    ----------
    role
        One of ``ROLES``.
    region
        A 6- or 12-digit prefecture or county code, or None.
    known
        The 12-digit codes of the store's ``admin_units`` (None: no store to check against).

    Returns
    -------
    str or None
        The 12-digit region code.

    Raises
    ------
    AccountError
        Unknown role, missing or superfluous region, a code of the wrong level or unknown.
    """
    if role not in ROLES:
        raise AccountError(f"未知角色 unknown role {role!r}: choose one of {', '.join(ROLES)}")
    levels = REGION_LEVELS[role]
    if region is None or not str(region).strip():
        if role in ("prefecture", "county"):
            raise AccountError(f"角色 {role} 需要 --region（{role} 的 6 位或 12 位代码）")
        return None
    text = str(region).strip()
    if not levels:
        raise AccountError("province 角色不带 --region: the province role sees everything")
    if not (text.isdigit() and len(text) in (6, 12)):
        raise AccountError(
            f"区域代码须为 6 位或 12 位数字: region {text!r} is not a 6/12-digit code"
        )
    code = S.pad_code(text)
    if not code.startswith("53") or S.level_of(code) not in levels:
        raise AccountError(
            f"区域 {text} 不是云南的{'或'.join(levels)}级代码: role {role} needs a "
            f"{' or '.join(levels)} code of Yunnan (53…)"
        )
    if known is not None and code not in known:
        raise AccountError(f"区域 {text} 不在数据库的行政区划中: region {text} is not in the store")
    return code


@dataclass(frozen=True)
class User:
    """One account (never its hash)."""

    name: str
    role: str
    region: str | None
    created_at: str
    created_by: str
    changed_at: str
    changed_by: str


def _check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AccountError(f"用户名 {name!r} 无效: 1–64 letters, digits, _ . - @ (no spaces)")
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"密码至少 {MIN_PASSWORD} 个字符: password needs {MIN_PASSWORD}+ characters"
        )
    return password


class Accounts:
    """The accounts file: add, remove, change passwords, list and verify sign-ins.

    Parameters
    ----------
    path
        The SQLite file (see :func:`users_path`); created by the first :meth:`add`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        """True when at least one account exists (the file is not created by asking)."""
        if not self.path.is_file():
            return False
        with self._db() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    @contextlib.contextmanager
    def _db(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise AccountError(
                f"没有账户文件 no accounts file {self.path}: add one with `onemap user add`"
            )
        new = not self.path.exists()
        try:
            if new:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            db = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"账户文件无法打开 cannot open accounts file {self.path}: {e}") from e
        try:
            with db:
                db.executescript(_SCHEMA)
                yield db
        except sqlite3.Error as e:
            raise StoreError(f"账户文件无法读写 accounts file {self.path}: {e}") from e
        finally:
            db.close()

    @staticmethod
    def _log(db: sqlite3.Connection, actor: str, action: str, name: str, detail: str = "") -> None:
        db.execute(
            "INSERT INTO account_log VALUES (?, ?, ?, ?, ?)", (_now(), actor, action, name, detail)
        )

    def add(
        self,
        name: str,
        password: str,
        role: str,
        region: str | None = None,
        *,
        by: str,
        known: Collection[str] | None = None,
    ) -> User:
        """Add an account; ``by`` is who adds it, ``known`` the store's unit codes (if any).

        Parameters
        ----------
        name, password, role, region
            The account (see :func:`check_region` for the region).
        by
            Who makes the change (recorded).
        known
            Codes of the store's ``admin_units`` to validate the region against.

        Returns
        -------
        User
            The new account.
        """
        _check_name(name)
        code = check_region(role, region, known)
        _check_password(password)
        now = _now()
        with self._db(create=True) as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(
                    f"用户 {name} 已存在 user {name} exists: use `onemap user passwd`"
                )
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, _HASHER.hash(password), role, code, now, by, now, by),
            )
            self._log(db, by, "add", name, f"role={role} region={code or ''}")
        return User(name, role, code, now, by, now, by)

    def remove(self, name: str, *, by: str) -> None:
        """Remove account ``name`` (``by``: who removes it)."""
        with self._db() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"没有用户 {name}: no such user")
            self._log(db, by, "remove", name)

    def passwd(self, name: str, password: str, *, by: str) -> None:
        """Set a new password for ``name`` (``by``: who sets it)."""
        _check_password(password)
        with self._db() as db:
            cur = db.execute(
                "UPDATE users SET hash = ?, changed_at = ?, changed_by = ? WHERE name = ?",
                (_HASHER.hash(password), _now(), by, name),
            )
            if cur.rowcount == 0:
                raise AccountError(f"没有用户 {name}: no such user")
            self._log(db, by, "passwd", name)

    def list(self) -> list[User]:
        """Every account, by name (empty while the file does not exist)."""
        if not self.path.is_file():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT name, role, region, created_at, created_by, changed_at, changed_by "
                "FROM users ORDER BY name"
            ).fetchall()
        return [User(*r) for r in rows]

    def get(self, name: str) -> User | None:
        """The account ``name``, or None."""
        return next((u for u in self.list() if u.name == name), None)

    def log(self) -> list[tuple[str, str, str, str, str]]:
        """The change log: (at, actor, action, name, detail) rows, oldest first."""
        if not self.path.is_file():
            return []
        with self._db() as db:
            return db.execute("SELECT * FROM account_log ORDER BY rowid").fetchall()

    def verify(self, name: str, password: str) -> User | None:
        """The account when ``password`` is right for ``name``, else None (same cost either way)."""
        row = None
        if self.path.is_file():
            with self._db() as db:
                row = db.execute(
                    "SELECT hash, name, role, region, created_at, created_by, changed_at, "
                    "changed_by FROM users WHERE name = ?",
                    (name,),
                ).fetchone()
        try:
            _HASHER.verify(row[0] if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return User(*row[1:]) if row else None


class Throttle:
    """Growing delays after failed sign-ins, per user name (shared by every session).

    After ``n`` failures in a row the next attempt waits ``min(base * 2**(n-1), cap)`` seconds
    (the first failure costs nothing extra); a success clears the name.

    Parameters
    ----------
    base
        Delay after the first failure, seconds.
    cap
        The longest delay, seconds.
    """

    def __init__(self, base: float = 1.0, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def failures(self, name: str) -> int:
        """Failed sign-ins in a row for ``name``."""
        with self._lock:
            return self._failures.get(name, 0)

    def delay(self, name: str) -> float:
        """Seconds to wait before checking the next attempt for ``name``."""
        n = self.failures(name)
        return 0.0 if n == 0 else min(self.base * 2 ** (n - 1), self.cap)

    def failed(self, name: str) -> int:
        """Record a failure for ``name``; returns the failures in a row."""
        with self._lock:
            self._failures[name] = self._failures.get(name, 0) + 1
            if len(self._failures) > 10_000:  # bounded: forget the oldest names
                self._failures.pop(next(iter(self._failures)))
            return self._failures[name]

    def succeeded(self, name: str) -> None:
        """Clear ``name``'s failures."""
        with self._lock:
            self._failures.pop(name, None)
