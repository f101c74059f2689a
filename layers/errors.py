"""The one error hierarchy of OneMap: the CLI and the app catch ``USER_ERRORS`` once."""

from __future__ import annotations

import re

from geo.errors import GeoError

__all__ = [
    "USER_ERRORS",
    "AccessError",
    "AccountError",
    "BoundaryError",
    "ExportError",
    "LedgerError",
    "OneMapError",
    "StaleStoreError",
    "StoreError",
    "public_message",
]


class OneMapError(Exception):
    """Root of every error OneMap raises on purpose; its message is shown to the user as is."""


class LedgerError(OneMapError, ValueError):
    """A project ledger or registry file cannot be used (names file, row and column)."""


class BoundaryError(OneMapError, ValueError):
    """A boundary file or layer is unusable (missing CRS, broken hierarchy, bad codes)."""


class StoreError(OneMapError, OSError):
    """The GeoPackage store is missing, unreadable or cannot be written."""


class StaleStoreError(StoreError):
    """The store got a new revision after an import was checked; check it again (``landed``
    names the revisions written since)."""

    def __init__(self, message: str, landed: list[int] | None = None) -> None:
        super().__init__(message)
        self.landed = list(landed or [])


class ExportError(OneMapError, RuntimeError):
    """A map, table or pack export cannot be produced (e.g. no CJK font installed)."""


class AccountError(OneMapError, ValueError):
    """An account cannot be added or changed (bad name, role, region or password)."""


class AccessError(OneMapError, PermissionError):
    """A request outside the signed-in account's scope (region or rights)."""


#: what the CLI and the pages catch at their boundary and show as one line: OneMap's own errors
#: and those of the domain-free ``geo`` package
USER_ERRORS: tuple[type[Exception], ...] = (OneMapError, GeoError)


#: an absolute path (POSIX or Windows) in a message: a run of non-blank, non-quote characters
_ABSOLUTE_PATH = re.compile(r"""(?<![\w.:/])(?:[A-Za-z]:\\|/)(?:[^\s'"`,;:()]+[/\\])+""")


def public_message(error: BaseException) -> str:
    """The first line of ``error``'s message with directories cut from absolute paths.

    What a page may show a visitor: ``could not write store /srv/onemap/data/onemap.gpkg: …``
    becomes ``could not write store onemap.gpkg: …`` (the server's layout stays on the server).
    """
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return _ABSOLUTE_PATH.sub("", first)
