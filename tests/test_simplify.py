"""geo.simplify: coverage simplification keeps neighbours meeting; rounding; defect measure."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from geo.errors import GeoError
from geo.simplify import coverage_defects, round_coordinates, simplify_coverage


def _wiggly_coverage(n: int = 6, points_per_edge: int = 200) -> gpd.GeoDataFrame:
    """``n`` vertical strips of a 1×1 square whose shared edges are noisy sine waves."""
    rng = np.random.default_rng(0)
    ys = np.linspace(0.0, 1.0, points_per_edge)
    edges = [np.column_stack([np.zeros_like(ys), ys])]
    for i in range(1, n):
        x = i / n + 0.02 * np.sin(ys * 40) + rng.normal(0, 0.002, ys.size)
        edges.append(np.column_stack([x, ys]))
    edges.append(np.column_stack([np.ones_like(ys), ys]))
    polys = [Polygon(np.vstack([edges[i], edges[i + 1][::-1]])).buffer(0) for i in range(n)]
    return gpd.GeoDataFrame({"code": [f"u{i}" for i in range(n)]}, geometry=polys, crs=4326)


def test_coverage_simplify_removes_vertices_and_keeps_shared_borders() -> None:
    cov = _wiggly_coverage()
    out = simplify_coverage(cov, 0.01)
    before = shapely.get_num_coordinates(cov.geometry.to_numpy()).sum()
    after = shapely.get_num_coordinates(out.geometry.to_numpy()).sum()
    assert after < before / 3
    gaps, overlaps = coverage_defects(out)
    assert gaps == pytest.approx(0.0, abs=1e-12)
    assert overlaps == pytest.approx(0.0, abs=1e-12)
    # the union still fills the square (only the outer boundary may move slightly)
    assert shapely.union_all(out.geometry.to_numpy()).area == pytest.approx(1.0, rel=1e-3)


def test_plain_simplify_opens_gaps_that_the_measure_sees() -> None:
    cov = _wiggly_coverage()
    naive = cov.copy()
    naive["geometry"] = cov.geometry.simplify(0.01)
    gaps, overlaps = coverage_defects(naive)
    assert gaps + overlaps > 1e-4


def test_simplify_does_not_mutate_and_keeps_index_columns_crs() -> None:
    cov = _wiggly_coverage()
    cov.index = [10, 11, 12, 13, 14, 15]
    before = cov.copy()
    out = simplify_coverage(cov, 0.01)
    assert cov.geometry.equals(before.geometry)
    assert list(out.index) == [10, 11, 12, 13, 14, 15]
    assert list(out["code"]) == list(cov["code"])
    assert out.crs == cov.crs


def test_zero_tolerance_returns_an_equal_copy() -> None:
    cov = _wiggly_coverage(3, 20)
    out = simplify_coverage(cov, 0)
    assert out is not cov
    assert out.geometry.geom_equals(cov.geometry).all()


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), "no coordinate reference system"),
        (gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), "only Polygon/MultiPolygon"),
    ],
)
def test_bad_input_raises_boundary_error(frame: gpd.GeoDataFrame, match: str) -> None:
    with pytest.raises(GeoError, match=match):
        simplify_coverage(frame, 0.01)


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="`tolerance` was -1"):
        simplify_coverage(_wiggly_coverage(2, 10), -1)


def test_round_coordinates_snaps_vertices_and_keeps_coverage() -> None:
    cov = _wiggly_coverage(3, 50)
    out = round_coordinates(cov, 3)
    coords = shapely.get_coordinates(out.geometry.to_numpy())
    assert np.allclose(coords, np.round(coords, 3), atol=1e-12)
    assert out.is_valid.all()
    gaps, overlaps = coverage_defects(out)
    assert gaps < 1e-6 and overlaps < 1e-6
    with pytest.raises(ValueError, match="`decimals` was -2"):
        round_coordinates(cov, -2)
