"""The region: an area hierarchy (city > county > township > community > grid) with geometry.

A region is a folder ``data/regions/<name>/`` holding ``region.toml`` (metadata) and ``areas.parquet``
(GeoParquet, one row per area of every level). All geometry is in EPSG:4326 (lon/lat degrees);
children tile their parent. See docs/ARCHITECTURE.md, "Region files".
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

LEVELS: tuple[str, ...] = ("city", "county", "township", "community", "grid")
REGIONS_DIR = Path(__file__).resolve().parent / "regions"
CRS = "EPSG:4326"
META_KEYS: tuple[str, ...] = (
    "name",
    "name_zh",
    "name_en",
    "timezone",
    "center_lon",
    "center_lat",
    "zoom",
    "source",
)
COLUMNS: tuple[str, ...] = (
    "key",
    "code",
    "level",
    "parent_key",
    "name_zh",
    "name_en",
    "population",
    "kind",
    "geometry",
)


class Region:
    """A loaded region: metadata plus the areas GeoDataFrame (EPSG:4326 lon/lat).

    Build it with :func:`load_region`; the constructor validates the hierarchy and raises
    ``ValueError`` on any inconsistency.
    """

    def __init__(self, name: str, meta: dict[str, Any], areas: gpd.GeoDataFrame) -> None:
        self.name = name
        self.meta = meta
        self.areas = normalize_areas(areas)
        validate_areas(self.areas)
        self._by_code = pd.Series(self.areas.index, index=self.areas["code"].to_numpy())
        self._by_key = pd.Series(self.areas.index, index=self.areas["key"].to_numpy())
        self._lineage: pd.DataFrame | None = None
        self.folder: Path | None = None  # where it was loaded from (load_region)

    def __repr__(self) -> str:
        counts = self.areas["level"].value_counts()
        parts = ", ".join(f"{lv}={counts.get(lv, 0)}" for lv in LEVELS)
        return f"Region({self.name!r}, {parts})"

    def level(self, level: str) -> gpd.GeoDataFrame:
        """Areas of one level (a copy-free filtered view), EPSG:4326."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
        return self.areas[self.areas["level"] == level]

    def cells(self) -> gpd.GeoDataFrame:
        """The grid cells (level == "grid"), EPSG:4326 lon/lat."""
        return self.level("grid")

    def lineage(self) -> pd.DataFrame:
        """One row per grid cell: cell_key, community_key, township_key, county_key, city_key."""
        if self._lineage is None:
            parent = pd.Series(
                self.areas["parent_key"].to_numpy(), index=self.areas["key"].to_numpy()
            )
            cols = {"cell_key": self.cells()["key"].to_numpy()}
            current = cols["cell_key"]
            # validated: every level's parent is the level above, so 4 hops reach the city
            for lv in ("community", "township", "county", "city"):
                current = parent.loc[current].to_numpy()
                cols[f"{lv}_key"] = current
            self._lineage = pd.DataFrame(cols).astype("int32")
        return self._lineage

    def area(self, code: str) -> pd.Series:
        """The row of the area with this public code (KeyError if unknown)."""
        code = str(code)
        if code not in self._by_code.index:
            raise KeyError(f"no area with code {code!r} in region {self.name!r}")
        return self.areas.loc[self._by_code[code]]

    def by_key(self, key: int) -> pd.Series:
        """The row of the area with this key (KeyError if unknown)."""
        if key not in self._by_key.index:
            raise KeyError(f"no area with key {key!r} in region {self.name!r}")
        return self.areas.loc[self._by_key[key]]

    def children(self, key: int) -> np.ndarray:
        """Keys of the direct children of ``key`` (empty for a grid cell)."""
        self.by_key(key)
        return self.areas.loc[self.areas["parent_key"] == key, "key"].to_numpy()

    def descendants(self, key: int) -> np.ndarray:
        """Keys of ``key`` and all areas below it, as an int32 array (itself first)."""
        self.by_key(key)
        parents = self.areas["parent_key"].to_numpy(dtype="float64", na_value=np.nan)
        keys = self.areas["key"].to_numpy()
        found = [np.array([key], dtype="int32")]
        frontier = found[0]
        # one vectorised pass per level: at most 4 iterations
        while frontier.size:
            frontier = keys[np.isin(parents, frontier)]
            found.append(frontier)
        return np.concatenate(found).astype("int32")


def normalize_areas(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Coerce the areas frame to the contract's column order and dtypes (EPSG:4326)."""
    missing = [c for c in COLUMNS if c not in areas.columns]
    if missing:
        raise ValueError(f"areas lack columns {missing}; expected {list(COLUMNS)}")
    out = areas[list(COLUMNS)].copy()
    out["key"] = out["key"].astype("int32")
    out["code"] = out["code"].astype(str)
    out["level"] = out["level"].astype(str)
    out["parent_key"] = out["parent_key"].astype("Int32")
    out["name_zh"] = out["name_zh"].astype(str)
    out["name_en"] = out["name_en"].astype(str)
    out["population"] = out["population"].astype("Int64")
    out["kind"] = out["kind"].astype("string")
    out = gpd.GeoDataFrame(out, geometry="geometry")
    if out.crs is None:
        raise ValueError("areas have no CRS; expected EPSG:4326 (lon/lat)")
    if not out.crs.equals(CRS):
        out = out.to_crs(CRS)
    return out.reset_index(drop=True)


def validate_areas(areas: gpd.GeoDataFrame) -> None:
    """Raise ValueError unless keys/codes are unique, levels known and parents are one level up."""
    bad_levels = sorted(set(areas["level"]) - set(LEVELS))
    if bad_levels:
        raise ValueError(f"unknown levels {bad_levels}; expected {LEVELS}")
    for col in ("key", "code"):
        dup = areas[col][areas[col].duplicated()]
        if len(dup):
            raise ValueError(f"duplicate {col}s: {dup.head(5).tolist()}")
    for lv in LEVELS:
        if not (areas["level"] == lv).any():
            raise ValueError(f"region has no {lv!r} areas; all of {LEVELS} must exist")
    city = areas[areas["level"] == "city"]
    if len(city) != 1 or city["parent_key"].notna().any():
        raise ValueError("region needs exactly one city area, with no parent")
    level_of = pd.Series(areas["level"].to_numpy(), index=areas["key"].to_numpy())
    rest = areas[areas["level"] != "city"]
    if rest["parent_key"].isna().any():
        codes = rest.loc[rest["parent_key"].isna(), "code"].head(5).tolist()
        raise ValueError(f"areas without a parent: {codes}")
    known = rest["parent_key"].isin(level_of.index)
    if not known.all():
        codes = rest.loc[~known, "code"].head(5).tolist()
        raise ValueError(f"areas whose parent_key does not exist: {codes}")
    expected = rest["level"].map(lambda lv: LEVELS[LEVELS.index(lv) - 1])
    actual = level_of.loc[rest["parent_key"].astype("int64").to_numpy()].to_numpy()
    wrong = expected.to_numpy() != actual
    if wrong.any():
        codes = rest.loc[wrong, "code"].head(5).tolist()
        raise ValueError(f"areas whose parent is not one level up: {codes}")
    if areas.geometry.isna().any() or areas.geometry.is_empty.any():
        raise ValueError("some areas have no geometry")


def resolve_region_dir(name_or_path: str | Path) -> Path:
    """A folder path as given, or the folder data/regions/<name>/."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    candidate = REGIONS_DIR / str(name_or_path)
    if candidate.is_dir():
        return candidate
    known = sorted(p.name for p in REGIONS_DIR.glob("*") if (p / "areas.parquet").exists())
    raise FileNotFoundError(
        f"region {str(name_or_path)!r} not found (neither a folder nor under {REGIONS_DIR}); "
        f"available: {known}"
    )


def load_region(name_or_path: str | Path = "anshan") -> Region:
    """Load and validate a region by name (under data/regions/) or folder path."""
    folder = resolve_region_dir(name_or_path)
    toml_path, parquet_path = folder / "region.toml", folder / "areas.parquet"
    for p in (toml_path, parquet_path):
        if not p.exists():
            raise FileNotFoundError(f"region folder {folder} lacks {p.name}")
    with toml_path.open("rb") as fh:
        meta = tomllib.load(fh)
    areas = gpd.read_parquet(parquet_path)
    region = Region(str(meta.get("name", folder.name)), meta, areas)
    region.folder = folder
    return region


def _toml_value(value: Any) -> str:
    """Format a scalar as TOML (strings, bools, ints, floats)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def write_region(out_dir: str | Path, areas_gdf: gpd.GeoDataFrame, meta: dict[str, Any]) -> Path:
    """Validate and write ``areas.parquet`` (GeoParquet, EPSG:4326) and ``region.toml``.

    Returns the folder. ``meta`` needs at least ``name``; the other contract keys get defaults.
    """
    if "name" not in meta:
        raise ValueError("meta needs a 'name'")
    areas = normalize_areas(areas_gdf)
    validate_areas(areas)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    defaults = {"name_zh": meta["name"], "name_en": meta["name"], "timezone": "UTC"}
    full = {**defaults, **meta}
    if "center_lon" not in full or "center_lat" not in full:
        minx, miny, maxx, maxy = areas.total_bounds
        full.setdefault("center_lon", round((minx + maxx) / 2, 5))
        full.setdefault("center_lat", round((miny + maxy) / 2, 5))
    full.setdefault("zoom", 9.0)
    full.setdefault("source", "")
    order = [k for k in META_KEYS if k in full] + sorted(k for k in full if k not in META_KEYS)
    lines = [f"{k} = {_toml_value(full[k])}" for k in order]
    (out / "region.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    areas.to_parquet(out / "areas.parquet", index=False, compression="zstd")
    return out
