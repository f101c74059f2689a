"""The input hashes ``build_info`` records: the boundaries' and registry's SHA-256, and the
projects' from one digest per county, so that an import of one county hashes that county's
rows only (the others' digests are the store's, recorded under ``projects_by_county``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers import schema as S
from layers import store

__all__ = ["input_hashes", "project_digests", "projects_sha256"]


def project_digests(
    projects: pd.DataFrame, *, known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """SHA-256 of each county's ledger rows (``store.table_sha256_by`` on the county code).

    Parameters
    ----------
    projects
        The ledger as ingested (``located_by`` is left out).
    known
        Digests of counties whose rows are known to be unchanged (an import's kept counties):
        reused, the other counties' rows are hashed.

    Returns
    -------
    dict
        County code → hex digest, sorted by code.
    """
    ledger = projects.drop(columns=S.LOCATED_BY, errors="ignore")
    if not known:
        return dict(sorted(store.table_sha256_by(ledger, S.COUNTY_CODE).items()))
    codes = pa.array(ledger[S.COUNTY_CODE].astype("str").fillna(""), type=pa.large_string())
    kept = pc.is_in(codes, value_set=pa.array(list(known), type=pa.large_string()))
    kept = kept.to_numpy(zero_copy_only=False)
    present = {str(c) for c in pc.unique(pc.filter(codes, kept)).to_pylist()}
    out = {c: d for c, d in known.items() if c in present}
    out.update(store.table_sha256_by(ledger[~kept], S.COUNTY_CODE))
    return dict(sorted(out.items()))


def projects_sha256(projects: pd.DataFrame, digests: Mapping[str, str]) -> str:
    """The projects' input hash: the row count, the county codes in ledger order (how the
    counties interleave) and each county's :func:`project_digests` digest.

    Parameters
    ----------
    projects
        The ledger as ingested.
    digests
        Its :func:`project_digests`.

    Returns
    -------
    str
        Hex digest.
    """
    order = store.table_sha256(pd.DataFrame({S.COUNTY_CODE: projects[S.COUNTY_CODE]}))
    lines = ";".join(f"{c}={d}" for c, d in sorted(digests.items()))
    return hashlib.sha256(f"rows={len(projects)}|{order}|{lines}".encode()).hexdigest()


def input_hashes(
    inputs: store.Inputs,
    *,
    known: Mapping[str, str | None] | None = None,
    known_counties: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """SHA-256 of each input table as ``build_info`` records them, and of each county's projects.

    The boundaries and registry are hashed whole (``store.table_sha256``); the projects county
    by county (:func:`project_digests`), so that an import of one county hashes that county's
    rows only (:func:`projects_sha256` combines them).

    Parameters
    ----------
    inputs
        The inputs.
    known
        Hashes already known (of tables unchanged since they were recorded).
    known_counties
        Digests of counties whose projects are unchanged since they were recorded.

    Returns
    -------
    tuple of dict
        Table name → hex digest; county code → hex digest of its projects.
    """
    known = known or {}
    out = {
        S.LAYER_ADMIN_UNITS: known.get(S.LAYER_ADMIN_UNITS)
        or store.table_sha256(inputs.admin_units),
        S.LAYER_REGISTRY: known.get(S.LAYER_REGISTRY) or store.table_sha256(inputs.registry),
    }
    digests = project_digests(inputs.projects, known=known_counties)
    out[S.LAYER_PROJECTS] = known.get(S.LAYER_PROJECTS) or projects_sha256(inputs.projects, digests)
    return out, digests
