"""Paper for printed maps: ISO A4/A3 sizes in millimetres, inches and pixels, page layouts."""

from __future__ import annotations

__all__ = ["LAYOUTS", "MM_PER_INCH", "ORIENTATIONS", "PAPER_MM", "paper_inches", "pixel_size"]

PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")
MM_PER_INCH = 25.4

# Page regions as figure fractions (left, bottom, width, height); tests look for ink in them.
LAYOUTS: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "landscape": {
        "title": (0.03, 0.90, 0.94, 0.08),
        "map": (0.03, 0.13, 0.68, 0.76),
        "legend": (0.74, 0.50, 0.23, 0.39),
        "locator": (0.74, 0.16, 0.23, 0.30),
        "footer": (0.03, 0.01, 0.94, 0.10),
    },
    "portrait": {
        "title": (0.05, 0.92, 0.90, 0.06),
        "map": (0.05, 0.33, 0.90, 0.58),
        "legend": (0.05, 0.10, 0.55, 0.21),
        "locator": (0.65, 0.10, 0.30, 0.21),
        "footer": (0.05, 0.01, 0.90, 0.08),
    },
}


def paper_inches(paper: str = "A4", orientation: str = "landscape") -> tuple[float, float]:
    """Return (width, height) in inches of ``paper`` (A4|A3) in ``orientation``.

    Parameters
    ----------
    paper
        ``"A4"`` or ``"A3"``.
    orientation
        ``"landscape"`` or ``"portrait"``.
    """
    if paper not in PAPER_MM:
        raise ValueError(f"`paper` was {paper!r} but is expected to be one of {list(PAPER_MM)}")
    if orientation not in ORIENTATIONS:
        raise ValueError(
            f"`orientation` was {orientation!r} but is expected to be one of {list(ORIENTATIONS)}"
        )
    short, long_ = (x / MM_PER_INCH for x in PAPER_MM[paper])
    return (long_, short) if orientation == "landscape" else (short, long_)


def pixel_size(paper: str, orientation: str, dpi: int) -> tuple[int, int]:
    """Return the (width, height) in pixels of a PNG of ``paper`` at ``dpi``.

    Parameters
    ----------
    paper
        ``"A4"`` or ``"A3"``.
    orientation
        ``"landscape"`` or ``"portrait"``.
    dpi
        Dots per inch.
    """
    w, h = paper_inches(paper, orientation)
    return round(w * dpi), round(h * dpi)
