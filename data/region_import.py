"""Import a real city's polygons (GeoJSON, GeoPackage, Shapefile) as a OneGrid region.

The user maps the file's fields to levels (``levels``: level -> :class:`LevelSpec`). Features are units
of the lowest mapped level; higher mapped levels are groupings by a field (their geometry is the union
of their units). A second file may give one more parent level: membership is taken from the unit's
representative point (largest overlap as a fallback), the parent's geometry is still the union of its
children, so children always tile their parent. Levels the user does not map are 1:1 copies of their
parent (code suffixed ``-1``), so all five levels exist. The grid level is cut from the lowest units as a
square or hexagonal lattice of ``cell_size_m`` metres in a local equal-area projection (or is a copy
of each unit when no size is given). Output geometry is EPSG:4326 (lon/lat).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from data.cases.responsibility import RESPONSIBILITY_FILE, write_hall_only
from data.region import CRS, LEVELS, REGIONS_DIR, Region, load_region, write_region

Progress = Callable[[str], None] | None
# a lattice piece smaller than this share of a full cell is merged into a neighbour cell
SLIVER_SHARE = 0.2


@dataclass(frozen=True)
class LevelSpec:
    """Which fields of the input give a level's id and display names.

    ``id_field`` may be ``"FIELD//N"`` to use the integer division of a numeric field (e.g.
    ``"BoroCD//100"`` gives the NYC borough of a community district).
    """

    id_field: str
    name_field: str | None = None
    name_zh_field: str | None = None

    def fields(self) -> list[str]:
        """The input fields this spec reads."""
        names = [self.id_field.split("//")[0], self.name_field, self.name_zh_field]
        return [f for f in names if f]

    def ids(self, frame: pd.DataFrame) -> pd.Series:
        """The level ids as strings (integer-like floats lose their ``.0``)."""
        field, _, div = self.id_field.partition("//")
        values = frame[field]
        if div:
            values = pd.to_numeric(values, errors="raise") // int(div)
        return values.map(_id_text)


def _id_text(value: object) -> str:
    """An id value as text; 101.0 -> "101"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- geometry helpers (metres)


def local_equal_area_crs(geom_4326: shapely.Geometry) -> pyproj.CRS:
    """A Lambert azimuthal equal-area CRS centred on the geometry (metres, good for a city)."""
    c = shapely.centroid(geom_4326)
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={c.y:.4f} +lon_0={c.x:.4f} +datum=WGS84 +units=m +no_defs"
    )


def polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explode to non-empty Polygons; returns (parts, index of the source geometry)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # collections (from overlays) may nest multipolygons: explode once more
    parts, sub = shapely.get_parts(parts, return_index=True)
    idx = idx[sub]
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep], idx[keep]


def lattice(bounds: tuple[float, ...], size: float, shape: str) -> np.ndarray:
    """Square or pointy-top hexagonal cells covering ``bounds``, aligned to multiples of ``size``.

    ``size`` is the square side, or the hexagon's flat-to-flat width (= centre spacing).
    Alignment to the origin keeps grid lines continuous across neighbouring polygons.
    """
    minx, miny, maxx, maxy = bounds
    if shape == "square":
        ix = np.arange(math.floor(minx / size), math.ceil(maxx / size))
        iy = np.arange(math.floor(miny / size), math.ceil(maxy / size))
        gx, gy = np.meshgrid(ix * size, iy * size)
        gx, gy = gx.ravel(), gy.ravel()
        return shapely.box(gx, gy, gx + size, gy + size)
    if shape != "hex":
        raise ValueError(f"cell shape must be 'square' or 'hex', not {shape!r}")
    radius = size / math.sqrt(3)
    dy = 1.5 * radius
    jy = np.arange(math.floor(miny / dy) - 1, math.ceil(maxy / dy) + 2)
    ix = np.arange(math.floor(minx / size) - 1, math.ceil(maxx / size) + 2)
    gi, gj = np.meshgrid(ix, jy)
    cx = gi.ravel() * size + (gj.ravel() % 2) * size / 2
    cy = gj.ravel() * dy
    angles = np.deg2rad(30 + 60 * np.arange(7))
    ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    coords = np.stack([cx, cy], axis=1)[:, None, :] + ring[None, :, :]
    return shapely.polygons(coords)


def absorb(geoms: np.ndarray, movable: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Union each movable polygon into the fixed neighbour with which it shares the longest border.

    Returns (new geometries, index of the original each one continues). Movable parts with no fixed
    neighbour along a line are kept as they are.
    """
    fixed, moving = np.flatnonzero(~movable), np.flatnonzero(movable)
    keep_all = (geoms, np.arange(len(geoms)))
    if not moving.size or not fixed.size:
        return keep_all
    mi, fj = shapely.STRtree(geoms[fixed]).query(geoms[moving], predicate="intersects")
    if not mi.size:
        return keep_all
    m, f = moving[mi], fixed[fj]
    # buffered by tol so borders that differ by rounding still count as shared
    shared = shapely.length(
        shapely.intersection(shapely.boundary(geoms[m]), shapely.buffer(geoms[f], tol))
    )
    order = np.lexsort((-shared, m))
    m, f, shared = m[order], f[order], shared[order]
    first = np.unique(m, return_index=True)[1]
    m, f, shared = m[first], f[first], shared[first]
    ok = shared > 2 * tol
    target = np.arange(len(geoms))
    target[m[ok]] = f[ok]
    out_idx = np.unique(target)
    result = geoms[out_idx].copy()
    for t in np.unique(f[ok]):
        result[np.searchsorted(out_idx, t)] = shapely.union_all(geoms[target == t])
    return result, out_idx


def cut_cells(poly: shapely.Geometry, size: float, shape: str = "square") -> np.ndarray:
    """Cut one polygon (metres) into lattice cells that tile it; slivers join a neighbour cell."""
    cand = lattice(shapely.bounds(poly), size, shape)
    shapely.prepare(poly)
    cand = cand[shapely.intersects(poly, cand)]
    inside = shapely.contains_properly(poly, cand)
    pieces = cand.copy()
    # only boundary cells need the (slower) overlay
    pieces[~inside] = shapely.intersection(cand[~inside], poly)
    parts, _ = polygon_parts(pieces)
    full_area = shapely.area(cand[0]) if len(cand) else size * size
    small = shapely.area(parts) < SLIVER_SHARE * full_area
    cells, _ = absorb(parts, small, tol=size * 1e-6)
    return cells


# ---------------------------------------------------------------- reading and checking input


def read_polygons(path: str | Path, what: str = "input") -> gpd.GeoDataFrame:
    """Read a polygon file (GeoJSON/GeoPackage/Shapefile) and return it in EPSG:4326."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file not found: {path}")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types; report them the same way
        raise ValueError(f"cannot read {what} file {path}: {exc}") from exc
    if gdf.empty:
        raise ValueError(f"{what} file {path} has no features")
    if gdf.crs is None:
        gdf = gdf.set_crs(CRS)  # GeoJSON without a crs member is lon/lat by definition
    elif not gdf.crs.equals(CRS):
        gdf = gdf.to_crs(CRS)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    polys = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polys.any():
        raise ValueError(f"{what} file {path} has no polygon features")
    gdf = gdf[polys].copy()
    gdf["geometry"] = shapely.make_valid(gdf.geometry.to_numpy())
    return gdf.reset_index(drop=True)


def check_fields(gdf: gpd.GeoDataFrame, fields: list[str], path: str | Path) -> None:
    """Raise ValueError naming the missing fields and listing the available ones."""
    available = [c for c in gdf.columns if c != gdf.geometry.name]
    missing = [f for f in fields if f not in available]
    if missing:
        raise ValueError(
            f"field(s) {missing} not in {path}; available fields: {', '.join(available)}"
        )


# ---------------------------------------------------------------- building the hierarchy


@dataclass(frozen=True)
class ParentSpec:
    """A second polygon file that gives one level above the input's mapped levels."""

    path: str | Path
    level: str
    spec: LevelSpec


def _names(frame: pd.DataFrame, spec: LevelSpec, ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(name_zh, name_en) for a mapped level; the id stands in for a missing name."""
    en = frame[spec.name_field].astype(str) if spec.name_field else ids
    zh = frame[spec.name_zh_field].astype(str) if spec.name_zh_field else en
    return zh, en


def _assign_parents(
    units: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, crs: pyproj.CRS
) -> np.ndarray:
    """Index into ``parents`` for each unit: representative point, else largest overlap."""
    pts = shapely.point_on_surface(units.geometry.to_numpy())
    pgeoms = parents.geometry.to_numpy()
    ui, pj = shapely.STRtree(pgeoms).query(pts, predicate="within")
    result = np.full(len(units), -1)
    result[ui] = pj
    todo = np.flatnonzero(result < 0)
    if todo.size:
        um = units.geometry.iloc[todo].to_crs(crs).to_numpy()
        pm = parents.geometry.to_crs(crs).to_numpy()
        for k, geom in zip(todo, um, strict=True):
            overlap = shapely.area(shapely.intersection(geom, pm))
            if overlap.max() > 0:
                result[k] = int(np.argmax(overlap))
    return result


def _mapped_table(
    gdf: gpd.GeoDataFrame,
    levels: dict[str, LevelSpec],
    parent: ParentSpec | None,
    crs: pyproj.CRS,
) -> pd.DataFrame:
    """One row per input feature: id/name_zh/name_en columns for every mapped level."""
    table = pd.DataFrame(index=gdf.index)
    for lv, spec in levels.items():
        ids = spec.ids(gdf)
        table[f"id_{lv}"] = ids
        table[f"zh_{lv}"], table[f"en_{lv}"] = _names(gdf, spec, ids)
    if parent is not None:
        pgdf = read_polygons(parent.path, "parent")
        check_fields(pgdf, parent.spec.fields(), parent.path)
        which = _assign_parents(gdf, pgdf, crs)
        if (which < 0).any():
            bad = table.iloc[np.flatnonzero(which < 0)].iloc[:, 0].head(5).tolist()
            raise ValueError(f"features {bad} lie in no polygon of the parent file {parent.path}")
        pids = parent.spec.ids(pgdf)
        pzh, pen = _names(pgdf, parent.spec, pids)
        lv = parent.level
        table[f"id_{lv}"] = pids.to_numpy()[which]
        table[f"zh_{lv}"], table[f"en_{lv}"] = pzh.to_numpy()[which], pen.to_numpy()[which]
    return table


def _build_levels(
    table: pd.DataFrame,
    geoms: np.ndarray,
    mapped: list[str],
    city: dict[str, str],
) -> list[dict]:
    """Rows (dicts) for city..lowest mapped level, with codes, parents and dissolved geometry."""
    rows: list[dict] = [{**city, "level": "city", "parent_code": None}]
    rows[0]["geometry"] = shapely.union_all(geoms)
    lowest = max(LEVELS.index(lv) for lv in mapped)
    parent_code = pd.Series(city["code"], index=table.index)
    used = {city["code"]}
    rows_by_code = {city["code"]: rows[0]}
    for lv in LEVELS[1 : lowest + 1]:
        if lv in mapped:
            raw = table[f"id_{lv}"]
            # raw ids are the public codes unless they repeat under different parents
            pairs = pd.DataFrame({"p": parent_code, "r": raw}).drop_duplicates()
            clash = pairs["r"].duplicated().any() or bool(set(pairs["r"]) & used)
            code = parent_code + "-" + raw if clash else raw
            zh, en = table[f"zh_{lv}"], table[f"en_{lv}"]
        else:
            code = parent_code + "-1"  # 1:1 copy of the parent
            zh = parent_code.map({c: r["name_zh"] for c, r in rows_by_code.items()})
            en = parent_code.map({c: r["name_en"] for c, r in rows_by_code.items()})
        clash_parent = pd.DataFrame({"c": code, "p": parent_code}).drop_duplicates()
        if clash_parent["c"].duplicated().any():
            dup = clash_parent.loc[clash_parent["c"].duplicated(), "c"].head(5).tolist()
            raise ValueError(f"{lv} ids {dup} belong to more than one parent area")
        rows_by_code = {}
        for c, idx in code.groupby(code, sort=False).groups.items():
            first = idx[0]
            row = {
                "code": c,
                "level": lv,
                "parent_code": parent_code[first],
                "name_zh": zh[first],
                "name_en": en[first],
                "geometry": shapely.union_all(geoms[table.index.get_indexer(idx)]),
            }
            rows_by_code[c] = row
            rows.append(row)
        used |= set(rows_by_code)
        parent_code = code
    return rows


def _grid_rows(
    units: list[dict], cell_size_m: float | None, cell_shape: str, crs: pyproj.CRS, progress
) -> list[dict]:
    """Grid rows cut from the lowest units (or 1:1 copies when no cell size is given)."""
    if cell_size_m is None:
        return [
            {**u, "code": u["code"] + "-1", "level": "grid", "parent_code": u["code"]}
            for u in units
        ]
    to_m = pyproj.Transformer.from_crs(CRS, crs, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(crs, CRS, always_xy=True)
    rows: list[dict] = []
    step = max(1, len(units) // 10)
    for i, unit in enumerate(units):
        poly = shapely.transform(
            unit["geometry"], lambda xy: np.column_stack(to_m.transform(*xy.T))
        )
        cells = cut_cells(shapely.make_valid(poly), cell_size_m, cell_shape)
        cells = shapely.transform(cells, lambda xy: np.column_stack(to_ll.transform(*xy.T)))
        width = max(3, len(str(len(cells))))
        for j, cell in enumerate(cells, start=1):
            rows.append(
                {
                    "code": f"{unit['code']}-{j:0{width}d}",
                    "level": "grid",
                    "parent_code": unit["code"],
                    "name_zh": f"{unit['name_zh']} {j}",
                    "name_en": f"{unit['name_en']} {j}",
                    "geometry": cell,
                }
            )
        if progress and ((i + 1) % step == 0 or i + 1 == len(units)):
            progress(f"cut {i + 1}/{len(units)} polygons into {len(rows)} cells")
    return rows


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    """Rows -> the areas GeoDataFrame with keys 1..N in level order."""
    df = pd.DataFrame(rows)
    df["_lv"] = df["level"].map(LEVELS.index)
    df = df.sort_values("_lv", kind="stable").reset_index(drop=True)
    df["key"] = np.arange(1, len(df) + 1, dtype="int32")
    key_of = pd.Series(df["key"].to_numpy(), index=df["code"].to_numpy())
    df["parent_key"] = df["parent_code"].map(key_of).astype("Int32")
    df["population"] = pd.array([pd.NA] * len(df), dtype="Int64")
    df["kind"] = pd.array([pd.NA] * len(df), dtype="string")
    return gpd.GeoDataFrame(df.drop(columns=["_lv", "parent_code"]), geometry="geometry", crs=CRS)


def import_region(
    input_path: str | Path,
    out_dir: str | Path | None,
    *,
    name: str,
    levels: dict[str, LevelSpec],
    cell_size_m: float | None = None,
    cell_shape: str = "square",
    name_zh: str | None = None,
    name_en: str | None = None,
    timezone: str = "UTC",
    parent: ParentSpec | None = None,
    progress: Progress = None,
) -> Region:
    """Import ``input_path`` as region ``name`` into ``out_dir`` (default data/regions/<name>/).

    ``levels`` maps level names (county, township, community, grid) to the fields that hold their
    ids and names; the input's features are units of the lowest mapped level. Returns the loaded
    :class:`Region` (EPSG:4326).
    """
    bad = [lv for lv in levels if lv not in LEVELS[1:]]
    if bad or not levels:
        raise ValueError(f"levels must map some of {LEVELS[1:]} to fields; got {list(levels)}")
    if "grid" in levels and cell_size_m is not None:
        raise ValueError("the input already maps the grid level; do not also give a cell size")
    if cell_size_m is not None and cell_size_m <= 0:
        raise ValueError("cell size must be a positive number of metres")
    if cell_shape not in ("square", "hex"):
        raise ValueError(f"cell shape must be 'square' or 'hex', not {cell_shape!r}")
    say = progress or (lambda _msg: None)
    gdf = read_polygons(input_path)
    check_fields(gdf, [f for s in levels.values() for f in s.fields()], input_path)
    top = min(LEVELS.index(lv) for lv in levels)
    if parent is not None and parent.level not in LEVELS[1:top]:
        raise ValueError(f"parent level must be above the mapped levels, one of {LEVELS[1:top]}")
    say(f"read {len(gdf)} polygons from {input_path}")
    crs = local_equal_area_crs(shapely.union_all(shapely.envelope(gdf.geometry.to_numpy())))
    table = _mapped_table(gdf, levels, parent, crs)
    mapped = list(levels) + ([parent.level] if parent else [])
    city = {"code": name, "name_zh": name_zh or name_en or name, "name_en": name_en or name}
    rows = _build_levels(table, gdf.geometry.to_numpy(), mapped, city)
    if "grid" not in levels:
        lowest = max(LEVELS.index(lv) for lv in mapped)
        # fill copies down to community so the grid's parent is always a community
        while lowest < LEVELS.index("community"):
            lowest += 1
            lv = LEVELS[lowest]
            prev = [r for r in rows if r["level"] == LEVELS[lowest - 1]]
            rows += [
                {**r, "code": r["code"] + "-1", "level": lv, "parent_code": r["code"]} for r in prev
            ]
        units = [r for r in rows if r["level"] == "community"]
        rows += _grid_rows(units, cell_size_m, cell_shape, crs, say)
    areas = _frame(rows)
    center = shapely.centroid(rows[0]["geometry"])
    # the levels with names of their own (the others are copies of their parent); with one, the
    # wall opens on that level's map and events are labelled with its areas' names (a city's
    # communities alone would otherwise open on one county and read "the city" on every event)
    named = [lv for lv in LEVELS[1:] if lv in mapped and lv != "grid"]
    place_level = named[0] if len(named) == 1 else None
    meta = {
        "name": name,
        "name_zh": city["name_zh"],
        "name_en": city["name_en"],
        "timezone": timezone,
        "center_lon": round(center.x, 5),
        "center_lat": round(center.y, 5),
        "zoom": _fit_zoom(areas.total_bounds),
        "source": f"imported from {Path(input_path).name} by data/region_import.py",
    }
    if place_level is not None:
        meta["first_level"] = place_level
        meta["place_level"] = place_level
    out = Path(out_dir) if out_dir is not None else REGIONS_DIR / name
    write_region(out, areas, meta)
    say(f"wrote {len(areas)} areas to {out}")
    if place_level is not None:
        copies = [lv for lv in LEVELS[1:] if lv not in mapped and lv != "grid"]
        say(
            f"only the {place_level} level is named: the wall opens on the {place_level} map "
            f"and events are labelled with their {place_level}'s name "
            f"({', '.join(copies)} {'is a copy' if len(copies) == 1 else 'are copies'} "
            "of the level above)"
        )
    write_hall_only(out / RESPONSIBILITY_FILE, name)
    say(
        f"wrote {out / RESPONSIBILITY_FILE}: a hall-only responsibility list (every case goes to "
        f"the command hall to decide); write the region's own with "
        f"`python app.py responsibilities --region {out} --from data/responsibilities.toml` "
        "and edit it (docs/CASES.md)"
    )
    return load_region(out)


def _fit_zoom(bounds: np.ndarray, width: int = 1920, height: int = 1080) -> float:
    """A web-mercator zoom that shows ``bounds`` (lon/lat) on a width x height map."""
    minx, miny, maxx, maxy = bounds

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max((maxx - minx) / 360, 1e-9)
    span_y = max((merc_y(maxy) - merc_y(miny)) / (2 * math.pi), 1e-9)
    # MapLibre tiles are 512 px
    zoom = min(math.log2(width / 512 / span_x), math.log2(height / 512 / span_y))
    return round(zoom - 0.1, 1)
