"""Chinese number formatting: 万, 亿, %, 万元 — scalars and their vectorised twins agree."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layers.present import fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (8500, "8,500"),
        (9999, "9,999"),
        (10000, "1万"),
        (12137, "1.21万"),
        (192000, "19.2万"),
        (44.2e4, "44.2万"),
        (1e8, "1亿"),
        (1.84122e11, "1,841.22亿"),
        (-25000, "-2.5万"),
        (12.5, "12.5"),
    ],
)
def test_fmt_count_uses_wan_and_yi(value: float, expected: str) -> None:
    assert fmt.fmt_count(value) == expected


def test_fmt_count_appends_unit() -> None:
    assert fmt.fmt_count(192000, unit="个") == "19.2万个"
    assert fmt.fmt_count(1.84122e11, unit="元") == "1,841.22亿元"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, np.nan])
def test_missing_values_show_a_dash(missing: object) -> None:
    assert fmt.fmt_count(missing) == "—"
    assert fmt.fmt_pct(missing) == "—"
    assert fmt.fmt_wan_yuan(missing) == "—"
    assert fmt.fmt_int(missing) == "—"


@pytest.mark.parametrize(
    ("value", "expected"), [(0.977, "97.7%"), (0.989, "98.9%"), (1, "100.0%"), (0.0004, "0.0%")]
)
def test_fmt_pct_takes_a_fraction(value: float, expected: str) -> None:
    assert fmt.fmt_pct(value) == expected


def test_fmt_pct_digits() -> None:
    assert fmt.fmt_pct(0.12345, digits=2) == "12.35%"


@pytest.mark.parametrize(
    ("wan", "expected"),
    [
        (1234.5, "1,234.5万元"),
        (10, "10万元"),
        (10000, "1亿元"),
        (184122, "18.41亿元"),
        (0, "0万元"),
    ],
)
def test_fmt_wan_yuan_switches_to_yi_at_ten_thousand_wan(wan: float, expected: str) -> None:
    assert fmt.fmt_wan_yuan(wan) == expected


def test_fmt_int_separates_thousands() -> None:
    assert fmt.fmt_int(12137) == "12,137"
    assert fmt.fmt_int(192000.4) == "192,000"


def test_series_twins_keep_the_index_and_mark_missing() -> None:
    s = pd.Series([8500, 192000, None, 1.84122e11], index=[10, 11, 12, 13])
    out = fmt.fmt_count_series(s, unit="个")
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist() == ["8,500个", "19.2万个", "—", "1,841.22亿个"]
    pct = fmt.fmt_pct_series(pd.Series([0.977, np.nan]))
    assert pct.tolist() == ["97.7%", "—"]
    funds = fmt.fmt_wan_yuan_series(pd.Series([1234.5, 184122.0, None]))
    assert funds.tolist() == ["1,234.5万元", "18.41亿元", "—"]


def test_series_twins_do_not_mutate_input() -> None:
    s = pd.Series([0.5, 0.25])
    before = s.copy()
    fmt.fmt_pct_series(s)
    fmt.fmt_count_series(s)
    pd.testing.assert_series_equal(s, before)


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(finite)
def test_scalar_and_series_count_agree(x: float) -> None:
    assert fmt.fmt_count_series(pd.Series([x])).iloc[0] == fmt.fmt_count(x)


@given(finite)
def test_scalar_and_series_pct_agree(x: float) -> None:
    assert fmt.fmt_pct_series(pd.Series([x])).iloc[0] == fmt.fmt_pct(x)


@given(finite)
def test_scalar_and_series_funds_agree(x: float) -> None:
    assert fmt.fmt_wan_yuan_series(pd.Series([x])).iloc[0] == fmt.fmt_wan_yuan(x)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_fmt_count_round_trips_its_magnitude(x: float) -> None:
    text = fmt.fmt_count(x).replace(",", "")
    if text.endswith("亿"):
        back = float(text[:-1]) * 1e8
    elif text.endswith("万"):
        back = float(text[:-1]) * 1e4
    else:
        back = float(text)
    assert math.isclose(back, x, rel_tol=1e-2, abs_tol=0.01)


def test_series_twins_accept_an_empty_series() -> None:
    empty = pd.Series([], dtype="float64")
    assert fmt.fmt_count_series(empty).empty
    assert fmt.fmt_wan_yuan_series(empty).empty
    assert fmt.fmt_pct_series(empty).empty


def test_axis_labels_follow_the_language() -> None:
    """A chart's axis reads 1.2万 in Chinese and 12,000 in English (no 万 on an English page)."""
    assert fmt.axis_labels("count") == fmt.COUNT_AXIS and "万" in fmt.COUNT_AXIS
    assert fmt.axis_labels("funds") == fmt.FUNDS_AXIS
    for kind in ("count", "funds"):
        assert not re.search(r"[\u3400-\u9fff]", fmt.axis_labels(kind, "en"))
    assert fmt.axis_labels("funds", "en").endswith("+ 'M'")
