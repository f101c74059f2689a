"""Class breaks for choropleths, shared by the dashboard map and the static exports.

``class_breaks`` returns the upper bound of each class (ascending; the last is the maximum), the
same convention as ``mapclassify``. ``assign_classes`` maps values to class indices with those
breaks, so a map drawn from fixed breaks (a dashboard view) classifies exactly like its export.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "SCHEMES",
    "assign_classes",
    "class_breaks",
    "class_labels",
]


SCHEMES: tuple[str, ...] = (
    "quantiles",
    "natural_breaks",
    "fisher_jenks",
    "equal_interval",
    "jenks_caspall",
)
_CLASSIFIERS = {  # mapclassify class names, imported on first use (it pulls in sklearn,
    # scipy.stats and matplotlib: ~3 s of the dashboard's first load)
    "quantiles": "Quantiles",
    "natural_breaks": "NaturalBreaks",
    "fisher_jenks": "FisherJenks",
    "equal_interval": "EqualInterval",
    "jenks_caspall": "JenksCaspall",
}


def _quantile_bins(arr: np.ndarray, k: int) -> np.ndarray:
    """``mapclassify.Quantiles(arr, k).bins`` computed the same way with numpy alone."""
    w = 100.0 / k
    p = np.arange(w, 100 + w, w)
    if p[-1] > 100.0:
        p[-1] = 100.0
    return np.unique(np.percentile(arr, p))


def class_breaks(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    k: int = 5,
    scheme: str = "quantiles",
) -> np.ndarray:
    """Return ascending upper class bounds of ``values`` (NaN ignored) for ``scheme``.

    Fewer than ``k`` classes come back when the values have fewer distinct values than ``k``
    (one class per distinct value), so a legend never shows empty or repeated classes.

    Parameters
    ----------
    values
        The metric values of the units on the map.
    k
        Number of classes wanted (at least 1).
    scheme
        One of ``SCHEMES``.

    Examples
    --------
    >>> class_breaks([0.1, 0.2, 0.3, 0.4], k=2).tolist()
    [0.25, 0.4]
    """
    if scheme not in _CLASSIFIERS:
        raise ValueError(f"`scheme` was {scheme!r} but is expected to be one of {list(SCHEMES)}")
    if k < 1:
        raise ValueError(f"`k` was {k} but must be at least 1")
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError("`values` has no finite value to classify (all empty or NaN)")
    distinct = np.unique(arr)
    if distinct.size <= k:
        return distinct.astype(float)
    with warnings.catch_warnings():
        # mapclassify warns when ties make it return fewer classes; we de-duplicate below
        warnings.simplefilter("ignore", UserWarning)
        if scheme == "quantiles":
            bins = _quantile_bins(arr, k)
        else:
            import mapclassify

            classifier = getattr(mapclassify, _CLASSIFIERS[scheme])
            bins = np.asarray(classifier(arr, k=k).bins, dtype=float)
    bins = np.unique(np.round(bins, 12))
    bins[-1] = max(bins[-1], distinct[-1])
    return bins


def assign_classes(
    values: Sequence[float] | np.ndarray | pd.Series, breaks: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Return the class index (0-based) of each value for upper bounds ``breaks``; -1 for NaN.

    A value above the last break falls in the last class, so fixed breaks computed on another
    selection still colour every unit.

    Parameters
    ----------
    values
        The metric values; non-numeric and NaN values get -1.
    breaks
        Strictly ascending class upper bounds, e.g. from ``class_breaks``.
    """
    b = np.asarray(breaks, dtype=float)
    if b.ndim != 1 or b.size == 0 or np.any(np.diff(b) <= 0):
        raise ValueError(f"`breaks` must be a non-empty strictly ascending sequence, got {list(b)}")
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    idx = np.searchsorted(b, arr, side="left")
    idx = np.minimum(idx, b.size - 1)
    return np.where(np.isfinite(arr), idx, -1).astype(int)


def class_labels(
    breaks: Sequence[float] | np.ndarray,
    *,
    lower: float | None = None,
    fmt: str = "{:.1%}",
) -> list[str]:
    """Return one legend label per class, e.g. ``"90.0% – 95.0%"``.

    ``lower`` is the minimum of the data (the first class starts there); without it the first
    label reads ``"≤ b0"``.

    Parameters
    ----------
    breaks
        Ascending class upper bounds.
    lower
        Minimum of the data, or None for a first label ``"≤ b0"``.
    fmt
        ``str.format`` pattern of one bound (default: a percentage with one decimal).
    """
    b = [float(x) for x in breaks]
    labels = []
    for i, hi in enumerate(b):
        lo = lower if i == 0 else b[i - 1]
        if lo is None:
            labels.append(f"≤ {fmt.format(hi)}")
        elif np.isclose(lo, hi):
            labels.append(fmt.format(hi))
        else:
            labels.append(f"{fmt.format(lo)} – {fmt.format(hi)}")
    return labels
