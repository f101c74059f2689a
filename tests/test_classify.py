"""Class breaks shared by the dashboard map and the static exports."""

from __future__ import annotations

import numpy as np
import pytest

from geo.classify import SCHEMES, assign_classes, class_breaks, class_labels


@pytest.mark.parametrize("scheme", SCHEMES)
def test_breaks_ascend_and_end_at_the_maximum(scheme: str) -> None:
    values = np.linspace(0.5, 1.0, 40)
    breaks = class_breaks(values, k=5, scheme=scheme)
    assert 1 < len(breaks) <= 5
    assert np.all(np.diff(breaks) > 0)
    assert breaks[-1] == pytest.approx(1.0)


def test_quantile_breaks_split_values_evenly() -> None:
    breaks = class_breaks(np.arange(1, 11, dtype=float), k=5)
    classes = assign_classes(np.arange(1, 11, dtype=float), breaks)
    assert np.bincount(classes).tolist() == [2, 2, 2, 2, 2]


def test_few_distinct_values_give_one_class_each_and_nan_is_ignored() -> None:
    breaks = class_breaks([0.9, 0.9, 1.0, np.nan], k=5)
    assert breaks.tolist() == [0.9, 1.0]
    assert assign_classes([0.9, 1.0, np.nan, 1.2], breaks).tolist() == [0, 1, -1, 1]


def test_fixed_breaks_classify_other_values_consistently() -> None:
    breaks = np.array([0.8, 0.9, 1.0])
    assert assign_classes([0.1, 0.8, 0.85, 0.95, 1.0], breaks).tolist() == [0, 0, 1, 2, 2]


def test_labels_read_as_ranges() -> None:
    assert class_labels([0.5, 0.75, 1.0], lower=0.25) == [
        "25.0% – 50.0%",
        "50.0% – 75.0%",
        "75.0% – 100.0%",
    ]
    assert class_labels([10.0], fmt="{:.0f}") == ["≤ 10"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [1.0], "scheme": "rainbow"}, "`scheme` was 'rainbow'"),
        ({"values": [1.0], "k": 0}, "`k` was 0"),
        ({"values": [np.nan]}, "no finite value"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    values = kwargs.pop("values")
    with pytest.raises(ValueError, match=message):
        class_breaks(values, **kwargs)


def test_breaks_must_ascend() -> None:
    with pytest.raises(ValueError, match="strictly ascending"):
        assign_classes([1.0], [1.0, 0.5])


@pytest.mark.parametrize("k", [2, 3, 5, 7, 8])
def test_numpy_quantiles_match_mapclassify(k: int) -> None:
    import warnings

    import mapclassify

    rng = np.random.default_rng(k)
    values = np.round(rng.random(298) * 100, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = mapclassify.Quantiles(values, k=k).bins
    np.testing.assert_allclose(class_breaks(values, k=k), expected, rtol=0, atol=1e-12)
