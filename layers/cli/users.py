"""``onemap user add|list|remove|passwd``: the dashboard's accounts (``layers.accounts``).

The command line runs as the OS user on the server, with province rights; every change is
recorded in the accounts file's log with that OS user and the time.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from layers import schema as S
from layers import store
from layers.accounts import ROLE_LABELS_ZH, ROLES, Accounts, users_path, writer
from layers.cli.options import add_store
from layers.errors import AccountError
from layers.settings import store_path

__all__ = ["read_password", "register"]


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, else typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 password: ")
    if getpass.getpass("再输一次 again: ") != first:
        raise AccountError("两次输入的密码不一致 the passwords differ")
    return first


def _accounts(args: argparse.Namespace) -> Accounts:
    return Accounts(users_path(args.users, args.store))


def _known_units(args: argparse.Namespace) -> set[str] | None:
    """The store's unit codes to check a region against (None when there is no store)."""
    path = store_path(args.store)
    if not store.exists(path):
        return None
    units = store.read_layer(path, S.LAYER_ADMIN_UNITS, columns=[S.CODE])
    return set(units[S.CODE].astype(str))


def _cmd_add(args: argparse.Namespace) -> int:
    known = _known_units(args) if args.region else None
    accounts = _accounts(args)
    user = accounts.add(
        args.name,
        read_password(args.password_stdin),
        args.role,
        args.region,
        by=writer(),
        known=known,
    )
    print(
        f"已添加用户 added {user.name} · {ROLE_LABELS_ZH[user.role]} {user.region or ''}".rstrip()
    )
    print(f"账户文件 accounts file: {accounts.path}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    users = accounts.list()
    if not users:
        print(f"没有账户：单用户模式（仅本机） no accounts ({accounts.path})")
        return 0
    print(f"{'name':<20}{'role':<12}{'region':<14}{'changed':<27}by")
    for u in users:
        print(f"{u.name:<20}{u.role:<12}{u.region or '-':<14}{u.changed_at:<27}{u.changed_by}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    _accounts(args).remove(args.name, by=writer())
    print(f"已删除用户 removed {args.name}")
    return 0


def _cmd_passwd(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    if accounts.get(args.name) is None:
        raise AccountError(f"没有用户 {args.name}: no such user")
    accounts.passwd(args.name, read_password(args.password_stdin), by=writer())
    print(f"已修改密码 password changed for {args.name}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    add_store(p)
    p.add_argument(
        "--users",
        metavar="PATH",
        help="accounts file (default: $ONEMAP_USERS, else onemap-users.sqlite next to the store)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``user`` (add, list, remove, passwd) to the ``onemap`` parser."""
    p = subparsers.add_parser("user", help="账户 accounts of the dashboard (sign-in and regions)")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", parser_class=type(p))
    sub.required = True
    add = sub.add_parser("add", help="添加账户 add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--region", metavar="CODE", help="prefecture or county code (6 or 12 digits)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(add)
    add.set_defaults(func=_cmd_add)
    ls = sub.add_parser("list", help="列出账户 list the accounts")
    _common(ls)
    ls.set_defaults(func=_cmd_list)
    rm = sub.add_parser("remove", help="删除账户 remove an account")
    rm.add_argument("name")
    _common(rm)
    rm.set_defaults(func=_cmd_remove)
    pw = sub.add_parser("passwd", help="修改密码 set a new password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(pw)
    pw.set_defaults(func=_cmd_passwd)
