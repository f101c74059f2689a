"""Tests for geo.partition: children tile their parent (valid, inside, no overlaps, full area)."""

from __future__ import annotations

import geopandas as gpd
import geopandas.testing
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from geo import crs as geocrs
from geo import partition
from geo.errors import CRSError
from layers import schema
from layers.demo import boundaries
from layers.settings import METRIC_CRS

#: floating-point overlays leave vertices ~1e-15 off the edges they split; judge by area
NOISE = 1e-9

# a concave "C" polygon about 40 × 40 km, and a 2-part polygon, near Kunming in lon/lat
C_SHAPE = Polygon(
    [(102.5, 24.8), (102.9, 24.8), (102.9, 24.9), (102.6, 24.9), (102.6, 25.1), (102.9, 25.1),
     (102.9, 25.2), (102.5, 25.2)]
)  # fmt: skip
TWO_PARTS = shapely.MultiPolygon([box(100.0, 25.0, 100.2, 25.2), box(100.3, 25.0, 100.4, 25.05)])


def assert_tiles(parent: shapely.Geometry, children: np.ndarray, crs: str | None) -> None:
    """The checks a GIS user would run on a partition of ``parent`` into ``children``."""
    children = np.asarray(children, dtype=object)
    assert shapely.is_valid(children).all()
    assert not shapely.is_empty(children).any()
    assert (shapely.get_type_id(children) == 6).all()  # MultiPolygon
    outside = shapely.area(shapely.difference(children, parent))
    assert (outside <= NOISE * shapely.area(children)).all()
    left, right = shapely.STRtree(children).query(children, predicate="intersects")
    pair = left < right
    inter = shapely.area(shapely.intersection(children[left[pair]], children[right[pair]]))
    assert inter.sum() <= NOISE * shapely.area(parent)
    if crs is None:
        parent_area, child_area = shapely.area(parent), shapely.area(children).sum()
    else:
        metric = geocrs.to_metric(
            gpd.GeoSeries([parent, *children], crs=crs), METRIC_CRS
        ).area.to_numpy()
        parent_area, child_area = metric[0], metric[1:].sum()
    assert abs(child_area - parent_area) <= 1e-3 * parent_area


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_concave_polygon_in_lonlat(n):
    parents = gpd.GeoDataFrame({"id": [1]}, geometry=[C_SHAPE], crs="EPSG:4326")
    cells = partition.partition_units(parents, [n], seed=3, metric_crs=METRIC_CRS)
    assert len(cells) == n
    assert cells[partition.PARENT].tolist() == [0] * n
    assert cells[partition.PART].tolist() == list(range(n))
    assert cells.crs == parents.crs
    assert_tiles(C_SHAPE, cells.geometry.to_numpy(), "EPSG:4326")


def test_concave_cells_are_contiguous_unless_parent_is_not():
    parents = gpd.GeoDataFrame(geometry=[C_SHAPE, TWO_PARTS], crs="EPSG:4326")
    cells = partition.partition_units(parents, [25, 6], seed=11, metric_crs=METRIC_CRS)
    parts = shapely.get_num_geometries(cells.geometry.to_numpy())
    assert (parts[cells[partition.PARENT] == 0] == 1).all()
    assert_tiles(TWO_PARTS, cells.geometry[cells[partition.PARENT] == 1].to_numpy(), "EPSG:4326")


def test_partition_polygon_planar():
    concave = shapely.affinity.scale(C_SHAPE, 1e5, 1e5, origin=(0, 0))  # planar, metres
    cells = partition.partition_polygon(concave, 12, rng=np.random.default_rng(0))
    assert len(cells) == 12
    assert_tiles(concave, np.array(cells, dtype=object), None)


def test_lloyd_steps_even_out_cells():
    square = gpd.GeoDataFrame(geometry=[box(101.0, 24.0, 101.5, 24.5)], crs="EPSG:4326")

    def spread(steps: int) -> float:
        """Mean coefficient of variation of cell areas over a few seeds."""
        cv = []
        for seed in (5, 6, 7):
            cells = partition.partition_units(
                square, [60], seed=seed, metric_crs=METRIC_CRS, lloyd_steps=steps
            )
            area = geocrs.to_metric(cells, METRIC_CRS).area
            cv.append(area.std() / area.mean())
        return float(np.mean(cv))

    # exact Lloyd takes 60 random cells in a square from a CV of 0.52 to 0.34 in two steps
    assert spread(2) < 0.8 * spread(0)


def test_same_seed_same_cells_other_seed_other_cells():
    parents = gpd.GeoDataFrame(geometry=[C_SHAPE, TWO_PARTS], crs="EPSG:4326")
    a = partition.partition_units(parents, [9, 4], seed=42, metric_crs=METRIC_CRS)
    b = partition.partition_units(parents, [9, 4], seed=42, metric_crs=METRIC_CRS)
    c = partition.partition_units(parents, [9, 4], seed=43, metric_crs=METRIC_CRS)
    assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), 0).all()
    assert not shapely.equals_exact(a.geometry.to_numpy(), c.geometry.to_numpy(), 1e-9).all()


def test_input_is_not_mutated():
    parents = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[C_SHAPE, TWO_PARTS], crs="EPSG:4326")
    before = parents.copy()
    partition.partition_units(parents, [3, 2], seed=1, metric_crs=METRIC_CRS)
    geopandas.testing.assert_geodataframe_equal(parents, before)


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    units = boundaries.read_cnmaps_units()
    return units[units[schema.LEVEL] == "county"].set_index(schema.CODE)


@pytest.mark.parametrize(
    ("code", "n"),
    [
        ("533301000000", 10),  # 泸水: long and narrow along the Nu river
        ("533324000000", 5),  # 贡山
        ("530102000000", 11),  # 五华: small urban district
        ("532801000000", 11),  # 景洪: on the border
    ],
)
def test_real_counties(counties, code, n):
    parent = counties.loc[[code]]
    cells = partition.partition_units(parent, [n], seed=2020, metric_crs=METRIC_CRS)
    assert len(cells) == n
    assert_tiles(parent.geometry.iloc[0], cells.geometry.to_numpy(), "EPSG:4326")


def test_sample_points_are_inside_and_grouped():
    rng = np.random.default_rng(0)
    polys = np.array([C_SHAPE, TWO_PARTS], dtype=object)
    xy, owner = partition.sample_points(polys, np.array([500, 3]), rng)
    assert np.bincount(owner).tolist() == [500, 3]
    assert shapely.contains_xy(polys[owner], xy[:, 0], xy[:, 1]).all()
    assert (np.diff(owner) >= 0).all()


def test_bad_arguments_are_named():
    parents = gpd.GeoDataFrame(geometry=[C_SHAPE], crs="EPSG:4326")
    with pytest.raises(ValueError, match="counts has 2 entries but parents has 1 rows"):
        partition.partition_units(parents, [2, 3], seed=0, metric_crs=METRIC_CRS)
    with pytest.raises(ValueError, match=r"counts must be ≥ 1; parents at positions \[0\]"):
        partition.partition_units(parents, [0], seed=0, metric_crs=METRIC_CRS)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        partition.partition_units(
            gpd.GeoDataFrame(geometry=[C_SHAPE]), [2], seed=0, metric_crs=METRIC_CRS
        )
    with pytest.raises(ValueError, match="n must be ≥ 1"):
        partition.partition_polygon(C_SHAPE, 0, rng=np.random.default_rng(0))


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=30),
    width=st.floats(min_value=0.5, max_value=12.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_property_buffered_zigzags_tile(n, width, seed):
    """Concave, possibly narrow shapes: a zigzag line buffered by ``width`` km, near 100°E 25°N."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0, 60_000, 7)
    ys = rng.uniform(-20_000, 20_000, 7)
    line = shapely.LineString(np.column_stack([xs, ys]))
    anchor = geocrs.to_metric(
        gpd.GeoSeries([shapely.Point(100.0, 25.0)], crs="EPSG:4326"), METRIC_CRS
    )
    shape = shapely.affinity.translate(
        line.buffer(width * 1000), anchor.iloc[0].x, anchor.iloc[0].y
    )
    parent = geocrs.to_web(gpd.GeoSeries([shape], crs=anchor.crs))
    assert 99.0 < parent.iloc[0].centroid.x < 101.5
    cells = partition.partition_units(parent, [n], seed=seed, metric_crs=METRIC_CRS)
    assert len(cells) == n
    assert_tiles(parent.iloc[0], cells.geometry.to_numpy(), "EPSG:4326")
