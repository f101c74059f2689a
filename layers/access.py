"""Regional permissions: what an account may see and change (pure functions, no I/O).

The rules (issue #9):

=============  ===============================================  ==================================
role           sees                                             may change
=============  ===============================================  ==================================
province       everything                                       imports anywhere, rebuild, accounts
prefecture     aggregates of every region down to county        imports for its own counties
               level; projects, villages, townships, tables
               and downloads only inside its prefecture
county         the same, inside its county                      imports for its own county only
viewer         like the role of its region (none: province)     nothing
=============  ===============================================  ==================================

``scope_of(None)`` is the single-user mode (no account exists): everything, like province.
Pages are of three kinds: *aggregate* pages (总览, 重点区域) show regions down to county level,
so any region of the province or prefecture level is open to everyone and deeper regions only
inside the scope; *detail* pages (县级项目库, 乡级路线图, 村级施工图, 数据质量, 导出) show
projects, villages and tables, so their region must lie inside the scope (a region above the
scope is narrowed to the scope); the *write* page (数据导入) needs the right to import.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers import schema as S

__all__ = [
    "AGGREGATE_LEVELS",
    "AGGREGATE_PAGES",
    "DETAIL_PAGES",
    "FULL",
    "WRITE_PAGES",
    "Decision",
    "RevisionRights",
    "Scope",
    "check_page",
    "in_scope",
    "inside",
    "revision_rights",
    "scope_of",
]

#: levels whose regions every account sees as aggregates (their children are at most counties)
AGGREGATE_LEVELS: tuple[str, ...] = ("province", "prefecture")
AGGREGATE_PAGES: frozenset[str] = frozenset({"overview", "zones"})
DETAIL_PAGES: frozenset[str] = frozenset({"library", "roadmap", "village", "quality", "export"})
WRITE_PAGES: frozenset[str] = frozenset({"import_data"})


@dataclass(frozen=True)
class Scope:
    """What one session may do: its ``region`` (12-digit; the province = everything), whether it
    may import (``write``) and whether it may rebuild and manage accounts (``admin``)."""

    region: str = S.PROVINCE_CODE
    write: bool = True
    admin: bool = True

    @property
    def level(self) -> str:
        """Level of the scope's region."""
        return S.level_of(self.region)

    @property
    def everything(self) -> bool:
        """True when the scope is the whole province."""
        return self.region == S.PROVINCE_CODE

    def sees_detail(self, code: str) -> bool:
        """True when projects, villages and tables of region ``code`` may be shown."""
        return inside(code, self.region)

    def sees(self, code: str) -> bool:
        """True when region ``code`` may be shown on an aggregate page (its children listed)."""
        return S.level_of(code) in AGGREGATE_LEVELS or self.sees_detail(code)

    def may_import(self, county: str) -> bool:
        """True when projects of ``county`` may be imported."""
        return self.write and inside(county, self.region)


#: the single-user mode and the province role: everything
FULL = Scope()


def inside(code: str, region: str) -> bool:
    """True when ``code`` is ``region`` or lies below it (both 6- or 12-digit codes).

    Parameters
    ----------
    code
        The region asked for.
    region
        The region of a scope.

    Returns
    -------
    bool
        Whether ``code`` is inside ``region``.
    """
    code, region = S.pad_code(code), S.pad_code(region)
    level = S.level_of(region)
    if S.LEVELS.index(S.level_of(code)) < S.LEVELS.index(level):
        return False
    n = S.LEVEL_DIGITS[level]
    return code[:n] == region[:n]


def scope_of(user: object | None) -> Scope:
    """The scope of an account (anything with ``role`` and ``region``), None = single-user mode."""
    if user is None:
        return FULL
    role = str(user.role)
    region = S.pad_code(getattr(user, "region", None) or S.PROVINCE_CODE)
    if role == "province":
        return FULL
    if role == "viewer":
        return Scope(region=region, write=False, admin=False)
    return Scope(region=region, write=True, admin=False)


@dataclass(frozen=True)
class Decision:
    """What a page may show: ``allowed``, the ``region`` to show (narrowed to the scope on a
    detail page opened above it), and ``reason`` (a catalogue key) when refused or narrowed."""

    allowed: bool
    region: str
    reason: str | None = None


def check_page(scope: Scope, page: str, region: str) -> Decision:
    """Decide whether ``page`` may show ``region`` to a session of ``scope``.

    Parameters
    ----------
    scope
        The session's scope.
    page
        The page's url path (``overview``, ``library``, …, ``import_data``).
    region
        The region the view asks for (from the URL, the sidebar or a map click).

    Returns
    -------
    Decision
        Allowed as asked, allowed narrowed to the scope's region, or refused with a reason.
    """
    region = S.pad_code(region)
    if scope.everything and (scope.write or page not in WRITE_PAGES):
        return Decision(True, region)
    if page in WRITE_PAGES:
        if not scope.write:
            return Decision(False, region, "scope_no_write")
        return Decision(True, region if scope.sees_detail(region) else scope.region)
    if page in AGGREGATE_PAGES:
        if scope.sees(region):
            return Decision(True, region)
        return Decision(False, region, "scope_refused")
    if scope.sees_detail(region):
        return Decision(True, region)
    if inside(scope.region, region):  # a region above the scope: show the scope itself
        return Decision(True, scope.region, "scope_narrowed")
    return Decision(False, region, "scope_refused")


def in_scope(codes: pd.Series, scope: Scope) -> np.ndarray:
    """Boolean mask of the rows whose region code (e.g. a project's county) lies in ``scope``;
    a missing code is outside every scope but the province's.

    Parameters
    ----------
    codes
        12-digit region codes (county, township or village), may hold NA.
    scope
        The session's scope.

    Returns
    -------
    numpy.ndarray
        True for the rows inside the scope.
    """
    if scope.everything:
        return np.ones(len(codes), dtype=bool)
    n = S.LEVEL_DIGITS[scope.level]
    text = codes.astype("string").fillna("")
    return (text.str.len().eq(12) & text.str[:n].eq(scope.region[:n])).to_numpy(dtype=bool)


@dataclass(frozen=True)
class RevisionRights:
    """What a session may do with one logged revision (the 数据导入 page's history)."""

    listed: bool  # shown in the history at all
    download: bool  # its kept files and validation report may be downloaded
    rollback: bool  # it may be rolled back


def revision_rights(
    scope: Scope, counties: list[str], *, replace_all: bool, shared: bool = False
) -> RevisionRights:
    """The rights of ``scope`` over a revision that touched ``counties``.

    The province (and single-user mode) may do everything. Any other scope sees a revision
    that touched one of its counties (a replace-all touched them all); it may download the
    revision's files and report, and roll it back (if it may import), only when every county
    the revision touched is its own and it changed nothing shared by every county (units,
    registry, the whole ledger). Revisions that touched no county (rebuilds) are not listed.

    Parameters
    ----------
    scope
        The session's scope.
    counties
        12-digit codes of the counties whose projects the revision replaced.
    replace_all
        The revision replaced the whole ledger.
    shared
        The revision changed administrative units or the registry.

    Returns
    -------
    RevisionRights
    """
    if scope.everything:
        return RevisionRights(True, True, scope.write)
    mine = [c for c in counties if scope.sees_detail(c)]
    listed = replace_all or bool(mine)
    alone = bool(counties) and not (replace_all or shared) and len(mine) == len(counties)
    rollback = alone and all(scope.may_import(c) for c in counties)
    return RevisionRights(listed, alone, rollback)
