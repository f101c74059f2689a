"""Errors raised by ``geo``: a root class mixed with the built-in each one refines."""

from __future__ import annotations

__all__ = ["CRSError", "GeoError", "GeoFileError", "GeometryError"]


class GeoError(Exception):
    """Root of every error ``geo`` raises on purpose; its message is meant for the user."""


class CRSError(GeoError, ValueError):
    """A coordinate reference system is missing, unknown or wrong for the data."""


class GeoFileError(GeoError, ValueError):
    """A vector or raster file cannot be read (missing, wrong kind, empty, unreadable)."""


class GeometryError(GeoError, ValueError):
    """Geometries are not of the kind an operation needs (e.g. polygons for a coverage)."""
