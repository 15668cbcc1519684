"""Placer: the lattice answer equals the exact STRtree answer, fast path or not."""

from __future__ import annotations

import numpy as np
import shapely

from data.placement import OUTSIDE, Placer


def voronoi_cells(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(122.9, 123.1, n), rng.uniform(41.0, 41.15, n))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    return shapely.intersection(cells, shapely.box(122.9, 41.0, 123.1, 41.15))


def test_lattice_agrees_with_exact_test_on_irregular_cells():
    cells = voronoi_cells(500)
    placer = Placer(cells, np.arange(len(cells)) + 10)
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(122.85, 123.15, 200_000), rng.uniform(40.95, 41.2, 200_000)
    fast = placer.place(lon, lat)
    assert np.array_equal(fast, placer.place_exact(lon, lat))
    assert (fast == OUTSIDE).any() and (fast >= 10).any()
    assert placer.boundary_share < 0.25  # most points never reach the exact test


def test_holes_and_multipolygons():
    ring = shapely.Polygon(
        [(0, 0), (1, 0), (1, 1), (0, 1)], holes=[[(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]]
    )
    hole = shapely.box(0.4, 0.4, 0.6, 0.6)
    multi = shapely.MultiPolygon([shapely.box(2, 0, 3, 1), shapely.box(4, 0, 5, 1)])
    placer = Placer(np.array([ring, hole, multi]), np.array([1, 2, 3]), square_m=500)
    lon = np.array([0.1, 0.5, 2.5, 4.5, 3.5, 9.0])
    lat = np.array([0.1, 0.5, 0.5, 0.5, 0.5, 9.0])
    assert placer.place(lon, lat).tolist() == [1, 2, 3, 3, OUTSIDE, OUTSIDE]


def test_points_on_shared_edges_are_deterministic():
    cells = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    placer = Placer(cells, np.array([7, 8]), square_m=1000)
    assert placer.place(np.array([1.0]), np.array([0.5])).tolist() == [7]


def test_nan_coordinates_are_outside():
    placer = Placer(np.array([shapely.box(0, 0, 1, 1)]), np.array([1]), square_m=1000)
    got = placer.place(np.array([np.nan, 0.5]), np.array([0.5, np.nan]))
    assert got.tolist() == [OUTSIDE, OUTSIDE]


def test_points_on_and_beside_cell_edges_agree_with_the_exact_test():
    # the exact test asks only each boundary square's candidate cells: points on the edges
    # and vertices themselves, and a hair to either side, are where a missed one would show
    cells = voronoi_cells(300, seed=3)
    placer = Placer(cells, np.arange(len(cells)) + 1)
    rings = shapely.get_exterior_ring(cells)
    rng = np.random.default_rng(4)
    owner = rng.integers(0, len(cells), 50_000)
    pts = shapely.line_interpolate_point(rings[owner], rng.uniform(0, 1, 50_000), normalized=True)
    vertices = shapely.get_coordinates(rings)
    lon = np.concatenate([shapely.get_x(pts), vertices[:, 0]])
    lat = np.concatenate([shapely.get_y(pts), vertices[:, 1]])
    assert (placer.place(lon, lat) >= 1).all()  # on an edge: in a cell, never outside
    for shift in (0.0, 1e-9, -1e-9):
        got = placer.place(lon + shift, lat - shift)
        assert np.array_equal(got, placer.place_exact(lon + shift, lat - shift))


def test_a_loaded_region_has_one_placer(tiny_region):
    # the pipeline and the /feeds/new page's dry runs share it: a city's lattice takes 0.7 s
    placer = Placer.for_region(tiny_region)
    assert Placer.for_region(tiny_region) is placer
    cells = tiny_region.cells()
    inside = cells.geometry.representative_point()
    assert placer.place(inside.x.to_numpy(), inside.y.to_numpy()).tolist() == cells["key"].tolist()
