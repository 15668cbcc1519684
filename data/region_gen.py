"""Deterministic generator of the default, illustrative Anshan-like region.

``python app.py generate-region [--out DIR]`` writes ``data/regions/anshan/`` (region.toml +
areas.parquet).

Only published facts are used (docs/DOMAIN.md sections 1 and 5): the 7 county-level
divisions' names, adcodes, centroids, areas, census populations and township counts. Every shape is
generated from them with a fixed seed; nothing is read from boundary files. Work happens in UTM 51N
(EPSG:32651, metres); the output is EPSG:4326 (lon/lat), rounded to 1e-6 degrees.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.affinity

from data.region import CRS, REGIONS_DIR, write_region
from data.region_import import absorb, cut_cells, polygon_parts

SEED = 20261126
WORK_CRS = "EPSG:32651"
URBAN_CELL_M = 450.0  # social-governance grids of ~200 households in the dense districts
RURAL_CELL_M = 4500.0  # a village-sized grid in the countryside
CITY_CENTER_LL = (122.9956, 41.1106)  # the city government seat (DataV "center", in Tiedong)
# area of the street units (the urban core) of the districts/counties that also have towns (km2)
CORE_KM2 = {210311: 45.0, 210321: 25.0, 210323: 20.0, 210381: 60.0}


@dataclass(frozen=True)
class County:
    """Published facts for one county-level division (docs/DOMAIN.md section 1)."""

    adcode: int
    name_zh: str
    name_en: str
    short_en: str
    area_km2: float
    lon: float
    lat: float
    population: int
    streets: int
    towns: int
    xiang: int
    special: int
    rural_density: float  # people/km2 outside the street units (a generator choice)

    @property
    def urban(self) -> bool:
        """The four city districts are urban; counties and Haicheng are rural with an urban core."""
        return self.towns + self.xiang == 0 or self.adcode == 210311


COUNTIES: tuple[County, ...] = (
    County(
        210302,
        "铁东区",
        "Tiedong District",
        "Tiedong",
        154.8,
        123.0813,
        41.0464,
        511574,
        10,
        0,
        0,
        1,
        60,
    ),
    County(
        210303, "铁西区", "Tiexi District", "Tiexi", 143.3, 122.9285, 41.1329, 309397, 9, 0, 0, 0, 0
    ),
    County(
        210304,
        "立山区",
        "Lishan District",
        "Lishan",
        170.2,
        123.1022,
        41.1217,
        406680,
        9,
        0,
        0,
        0,
        0,
    ),
    County(
        210311,
        "千山区",
        "Qianshan District",
        "Qianshan",
        329.4,
        122.9467,
        40.9852,
        94729,
        2,
        3,
        0,
        0,
        130,
    ),
    County(
        210321,
        "台安县",
        "Tai'an County",
        "Tai'an",
        1386.7,
        122.4379,
        41.3407,
        300764,
        2,
        10,
        0,
        0,
        170,
    ),
    County(
        210323,
        "岫岩满族自治县",
        "Xiuyan Manchu Autonomous County",
        "Xiuyan",
        4508.5,
        123.3391,
        40.3961,
        413007,
        3,
        18,
        3,
        0,
        75,
    ),
    County(
        210381,
        "海城市",
        "Haicheng",
        "Haicheng",
        2574.0,
        122.7791,
        40.8239,
        1067905,
        5,
        21,
        0,
        0,
        330,
    ),
)
CITY = {"code": "210300", "name_zh": "鞍山市", "name_en": "Anshan", "area_km2": 9266.9}
# which counties touch (for the generated outline's connecting bands)
LINKS = (
    (210321, 210303),
    (210321, 210381),
    (210303, 210304),
    (210303, 210302),
    (210302, 210304),
    (210302, 210311),
    (210303, 210311),
    (210311, 210381),
    (210381, 210323),
    (210311, 210323),
    (210302, 210323),
)
# syllables for generated place names: (hanzi, pinyin)
SYLLABLES = tuple(
    zip(
        "东西南北新兴和平安宁华山胜利光明园林峰泉阳台青石桥湖龙凤春福康永长丰沟岭松柳杨马王高黄白红金"
        "铁钢建工农文民友德顺合旺盛古城岗甸庄屯营水源双三五八大小前后河沙",
        (  # noqa: SIM905  (one string reads better than 78 list items)
            "dong xi nan bei xin xing he ping an ning hua shan sheng li guang ming yuan lin feng quan "
            "yang tai qing shi qiao hu long feng chun fu kang yong chang feng gou ling song liu yang "
            "ma wang gao huang bai hong jin tie gang jian gong nong wen min you de shun he wang sheng "
            "gu cheng gang dian zhuang tun ying shui yuan shuang san wu ba da xiao qian hou he sha"
        ).split(),
        strict=True,
    )
)


# ---------------------------------------------------------------- small geometry tools


def to_work(lon: float, lat: float) -> tuple[float, float]:
    """lon/lat -> UTM 51N metres."""
    return pyproj.Transformer.from_crs(CRS, WORK_CRS, always_xy=True).transform(lon, lat)


def random_points(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points inside ``poly`` (rejection sampling), shape (n, 2)."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    found = np.empty((0, 2))
    while len(found) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * n, 64), 2))
        found = np.vstack([found, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
    return found[:n]


def voronoi_partition(
    poly: shapely.Geometry, pts: np.ndarray, relax: int = 2, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Split ``poly`` into one connected piece per point (Voronoi, Lloyd-relaxed ``relax`` times).

    Points flagged in ``fixed`` stay put during relaxation. Detached bits of a Voronoi cell (where
    the polygon is concave) join the neighbour with the longest shared border, so pieces tile poly.
    """
    pts = pts.copy()
    fixed = np.zeros(len(pts), bool) if fixed is None else fixed
    if len(pts) == 1:
        return np.array([poly])
    for it in range(relax + 1):
        vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=poly, ordered=True)
        pieces = shapely.intersection(shapely.get_parts(vor), poly)
        if it < relax:
            inner = shapely.point_on_surface(pieces)
            cent = shapely.centroid(pieces)
            ok = shapely.contains(pieces, cent)
            target = np.where(ok, cent, inner)
            move = ~fixed & ~shapely.is_empty(pieces)
            pts[move] = shapely.get_coordinates(target[move])
    parts, label = polygon_parts(pieces)
    area = shapely.area(parts)
    order = np.lexsort((-area, label))
    largest = order[np.unique(label[order], return_index=True)[1]]
    movable = np.ones(len(parts), bool)
    movable[largest] = False
    merged, idx = absorb(parts, movable, tol=0.01)
    lab = label[idx]
    return np.array([shapely.union_all(merged[lab == k]) for k in range(len(pts))])


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (largest remainder)."""
    w = np.asarray(weights, float)
    if w.sum() <= 0:
        w = np.ones_like(w)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(np.int64)
    short = total - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


# ---------------------------------------------------------------- the shapes


def wobble(poly: shapely.Geometry, step: float, amp: float, rng) -> shapely.Polygon:
    """Push the exterior's vertices along their normals by a sum of smooth random waves."""
    xy = shapely.get_coordinates(shapely.segmentize(poly.exterior, step))[:-1]
    seg = np.linalg.norm(np.diff(xy, axis=0, append=xy[:1]), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)[:-1]]) / seg.sum() * 2 * math.pi
    # waves scale with the perimeter, so small shapes get fewer, gentler wiggles
    waves = [k for k in (3, 5, 8, 13, 21, 34) if seg.sum() / k > 6 * step]
    wave = sum(
        rng.uniform(0.4, 1.0) * amp / math.sqrt(k) * np.sin(k * s + rng.uniform(0, 2 * math.pi))
        for k in waves
    )
    tangent = np.roll(xy, -1, axis=0) - np.roll(xy, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    parts = shapely.get_parts(shapely.make_valid(shapely.Polygon(xy + normal * wave[:, None])))
    parts = parts[shapely.get_type_id(parts) == 3]
    return shapely.Polygon(parts[np.argmax(shapely.area(parts))].exterior)


def city_outline(sites: np.ndarray, rng: np.random.Generator) -> shapely.Geometry:
    """An irregular outline: county discs joined by bands, closed, wobbled, scaled to the area."""
    radii = np.array([math.sqrt(c.area_km2 * 1e6 / math.pi) for c in COUNTIES])
    discs = shapely.buffer(shapely.points(sites), radii * 0.95)
    index = {c.adcode: i for i, c in enumerate(COUNTIES)}
    bands = [
        shapely.buffer(shapely.linestrings(sites[[index[a], index[b]]]), 9000) for a, b in LINKS
    ]
    shape = shapely.union_all(np.concatenate([discs, bands])).buffer(12000).buffer(-12000)
    outline = wobble(shape, 1500, 5000, rng)
    factor = math.sqrt(CITY["area_km2"] * 1e6 / outline.area)
    c = outline.centroid
    return shapely.affinity.scale(outline, factor, factor, origin=c)


def county_shapes(outline: shapely.Geometry, sites: np.ndarray, rng) -> np.ndarray:
    """Counties as unions of small Voronoi blobs, assigned by a power diagram fitted to the areas."""
    cx, cy = to_work(*CITY_CENTER_LL)
    # denser blobs around the urban core so the small districts get smooth, accurate areas
    core = shapely.Point(cx, cy).buffer(28000).intersection(outline)
    pts = np.vstack([random_points(outline, 1100, rng), random_points(core, 500, rng)])
    blobs = voronoi_partition(outline, pts, relax=1)
    bc = shapely.get_coordinates(shapely.point_on_surface(blobs))
    barea = shapely.area(blobs)
    target = np.array([c.area_km2 * 1e6 for c in COUNTIES])
    target *= barea.sum() / target.sum()
    d2 = ((bc[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)
    w = np.zeros(len(sites))
    best, best_err = None, np.inf
    for it in range(400):
        label = np.argmin(d2 - w[None, :], axis=1)
        got = np.bincount(label, weights=barea, minlength=len(sites))
        err = np.max(np.abs(got - target) / target)
        if err < best_err:
            best, best_err = label, err
        w += (0.6 if it < 200 else 0.2) * (target - got) / math.pi
    counties = np.array([shapely.union_all(blobs[best == i]) for i in range(len(sites))])
    # a county in several pieces keeps its largest; the rest join the neighbour they border most
    parts, label = polygon_parts(counties)
    order = np.lexsort((-shapely.area(parts), label))
    movable = np.ones(len(parts), bool)
    movable[order[np.unique(label[order], return_index=True)[1]]] = False
    merged, idx = absorb(parts, movable, tol=0.01)
    lab = label[idx]
    return np.array([shapely.union_all(merged[lab == i]) for i in range(len(sites))])


def seat_point(county: County, poly: shapely.Geometry, rng) -> np.ndarray:
    """The generated seat of a county: near its middle, or towards the city for Qianshan."""
    if county.urban:
        cx, cy = to_work(*CITY_CENTER_LL)
        centre = shapely.Point(cx, cy)
        near = poly.intersection(centre.buffer(poly.distance(centre) + 7000))
        return np.array(near.representative_point().coords[0])
    inner = poly.buffer(-6000)
    base = inner if not inner.is_empty else poly
    middle = base.intersection(poly.centroid.buffer(15000))
    return random_points(base if middle.is_empty else middle, 1, rng)[0]


def township_shapes(county: County, poly: shapely.Geometry, rng) -> tuple[np.ndarray, list[str]]:
    """Township polygons and their types ("street", "town", "xiang", "special")."""
    types = (
        ["street"] * county.streets
        + ["town"] * county.towns
        + ["xiang"] * county.xiang
        + ["special"] * county.special
    )
    if county.urban and county.towns == 0:
        pts = random_points(poly, len(types), rng)
        shapes = voronoi_partition(poly, pts, relax=3)
        # the scenic area is the unit farthest from the city centre (out in the hills)
        if county.special:
            c = np.array(to_work(*CITY_CENTER_LL))
            far = np.argmax(
                np.linalg.norm(shapely.get_coordinates(shapely.centroid(shapes)) - c, axis=1)
            )
            shapes[[far, -1]] = shapes[[-1, far]]
        return shapes, types
    # an urban core of street units round the seat, towns spread over the rest
    seat = seat_point(county, poly, rng)
    street_pts = seat + rng.normal(0, 1500, size=(county.streets, 2))
    street_pts[0] = seat
    core = urban_core(poly, street_pts, CORE_KM2[county.adcode] * 1e6, rng)
    street_pts = np.array(
        [p if core.contains(shapely.Point(p)) else seat + (i, 0) for i, p in enumerate(street_pts)]
    )
    rest_parts = shapely.get_parts(poly.difference(core))
    # bits of the county cut off by the core would be seedless islands: the core takes them
    largest = np.argmax(shapely.area(rest_parts))
    rest = rest_parts[largest]
    core = shapely.union_all(np.append(np.delete(rest_parts, largest), core))
    town_pts = random_points(rest, len(types) - county.streets, rng)
    streets = voronoi_partition(core, street_pts, relax=1)
    towns = voronoi_partition(rest, town_pts, relax=3)
    return np.concatenate([streets, towns]), types


def urban_core(poly: shapely.Geometry, pts: np.ndarray, target_m2: float, rng) -> shapely.Geometry:
    """Union of discs round the street seeds, inside ``poly``, scaled to about ``target_m2``."""
    radius = math.sqrt(target_m2 / math.pi)
    discs = shapely.union_all(shapely.buffer(shapely.points(pts), radius))
    shape = wobble(discs, 300, radius / 4, rng)
    for _ in range(12):
        core = shape.intersection(poly)
        factor = math.sqrt(target_m2 / core.area)
        shape = shapely.affinity.scale(shape, factor, factor, origin=shape.centroid)
    return core


# ---------------------------------------------------------------- names


class Namer:
    """Unique two-syllable place names, e.g. ("兴和", "Xinghe")."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> tuple[str, str]:
        """A name not handed out before by this namer."""
        while True:
            a, b = self.rng.choice(len(SYLLABLES), 2, replace=False)
            zh = SYLLABLES[a][0] + SYLLABLES[b][0]
            if zh not in self.used:
                self.used.add(zh)
                first, second = SYLLABLES[a][1], SYLLABLES[b][1]
                # pinyin marks a syllable break before a vowel: Gang'an, not Gangan
                sep = "'" if second[0] in "aeo" else ""
                return zh, (first + sep + second).capitalize()


SUFFIX = {
    "street": ("街道", "Subdistrict"),
    "town": ("镇", "Town"),
    "xiang": ("乡", "Township"),
    "community": ("社区", "Community"),
    "village": ("村", "Village"),
}
TOWNSHIP_CODE_BASE = {"street": 0, "town": 100, "xiang": 200, "special": 400}


# ---------------------------------------------------------------- assembling the areas


def community_count(area_km2: float, urban: bool) -> int:
    """Communities per township: small urban residents' committees, large rural villages."""
    if urban:
        return int(np.clip(round(area_km2 / 2.2), 3, 14))
    return int(np.clip(round(area_km2 / 22), 2, 12))


def area_row(code, level, parent_code, name_zh, name_en, kind, geometry) -> dict:
    """One area row (before keys are given)."""
    return {
        "code": code,
        "level": level,
        "parent_code": parent_code,
        "name_zh": name_zh,
        "name_en": name_en,
        "kind": kind,
        "geometry": geometry,
    }


def build_county(county: County, poly, rng, namer: Namer, rows: list[dict]) -> None:
    """Append township, community and grid rows (metres) of one county to ``rows``."""
    shapes, types = township_shapes(county, poly, rng)
    counters = dict.fromkeys(TOWNSHIP_CODE_BASE, 0)
    cells_start = len(rows)
    for shape, ttype in zip(shapes, types, strict=True):
        counters[ttype] += 1
        tcode = f"{county.adcode}{TOWNSHIP_CODE_BASE[ttype] + counters[ttype]:03d}"
        urban = ttype == "street"
        if ttype == "special":
            tzh, ten = "玉佛山风景区", "Yufo Mountain Scenic Area"
        else:
            base_zh, base_en = namer()
            tzh, ten = base_zh + SUFFIX[ttype][0], f"{base_en} {SUFFIX[ttype][1]}"
        kind = "urban" if urban else "rural"
        rows.append(area_row(tcode, "township", str(county.adcode), tzh, ten, kind, shape))
        n = community_count(shape.area / 1e6, urban)
        comm = voronoi_partition(shape, random_points(shape, n, rng), relax=2)
        ctype = "community" if urban else "village"
        for k, cshape in enumerate(comm, start=1):
            ccode = f"{tcode}{(0 if urban else 200) + k:03d}"
            czh, cen = namer()
            czh, cen = czh + SUFFIX[ctype][0], f"{cen} {SUFFIX[ctype][1]}"
            rows.append(area_row(ccode, "community", tcode, czh, cen, kind, cshape))
            cells = cut_cells(cshape, URBAN_CELL_M if urban else RURAL_CELL_M)
            for j, cell in enumerate(cells, start=1):
                zh, en = f"{czh}第{j}网格", f"{cen} Grid {j}"
                rows.append(area_row(f"{ccode}{j:03d}", "grid", ccode, zh, en, kind, cell))
    county_population(county, rows[cells_start:])


def county_population(county: County, rows: list[dict]) -> None:
    """Give the county's census population to its cells: by count (urban), by area (rural)."""
    cells = [r for r in rows if r["level"] == "grid"]
    urban = np.array([r["kind"] == "urban" for r in cells])
    area_km2 = np.array([r["geometry"].area / 1e6 for r in cells])
    rural_people = min(county.rural_density * area_km2[~urban].sum(), 0.8 * county.population)
    if not urban.any():
        rural_people = county.population
    weights = np.where(urban, 0.0, area_km2 * rural_people / max(area_km2[~urban].sum(), 1e-9))
    if urban.any():
        weights[urban] = (county.population - rural_people) / urban.sum()
    for r, p in zip(cells, apportion(county.population, weights), strict=True):
        r["population"] = int(p)


def generate(seed: int = SEED) -> tuple[gpd.GeoDataFrame, dict]:
    """Generate the areas (EPSG:4326) and region.toml metadata; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    sites = np.array([to_work(c.lon, c.lat) for c in COUNTIES])
    outline = city_outline(sites, rng)
    counties = county_shapes(outline, sites, rng)
    namer = Namer(rng)  # one namer: names are unique across the city
    rows = [area_row(CITY["code"], "city", None, CITY["name_zh"], CITY["name_en"], None, outline)]
    for county, poly in zip(COUNTIES, counties, strict=True):
        kind = "urban" if county.urban else "rural"
        code, zh, en = str(county.adcode), county.name_zh, county.name_en
        rows.append(area_row(code, "county", CITY["code"], zh, en, kind, poly))
        build_county(county, poly, rng, namer, rows)
    areas = assemble(rows)
    return areas, region_meta(areas, seed)


def assemble(rows: list[dict]) -> gpd.GeoDataFrame:
    """Rows -> areas frame: keys by level, populations summed upwards, EPSG:4326 rounded."""
    order = {"city": 0, "county": 1, "township": 2, "community": 3, "grid": 4}
    df = pd.DataFrame(rows)
    df["_lv"] = df["level"].map(order)
    df = df.sort_values(["_lv", "code"], kind="stable").reset_index(drop=True)
    df["key"] = np.arange(1, len(df) + 1, dtype="int32")
    key_of = pd.Series(df["key"].to_numpy(), index=df["code"].to_numpy())
    df["parent_key"] = df["parent_code"].map(key_of).astype("Int32")
    # sum populations up the tree, deepest level first
    pop = pd.Series(df["population"].to_numpy(), index=df["code"].to_numpy()).fillna(0)
    for lv in (4, 3, 2, 1):
        sub = df[df["_lv"] == lv]
        sums = (
            pd.Series(pop.loc[sub["code"]].to_numpy()).groupby(sub["parent_code"].to_numpy()).sum()
        )
        pop.loc[sums.index] = sums.to_numpy()
    df["population"] = pop.loc[df["code"]].to_numpy().astype("int64")
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["_lv", "parent_code"]), geometry="geometry", crs=WORK_CRS
    )
    gdf = gdf.to_crs(CRS)
    gdf["geometry"] = round_geoms(gdf.geometry.to_numpy(), 6)
    return gdf


def round_geoms(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Round coordinates (smaller files); the rare geometry that rounding breaks is repaired."""
    out = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    bad = np.flatnonzero(~shapely.is_valid(out))
    for i in bad:
        parts, _ = polygon_parts(np.array([shapely.make_valid(out[i])]))
        out[i] = shapely.union_all(parts)
    return out


def region_meta(areas: gpd.GeoDataFrame, seed: int) -> dict:
    """The region.toml contents."""
    city = areas[areas["level"] == "city"].geometry.iloc[0]
    minx, miny, maxx, maxy = city.bounds
    return {
        "name": "anshan",
        "name_zh": CITY["name_zh"],
        "name_en": CITY["name_en"],
        "timezone": "Asia/Shanghai",
        "center_lon": round((minx + maxx) / 2, 4),
        "center_lat": round((miny + maxy) / 2, 4),
        "zoom": 7.8,
        "source": (
            f"generated by data/region_gen.py seed {seed}; illustrative, modelled on Anshan's "
            "7 county-level divisions (names, adcodes, centroids, areas, 2020 census populations "
            "without the two functional zones, 96 township-level units); shapes and lower-level "
            "names are invented"
        ),
    }


def write_default_region(out: Path | None = None) -> str:
    """Generate the default region into ``out`` (default data/regions/anshan/); returns a summary."""
    out = Path(out) if out else REGIONS_DIR / "anshan"
    t0 = time.perf_counter()
    areas, meta = generate()
    write_region(out, areas, meta)
    counts = areas["level"].value_counts().to_dict()
    size = (out / "areas.parquet").stat().st_size
    return f"wrote {out}: {counts}, {size / 1e6:.2f} MB, {time.perf_counter() - t0:.1f} s"
