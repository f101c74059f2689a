"""Settings: defaults read by functions only when their own argument is None.

``DATA_DIR`` holds the shipped county facts, zones and column map: ``data/`` in a checkout, the
``layers.data`` package in an installed wheel. ``store_path()`` resolves the store: an explicit
path, else ``$ONEMAP_STORE``, else ``data/onemap.gpkg`` in a checkout or ``onemap.gpkg`` in the
working directory of an installed copy.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = [
    "CAMPAIGN_YEARS",
    "DATA_DIR",
    "DEFAULT_SEED",
    "EXIT_YEAR_RANGE",
    "INPUT_LIMITS",
    "METRIC_CRS",
    "PROJECT_ROOT",
    "SESSION_HOURS_DEFAULT",
    "STORAGE_CRS",
    "session_hours",
    "store_path",
]

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
#: a source checkout (editable install or tests) has the dashboard next to the packages
_CHECKOUT: bool = (PROJECT_ROOT / "app.py").is_file() and (PROJECT_ROOT / "data").is_dir()
DATA_DIR: Path = (
    PROJECT_ROOT / "data" if _CHECKOUT else Path(str(resources.files("layers") / "data"))
)
STORAGE_CRS: str = "EPSG:4326"
#: Albers equal-area for Yunnan (DESIGN §3): areas and distances are computed here.
METRIC_CRS: str = "+proj=aea +lat_1=22 +lat_2=28 +lon_0=101.5 +ellps=GRS80 +units=m +no_defs"
DEFAULT_SEED: int = 2020
EXIT_YEAR_RANGE: tuple[int, int] = (2016, 2020)
#: plan years of the campaign: a ledger row planned outside them is reported and refused unless
#: the steward allows later years (``onemap import --allow-later-years``)
CAMPAIGN_YEARS: tuple[int, int] = (2014, 2020)
#: what an imported table may hold, checked before it is parsed (``layers.ingest.limits``).
#: Sized from the demo's largest county ledger (BENCHMARKS.md "Bounded input") with a wide
#: margin; a province merging every county into one file may raise them here.
INPUT_LIMITS: dict[str, float] = {
    "file_mb": 50,  # bytes of one file (also .streamlit/config.toml server.maxUploadSize)
    "unpacked_mb": 200,  # an .xlsx's members, uncompressed, together
    "pack_ratio": 100,  # uncompressed / compressed of an .xlsx (checked above 20 MB unpacked)
    "rows": 100_000,  # of one sheet or CSV
    "columns": 256,
    "cells": 5_000_000,  # rows × columns of one sheet
    # boundary files (.gpkg, .shp, .geojson, a zipped shapefile), checked before they are
    # unpacked or read: Yunnan has ~14,500 townships and villages; a detailed province-wide
    # village layer is a few hundred MB
    "boundary_mb": 500,  # a boundary file's bytes, and a .zip's members unpacked together
    "boundary_members": 50,  # files in a zipped boundary upload
    "features": 100_000,  # features of one boundary layer
}


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.split("://", 1)[0] in ("postgresql", "postgres")


def store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: ``path``, else ``$ONEMAP_STORE``, else ``data/onemap.gpkg``.

    A ``postgresql://…`` URL (a PostGIS store) is returned as the string itself.
    """
    if path is not None:
        return path if _is_url(path) else Path(path)  # type: ignore[return-value]
    env = os.environ.get("ONEMAP_STORE")
    if env:
        return env if _is_url(env) else Path(env)  # type: ignore[return-value]
    return DATA_DIR / "onemap.gpkg" if _CHECKOUT else Path.cwd() / "onemap.gpkg"


#: hours of inactivity after which a signed-in dashboard session expires
SESSION_HOURS_DEFAULT: float = 8.0


def session_hours(hours: float | None = None) -> float:
    """Session timeout in hours: ``hours``, else ``$ONEMAP_SESSION_HOURS``, else 8."""
    if hours is not None:
        return float(hours)
    env = os.environ.get("ONEMAP_SESSION_HOURS", "").strip()
    try:
        value = float(env) if env else SESSION_HOURS_DEFAULT
    except ValueError:
        return SESSION_HOURS_DEFAULT
    return value if value > 0 else SESSION_HOURS_DEFAULT
