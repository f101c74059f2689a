"""Options several commands share: the store and the DEM."""

from __future__ import annotations

import argparse

__all__ = ["add_dem", "add_store"]


def add_dem(p: argparse.ArgumentParser, default: str) -> None:
    """``--dem PATH`` or ``--no-terrain`` (``default`` says what the DEM is without either).

    Parameters
    ----------
    p
        The subcommand's parser.
    default
        Help text of what is used when neither option is given.
    """
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--dem",
        metavar="PATH",
        help=f"高程 DEM (GeoTIFF or any GDAL raster) for elevation/slope; default: {default}",
    )
    which.add_argument(
        "--no-terrain", action="store_true", help="不计算地形 build the layers without terrain"
    )


def add_store(p: argparse.ArgumentParser) -> None:
    """``--store PATH`` (default: ``$ONEMAP_STORE``, else ``data/onemap.gpkg``)."""
    p.add_argument(
        "--store",
        metavar="PATH",
        help="store: a GeoPackage file or postgresql://user@host:port/db[?schema=NAME] "
        "(default: $ONEMAP_STORE, else data/onemap.gpkg)",
    )
