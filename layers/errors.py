"""The one error hierarchy of OneMap: the CLI and the app catch ``USER_ERRORS`` once."""

from __future__ import annotations

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
