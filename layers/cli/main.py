"""The ``onemap`` command line: one entry point, one module per command.

Each command module defines ``register(subparsers)``; every parser it adds sets ``func``
(``set_defaults(func=...)``) to a callable taking the parsed ``argparse.Namespace`` and returning
an exit status (or None for 0). Commands parse, call the pipeline and print; any ``OneMapError``
(or ``geo`` error) ends the command with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from layers.build.pipeline import onemap_version
from layers.errors import USER_ERRORS

__all__ = ["COMMANDS", "main", "make_parser"]

#: command → the module that registers it; only the module of the command being run is imported
#: (maps and rasters load only for the commands that draw them)
COMMANDS: dict[str, str] = {
    "demo": "layers.cli.build",
    "build": "layers.cli.build",
    "summary": "layers.cli.summary",
    "import": "layers.cli.ingest",
    "export": "layers.cli.export",
    "audit": "layers.cli.audit",
    "history": "layers.cli.history",
    "rollback": "layers.cli.history",
    "user": "layers.cli.users",
    "store": "layers.cli.store",
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other OneMap failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``onemap`` parser: with ``command`` only its module registers, else every module."""
    parser = _Parser(
        prog="onemap", description="脱贫攻坚精准指挥“一张图” OneMap: build and query the store."
    )
    parser.add_argument("--version", action="version", version=f"onemap {onemap_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in wanted:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``onemap``; return the exit status (2 with one line on stderr for a OneMapError)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(_command_of(argv))
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        return func(args) or 0
    except USER_ERRORS as e:
        message = " ".join(str(e).split())
        print(f"onemap: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("onemap: interrupted; the previous store is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `onemap summary | head -1`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
