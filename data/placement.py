"""Place points (WGS84 lon/lat, degrees) in grid cells, vectorised.

A plain ``shapely.STRtree`` point-in-polygon query runs at about 0.6 M points/s on this class of
machine, below the ingest budget. ``Placer`` therefore rasterises the cells once onto a lattice of
small squares (about 25 m): a square that no cell boundary touches lies wholly inside one cell, so a
point falling in it takes that cell from an array lookup. Only points in squares that a boundary
touches (a few percent of the area, but a tenth of the events: they cluster where cells are small)
get an exact test, so the answer is exact.

The lattice is built with numpy alone: square centres are filled row by row between the crossings
of each cell's edges (even-odd rule, so holes and multipolygons work), and every square a boundary
edge passes through (a supercover of the edges) is marked for the exact test, with the cells whose
edges pass through it and the cell holding its centre: its *candidates*. Any cell a point of the
square lies in is one of them (a cell whose edge does not enter the square holds all of it, centre
included), so the exact test asks only those, in the cells' order, with GEOS's prepared
point-in-polygon on coordinates (``shapely.intersects_xy``): a tenth of the time of building point
geometries and querying the STRtree (issue 12). A point no candidate holds gets the STRtree's
answer, so a lattice that misses a candidate costs time, never a wrong cell.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import shapely

OUTSIDE = -1
# lattice values: a cell's index + 1; 0 outside every cell; -(k + 1) the k-th square a boundary
# touches, whose candidate cells need the exact test
_EMPTY = 0
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQ = 111_320.0


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ring edges of ``geoms`` as (x1, y1, x2, y2, geometry index) arrays."""
    # get_rings ignores multipolygons, so split them into their polygons first
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    ring_geoms, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = part_owner[ring_part]
    coords, coord_ring = shapely.get_coordinates(ring_geoms, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    x1, y1 = coords[:-1, 0][same], coords[:-1, 1][same]
    x2, y2 = coords[1:, 0][same], coords[1:, 1][same]
    owner = ring_owner[coord_ring[:-1][same]]
    return x1, y1, x2, y2, owner


def _line_crossings(
    a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray, offset: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crossings of edges with the lines b = k + offset (k integer), in lattice units.

    Returns (k, a at the crossing, edge index). Half-open on b so a vertex on a line counts once.
    """
    lo = np.minimum(b1, b2) - offset
    hi = np.maximum(b1, b2) - offset
    first = np.ceil(lo).astype(np.int64)
    last = np.ceil(hi).astype(np.int64) - 1  # lines with lo <= k < hi
    count = np.maximum(last - first + 1, 0)
    edge = np.repeat(np.arange(len(a1)), count)
    starts = np.repeat(first, count)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    k = starts + step
    t = (k + offset - b1[edge]) / (b2[edge] - b1[edge])
    a = a1[edge] + t * (a2[edge] - a1[edge])
    return k, a, edge


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (by a sort: NumPy's unique took 0.6 s on its hash path
    for the few million square-cell pairs of a city)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


# each loaded region's placer (see Placer.for_region)
_BY_REGION: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BY_REGION_LOCK = threading.Lock()


class Placer:
    """Point-in-cell lookup for a fixed set of cell polygons.

    ``geoms``: cell polygons in EPSG:4326 (lon/lat). ``keys``: the cell key of each polygon.
    ``square_m``: target lattice square size in metres; it grows when the region's bounding box
    would need more than ``max_squares`` squares (memory: 4 bytes per square).
    """

    def __init__(
        self,
        geoms: np.ndarray,
        keys: np.ndarray,
        *,
        square_m: float = 25.0,
        max_squares: int = 36_000_000,
    ) -> None:
        self.geoms = np.asarray(geoms, dtype=object)
        self.keys = np.asarray(keys, dtype=np.int64)
        self.tree = shapely.STRtree(self.geoms)
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.geoms)
        lat0 = (ymin + ymax) / 2
        m_lon = M_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
        area_m2 = (xmax - xmin) * m_lon * (ymax - ymin) * M_PER_DEG_LAT
        side = max(square_m, math.sqrt(area_m2 / max_squares))
        self.square_m = side
        self.dx, self.dy = side / m_lon, side / M_PER_DEG_LAT
        self.x0, self.y0 = xmin, ymin
        self.nx = int(math.ceil((xmax - xmin) / self.dx)) + 1
        self.ny = int(math.ceil((ymax - ymin) / self.dy)) + 1
        # the exact test's point-in-polygon runs on prepared geometries (built once here)
        shapely.prepare(self.geoms)
        self.lattice, self._cand_start, self._cand = self._build_lattice()
        self.boundary_share = float(np.mean(self.lattice < 0))

    @classmethod
    def for_region(cls, region) -> Placer:
        """The placer of ``region``'s grid cells (``region.cells()``, EPSG:4326), built once per
        loaded region: its lattice takes 0.7 s and about 140 MB for a city, and the cells of a
        loaded region do not change (the pipeline and the /feeds/new page's dry runs share it)."""
        with _BY_REGION_LOCK:
            got = _BY_REGION.get(region)
            if got is None:
                cells = region.cells()
                got = _BY_REGION[region] = cls(cells.geometry.to_numpy(), cells["key"].to_numpy())
        return got

    def _build_lattice(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lattice, and the boundary squares' candidates: square k's are the geometry
        indices ``cand[start[k]:start[k + 1]]``, ascending."""
        x1, y1, x2, y2, owner = _edges(self.geoms)
        # lattice units: square (i, j) spans [i, i+1) x [j, j+1)
        ux1, ux2 = (x1 - self.x0) / self.dx, (x2 - self.x0) / self.dx
        uy1, uy2 = (y1 - self.y0) / self.dy, (y2 - self.y0) / self.dy
        lattice = self._fill_centres(ux1, uy1, ux2, uy2, owner)
        square, cell = self._boundary_squares(lattice.shape, ux1, uy1, ux2, uy2, owner)
        nx = lattice.shape[1]
        # the cell holding each touched square's centre is a candidate too
        touched = _distinct(square)
        centre = lattice[touched // nx, touched % nx]
        inside = centre > 0
        square = np.concatenate([square, touched[inside]])
        cell = np.concatenate([cell, centre[inside].astype(np.int64) - 1])
        pairs = _distinct(square * len(self.geoms) + cell)  # by square, then cell index
        square, cell = np.divmod(pairs, len(self.geoms))
        # the pairs hold every touched square, in the same order: square k's start at first[k]
        first = np.flatnonzero(np.r_[True, square[1:] != square[:-1]])
        lattice[touched // nx, touched % nx] = -(np.arange(len(touched), dtype=np.int32) + 1)
        start = np.append(first, len(pairs)).astype(np.int64)
        return lattice, start, cell.astype(np.int32)

    def _fill_centres(self, ux1, uy1, ux2, uy2, owner) -> np.ndarray:
        """Label every square whose centre lies inside a cell with that cell's index + 1."""
        row, x, edge = _line_crossings(ux1, uy1, ux2, uy2, 0.5)
        cell = owner[edge]
        order = np.lexsort((x, cell, row))
        row, x, cell = row[order], x[order], cell[order]
        # even-odd: consecutive crossings of one cell on one row pair up into inside intervals
        start, end = slice(0, None, 2), slice(1, None, 2)
        if len(row) % 2 or np.any(row[start] != row[end]) or np.any(cell[start] != cell[end]):
            raise ValueError("cell polygons are not closed rings; cannot rasterise")
        r = row[start]
        c0 = np.ceil(x[start] - 0.5).astype(np.int64)  # first centre >= entry
        c1 = np.ceil(x[end] - 0.5).astype(np.int64)  # first centre >= exit (exclusive)
        keep = c1 > c0
        r, c0, c1 = r[keep], c0[keep], c1[keep]
        label = (cell[start][keep] + 1).astype(np.int32)
        diff = np.zeros((self.ny, self.nx + 1), dtype=np.int32)
        np.add.at(diff, (r, np.clip(c0, 0, self.nx)), label)
        np.add.at(diff, (r, np.clip(c1, 0, self.nx)), -label)
        np.cumsum(diff, axis=1, out=diff)
        return diff[:, : self.nx]

    @staticmethod
    def _boundary_squares(shape, ux1, uy1, ux2, uy2, owner) -> tuple[np.ndarray, np.ndarray]:
        """Every square a cell edge touches (vertices and line crossings), as (flat square
        index, the edge's geometry index) pairs, repeats included."""
        ny, nx = shape
        squares, cells = [], []

        def mark(rows: np.ndarray, cols: np.ndarray, of: np.ndarray) -> None:
            ok = (rows >= 0) & (rows < ny) & (cols >= 0) & (cols < nx)
            squares.append(rows[ok] * nx + cols[ok])
            cells.append(of[ok])

        vx = np.floor(np.concatenate([ux1, ux2])).astype(np.int64)
        vy = np.floor(np.concatenate([uy1, uy2])).astype(np.int64)
        mark(vy, vx, np.concatenate([owner, owner]))
        k, xa, edge = _line_crossings(ux1, uy1, ux2, uy2, 0.0)  # horizontal lattice lines y = k
        col = np.floor(xa).astype(np.int64)
        mark(k, col, owner[edge])
        mark(k - 1, col, owner[edge])
        k, ya, edge = _line_crossings(uy1, ux1, uy2, ux2, 0.0)  # vertical lattice lines x = k
        row = np.floor(ya).astype(np.int64)
        mark(row, k, owner[edge])
        mark(row, k - 1, owner[edge])
        return np.concatenate(squares), np.concatenate(cells).astype(np.int64)

    def place(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Cell key for each point, or ``OUTSIDE`` (-1) for points outside every cell.

        ``lon``/``lat``: WGS84 degrees (float arrays of equal length). A point on a shared edge
        goes to the cell listed first, so the answer is deterministic.
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        out = np.full(len(lon), OUTSIDE, dtype=np.int64)
        ix = np.floor((lon - self.x0) / self.dx)
        iy = np.floor((lat - self.y0) / self.dy)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        idx = np.flatnonzero(inside)
        vals = self.lattice[iy[idx].astype(np.int64), ix[idx].astype(np.int64)]
        hit = vals > 0
        out[idx[hit]] = self.keys[vals[hit] - 1]
        near = vals < 0
        exact = idx[near]
        if len(exact):
            out[exact] = self._place_near(lon[exact], lat[exact], -vals[near].astype(np.int64) - 1)
        return out

    def _place_near(self, lon: np.ndarray, lat: np.ndarray, square: np.ndarray) -> np.ndarray:
        """The exact answer for points in boundary squares (``square``: each one's number): the
        first of the square's candidates that holds the point, a round per candidate over the
        points still unplaced; the STRtree for any no candidate holds."""
        out = np.full(len(lon), OUTSIDE, dtype=np.int64)
        slot, end = self._cand_start[square], self._cand_start[square + 1]
        left = np.arange(len(lon))
        while len(left):
            has = slot[left] < end[left]
            rest, left = left[~has], left[has]
            if len(rest):
                out[rest] = self._place_exact(lon[rest], lat[rest])
            if not len(left):
                break
            cell = self._cand[slot[left]]
            inside = shapely.intersects_xy(self.geoms[cell], lon[left], lat[left])
            out[left[inside]] = self.keys[cell[inside]]
            left = left[~inside]
            slot[left] += 1
        return out

    def place_exact(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The same answer as :meth:`place` from the STRtree alone (slower; for checks)."""
        return self._place_exact(np.asarray(lon, float), np.asarray(lat, float))

    def _place_exact(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        out = np.full(len(lon), OUTSIDE, dtype=np.int64)
        pts = shapely.points(lon, lat)
        pt_idx, geom_idx = self.tree.query(pts, predicate="intersects")
        if len(pt_idx):
            # several hits only on shared edges: keep the lowest geometry index per point
            order = np.lexsort((geom_idx, pt_idx))
            pt_idx, geom_idx = pt_idx[order], geom_idx[order]
            first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
            out[pt_idx[first]] = self.keys[geom_idx[first]]
        return out
